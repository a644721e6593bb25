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
//! Never waited for, not even to start: [`spawn`] returns once the child
//! exists (after fork), not once it has exec'd. The daemon is real-time
//! and its children are not (SCHED_RESET_ON_FORK): waiting for a child to
//! reach exec, as std's `Command::spawn` does, is waiting for an ordinary
//! process to be scheduled, unbounded under real-time load. So the fork
//! and exec are our own: everything the child needs (paths, arguments,
//! environment, descriptors) is made before the fork, the child makes
//! only async-signal-safe system calls, and an exec that fails is
//! reported by [`Child::try_wait`] (the errno through a close-on-exec
//! pipe); a program that is not there (or not found in `$PATH`) is an
//! error of [`spawn`] itself.
//!
//! The loop calls [`Child::try_wait`] and [`reap`] when SIGCHLD wakes it.
//! Stopping a child is SIGTERM to its group, then SIGKILL to the group
//! [`STOP_GRACE`] later; a stopped child is handed to this module, which
//! finishes it off from the loop ([`reap`] at [`deadline`]), as OpenWrt's
//! uloop keeps its process list.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

/// How long a child may take to end on SIGTERM before its group is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(1);

/// Where a child's stdout or stderr goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stdio {
    Null,
    /// The daemon's own.
    Inherit,
    /// A pipe the [`Child`] keeps the reading end of.
    Piped,
}

/// A program to start: its name (found in `$PATH` unless it holds a
/// `/`), arguments, variables added to the daemon's environment, and
/// where its output goes (the daemon's own unless told).
#[derive(Debug)]
pub struct Command {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    stdout: Stdio,
    stderr: Stdio,
}

impl Command {
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        let program = program.as_ref().to_os_string();
        Command { program, args: Vec::new(), env: Vec::new(), stdout: Stdio::Inherit, stderr: Stdio::Inherit }
    }

    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&mut self, args: I) -> &mut Command {
        for a in args {
            self.arg(a);
        }
        self
    }

    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.env.push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    pub fn envs<I: IntoIterator<Item = (K, V)>, K: AsRef<OsStr>, V: AsRef<OsStr>>(&mut self, vars: I) -> &mut Command {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    pub fn stdout(&mut self, s: Stdio) -> &mut Command {
        self.stdout = s;
        self
    }

    pub fn stderr(&mut self, s: Stdio) -> &mut Command {
        self.stderr = s;
        self
    }

    pub fn get_args(&self) -> &[OsString] {
        &self.args
    }

    pub fn get_envs(&self) -> &[(OsString, OsString)] {
        &self.env
    }
}

/// A regular file with an execute bit.
pub fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `name` in $PATH, as the shell would find it.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| is_executable(p))
}

/// A running program, leader of its own process group. Dropping it stops
/// it ([`Child::stop`]).
pub struct Child {
    /// `None` once handed over to be stopped.
    inner: Option<Proc>,
}

struct Proc {
    pid: libc::pid_t,
    /// Its end, once reaped: the status, or the errno of an exec that
    /// failed.
    end: Option<Result<ExitStatus, i32>>,
    /// Readable (non-blocking) once the child wrote why its exec failed;
    /// closed, with nothing in it, once the exec succeeded.
    exec_error: OwnedFd,
    /// The writing end of its stdin, for [`spawn_watching`]: closed with
    /// the [`Proc`], once the child is reaped.
    _stdin: Option<OwnedFd>,
    stdout: Option<File>,
    stderr: Option<File>,
}

/// Stopped children not yet reaped: SIGKILL to the group at `kill_at`.
struct Stopping {
    child: Proc,
    kill_at: Option<Instant>,
}

static STOPPING: Mutex<Vec<Stopping>> = Mutex::new(Vec::new());

fn stopping() -> std::sync::MutexGuard<'static, Vec<Stopping>> {
    // One thread uses it; a panic elsewhere leaves the list intact.
    STOPPING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Size of the kernel's signal set: 128 signals on MIPS, 64 elsewhere.
const SIGSET_BYTES: usize = if cfg!(any(target_arch = "mips", target_arch = "mips64")) { 16 } else { 8 };

/// Starts `cmd` clean (see the module); stdin is /dev/null.
pub fn spawn(cmd: &Command) -> io::Result<Child> {
    spawn_with(cmd, false, false)
}

/// [`spawn`], with stdin a pipe the returned [`Child`] keeps the writing
/// end of, never written: the program reads end of file when this process
/// is gone, however it ended (the netifd guard, `daemon::netifd_guard`).
pub fn spawn_watching(cmd: &Command) -> io::Result<Child> {
    spawn_with(cmd, true, false)
}

/// [`spawn`], for a companion daemon that must not outlive this process
/// even when it is SIGKILLed or its watchdog ends it (conntrackd): the
/// kernel sends the child SIGTERM when the daemon dies.
pub fn spawn_tied(cmd: &Command) -> io::Result<Child> {
    spawn_with(cmd, false, true)
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r) }
}

/// A close-on-exec pipe: (reading end, writing end).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: the kernel writes two descriptors, owned from here on.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn dev_null() -> io::Result<OwnedFd> {
    Ok(File::options().read(true).write(true).open("/dev/null")?.into())
}

fn c_string(s: &[u8]) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a command"))
}

/// A NULL-terminated array of pointers into `strings`, for execve.
fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings.iter().map(|s| s.as_ptr()).chain(std::iter::once(std::ptr::null())).collect()
}

/// One side of a child's stdout or stderr: the descriptor the child gets
/// (-1: the daemon's own) and the end the parent keeps.
fn output(s: Stdio, null: &OwnedFd) -> io::Result<(Option<OwnedFd>, Option<File>)> {
    Ok(match s {
        Stdio::Inherit => (None, None),
        Stdio::Null => (Some(null.try_clone()?), None),
        Stdio::Piped => {
            let (r, w) = pipe()?;
            (Some(w), Some(File::from(r)))
        }
    })
}

fn spawn_with(cmd: &Command, watching: bool, tied: bool) -> io::Result<Child> {
    // Everything the child needs, made here: after the fork the child may
    // not allocate (another thread may have held the allocator's lock).
    let program = if cmd.program.as_bytes().contains(&b'/') {
        std::fs::metadata(&cmd.program)?;
        PathBuf::from(&cmd.program)
    } else {
        let name = cmd.program.to_string_lossy();
        find_program(&name).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?
    };
    let path = c_string(program.as_os_str().as_bytes())?;
    let argv: Vec<CString> =
        std::iter::once(&cmd.program).chain(&cmd.args).map(|a| c_string(a.as_bytes())).collect::<io::Result<_>>()?;
    let mut vars: Vec<(OsString, OsString)> =
        std::env::vars_os().filter(|(k, _)| !cmd.env.iter().any(|(set, _)| set == k)).collect();
    // Set twice, the last value counts, as with std's Command.
    let set = cmd.env.iter().enumerate().filter(|&(i, (k, _))| !cmd.env[i + 1..].iter().any(|(later, _)| later == k));
    vars.extend(set.map(|(_, kv)| kv.clone()));
    let envp: Vec<CString> =
        vars.iter().map(|(k, v)| c_string(&[k.as_bytes(), b"=", v.as_bytes()].concat())).collect::<io::Result<_>>()?;
    let (argv_p, envp_p) = (pointers(&argv), pointers(&envp));

    let null = dev_null()?;
    let (stdin, stdin_keep) = if watching {
        let (r, w) = pipe()?;
        (r, Some(w))
    } else {
        (null.try_clone()?, None)
    };
    let (stdout, stdout_keep) = output(cmd.stdout, &null)?;
    let (stderr, stderr_keep) = output(cmd.stderr, &null)?;
    let (error_r, error_w) = pipe()?;
    // SAFETY: a descriptor this function owns.
    check(unsafe { libc::fcntl(error_r.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) })?;
    let fds = [Some(&stdin), stdout.as_ref(), stderr.as_ref()].map(|f| f.map_or(-1, AsRawFd::as_raw_fd));
    let parent = if tied { std::process::id() } else { 0 };
    let mut empty = std::mem::MaybeUninit::<libc::sigset_t>::zeroed();
    // SAFETY: initialises the set.
    unsafe { libc::sigemptyset(empty.as_mut_ptr()) };

    // SAFETY: the child runs `exec_child` only, which makes
    // async-signal-safe system calls on what was made above, and never
    // returns.
    let pid = check(unsafe { libc::fork() })?;
    if pid == 0 {
        unsafe { exec_child(&path, &argv_p, &envp_p, fds, empty.as_ptr(), parent, error_w.as_raw_fd()) }
    }
    // The child does the same before its exec: whichever comes first, the
    // group exists before the caller may signal it. (This one fails once
    // the child has exec'd: it was done then.)
    // SAFETY: plain system call.
    unsafe { libc::setpgid(pid, pid) };
    drop(error_w);
    let child =
        Proc { pid, end: None, exec_error: error_r, _stdin: stdin_keep, stdout: stdout_keep, stderr: stderr_keep };
    Ok(Child { inner: Some(child) })
}

/// The child's side of the fork: descriptors, process group, signals,
/// then exec; if anything fails, the errno into `error` and exit 127.
///
/// # Safety
/// Only in the child of a fork; the pointers are valid (the parent's
/// memory, copied).
unsafe fn exec_child(
    path: &CString,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    fds: [RawFd; 3],
    empty: *const libc::sigset_t,
    parent: u32,
    error: RawFd,
) -> ! {
    unsafe {
        let fail = || -> ! {
            let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
            let bytes = errno.to_ne_bytes();
            libc::write(error, bytes.as_ptr().cast(), bytes.len());
            libc::_exit(127)
        };
        for (target, fd) in (0..).zip(fds) {
            // 0, 1 and 2 are open (std's start-up opens /dev/null on those
            // that are not), so every descriptor made for the child is
            // above them; dup2 leaves the copy open across exec.
            if fd >= 0 && libc::dup2(fd, target) < 0 {
                fail();
            }
        }
        if libc::setpgid(0, 0) != 0 || libc::sigprocmask(libc::SIG_SETMASK, empty, std::ptr::null_mut()) != 0 {
            fail();
        }
        // Handlers reset themselves at exec; ignored signals (SIGPIPE: std
        // ignores it) would not. The kernel's struct sigaction all zero is
        // SIG_DFL, whatever its layout. The system call, not the C
        // library's sigaction, which refuses the signals it reserves (a
        // parent may have ignored them all the same). SIGKILL and SIGSTOP
        // refuse quietly.
        let dfl = [0u64; 8];
        for sig in 1..=SIGSET_BYTES * 8 {
            libc::syscall(libc::SYS_rt_sigaction, sig, dfl.as_ptr(), std::ptr::null_mut::<u64>(), SIGSET_BYTES);
        }
        if parent != 0 {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                fail();
            }
            // The daemon died before the prctl: nobody would send it.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                libc::_exit(1);
            }
        }
        libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
        fail()
    }
}

/// Runs `cmd` (clean, as [`spawn`] does) to its end, for at most `limit`,
/// its stderr captured. For start-up and the CLI only: the event loop
/// never calls this.
pub fn run(cmd: &mut Command, limit: Duration) -> io::Result<(ExitStatus, String)> {
    cmd.stdout(Stdio::Null).stderr(Stdio::Piped);
    let mut child = spawn(cmd)?;
    let end = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            // It ended: what it wrote is all in the pipe (a few lines).
            let mut err = String::new();
            if let Some(mut e) = child.take_stderr() {
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

impl Proc {
    /// Reaps it if it has ended; an exec that failed is its errno.
    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.end.is_none() {
            let mut status = 0;
            // SAFETY: writes the status only.
            if check(unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) })? == 0 {
                return Ok(None);
            }
            // It ended: whatever it wrote before is in the pipe.
            let mut errno = [0u8; 4];
            // SAFETY: reads into the buffer, at most its size.
            let n = unsafe { libc::read(self.exec_error.as_raw_fd(), errno.as_mut_ptr().cast(), errno.len()) };
            self.end = Some(if n == 4 { Err(i32::from_ne_bytes(errno)) } else { Ok(ExitStatus::from_raw(status)) });
        }
        match self.end {
            Some(Ok(status)) => Ok(Some(status)),
            Some(Err(errno)) => Err(io::Error::from_raw_os_error(errno)),
            None => Ok(None),
        }
    }
}

impl Child {
    /// The process id, which is also its process group's.
    pub fn id(&self) -> u32 {
        self.inner.as_ref().map_or(0, |c| c.pid.unsigned_abs())
    }

    /// Its standard output, when it was started with a pipe there.
    pub fn take_stdout(&mut self) -> Option<File> {
        self.inner.as_mut()?.stdout.take()
    }

    fn take_stderr(&mut self) -> Option<File> {
        self.inner.as_mut()?.stderr.take()
    }

    /// Its exit status once it has ended (reaped then; asked again, the
    /// same answer). Never waits. An error if its program could not be
    /// executed (e.g. a script whose interpreter is missing): the errno.
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
        if !matches!(child.try_wait(), Ok(None)) {
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

fn signal_group(child: &Proc, sig: Signal) {
    let pid = child.pid;
    if let Err(e) = killpg(Pid::from_raw(pid), sig) {
        // Through io::Error: nix's own errno texts would add 4 KB.
        crate::logging::debug!("signal process group {pid}: {}", io::Error::from(e));
    }
}

/// Whether the child has ended, without reaping it: while it is a zombie
/// its process group id cannot be reused.
fn ended(child: &Proc) -> bool {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    !matches!(waitid(Id::Pid(Pid::from_raw(child.pid)), flags), Ok(WaitStatus::StillAlive))
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
            crate::logging::warn!("process {} did not end on SIGTERM: killed", s.child.pid);
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

    /// Waits until the child runs `comm` (it has exec'd): spawning
    /// returns before.
    fn wait_exec(pid: u32, comm: &str) {
        for _ in 0..500 {
            if std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{pid} did not exec {comm}");
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
        let child = spawn(Command::new("sleep").arg("30").stdout(Stdio::Null));
        unsafe { signal(Signal::SIGUSR2, was) }.unwrap();
        pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None).unwrap();
        let child = child.unwrap();
        let pid = child.id();
        wait_exec(pid, "sleep");
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
        let mut child = spawn(cmd.stdout(Stdio::Null).stderr(Stdio::Piped)).unwrap();
        let pid = child.id();
        let mut line = String::new();
        {
            use std::io::BufRead;
            let err = child.take_stderr().unwrap();
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
        let mut child = spawn(cmd.stdout(Stdio::Null).stderr(Stdio::Piped)).unwrap();
        let mut line = String::new();
        {
            use std::io::BufRead;
            let err = child.take_stderr().unwrap();
            std::io::BufReader::new(err).read_line(&mut line).unwrap();
        }
        let left: u32 = line.trim().parse().unwrap();
        let t0 = Instant::now();
        child.kill();
        assert!(wait_gone(left), "a process of the group survived");
        assert!(t0.elapsed() < STOP_GRACE, "{:?}", t0.elapsed());
    }

    #[test]
    fn a_program_not_found_is_an_error_of_spawn_one_that_cannot_run_of_try_wait() {
        let missing = spawn(&Command::new("vwrp-no-such-program"));
        assert_eq!(missing.err().map(|e| e.kind()), Some(io::ErrorKind::NotFound));
        let missing = spawn(&Command::new("/nonexistent/vwrp-no-such-program"));
        assert_eq!(missing.err().map(|e| e.kind()), Some(io::ErrorKind::NotFound));
        // Found, but its interpreter is missing: only exec can tell.
        let dir = std::env::temp_dir().join(format!("vwrp-process-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("script");
        std::fs::write(&script, "#!/nonexistent/interpreter\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut child = spawn(&Command::new(&script)).unwrap();
        let pid = child.id();
        let mut end = child.try_wait();
        for _ in 0..500 {
            if !matches!(end, Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            end = child.try_wait();
        }
        std::fs::remove_dir_all(&dir).unwrap();
        let e = end.expect_err("an exec that failed is an error");
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{e}");
        assert_eq!(child.try_wait().err().and_then(|e| e.raw_os_error()), Some(libc::ENOENT), "asked again");
        assert!(!running(pid));
    }

    #[test]
    fn arguments_environment_and_pipes_reach_the_program() {
        use std::io::Read;
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo \"$1 $VWRP_A $HOME\"; echo \"$VWRP_B\" >&2", "sh", "one two"]);
        cmd.env("VWRP_A", "x").env("VWRP_A", "a").env("HOME", "/nowhere").env("VWRP_B", "b");
        let mut child = spawn(cmd.stdout(Stdio::Piped).stderr(Stdio::Piped)).unwrap();
        let (mut out, mut err) = (String::new(), String::new());
        child.take_stdout().unwrap().read_to_string(&mut out).unwrap();
        child.take_stderr().unwrap().read_to_string(&mut err).unwrap();
        assert_eq!((out.as_str(), err.as_str()), ("one two a /nowhere\n", "b\n"));
        assert!(wait_gone(child.id()));
        assert!(child.try_wait().unwrap().is_some_and(|s| s.success()));
        // stdin: /dev/null, or a pipe never written to (no end of file).
        let stdin = |c: &Child| std::fs::read_link(format!("/proc/{}/fd/0", c.id())).unwrap();
        let quiet = spawn(Command::new("sleep").arg("30")).unwrap();
        let watching = spawn_watching(Command::new("sleep").arg("30")).unwrap();
        wait_exec(quiet.id(), "sleep");
        wait_exec(watching.id(), "sleep");
        assert_eq!(stdin(&quiet), Path::new("/dev/null"));
        assert!(stdin(&watching).to_string_lossy().starts_with("pipe:"), "{:?}", stdin(&watching));
    }

    /// Restores the calling thread's scheduling and CPUs, however the test
    /// ends.
    struct Pinned(libc::cpu_set_t);

    impl Pinned {
        fn to(cpu: usize) -> Pinned {
            // SAFETY: plain system calls on a set they fill or read.
            unsafe {
                let mut old: libc::cpu_set_t = std::mem::zeroed();
                assert_eq!(libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut old), 0);
                let mut one: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(cpu, &mut one);
                assert_eq!(libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &one), 0);
                Pinned(old)
            }
        }
    }

    impl Drop for Pinned {
        fn drop(&mut self) {
            let _ = crate::system::realtime::set_scheduler(libc::SCHED_OTHER, 0);
            // SAFETY: as above.
            unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &self.0) };
        }
    }

    /// A SCHED_FIFO priority 1 thread spinning on one CPU: nothing ordinary
    /// runs there while it spins (but for RT throttling's 5 %). It stops
    /// when dropped, or after 3 s whatever happens.
    struct Busy {
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Busy {
        fn on(cpu: usize) -> Busy {
            use std::sync::atomic::{AtomicBool, Ordering};
            let stop = std::sync::Arc::new(AtomicBool::new(false));
            let started = std::sync::Arc::new(AtomicBool::new(false));
            let (s, st) = (stop.clone(), started.clone());
            let thread = std::thread::spawn(move || {
                let _pinned = Pinned::to(cpu);
                crate::system::realtime::set_scheduler(libc::SCHED_FIFO, 1).unwrap();
                st.store(true, Ordering::SeqCst);
                let t0 = Instant::now();
                while !s.load(Ordering::Relaxed) && t0.elapsed() < Duration::from_secs(3) {
                    std::hint::spin_loop();
                }
            });
            let busy = Busy { stop, thread: Some(thread) };
            let t0 = Instant::now();
            while !started.load(Ordering::SeqCst) {
                assert!(t0.elapsed() < Duration::from_secs(2), "the busy loop did not start");
                std::thread::sleep(Duration::from_millis(1));
            }
            busy
        }
    }

    impl Drop for Busy {
        fn drop(&mut self) {
            self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    /// As in the daemon: the spawning thread SCHED_RR, its children
    /// ordinary (RESET_ON_FORK). A real-time busy loop of lower priority
    /// on the same CPU keeps the child from running; spawning must not
    /// wait for it (std's Command::spawn waits for the exec: the child
    /// runs only in RT throttling's 5 %, hundreds of ms). Needs root.
    #[test]
    fn spawning_returns_while_real_time_load_holds_the_child_off_the_cpu() {
        // SAFETY: no arguments.
        let cpu = usize::try_from(unsafe { libc::sched_getcpu() }).unwrap_or(0);
        let pinned = Pinned::to(cpu);
        crate::system::realtime::set_scheduler(libc::SCHED_RR, 5).unwrap();
        let busy = Busy::on(cpu);
        let mut took = Vec::new();
        let mut children = Vec::new();
        for _ in 0..5 {
            let t0 = Instant::now();
            children.push(spawn(&Command::new("/bin/true")).unwrap());
            took.push(t0.elapsed());
        }
        drop(busy);
        drop(pinned);
        let ms: Vec<f64> = took.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        eprintln!("spawn with a SCHED_FIFO 1 busy loop on CPU {cpu}: {ms:.3?} ms");
        for c in &mut children {
            let t0 = Instant::now();
            while c.try_wait().unwrap().is_none() {
                assert!(t0.elapsed() < Duration::from_secs(5), "/bin/true did not end");
                std::thread::sleep(Duration::from_millis(5));
            }
            assert!(c.try_wait().unwrap().is_some_and(|s| s.success()));
        }
        assert!(took.iter().all(|d| *d < Duration::from_millis(20)), "spawning waited for the child: {ms:.3?} ms");
    }
}
