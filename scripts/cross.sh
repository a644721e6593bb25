#!/bin/sh
# Cross-builds vwrp as a static musl binary for an OpenWrt arch, or runs its
# tests for that arch under qemu-user. Installs what it needs itself.
#
#   scripts/cross.sh ARCH                 build profile `min`; the last stdout
#                                         line is the path of the stripped
#                                         binary, <target>/<triple>/router/vwrp
#   scripts/cross.sh ARCH test [ARGS...]  `cargo test ARGS` run under qemu
#   scripts/cross.sh ARCH feed            the binary as OpenWrt's packages
#                                         feed builds it (docs/SIZE.md); the
#                                         last stdout line is its path
#   scripts/cross.sh ARCH cc [ARGS...]    zig cc for ARCH, static (test tools)
#
# ARCH: mips_24kc mipsel_24kc aarch64_cortex-a53 arm_cortex-a7_neon-vfpv4
# x86_64, s390x (big-endian, for the test VM: not an OpenWrt arch), or a
# rust triple. Everything but the final path goes to stderr.
#
# How: zig (PyPI `ziglang`, pinned) links through cargo-zigbuild; std is
# rebuilt from rust-src with -Zbuild-std (mips is tier 3 and has no prebuilt
# std), which needs RUSTC_BOOTSTRAP=1. That variable changes how some
# dependencies build (build scripts that probe for nightly), so cross builds
# get their own target dir and never share one with host builds.
set -eu

ZIG_VERSION=0.15.2          # 0.17 swaps musl's malloc for zig's own; see docs/SIZE.md
ZIGBUILD_VERSION=0.24.0

usage() { echo "usage: $0 ARCH [test [cargo test args...] | feed | cc [args...]]" >&2; exit 2; }
[ $# -ge 1 ] || usage
arch=$1; shift
mode=build
if [ $# -ge 1 ]; then
	case $1 in
	test) mode="test" ;;
	feed) [ $# -eq 1 ] || usage; mode=feed ;;
	cc) mode=cc ;;
	*) usage ;;
	esac
	shift
fi

case $arch in
mips_24kc)                 triple=mips-unknown-linux-musl; qemu=mips ;;
mipsel_24kc)               triple=mipsel-unknown-linux-musl; qemu=mipsel ;;
aarch64_cortex-a53)        triple=aarch64-unknown-linux-musl; qemu=aarch64 ;;
arm_cortex-a7_neon-vfpv4)  triple=armv7-unknown-linux-musleabihf; qemu=arm ;;
x86_64)                    triple=x86_64-unknown-linux-musl; qemu= ;;
s390x)                     triple=s390x-unknown-linux-musl; qemu=s390x ;;
*-unknown-linux-musl*)     triple=$arch; qemu=${arch%%-*}; [ "$qemu" = x86_64 ] && qemu= ;;
*) echo "unknown arch '$arch'" >&2; usage ;;
esac
case $qemu in armv7) qemu=arm ;; esac
# zig's name for the same target (rust's mips musl targets are soft-float).
case $triple in
mips*)  zig_target=${triple%%-*}-linux-musleabi ;;
armv7*) zig_target=arm-linux-musleabihf ;;
*)      zig_target=${triple%%-*}-linux-musl ;;
esac

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

# --- tools -----------------------------------------------------------------
if [ -z "${VWRP_CROSS_HOME:-}" ]; then
	if [ -w /opt ]; then VWRP_CROSS_HOME=/opt/vwrp-cross
	else VWRP_CROSS_HOME=${XDG_CACHE_HOME:-$HOME/.cache}/vwrp-cross; fi
fi
venv=$VWRP_CROSS_HOME
have_zig() {
	[ "$("$venv/bin/python3" -m ziglang version 2>/dev/null)" = "$ZIG_VERSION" ] &&
		[ -x "$venv/bin/cargo-zigbuild" ] &&
		"$venv/bin/cargo-zigbuild" --version 2>/dev/null | grep -q " $ZIGBUILD_VERSION"
}
if ! have_zig; then
	echo "cross: installing ziglang==$ZIG_VERSION and cargo-zigbuild==$ZIGBUILD_VERSION into $venv" >&2
	python3 -m venv "$venv" >&2 || {
		# Debian's own python3 ships venv separately.
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
		python3 -m venv "$venv" >&2
	}
	"$venv/bin/pip" install -q --disable-pip-version-check \
		"ziglang==$ZIG_VERSION" "cargo-zigbuild==$ZIGBUILD_VERSION" >&2
	have_zig || { echo "cross: zig install in $venv did not work" >&2; exit 1; }
fi
# cargo-zigbuild runs zig as `python3 -m ziglang`: the venv's python first.
PATH=$venv/bin:$PATH
export PATH

if [ "$mode" = cc ]; then
	exec python3 -m ziglang cc -target "$zig_target" -static "$@"
fi

sysroot=$(rustc --print sysroot)
if [ ! -f "$sysroot/lib/rustlib/src/rust/library/Cargo.lock" ]; then
	echo "cross: rustup component add rust-src" >&2
	rustup component add rust-src >&2
fi

# llvm-nm checks the linked binary's symbols. llvm-strip then strips it:
# the linker's --strip-all would keep mips' .pdr (88 KiB of procedure
# descriptors nothing reads at run time); OpenWrt strips it too.
llvm_bin=$sysroot/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin
if [ "$mode" != test ] && { [ ! -x "$llvm_bin/llvm-strip" ] || [ ! -x "$llvm_bin/llvm-nm" ]; }; then
	echo "cross: rustup component add llvm-tools" >&2
	rustup component add llvm-tools >&2
fi

if [ "$mode" = test ] && [ -n "$qemu" ] && ! command -v "qemu-$qemu-static" >/dev/null 2>&1; then
	echo "cross: installing qemu-user-static" >&2
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static >&2; then
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static >&2
	fi
fi

target_dir=${VWRP_CROSS_TARGET_DIR:-${CARGO_TARGET_DIR:-$repo/target}/cross}
unset CARGO_ENCODED_RUSTFLAGS

# --- the feed's build -------------------------------------------------------
# What openwrt/vwrp/Makefile gets from the packages feed: `cargo install
# --profile release --locked` with rust-values.mk's forced profile settings
# in the environment (they override Cargo.toml's [profile.release]) and
# RUSTFLAGS=-Ctarget-feature=-crt-static, so the binary is linked against
# the router's shared musl; and the feed's own rust-std for the target, a
# normal one (panic unwind, backtraces, no size features), which lang/rust
# builds from source with x.py. Where rustup ships that std (tier 2) it is
# used as it is. For mips (tier 3, none to download), or when the download
# fails, std is built here the way x.py builds it: opt-level 3, no
# overflow checks, unwinding (on x86_64 that gives 2 % more than rustup's). zig links
# a static executable unless told -dynamic; OpenWrt's gcc links dynamically
# by itself. The unwinder comes from zig's libunwind, linked in, where the
# feed's binary uses libgcc_s.so: about 20 KB more here (x86_64).
if [ "$mode" = feed ]; then
	export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_DEBUG=false \
		CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=false CARGO_PROFILE_RELEASE_LTO=true \
		CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true \
		CARGO_PROFILE_RELEASE_PANIC=unwind CARGO_PROFILE_RELEASE_RPATH=false
	export RUSTFLAGS="-Ctarget-feature=-crt-static -Clink-arg=-dynamic"
	set --
	prebuilt=no
	case $triple in
	mips*) ;;
	*)
		if rustup target list --installed | grep -qx "$triple"; then
			prebuilt=yes
		else
			echo "cross: rustup target add $triple" >&2
			RUST_BACKTRACE=0 rustup target add "$triple" >&2 && prebuilt=yes
		fi ;;
	esac
	if [ "$prebuilt" = yes ]; then
		echo "cross: feed build for $triple with rustup's std" >&2
		export CARGO_TARGET_DIR="$target_dir/feed"
	else
		echo "cross: feed build for $triple with std built as x.py does" >&2
		export RUSTC_BOOTSTRAP=1
		export CARGO_TARGET_DIR="$target_dir/feed-build-std"
		for c in core alloc std compiler_builtins panic_unwind unwind hashbrown foldhash \
			rustc-demangle addr2line gimli object miniz_oxide adler2 std_detect; do
			set -- "$@" --config "profile.release.package.$c.opt-level=3" \
				--config "profile.release.package.$c.overflow-checks=false"
		done
		set -- "$@" -Zbuild-std=std,panic_unwind
	fi
	cargo zigbuild --release --locked --target "$triple" --bin vwrp "$@" >&2
	bin=$CARGO_TARGET_DIR/$triple/release/vwrp
	[ -x "$bin" ] || { echo "cross: no binary at $bin" >&2; exit 1; }
	"$llvm_bin/llvm-strip" --strip-all "$bin"
	echo "$bin"
	exit 0
fi

# --- build -----------------------------------------------------------------
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$target_dir"

# RUSTFLAGS from the environment would replace .cargo/config.toml's target
# rustflags, so the flags every target needs are set here in full: a static
# binary, linked against zig's musl rather than rustc's bundled crt objects
# (which tier-3 mips does not have). A caller's RUSTFLAGS are kept, after ours.
flags="-Ctarget-feature=+crt-static -Clink-self-contained=no"
case $triple in
# These link a plain (non-PIE) static executable anyway, so position-
# independent code only costs: GOT loads around calls (-12% on mips, -2%
# on armv7; nothing on aarch64, whose PIC is as small).
mips*|armv7*) flags="$flags -Crelocation-model=static" ;;
esac
if [ "$mode" = build ]; then
	# Panics already abort (profile min); immediate-abort also drops the
	# panic messages and formatting from std, and with nothing to unwind the
	# unwind tables go too. A panic is then a trap instruction, and
	# src/trap.rs prints its address: std's message and file:line would
	# cost over 100 KB on mips (docs/SIZE.md). The daemon must not panic.
	flags="$flags -Zunstable-options -Cpanic=immediate-abort -Cforce-unwind-tables=no"
fi
RUSTFLAGS="$flags ${RUSTFLAGS:-}"
export RUSTFLAGS

if [ "$mode" = test ]; then
	# Tests need the unwinding std (should_panic, one failing test must not
	# end the run) and a runner; config.toml names qemu-*-static per target.
	exec cargo-zigbuild test -Zbuild-std --target "$triple" "$@"
fi

cargo zigbuild --profile min --target "$triple" --bin vwrp \
	-Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size >&2
built=$target_dir/$triple/min/vwrp
[ -x "$built" ] || { echo "cross: no binary at $built" >&2; exit 1; }
# Before stripping, while the symbols are there: no weak undefined symbol
# a call could reach address 0 through (issue 12).
NM=$llvm_bin/llvm-nm ./scripts/check-weak-symbols.sh "$built"
bin=$target_dir/$triple/router/vwrp
mkdir -p "${bin%/*}"
"$llvm_bin/llvm-strip" --strip-all -o "$bin" "$built"
echo "$bin"
