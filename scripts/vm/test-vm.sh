#!/bin/sh
# Runs the router build on a real kernel of another architecture: boots
# Debian's kernel for ARCH in qemu-system with an initramfs holding busybox,
# nftables, iproute2, the vwrp router build (scripts/cross.sh) and
# tests/vm/scenarios.sh, which runs two routers, an ISP and a LAN client in
# network namespaces inside the VM. The VM's result line is the exit status.
#
#   scripts/vm/test-vm.sh ARCH      ARCH: mipsel_24kc (little-endian, Malta)
#                                         s390x (big-endian)
#
# Debian ships no big-endian MIPS kernel any more; s390x is its big-endian
# architecture, so that leg proves byte order in netlink and nftables
# attributes against a big-endian kernel.
#
# Everything comes from Debian's archive through apt-get, run with a private
# configuration for the guest's architecture (the host's apt setup is left
# alone), and is cached under target/vm/ARCH. Needs root (apt-get).
# VWRP_VM_TIMEOUT (seconds, default 900) bounds the VM's run.
set -eu

usage() { echo "usage: $0 mipsel_24kc|s390x" >&2; exit 2; }
[ $# = 1 ] || usage
arch=$1
case $arch in
mipsel_24kc)
	deb_arch=mipsel kernel_pkg=linux-image-4kc-malta qemu_pkg=qemu-system-mips
	qemu="qemu-system-mipsel -M malta -cpu 24Kc -m 256 -vga none" console=ttyS0 ;;
s390x)
	deb_arch=s390x kernel_pkg=linux-image-s390x qemu_pkg=qemu-system-misc
	qemu="qemu-system-s390x -M s390-ccw-virtio -m 512" console=ttysclp0 ;;
*) usage ;;
esac
# The guest's userland: Debian's binaries with the libraries they need
# (checked below: a missing one stops the build, naming it).
userland="busybox-static nftables iproute2 libc6 libnftables1 libmnl0 libnftnl11 libjansson4
	libgmp10 libxtables12 libedit2 libbsd0 libmd0 libtinfo6 libbpf1 libelf1 libcap2 zlib1g"
# Modules for veth, bridges, the fence, the ISP's named counters and the
# routers' NAT. libcrc32c (for nf_tables) asks the crypto API for crc32c:
# its driver goes first.
modules="crc32c_generic veth bridge nf_tables nft_objref nft_chain_nat nft_masq"

repo=$(cd "$(dirname "$0")/../.." && pwd)
work=${CARGO_TARGET_DIR:-$repo/target}/vm/$arch
mkdir -p "$work"
log() { echo "test-vm[$arch]: $*" >&2; }
started=$(date +%s)

# --- host tools --------------------------------------------------------------
missing=""
for p in $qemu_pkg cpio binutils busybox; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	log "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# --- the router build and the stream tool -----------------------------------
vwrp=$("$repo/scripts/cross.sh" "$arch" | tail -n 1)
[ -x "$vwrp" ] || { log "no router build"; exit 1; }
"$repo/scripts/cross.sh" "$arch" cc -Os -s -Wall -Wextra -Werror \
	-o "$work/udpstream" "$repo/tests/vm/udpstream.c"

# --- Debian packages for the guest -------------------------------------------
apt_dir=$work/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$work/debs"
cat >"$apt_dir/sources.list" <<EOF
deb [arch=$deb_arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
EOF
apt_opts="-o Dir::Etc::SourceList=$apt_dir/sources.list -o Dir::Etc::SourceParts=/nonexistent
	-o Dir::State::Lists=$apt_dir/lists -o Dir::Cache=$apt_dir/cache -o Dir::State::status=/dev/null
	-o APT::Architecture=$deb_arch -o APT::Architectures::=$deb_arch -o APT::Sandbox::User=root
	-o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
# The index is refreshed once a day: point releases replace the kernel.
if [ -z "$(find "$apt_dir/lists" -name '*Packages*' -mtime -1 2>/dev/null)" ]; then
	log "apt-get update ($deb_arch)"
	# shellcheck disable=SC2086
	apt-get -qq $apt_opts update
fi
# The metapackage names the current kernel's package.
# shellcheck disable=SC2086
kernel=$(apt-cache $apt_opts depends "$kernel_pkg" | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1)
[ -n "$kernel" ] || { log "no kernel package behind $kernel_pkg"; exit 1; }
kver=${kernel#linux-image-}
log "kernel $kernel"
# apt-get download skips what is already there.
# shellcheck disable=SC2086
(cd "$work/debs" && apt-get -qq $apt_opts download "$kernel" $userland)

root=$work/root
if [ ! -f "$root/.$kernel" ]; then
	rm -rf "$root"
	mkdir -p "$root"
	for deb in "$work/debs"/*.deb; do
		# Only the current kernel of those cached.
		case ${deb##*/} in "${kernel}"_*) ;; linux-image-*) continue ;; esac
		dpkg-deb -x "$deb" "$root"
	done
	busybox depmod -b "$root" "$kver"
	touch "$root/.$kernel"
fi

# --- the initramfs -----------------------------------------------------------
img=$work/initramfs
rm -rf "$img"
mkdir -p "$img/bin" "$img/sbin" "$img/lib" "$img/usr/sbin" "$img/usr/local/bin" \
	"$img/usr/local/share/vm" "$img/usr/share/vwrp" "$img/etc"
cp "$root/bin/busybox" "$img/bin/"
# First on PATH, ahead of busybox's ip applet (no netns, no veth).
cp "$root/bin/ip" "$img/usr/local/bin/ip"
cp "$root/usr/sbin/nft" "$img/usr/sbin/"
# The libraries, flat in /lib (on the loader's default path); the loader
# where the binaries' PT_INTERP says.
interp=$(readelf -l "$root/usr/sbin/nft" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
cp -L "$root$interp" "$img$interp"
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; }
todo="$img/usr/local/bin/ip $img/usr/sbin/nft"
while [ -n "$todo" ]; do
	next=""
	for f in $todo; do
		for so in $(needed "$f"); do
			[ -e "$img/lib/$so" ] || [ "/lib/$so" = "$interp" ] && continue
			src=$(find "$root/lib" "$root/usr/lib" -name "$so" 2>/dev/null | head -n 1)
			[ -n "$src" ] || { log "$so (needed by ${f##*/}) is in none of: $userland"; exit 1; }
			cp -L "$src" "$img/lib/$so"
			next="$next $img/lib/$so"
		done
	done
	todo=$next
done
cp "$vwrp" "$img/usr/local/bin/vwrp"
cp "$work/udpstream" "$img/usr/local/bin/"
cp "$repo/files/usr/share/vwrp/udhcpc.script" "$img/usr/share/vwrp/"
cp "$repo/tests/vm/scenarios.sh" "$img/usr/local/share/vm/"
install -m 755 "$repo/tests/vm/init" "$img/init"
# Each module with what it depends on, as modules.dep lists them.
mdir=lib/modules/$kver
for m in $modules; do
	line=$(grep -E "(^|/)$m\.ko:" "$root/$mdir/modules.dep") || { log "no module $m in $kernel"; exit 1; }
	for ko in $(echo "$line" | tr -d ':'); do
		mkdir -p "$img/$mdir/${ko%/*}"
		cp "$root/$mdir/$ko" "$img/$mdir/$ko"
	done
	echo "$m"
done >"$img/etc/vm-modules"
busybox depmod -b "$img" "$kver"
(cd "$img" && find . | cpio -o -H newc -R 0:0 --quiet) >"$work/initramfs.cpio"
log "initramfs $(($(wc -c <"$work/initramfs.cpio") / 1024)) KiB, ready after $(($(date +%s) - started)) s"

# --- boot --------------------------------------------------------------------
limit=${VWRP_VM_TIMEOUT:-900}
console_log=$work/console.log
boot=$(date +%s)
set +e
# No NIC: all networking is between namespaces inside the guest.
# shellcheck disable=SC2086
timeout -k 10 "$limit" $qemu -smp 1 -nographic -nic none -no-reboot \
	-kernel "$root/boot/vmlinuz-$kver" -initrd "$work/initramfs.cpio" \
	-append "console=$console quiet panic=-1" </dev/null 2>&1 | tee "$console_log"
set -e
took=$(($(date +%s) - boot))
if ! grep -q '^VWRP-VM RESULT' "$console_log"; then
	log "FAIL: the VM gave no result within ${limit} s (its console: $console_log)"
	exit 1
fi
grep -E '^(VWRP-VM kernel|vm: FIGURE)' "$console_log" | tr -d '\r' >&2
log "VM ran ${took} s; the whole leg took $(($(date +%s) - started)) s"
grep -q '^VWRP-VM RESULT pass' "$console_log" || { log "FAIL (console: $console_log)"; exit 1; }
log "pass"
