#!/bin/sh
# `make size`: the stripped size of vwrp for every router arch (and its
# xz -9e size, roughly what it costs in a squashfs image), then the peak
# RSS of the daemon running one group idle for 10 s. The RSS is measured
# natively on the static musl x86_64 build, as a stand-in for the router:
# under qemu-user the figure would be the emulator's. Fails when mips_24kc
# is over its budget. Needs root (a throwaway network namespace).
set -eu

BUDGET_ARCH=mips_24kc
BUDGET=460800 # 450 KiB
ARCHS=${ARCHS:-"mips_24kc mipsel_24kc aarch64_cortex-a53 arm_cortex-a7_neon-vfpv4 x86_64"}
IDLE=${IDLE:-10}

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

over=""
native=""
rows=""
for arch in $ARCHS; do
	bin=$(./scripts/cross.sh "$arch" | tail -n 1)
	bytes=$(stat -c %s "$bin")
	xzb=-
	command -v xz >/dev/null && xzb=$(xz -9e -c "$bin" | wc -c)
	rows="$rows$(printf '%-26s %8d B %7s KiB   xz %7s B' "$arch" "$bytes" "$(awk "BEGIN{printf \"%.1f\", $bytes/1024}")" "$xzb")
"
	[ "$arch" = x86_64 ] && native=$bin
	if [ "$arch" = "$BUDGET_ARCH" ] && [ "$bytes" -gt "$BUDGET" ]; then
		over="$arch is $bytes B, over its budget of $BUDGET B"
	fi
done
echo "stripped size (static musl, profile min):"
printf '%s' "$rows"

if [ -n "$native" ]; then
	ns=vwrp-size-$$
	dir=$(mktemp -d /tmp/vwrp-size.XXXXXX)
	pid=""
	cleanup() {
		if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
		ip netns del "$ns" 2>/dev/null || true
		rm -rf "$dir"
	}
	trap cleanup EXIT INT TERM
	# One namespace, a veth pair for its WAN and its control link. Hellos
	# and everything else stay inside it; the nft table goes with it.
	ip netns add "$ns"
	ip -n "$ns" link add wan type veth peer name lan
	for l in lo wan lan; do ip -n "$ns" link set "$l" up; done
	cat >"$dir/vwrp.conf" <<-EOF
	config globals 'globals'
		option control_socket '$dir/vwrp.sock'
		option state_dir '$dir/state'
		option hook_dir '$dir/hooks'
	config group 'wan'
		option router_id '1'
		option wan_device 'wan'
		option shared_mac '02:00:5e:00:53:01'
		list control 'lan'
		list key '1:size-check-secret'
		option dhcp 'none'
	EOF
	mkdir -p "$dir/hooks"
	# ip netns exec and env exec in turn, so $! is the daemon itself.
	ip netns exec "$ns" env VWRP_SHARE_DIR="$repo/files/usr/share/vwrp" "$native" daemon -c "$dir/vwrp.conf" \
		>"$dir/log" 2>&1 &
	pid=$!
	sleep "$IDLE"
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "the daemon exited early:" >&2
		cat "$dir/log" >&2
		exit 1
	fi
	hwm=$(sed -n 's/^VmHWM:[[:space:]]*//p' "/proc/$pid/status")
	echo "daemon peak RSS (VmHWM), one group idle ${IDLE} s, x86_64 static musl: $hwm"
	"$native" -s "$dir/vwrp.sock" status | head -n 1
fi

if [ -n "$over" ]; then
	echo "OVER BUDGET: $over" >&2
	exit 1
fi
