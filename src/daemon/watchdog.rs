//! The stall watchdog: if the event loop stops turning for longer than its
//! bound, the process ends itself, so procd starts it afresh (`respawn`).
//!
//! The loop re-arms a one-shot real-time interval timer (`setitimer`,
//! ITIMER_REAL) for 5/4 of the bound at the top of a turn, once a quarter
//! of the bound has passed since it last did (a system call every turn
//! was a tenth of an idle router's calls at a 10 ms hello): a stall shorter
//! than the bound never fires it, one longer than 5/4 of it always does.
//! The kernel counts it down on its
//! own; when it expires, the kernel delivers SIGALRM, whose handler writes
//! one line to stderr (logd) and calls `_exit`. It needs nothing from the
//! loop: it fires whether the loop is stuck in a system call or spinning.
//! While the loop is stuck the WAN is closed by the kernel too: the
//! active's forwarding permit (an nftables element with a timeout) lapses
//! (multiplier − 1) × hello after its last refresh, long before this bound.
//!
//! It cannot fire in normal operation: the loop wakes at least once a
//! second (the fence check), and nothing a turn does may block for long
//! (docs/ARCHITECTURE.md, "What may block"), while the bound is at least
//! 2 s. The timer is not inherited by children (fork clears it).

use std::io;
use std::time::Duration;

use nix::libc;

use crate::time::Instant;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// The exit status of a process the watchdog ended.
pub const EXIT_STALLED: i32 = 70;
/// The least bound, whatever the timers.
pub const MIN_BOUND: Duration = Duration::from_secs(2);

pub struct Watchdog {
    bound: Duration,
    /// When the timer was last armed (on the daemon's clock).
    armed: Option<Instant>,
}

extern "C" fn on_alarm(_: libc::c_int) {
    const MSG: &[u8] = b"vwrp: the event loop stalled past its watchdog bound: exiting, to be restarted\n";
    // SAFETY: write and _exit are async-signal-safe.
    unsafe {
        libc::write(2, MSG.as_ptr().cast(), MSG.len());
        libc::_exit(EXIT_STALLED);
    }
}

fn set_timer(d: Duration) -> io::Result<()> {
    let value = libc::timeval {
        // Both fit every target's field width (a 32-bit time_t included);
        // `as _` because musl's libc marks the type names deprecated.
        tv_sec: d.as_secs().min(i32::MAX as u64) as _,
        tv_usec: d.subsec_micros() as _,
    };
    let t = libc::itimerval { it_interval: libc::timeval { tv_sec: 0, tv_usec: 0 }, it_value: value };
    // SAFETY: plain system call on a valid struct.
    if unsafe { libc::setitimer(libc::ITIMER_REAL, &t, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl Watchdog {
    /// Installs the handler and arms the timer for `bound` (at least
    /// [`MIN_BOUND`]).
    pub fn start(bound: Duration, now: Instant) -> io::Result<Watchdog> {
        let act = SigAction::new(SigHandler::Handler(on_alarm), SaFlags::empty(), SigSet::all());
        // SAFETY: the handler only makes async-signal-safe calls.
        unsafe { sigaction(Signal::SIGALRM, &act) }?;
        let mut w = Watchdog { bound: bound.max(MIN_BOUND), armed: None };
        w.feed(now);
        Ok(w)
    }

    pub fn bound(&self) -> Duration {
        self.bound
    }

    /// A reload changed the timers.
    pub fn set_bound(&mut self, bound: Duration, now: Instant) {
        self.bound = bound.max(MIN_BOUND);
        self.armed = None;
        self.feed(now);
    }

    /// The loop turned at `now`: the bound starts again, at the latest a
    /// quarter of it from now.
    pub fn feed(&mut self, now: Instant) {
        let quarter = self.bound / 4;
        if self.armed.is_some_and(|a| now < a.plus(quarter)) {
            return;
        }
        self.armed = Some(now);
        if let Err(e) = set_timer(self.bound + quarter) {
            crate::logging::error!("stall watchdog: {e}");
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = set_timer(Duration::ZERO);
    }
}
