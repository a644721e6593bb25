#!/usr/bin/env python3
"""Long-lived connections through the vwrp test bed's NAT, for telling
which survive a failover.

  serve --tcp-port P --udp-port U
  run --server HOST --tcp-port P --udp-port U --client-first N --server-first N
      --udp N --interval-ms 50 --duration S --report FILE

`run` (on the LAN client) opens N TCP connections of each kind and N UDP
flows to `serve` (on the host behind the ISP), then keeps them busy:

- client-first: the client sends a line every interval and the server
  echoes it; the client counts the echoes.
- server-first: the server sends a line every interval; the client only
  reads. After a failover the server's packet is the first to reach the new
  router: without its conntrack entry, that router answers with a RST.
- udp: the client sends one datagram to open the mapping, then only
  receives the server's datagram every interval (a call's media).

SIGUSR1 to `run` opens one more set of server-first connections and UDP
flows (a second batch, to be opened between two failovers); SIGUSR2 ends
it early. `run` never reconnects: a flow that fails stays failed. At the
end it writes one
JSON report: per flow its kind, batch, local port, arrivals, the gaps
longer than 200 ms between arrivals (at_ms from the start of the run), the
longest gap, the time since the last arrival, when that was (last_ms)
and the error that ended it
(`reset`, `closed`, ...), if any.

Python standard library only. Every socket stays on the addresses given.
"""

import argparse
import json
import os
import resource
import selectors
import signal
import socket
import sys
import time

GAP_MS = 200.0


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def serve(args):
    sel = selectors.DefaultSelector()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("0.0.0.0", args.tcp_port))
    lsock.listen(256)
    lsock.setblocking(False)
    sel.register(lsock, selectors.EVENT_READ, "listen")
    usock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    usock.bind(("0.0.0.0", args.udp_port))
    usock.setblocking(False)
    sel.register(usock, selectors.EVENT_READ, "udp")
    interval = args.interval_ms / 1000.0
    pushers = {}  # sock -> seq
    buffers = {}  # sock -> bytes read so far (mode byte first)
    udp_peers = {}  # addr -> seq
    next_tick = time.monotonic() + interval
    log("serving tcp %d udp %d" % (args.tcp_port, args.udp_port))

    def drop(s, why):
        log("tcp %s: %s" % (buffers.get(s, (None, None))[1], why))
        sel.unregister(s)
        pushers.pop(s, None)
        buffers.pop(s, None)
        s.close()

    while True:
        timeout = max(0.0, next_tick - time.monotonic())
        for key, _ in sel.select(timeout):
            s = key.fileobj
            if key.data == "listen":
                try:
                    c, peer = s.accept()
                except OSError:
                    continue
                c.setblocking(False)
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buffers[c] = (b"", "%s:%d" % peer)
                sel.register(c, selectors.EVENT_READ, "tcp")
            elif key.data == "udp":
                try:
                    data, peer = s.recvfrom(2048)
                except OSError:
                    continue
                if data.startswith(b"hello") and peer not in udp_peers:
                    udp_peers[peer] = 0
                    log("udp %s:%d: open" % peer)
            else:
                try:
                    data = s.recv(65536)
                except OSError as e:
                    drop(s, "error %s" % e)
                    continue
                if not data:
                    drop(s, "closed by the client")
                    continue
                seen, name = buffers[s]
                if s in pushers:
                    continue
                seen += data
                if seen[:1] == b"S":
                    pushers[s] = 0
                    seen = b""
                elif seen[:1] == b"C":
                    # Echo every complete line back.
                    lines, _, rest = seen[1:].rpartition(b"\n")
                    if lines:
                        try:
                            s.send(lines + b"\n")
                        except OSError as e:
                            drop(s, "error %s" % e)
                            continue
                    seen = b"C" + rest
                buffers[s] = (seen, name)
        now = time.monotonic()
        if now >= next_tick:
            next_tick += interval
            if next_tick < now:
                next_tick = now + interval
            for s in list(pushers):
                pushers[s] += 1
                try:
                    s.send(b"%d\n" % pushers[s])
                except BlockingIOError:
                    pass
                except OSError as e:
                    drop(s, "error %s" % e)
            for peer in udp_peers:
                udp_peers[peer] += 1
                try:
                    usock.sendto(b"%d" % udp_peers[peer], peer)
                except OSError:
                    pass


class Flow:
    def __init__(self, kind, batch, sock, start):
        self.kind = kind
        self.batch = batch
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.arrivals = 0
        self.last = None
        self.gaps = []
        self.error = None
        self.pending = b""
        self.sent = 0
        self.start = start

    def arrived(self, now):
        if self.last is not None:
            gap = (now - self.last) * 1000.0
            if gap > GAP_MS:
                self.gaps.append({"at_ms": round((self.last - self.start) * 1000.0, 1), "gap_ms": round(gap, 1)})
        self.arrivals += 1
        self.last = now


def run(args):
    sel = selectors.DefaultSelector()
    start = time.monotonic()
    flows = []
    more = []
    stop = []

    def open_batch(batch, client_first, server_first, udp):
        for kind, n in (("client-first", client_first), ("server-first", server_first)):
            for _ in range(n):
                s = socket.create_connection((args.server, args.tcp_port), timeout=5)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.sendall(b"C" if kind == "client-first" else b"S")
                s.setblocking(False)
                f = Flow(kind, batch, s, start)
                f.last = time.monotonic()
                flows.append(f)
                sel.register(s, selectors.EVENT_READ, f)
        for _ in range(udp):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.connect((args.server, args.udp_port))
            s.send(b"hello")
            s.setblocking(False)
            f = Flow("udp", batch, s, start)
            f.last = time.monotonic()
            flows.append(f)
            sel.register(s, selectors.EVENT_READ, f)

    signal.signal(signal.SIGUSR1, lambda *_: more.append(1))
    signal.signal(signal.SIGUSR2, lambda *_: stop.append(1))
    open_batch(1, args.client_first, args.server_first, args.udp)
    log("opened %d flows" % len(flows))
    interval = args.interval_ms / 1000.0
    next_tick = time.monotonic() + interval
    end = start + args.duration
    while True:
        now = time.monotonic()
        if now >= end or stop:
            break
        if more:
            more.clear()
            open_batch(2, 0, args.server_first, args.udp)
            log("opened a second batch, %d flows in all" % len(flows))
        for key, _ in sel.select(max(0.0, min(next_tick, end) - now)):
            f = key.data
            now = time.monotonic()
            try:
                data = f.sock.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                f.error = "reset"
            except ConnectionRefusedError:
                # UDP: an ICMP port unreachable; the flow goes on.
                continue
            except OSError as e:
                f.error = "error %s" % e
            else:
                if not data:
                    f.error = "closed"
                elif f.kind == "udp":
                    f.arrived(now)
                else:
                    f.pending += data
                    while b"\n" in f.pending:
                        _, f.pending = f.pending.split(b"\n", 1)
                        f.arrived(now)
            if f.error:
                sel.unregister(f.sock)
                f.sock.close()
        now = time.monotonic()
        if now >= next_tick:
            next_tick += interval
            if next_tick < now:
                next_tick = now + interval
            for f in flows:
                if f.kind == "client-first" and f.error is None:
                    f.sent += 1
                    try:
                        f.sock.send(b"%d\n" % f.sent)
                    except BlockingIOError:
                        pass
                    except OSError as e:
                        f.error = "reset" if isinstance(e, ConnectionResetError) else "error %s" % e
                        sel.unregister(f.sock)
                        f.sock.close()
    now = time.monotonic()
    report = []
    for f in flows:
        tail = (now - f.last) * 1000.0
        longest = max([g["gap_ms"] for g in f.gaps] + [tail])
        report.append(
            {
                "kind": f.kind,
                "batch": f.batch,
                "port": f.port,
                "arrivals": f.arrivals,
                "gaps": f.gaps,
                "longest_gap_ms": round(longest, 1),
                "silent_ms": round(tail, 1),
                "last_ms": round((f.last - start) * 1000.0, 1),
                "error": f.error,
            }
        )
    with open(args.report + ".tmp", "w") as out:
        json.dump({"duration_s": args.duration, "flows": report}, out)
    os.rename(args.report + ".tmp", args.report)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--tcp-port", type=int, required=True)
    s.add_argument("--udp-port", type=int, required=True)
    s.add_argument("--interval-ms", type=float, default=50)
    r = sub.add_parser("run")
    r.add_argument("--server", required=True)
    r.add_argument("--tcp-port", type=int, required=True)
    r.add_argument("--udp-port", type=int, required=True)
    r.add_argument("--client-first", type=int, default=10)
    r.add_argument("--server-first", type=int, default=10)
    r.add_argument("--udp", type=int, default=1)
    r.add_argument("--interval-ms", type=float, default=50)
    r.add_argument("--duration", type=float, required=True)
    r.add_argument("--report", required=True)
    args = p.parse_args()
    # One descriptor per connection: the bench opens 1,000.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    serve(args) if args.mode == "serve" else run(args)


if __name__ == "__main__":
    main()
