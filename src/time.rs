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

    /// `self + d`, saturating at the end of time.
    pub fn plus(self, d: Duration) -> Self {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(us))
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub fn since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1_000_000, (self.0 / 1000) % 1000)
    }
}

/// Milliseconds as a `Duration`; a shorthand used across the engine.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One clock: outside tests, only the daemon's `Clock` reads the
    /// system's monotonic clock (and `system::process`, below); every
    /// protocol deadline is on these instants.
    #[test]
    fn only_the_daemons_clock_reads_the_system_clock() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&src, &mut files);
        let mut readers = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            // Inline test modules sit at the end of a file and may read real time.
            let end = (0..lines.len())
                .find(|&i| {
                    lines[i] == "#[cfg(test)]"
                        && lines.get(i + 1).is_some_and(|l| l.contains("mod ") && l.ends_with('{'))
                })
                .unwrap_or(lines.len());
            for (n, line) in lines[..end].iter().enumerate() {
                if line.contains("std::time::Instant") || line.contains("Instant::now") {
                    readers.push(format!("{}:{}", f.strip_prefix(&src).unwrap().display(), n + 1));
                }
            }
        }
        // The Clock (its field, its start, its two mappings to and from
        // std's instants) and system::process, whose SIGKILL grace and
        // run limit end a child process: no protocol timing, and the loop
        // reads its deadline through the Clock.
        let (clock, rest): (Vec<_>, Vec<_>) = readers.iter().partition(|r| r.starts_with("daemon/mod.rs:"));
        assert!(rest.iter().all(|r| r.starts_with("system/process.rs:")), "{readers:?}");
        assert_eq!(clock.len(), 4, "{readers:?}");
    }

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_micros(u64::MAX - 1);
        assert_eq!(t.plus(ms(5)), Instant::from_micros(u64::MAX));
        assert_eq!(Instant::ZERO.since(t), Duration::ZERO);
        assert_eq!(Instant::from_millis(15).since(Instant::from_millis(5)), ms(10));
    }
}
