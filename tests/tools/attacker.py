#!/usr/bin/env python3
"""The hostile-frame suite's attacker (tests/hostile.rs): raw Ethernet
frames sent and recorded on one interface of the namespace it runs in.

  send IFACE FILE [--rate N] [--seconds S]
      FILE holds one frame per line, as hex. Without --seconds each frame
      is sent once, in order; with it the list is sent round and round
      for S seconds. --rate paces the frames (N per second; default 2000),
      so that the bridge's and veth's queues never drop one. Prints one
      JSON line: frames sent, seconds taken, send errors.

  capture IFACE SECONDS [--promisc] [--ethertype 0x88b5]
      Prints one line per frame of that EtherType received on IFACE in
      the next SECONDS (the ones this host sent left out): the monotonic
      time of arrival in nanoseconds, then the frame as hex. Ends by
      itself. --promisc puts IFACE in promiscuous mode (a switch's bridge
      device then sees every frame it forwards).

It only ever talks to the interface it is given, inside the test's own
namespaces, and every mode stops by itself. Python standard library only.
"""

import argparse
import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_OUTGOING = 4
# Frames are paced in batches this far apart.
BATCH_S = 0.005
LONGEST_RUN_S = 120


def send(args):
    with open(args.file) as f:
        frames = [bytes.fromhex(line) for line in f if line.strip()]
    if not frames:
        sys.exit("no frames in " + args.file)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((args.iface, 0))
    per_batch = max(1, round(args.rate * BATCH_S))
    seconds = min(args.seconds, LONGEST_RUN_S) if args.seconds else None
    start = time.monotonic()
    sent = errors = i = 0
    while True:
        if seconds is None and i >= len(frames):
            break
        if seconds is not None and time.monotonic() - start >= seconds:
            break
        for _ in range(per_batch):
            if seconds is None and i >= len(frames):
                break
            try:
                s.send(frames[i % len(frames)])
                sent += 1
            except OSError:
                errors += 1
            i += 1
        # Sleep until this batch's slot is over: the pace holds on average.
        due = start + (sent + errors) / args.rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    took = time.monotonic() - start
    print(json.dumps({"sent": sent, "seconds": round(took, 3), "errors": errors}), flush=True)


def capture(args):
    ethertype = int(args.ethertype, 0)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((args.iface, 0))
    if args.promisc:
        ifindex = socket.if_nametoindex(args.iface)
        mreq = struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
        s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    end = time.monotonic() + min(args.seconds, LONGEST_RUN_S)
    print("listening", file=sys.stderr, flush=True)
    out = sys.stdout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            break
        if addr[2] == PACKET_OUTGOING or frame[12:14] != struct.pack("!H", ethertype):
            continue
        out.write("%d %s\n" % (time.monotonic_ns(), frame.hex()))
    out.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("send")
    a.add_argument("iface")
    a.add_argument("file")
    a.add_argument("--rate", type=float, default=2000.0)
    a.add_argument("--seconds", type=float)
    a.set_defaults(run=send)
    c = sub.add_parser("capture")
    c.add_argument("iface")
    c.add_argument("seconds", type=float)
    c.add_argument("--promisc", action="store_true")
    c.add_argument("--ethertype", default="0x88b5")
    c.set_defaults(run=capture)
    args = p.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
