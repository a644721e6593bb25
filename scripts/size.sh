#!/bin/sh
# `make size`: the stripped size of vwrp for every router arch (and its
# xz -9e size, roughly what it costs in a squashfs image), built two ways:
# the static binary scripts/cross.sh makes (what `make ipk` packs), and the
# binary as OpenWrt's packages feed builds openwrt/vwrp/Makefile
# (`scripts/cross.sh ARCH feed`: the feed's forced profile, dynamic musl, a
# normal std; docs/SIZE.md). Then the peak RSS of the daemon running one
# group idle for 10 s, measured natively on the static musl x86_64 build,
# as a stand-in for the router: under qemu-user the figure would be the
# emulator's. Fails when mips_24kc is over either budget. Needs root (a
# throwaway network namespace).
set -eu

BUDGET_ARCH=mips_24kc
BUDGET=460800 # 450 KiB, the static build
FEED_BUDGET=1048576 # 1 MiB, the feed's build (docs/SIZE.md says why)
ARCHS=${ARCHS:-"mips_24kc mipsel_24kc aarch64_cortex-a53 arm_cortex-a7_neon-vfpv4 x86_64"}
IDLE=${IDLE:-10}

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

over=""
native=""
row() { # ARCH BIN: one line of figures
	bytes=$(stat -c %s "$2")
	xzb=-
	command -v xz >/dev/null && xzb=$(xz -9e -c "$2" | wc -c)
	printf '%-26s %8d B %7s KiB   xz %7s B\n' "$1" "$bytes" "$(awk "BEGIN{printf \"%.1f\", $bytes/1024}")" "$xzb"
}
rows=""
feed_rows=""
for arch in $ARCHS; do
	bin=$(./scripts/cross.sh "$arch" | tail -n 1)
	rows="$rows$(row "$arch" "$bin")
"
	[ "$arch" = x86_64 ] && native=$bin
	bytes=$(stat -c %s "$bin")
	if [ "$arch" = "$BUDGET_ARCH" ] && [ "$bytes" -gt "$BUDGET" ]; then
		over="$over$arch (static) is $bytes B, over its budget of $BUDGET B
"
	fi
	feed=$(./scripts/cross.sh "$arch" feed | tail -n 1)
	feed_rows="$feed_rows$(row "$arch" "$feed")
"
	bytes=$(stat -c %s "$feed")
	if [ "$arch" = "$BUDGET_ARCH" ] && [ "$bytes" -gt "$FEED_BUDGET" ]; then
		over="$over$arch (feed) is $bytes B, over its budget of $FEED_BUDGET B
"
	fi
done
echo "stripped size (static musl, profile min; what make ipk packs), budget $BUDGET B on $BUDGET_ARCH:"
printf '%s' "$rows"
echo "stripped size as the OpenWrt packages feed builds it (release, forced settings, dynamic musl, normal std), budget $FEED_BUDGET B on $BUDGET_ARCH:"
printf '%s' "$feed_rows"

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
	printf 'OVER BUDGET: %s' "$over" >&2
	exit 1
fi
