//! vwrp: the Virtual WAN Redundancy Protocol.
//!
//! `wire` is every byte format, `engine` the election and handover logic
//! (pure: no I/O, no clock), `tracker` the trackers' rounds and rise/fall
//! (pure too). `config` reads UCI, `system` talks to the kernel, `daemon`
//! is the thin event loop between them, `control` the operator's socket
//! and its method table, `rpcd` its ubus face on OpenWrt, `keygen` makes
//! keys. docs/ARCHITECTURE.md draws the layers; the tests below hold the
//! tree to them.

pub mod config;
pub mod control;
pub mod daemon;
pub mod engine;
pub mod json;
pub mod keygen;
pub mod logging;
pub mod rpcd;
pub mod system;
pub mod time;
pub mod tracker;
pub mod trap;
pub mod wire;

/// Rules of the tree itself, checked on its sources.
#[cfg(test)]
mod tree {
    use std::path::{Path, PathBuf};

    /// Every .rs file under src/, relative to it, with the code before its
    /// inline test module (those sit at the end and may do anything).
    fn sources() -> Vec<(String, String)> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&src, &mut files);
        files.sort();
        files
            .into_iter()
            .map(|f| {
                let text = std::fs::read_to_string(&f).unwrap();
                let lines: Vec<&str> = text.lines().collect();
                let end = (0..lines.len())
                    .find(|&i| {
                        lines[i] == "#[cfg(test)]"
                            && lines.get(i + 1).is_some_and(|l| l.contains("mod ") && l.ends_with('{'))
                    })
                    .unwrap_or(lines.len());
                (f.strip_prefix(&src).unwrap().display().to_string(), lines[..end].join("\n"))
            })
            .collect()
    }

    /// One clock: only the daemon's `Clock` reads the system's monotonic
    /// clock (and `system::process`, below); every protocol deadline is on
    /// `time::Instant`s it hands out.
    #[test]
    fn only_the_daemons_clock_reads_the_system_clock() {
        let mut readers = Vec::new();
        for (file, code) in sources() {
            for (n, line) in code.lines().enumerate() {
                if line.contains("std::time::Instant") || line.contains("Instant::now") {
                    readers.push(format!("{file}:{}", n + 1));
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

    /// Each module, and the modules of the crate it may use: only the
    /// layers below it (docs/ARCHITECTURE.md).
    const LAYERS: &[(&str, &[&str])] = &[
        ("wire", &[]),
        ("time", &[]),
        ("json", &[]),
        ("trap", &[]),
        ("logging", &[]),
        ("config", &[]),
        ("tracker", &["time"]),
        ("engine", &["wire", "time"]),
        ("control", &["json"]),
        ("system", &["wire", "time", "json"]),
        ("keygen", &["system"]),
        ("daemon", &["system", "engine", "control", "config", "tracker", "wire", "time", "json"]),
        ("rpcd", &["control", "json", "keygen"]),
    ];

    #[test]
    fn the_layers_import_only_downwards() {
        let mut upward = Vec::new();
        for (file, code) in sources() {
            // The crate's root, and the binary on top of everything.
            if file == "lib.rs" || file == "main.rs" {
                continue;
            }
            let module = file.split(['/', '.']).next().unwrap_or_default();
            let Some((_, allowed)) = LAYERS.iter().find(|(m, _)| *m == module) else {
                panic!("src/{file}: module {module} has no layer here");
            };
            for used in code.split("crate::").skip(1) {
                let name: String = used.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                // Every layer logs, as every layer used the log crate before.
                if name != module && name != "logging" && !allowed.contains(&name.as_str()) {
                    upward.push(format!("src/{file} uses crate::{name}"));
                }
            }
        }
        assert!(upward.is_empty(), "{upward:#?}");
    }
}
