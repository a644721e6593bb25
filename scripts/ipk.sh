#!/bin/sh
# Packs vwrp as an OpenWrt .ipk (opkg, OpenWrt 24.10 and earlier) without
# an OpenWrt SDK: files/ as the router's filesystem, plus the binary as
# /usr/sbin/vwrp.
#
#   scripts/ipk.sh ARCH BIN [OUTDIR]    prints the path of the .ipk
#
# ARCH is an OpenWrt package architecture (x86_64, mips_24kc,
# aarch64_cortex-a53, ...); BIN a vwrp binary built for it. The layout is
# what OpenWrt's scripts/ipkg-build makes and opkg can read: a gzip'd tar
# (not ar) of ./debian-binary, ./data.tar.gz and ./control.tar.gz.
# Deterministic: names sorted, owner root:root (numeric), every mtime
# $SOURCE_DATE_EPOCH (default: the last commit's time), gzip -n.
set -eu

[ $# -ge 2 ] || { echo "usage: $0 ARCH BIN [OUTDIR]" >&2; exit 2; }
arch=$1
bin=$2
out=${3:-.}
top=$(cd "$(dirname "$0")/.." && pwd)

case "$arch" in
"" | *[!A-Za-z0-9_.+-]*) echo "$0: bad architecture '$arch'" >&2; exit 2 ;;
esac
if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
	echo "$0: $bin: no executable vwrp binary" >&2
	exit 1
fi

pkg=vwrp
release=1
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$top/Cargo.toml" | head -n 1)
[ -n "$version" ] || { echo "$0: no version in Cargo.toml" >&2; exit 1; }
# 24.10's spelling, PKG_VERSION-rPKG_RELEASE: vwrp needs its kernel (6.6)
# for the netdev egress hook.
full_version="$version-r$release"
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || echo 0)}
case "$epoch" in "" | *[!0-9]*) echo "$0: bad SOURCE_DATE_EPOCH '$epoch'" >&2; exit 2 ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
umask 022
mkdir -p "$work/data" "$work/control" "$work/outer"

# data: files/ with the modes OpenWrt's INSTALL_* give (INSTALL_BIN 0755
# for what is executable in the tree, INSTALL_DATA 0644, INSTALL_CONF 0600
# for the UCI file), and the binary.
cp -R "$top/files/." "$work/data/"
mkdir -p "$work/data/usr/sbin"
cp "$bin" "$work/data/usr/sbin/vwrp"
find "$work/data" -type d -exec chmod 0755 {} +
find "$work/data" -type f -exec sh -c 'for f; do if [ -x "$f" ]; then chmod 0755 "$f"; else chmod 0644 "$f"; fi; done' sh {} +
chmod 0600 "$work/data/etc/config/vwrp"

tarball() { # DIR: a deterministic tar of DIR's contents on stdout
	tar --format=gnu --numeric-owner --owner=0 --group=0 --sort=name \
		--mtime="@$epoch" -C "$1" -cf - .
}

tarball "$work/data" | gzip -n -9 > "$work/outer/data.tar.gz"
installed_size=$(gzip -dc "$work/outer/data.tar.gz" | wc -c | tr -d ' ')

cat > "$work/control/control" <<EOF
Package: $pkg
Version: $full_version
Depends: libc, kmod-nft-netdev, nftables-json
Source: feeds/vwrp/openwrt
SourceName: $pkg
License: GPL-2.0-only
Section: net
SourceDateEpoch: $epoch
URL: https://example.invalid/vwrp
Maintainer: vwrp developers <vwrp@example.invalid>
Architecture: $arch
Installed-Size: $installed_size
Description:  Virtual WAN Redundancy Protocol: several routers share one WAN
 MAC address and one DHCP-leased public IPv4 address. Exactly one forwards;
 the others stand by, fenced off the WAN, and one takes over when it fails.
EOF
echo /etc/config/vwrp > "$work/control/conffiles"
# OpenWrt's default_postinst and default_prerm (include/package-pack.mk):
# run uci-defaults, enable and start the service; stop and disable it.
cat > "$work/control/postinst" <<'EOF'
#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
EOF
cat > "$work/control/prerm" <<'EOF'
#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
EOF
# The package's own part, which default_postinst runs (as the feed's
# Package/vwrp/postinst): rpcd learns ubus object vwrp on its re-exec.
cat > "$work/control/postinst-pkg" <<'EOF'
#!/bin/sh
[ -n "${IPKG_INSTROOT}" ] || killall -HUP rpcd 2>/dev/null
exit 0
EOF
chmod 0644 "$work/control/control" "$work/control/conffiles"
chmod 0755 "$work/control/postinst" "$work/control/prerm" "$work/control/postinst-pkg"
tarball "$work/control" | gzip -n -9 > "$work/outer/control.tar.gz"

echo 2.0 > "$work/outer/debian-binary"
chmod 0644 "$work/outer/"*
mkdir -p "$out"
ipk="$out/${pkg}_${full_version}_${arch}.ipk"
tar --format=gnu --numeric-owner --owner=0 --group=0 --mtime="@$epoch" \
	-C "$work/outer" -cf - ./debian-binary ./data.tar.gz ./control.tar.gz | gzip -n -9 > "$ipk"
echo "$ipk"
