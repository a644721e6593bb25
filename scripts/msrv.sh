#!/bin/sh
# `make test`'s oldest-Rust leg. Cargo.toml's rust-version is the oldest
# Rust vwrp builds with, chosen so that the packages feed of every OpenWrt
# release vwrp supports has it (docs/OPENWRT.md). rustup installs exactly
# that toolchain (x.y.0, profile minimal), which then builds the library
# and the binary from the locked dependencies and runs their unit tests.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
msrv=$(sed -n '/^\[package\]/,/^\[/s/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml)
case $msrv in
*.*.*) toolchain=$msrv ;;
*.*) toolchain=$msrv.0 ;;
*) echo "$0: no rust-version in Cargo.toml" >&2; exit 1 ;;
esac
if ! rustup toolchain list | grep -q "^$toolchain-"; then
	echo "msrv: rustup toolchain install $toolchain" >&2
	rustup toolchain install "$toolchain" --profile minimal >&2
fi
# Its own target dir: another compiler's artifacts cannot be shared. Not
# optimised (the stable leg runs the same tests optimised): half the
# build time, and the question here is the compiler, not the speed.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$top/target}/msrv"
exec cargo "+$toolchain" test --locked --lib --bins \
	--config 'profile.test.opt-level=0' --config 'profile.dev.package."*".opt-level=0'
