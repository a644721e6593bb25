#!/bin/sh
# Fuzzes vwrp's parsers with libFuzzer (fuzz/, docs/FUZZ.md):
#
#   scripts/fuzz.sh smoke [SECONDS]   every target, about SECONDS in all (default 40)
#   scripts/fuzz.sh run [RUNS]        every target for RUNS executions each
#                                     (default 1500000: 15 million in all)
#   scripts/fuzz.sh TARGET [ARG...]   one target, with libFuzzer's arguments
#   scripts/fuzz.sh build             the targets only
#
# Plain cargo on stable Rust builds the targets (libfuzzer-sys compiles
# libFuzzer with the system's C++ compiler); the sanitizer-coverage pass
# (-Cpasses=sancov-module) instruments vwrp's code for libFuzzer's
# guidance, with comparisons traced. The build script of each crate is
# built without it (--target makes RUSTFLAGS reach only the targets).
#
# Working corpora grow in target/fuzz/corpus/TARGET, seeded from
# fuzz/seeds/TARGET (and, for frames, from the vectors of
# docs/PROTOCOL.md); a crash leaves its input in target/fuzz/artifacts/
# and fails the run. `run` prints one line per target: executions, time,
# executions per second, coverage, corpus files and bytes.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
TARGETS="frame tlv uci control json dhcpv4 dhcpv6 lease_env netlink replies"
out=${CARGO_TARGET_DIR:-$top/target}/fuzz
host=$(rustc -vV | sed -n 's/^host: //p')

build() {
	command -v c++ >/dev/null 2>&1 || { echo "a C++ compiler (Debian's g++) is required" >&2; exit 1; }
	RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing" \
		CARGO_TARGET_DIR="$out/build" nice -n 10 cargo build --quiet --release --locked \
		--manifest-path fuzz/Cargo.toml --target "$host" >&2
	bin="$out/build/$host/release"
}

# The corpus of $1, seeded when new.
corpus() {
	dir="$out/corpus/$1"
	if [ ! -d "$dir" ]; then
		mkdir -p "$dir"
		cp fuzz/seeds/"$1"/* "$dir"/ 2>/dev/null || true
		[ "$1" = frame ] && frame_seeds "$dir"
	fi
	echo "$dir"
}

# The spec's vectors as frame inputs: flags (1: keyed), then each frame
# as a big-endian u16 length, a path byte (control link 0) and the bytes.
frame_seeds() {
	python3 - "$1" docs/PROTOCOL.md <<'EOF'
import re, sys
text = open(sys.argv[2]).read()
vectors = {int(n): bytes.fromhex(b) for n, b in re.findall(r"```hex vector (\d+)\n(.*?)```", text, re.S)}
def record(f, how=0x29):
    return len(f).to_bytes(2, "big") + bytes([how]) + f
for n, f in vectors.items():
    keyed = f[14 + 10] & 1
    open(f"{sys.argv[1]}/vector-{n}", "wb").write(bytes([keyed]) + record(f, 0x29 if not f[14 + 10] & 8 else 0x28))
story = bytes([1]) + b"".join(record(vectors[n]) for n in (3, 4, 5, 6, 7))
open(f"{sys.argv[1]}/vectors-3-to-7", "wb").write(story)
EOF
}

# Runs target $1 with libFuzzer arguments $2...; fails on a crash.
fuzz() {
	t=$1
	shift
	dir=$(corpus "$t")
	mkdir -p "$out/artifacts/$t"
	log="$out/$t.log"
	if ! nice -n 10 "$bin/$t" "$dir" -artifact_prefix="$out/artifacts/$t/" -max_len=4096 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 "$@" >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		echo "fuzz: $t crashed; the input is in $out/artifacts/$t/" >&2
		exit 1
	fi
	# (Names of their own: sh has no locals, and the callers use secs, runs.)
	done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
	took=${took:-0}
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	files=$(find "$dir" -type f | wc -l)
	bytes=$(du -sb "$dir" | cut -f1)
	printf '%-10s %12s runs %6s s %9s/s  cov %5s  corpus %5s files %9s bytes\n' "$t" "$done_runs" "$took" \
		"$((done_runs / (took > 0 ? took : 1)))" "${cov:-?}" "$files" "$bytes"
	echo "$done_runs" >>"$out/runs"
}

total() {
	awk '{ s += $1 } END { printf "%d executions in all, no crash\n", s }' "$out/runs"
}

cmd=${1:-smoke}
[ $# -gt 0 ] && shift
case $cmd in
build) build ;;
smoke)
	secs=${1:-40}
	n=$(echo "$TARGETS" | wc -w)
	build
	: >"$out/runs"
	per=$((secs / n)); [ "$per" -gt 0 ] || per=1 # 0 would mean no limit to libFuzzer
	for t in $TARGETS; do fuzz "$t" -max_total_time="$per"; done
	total
	;;
run)
	runs=${1:-1500000}
	build
	: >"$out/runs"
	for t in $TARGETS; do fuzz "$t" -runs="$runs"; done
	total
	;;
*)
	echo " $TARGETS " | grep -q " $cmd " || { echo "usage: $0 smoke|run|build|TARGET [ARG...]" >&2; exit 2; }
	build
	: >"$out/runs"
	fuzz "$cmd" "$@"
	;;
esac
