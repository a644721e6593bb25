#!/bin/sh
# The vwrp scenarios inside the test VM (busybox ash), on the guest's own
# kernel: two routers running the router build, a WAN switch, an ISP
# running busybox udhcpd, a LAN client, all in network namespaces:
#
#   isp "cust" 203.0.113.1 (udhcpd: ONE address, 203.0.113.10; stream receiver)
#    |
#   wsw br0 -- r1 "wan", r2 "wan"   (shared MAC; down until the fence is in)
#   lsw br0 -- r1 "lan" .2, r2 "lan" .3, cli "eth0" .100 (gateway .1 floats)
#
# Cold start, hard failover (kill -9 of the active and its cables pulled),
# graceful handover by `vwrp step-down` and by SIGTERM. After each: exactly
# one active, the standby's fence closed and the standby silent on the WAN,
# the client's stream through the active, and the ISP saw one DHCPDISCOVER
# in all (the first) and never a DHCPRELEASE. Figures and failures go to
# the console as `vm: ...` lines; the exit status is the result.
set -u

SHARED_MAC=02:76:77:72:70:01
WAN_ADDR=203.0.113.10
ISP_ADDR=203.0.113.1
# Slower than the host suites' 100 ms: an emulated CPU on a busy host stalls
# for a few hundred ms now and then, and a stalled active rightly gives up
# the WAN once its permission (2 hellos) lapses.
HELLO_MS=250
KEY=1:vm-test-key-0123456789
W=/tmp/vm
failures=0

say() { echo "vm: $*"; }
fail() {
	echo "vm: FAIL: $*"
	failures=$((failures + 1))
}
at() {
	ns=$1
	shift
	ip netns exec "$ns" "$@"
}
# Debian's busybox runs its own applets before anything on PATH: iproute2's
# ip (busybox's lacks netns and veth) by its path. A process whose pid is
# used is started as one simple command (no function): `ip netns exec`
# execs it, so $! is its pid.
IP=/usr/local/bin/ip
ip() { $IP "$@"; }
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

# --- the bed -----------------------------------------------------------------
for ns in wsw lsw isp r1 r2 cli; do
	ip netns add $ns
	# Before any interface exists: routers sharing one MAC must not share
	# an IPv6 link-local address either.
	at "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 >/dev/null
	at "$ns" sysctl -q -w net.ipv6.conf.default.disable_ipv6=1 >/dev/null
	at "$ns" ip link set lo up
done
for sw in wsw lsw; do
	# A dumb switch: no STP, no snooping, no frames of its own.
	ip -n $sw link add br0 type bridge mcast_snooping 0
	ip -n $sw link set br0 up
done
# port SWITCH PORT NS IF [MAC]: a cable from a switch port to NS's IF.
port() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" ${5:+address "$5"}
	ip -n "$1" link set "$2" master br0 up
}
port wsw isp isp cust
at isp ip addr add $ISP_ADDR/24 dev cust
at isp ip link set cust up
for n in 1 2; do
	port wsw r$n r$n wan $SHARED_MAC
	port lsw r$n r$n lan 02:76:77:72:6c:0$n
	at r$n sysctl -q -w net.ipv4.ip_forward=1 >/dev/null
	at r$n ip addr add 198.51.100.$((n + 1))/24 dev lan
	at r$n ip link set lan up
	at r$n nft 'table inet nat { chain post { type nat hook postrouting priority srcnat; oifname "wan" masquerade; }; }'
done
port lsw cli cli eth0
at cli ip addr add 198.51.100.100/24 dev eth0
at cli ip link set eth0 up
at cli ip route add default via 198.51.100.1

mkdir -p $W
# The ISP counts DHCP messages by type (option 53 is the first option both
# udhcpc and vwrp's renewer send: UDP payload bytes 240..242).
at isp nft -f - <<'EOF'
table inet isp {
	counter discover {}
	counter request {}
	counter release {}
	chain in {
		type filter hook input priority 0; policy accept;
		udp dport 67 @ih,1920,24 0x350101 counter name discover
		udp dport 67 @ih,1920,24 0x350103 counter name request
		udp dport 67 @ih,1920,24 0x350107 counter name release
	}
}
EOF
cat >$W/udhcpd.conf <<EOF
start $WAN_ADDR
end $WAN_ADDR
max_leases 1
interface cust
lease_file $W/udhcpd.leases
option subnet 255.255.255.0
option router $ISP_ADDR
option dns $ISP_ADDR
option lease 600
EOF
touch $W/udhcpd.leases
$IP netns exec isp udhcpd -f -a 100 $W/udhcpd.conf >$W/udhcpd.log 2>&1 &
udhcpd=$!

# --- routers -----------------------------------------------------------------
conf() { # N PRIORITY
	mkdir -p "$W/r$1/hooks"
	cat >"$W/r$1.conf" <<EOF
config globals 'globals'
	option control_socket '$W/r$1/vwrp.sock'
	option state_dir '$W/r$1'
	option hook_dir '$W/r$1/hooks'
	option log_level 'debug'
config group 'wan'
	option group_id '1'
	option router_id '$1'
	option wan_device 'wan'
	option shared_mac '$SHARED_MAC'
	list control 'lan'
	option priority '$2'
	option preempt '0'
	option hello_interval '${HELLO_MS}ms'
	option dead_multiplier '3'
	list key '$KEY'
	list lan_gateway '198.51.100.1/24@lan'
	option resolv_file '$W/r$1/resolv.conf'
EOF
}
start() { # N: the daemon in r$N, in the background ($! is its pid)
	rm -f "$W/r$1/vwrp.sock"
	$IP netns exec "r$1" vwrp daemon -c "$W/r$1.conf" >>"$W/r$1.log" 2>&1 &
}
wait_socket() { # N
	i=0
	while [ ! -S "$W/r$1/vwrp.sock" ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$W/r$1/vwrp.sock" ] || fail "r$1: no control socket"
}
status() { at "r$1" vwrp -s "$W/r$1/vwrp.sock" status --json 2>/dev/null; }
# The group's own state is the first "state" key of the reply.
state() { status "$1" | grep -o '"state":"[a-z_]*"' | head -n 1 | cut -d'"' -f4; }
has_lease() { status "$1" | grep -q "\"lease\":{\"address\":\"$WAN_ADDR\""; }
# The routers that say "active", e.g. "r2".
actives() {
	a=""
	for n in 1 2; do
		[ "$(state $n)" = active ] && a="$a r$n"
	done
	echo "${a# }"
}
# until SECONDS COMMAND...: polls every 0.1 s; fails when time runs out.
until_ok() {
	t=$(($(now_ms) + $1 * 1000))
	shift
	while ! "$@"; do
		[ "$(now_ms)" -lt $t ] || return 1
		sleep 0.1
	done
}
is_standby() { [ "$(state "$1")" = standby ]; }
active_is() { [ "$(actives)" = "$1" ] && has_lease "${1#r}"; }
counter() { at isp nft list counter inet isp "$1" | grep -o 'packets [0-9]*' | cut -d' ' -f2; }
wan_rx() { at wsw cat "/sys/class/net/r$1/statistics/rx_packets"; }
cables() { # N up|down
	at wsw ip link set "r$1" "$2"
	at lsw ip link set "r$1" "$2"
}

# check ACTIVE STANDBY WHAT: what must hold after every scenario.
check() {
	a=$1 s=$2 what=$3
	[ "$(actives)" = "$a" ] || fail "$what: active routers '$(actives)', want '$a'"
	# The standby's permission set is empty: nothing but hellos pass.
	if at "$s" nft list set netdev vwrp open | grep -q elements; then
		fail "$what: fence open on standby $s"
	fi
	at "$a" nft list set netdev vwrp open | grep -q elements || fail "$what: no permission on active $a"
	before=$(wan_rx "${s#r}")
	sleep 1
	[ "$(wan_rx "${s#r}")" = "$before" ] || fail "$what: standby $s sent frames on the WAN"
	d=$(counter discover) rel=$(counter release)
	[ "$d" = 1 ] || fail "$what: the ISP saw $d DHCPDISCOVERs, want 1 (the cold start's)"
	[ "$rel" = 0 ] || fail "$what: the ISP saw $rel DHCPRELEASEs"
}

# stream WHAT INTERVAL_MS DURATION_MS MAX_MS ACTION...: the client streams to
# the ISP; ACTION runs after 1 s; prints the outage and checks it is under
# MAX_MS. A graceful handover must beat the dead interval (3 hellos): else
# it was a failover by timeout.
stream() {
	what=$1 iv=$2 dur=$3 max=$4
	shift 4
	$IP netns exec isp udpstream recv 5000 $((dur + 30000)) >$W/stream.out 2>&1 &
	rx=$!
	sleep 0.3
	$IP netns exec cli udpstream send $ISP_ADDR 5000 "$iv" "$dur" >/dev/null 2>&1 &
	tx=$!
	sleep 1
	"$@"
	wait $tx
	wait $rx
	read -r _ sent _ received _ lost _ gap <$W/stream.out || true
	say "FIGURE $what: client outage ${gap:-?} ms, lost ${lost:-?} of ${sent:-?} (every $iv ms, hello $HELLO_MS ms)"
	if [ -z "${received:-}" ] || [ "$received" -lt $((sent / 2)) ]; then
		fail "$what: the client's stream did not get through: $(cat $W/stream.out)"
	elif [ "${gap%.*}" -ge "$max" ]; then
		fail "$what: outage ${gap} ms, over $max ms"
	fi
}

dump_logs() {
	for f in "$W/r1.log" "$W/r2.log" "$W/udhcpd.log"; do
		echo "--- $f"
		tail -n 80 "$f"
	done
}

# --- cold start --------------------------------------------------------------
conf 1 200
conf 2 150
t0=$(now_ms)
start 1
pid1=$!
start 2
pid2=$!
for n in 1 2; do
	wait_socket $n
	at r$n ip link set wan up
done
if until_ok 60 active_is r1; then
	say "FIGURE cold start: r1 active with the lease $(($(now_ms) - t0)) ms after the daemons started"
else
	fail "cold start: no single active r1 with the lease: r1 $(state 1), r2 $(state 2)"
fi
until_ok 10 has_lease 2 || fail "cold start: standby r2 did not learn the lease from hellos"
# What procd hands to logd: the daemon's stderr, every transition on it.
grep -q 'group wan: .* -> active' "$W/r1.log" || fail "cold start: r1 logged no transition to active"
stream "cold start" 10 2000 1000 true
check r1 r2 "cold start"
say "FIGURE r1 (active) daemon $(grep VmRSS "/proc/$pid1/status" | tr -s ' \t' ' ')"
say "FIGURE r2 (standby) daemon $(grep VmRSS "/proc/$pid2/status" | tr -s ' \t' ' ')"

# --- hard failover: kill -9 the active, pull its cables -----------------------
hard() {
	kill -9 "$pid1"
	cables 1 down
	killed=$(now_ms)
	# Polled by the CLI, so late by up to a poll (100 ms) and a CLI call.
	if until_ok 10 active_is r2; then
		say "FIGURE hard failover: r2 active with the lease $(($(now_ms) - killed)) ms after the kill"
	fi
}
requests=$(counter request)
stream "hard failover" 10 6000 3000 hard
wait "$pid1" 2>/dev/null
until_ok 10 active_is r2 || fail "hard failover: r2 did not take over with the lease"
# The new active confirms the lease it took over with a DHCPREQUEST.
renewed() { [ "$(counter request)" -gt "$requests" ]; }
until_ok 10 renewed || fail "hard failover: r2 did not renew the lease it took over"
cables 1 up
start 1
pid1=$!
wait_socket 1
until_ok 20 is_standby 1 || fail "hard failover: restarted r1 is $(state 1), not standby"
check r2 r1 "hard failover"

# --- graceful: step-down, then SIGTERM ---------------------------------------
step_down() { at r2 vwrp -s $W/r2/vwrp.sock step-down >/dev/null || fail "step-down refused"; }
stream "graceful step-down" 5 4000 $((3 * HELLO_MS)) step_down
until_ok 10 active_is r1 || fail "step-down: r1 did not take over"
check r1 r2 "graceful step-down"

sigterm() { kill -TERM "$pid1"; }
stream "graceful SIGTERM" 5 4000 $((3 * HELLO_MS)) sigterm
wait "$pid1"
rc=$?
[ $rc = 0 ] || fail "SIGTERM: r1 exited with status $rc"
until_ok 10 active_is r2 || fail "SIGTERM: r2 did not take over"
start 1
pid1=$!
wait_socket 1
until_ok 20 is_standby 1 || fail "SIGTERM: restarted r1 is $(state 1), not standby"
check r2 r1 "graceful SIGTERM"

[ $failures = 0 ] || dump_logs
kill "$pid1" "$pid2" "$udhcpd" 2>/dev/null
say "$failures failure(s)"
[ $failures = 0 ]
