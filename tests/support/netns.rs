//! Network namespaces for tests that touch the real kernel: the one helper
//! the unit tests (src/system, included there with `#[path]`), the test
//! bed and the OpenWrt package tests all use.
//!
//! Every namespace is called `vw<pid>n<seq>-<tag>`: the pid says which test
//! process owns it, so `cleanup_stale` (tests/support/stale.rs) can remove
//! what a killed run left behind. Dropping a [`Netns`] (also while a test
//! panics) kills every process left in it and deletes it, and with it
//! everything it held: links, addresses, nftables tables.

// Each user needs a different part of this file.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use nix::libc;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Where `ip netns add` puts the namespace handles.
pub const NETNS_DIR: &str = "/run/netns";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh `vw<pid>n<seq>`, unique in this process: the start of the names
/// of one namespace or of one test bed's namespaces.
pub fn next_prefix() -> String {
    format!("vw{}n{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A network namespace made for a test, deleted on drop.
pub struct Netns {
    pub name: String,
    /// What `spawn` started: killed and reaped on drop.
    children: Vec<Child>,
}

impl Netns {
    /// A namespace `vw<pid>n<seq>-<tag>` with its loopback up.
    pub fn new(tag: &str) -> Netns {
        Netns::named(format!("{}-{tag}", next_prefix()))
    }

    /// A namespace with exactly this name (one of a test bed's).
    pub fn named(name: String) -> Netns {
        // A leftover of the same name is stale.
        remove(&name);
        let out = Command::new("ip").args(["netns", "add", &name]).output().expect("ip (apt-get install iproute2)");
        assert!(out.status.success(), "ip netns add {name}: {}", String::from_utf8_lossy(&out.stderr));
        let ns = Netns { name, children: Vec::new() };
        ns.exec(["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// `argv` to be run inside the namespace.
    pub fn command<I, S>(&self, argv: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(argv);
        c
    }

    /// Runs `argv` inside the namespace; panics unless it succeeds.
    pub fn exec<I, S>(&self, argv: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.command(argv);
        let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert!(out.status.success(), "{c:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    /// Runs a shell command line inside the namespace, whatever its end.
    pub fn sh(&self, cmd: &str) -> Output {
        let mut c = self.command(["sh", "-c", cmd]);
        c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"))
    }

    /// Runs a shell command line inside the namespace, which must succeed;
    /// returns its standard output.
    pub fn ok(&self, cmd: &str) -> String {
        let out = self.sh(cmd);
        assert!(out.status.success(), "in {}: {cmd}: {}", self.name, String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `argv` inside the namespace, stdout and stderr to `log`;
    /// returns its pid. It is killed and reaped on drop.
    pub fn spawn(&mut self, argv: &[&str], log: &Path) -> u32 {
        let f = File::create(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let mut c = self.command(argv);
        c.stdin(Stdio::null()).stdout(f.try_clone().expect("dup log file")).stderr(f);
        let child = c.spawn().unwrap_or_else(|e| panic!("{c:?}: {e}"));
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Runs `f` on a thread that has entered the namespace. Sockets it
    /// opens stay in the namespace wherever they are used afterwards, and
    /// processes it spawns start there.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let file = File::open(Path::new(NETNS_DIR).join(&self.name)).expect("open netns");
        std::thread::scope(|scope| {
            let thread = scope.spawn(move || {
                // SAFETY: setns only changes this short-lived thread's
                // namespace; the fd is valid for the call.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            });
            thread.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }

    /// The index of a link in this namespace.
    pub fn ifindex(&self, dev: &str) -> u32 {
        // `ip netns exec` mounts this namespace's sysfs.
        self.ok(&format!("cat /sys/class/net/{dev}/ifindex")).trim().parse().expect("ifindex")
    }

    /// Whether one ping from here to `addr` gets its answer within a second.
    pub fn ping(&self, addr: &str) -> bool {
        self.sh(&format!("ping -c1 -W1 -q {addr}")).status.success()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        remove(&self.name);
    }
}

/// Joins `a:a_if` and `b:b_if` with a veth pair and brings both ends up.
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) {
    a.exec(["ip", "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", &b.name]);
    a.exec(["ip", "link", "set", a_if, "up"]);
    b.exec(["ip", "link", "set", b_if, "up"]);
}

/// Kills every process living in namespace `name` (each by its pid), then
/// deletes the namespace, if there is one. Errors are reported, not raised:
/// this runs from `Drop`.
pub fn remove(name: &str) {
    if !Path::new(NETNS_DIR).join(name).exists() {
        return;
    }
    if let Ok(out) = Command::new("ip").args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
    match Command::new("ip").args(["netns", "del", name]).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => eprintln!("netns: ip netns del {name}: {}", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => eprintln!("netns: ip netns del {name}: {e}"),
    }
}
