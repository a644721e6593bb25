//! The daemon's log: one line per record, `[LEVEL target] message`,
//! information and debugging on stdout, warnings and errors on stderr.
//!
//! On OpenWrt procd reads both (`procd_set_param stdout 1` and `stderr
//! 1`) and hands each line to logd, stdout at LOG_INFO and stderr at
//! LOG_ERR (procd's service/instance.c): `logread` shows `daemon.info` and
//! `daemon.err` lines, and a filter on priority works. Those are the only
//! two priorities procd knows, so a warning is `daemon.err` and a debug
//! line `daemon.info`; the level in the line tells them apart. Writing to
//! logd's /dev/log ourselves would give every level its own priority, but
//! it is a datagram socket whose sends wait while logd's queue is full and
//! fail while logd restarts; procd's pipes are what OpenWrt's daemons use,
//! and they only wait once 64 KiB are queued (docs/ARCHITECTURE.md, "What
//! may block"). Two pipes: a warning may reach logd just before the info
//! line written just before it.

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Lines;

static LINES: Lines = Lines;

impl Log for Lines {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let line = format!("[{:<5} {}] {}\n", r.level(), r.target(), r.args());
        // One write per line, so lines never mix. A reader gone (procd
        // closed the pipe) loses the line, never the process.
        let _ = if r.level() <= Level::Warn {
            std::io::stderr().lock().write_all(line.as_bytes())
        } else {
            std::io::stdout().lock().write_all(line.as_bytes())
        };
    }

    fn flush(&self) {}
}

/// Logs at `level` and above from now on (a second call only sets it).
pub fn init(level: LevelFilter) {
    let _ = log::set_logger(&LINES);
    log::set_max_level(level);
}
