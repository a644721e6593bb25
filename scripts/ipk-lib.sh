# shellcheck shell=sh
# What scripts/ipk.sh and scripts/ipk-luci.sh share: the .ipk container
# OpenWrt's scripts/ipkg-build makes and opkg reads — a gzip'd tar (not ar)
# of ./debian-binary, ./data.tar.gz and ./control.tar.gz — built
# deterministically: names sorted, owner root:root (numeric), every mtime
# $SOURCE_DATE_EPOCH (default: the last commit's time), gzip -n.
# Sourced; the caller sets $top (the repository) and $pkg, and reads back
# $work, $full_version, $epoch and $installed_size.
# shellcheck disable=SC2154,SC2034

# Version (24.10's spelling PKG_VERSION-rPKG_RELEASE, or the version alone
# when RELEASE is empty; the version is Cargo.toml's), epoch, work dirs.
ipk_begin() { # RELEASE
	version=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$top/Cargo.toml")
	[ -n "$version" ] || { echo "$0: no version in Cargo.toml" >&2; exit 1; }
	case "$1" in *[!0-9]*) echo "$0: bad PKG_RELEASE '$1'" >&2; exit 1 ;; esac
	full_version="$version${1:+-r$1}"
	epoch=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || echo 0)}
	case "$epoch" in "" | *[!0-9]*) echo "$0: bad SOURCE_DATE_EPOCH '$epoch'" >&2; exit 2 ;; esac
	work=$(mktemp -d)
	# shellcheck disable=SC2064 # expand $work now
	trap "rm -rf '$work'" EXIT INT TERM
	umask 022
	mkdir -p "$work/data" "$work/control" "$work/outer"
}

tarball() { # DIR: a deterministic tar of DIR's contents on stdout
	tar --format=gnu --numeric-owner --owner=0 --group=0 --sort=name \
		--mtime="@$epoch" -C "$1" -cf - .
}

# data.tar.gz from $work/data; sets $installed_size (uncompressed bytes).
ipk_data() {
	tarball "$work/data" | gzip -n -9 > "$work/outer/data.tar.gz"
	installed_size=$(gzip -dc "$work/outer/data.tar.gz" | wc -c | tr -d ' ')
}

# OpenWrt's default_postinst and default_prerm wrappers (package-pack.mk):
# they run the package's postinst-pkg, uci-defaults, enable and start its
# services; stop and disable them on removal.
ipk_default_scripts() {
	cat > "$work/control/postinst" <<'SCRIPT'
#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
SCRIPT
	cat > "$work/control/prerm" <<'SCRIPT'
#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
SCRIPT
}

# control.tar.gz and the outer container in OUTDIR; prints the .ipk path.
ipk_finish() { # ARCH OUTDIR
	find "$work/control" -type f -exec chmod 0644 {} +
	chmod 0755 "$work/control/postinst" "$work/control/prerm" "$work/control/postinst-pkg"
	if [ -f "$work/control/postrm" ]; then chmod 0755 "$work/control/postrm"; fi
	tarball "$work/control" | gzip -n -9 > "$work/outer/control.tar.gz"
	echo 2.0 > "$work/outer/debian-binary"
	chmod 0644 "$work/outer/"*
	mkdir -p "$2"
	ipk="$2/${pkg}_${full_version}_$1.ipk"
	tar --format=gnu --numeric-owner --owner=0 --group=0 --mtime="@$epoch" \
		-C "$work/outer" -cf - ./debian-binary ./data.tar.gz ./control.tar.gz | gzip -n -9 > "$ipk"
	echo "$ipk"
}
