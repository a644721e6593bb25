//! Script trackers: run a program, judge its exit status. A run that
//! overruns its timeout is killed and counts as a failure.
//!
//! Each run gets its own process group, so a shell script's children die
//! with it. Finished runs are reaped with `try_wait` when SIGCHLD wakes
//! the loop; nothing ever waits.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::ping::after;

struct Run {
    child: Child,
    deadline: Instant,
}

pub struct Script {
    argv: Vec<String>,
    run: Option<Run>,
    pub error: Option<String>,
}

/// Kills a run's whole process group (its id is the run's PID).
fn kill(child: &Child) {
    let Ok(pid) = i32::try_from(child.id()) else { return };
    if let Err(e) = killpg(Pid::from_raw(pid), Signal::SIGKILL) {
        // Through io::Error: musl's strerror is linked anyway, nix's own
        // errno texts would add 4 KB.
        log::debug!("kill script {pid}: {}", std::io::Error::from(e));
    }
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
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::inherit());
        cmd.process_group(0);
        match cmd.spawn() {
            Ok(child) => {
                self.run = Some(Run { child, deadline: after(now, timeout) });
                None
            }
            Err(e) => {
                let msg = format!("{program}: {e}");
                if self.error.as_deref() != Some(msg.as_str()) {
                    log::warn!("{msg}");
                }
                self.error = Some(msg);
                Some(false)
            }
        }
    }

    /// The run's outcome once it exited or overran (the run is then
    /// over). A killed run goes to `zombies`, to be reaped on SIGCHLD.
    pub fn poll(&mut self, now: Instant, zombies: &mut Vec<Child>) -> Option<bool> {
        let run = self.run.as_mut()?;
        let outcome = match run.child.try_wait() {
            Ok(Some(status)) => {
                self.error = (!status.success()).then(|| format!("exited with {status}"));
                status.success()
            }
            Ok(None) if now < run.deadline => return None,
            Ok(None) => {
                kill(&run.child);
                self.error = Some(format!("killed after its timeout (pid {})", run.child.id()));
                false
            }
            Err(e) => {
                self.error = Some(format!("wait: {e}"));
                false
            }
        };
        if let Some(mut r) = self.run.take() {
            if !outcome && matches!(r.child.try_wait(), Ok(None)) {
                zombies.push(r.child);
            }
        }
        Some(outcome)
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.run.as_ref().map(|r| r.deadline)
    }

    /// Kills a run in progress; its result no longer matters.
    pub fn stop(&mut self, zombies: &mut Vec<Child>) {
        if let Some(mut r) = self.run.take() {
            if matches!(r.child.try_wait(), Ok(None)) {
                kill(&r.child);
                zombies.push(r.child);
            }
        }
    }
}

/// Reaps killed runs that have died.
pub fn reap(zombies: &mut Vec<Child>) {
    zombies.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    /// Polls like the loop would until the run is decided.
    fn outcome(s: &mut Script, zombies: &mut Vec<Child>) -> bool {
        for _ in 0..500 {
            if let Some(ok) = s.poll(Instant::now(), zombies) {
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
        let mut z = Vec::new();
        let mut ok = Script::new(argv("/bin/true"));
        assert_eq!(ok.begin(Instant::now(), Duration::from_secs(5), &[]), None);
        assert!(outcome(&mut ok, &mut z));
        let mut bad = Script::new(argv("/bin/false"));
        bad.begin(Instant::now(), Duration::from_secs(5), &[]);
        assert!(!outcome(&mut bad, &mut z));
        assert!(bad.error.as_deref().is_some_and(|e| e.contains("exited")));
        let mut env = Script::new(vec!["/bin/sh".into(), "-c".into(), "test \"$TRACKER\" = up1".into()]);
        env.begin(Instant::now(), Duration::from_secs(5), &[("TRACKER", "up1")]);
        assert!(outcome(&mut env, &mut z));
        assert!(z.is_empty());
    }

    #[test]
    fn a_missing_program_fails_at_once() {
        let mut s = Script::new(argv("/nonexistent/vwrp-check"));
        assert_eq!(s.begin(Instant::now(), Duration::from_secs(1), &[]), Some(false));
        assert!(s.error.is_some());
        assert_eq!(Script::new(Vec::new()).begin(Instant::now(), Duration::from_secs(1), &[]), Some(false));
    }

    #[test]
    fn an_overrunning_run_and_its_children_are_killed_at_the_timeout() {
        let mut z = Vec::new();
        // The shell forks sleep: the whole process group must die.
        let mut s = Script::new(vec!["/bin/sh".into(), "-c".into(), "sleep 30; true".into()]);
        let t0 = Instant::now();
        assert_eq!(s.begin(t0, Duration::from_millis(200), &[]), None);
        let pid = s.pid().expect("running");
        assert_eq!(s.deadline(), Some(t0 + Duration::from_millis(200)));
        assert!(!outcome(&mut s, &mut z), "killed counts as a failure");
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(200) && took < Duration::from_secs(2), "{took:?}");
        assert_eq!(s.pid(), None);
        for _ in 0..200 {
            reap(&mut z);
            if z.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(z.is_empty(), "the killed run was reaped");
        assert!(!alive(pid), "pid {pid} still exists");
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
        let mut z = Vec::new();
        let mut s = Script::new(argv("/bin/sleep 30"));
        s.begin(Instant::now(), Duration::from_secs(60), &[]);
        let pid = s.pid().unwrap();
        s.stop(&mut z);
        assert_eq!(s.pid(), None);
        assert_eq!(z.len(), 1);
        let mut gone = false;
        for _ in 0..200 {
            reap(&mut z);
            if z.is_empty() && !alive(pid) {
                gone = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(gone, "pid {pid} survived stop");
    }
}
