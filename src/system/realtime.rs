//! Real-time scheduling and locked memory for the daemon, so that a busy
//! router does not starve it past its forwarding permit (docs/OPENWRT.md,
//! "Real-time scheduling").
//!
//! The daemon runs SCHED_RR at a low priority: it preempts every ordinary
//! process and ksoftirqd (where the kernel defers network softirq work
//! under load), but stays below the kernel's threaded interrupt handlers
//! (priority 50) and watchdogs. Children start as ordinary processes
//! (SCHED_RESET_ON_FORK). Its memory is locked (mlockall), so that no
//! page of it has to be read back from flash after memory pressure evicted
//! it. A soft RLIMIT_RTTIME bounds the CPU time it may take without
//! sleeping: past it the kernel sends SIGXCPU, and the loop drops back to
//! normal scheduling rather than let a runaway loop (a frame flood) starve
//! the router.
//!
//! musl's `sched_setscheduler` is a stub that always fails (POSIX and
//! Linux disagree on its meaning), so the system call is made directly.

use std::io;
use std::time::Duration;

use nix::libc;

/// CPU time the daemon may use without sleeping while real-time: a turn
/// of the loop takes microseconds to milliseconds, so this is only ever
/// reached by a loop that no longer sleeps.
pub const RT_BUDGET: Duration = Duration::from_millis(500);

/// What `enter` achieved, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entered {
    pub priority: u8,
    /// Memory locked; `false` when the process may not lock memory
    /// without a limit (no CAP_IPC_LOCK or CAP_SYS_RESOURCE).
    pub locked: bool,
}

fn check(r: libc::c_long) -> io::Result<()> {
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// The kernel's `struct sched_param` (musl's has more fields, for a
/// POSIX option Linux lacks).
#[repr(C)]
struct SchedParam {
    priority: libc::c_int,
}

/// The calling thread's policy, its children ordinary (RESET_ON_FORK).
pub(crate) fn set_scheduler(policy: libc::c_int, priority: u8) -> io::Result<()> {
    let param = SchedParam { priority: libc::c_int::from(priority) };
    // SAFETY: pid 0 is this thread; the parameter outlives the call.
    check(unsafe {
        libc::syscall(libc::SYS_sched_setscheduler, 0, policy | libc::SCHED_RESET_ON_FORK, &raw const param)
    })
}

fn set_limit(resource: libc::c_int, soft: libc::rlim_t, hard: Option<libc::rlim_t>) -> io::Result<()> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain system calls on a valid struct. The resource's type
    // differs between libcs (c_int, u32), hence the casts.
    unsafe {
        check(libc::getrlimit(resource as _, &mut lim).into())?;
        lim.rlim_cur = soft;
        if let Some(h) = hard {
            lim.rlim_max = h;
        }
        lim.rlim_cur = lim.rlim_cur.min(lim.rlim_max);
        check(libc::setrlimit(resource as _, &lim).into())
    }
}

/// Moves the daemon to SCHED_RR at `priority` (1..=99) and locks its
/// memory. Scheduling that the kernel refuses is an error (nothing is
/// changed); memory that cannot be locked is only reported.
pub fn enter(priority: u8) -> io::Result<Entered> {
    // Locked first, at the ordinary priority: faulting every page in is
    // work that, done in real time, would hold the CPU from everything
    // else and spend the RLIMIT_RTTIME budget (under qemu-user, all of it).
    // Locking future mappings too is safe only without a limit that a
    // later allocation could exceed: CAP_IPC_LOCK ignores the limit, else
    // it must be raised (CAP_SYS_RESOURCE), or nothing is locked.
    let unlimited = may_lock_without_limit()
        || set_limit(libc::RLIMIT_MEMLOCK as _, libc::RLIM_INFINITY, Some(libc::RLIM_INFINITY)).is_ok();
    // SAFETY: no pointers involved.
    let locked = unlimited && unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } == 0;
    let budget = libc::rlim_t::try_from(RT_BUDGET.as_micros()).unwrap_or(libc::RLIM_INFINITY);
    if let Err(e) =
        set_limit(libc::RLIMIT_RTTIME as _, budget, None).and_then(|()| set_scheduler(libc::SCHED_RR, priority))
    {
        if locked {
            // SAFETY: no pointers involved.
            unsafe { libc::munlockall() };
        }
        return Err(e);
    }
    Ok(Entered { priority, locked })
}

/// CAP_IPC_LOCK (bit 14) in the effective set, read from procfs.
fn may_lock_without_limit() -> bool {
    const CAP_IPC_LOCK: u32 = 14;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
}

/// Back to ordinary scheduling (SIGXCPU: the real-time budget ran out).
/// The memory stays locked.
pub fn leave() -> io::Result<()> {
    set_scheduler(libc::SCHED_OTHER, 0)
}

/// This process's scheduling policy and priority, as the kernel reports
/// them (for status and tests): `None` if it cannot be read.
pub fn current() -> Option<(libc::c_int, u8)> {
    // SAFETY: pid 0 is this thread; the parameter is written by the call.
    let policy = unsafe { libc::syscall(libc::SYS_sched_getscheduler, 0) };
    let mut param = SchedParam { priority: 0 };
    // SAFETY: as above.
    let r = unsafe { libc::syscall(libc::SYS_sched_getparam, 0, &raw mut param) };
    (policy >= 0 && r == 0).then(|| {
        let policy = libc::c_int::try_from(policy).unwrap_or(-1) & !libc::SCHED_RESET_ON_FORK;
        (policy, u8::try_from(param.priority).unwrap_or(0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In a child process (the test runner's threads stay as they are):
    /// the child becomes SCHED_RR with its memory locked, a grandchild it
    /// forks starts as an ordinary process, and `leave` undoes it. Needs
    /// root, like the other system tests.
    #[test]
    fn enter_reset_on_fork_and_leave() {
        // SAFETY: the child only makes system calls and exits.
        match unsafe { libc::fork() } {
            0 => {
                let code = (|| {
                    let e = enter(3).ok()?;
                    if current() != Some((libc::SCHED_RR, 3)) || !e.locked {
                        return Some(2);
                    }
                    // SAFETY: as above.
                    match unsafe { libc::fork() } {
                        0 => unsafe { libc::_exit(if current() == Some((libc::SCHED_OTHER, 0)) { 0 } else { 3 }) },
                        pid => {
                            let mut st = 0;
                            // SAFETY: waiting for our own child.
                            unsafe { libc::waitpid(pid, &mut st, 0) };
                            if st != 0 {
                                return Some(4);
                            }
                        }
                    }
                    leave().ok()?;
                    (current() == Some((libc::SCHED_OTHER, 0))).then_some(0)
                })()
                .unwrap_or(1);
                // SAFETY: ends the child without running the parent's state.
                unsafe { libc::_exit(code) }
            }
            pid => {
                let mut st = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(pid, &mut st, 0) };
                assert!(libc::WIFEXITED(st), "child status {st}");
                let code = libc::WEXITSTATUS(st);
                assert_eq!(
                    code, 0,
                    "{code}: 1 enter or leave failed, 2 not RR 3 locked, 3 grandchild kept RR, 4 grandchild"
                );
            }
        }
    }
}
