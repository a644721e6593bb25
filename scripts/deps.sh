#!/bin/sh
# Installs the Debian packages vwrp's tests and demo use, if missing.
# Real parts, not mocks: iproute2, nftables, dnsmasq, busybox udhcpc.
# make and gettext (xgettext): the feed's recipes and the LuCI translation
# template (tests/feed.rs).
set -eu
want="iproute2 nftables dnsmasq-base busybox tcpdump python3 iputils-ping iputils-arping shellcheck conntrack qemu-user-static make gettext $*"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
command -v cargo >/dev/null 2>&1 || { echo "cargo (rustup toolchain) is required" >&2; exit 1; }
# `make test` checks the formatting first.
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
[ "$(id -u)" = 0 ] || { echo "the end-to-end tests and the demo need root (network namespaces)" >&2; exit 1; }
