//! Names of test beds, and removal of what a killed run left behind.
//!
//! Every bed is called `vw<pid>n<seq>`: its namespaces are
//! `vw<pid>n<seq>-<role>` and its files live in `$TMPDIR/vw<pid>n<seq>`.
//! The pid says who owns it: when that process is gone, so is the bed.

use std::fs;
use std::path::Path;
use std::process::Command;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Where `ip netns add` puts the namespace handles.
const NETNS_DIR: &str = "/run/netns";

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

/// Kills every process living in namespace `name` (each by its pid), then
/// deletes the namespace. Errors are reported, not raised: this runs from
/// `Drop`.
pub fn remove_namespace(name: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
    match Command::new("ip").args(["netns", "del", name]).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => eprintln!("testbed: ip netns del {name}: {}", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => eprintln!("testbed: ip netns del {name}: {e}"),
    }
}

/// Removes namespaces (with the processes inside them) and temp dirs left
/// by earlier test beds whose process no longer exists. Returns the names
/// removed. Beds of live processes, and names not in the `vw<pid>n<seq>`
/// scheme, are left alone. `Testbed::new` calls this.
pub fn cleanup_stale() -> Vec<String> {
    let mut removed = Vec::new();
    for name in namespaces() {
        if owner_pid(&name).is_some_and(|pid| !alive(pid)) {
            remove_namespace(&name);
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
