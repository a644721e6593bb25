//! One line on stderr when the process dies of a trap, so that a panic of
//! the router build leaves something to report (procd hands stderr to logd).
//!
//! The router build panics with `-Cpanic=immediate-abort`: a panic is one
//! trap instruction, with no message and no location (ud2 on x86_64, udf
//! on armv7: SIGILL; brk on aarch64, break on mips: SIGTRAP). std's panic
//! machinery, which would print file:line and the message, costs more than
//! 100 KB on mips (docs/SIZE.md). This handler prints the signal and the
//! trapping address instead; the unstripped binary of the same build maps
//! the address to its function (`scripts/where.sh`). The native build
//! panics through std's hook and gets here only on a real trap.

use nix::libc;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// Installs the handler for SIGILL and SIGTRAP. It runs once: the default
/// action is back when it returns, the trap runs again and the process
/// dies of the same signal as without it.
pub fn report_traps() {
    let action =
        SigAction::new(SigHandler::SigAction(on_trap), SaFlags::SA_SIGINFO | SaFlags::SA_RESETHAND, SigSet::empty());
    for sig in [Signal::SIGILL, Signal::SIGTRAP] {
        // SAFETY: the handler is async-signal-safe: it fills a stack
        // buffer and calls write(2).
        let _ = unsafe { sigaction(sig, &action) };
    }
}

extern "C" fn on_trap(sig: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let name: &[u8] = if sig == libc::SIGILL { b"SIGILL" } else { b"SIGTRAP" };
    let mut line = [0u8; 96];
    let mut len = 0;
    let mut put = |s: &[u8]| {
        line[len..len + s.len()].copy_from_slice(s);
        len += s.len();
    };
    put(b"vwrp: panicked: ");
    put(name);
    put(b" at 0x");
    let pc = trap_address(info, context);
    let digits = (usize::BITS - pc.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        put(&[b"0123456789abcdef"[(pc >> (4 * i)) & 0xf]]);
    }
    put(b" (scripts/where.sh maps it)\n");
    // SAFETY: writes `len` initialised bytes of `line` to stderr.
    unsafe { libc::write(2, line.as_ptr().cast(), len) };
}

/// The address of the trapping instruction.
#[cfg(not(target_arch = "mips"))]
fn trap_address(info: *mut libc::siginfo_t, _context: *mut libc::c_void) -> usize {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler;
    // for SIGILL and SIGTRAP si_addr is the faulting instruction.
    unsafe { (*info).si_addr() as usize }
}

/// The address of the trapping instruction: mips' `break` leaves si_addr
/// empty, so it comes from the signal context, `sc_pc` of the o32
/// `struct sigcontext` inside `struct ucontext` (offset 32: flags, link,
/// a 12-byte stack_t, padding to 8, regmask and status).
#[cfg(target_arch = "mips")]
fn trap_address(_info: *mut libc::siginfo_t, context: *mut libc::c_void) -> usize {
    // SAFETY: the kernel passes its ucontext as the third argument.
    unsafe { context.cast::<u8>().add(32).cast::<u64>().read_unaligned() as usize }
}
