#!/bin/sh
# Packs luci-app-vwrp as an OpenWrt .ipk of architecture "all", without an
# OpenWrt SDK, as the LuCI feed's luci.mk would: luci-app-vwrp/htdocs goes
# to /www, luci-app-vwrp/root to /.
#
#   scripts/ipk-luci.sh [OUTDIR]    prints the path of the .ipk
#
# Same container as scripts/ipk.sh (OpenWrt's ipkg-build): a gzip'd tar
# of ./debian-binary, ./data.tar.gz and ./control.tar.gz; deterministic
# (sorted names, root:root, mtime $SOURCE_DATE_EPOCH or the last commit's).
set -eu

out=${1:-.}
top=$(cd "$(dirname "$0")/.." && pwd)
app="$top/luci-app-vwrp"

pkg=luci-app-vwrp
# shellcheck source=scripts/ipk-lib.sh
. "$top/scripts/ipk-lib.sh"
# The version is Cargo.toml's, as luci-app-vwrp/Makefile sets it; luci.mk
# uses it without the release.
ipk_begin ""
mkdir -p "$work/data/www"

cp -R "$app/htdocs/." "$work/data/www/"
cp -R "$app/root/." "$work/data/"
find "$work/data" -type d -exec chmod 0755 {} +
find "$work/data" -type f -exec chmod 0644 {} +

ipk_data

cat > "$work/control/control" <<EOF
Package: $pkg
Version: $full_version
Depends: libc, luci-base, vwrp
Source: feeds/vwrp/luci-app-vwrp
SourceName: $pkg
License: GPL-2.0-only
Section: luci
SourceDateEpoch: $epoch
Maintainer: vwrp developers
Architecture: all
Installed-Size: $installed_size
Description:  A status page for vwrp with step up and step down, and a settings form for /etc/config/vwrp.
EOF
ipk_default_scripts
# luci.mk's own postinst: drop LuCI's caches, make rpcd re-read the ACLs.
cat > "$work/control/postinst-pkg" <<'EOF'
[ -n "${IPKG_INSTROOT}" ] || {
	rm -f /tmp/luci-indexcache.*
	rm -rf /tmp/luci-modulecache/
	killall -HUP rpcd 2>/dev/null
	exit 0
}
EOF
ipk_finish all "$out"
