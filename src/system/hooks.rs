//! Transition hooks and the other programs a transition runs: conntrackd's
//! requests, the netifd hand-off (`ubus call network.interface
//! notify_proto`), the ubus event `vwrp.state`, then every file in the hook
//! directory in name order. One
//! program at a time, each awaited up to a timeout and killed if it
//! overruns, so they happen in the order the transitions did. Programs
//! start and end through `system::process`; nothing blocks the loop. Time
//! is the engine's: the daemon hands each call its `now`.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::process::{self, Child, Command, Stdio, find_program, is_executable};
use crate::time::{Instant, millis};

/// The ubus event every state change is announced as.
pub const EVENT: &str = "vwrp.state";

/// One transition to report: environment for the scripts, and the data
/// of the ubus event (a JSON object).
#[derive(Clone, Debug)]
pub struct Job {
    pub env: Vec<(String, String)>,
    pub event: String,
}

/// One program to run, in turn with the others.
#[derive(Debug)]
struct Task {
    argv: Vec<OsString>,
    env: Vec<(String, String)>,
}

impl Task {
    fn name(&self) -> String {
        self.argv.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
    }
}

struct Running {
    child: Child,
    name: String,
    deadline: Instant,
}

pub struct Hooks {
    dir: PathBuf,
    timeout: Duration,
    pending: VecDeque<Task>,
    running: Option<Running>,
}

impl Hooks {
    pub fn new(dir: &Path, timeout: Duration) -> Hooks {
        Hooks { dir: dir.to_path_buf(), timeout, pending: VecDeque::new(), running: None }
    }

    pub fn set(&mut self, dir: &Path, timeout: Duration) {
        self.dir = dir.to_path_buf();
        self.timeout = timeout;
    }

    /// Queues the ubus event (where the ubus CLI exists, i.e. on OpenWrt)
    /// and every hook script for `job`, in name order. Scripts follow
    /// OpenWrt's hotplug.d habit: a file without the execute bit is run by
    /// /bin/sh; dot files are skipped.
    pub fn enqueue(&mut self, job: Job, now: Instant) {
        if let Some(ubus) = find_program("ubus") {
            self.push(vec![ubus.into(), "send".into(), EVENT.into(), job.event.into()], Vec::new());
        }
        let mut scripts: Vec<PathBuf> = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect(),
            Err(_) => Vec::new(),
        };
        // By bytes: for names in one directory that is the order Path's
        // component-wise Ord gives, without its code (~2 KB on a router).
        scripts.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        for s in scripts {
            let argv = if is_executable(&s) { vec![s.into()] } else { vec!["/bin/sh".into(), s.into()] };
            self.push(argv, job.env.clone());
        }
        self.start_next(now);
    }

    /// Queues `ubus ARGS…` in turn with the hooks; false (nothing queued)
    /// where there is no ubus CLI.
    pub fn enqueue_ubus(&mut self, args: &[String], now: Instant) -> bool {
        let Some(ubus) = find_program("ubus") else { return false };
        let mut argv: Vec<OsString> = vec![ubus.into()];
        argv.extend(args.iter().map(OsString::from));
        self.enqueue_program(argv, now);
        true
    }

    /// Queues a program (found in `$PATH`) in turn with the hooks, e.g. a
    /// request to conntrackd.
    pub fn enqueue_program(&mut self, argv: Vec<OsString>, now: Instant) {
        self.push(argv, Vec::new());
        self.start_next(now);
    }

    fn push(&mut self, argv: Vec<OsString>, env: Vec<(String, String)>) {
        self.pending.push_back(Task { argv, env });
    }

    fn start_next(&mut self, now: Instant) {
        while self.running.is_none() {
            let Some(task) = self.pending.pop_front() else { return };
            let Some((program, args)) = task.argv.split_first() else { continue };
            let mut cmd = Command::new(program);
            cmd.args(args).stdout(Stdio::Null);
            cmd.envs(task.env.iter().map(|(k, v)| (k, v)));
            match process::spawn(&cmd) {
                Ok(child) => {
                    self.running = Some(Running { child, name: task.name(), deadline: now.plus(self.timeout) })
                }
                Err(e) => crate::logging::warn!("hook {}: {e}", task.name()),
            }
        }
    }

    /// Reaps a finished program or kills one past its deadline (with its
    /// process group), then starts the next. Call on SIGCHLD and at
    /// `deadline()`.
    pub fn poll(&mut self, now: Instant) {
        if let Some(r) = &mut self.running {
            match r.child.try_wait() {
                Ok(Some(status)) => {
                    if !status.success() {
                        crate::logging::warn!("hook {} exited with {status}", r.name);
                    }
                    self.running = None;
                }
                Ok(None) if now >= r.deadline => {
                    // Milliseconds as u64: Duration's Debug costs ~2 KB on a router.
                    let ms = millis(self.timeout);
                    crate::logging::warn!("hook {} overran {ms} ms: killed", r.name);
                    if let Some(r) = self.running.take() {
                        r.child.kill();
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    crate::logging::warn!("hook {}: {e}", r.name);
                    self.running = None;
                }
            }
        }
        self.start_next(now);
    }

    /// Nothing running, nothing queued.
    pub fn idle(&self) -> bool {
        self.running.is_none() && self.pending.is_empty()
    }

    /// Daemon exit: what is queued is dropped (and said), what runs is
    /// stopped.
    pub fn stop(&mut self) {
        for t in self.pending.drain(..) {
            crate::logging::warn!("exiting: hook {} not run", t.name());
        }
        if let Some(r) = self.running.take() {
            crate::logging::warn!("exiting: hook {} stopped", r.name);
            r.child.stop();
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.running.as_ref().map(|r| r.deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::OnceLock;

    /// Real time on the engine's clock, as the daemon hands it out.
    fn now() -> Instant {
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        let elapsed = START.get_or_init(std::time::Instant::now).elapsed();
        Instant::from_micros(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX))
    }

    fn drain(h: &mut Hooks) {
        let end = now().plus(Duration::from_secs(10));
        while (h.running.is_some() || !h.pending.is_empty()) && now() < end {
            std::thread::sleep(Duration::from_millis(5));
            h.poll(now());
        }
    }

    #[test]
    fn scripts_run_in_name_order_executable_or_not_dot_files_skipped() {
        let dir = std::env::temp_dir().join(format!("vwrp-hooks-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let write = |name: &str, mode: u32| {
            let p = dir.join(name);
            std::fs::write(&p, format!("echo \"{name} $ACTION\" >> {}\n", log.display())).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write("20-sourced", 0o644);
        std::fs::write(dir.join("10-exec"), format!("#!/bin/sh\necho \"10-exec $ACTION\" >> {}\n", log.display()))
            .unwrap();
        std::fs::set_permissions(dir.join("10-exec"), std::fs::Permissions::from_mode(0o755)).unwrap();
        write(".hidden", 0o755);
        let mut h = Hooks::new(&dir, Duration::from_secs(5));
        h.enqueue(Job { env: vec![("ACTION".into(), "active".into())], event: "{}".into() }, now());
        h.enqueue(Job { env: vec![("ACTION".into(), "standby".into())], event: "{}".into() }, now());
        drain(&mut h);
        let got = std::fs::read_to_string(&log).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(got, "10-exec active\n20-sourced active\n10-exec standby\n20-sourced standby\n");
    }

    #[test]
    fn an_overrunning_hook_is_killed_and_the_next_one_runs() {
        let dir = std::env::temp_dir().join(format!("vwrp-hooks-slow-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        std::fs::write(dir.join("10-slow"), "sleep 30\n").unwrap();
        std::fs::write(dir.join("20-next"), format!("echo next >> {}\n", log.display())).unwrap();
        let mut h = Hooks::new(&dir, Duration::from_millis(200));
        let t = now();
        h.enqueue(Job { env: Vec::new(), event: "{}".into() }, t);
        drain(&mut h);
        let got = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(got, "next\n");
        assert!(now().since(t) < Duration::from_secs(5), "waited {:?}", now().since(t));
    }
}
