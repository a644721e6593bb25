//! keepalived 2.x (Debian's, VRRPv3) on the same namespace test bed, as
//! the benchmark's reference: each router runs `keepalived --vrrp` with
//! one `vrrp_instance` on `lan` holding the LAN gateway.
//!
//! What keepalived does here is what it can do on its own: move the LAN
//! gateway address. The WAN side is static: each router has its own MAC
//! and its own address on the ISP's subnet (203.0.113.2n/24), its WAN up
//! and a default route, and masquerades out of it (the bed's NAT table).
//! No notify script moves a WAN address, and nothing fences a backup.
//!
//! [`Keepalived::start_nat`] sets it up for NAT continuity instead, as
//! conntrack-tools' documentation does (doc/sync/keepalived.conf): a
//! `vrrp_sync_group` of a LAN and a WAN instance, the WAN one holding the
//! public address 203.0.113.10 that every router SNATs to, whose notify
//! scripts run upstream's primary-backup.sh against a conntrackd on each
//! router (FTFW over the LAN, the same sync settings vwrp generates).

use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use vwrp::system::conntrackd::{self, Paths, Setup, Stats};

use crate::procstat;
use crate::support::{ISP_ADDR, LAN_GATEWAY, Opts, ProcId, Testbed, WAN_ADDR, poll_until};

pub const BIN: &str = "/usr/sbin/keepalived";
/// The VRRP router id of the LAN gateway.
const VRID: u8 = 51;
/// The VRRP router id of the WAN address, in NAT mode.
const WAN_VRID: u8 = 52;
/// conntrack-tools' script for keepalived's notify hooks (Debian's copy).
const PRIMARY_BACKUP: &str = "/usr/share/doc/conntrackd/examples/sync/primary-backup.sh";

pub struct Keepalived {
    pub bed: Testbed,
    pub daemons: Vec<Option<ProcId>>,
    priorities: Vec<u8>,
    advert_ms: u64,
    /// NAT continuity mode: conntrackd per router, notify scripts.
    nat: bool,
    pub conntrackd: Vec<Option<ProcId>>,
}

impl Keepalived {
    /// A bed with one router per priority, the static WAN set up, and
    /// keepalived started everywhere (all BACKUP, nopreempt, like vwrp's
    /// preempt off). Returns once one router holds the gateway.
    pub fn start(priorities: &[u8], advert_ms: u64) -> Result<Keepalived, String> {
        Keepalived::start_as(priorities, advert_ms, false)
    }

    /// The same, set up for NAT continuity (see the module's comment):
    /// conntrackd started on every router before keepalived.
    pub fn start_nat(priorities: &[u8], advert_ms: u64) -> Result<Keepalived, String> {
        Keepalived::start_as(priorities, advert_ms, true)
    }

    fn start_as(priorities: &[u8], advert_ms: u64, nat: bool) -> Result<Keepalived, String> {
        let bed = Testbed::new(priorities.len(), Opts::default());
        let mut k = Keepalived {
            bed,
            daemons: vec![None; priorities.len()],
            priorities: priorities.to_vec(),
            advert_ms,
            nat,
            conntrackd: vec![None; priorities.len()],
        };
        for n in 1..=priorities.len() {
            k.static_wan(n);
            k.write_config(n);
            if nat {
                k.start_conntrackd(n)?;
            }
        }
        // A fresh veth reports "up" only after the kernel's link watch ran
        // (up to a second): keepalived would start in FAULT.
        let lan_up =
            |n: usize| k.bed.exec_ok(&Testbed::router(n), ["cat", "/sys/class/net/lan/operstate"]).trim() == "up";
        if !poll_until(Duration::from_secs(5), || (1..=priorities.len()).all(lan_up)) {
            return Err("the routers' LAN links did not come up".into());
        }
        for n in 1..=priorities.len() {
            k.start_daemon(n);
        }
        for n in 1..=priorities.len() {
            k.wait_ready(n)?;
        }
        k.wait_master(None, Duration::from_secs(10))?;
        Ok(k)
    }

    fn static_wan(&self, n: usize) {
        let r = Testbed::router(n);
        let mac = format!("02:76:77:72:77:{n:02x}");
        let addr = format!("203.0.113.{}/24", 20usize.saturating_add(n));
        self.bed.exec_ok(&r, ["ip", "link", "set", "wan", "address", mac.as_str()]);
        self.bed.exec_ok(&r, ["ip", "addr", "add", addr.as_str(), "dev", "wan"]);
        self.bed.exec_ok(&r, ["ip", "link", "set", "wan", "up"]);
        self.bed.exec_ok(&r, ["ip", "route", "add", "default", "via", ISP_ADDR]);
    }

    fn path(&self, n: usize, what: &str) -> PathBuf {
        self.bed.dir().join(format!("ka-r{n}.{what}"))
    }

    fn write_config(&self, n: usize) {
        let prio = self.priorities.get(n.wrapping_sub(1)).copied().unwrap_or(100);
        // keepalived takes seconds with two decimals: VRRPv3 counts in
        // centiseconds, so 0.01 s is its shortest interval.
        let advert = format!("{}.{:02}", self.advert_ms / 1000, (self.advert_ms % 1000) / 10);
        let mut text = format!(
            "global_defs {{\n  router_id r{n}\n  vrrp_version 3\n}}\n\
             vrrp_instance lan {{\n  state BACKUP\n  nopreempt\n  interface lan\n  \
             virtual_router_id {VRID}\n  priority {prio}\n  advert_int {advert}\n  \
             virtual_ipaddress {{\n    {LAN_GATEWAY}/24 dev lan\n  }}\n}}\n"
        );
        if self.nat {
            let script = self.path(n, "primary-backup.sh");
            let script = script.display();
            text = format!(
                "global_defs {{\n  router_id r{n}\n  vrrp_version 3\n}}\n\
                 vrrp_sync_group G1 {{\n  group {{\n    lan\n    wan\n  }}\n  \
                 notify_master \"{script} primary\"\n  notify_backup \"{script} backup\"\n  \
                 notify_fault \"{script} fault\"\n}}\n{}\
                 vrrp_instance wan {{\n  state BACKUP\n  nopreempt\n  interface wan\n  \
                 virtual_router_id {WAN_VRID}\n  priority {prio}\n  advert_int {advert}\n  \
                 virtual_ipaddress {{\n    {WAN_ADDR}/24 dev wan\n  }}\n}}\n",
                text.split_once("}\n").map_or("", |(_, rest)| rest)
            );
        }
        std::fs::write(self.path(n, "conf"), text).expect("write keepalived config");
    }

    /// Router n's conntrackd files, apart from every other router's.
    pub fn conntrackd_paths(&self, n: usize) -> Paths {
        Paths::in_dir(&self.path(n, "conntrackd"))
    }

    /// NAT mode, on router n: SNAT to the shared WAN address, conntrackd's
    /// configuration and upstream's primary-backup.sh pointed at it, and
    /// conntrackd started (in the foreground, as the bed's process).
    fn start_conntrackd(&mut self, n: usize) -> Result<(), String> {
        let r = Testbed::router(n);
        self.bed.exec_ok(&r, ["nft", "flush", "chain", "inet", "vwrpnat", "postrouting"]);
        let snat = format!("add rule inet vwrpnat postrouting oifname \"wan\" snat ip to {WAN_ADDR}");
        self.bed.exec_ok(&r, ["nft", snat.as_str()]);
        let paths = self.conntrackd_paths(n);
        let lan: std::net::Ipv4Addr = Testbed::router_lan_addr(n).parse().map_err(|e| format!("{e}"))?;
        let own_wan = format!("203.0.113.{}", 20usize.saturating_add(n));
        let ignore = ["127.0.0.1", "::1", LAN_GATEWAY, own_wan.as_str()]
            .iter()
            .filter_map(|a| a.parse().ok())
            .chain([lan.into()])
            .collect();
        let setup =
            Setup { device: "lan".into(), address: lan, ignore, hash_limit: 2 * conntrackd::kernel_table_size() };
        let text = conntrackd::config(&setup, &paths)?;
        conntrackd::prepare(&text, &paths).map_err(|e| format!("conntrackd config: {e}"))?;
        let script = std::fs::read_to_string(PRIMARY_BACKUP).map_err(|e| format!("{PRIMARY_BACKUP}: {e}"))?;
        let script = script
            .replace("CONNTRACKD_LOCK=/var/lock/conntrack.lock", &format!("CONNTRACKD_LOCK={}", paths.lock.display()))
            .replace(
                "CONNTRACKD_CONFIG=/etc/conntrackd/conntrackd.conf",
                &format!("CONNTRACKD_CONFIG={}", paths.conf.display()),
            );
        let path = self.path(n, "primary-backup.sh");
        std::fs::write(&path, script).map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let conf = paths.conf.to_str().unwrap_or_default().to_string();
        let id = self.bed.spawn(&r, ["conntrackd", "-C", conf.as_str()]);
        self.conntrackd[n - 1] = Some(id);
        let ok = poll_until(Duration::from_secs(5), || self.conntrack_stats(n).is_some());
        ok.then_some(()).ok_or_else(|| format!("r{n}: conntrackd did not start: {}", self.bed.proc_log(id)))
    }

    /// Router n's conntrackd's caches and traffic (`conntrackd -s`).
    pub fn conntrack_stats(&self, n: usize) -> Option<Stats> {
        let conf = self.conntrackd_paths(n).conf;
        let out = self.bed.exec(&Testbed::router(n), ["conntrackd", "-C", conf.to_str()?, "-s"]);
        conntrackd::parse_stats(&String::from_utf8_lossy(&out.stdout))
    }

    /// Starts keepalived in the foreground, VRRP only (no health-check
    /// child), logging to the console, with pid files of its own.
    pub fn start_daemon(&mut self, n: usize) {
        let (conf, pid, vrrp_pid) = (self.path(n, "conf"), self.path(n, "pid"), self.path(n, "vrrp.pid"));
        let argv = [
            BIN,
            "--dont-fork",
            "--log-console",
            "--vrrp",
            "-f",
            conf.to_str().unwrap_or_default(),
            "-p",
            pid.to_str().unwrap_or_default(),
            "-r",
            vrrp_pid.to_str().unwrap_or_default(),
        ];
        let id = self.bed.spawn(&Testbed::router(n), argv);
        self.daemons[n - 1] = Some(id);
    }

    /// Waits until router n's VRRP child has started and chosen a state.
    pub fn wait_ready(&self, n: usize) -> Result<(), String> {
        let id = self.daemons[n - 1].ok_or(format!("r{n}: keepalived not running"))?;
        let ok = poll_until(Duration::from_secs(10), || {
            let log = self.bed.proc_log(id);
            log.contains("Startup complete") && log.contains("Entering BACKUP STATE")
        });
        ok.then_some(()).ok_or_else(|| format!("r{n}: keepalived did not start:\n{}", self.bed.proc_log(id)))
    }

    /// Routers that hold the LAN gateway address.
    pub fn holders(&self) -> Vec<usize> {
        (1..=self.priorities.len())
            .filter(|&n| {
                let out = self.bed.exec(&Testbed::router(n), ["ip", "-4", "-o", "addr", "show", "dev", "lan"]);
                String::from_utf8_lossy(&out.stdout).contains(&format!(" {LAN_GATEWAY}/"))
            })
            .collect()
    }

    /// Waits until one router other than `not` holds the gateway, and no
    /// router other than `not` besides it.
    pub fn wait_master(&self, not: Option<usize>, timeout: Duration) -> Result<usize, String> {
        let mut last = Vec::new();
        let ok = poll_until(timeout, || {
            last = self.holders().into_iter().filter(|&n| Some(n) != not).collect();
            last.len() == 1
        });
        match last.first() {
            Some(&n) if ok => Ok(n),
            _ => Err(format!("no single keepalived master: holders {last:?}")),
        }
    }

    /// The pid of router n's keepalived parent.
    pub fn pid(&self, n: usize) -> Option<u32> {
        self.daemons.get(n.wrapping_sub(1))?.map(|id| self.bed.pid(id))
    }

    /// Freezes router n's keepalived, parent and VRRP child: from now on
    /// it sends nothing, not even a goodbye. The parent first, so it
    /// cannot restart its child.
    pub fn freeze(&mut self, n: usize) {
        let Some(parent) = self.pid(n) else { return };
        for pid in procstat::tree(parent) {
            signal_pid(pid, Signal::SIGSTOP);
        }
    }

    /// SIGKILLs router n's frozen keepalived, the child before the parent:
    /// a child that outlives its parent gets SIGTERM (parent-death signal)
    /// and sends priority 0, which would make this a graceful handover.
    pub fn kill_frozen(&mut self, n: usize) {
        let Some(id) = self.daemons[n - 1].take() else { return };
        let parent = self.bed.pid(id);
        // The stopped parent cannot reap them: these pids stay theirs.
        for child in procstat::tree(parent).into_iter().filter(|&p| p != parent) {
            signal_pid(child, Signal::SIGKILL);
        }
        self.bed.kill(id);
    }

    /// SIGTERM: keepalived sends priority 0, drops the address and exits.
    pub fn stop(&mut self, n: usize) -> Result<(), String> {
        let id = self.daemons[n - 1].take().ok_or(format!("r{n}: keepalived not running"))?;
        self.bed.signal(id, Signal::SIGTERM);
        self.bed.wait(id, Duration::from_secs(10)).map(drop).ok_or_else(|| format!("r{n}: keepalived ignored SIGTERM"))
    }

    /// What a reboot would leave of a router keepalived crashed on: the
    /// static configuration, but not the gateway address nor the pid files
    /// (keepalived refuses to start while a pid in them still exists, and
    /// the killed child may linger as a zombie until init reaps it).
    pub fn reboot_clean(&self, n: usize) {
        for file in ["pid", "vrrp.pid"] {
            let _ = std::fs::remove_file(self.path(n, file));
        }
        let gw = format!("{LAN_GATEWAY}/24");
        let _ = self.bed.exec(&Testbed::router(n), ["ip", "addr", "del", gw.as_str(), "dev", "lan"]);
    }

    pub fn version() -> String {
        let out = std::process::Command::new(BIN).arg("--version").output();
        let text = out
            .map(|o| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
            .unwrap_or_default();
        text.lines().next().unwrap_or("keepalived (version unknown)").trim().to_string()
    }
}

fn signal_pid(pid: u32, sig: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(pid), sig);
    }
}
