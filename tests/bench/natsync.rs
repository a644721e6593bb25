//! The NAT continuity rows of `make bench` (docs/NATSYNC.md): how many
//! long-lived connections through masquerade survive a hard failover,
//! vwrp with `conntrack_sync` against keepalived with conntrackd as
//! conntrack-tools documents it (keepalived::Keepalived::start_nat); and
//! what conntrackd costs per 1,000 connections on vwrp's bed.

use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{Value, json};

use crate::e2e::{Cluster, RouterConf};
use crate::keepalived::Keepalived;
use crate::procstat;
use crate::support::{FlowReport, FlowSpec, Flows, Testbed, poll_until, server_resets};
use vwrp::system::conntrackd::{self, Stats};

/// Two routers: r1 active, r2 takes over.
const PRIORITIES: [u8; 2] = [200, 150];
/// vwrp's default hello; keepalived's advert_int alike.
const HELLO_MS: u64 = 100;
/// Flows of each TCP kind (and one UDP flow), as in tests/natsync.rs.
const EACH: usize = 10;
/// Connections for the cost measurement.
const COST_CONNECTIONS: usize = 1000;

/// One hard failover's outcome for one implementation.
pub struct Kept {
    pub imp: &'static str,
    /// Flows alive at the end, and in all; per kind.
    pub kinds: Vec<(String, usize, usize)>,
    /// The longest stall of each surviving flow, ms.
    pub stalls: Vec<f64>,
    pub resets: usize,
}

impl Kept {
    fn from(imp: &'static str, report: &FlowReport, hard_at: f64, resets: usize) -> Kept {
        let mut kinds: Vec<(String, usize, usize)> = Vec::new();
        for f in &report.flows {
            let i = kinds.iter().position(|k| k.0 == f.kind).unwrap_or_else(|| {
                kinds.push((f.kind.clone(), 0, 0));
                kinds.len() - 1
            });
            kinds[i].1 += usize::from(f.alive());
            kinds[i].2 += 1;
        }
        let stalls = report.flows.iter().filter(|f| f.alive()).map(|f| f.stall(hard_at, f64::MAX)).collect();
        Kept { imp, kinds, stalls, resets }
    }

    pub fn kept(&self) -> (usize, usize) {
        self.kinds.iter().fold((0, 0), |(a, t), k| (a + k.1, t + k.2))
    }

    pub fn line(&self) -> String {
        let (alive, total) = self.kept();
        let kinds: Vec<String> = self.kinds.iter().map(|(k, a, t)| format!("{k} {a}/{t}")).collect();
        let mut s = self.stalls.clone();
        s.sort_by(f64::total_cmp);
        let stall = match (s.first(), s.get(s.len() / 2), s.last()) {
            (Some(lo), Some(mid), Some(hi)) => format!("{mid:.0} ms ({lo:.0}–{hi:.0})"),
            _ => "–".into(),
        };
        format!("{alive}/{total} ({}) | {stall} | {}", kinds.join(", "), self.resets)
    }

    pub fn json(&self) -> Value {
        let (alive, total) = self.kept();
        json!({"kept": alive, "total": total, "kinds": self.kinds, "stalls_ms": self.stalls, "resets": self.resets})
    }
}

fn spec(port: u16) -> FlowSpec {
    FlowSpec {
        tcp_port: port,
        udp_port: port + 1,
        client_first: EACH,
        server_first: EACH,
        udp: 1,
        interval_ms: 50,
        duration: Duration::from_secs(120),
    }
}

/// Waits until `stats` says the standby holds every flow in its
/// external cache.
fn wait_synced(what: &str, stats: impl Fn() -> Option<Stats>) -> Result<(), String> {
    let want = (2 * EACH + 1) as u64;
    let ok = poll_until(Duration::from_secs(10), || stats().is_some_and(|s| s.external >= want));
    ok.then_some(()).ok_or_else(|| format!("{what}: the standby did not receive the flows: {:?}", stats()))
}

/// vwrp, two routers with `conntrack_sync`: r1 dies with 21 flows open.
pub fn vwrp() -> Result<Kept, String> {
    let conf = |priority| RouterConf { priority, extra: "\toption conntrack_sync '1'\n".into(), ..Default::default() };
    let mut c = Cluster::start(&PRIORITIES.map(conf), HELLO_MS);
    c.wait_one_active(Duration::from_secs(15));
    c.wait_lease(1, Duration::from_secs(20));
    let ok = |n| c.status(n).is_some_and(|s| s["conntrack"]["state"] == "ok");
    if !poll_until(Duration::from_secs(10), || ok(1) && ok(2)) {
        return Err(format!("vwrp: conntrackd not ok:\n{}", c.logs()));
    }
    let flows = Flows::start(&mut c.bed, &spec(6100));
    let stats = |n| {
        let s = c.status(n)?;
        let s = &s["conntrack"];
        Some(Stats { external: s["external"].as_u64()?, ..Stats::default() })
    };
    wait_synced("vwrp", || stats(2))?;
    std::thread::sleep(Duration::from_secs(2));
    let hard_at = flows.at_ms();
    let d1 = c.daemons[0].take().ok_or("vwrp r1 not running")?;
    c.bed.signal(d1, Signal::SIGSTOP);
    c.bed.pull_links(1);
    c.bed.kill(d1);
    if !poll_until(Duration::from_secs(5), || c.actives() == vec![2]) {
        return Err(format!("vwrp: r2 did not take over: {:?}", c.states()));
    }
    std::thread::sleep(Duration::from_secs(5));
    let (report, log) = flows.finish(&mut c.bed);
    Ok(Kept::from("vwrp + conntrack_sync", &report, hard_at, server_resets(&log)))
}

/// keepalived with conntrackd and primary-backup.sh: r1 dies alike.
pub fn keepalived() -> Result<Kept, String> {
    let mut k = Keepalived::start_nat(&PRIORITIES, HELLO_MS)?;
    if k.holders() != vec![1] {
        return Err(format!("keepalived: r1 is not the master: {:?}", k.holders()));
    }
    let flows = Flows::start(&mut k.bed, &spec(6200));
    wait_synced("keepalived", || k.conntrack_stats(2))?;
    std::thread::sleep(Duration::from_secs(2));
    let hard_at = flows.at_ms();
    k.freeze(1);
    k.bed.pull_links(1);
    k.kill_frozen(1);
    if let Some(id) = k.conntrackd[0].take() {
        k.bed.kill(id);
    }
    k.wait_master(Some(1), Duration::from_secs(5))?;
    std::thread::sleep(Duration::from_secs(5));
    let (report, log) = flows.finish(&mut k.bed);
    Ok(Kept::from("keepalived + conntrackd", &report, hard_at, server_resets(&log)))
}

/// What conntrackd costs on vwrp's bed, per 1,000 connections.
pub struct Cost {
    /// Sync traffic the active's conntrackd sent, bytes: while idle (per
    /// minute), for opening the connections, for closing them.
    pub idle_per_min: f64,
    pub open_bytes: u64,
    pub close_bytes: u64,
    /// CPU time (user + system) of the active's and the standby's
    /// conntrackd over the open and close phases, ms.
    pub active_cpu_ms: f64,
    pub standby_cpu_ms: f64,
    pub connections: usize,
}

impl Cost {
    pub fn json(&self) -> Value {
        json!({
            "connections": self.connections,
            "idle_bytes_per_min": self.idle_per_min,
            "open_bytes": self.open_bytes,
            "close_bytes": self.close_bytes,
            "active_cpu_ms": self.active_cpu_ms,
            "standby_cpu_ms": self.standby_cpu_ms,
        })
    }
}

pub fn cost() -> Result<Cost, String> {
    let conf = |priority| RouterConf { priority, extra: "\toption conntrack_sync '1'\n".into(), ..Default::default() };
    let mut c = Cluster::start(&PRIORITIES.map(conf), HELLO_MS);
    c.wait_one_active(Duration::from_secs(15));
    c.wait_lease(1, Duration::from_secs(20));
    let pid = |n: usize| c.status(n).and_then(|s| s["conntrack"]["pid"].as_u64()).and_then(|p| u32::try_from(p).ok());
    if !poll_until(Duration::from_secs(10), || pid(1).is_some() && pid(2).is_some()) {
        return Err(format!("vwrp: conntrackd not running:\n{}", c.logs()));
    }
    let (p1, p2) = (pid(1).unwrap_or(0), pid(2).unwrap_or(0));
    let sent = |c: &Cluster| -> Result<u64, String> {
        let conf = c.dir().join("r1/conntrackd.conf");
        let out = c.bed.exec(&Testbed::router(1), ["conntrackd", "-C", conf.to_str().unwrap_or_default(), "-s"]);
        let s = conntrackd::parse_stats(&String::from_utf8_lossy(&out.stdout));
        s.map(|s| s.sent_bytes).ok_or_else(|| "conntrackd -s: no report".to_string())
    };
    let cpu = |p: u32| procstat::cpu_ticks(p).map_or(0, |t| t.user + t.system);
    std::thread::sleep(Duration::from_secs(2));
    let idle0 = sent(&c)?;
    std::thread::sleep(Duration::from_secs(20));
    let idle1 = sent(&c)?;
    let (a0, s0) = (cpu(p1), cpu(p2));
    let spec = FlowSpec {
        tcp_port: 6300,
        udp_port: 6301,
        client_first: 0,
        server_first: COST_CONNECTIONS,
        udp: 0,
        interval_ms: 1000,
        duration: Duration::from_secs(120),
    };
    let flows = Flows::start(&mut c.bed, &spec);
    std::thread::sleep(Duration::from_secs(5));
    let opened = sent(&c)?;
    let (report, _) = flows.finish(&mut c.bed);
    // Every connection, none reset or closed (with one push a second, the
    // last arrival may be a second old: not `alive()`'s test).
    let lost = report.flows.iter().filter(|f| f.error.is_some()).count();
    if report.flows.len() != COST_CONNECTIONS || lost > 0 {
        return Err(format!("{lost} of {} connections failed", report.flows.len()));
    }
    std::thread::sleep(Duration::from_secs(5));
    let closed = sent(&c)?;
    let (a1, s1) = (cpu(p1), cpu(p2));
    let ms = |ticks: u64| ticks as f64 * 1000.0 / procstat::clk_tck() as f64;
    // The idle rate runs on during the other phases: not counted twice.
    let idle_per_s = idle1.saturating_sub(idle0) as f64 / 20.0;
    let idle_5s = (idle_per_s * 5.0) as u64;
    Ok(Cost {
        idle_per_min: idle_per_s * 60.0,
        open_bytes: opened.saturating_sub(idle1).saturating_sub(idle_5s),
        close_bytes: closed.saturating_sub(opened).saturating_sub(idle_5s),
        active_cpu_ms: ms(a1.saturating_sub(a0)),
        standby_cpu_ms: ms(s1.saturating_sub(s0)),
        connections: COST_CONNECTIONS,
    })
}
