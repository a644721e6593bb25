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
# shellcheck source=scripts/ipk-lib.sh
. "$top/scripts/ipk-lib.sh"
# PKG_RELEASE as the feed recipe sets it; the version is Cargo.toml's.
ipk_begin "$(sed -n 's/^PKG_RELEASE:=//p' "$top/openwrt/vwrp/Makefile")"

# data: files/ with the modes OpenWrt's INSTALL_* give (INSTALL_BIN 0755
# for what is executable in the tree, INSTALL_DATA 0644, INSTALL_CONF 0600
# for the UCI file), and the binary.
cp -R "$top/files/." "$work/data/"
mkdir -p "$work/data/usr/sbin"
cp "$bin" "$work/data/usr/sbin/vwrp"
find "$work/data" -type d -exec chmod 0755 {} +
find "$work/data" -type f -exec sh -c 'for f; do if [ -x "$f" ]; then chmod 0755 "$f"; else chmod 0644 "$f"; fi; done' sh {} +
chmod 0600 "$work/data/etc/config/vwrp"

ipk_data

cat > "$work/control/control" <<EOF
Package: $pkg
Version: $full_version
Depends: libc, kmod-nft-netdev, nftables
Source: feeds/vwrp/openwrt/vwrp
SourceName: $pkg
License: GPL-2.0-only
LicenseFiles: LICENSE
Section: net
SourceDateEpoch: $epoch
Maintainer: vwrp developers
Architecture: $arch
Installed-Size: $installed_size
Description:  Several routers share one WAN MAC address and one DHCP-leased public
 IPv4 address. Exactly one forwards; the others stand by, fenced off the
 WAN by nftables, and one of them takes over with the same address when
 it fails. procd service, UCI configuration, ubus object "vwrp" (rpcd),
 netifd protocol "vwrp" for the WAN interface.
EOF
echo /etc/config/vwrp > "$work/control/conffiles"
ipk_default_scripts
# The package's own part, which default_postinst runs (as the feed's
# Package/vwrp/postinst): rpcd learns ubus object vwrp on its re-exec.
cat > "$work/control/postinst-pkg" <<'EOF'
#!/bin/sh
[ -n "${IPKG_INSTROOT}" ] || killall -HUP rpcd 2>/dev/null
exit 0
EOF
# The feed's Package/vwrp/postrm, packed as is (package-pack.mk): on
# removal rpcd drops ubus object vwrp, and nothing stays in RAM or as an
# empty directory.
cat > "$work/control/postrm" <<'EOF'
#!/bin/sh
[ -n "${IPKG_INSTROOT}" ] && exit 0
[ "${PKG_UPGRADE}" = "1" ] && exit 0
rm -rf /var/run/vwrp
rmdir /usr/share/vwrp 2>/dev/null
killall -HUP rpcd 2>/dev/null
exit 0
EOF
ipk_finish "$arch" "$out"
