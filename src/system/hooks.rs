//! Transition hooks: every executable in the hook directory, in name
//! order, one at a time, each awaited up to a timeout and killed if it
//! overruns. Children are polled from the event loop; nothing blocks it.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One transition to report: environment for the scripts.
#[derive(Clone, Debug)]
pub struct Job {
    pub env: Vec<(String, String)>,
}

struct Running {
    child: Child,
    script: PathBuf,
    deadline: Instant,
}

pub struct Hooks {
    dir: PathBuf,
    timeout: Duration,
    /// Scripts still to run for the current job, then the jobs after it.
    pending: VecDeque<(PathBuf, Job)>,
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

    /// Queues every hook script for `job`, in name order.
    pub fn enqueue(&mut self, job: Job) {
        let mut scripts: Vec<PathBuf> = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| is_executable(p)).collect(),
            Err(_) => return,
        };
        scripts.sort();
        for s in scripts {
            self.pending.push_back((s, job.clone()));
        }
        self.start_next();
    }

    fn start_next(&mut self) {
        while self.running.is_none() {
            let Some((script, job)) = self.pending.pop_front() else { return };
            let mut cmd = Command::new(&script);
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).envs(job.env.iter().map(|(k, v)| (k, v)));
            match cmd.spawn() {
                Ok(child) => self.running = Some(Running { child, script, deadline: Instant::now() + self.timeout }),
                Err(e) => log::warn!("hook {}: {e}", script.display()),
            }
        }
    }

    /// Reaps a finished hook or kills one past its deadline, then starts
    /// the next. Call on SIGCHLD and at `deadline()`.
    pub fn poll(&mut self) {
        if let Some(r) = &mut self.running {
            match r.child.try_wait() {
                Ok(Some(status)) => {
                    if !status.success() {
                        log::warn!("hook {} exited with {status}", r.script.display());
                    }
                    self.running = None;
                }
                Ok(None) if Instant::now() >= r.deadline => {
                    log::warn!("hook {} overran {:?}: killed", r.script.display(), self.timeout);
                    let _ = r.child.kill();
                    let _ = r.child.wait();
                    self.running = None;
                }
                Ok(None) => {}
                Err(e) => {
                    log::warn!("hook {}: {e}", r.script.display());
                    self.running = None;
                }
            }
        }
        self.start_next();
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.running.as_ref().map(|r| r.deadline)
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
