//! Time as the engine sees it: a monotonic instant handed in by the caller.
//!
//! The engine never reads a clock. The daemon maps the system's monotonic
//! clock onto this type; the simulator advances it by hand. Microsecond
//! resolution, saturating arithmetic: no operation here can panic.

use core::fmt;
use core::time::Duration;

/// Microseconds since an arbitrary origin chosen by the caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    pub const fn from_micros(us: u64) -> Self {
        Instant(us)
    }

    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms.saturating_mul(1000))
    }

    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the end of time. Never inlined: it is
    /// called in some 65 places, and inlined (with `Duration::as_micros`'s
    /// `u128`) it cost 5 KB of code on a 32-bit router.
    #[inline(never)]
    pub fn plus(self, d: Duration) -> Self {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(us))
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub fn since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }

    /// `millis(self.since(earlier))` in one step, for status and logs:
    /// no `Duration` to build and take apart again (a division by a
    /// million and `as_millis`' `u128`, long on a 32-bit router). Never
    /// inlined: status alone takes it in a dozen places.
    #[inline(never)]
    pub fn millis_since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0) / 1000
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1_000_000, (self.0 / 1000) % 1000)
    }
}

/// `d` in whole milliseconds, saturating: for logs and status, where a
/// `u128`'s Display would cost 2 KB on a router. Never inlined, like
/// `Instant::plus`: `Duration::as_millis`' `u128` arithmetic is large on
/// 32-bit routers.
#[inline(never)]
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `d × n`, saturating (`Duration::saturating_mul`). Never inlined, like
/// `Instant::plus`: its 64-bit multiply is long on a 32-bit router, and
/// the engine's timers (multiplier × hello interval) take it in a dozen
/// places.
#[inline(never)]
pub fn times(d: Duration, n: u32) -> Duration {
    d.saturating_mul(n)
}

/// Milliseconds as a `Duration`; a shorthand used across the engine.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_micros(u64::MAX - 1);
        assert_eq!(t.plus(ms(5)), Instant::from_micros(u64::MAX));
        assert_eq!(Instant::ZERO.since(t), Duration::ZERO);
        assert_eq!(Instant::from_millis(15).since(Instant::from_millis(5)), ms(10));
    }

    #[test]
    fn millis_since_is_millis_of_since() {
        for (a, b) in [(0, 0), (5_999, 5_000), (1_000_999, 0), (0, 7), (u64::MAX, 0), (u64::MAX, 1_234_567)] {
            let (a, b) = (Instant::from_micros(a), Instant::from_micros(b));
            assert_eq!(a.millis_since(b), millis(a.since(b)), "{a} - {b}");
        }
    }
}
