#!/bin/sh
# Maps the address of a router build's panic line ("vwrp: panicked:
# SIGILL at 0x10219c5 ...") to the function it is in, with the symbols of
# the UNSTRIPPED binary of the same build: <target>/cross/<triple>/min/vwrp,
# which scripts/cross.sh leaves beside the stripped <triple>/router/vwrp.
#
#   scripts/where.sh BINARY ADDRESS
set -eu

[ $# -eq 2 ] || { echo "usage: $0 UNSTRIPPED-BINARY ADDRESS" >&2; exit 2; }
bin=$1
addr=$(printf '%d' "$2")
objdump=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-objdump
[ -x "$objdump" ] || rustup component add llvm-tools >&2
# The disassembly of that one instruction starts with its function's label.
"$objdump" -d -C --no-show-raw-insn --start-address="$addr" --stop-address=$((addr + 1)) "$bin" |
	sed -n 's/^[0-9a-f]* <\(.*\)>:$/\1/p' | grep . || {
	echo "$bin: no function at $2 (not this build's unstripped binary?)" >&2
	exit 1
}
