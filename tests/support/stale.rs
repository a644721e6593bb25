//! Names of test beds, and removal of what a killed run left behind.
//!
//! Every bed is called `vw<pid>n<seq>`: its namespaces are
//! `vw<pid>n<seq>-<role>` and its files live in `$TMPDIR/vw<pid>n<seq>`.
//! The pid says who owns it: when that process is gone, so is the bed.

use std::fs;
use std::path::Path;

use super::netns::{NETNS_DIR, remove};

/// The pid in a bed name `vw<pid>n<seq>`, or in a namespace name that
/// starts with one followed by `-`. Anything else is not ours.
pub fn owner_pid(name: &str) -> Option<i32> {
    let rest = name.strip_prefix("vw")?;
    let (pid, rest) = rest.split_once('n')?;
    let (seq, _role) = match rest.split_once('-') {
        Some((seq, role)) => (seq, Some(role)),
        None => (rest, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(seq) {
        return None;
    }
    pid.parse().ok()
}

fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Network namespaces that currently exist, by name.
pub fn namespaces() -> Vec<String> {
    let Ok(dir) = fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect()
}

/// Removes namespaces (with the processes inside them) and temp dirs left
/// by earlier test beds whose process no longer exists. Returns the names
/// removed. Beds of live processes, and names not in the `vw<pid>n<seq>`
/// scheme, are left alone. `Testbed::new` calls this.
pub fn cleanup_stale() -> Vec<String> {
    let mut removed = Vec::new();
    for name in namespaces() {
        if owner_pid(&name).is_some_and(|pid| !alive(pid)) {
            remove(&name);
            removed.push(name);
        }
    }
    let tmp = std::env::temp_dir();
    if let Ok(dir) = fs::read_dir(&tmp) {
        for entry in dir.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let is_bed_dir = !name.contains('-');
            if is_bed_dir && owner_pid(&name).is_some_and(|pid| !alive(pid)) {
                let _ = fs::remove_dir_all(entry.path());
                removed.push(name);
            }
        }
    }
    removed
}
