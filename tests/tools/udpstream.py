#!/usr/bin/env python3
"""A numbered UDP stream for measuring outages through the vwrp test bed.

  send --to 192.0.2.10:PORT --interval-ms 1 --duration S [--echo-report FILE]
  send --to [2001:db8:ffff::10]:PORT ...
  recv --port PORT --report FILE [--json] [--bind ::]
  echo --port PORT --duration S

Every data packet carries a run id, a sequence number, the sender's
monotonic send time and the interval, so the receiver needs no options to
judge gaps. After the last data packet the sender sends a few FIN packets
carrying the total, so the receiver knows how many were sent and stops.

The outage is the longest interval between two consecutive packets as they
arrived at the receiver. A gap without missing sequence numbers is a
stall (sender or scheduler), a gap with missing ones is a network outage.

Every mode stops by itself: `send` after --duration, `echo` after
--duration, `recv` at FIN, after --idle seconds of silence once packets
flowed, or at --timeout. `send` only ever sends to the address it is given;
`echo` only answers packets that carry this tool's magic.

Python standard library only.
"""

import argparse
import json
import math
import os
import random
import select
import socket
import struct
import sys
import time

MAGIC = b"VWUS"
KIND_DATA = 0
KIND_FIN = 1
# magic, kind, run id, seq (or total for FIN), send time ns, interval us
HEADER = struct.Struct("!4sB3xIQQI")
FIN_COPIES = 5
FIN_SPACING_S = 0.01
MAX_LISTED_GAPS = 1000
MAX_LISTED_MISSING = 1000
# Bounds the receive bitmap (a day at 1 ms) whatever a datagram claims.
MAX_SEQ = 100_000_000


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_addr(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError("expected HOST:PORT or [HOST]:PORT, got %r" % text)
    return host.strip("[]"), int(port)


def family(host):
    """IPv6 for an address with colons, else IPv4."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def packet(kind, run_id, seq, interval_us, size):
    head = HEADER.pack(MAGIC, kind, run_id, seq, time.monotonic_ns(), interval_us)
    return head + bytes(max(0, size - len(head)))


def parse(data):
    """Returns (kind, run_id, seq, sent_ns, interval_us) or None."""
    if len(data) < HEADER.size:
        return None
    magic, kind, run_id, seq, sent_ns, interval_us = HEADER.unpack_from(data)
    if magic != MAGIC or kind not in (KIND_DATA, KIND_FIN):
        return None
    return kind, run_id, seq, sent_ns, interval_us


class Stats:
    """What one end saw of one run: sequence numbers and arrival gaps."""

    def __init__(self):
        self.run_id = None
        self.interval_us = 0
        self.seen = bytearray()
        self.received = 0
        self.duplicates = 0
        self.reordered = 0
        self.foreign = 0
        self.max_seq = -1
        self.total = None
        self.first_arrival = None
        self.last_arrival = None
        self.last_seq = None
        self.longest_gap_ns = 0
        self.gaps = []
        self.gap_count = 0
        self.latency_min_ns = None
        self.latency_max_ns = 0

    def add(self, data, now_ns):
        """Accounts for one datagram; returns True when it was a FIN."""
        fields = parse(data)
        if fields is None:
            self.foreign += 1
            return False
        kind, run_id, seq, sent_ns, interval_us = fields
        if self.run_id is None:
            self.run_id = run_id
        if run_id != self.run_id:
            self.foreign += 1
            return False
        if kind == KIND_FIN:
            self.total = seq
            return True
        self.interval_us = interval_us
        self.data(seq, sent_ns, now_ns)
        return False

    def data(self, seq, sent_ns, now_ns):
        if seq > MAX_SEQ:
            self.foreign += 1
            return
        if seq >= len(self.seen):
            self.seen.extend(bytes(max(seq + 1 - len(self.seen), len(self.seen))))
        if self.seen[seq]:
            self.duplicates += 1
            return
        self.seen[seq] = 1
        self.received += 1
        if seq < self.max_seq:
            self.reordered += 1
        self.max_seq = max(self.max_seq, seq)
        latency = now_ns - sent_ns
        if self.latency_min_ns is None or latency < self.latency_min_ns:
            self.latency_min_ns = latency
        self.latency_max_ns = max(self.latency_max_ns, latency)
        if self.last_arrival is None:
            self.first_arrival = now_ns
        else:
            gap = now_ns - self.last_arrival
            self.longest_gap_ns = max(self.longest_gap_ns, gap)
            if gap > 3 * self.interval_us * 1000:
                self.gap_count += 1
                if len(self.gaps) < MAX_LISTED_GAPS:
                    self.gaps.append({
                        "at_ms": (self.last_arrival - self.first_arrival) / 1e6,
                        "gap_ms": gap / 1e6,
                        "after_seq": self.last_seq,
                        "next_seq": seq,
                        "missing": max(0, seq - self.last_seq - 1),
                    })
        self.last_arrival = now_ns
        self.last_seq = seq

    def missing_ranges(self, sent):
        ranges = []
        start = None
        for seq in range(sent):
            got = seq < len(self.seen) and self.seen[seq]
            if not got and start is None:
                start = seq
            if got and start is not None:
                ranges.append([start, seq - 1])
                start = None
                if len(ranges) >= MAX_LISTED_MISSING:
                    return ranges
        if start is not None:
            ranges.append([start, sent - 1])
        return ranges

    def report(self, stopped_by):
        sent_known = self.total is not None
        sent = self.total if sent_known else self.max_seq + 1
        return {
            "run_id": self.run_id,
            "interval_ms": self.interval_us / 1000,
            "sent": sent,
            "sent_known": sent_known,
            "received": self.received,
            "lost": max(0, sent - self.received),
            "duplicates": self.duplicates,
            "reordered": self.reordered,
            "foreign": self.foreign,
            "longest_gap_ms": self.longest_gap_ns / 1e6,
            "gap_count": self.gap_count,
            "gaps": self.gaps,
            "missing": self.missing_ranges(sent),
            "latency_min_ms": (self.latency_min_ns or 0) / 1e6,
            "latency_max_ms": self.latency_max_ns / 1e6,
            "stopped_by": stopped_by,
        }


def write_report(path, report):
    # Rename so a reader never sees half a report.
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def summary(report):
    return ("sent %(sent)s received %(received)s lost %(lost)s "
            "longest gap %(longest_gap_ms).1f ms gaps %(gap_count)s" % report)


def cmd_send(args):
    host, port = args.to
    interval_ns = int(args.interval_ms * 1e6)
    if interval_ns <= 0 or args.duration <= 0:
        raise SystemExit("interval and duration must be positive")
    count = int(math.ceil(args.duration * 1e9 / interval_ns))
    run_id = random.getrandbits(32)
    sock = socket.socket(family(host), socket.SOCK_DGRAM)
    # Connected: the kernel refuses any other destination, and echoes
    # can only come back from this peer.
    sock.connect((host, port))
    sock.setblocking(False)
    echo = Stats() if args.echo_report else None
    interval_us = interval_ns // 1000
    send_errors = 0

    def send(kind, seq):
        nonlocal send_errors
        try:
            sock.send(packet(kind, run_id, seq, interval_us, args.size))
        except OSError:
            # Unreachable, refused (ICMP from a past packet), no buffer:
            # the stream goes on; the receiver counts what is missing.
            send_errors += 1

    def drain_echoes(wait_s):
        if echo is None:
            if wait_s > 0:
                time.sleep(wait_s)
            return
        deadline = time.monotonic() + wait_s
        while True:
            left = deadline - time.monotonic()
            readable, _, _ = select.select([sock], [], [], max(0.0, left))
            if readable:
                try:
                    data = sock.recv(65535)
                except OSError:
                    continue
                echo.add(data, time.monotonic_ns())
            elif left <= 0:
                return

    start = time.monotonic_ns()
    for seq in range(count):
        wait_ns = start + seq * interval_ns - time.monotonic_ns()
        drain_echoes(max(0, wait_ns) / 1e9)
        send(KIND_DATA, seq)
    for _ in range(FIN_COPIES):
        drain_echoes(FIN_SPACING_S)
        send(KIND_FIN, count)
    if echo is not None:
        drain_echoes(args.echo_wait)
        echo.total = count
        write_report(args.echo_report, echo.report("done"))
    result = {"run_id": run_id, "sent": count, "send_errors": send_errors,
              "elapsed_s": (time.monotonic_ns() - start) / 1e9}
    print(json.dumps(result), flush=True)


def cmd_recv(args):
    sock = socket.socket(family(args.bind), socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((args.bind, args.port))
    log("listening on %s:%d" % (args.bind, args.port))
    stats = Stats()
    hard_deadline = time.monotonic() + args.timeout
    fin_deadline = None
    stopped_by = "timeout"
    while True:
        now = time.monotonic()
        deadline = hard_deadline
        if stats.last_arrival is not None:
            deadline = min(deadline, stats.last_arrival / 1e9 + args.idle)
        if fin_deadline is not None:
            deadline = min(deadline, fin_deadline)
        if now >= deadline:
            if fin_deadline is not None and now >= fin_deadline:
                stopped_by = "fin"
            elif now < hard_deadline:
                stopped_by = "idle"
            break
        readable, _, _ = select.select([sock], [], [], deadline - now)
        if not readable:
            continue
        data = sock.recv(65535)
        if stats.add(data, time.monotonic_ns()) and fin_deadline is None:
            # Late data after FIN is still counted for a short while.
            fin_deadline = time.monotonic() + args.linger_ms / 1000
    report = stats.report(stopped_by)
    write_report(args.report, report)
    print(json.dumps(report) if args.json else summary(report), flush=True)


def cmd_echo(args):
    sock = socket.socket(family(args.bind), socket.SOCK_DGRAM)
    sock.bind((args.bind, args.port))
    log("echoing on %s:%d" % (args.bind, args.port))
    deadline = time.monotonic() + args.duration
    echoed = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        readable, _, _ = select.select([sock], [], [], left)
        if not readable:
            continue
        data, peer = sock.recvfrom(65535)
        if parse(data) is None:
            continue
        try:
            sock.sendto(data, peer)
            echoed += 1
        except OSError:
            pass
    print(json.dumps({"echoed": echoed}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)

    s = sub.add_parser("send", help="send a numbered stream")
    s.add_argument("--to", type=parse_addr, required=True, help="HOST:PORT")
    s.add_argument("--interval-ms", type=float, default=10.0)
    s.add_argument("--duration", type=float, required=True, help="seconds")
    s.add_argument("--size", type=int, default=64, help="datagram bytes")
    s.add_argument("--echo-report", help="expect echoes, report them here")
    s.add_argument("--echo-wait", type=float, default=0.5,
                   help="seconds to wait for the last echoes")
    s.set_defaults(func=cmd_send)

    r = sub.add_parser("recv", help="receive a stream and report")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--bind", default="0.0.0.0")
    r.add_argument("--report", required=True, help="JSON report file")
    r.add_argument("--json", action="store_true", help="print the report")
    r.add_argument("--timeout", type=float, default=120.0,
                   help="stop after this many seconds in any case")
    r.add_argument("--idle", type=float, default=10.0,
                   help="stop after this many silent seconds once started")
    r.add_argument("--linger-ms", type=float, default=200.0,
                   help="keep counting this long after FIN")
    r.set_defaults(func=cmd_recv)

    e = sub.add_parser("echo", help="send every stream packet back")
    e.add_argument("--port", type=int, required=True)
    e.add_argument("--bind", default="0.0.0.0")
    e.add_argument("--duration", type=float, required=True, help="seconds")
    e.set_defaults(func=cmd_echo)

    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
