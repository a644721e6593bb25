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
release=1
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$top/Cargo.toml" | head -n 1)
[ -n "$version" ] || { echo "$0: no version in Cargo.toml" >&2; exit 1; }
full_version="$version-r$release"
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || echo 0)}
case "$epoch" in "" | *[!0-9]*) echo "$0: bad SOURCE_DATE_EPOCH '$epoch'" >&2; exit 2 ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
umask 022
mkdir -p "$work/data/www" "$work/control" "$work/outer"

cp -R "$app/htdocs/." "$work/data/www/"
cp -R "$app/root/." "$work/data/"
find "$work/data" -type d -exec chmod 0755 {} +
find "$work/data" -type f -exec chmod 0644 {} +

tarball() { # DIR: a deterministic tar of DIR's contents on stdout
	tar --format=gnu --numeric-owner --owner=0 --group=0 --sort=name \
		--mtime="@$epoch" -C "$1" -cf - .
}

tarball "$work/data" | gzip -n -9 > "$work/outer/data.tar.gz"
installed_size=$(gzip -dc "$work/outer/data.tar.gz" | wc -c | tr -d ' ')

cat > "$work/control/control" <<EOF
Package: $pkg
Version: $full_version
Depends: vwrp, luci-base
Source: feeds/luci/applications/luci-app-vwrp
SourceName: $pkg
License: GPL-2.0-only
Section: luci
SourceDateEpoch: $epoch
URL: https://example.invalid/vwrp
Maintainer: vwrp developers <vwrp@example.invalid>
Architecture: all
Installed-Size: $installed_size
Description:  LuCI support for vwrp (shared WAN redundancy): a status page with
 step up and step down, and a settings form for /etc/config/vwrp.
EOF
# OpenWrt's default_postinst/default_prerm wrappers, and luci.mk's own
# postinst: drop LuCI's caches and make rpcd re-read the ACL files.
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
cat > "$work/control/postinst-pkg" <<'EOF'
#!/bin/sh
[ -n "${IPKG_INSTROOT}" ] || {
	rm -f /tmp/luci-indexcache.*
	rm -rf /tmp/luci-modulecache/
	killall -HUP rpcd 2>/dev/null
}
exit 0
EOF
chmod 0644 "$work/control/control"
chmod 0755 "$work/control/postinst" "$work/control/prerm" "$work/control/postinst-pkg"
tarball "$work/control" | gzip -n -9 > "$work/outer/control.tar.gz"

echo 2.0 > "$work/outer/debian-binary"
chmod 0644 "$work/outer/"*
mkdir -p "$out"
ipk="$out/${pkg}_${full_version}_all.ipk"
tar --format=gnu --numeric-owner --owner=0 --group=0 --mtime="@$epoch" \
	-C "$work/outer" -cf - ./debian-binary ./data.tar.gz ./control.tar.gz | gzip -n -9 > "$ipk"
echo "$ipk"
