#!/bin/sh
# Installs what vwrp's demo and tests use, if missing:
#
#   scripts/deps.sh [PACKAGE...]
#
# Always the namespace test bed's Debian packages (real parts, not mocks:
# iproute2, nftables, dnsmasq, busybox udhcpc, tcpdump, python3; for its
# IPv6 side Kea's DHCPv6 server and radvd at the ISP), and the
# packages named. `make demo` names none; `make test` and `make bench` name
# theirs (see the Makefile). `rustfmt` and `clippy` are the rustup
# components.
#
# What is already there counts, whatever its source: busybox-static is a
# busybox (the two conflict: installing busybox would remove it), and node
# and npm on the PATH (e.g. from NodeSource) stand for nodejs and npm.
set -eu
want="iproute2 nftables dnsmasq-base busybox tcpdump python3 kea-dhcp6-server radvd $*"

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

have() {
	case $1 in
	busybox) installed busybox || installed busybox-static ;;
	nodejs) command -v node >/dev/null 2>&1 ;;
	npm) command -v npm >/dev/null 2>&1 ;;
	rustfmt) cargo fmt --version >/dev/null 2>&1 ;;
	clippy) cargo clippy --version >/dev/null 2>&1 ;;
	*) installed "$1" ;;
	esac
}

[ "$(id -u)" = 0 ] || { echo "the end-to-end tests and the demo need root (network namespaces)" >&2; exit 1; }
command -v cargo >/dev/null 2>&1 || { echo "cargo (rustup toolchain) is required" >&2; exit 1; }
missing=""
for p in $want; do
	have "$p" || missing="$missing $p"
done
apt_missing=""
for p in $missing; do
	case $p in
	rustfmt | clippy) rustup component add "$p" ;;
	*) apt_missing="$apt_missing $p" ;;
	esac
done
if [ -n "$apt_missing" ]; then
	echo "installing:$apt_missing"
	# tshark asks whether non-root users may capture: no, the default.
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $apt_missing >/dev/null
fi
