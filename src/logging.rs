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

use std::fmt;
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

/// One record to the logger: what `log::warn!` and its kin do, out of
/// line. Their expansion put a source location, a target tuple and the
/// level check at every call site (about 200 B each on a router, and
/// there are over 100); through `logging::warn!` and its kin below a call
/// site only builds its arguments. The line written is the same, target
/// (the module) and level included. The level is checked here, so a call
/// site's arguments are evaluated whatever the level: keep them cheap
/// (the debug lines are all on error paths; two rare lines join a list).
#[inline(never)]
pub fn emit(level: Level, target: &'static str, args: fmt::Arguments<'_>) {
    log::logger().log(&Record::builder().level(level).target(target).args(args).build());
}

macro_rules! error {
    ($($a:tt)+) => { $crate::logging::emit(::log::Level::Error, module_path!(), format_args!($($a)+)) };
}

macro_rules! warn_ {
    ($($a:tt)+) => { $crate::logging::emit(::log::Level::Warn, module_path!(), format_args!($($a)+)) };
}

macro_rules! info {
    ($($a:tt)+) => { $crate::logging::emit(::log::Level::Info, module_path!(), format_args!($($a)+)) };
}

macro_rules! debug {
    ($($a:tt)+) => { $crate::logging::emit(::log::Level::Debug, module_path!(), format_args!($($a)+)) };
}

// `warn` alone would be ambiguous with the built-in attribute.
pub(crate) use {debug, error, info, warn_ as warn};
