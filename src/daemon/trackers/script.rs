//! Script trackers: run a program, judge its exit status. A run that
//! overruns its timeout is killed, with every process it started (its
//! process group), and counts as a failure.
//!
//! Runs start and end through `system::process`: a finished run is read
//! with `try_wait` when SIGCHLD wakes the loop; nothing ever waits.

use std::time::Duration;

use mio::Registry;

use super::{Begun, Context, Probe, RunCtx};
use crate::json;
use crate::system::process::{self, Child, Command, Stdio};
use crate::time::Instant;

struct Run {
    child: Child,
    deadline: Instant,
}

pub struct Script {
    argv: Vec<String>,
    run: Option<Run>,
    pub error: Option<String>,
}

impl Script {
    pub fn new(argv: Vec<String>) -> Script {
        Script { argv, run: None, error: None }
    }

    pub fn pid(&self) -> Option<u32> {
        self.run.as_ref().map(|r| r.child.id())
    }

    /// Starts a run. `Some(false)` at once if it cannot start.
    pub fn begin(&mut self, now: Instant, timeout: Duration, env: &[(&str, &str)]) -> Option<bool> {
        let Some((program, args)) = self.argv.split_first() else { return Some(false) };
        let mut cmd = Command::new(program);
        cmd.args(args).envs(env.iter().copied());
        // Its complaints go to the daemon's log; its output nowhere.
        cmd.stdout(Stdio::Null).stderr(Stdio::Inherit);
        match process::spawn(&cmd) {
            Ok(child) => {
                self.run = Some(Run { child, deadline: now.plus(timeout) });
                None
            }
            Err(e) => {
                let msg = format!("{program}: {e}");
                if self.error.as_deref() != Some(msg.as_str()) {
                    crate::logging::warn!("{msg}");
                }
                self.error = Some(msg);
                Some(false)
            }
        }
    }

    /// The run's outcome once it exited or overran (the run is then over).
    pub fn poll(&mut self, now: Instant) -> Option<bool> {
        let run = self.run.as_mut()?;
        let outcome = match run.child.try_wait() {
            Ok(Some(status)) => {
                self.error = (!status.success()).then(|| format!("exited with {status}"));
                status.success()
            }
            Ok(None) if now < run.deadline => return None,
            Ok(None) => {
                self.error = Some(format!("killed after its timeout (pid {})", run.child.id()));
                false
            }
            // Its program could not be executed, as `begin` says.
            Err(e) => {
                let msg = format!("{}: {e}", self.argv[0]);
                if self.error.as_deref() != Some(msg.as_str()) {
                    crate::logging::warn!("{msg}");
                }
                self.error = Some(msg);
                false
            }
        };
        if let Some(r) = self.run.take() {
            // Ended: nothing to kill; else its group dies now.
            r.child.kill();
        }
        Some(outcome)
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.run.as_ref().map(|r| r.deadline)
    }

    /// Kills a run in progress; its result no longer matters.
    pub fn stop(&mut self) {
        if let Some(r) = self.run.take() {
            r.child.kill();
        }
    }
}

/// The trait's methods call the ones above (inherent methods come first
/// in `Script::…` paths).
impl Probe for Script {
    /// The variables `TRACKER`, `GROUP` and `WAN_DEVICE` are set; a program
    /// that cannot start is a failure at once.
    fn begin(&mut self, now: Instant, timeout: Duration, ctx: &Context, _run: &mut RunCtx) -> Begun {
        let env = [("TRACKER", ctx.tracker), ("GROUP", ctx.group_name), ("WAN_DEVICE", ctx.group.wan.name.as_str())];
        Script::begin(self, now, timeout, &env).map_or(Begun::Started, Begun::Decided)
    }

    fn poll(&mut self, now: Instant) -> Option<bool> {
        Script::poll(self, now)
    }

    fn deadline(&self) -> Option<Instant> {
        Script::deadline(self)
    }

    fn stop(&mut self, _reg: &Registry) {
        Script::stop(self);
    }

    /// `pid`: of the run in progress, null between runs.
    fn status(&self, j: &mut json::Writer) -> Option<&str> {
        j.key("pid").opt_num(self.pid().map(u64::from));
        self.error.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::Clock;

    thread_local! {
        static CLOCK: Clock = Clock::start();
    }

    /// Real time, as the daemon hands it to the trackers.
    fn now() -> Instant {
        CLOCK.with(Clock::now)
    }

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    /// Polls like the loop would until the run is decided.
    fn outcome(s: &mut Script) -> bool {
        for _ in 0..500 {
            if let Some(ok) = s.poll(now()) {
                return ok;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the run never ended");
    }

    fn alive(pid: u32) -> bool {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    }

    #[test]
    fn exit_status_is_the_verdict_and_environment_is_passed() {
        let mut ok = Script::new(argv("/bin/true"));
        assert_eq!(ok.begin(now(), Duration::from_secs(5), &[]), None);
        assert!(outcome(&mut ok));
        let mut bad = Script::new(argv("/bin/false"));
        bad.begin(now(), Duration::from_secs(5), &[]);
        assert!(!outcome(&mut bad));
        assert!(bad.error.as_deref().is_some_and(|e| e.contains("exited")));
        let mut env = Script::new(vec!["/bin/sh".into(), "-c".into(), "test \"$TRACKER\" = up1".into()]);
        env.begin(now(), Duration::from_secs(5), &[("TRACKER", "up1")]);
        assert!(outcome(&mut env));
    }

    #[test]
    fn a_missing_program_fails_at_once() {
        let mut s = Script::new(argv("/nonexistent/vwrp-check"));
        assert_eq!(s.begin(now(), Duration::from_secs(1), &[]), Some(false));
        assert!(s.error.is_some());
        assert_eq!(Script::new(Vec::new()).begin(now(), Duration::from_secs(1), &[]), Some(false));
    }

    #[test]
    fn an_overrunning_run_and_its_children_are_killed_at_the_timeout() {
        // The shell forks sleep: the whole process group must die.
        let mut s = Script::new(vec!["/bin/sh".into(), "-c".into(), "sleep 30; true".into()]);
        let t0 = now();
        assert_eq!(s.begin(t0, Duration::from_millis(200), &[]), None);
        let pid = s.pid().expect("running");
        assert_eq!(s.deadline(), Some(t0.plus(Duration::from_millis(200))));
        assert!(!outcome(&mut s), "killed counts as a failure");
        let took = now().since(t0);
        assert!(took >= Duration::from_millis(200) && took < Duration::from_secs(2), "{took:?}");
        assert_eq!(s.pid(), None);
        // Up to 10 s: at load average 4 on two cores, 2 s was once too short.
        for _ in 0..1000 {
            process::reap(std::time::Instant::now());
            if !alive(pid) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(pid), "pid {pid} still exists: the killed run was not reaped");
        // Fields after the command: state, parent, process group. A
        // zombie is dead, waiting for its new parent to reap it.
        let group_left = std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()).any(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let f: Vec<&str> = stat.rsplit_once(')').map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
            f.first() != Some(&"Z") && f.get(2) == Some(&pid.to_string().as_str())
        });
        assert!(!group_left, "a child of the script survived in process group {pid}");
    }

    #[test]
    fn stop_kills_a_run_in_progress() {
        let mut s = Script::new(argv("/bin/sleep 30"));
        s.begin(now(), Duration::from_secs(60), &[]);
        let pid = s.pid().unwrap();
        s.stop();
        assert_eq!(s.pid(), None);
        let mut gone = false;
        for _ in 0..1000 {
            process::reap(std::time::Instant::now());
            if !alive(pid) {
                gone = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(gone, "pid {pid} survived stop");
    }
}
