//! The two implementations behind one interface, so every scenario runs
//! the same steps against vwrp and keepalived.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::e2e::{Cluster, dual_stack};
use crate::keepalived::Keepalived;
use crate::support::{LAN_GATEWAY, LAN_GATEWAY6, Opts, Testbed, WAN_ADDR, poll_until};

/// Router priorities on both beds: three routers, the best one first.
pub const PRIORITIES: [u8; 3] = [200, 150, 100];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The router dies: its daemon is frozen (SIGSTOP), its cables are
    /// pulled, then the daemon is SIGKILLed. Frozen first, because a live
    /// daemon notices the WAN cable go (vwrp hands over on WAN carrier
    /// loss, in a few ms, before the LAN cable follows): that is not a
    /// hard failure.
    Hard,
    /// The operator hands over: `vwrp step-down`; keepalived: SIGTERM.
    Graceful,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Hard => "hard failover",
            Kind::Graceful => "graceful handover",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Kind::Hard => "hard",
            Kind::Graceful => "graceful",
        }
    }
}

pub trait Contender {
    fn name(&self) -> &'static str;
    fn bed(&mut self) -> &mut Testbed;
    /// The router that forwards now.
    fn active(&self, timeout: Duration) -> Result<usize, String>;
    /// Ends router n's term as `kind` says.
    fn fail(&mut self, n: usize, kind: Kind) -> Result<(), String>;
    /// Waits for a router other than `old` to take over.
    fn new_active(&self, old: usize, timeout: Duration) -> Result<usize, String>;
    /// Brings router n back as a standby, ready for the next run.
    fn restore(&mut self, n: usize, kind: Kind) -> Result<(), String>;
    /// The pid of router n's daemon (the parent, for keepalived).
    fn pid(&self, n: usize) -> Option<u32>;
    /// Router n's role now, for the per-router resource lines.
    fn role(&self, n: usize) -> String;
    /// Whether it forwards IPv6 too (an IPv6 stream runs beside the others).
    fn ipv6(&self) -> bool {
        false
    }
}

pub struct Vwrp {
    pub c: Cluster,
}

impl Vwrp {
    pub fn start(hello_ms: u64) -> Vwrp {
        Vwrp::start_with(&PRIORITIES, hello_ms)
    }

    /// A bed of `priorities.len()` routers, dual stack: the IPv6 outage is
    /// reported beside the IPv4 one.
    pub fn start_with(priorities: &[u8], hello_ms: u64) -> Vwrp {
        let opts = Opts { ipv6: true, ..Opts::default() };
        let c = Cluster::start_with(&dual_stack(priorities), hello_ms, opts);
        let a = c.wait_one_active(Duration::from_secs(30));
        c.wait_lease(a, Duration::from_secs(30));
        c.wait_lease6(a, Duration::from_secs(30));
        assert!(c.bed.wait_cli_address6(Duration::from_secs(20)).is_some(), "the LAN client has no IPv6 address");
        let v = Vwrp { c };
        for n in (1..=priorities.len()).filter(|&n| n != a) {
            v.wait_standby(n).unwrap_or_else(|e| panic!("{e}"));
        }
        v
    }

    /// Router n is a standby that knows the active's lease.
    fn wait_standby(&self, n: usize) -> Result<(), String> {
        let ok = poll_until(Duration::from_secs(15), || {
            self.c.status(n).is_some_and(|s| s["state"] == "standby" && s["lease"]["address"] == WAN_ADDR)
        });
        ok.then_some(())
            .ok_or_else(|| format!("vwrp r{n} is no standby with the lease: {:?}\n{}", self.c.states(), self.c.logs()))
    }

    /// What a reboot leaves of a router whose daemon was killed: no
    /// processes, WAN down without addresses or fence, no LAN gateway.
    fn reboot_clean(&self, n: usize) {
        let bed = &self.c.bed;
        let ns = bed.ns_name(&Testbed::router(n));
        // Orphans of the killed daemon (udhcpc, hooks), each by its pid.
        if let Ok(out) = std::process::Command::new("ip").args(["netns", "pids", ns.as_str()]).output() {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        let r = Testbed::router(n);
        let gw = format!("{LAN_GATEWAY}/24");
        bed.exec_ok(&r, ["ip", "link", "set", "wan", "down"]);
        bed.exec_ok(&r, ["ip", "addr", "flush", "dev", "wan"]);
        let _ = bed.exec(&r, ["nft", "delete", "table", "netdev", "vwrp"]);
        let _ = bed.exec(&r, ["ip", "addr", "del", gw.as_str(), "dev", "lan"]);
        let gw6 = format!("{LAN_GATEWAY6}/64");
        let _ = bed.exec(&r, ["ip", "addr", "del", gw6.as_str(), "dev", "lan"]);
        let _ = bed.exec(&r, ["ip", "-6", "addr", "flush", "dev", "lan", "scope", "global"]);
    }
}

impl Contender for Vwrp {
    fn name(&self) -> &'static str {
        "vwrp"
    }

    fn bed(&mut self) -> &mut Testbed {
        &mut self.c.bed
    }

    fn active(&self, timeout: Duration) -> Result<usize, String> {
        let mut last = Vec::new();
        let ok = poll_until(timeout, || {
            last = self.c.actives();
            last.len() == 1
        });
        match last.first() {
            Some(&n) if ok => Ok(n),
            _ => Err(format!("vwrp: no single active router: {:?}", self.c.states())),
        }
    }

    fn fail(&mut self, n: usize, kind: Kind) -> Result<(), String> {
        match kind {
            Kind::Hard => {
                let d = self.c.daemons[n - 1].take().ok_or(format!("vwrp r{n} not running"))?;
                self.c.bed.signal(d, Signal::SIGSTOP);
                self.c.bed.pull_links(n);
                self.c.bed.kill(d);
            }
            Kind::Graceful => {
                let out = self.c.cli(n, &["step-down"]);
                if !out.status.success() {
                    return Err(format!("vwrp step-down on r{n}: {}", String::from_utf8_lossy(&out.stderr)));
                }
            }
        }
        Ok(())
    }

    fn new_active(&self, old: usize, timeout: Duration) -> Result<usize, String> {
        let mut last = Vec::new();
        let ok = poll_until(timeout, || {
            last = self.c.actives();
            last.len() == 1 && last.first() != Some(&old)
        });
        match last.first() {
            Some(&n) if ok => Ok(n),
            _ => Err(format!("vwrp: nobody took over from r{old}: {:?}\n{}", self.c.states(), self.c.logs())),
        }
    }

    fn restore(&mut self, n: usize, kind: Kind) -> Result<(), String> {
        if kind == Kind::Hard {
            self.reboot_clean(n);
            self.c.bed.plug_links(n);
            self.c.start_daemon(n);
            let sock = self.c.socket(n);
            if !poll_until(Duration::from_secs(10), || sock.exists()) {
                return Err(format!("vwrp r{n} did not restart:\n{}", self.c.log(n)));
            }
            // Like a boot: link up only once the daemon has fenced it.
            self.c.bed.bring_up_wan(n);
        }
        self.wait_standby(n)
    }

    fn pid(&self, n: usize) -> Option<u32> {
        self.c.daemons.get(n.wrapping_sub(1))?.map(|id| self.c.bed.pid(id))
    }

    fn role(&self, n: usize) -> String {
        self.c.state(n)
    }

    fn ipv6(&self) -> bool {
        true
    }
}

impl Contender for Keepalived {
    fn name(&self) -> &'static str {
        "keepalived"
    }

    fn bed(&mut self) -> &mut Testbed {
        &mut self.bed
    }

    fn active(&self, timeout: Duration) -> Result<usize, String> {
        self.wait_master(None, timeout)
    }

    fn fail(&mut self, n: usize, kind: Kind) -> Result<(), String> {
        match kind {
            Kind::Hard => {
                self.freeze(n);
                self.bed.pull_links(n);
                self.kill_frozen(n);
                Ok(())
            }
            Kind::Graceful => self.stop(n),
        }
    }

    fn new_active(&self, old: usize, timeout: Duration) -> Result<usize, String> {
        // A killed keepalived leaves the address on its router: look past it.
        self.wait_master(Some(old), timeout)
    }

    fn restore(&mut self, n: usize, kind: Kind) -> Result<(), String> {
        if kind == Kind::Hard {
            self.reboot_clean(n);
            self.bed.plug_links(n);
        }
        self.start_daemon(n);
        self.wait_ready(n)?;
        let holders = self.holders();
        if holders.len() != 1 || holders.contains(&n) {
            return Err(format!("keepalived: gateway held by {holders:?} after r{n} came back"));
        }
        Ok(())
    }

    fn pid(&self, n: usize) -> Option<u32> {
        Keepalived::pid(self, n)
    }

    fn role(&self, n: usize) -> String {
        if self.holders().contains(&n) { "master".into() } else { "backup".into() }
    }
}
