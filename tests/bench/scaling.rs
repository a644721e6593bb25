//! The scaling row: 2, 4 and 8 routers at a 10 ms and a 100 ms hello, one
//! bed at a time (vwrp, then keepalived, each alone on the machine): CPU
//! per router over a window of steady state, and the frames all routers
//! send on the LAN per second. CPU from /proc/PID/schedstat: at 100 ms a
//! keepalived backup uses less than a 10 ms tick in a window.

use std::time::{Duration, Instant};

use crate::contenders::{Contender, Vwrp};
use crate::keepalived::Keepalived;
use crate::procstat;

pub const ROUTERS: [usize; 3] = [2, 4, 8];
pub const INTERVALS_MS: [u64; 2] = [10, 100];

/// One bed's figures.
#[derive(Clone, Debug)]
pub struct Point {
    pub imp: &'static str,
    pub routers: usize,
    pub hello_ms: u64,
    /// CPU seconds per second of one router, averaged over the routers.
    pub cpu_per_router: f64,
    /// Frames sent on the LAN by all routers, per second.
    pub lan_frames_per_s: f64,
}

/// Priorities 200, 190, … for `n` routers.
fn priorities(n: usize) -> Vec<u8> {
    (0..n).map(|i| 200u8.saturating_sub(10u8.saturating_mul(i as u8))).collect()
}

/// Frames the router's `lan` interface sent, from /proc/PID/net/dev of
/// its daemon (which lives in the router's namespace).
fn lan_tx(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim() == "lan")
        .and_then(|(_, rest)| rest.split_whitespace().nth(9).and_then(|x| x.parse().ok()))
        .unwrap_or(0)
}

fn measure(c: &dyn Contender, imp: &'static str, routers: usize, hello_ms: u64, window: Duration) -> Point {
    let pids: Vec<u32> = (1..=routers).map(|n| c.pid(n).expect("daemon running")).collect();
    // Settle after start-up (lease, first announcements, discovery).
    std::thread::sleep(Duration::from_secs(3));
    let cpu = || pids.iter().map(|&p| procstat::tree_cpu_ns(p)).sum::<u64>();
    let frames = || pids.iter().map(|&p| lan_tx(p)).sum::<u64>();
    let (c0, f0, t0) = (cpu(), frames(), Instant::now());
    std::thread::sleep(window);
    let (c1, f1, secs) = (cpu(), frames(), t0.elapsed().as_secs_f64());
    Point {
        imp,
        routers,
        hello_ms,
        cpu_per_router: c1.saturating_sub(c0) as f64 / 1e9 / secs / routers as f64,
        lan_frames_per_s: f1.saturating_sub(f0) as f64 / secs,
    }
}

/// Every point, each bed alone for `window`.
pub fn run(window: Duration) -> Vec<Point> {
    let mut points = Vec::new();
    for &hello in &INTERVALS_MS {
        for &n in &ROUTERS {
            let p = priorities(n);
            eprintln!("   scaling: {n} routers, {hello} ms, {} s each", window.as_secs());
            let v = crate::start_bed("vwrp", || Ok(Vwrp::start_with(&p, hello)));
            points.push(measure(&v, "vwrp", n, hello, window));
            drop(v);
            let k = crate::start_bed("keepalived", || Keepalived::start(&p, hello));
            points.push(measure(&k, "keepalived", n, hello, window));
        }
    }
    points
}

/// The markdown table: one line per interval and number of routers.
pub fn markdown(points: &[Point], window: Duration) -> String {
    let mut md = format!(
        "#### Scaling (each bed alone, {} s of steady state): CPU per router (% of a core) and LAN frames per second\n\n\
         | hello / advert_int | routers | vwrp CPU per router | keepalived CPU per router | vwrp/keepalived | \
         vwrp LAN frames/s | keepalived LAN frames/s |\n|---|---|---|---|---|---|---|\n",
        window.as_secs()
    );
    for &hello in &INTERVALS_MS {
        for &n in &ROUTERS {
            let get = |imp: &str| points.iter().find(|p| p.imp == imp && p.routers == n && p.hello_ms == hello);
            let (Some(v), Some(k)) = (get("vwrp"), get("keepalived")) else { continue };
            let ratio =
                if k.cpu_per_router > 0.0 { format!("{:.2}", v.cpu_per_router / k.cpu_per_router) } else { "-".into() };
            md.push_str(&format!(
                "| {hello} ms | {n} | {:.2} % | {:.2} % | {ratio} | {:.0} | {:.0} |\n",
                v.cpu_per_router * 100.0,
                k.cpu_per_router * 100.0,
                v.lan_frames_per_s,
                k.lan_frames_per_s
            ));
        }
    }
    md
}

/// The points for bench/results.json.
pub fn json(points: &[Point]) -> serde_json::Value {
    serde_json::Value::Array(
        points
            .iter()
            .map(|p| {
                serde_json::json!({
                    "implementation": p.imp,
                    "routers": p.routers,
                    "hello_ms": p.hello_ms,
                    "cpu_per_router_s_per_s": p.cpu_per_router,
                    "lan_frames_per_s": p.lan_frames_per_s,
                })
            })
            .collect(),
    )
}
