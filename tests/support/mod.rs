//! The network-namespace test bed for vwrp's end-to-end tests, demo and
//! benchmark.
//!
//! ```text
//!                       srv 192.0.2.10 (eth0)
//!                        |
//!                       isp  192.0.2.1 (srv), 203.0.113.1 (cust)
//!                        |   dnsmasq: ONE address 203.0.113.10
//!   wsw  br0 ---- port "isp"
//!         |-- port "r1" --- r1 "wan" (SHARED_MAC, down until bring_up_wan)
//!         |-- port "r2" --- r2 "wan" (SHARED_MAC, down until bring_up_wan)
//!                           r1 "lan" 198.51.100.2   r2 "lan" 198.51.100.3
//!   lsw  br0 -- port "r1" / port "r2" / port "cli"
//!                        |
//!                       cli 198.51.100.100 (eth0), default via 198.51.100.1
//! ```
//!
//! Roles (the `role` argument of every method): `isp`, `srv`, `wsw` (the
//! WAN switch), `lsw` (the LAN switch), `cli`, and `r1`..`rk`. Each is a
//! namespace named `vw<pid>n<seq>-<role>`, so parallel tests never collide.
//! IPv6 is disabled everywhere (set before any interface exists), so the
//! switches and idle routers send nothing of their own; unless
//! `Opts::ipv6`, which turns it on everywhere but in the switches:
//!
//! ```text
//!   srv 2001:db8:ffff::10/64, default via 2001:db8:ffff::1
//!   isp 2001:db8:ffff::1 (srv), 2001:db8:0:1::1/64 (cust);
//!       Kea DHCPv6: ONE address 2001:db8:0:1::10 and ONE /56,
//!       2001:db8:100::/56, routed via that address; radvd on cust (M flag)
//!   routers: forwarding on; whatever the daemon configures
//!   cli: plain Linux defaults, addresses from the routers' advertisements
//! ```
//!
//! Routers forward (ip_forward=1) and masquerade out of `wan` (table `inet
//! vwrpnat`; the table `vwrp` is the daemon's). Nobody holds the LAN gateway
//! 198.51.100.1 or configures `wan`: that is the daemon's job, or the
//! test's.
//!
//! Dropping the [`Testbed`] (also while a test panics) kills every process
//! it started and every process left in its namespaces, deletes the
//! namespaces and removes its temp dir. [`cleanup_stale`] removes what a
//! killed run left behind; `Testbed::new` calls it.
//!
//! A scenario, in outline:
//!
//! ```ignore
//! let mut tb = Testbed::new(2, Opts::default());
//! let d1 = tb.spawn("r1", [vwrp_bin(), "--config", "..."]);  // fences wan
//! tb.bring_up_wan(1);                                       // then link-up
//! tb.start_mac_watch();
//! let rx = tb.stream_receiver(40000, Duration::from_secs(20));
//! let tx = tb.stream_sender(40000, Duration::from_millis(1), Duration::from_secs(5));
//! let t_kill = tb.mac_watch_elapsed();
//! tb.kill(d1);
//! tb.pull_links(1);
//! let report = tb.stream_report(rx);            // report.longest_gap_ms
//! let frames = tb.mac_watch_report();           // Vec<(Duration, router)>
//! assert!(!interleaved(&frames));
//! ```
//!
//! Things worth knowing:
//! - dnsmasq ping-checks an address before its first offer: the first
//!   DHCP exchange of a bed takes about 3 s (udhcpc retries its DISCOVER).
//!   `Opts { dnsmasq_args: vec!["--no-ping".into()], .. }` makes it ~0.1 s.
//! - After `plug_links` the client may need up to 1 s to reach the
//!   gateway again: its neighbour entry is reprobed once a second.
//! - Packet counters and the mac watch count frames before nftables
//!   ingress hooks: they measure what a router transmitted.
//!
//! Needs root and the Debian packages iproute2, nftables, dnsmasq, busybox,
//! tcpdump, python3.

// Each test crate uses a different part of this module.
#![allow(dead_code, unused_imports)]

mod capture;
mod cmd;
mod macwatch;
mod natflows;
pub mod netns;
pub mod servers;
mod stale;
mod stream;
mod tempdir;
mod topology;

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

pub use capture::{Capture, DISSECTOR, tshark_command};
pub use cmd::EXEC_TIMEOUT;
pub use macwatch::{interleaved, interleaved_beyond};
pub use natflows::{Flow, FlowReport, FlowSpec, Flows, server_resets};
pub use stale::{cleanup_stale, namespaces};
pub use stream::{Gap, StreamReport, StreamRx, UDPSTREAM};
pub use tempdir::TempDir;

/// The vwrp binary the tests run: `$VWRP_BIN` when set (`make test` sets
/// the x86_64 router build of scripts/cross.sh, the binary users install),
/// else the native build Cargo made for these tests. The first call says
/// which one on stderr, past the test harness's capture, so every run's
/// output shows what it tested.
pub fn vwrp_bin() -> &'static str {
    static BIN: OnceLock<String> = OnceLock::new();
    BIN.get_or_init(|| {
        let (bin, what) = match std::env::var("VWRP_BIN") {
            Ok(p) if !p.is_empty() => {
                let bin = fs::canonicalize(&p).unwrap_or_else(|e| panic!("VWRP_BIN={p}: {e}"));
                let what = router_triple(&bin).map_or("from VWRP_BIN".to_string(), |t| format!("router build {t}"));
                (bin.to_string_lossy().into_owned(), what)
            }
            _ => (env!("CARGO_BIN_EXE_vwrp").to_string(), "native build".to_string()),
        };
        let _ = writeln!(std::io::stderr(), "vwrp under test: {bin} ({what})");
        bin
    })
}

/// For a router build under test, the unstripped binary scripts/cross.sh
/// links first and leaves beside it (`<triple>/min/vwrp`, checked to
/// exist): its symbols map a trap address to a function. `None` for any
/// other binary.
pub fn vwrp_unstripped() -> Option<PathBuf> {
    let bin = Path::new(vwrp_bin());
    router_triple(bin)?;
    let unstripped = bin.parent()?.parent()?.join("min/vwrp");
    assert!(unstripped.is_file(), "router build {} without {}", bin.display(), unstripped.display());
    Some(unstripped)
}

/// The target triple of a scripts/cross.sh binary, from its path
/// (`.../<triple>/router/vwrp`).
fn router_triple(bin: &Path) -> Option<String> {
    let dir = bin.parent()?;
    let triple = dir.parent()?.file_name()?.to_str()?;
    (dir.file_name()? == "router" && triple.contains("-linux-musl")).then(|| triple.to_string())
}

/// The WAN MAC all routers share.
pub const SHARED_MAC: &str = "02:76:77:72:70:01";
/// vwrp's EtherType; `block_upstream` lets it through.
pub const VWRP_ETHERTYPE: u16 = 0x88b5;
/// The one address dnsmasq leases (prefix /24).
pub const WAN_ADDR: &str = "203.0.113.10";
/// The ISP's address on the WAN: default gateway, DNS and DHCP server.
pub const ISP_ADDR: &str = "203.0.113.1";
/// The host behind the ISP.
pub const SRV_ADDR: &str = "192.0.2.10";
/// The floating LAN gateway the active router holds (prefix /24).
pub const LAN_GATEWAY: &str = "198.51.100.1";
/// The LAN client.
pub const CLI_ADDR: &str = "198.51.100.100";
/// The host behind the ISP, IPv6 (`Opts::ipv6`).
pub const SRV_ADDR6: &str = "2001:db8:ffff::10";
/// The LAN's IPv6 default router: the link-local gateway address the
/// active router holds (`lan_gateway 'fe80::1/64@lan'`).
pub const LAN_GATEWAY6: &str = "fe80::1";

/// Test bed options.
#[derive(Clone, Debug)]
pub struct Opts {
    /// dnsmasq's lease time in seconds; dnsmasq's minimum is 120.
    pub lease_secs: u32,
    /// Extra dnsmasq arguments, e.g. `--dhcp-authoritative`, `--no-ping`.
    pub dnsmasq_args: Vec<String>,
    /// IPv6 on: Kea and radvd at the ISP, the host behind it and the LAN
    /// client dual stack (see the module's drawing).
    pub ipv6: bool,
}

impl Default for Opts {
    fn default() -> Self {
        Opts { lease_secs: 600, dnsmasq_args: Vec::new(), ipv6: false }
    }
}

/// A process started by [`Testbed::spawn`]. The bed owns the process (so
/// it can kill it on drop without ever hitting a recycled pid); use the id
/// with `pid`, `signal`, `wait`, `kill`, `proc_log`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcId(usize);

struct Proc {
    /// The command line, for failure reports.
    what: String,
    child: Child,
    exited: Option<ExitStatus>,
    log: PathBuf,
}

/// One test bed: namespaces, links, dnsmasq, and what the test spawned.
pub struct Testbed {
    prefix: String,
    routers: usize,
    dir: PathBuf,
    /// Namespaces created so far, so a half-built bed is cleaned up too.
    namespaces: Vec<netns::Netns>,
    procs: Vec<Proc>,
    mac_watch: Option<macwatch::MacWatch>,
    opts: Opts,
    dnsmasq: Option<ProcId>,
}

impl Testbed {
    /// Builds the bed with `routers` routers (1..=9) and starts dnsmasq.
    /// Every router's `wan` is left down: see [`Testbed::bring_up_wan`].
    pub fn new(routers: usize, opts: Opts) -> Testbed {
        assert!((1..=9).contains(&routers), "1..=9 routers, not {routers}");
        assert!(opts.lease_secs >= 120, "dnsmasq raises leases under 120 s to 120 s");
        cleanup_stale();
        let prefix = netns::next_prefix();
        let dir = std::env::temp_dir().join(&prefix);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut bed = Testbed {
            prefix,
            routers,
            dir,
            namespaces: Vec::new(),
            procs: Vec::new(),
            mac_watch: None,
            opts,
            dnsmasq: None,
        };
        bed.build();
        bed
    }

    /// `vw<pid>n<seq>`: the start of every name this bed owns.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn routers(&self) -> usize {
        self.routers
    }

    /// The bed's temp dir: logs, reports, and files a test wants to write.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every role of this bed: fixed ones, then `r1`..`rk`.
    pub fn roles(&self) -> Vec<String> {
        let mut roles: Vec<String> = ["isp", "srv", "wsw", "lsw", "cli"].iter().map(|r| r.to_string()).collect();
        roles.extend((1..=self.routers).map(Self::router));
        roles
    }

    /// The role name of router `n`: `r<n>`.
    pub fn router(n: usize) -> String {
        format!("r{n}")
    }

    /// Router n's port in `wsw` (and in `lsw`): named `r<n>` too.
    pub fn wan_port(n: usize) -> String {
        Self::router(n)
    }

    /// Router n's own LAN address, 198.51.100.(1+n).
    pub fn router_lan_addr(n: usize) -> String {
        format!("198.51.100.{}", n + 1)
    }

    /// Router n's LAN MAC, 02:76:77:72:6c:0n.
    pub fn router_lan_mac(n: usize) -> String {
        format!("02:76:77:72:6c:{n:02x}")
    }

    /// The namespace name of `role`. Panics on a role this bed lacks.
    pub fn ns_name(&self, role: &str) -> String {
        assert!(self.roles().iter().any(|r| r == role), "no role {role:?} in this bed");
        format!("{}-{role}", self.prefix)
    }

    fn ns_command<I, S>(&self, role: &str, argv: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let name = self.ns_name(role);
        let ns = self.namespaces.iter().find(|n| n.name == name).unwrap_or_else(|| panic!("no namespace {name}"));
        ns.command(argv)
    }

    /// Runs `argv` in `role`'s namespace to completion and returns its
    /// output, whatever its exit status. Panics if it cannot start or runs
    /// longer than [`EXEC_TIMEOUT`].
    pub fn exec<I, S>(&self, role: &str, argv: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.exec_timeout(role, argv, EXEC_TIMEOUT)
    }

    /// [`Testbed::exec`] with a time limit of your choice.
    pub fn exec_timeout<I, S>(&self, role: &str, argv: I, timeout: Duration) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let cmd = self.ns_command(role, argv);
        let what = format!("{cmd:?}");
        cmd::output(cmd, &self.dir, timeout).unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// Runs `argv` in `role`'s namespace, panics unless it succeeds, and
    /// returns its stdout.
    pub fn exec_ok<I, S>(&self, role: &str, argv: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let cmd = self.ns_command(role, argv);
        let what = format!("{cmd:?}");
        let out = cmd::output(cmd, &self.dir, EXEC_TIMEOUT).unwrap_or_else(|e| panic!("{what}: {e}"));
        String::from_utf8_lossy(&cmd::check(&what, out).stdout).into_owned()
    }

    /// Runs a root-namespace `ip` command line (split at whitespace);
    /// panics unless it succeeds.
    fn ip(&self, args: &str) {
        let mut cmd = Command::new("ip");
        cmd.args(args.split_whitespace());
        let what = format!("{cmd:?}");
        let out = cmd::output(cmd, &self.dir, EXEC_TIMEOUT).unwrap_or_else(|e| panic!("{what}: {e}"));
        cmd::check(&what, out);
    }

    /// Starts `argv` in `role`'s namespace in the background, stdout and
    /// stderr into one log file (see [`Testbed::proc_log`]). The process is
    /// killed and reaped when the bed is dropped.
    pub fn spawn<I, S>(&mut self, role: &str, argv: I) -> ProcId
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.ns_command(role, argv);
        let id = ProcId(self.procs.len());
        let log = self.dir.join(format!("proc-{}-{role}.log", id.0));
        let out = File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let err = out.try_clone().expect("dup log file");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        self.procs.push(Proc { what: format!("{cmd:?}"), child, exited: None, log });
        id
    }

    fn proc(&mut self, id: ProcId) -> &mut Proc {
        self.procs.get_mut(id.0).expect("ProcId from another bed")
    }

    /// The process's pid (it is the command itself: `ip netns exec` execs).
    pub fn pid(&self, id: ProcId) -> u32 {
        self.procs.get(id.0).expect("ProcId from another bed").child.id()
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn proc_log(&self, id: ProcId) -> String {
        let proc = self.procs.get(id.0).expect("ProcId from another bed");
        fs::read_to_string(&proc.log).unwrap_or_default()
    }

    /// Sends `sig` to the process, unless it has already been reaped.
    pub fn signal(&mut self, id: ProcId, sig: Signal) {
        let proc = self.proc(id);
        // Not yet reaped means the pid is still this process's (maybe a
        // zombie): it cannot have been recycled.
        if proc.exited.is_none() && proc.child.try_wait().ok().flatten().is_none() {
            let pid = i32::try_from(proc.child.id()).expect("pid fits i32");
            let _ = kill(Pid::from_raw(pid), sig);
        }
    }

    /// Waits up to `timeout` for the process to exit; `None` if it is still
    /// running.
    pub fn wait(&mut self, id: ProcId, timeout: Duration) -> Option<ExitStatus> {
        let proc = self.proc(id);
        if proc.exited.is_none() {
            proc.exited = cmd::wait_for_exit(&mut proc.child, timeout).expect("wait");
        }
        proc.exited
    }

    /// Whether the process is still running.
    pub fn running(&mut self, id: ProcId) -> bool {
        self.wait(id, Duration::ZERO).is_none()
    }

    /// SIGKILLs the process and reaps it; returns how it ended.
    pub fn kill(&mut self, id: ProcId) -> ExitStatus {
        self.signal(id, Signal::SIGKILL);
        self.wait(id, Duration::from_secs(10)).expect("SIGKILLed process did not exit")
    }

    /// Sets router n's `wan` up. Until then the router cannot put a frame
    /// on the WAN; bring it up only after the daemon has fenced it.
    pub fn bring_up_wan(&self, n: usize) {
        self.exec_ok(&Self::router(n), ["ip", "link", "set", "wan", "up"]);
    }

    /// Frames router n has sent into the WAN switch: rx_packets of its port
    /// in `wsw`. A fenced standby's stays where it was.
    pub fn wan_port_rx_packets(&self, n: usize) -> u64 {
        let path = format!("/sys/class/net/{}/statistics/rx_packets", Self::wan_port(n));
        let text = self.exec_ok("wsw", ["cat", path.as_str()]);
        text.trim().parse().unwrap_or_else(|e| panic!("rx_packets {text:?}: {e}"))
    }

    /// Pulls router n's cables: sets its ports in both switches down, so
    /// its `wan` and `lan` lose carrier. The router itself is untouched.
    pub fn pull_links(&self, n: usize) {
        self.set_ports(n, "down");
    }

    /// Plugs router n's cables back in (undoes [`Testbed::pull_links`]).
    pub fn plug_links(&self, n: usize) {
        self.set_ports(n, "up");
    }

    fn set_ports(&self, n: usize, state: &str) {
        let port = Self::wan_port(n);
        for switch in ["wsw", "lsw"] {
            self.exec_ok(switch, ["ip", "link", "set", port.as_str(), state]);
        }
    }

    /// Cuts router n off the upstream but not off its peers: in `wsw`,
    /// drops every frame entering from or leaving to router n's port,
    /// except EtherType [`VWRP_ETHERTYPE`]. Frames are dropped after the
    /// port's counters and the mac watch saw them.
    pub fn block_upstream(&self, n: usize) {
        let port = Self::wan_port(n);
        let rules = format!(
            "table netdev vwblock{n} {{
               chain in {{ type filter hook ingress device \"{port}\" priority 0;
                 ether type != 0x{VWRP_ETHERTYPE:04x} drop; }}
               chain out {{ type filter hook egress device \"{port}\" priority 0;
                 ether type != 0x{VWRP_ETHERTYPE:04x} drop; }}
             }}"
        );
        self.exec_ok("wsw", ["nft", rules.as_str()]);
    }

    /// Undoes [`Testbed::block_upstream`].
    pub fn unblock_upstream(&self, n: usize) {
        let table = format!("vwblock{n}");
        self.exec_ok("wsw", ["nft", "delete", "table", "netdev", table.as_str()]);
    }

    /// The running dnsmasq, e.g. to kill it (server outage).
    pub fn dnsmasq(&self) -> ProcId {
        self.dnsmasq.expect("dnsmasq started in new()")
    }

    /// Kills dnsmasq and starts it again with the same options, log and
    /// lease file (so it remembers the lease).
    pub fn restart_dnsmasq(&mut self) {
        let old = self.dnsmasq();
        self.kill(old);
        self.start_dnsmasq();
    }

    /// dnsmasq's log so far (`--log-dhcp`: every DHCP packet and option).
    pub fn dnsmasq_log(&self) -> String {
        fs::read_to_string(self.dir.join("dnsmasq.log")).unwrap_or_default()
    }

    /// dnsmasq's lease file (one line per lease).
    pub fn dnsmasq_leases(&self) -> String {
        // dnsmasq rewrites the file in place (truncate, then write) at
        // every lease change: an empty read may fall in between, so an
        // empty file is read again for 100 ms before it is believed.
        let read = || fs::read_to_string(self.dir.join("dnsmasq.leases")).unwrap_or_default();
        for _ in 0..5 {
            let text = read();
            if !text.is_empty() {
                return text;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        read()
    }

    /// Kea's log and lease file (`Opts::ipv6`).
    pub fn kea(&self) -> servers::KeaFiles {
        servers::KeaFiles { dir: self.dir.clone() }
    }

    /// Waits until the LAN client has a usable (not tentative) global
    /// address from the routers' advertisements, and returns it.
    pub fn wait_cli_address6(&self, timeout: Duration) -> Option<String> {
        let mut found = None;
        poll_until(timeout, || {
            let out =
                self.exec_ok("cli", ["ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global", "-tentative"]);
            found = out.split_whitespace().skip_while(|w| *w != "inet6").nth(1).map(|a| a.to_string());
            found.is_some()
        });
        found
    }

    /// The LAN client asks for router advertisements (a router
    /// solicitation to all routers, as a host does when its link comes
    /// up): only the active may answer.
    pub fn solicit_routers(&self) {
        let script = "import socket\n\
            s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)\n\
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)\n\
            s.sendto(bytes([133, 0, 0, 0, 0, 0, 0, 0]), ('ff02::2', 0, 0, socket.if_nametoindex('eth0')))\n";
        self.exec_ok("cli", ["python3", "-c", script]);
    }
}

/// Lines of each log shown when a test fails.
const LOG_TAIL_LINES: usize = 30;

fn log_tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

impl Drop for Testbed {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The harness shows this only for the failing test: the
            // daemons' last words are usually the explanation.
            for proc in &self.procs {
                let log = fs::read_to_string(&proc.log).unwrap_or_default();
                eprintln!("--- {} ---\n{}", proc.what, log_tail(&log));
            }
            eprintln!("--- dnsmasq.log ---\n{}", log_tail(&self.dnsmasq_log()));
            if self.opts.ipv6 {
                let kea = self.kea().log();
                let received: Vec<&str> = kea.lines().filter(|l| l.contains("DHCP6_PACKET_RECEIVED")).collect();
                eprintln!("--- kea.log (packets received) ---\n{}", log_tail(&received.join("\n")));
            }
        }
        for proc in &mut self.procs {
            if proc.exited.is_none() {
                let _ = proc.child.kill();
                let _ = proc.child.wait();
            }
        }
        // Each kills what is left inside and deletes itself.
        while self.namespaces.pop().is_some() {}
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("testbed: {}: {e}", self.dir.display());
        }
    }
}

/// Polls `cond` every 10 ms until it holds or `timeout` passes; returns
/// whether it held.
pub fn poll_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// [`SHARED_MAC`] as bytes.
pub fn shared_mac_bytes() -> [u8; 6] {
    let mut mac = [0u8; 6];
    for (byte, hex) in mac.iter_mut().zip(SHARED_MAC.split(':')) {
        *byte = u8::from_str_radix(hex, 16).expect("SHARED_MAC is hex");
    }
    mac
}
