//! Test-only scaffolding: network namespaces, veth pairs, pings and raw
//! frames. Namespaces are deleted when their guard drops, pass or fail, and
//! everything a namespace held (nft tables, addresses, links) goes with it.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::socket::{MsgFlags, recv, send, setsockopt, sockopt};
use nix::sys::time::TimeVal;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A network namespace made for one test.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("vwrp-{tag}-{}-{n}", std::process::id());
        let status = Command::new("ip").args(["netns", "add", &name]).status().unwrap();
        assert!(status.success(), "ip netns add {name}");
        let ns = Netns { name };
        ns.ok("ip link set lo up");
        ns
    }

    /// Runs a shell command inside the namespace.
    pub fn sh(&self, cmd: &str) -> Output {
        Command::new("ip").args(["netns", "exec", &self.name, "sh", "-c", cmd]).output().unwrap()
    }

    /// Runs a shell command inside the namespace, which must succeed;
    /// returns its standard output.
    pub fn ok(&self, cmd: &str) -> String {
        let out = self.sh(cmd);
        assert!(out.status.success(), "in {}: {cmd}: {}", self.name, String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `f` on a thread that has entered the namespace. Sockets it opens
    /// stay in the namespace wherever they are used afterwards, and
    /// processes it spawns start there.
    pub fn run_in<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let file = File::open(format!("/var/run/netns/{}", self.name)).unwrap();
        std::thread::scope(|scope| {
            let thread = scope.spawn(move || {
                // SAFETY: setns only changes this short-lived thread's
                // namespace; the fd is valid for the call.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", io::Error::last_os_error());
                f()
            });
            thread.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }

    /// The index of a link in this namespace.
    pub fn ifindex(&self, dev: &str) -> u32 {
        // `ip netns exec` mounts this namespace's sysfs.
        self.ok(&format!("cat /sys/class/net/{dev}/ifindex")).trim().parse().unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// Joins two namespaces with a veth pair, addresses both ends, brings them
/// up and returns their indexes.
pub fn veth(a: &Netns, a_dev: &str, a_addr: &str, b: &Netns, b_dev: &str, b_addr: &str) -> (u32, u32) {
    a.ok(&format!("ip link add name {a_dev} type veth peer name {b_dev} netns {}", b.name));
    a.ok(&format!("ip addr add {a_addr} dev {a_dev} && ip link set {a_dev} up"));
    b.ok(&format!("ip addr add {b_addr} dev {b_dev} && ip link set {b_dev} up"));
    (a.ifindex(a_dev), b.ifindex(b_dev))
}

/// Whether one ping from `from` to `addr` gets its answer within a second.
pub fn ping(from: &Netns, addr: &str) -> bool {
    from.sh(&format!("ping -c1 -W1 -q {addr}")).status.success()
}

const MARKER: &[u8] = b"vwrp fence test frame";

/// An AF_PACKET socket bound to one device and one EtherType.
pub struct PacketSocket {
    fd: OwnedFd,
}

impl PacketSocket {
    pub fn bind(ifindex: u32, ethertype: u16) -> PacketSocket {
        let proto = ethertype.to_be();
        // SAFETY: plain socket(2); the result is checked before use.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, i32::from(proto)) };
        assert!(raw >= 0, "packet socket: {}", io::Error::last_os_error());
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = proto;
        addr.sll_ifindex = i32::try_from(ifindex).unwrap();
        let len = u32::try_from(std::mem::size_of::<libc::sockaddr_ll>()).unwrap();
        // SAFETY: addr outlives the call and `len` is its size.
        let rc = unsafe { libc::bind(fd.as_raw_fd(), (&raw const addr).cast::<libc::sockaddr>(), len) };
        assert_eq!(rc, 0, "bind packet socket: {}", io::Error::last_os_error());
        setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::new(0, 50_000)).unwrap();
        PacketSocket { fd }
    }

    /// Broadcasts a minimum-size frame of this EtherType carrying a marker.
    pub fn send_test_frame(&self, ethertype: u16) -> io::Result<()> {
        let mut frame = vec![0xff; 6];
        frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.extend_from_slice(MARKER);
        frame.resize(60, 0);
        send(self.fd.as_raw_fd(), &frame, MsgFlags::empty())?;
        Ok(())
    }

    /// Whether a frame with the marker arrives within 300 ms.
    pub fn received_test_frame(&self) -> bool {
        let deadline = Instant::now() + Duration::from_millis(300);
        let mut buf = [0u8; 2048];
        while Instant::now() < deadline {
            let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty());
            if n.is_ok_and(|n| buf.get(14..n).is_some_and(|p| p.starts_with(MARKER))) {
                return true;
            }
        }
        false
    }
}
