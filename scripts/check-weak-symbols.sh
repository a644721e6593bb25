#!/bin/sh
# Fails when a linked, UNSTRIPPED static vwrp has a weak undefined symbol
# that is not on the allow-list below. scripts/cross.sh runs it on every
# router build, before stripping.
#
#   scripts/check-weak-symbols.sh BINARY     (NM=llvm-nm to choose the nm)
#
# Why: in a static executable a weak symbol nothing defines is address 0.
# std declares a few libc functions weak and checks them for null before
# calling (a glibc-only function, say). When our own code calls one of
# them directly, fat LTO can bind that call to std's weak declaration; a
# weak reference does not pull the function out of musl's libc.a, so the
# call jumps to 0. That is how the router build died on every takeover and
# renewal (issue 12: `libc::getrandom` in the DHCP renewal).
set -eu

# The weak undefined symbols std checks for null before each use, and why
# they are missing: each is a glibc extension musl does not have.
# Paths are in rust-src's library/std/src/sys/ (rustc 1.95).
ALLOWED="
__cxa_thread_atexit_impl
pidfd_spawnp
pidfd_getpid
"
# __cxa_thread_atexit_impl  thread_local/destructors/linux_like.rs: if absent,
#                           std keeps its own list of TLS destructors.
# pidfd_spawnp              process/unix/unix.rs: Command::spawn tries it for
#                           a pidfd, else spawns without one (posix_spawn).
# pidfd_getpid              pal/unix/linux/pidfd.rs: PidFd::pid falls back
#                           to the error of the PIDFD_GET_INFO ioctl.

[ $# -eq 1 ] || { echo "usage: $0 BINARY" >&2; exit 2; }
bin=$1
if [ -z "${NM:-}" ]; then
	NM=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-nm
fi

# A stripped binary has no symbols to check: refuse it rather than pass.
if [ "$("$NM" --defined-only "$bin" 2>/dev/null | head -n 1)" = "" ]; then
	echo "$bin: no symbol table; check the binary before it is stripped" >&2
	exit 1
fi

bad=""
for sym in $("$NM" --undefined-only "$bin" | awk '$1 == "w" || $1 == "v" { print $2 }'); do
	case "$ALLOWED" in
	*"
$sym
"*) ;;
	*) bad="$bad $sym" ;;
	esac
done
if [ -n "$bad" ]; then
	echo "$bin: weak undefined symbol(s):$bad" >&2
	echo "A call to one of these jumps to address 0 in a static binary. Call the kernel or std" >&2
	echo "instead of libc for it; allow it in $0 only if every caller checks it for null." >&2
	exit 1
fi
