//! Every program the daemon starts (udhcpc, conntrackd, hooks, ubus, tracker
//! scripts, the netifd guard) starts here, clean, and ends here, without
//! ever being waited for.
//!
//! Clean: an empty signal mask and default signal dispositions (the daemon
//! blocks SIGTERM, SIGHUP, SIGINT and SIGCHLD for its signalfd, and a child
//! keeps a blocked mask across exec: a udhcpc that cannot see SIGTERM never
//! stops), stdin from /dev/null, and its own process group, so that a
//! shell script's children end with it.
//!
//! Never waited for: the loop calls [`Child::try_wait`] and [`reap`] when
//! SIGCHLD wakes it. Stopping a child is SIGTERM to its group, then SIGKILL
//! to the group [`STOP_GRACE`] later; a stopped child is handed to this
//! module, which finishes it off from the loop ([`reap`] at [`deadline`]),
//! as OpenWrt's uloop keeps its process list.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

/// How long a child may take to end on SIGTERM before its group is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(1);

/// A running program, leader of its own process group. Dropping it stops
/// it ([`Child::stop`]).
pub struct Child {
    /// `None` once handed over to be stopped.
    inner: Option<std::process::Child>,
}

/// Stopped children not yet reaped: SIGKILL to the group at `kill_at`.
struct Stopping {
    child: std::process::Child,
    kill_at: Option<Instant>,
}

static STOPPING: Mutex<Vec<Stopping>> = Mutex::new(Vec::new());

fn stopping() -> std::sync::MutexGuard<'static, Vec<Stopping>> {
    // One thread uses it; a panic elsewhere leaves the list intact.
    STOPPING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Size of the kernel's signal set: 128 signals on MIPS, 64 elsewhere.
const SIGSET_BYTES: usize = if cfg!(any(target_arch = "mips", target_arch = "mips64")) { 16 } else { 8 };

/// Starts `cmd` clean (see the module). The caller chooses stdout and
/// stderr; stdin is /dev/null.
pub fn spawn(cmd: &mut Command) -> io::Result<Child> {
    spawn_with_stdin(cmd, Stdio::null())
}

/// [`spawn`], with stdin a pipe the returned [`Child`] keeps the writing
/// end of, never written: the program reads end of file when this process
/// is gone, however it ended (the netifd guard, `daemon::netifd_guard`).
pub fn spawn_watching(cmd: &mut Command) -> io::Result<Child> {
    spawn_with_stdin(cmd, Stdio::piped())
}

fn spawn_with_stdin(cmd: &mut Command, stdin: Stdio) -> io::Result<Child> {
    cmd.stdin(stdin).process_group(0);
    // SAFETY: between fork and exec only async-signal-safe calls are made
    // (sigemptyset, sigprocmask, raw system calls).
    unsafe {
        cmd.pre_exec(|| {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            if libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            // Handlers reset themselves at exec; ignored signals would not.
            // The kernel's struct sigaction all zero is SIG_DFL, whatever
            // its layout. The system call, not the C library's sigaction,
            // which refuses the signals it reserves (a parent may have
            // ignored them all the same). SIGKILL and SIGSTOP refuse quietly.
            let dfl = [0u64; 8];
            for sig in 1..=SIGSET_BYTES * 8 {
                libc::syscall(libc::SYS_rt_sigaction, sig, dfl.as_ptr(), std::ptr::null_mut::<u64>(), SIGSET_BYTES);
            }
            Ok(())
        });
    }
    Ok(Child { inner: Some(cmd.spawn()?) })
}

/// [`spawn`], for a companion daemon that must not outlive this process
/// even when it is SIGKILLed or its watchdog ends it (conntrackd): the
/// kernel sends the child SIGTERM when the daemon dies.
pub fn spawn_tied(cmd: &mut Command) -> io::Result<Child> {
    let parent = std::process::id();
    // SAFETY: prctl, getppid and _exit are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The daemon died before the prctl: nobody would send it.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    spawn(cmd)
}

/// Runs `cmd` (clean, as [`spawn`] does) to its end, for at most `limit`,
/// its stderr captured. For start-up and the CLI only: the event loop
/// never calls this.
pub fn run(cmd: &mut Command, limit: Duration) -> io::Result<(ExitStatus, String)> {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = spawn(cmd)?;
    let end = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            // It ended: what it wrote is all in the pipe (a few lines).
            let mut err = String::new();
            if let Some(mut e) = child.inner.as_mut().and_then(|c| c.stderr.take()) {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            return Ok((status, err));
        }
        if Instant::now() >= end {
            child.kill();
            let ms = crate::time::millis(limit);
            return Err(io::Error::new(io::ErrorKind::TimedOut, format!("still running after {ms} ms: killed")));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl Child {
    /// The process id, which is also its process group's.
    pub fn id(&self) -> u32 {
        self.inner.as_ref().map_or(0, std::process::Child::id)
    }

    /// Its standard output, when it was started with a pipe there.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.inner.as_mut()?.stdout.take()
    }

    /// Its exit status once it has ended (reaped then; asked again, the
    /// same answer). Never waits.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match &mut self.inner {
            Some(c) => c.try_wait(),
            None => Ok(None),
        }
    }

    /// SIGTERM to its group now, SIGKILL to the group [`STOP_GRACE`] later
    /// if it has not ended by then.
    pub fn stop(mut self) {
        self.hand_over(Signal::SIGTERM, Some(Instant::now() + STOP_GRACE));
    }

    /// SIGKILL to its group now (a run past its time).
    pub fn kill(mut self) {
        self.hand_over(Signal::SIGKILL, None);
    }

    fn hand_over(&mut self, sig: Signal, kill_at: Option<Instant>) {
        let Some(mut child) = self.inner.take() else { return };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        // Not reaped: the group id cannot have been reused.
        signal_group(&child, sig);
        stopping().push(Stopping { child, kill_at });
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.hand_over(Signal::SIGTERM, Some(Instant::now() + STOP_GRACE));
    }
}

fn signal_group(child: &std::process::Child, sig: Signal) {
    let Ok(pid) = i32::try_from(child.id()) else { return };
    if let Err(e) = killpg(Pid::from_raw(pid), sig) {
        // Through io::Error: nix's own errno texts would add 4 KB.
        crate::logging::debug!("signal process group {pid}: {}", io::Error::from(e));
    }
}

/// Whether the child has ended, without reaping it: while it is a zombie
/// its process group id cannot be reused.
fn ended(child: &std::process::Child) -> bool {
    let Ok(pid) = i32::try_from(child.id()) else { return true };
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    !matches!(waitid(Id::Pid(Pid::from_raw(pid)), flags), Ok(WaitStatus::StillAlive))
}

/// Reaps stopped children that ended (killing what they left behind in
/// their group) and kills the groups of those past their grace. Call on
/// SIGCHLD and at [`deadline`].
pub fn reap(now: Instant) {
    stopping().retain_mut(|s| {
        if ended(&s.child) {
            signal_group(&s.child, Signal::SIGKILL);
            let _ = s.child.try_wait();
            return false;
        }
        if s.kill_at.is_some_and(|t| now >= t) {
            crate::logging::warn!("process {} did not end on SIGTERM: killed", s.child.id());
            signal_group(&s.child, Signal::SIGKILL);
            s.kill_at = None;
        }
        true
    });
}

/// When [`reap`] must next kill a group that outlived its grace.
pub fn deadline() -> Option<Instant> {
    stopping().iter().filter_map(|s| s.kill_at).min()
}

/// Daemon exit: SIGKILL to every group still being stopped, so nothing
/// the daemon started outlives it. Returns how many there were.
pub fn kill_all() -> usize {
    let mut list = stopping();
    for s in list.iter() {
        signal_group(&s.child, Signal::SIGKILL);
    }
    std::mem::take(&mut *list).len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, pthread_sigmask, signal};

    /// A field of /proc/PID/status, e.g. `SigBlk`.
    fn status_field(pid: u32, name: &str) -> String {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = text.lines().find(|l| l.starts_with(&format!("{name}:"))).unwrap();
        line[name.len() + 1..].trim().to_string()
    }

    fn pgid(pid: u32) -> u32 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        fields[2].parse().unwrap()
    }

    /// Alive and not a zombie.
    fn running(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')))
    }

    fn wait_gone(pid: u32) -> bool {
        for _ in 0..300 {
            reap(Instant::now());
            if !running(pid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn a_child_starts_with_no_blocked_or_ignored_signal_in_its_own_group() {
        // As the daemon does: block its signals (this thread only); and
        // ignore one, process-wide, for the moment of the spawn.
        let mut mask = SigSet::empty();
        for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGCHLD] {
            mask.add(s);
        }
        let mut old = SigSet::empty();
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut old)).unwrap();
        // SAFETY: no handler is installed.
        let was = unsafe { signal(Signal::SIGUSR2, SigHandler::SigIgn) }.unwrap();
        let child = spawn(Command::new("sleep").arg("30").stdout(Stdio::null()));
        unsafe { signal(Signal::SIGUSR2, was) }.unwrap();
        pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None).unwrap();
        let child = child.unwrap();
        let pid = child.id();
        assert_eq!(status_field(pid, "SigBlk"), "0000000000000000", "blocked signals inherited");
        assert_eq!(status_field(pid, "SigIgn"), "0000000000000000", "ignored signals inherited");
        assert_eq!(pgid(pid), pid, "not the leader of its own process group");
        drop(child);
        assert!(wait_gone(pid), "dropping the child did not stop it");
    }

    #[test]
    fn stop_is_sigterm_to_the_group_then_sigkill_after_the_grace() {
        // The shell ignores SIGTERM, as a stuck program would; its child
        // sleeps in the same group.
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "trap '' TERM; sleep 30 & echo $! > /dev/stderr; wait"]);
        let mut child = spawn(cmd.stdout(Stdio::null()).stderr(Stdio::piped())).unwrap();
        let pid = child.id();
        let mut line = String::new();
        {
            use std::io::BufRead;
            let err = child.inner.as_mut().unwrap().stderr.take().unwrap();
            std::io::BufReader::new(err).read_line(&mut line).unwrap();
        }
        let sleeper: u32 = line.trim().parse().unwrap();
        assert_eq!(child.try_wait().unwrap(), None);
        let t0 = Instant::now();
        child.stop();
        assert!(deadline().is_some_and(|d| d <= t0 + STOP_GRACE + Duration::from_millis(50)));
        std::thread::sleep(Duration::from_millis(200));
        reap(Instant::now());
        assert!(running(pid), "the shell ignores SIGTERM: it must still run within the grace");
        assert!(wait_gone(pid) && wait_gone(sleeper), "the group outlived SIGKILL");
        let took = t0.elapsed();
        assert!(took >= STOP_GRACE && took < STOP_GRACE + Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn what_a_stopped_child_leaves_in_its_group_is_killed() {
        let mut cmd = Command::new("/bin/sh");
        // The shell ends on SIGTERM; its child ignores it.
        cmd.args(["-c", "(trap '' TERM; exec sleep 30) & echo $! > /dev/stderr; wait"]);
        let mut child = spawn(cmd.stdout(Stdio::null()).stderr(Stdio::piped())).unwrap();
        let mut line = String::new();
        {
            use std::io::BufRead;
            let err = child.inner.as_mut().unwrap().stderr.take().unwrap();
            std::io::BufReader::new(err).read_line(&mut line).unwrap();
        }
        let left: u32 = line.trim().parse().unwrap();
        let t0 = Instant::now();
        child.kill();
        assert!(wait_gone(left), "a process of the group survived");
        assert!(t0.elapsed() < STOP_GRACE, "{:?}", t0.elapsed());
    }
}
