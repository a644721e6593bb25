#!/bin/sh
# netifd protocol "vwrp" for the WAN interface of a vwrp group with
# option dhcp 'netifd' (docs/OPENWRT.md):
#
#	config interface 'wan'
#		option device 'wan'
#		option proto 'vwrp'
#
# The interface is up, with the group's DHCP lease, only on the router that
# holds the WAN; on the others it waits, pending. The vwrp daemon runs the
# DHCP client and hands netifd the lease itself, with
# `ubus call network.interface notify_proto` (link-up true at takeover,
# false when it leaves the active role). All this handler does is tell the
# daemon which interface serves the WAN device, on every setup and renew,
# so the daemon sends the current state right away.

[ -n "$INCLUDE_ONLY" ] || {
	# shellcheck source=/dev/null
	. /lib/functions.sh
	# shellcheck source=/dev/null
	. ../netifd-proto.sh
	init_proto "$@"
}

# shellcheck disable=SC2034 # read by init_proto (netifd-proto.sh)
proto_vwrp_init_config() {
	# No process of its own: the daemon (procd's) sends the updates.
	no_proto_task=1
	renew_handler=1
}

# $1: the interface (e.g. wan), $2: its device.
proto_vwrp_setup() {
	"${VWRP_BIN:-/usr/sbin/vwrp}" netifd-setup "$1" "$2"
}

# `ubus call network.interface.wan renew`: the current state once more.
proto_vwrp_renew() {
	proto_vwrp_setup "$@"
}

# netifd removes the address itself; the daemon keeps its role.
proto_vwrp_teardown() {
	return 0
}

[ -n "$INCLUDE_ONLY" ] || add_protocol vwrp
