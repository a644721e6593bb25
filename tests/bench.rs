//! `make bench`: vwrp against keepalived 2.x (VRRPv3), in one run, on the
//! namespace test bed. A LAN client streams UDP datagrams (one every
//! 1 ms and one every 10 ms, at the same time) through the active router
//! to the host behind the ISP; the outage of a run is the longest gap
//! between arrivals. vwrp's bed is dual stack: a third stream (every
//! 10 ms, over IPv6) runs beside those, reported beside its IPv4 twin. Each scenario runs N times per implementation,
//! alternating vwrp and keepalived. Then CPU, memory and size.
//!
//! Then NAT continuity: connections kept after a hard failover, vwrp with
//! `conntrack_sync` against keepalived with conntrackd and its notify
//! scripts, and conntrackd's cost per 1,000 connections.
//!
//! Prints a markdown table and writes bench/results.json. Method and
//! caveats: docs/BENCH.md. `VWRP_BENCH_RUNS=N` changes N (default 5);
//! `VWRP_BENCH=nat` runs the NAT continuity rows only, `VWRP_BENCH=resources`
//! the resources row only, `VWRP_BENCH=outage` the outage rows (and the
//! resources row with the 10 ms beds) without scaling and NAT;
//! `VWRP_BENCH_INTERVALS=100` (a comma list) runs those intervals only.

mod e2e;
mod support;

#[path = "bench/contenders.rs"]
mod contenders;
#[path = "bench/keepalived.rs"]
mod keepalived;
#[path = "bench/natsync.rs"]
mod natsync;
#[path = "bench/procstat.rs"]
mod procstat;
#[path = "bench/profile.rs"]
mod profile;
#[path = "bench/report.rs"]
mod report;
#[path = "bench/scaling.rs"]
mod scaling;

use std::time::{Duration, Instant};

use contenders::{Contender, Kind, PRIORITIES, Vwrp};
use keepalived::Keepalived;
use report::{Outcome, Resources, RouterCost, Series};
use serde_json::json;
use support::vwrp_bin;

/// Hello / advert intervals: 10 ms is keepalived's shortest (VRRPv3
/// counts centiseconds), 100 ms is vwrp's default, 1 s keepalived's.
const INTERVALS_MS: [u64; 3] = [10, 100, 1000];
/// The two client streams of every run.
const STREAMS_MS: [u64; 2] = [1, 10];
/// The IPv6 stream's interval, with an implementation that forwards IPv6.
const STREAM6_MS: u64 = 10;
const KINDS: [Kind; 2] = [Kind::Hard, Kind::Graceful];
/// Steady state over which CPU time is counted.
const CPU_WINDOW: Duration = Duration::from_secs(60);
/// Streaming before the failover starts.
const PRE_ROLL: Duration = Duration::from_secs(1);

fn main() {
    if std::env::args().any(|a| a == "--profile") {
        let secs = std::env::var("VWRP_BENCH_PROFILE_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
        let hello = std::env::var("VWRP_BENCH_PROFILE_HELLO").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
        println!("{}", profile::run(hello, Duration::from_secs(secs)));
        return;
    }
    let scaling_window =
        Duration::from_secs(std::env::var("VWRP_BENCH_SCALING_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(20));
    if std::env::args().any(|a| a == "--scaling") {
        println!("{}", scaling::markdown(&scaling::run(scaling_window), scaling_window));
        return;
    }
    let started = Instant::now();
    let runs: usize = std::env::var("VWRP_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5).max(1);
    if !std::path::Path::new(keepalived::BIN).exists() {
        eprintln!(
            "{} is missing: `make bench` installs Debian's keepalived (scripts/deps.sh keepalived)",
            keepalived::BIN
        );
        std::process::exit(1);
    }
    let part = std::env::var("VWRP_BENCH").unwrap_or_default();
    let nat_only = part == "nat";
    let resources_only = part == "resources";
    let intervals: Vec<u64> = match std::env::var("VWRP_BENCH_INTERVALS") {
        _ if nat_only => Vec::new(),
        _ if resources_only => vec![10],
        Ok(v) => v
            .split(',')
            .map(|x| x.trim().parse().expect("VWRP_BENCH_INTERVALS: milliseconds, comma-separated"))
            .collect(),
        Err(_) => INTERVALS_MS.to_vec(),
    };
    let runs = if resources_only { 0 } else { runs };
    let ka_version = Keepalived::version();
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let load_before = loadavg();
    if load_before > cpus as f64 {
        eprintln!(
            "WARNING: load average {load_before:.2} on {cpus} CPUs: other work will show up as outages and stalls"
        );
    }
    eprintln!(
        "vwrp vs {ka_version}: {runs} runs per scenario, intervals {intervals:?} ms, streams every {STREAMS_MS:?} ms"
    );

    let mut series: Vec<Series> = Vec::new();
    for &hello in intervals.iter().filter(|_| !resources_only) {
        for kind in KINDS {
            for imp in ["vwrp", "keepalived"] {
                let v6 = (imp == "vwrp").then_some((STREAM6_MS, true));
                for (stream_ms, ipv6) in STREAMS_MS.iter().map(|&s| (s, false)).chain(v6) {
                    series.push(Series {
                        imp,
                        kind,
                        hello_ms: hello,
                        stream_ms,
                        ipv6,
                        samples: Vec::new(),
                        failures: Vec::new(),
                    });
                }
            }
        }
    }

    let mut resources = None;
    for &hello in &intervals {
        eprintln!("\n== hello / advert_int {hello} ms: starting both beds");
        let mut v = start_bed("vwrp", || Ok(Vwrp::start(hello)));
        let mut k = start_bed("keepalived", || Keepalived::start(&PRIORITIES, hello));
        if hello == 10 {
            eprintln!("   measuring CPU over {} s of steady state, both at once", CPU_WINDOW.as_secs());
            resources = Some(measure(&v, &k));
        }
        let mut port: u16 = 7000;
        for i in 0..runs {
            for kind in KINDS {
                // Alternate who goes first, so drift hurts both alike.
                let order: [&mut dyn Contender; 2] = if i % 2 == 0 { [&mut v, &mut k] } else { [&mut k, &mut v] };
                for c in order {
                    port = port.wrapping_add(2);
                    let name = c.name();
                    let outcome = run_once(c, kind, hello, port);
                    let line = match &outcome {
                        Ok((o, o6)) => o
                            .iter()
                            .zip(STREAMS_MS)
                            .map(|(o, s)| format!("{s} ms stream {:.1} ms (lost {})", o.gap_ms, o.lost))
                            .chain(
                                o6.iter().map(|o| format!("{STREAM6_MS} ms IPv6 {:.1} ms (lost {})", o.gap_ms, o.lost)),
                            )
                            .collect::<Vec<_>>()
                            .join(", "),
                        Err(e) => format!("FAILED: {e}"),
                    };
                    eprintln!("   {hello:>4} ms {:<17} {name:<10} run {}/{runs}: {line}", kind.name(), i + 1);
                    for s in series.iter_mut().filter(|s| s.imp == name && s.kind == kind && s.hello_ms == hello) {
                        let got = match &outcome {
                            Ok((_, o6)) if s.ipv6 => o6.ok_or_else(|| "no IPv6 stream".to_string()),
                            Ok((o, _)) => Ok(o[STREAMS_MS.iter().position(|&m| m == s.stream_ms).expect("a stream")]),
                            Err(e) => Err(e.lines().next().unwrap_or_default().to_string()),
                        };
                        match got {
                            Ok(o) => s.samples.push(o),
                            Err(e) => s.failures.push(e),
                        }
                    }
                }
            }
        }
    }

    let scale = part.is_empty().then(|| {
        eprintln!("\n== scaling: 2, 4 and 8 routers, each bed alone");
        scaling::run(scaling_window)
    });
    let (nat_table, nat_json) =
        if part.is_empty() || nat_only { nat_continuity(runs.min(3)) } else { (String::new(), json!(null)) };

    let header = format!(
        "## vwrp vs keepalived\n\n{ka_version} (Debian, VRRPv3) and vwrp {}, 3 routers (priority 200, 150, 100, no preemption), \
         dead interval 3 × hello + skew, the skew of priority 255 for vwrp's best standby, its own for a keepalived backup; every run: r1 (200) active, r2 (150) takes over.\nvwrp moves the LAN gateway, the WAN address (one shared MAC and DHCP lease) and fences \
         every standby's WAN; keepalived moves only the LAN gateway (each router keeps its own static WAN address).\n\
         hard = daemon frozen, cables pulled, daemon SIGKILLed; graceful = `vwrp step-down` / keepalived SIGTERM (priority 0). \
         Lost = datagrams lost, median (and max). Same 2-core VM, same run: compare within a run, not across machines.\n",
        env!("CARGO_PKG_VERSION")
    );
    let load_after = loadavg();
    let header = format!(
        "{header}Load average (1 min) {load_before:.2} at the start, {load_after:.2} at the end, {cpus} CPUs.\n"
    );
    let table = if nat_only { String::new() } else { report::markdown(&series, resources.as_ref(), runs, &header) };
    println!("{table}");
    if let Some(scale) = &scale {
        println!("{}", scaling::markdown(scale, scaling_window));
    }
    println!("{nat_table}");
    let elapsed = started.elapsed().as_secs_f64();
    println!("benchmark took {elapsed:.0} s");
    let meta = json!({
        "runs_per_scenario": runs,
        "intervals_ms": INTERVALS_MS,
        "streams_ms": STREAMS_MS,
        "ipv6_stream_ms": STREAM6_MS,
        "routers": PRIORITIES.len(),
        "priorities": PRIORITIES,
        "dead_multiplier": 3,
        "keepalived": ka_version,
        "vwrp": env!("CARGO_PKG_VERSION"),
        "cpus": cpus,
        "loadavg_1min_start": load_before,
        "loadavg_1min_end": load_after,
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "elapsed_s": elapsed,
    });
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results.json");
    let mut results = report::json(&series, resources.as_ref(), meta);
    if let Some(scale) = &scale {
        results["scaling"] = scaling::json(scale);
    }
    results["nat_continuity"] = nat_json;
    let text = serde_json::to_string_pretty(&results).expect("JSON");
    std::fs::create_dir_all(out.parent().expect("bench dir")).expect("create bench/");
    std::fs::write(&out, text + "\n").unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    println!("results: {}", out.display());
}

/// `runs` hard failovers with 21 NAT flows open, vwrp then keepalived
/// (each with conntrackd), and conntrackd's cost on vwrp's bed: the
/// markdown rows and their JSON.
fn nat_continuity(runs: usize) -> (String, serde_json::Value) {
    eprintln!("\n== NAT continuity: {runs} hard failovers each, 21 flows through masquerade");
    let mut rows = Vec::new();
    let mut samples = Vec::new();
    for i in 0..runs {
        for (imp, run) in
            [("vwrp", natsync::vwrp as fn() -> Result<natsync::Kept, String>), ("keepalived", natsync::keepalived)]
        {
            match std::panic::catch_unwind(run) {
                Ok(Ok(k)) => {
                    eprintln!("   {imp:<10} run {}/{runs}: kept {}", i + 1, k.line());
                    rows.push(format!("| {} | {} |", k.imp, k.line()));
                    samples.push(json!({"imp": imp, "run": i + 1, "outcome": k.json()}));
                }
                Ok(Err(e)) => {
                    eprintln!("   {imp:<10} run {}/{runs}: FAILED: {e}", i + 1);
                    samples.push(json!({"imp": imp, "run": i + 1, "error": e}));
                }
                Err(_) => samples.push(json!({"imp": imp, "run": i + 1, "error": "panicked (above)"})),
            }
        }
    }
    let mut text = String::from(
        "## NAT continuity: connections kept after a hard failover\n\n\
         2 routers, hello / advert_int 100 ms; 10 TCP connections where the client sends every 50 ms, 10 where the \
         server pushes every 50 ms, 1 UDP flow the server sends to; r1 dies (frozen, cables pulled, killed) with them \
         open. Stall = the longest gap of each surviving flow across the failover: median (min–max).\n\n\
         | implementation | kept | stall | connections reset |\n|---|---|---|---|\n",
    );
    for r in rows {
        text.push_str(&r);
        text.push('\n');
    }
    let cost = match std::panic::catch_unwind(natsync::cost) {
        Ok(Ok(c)) => {
            text.push_str(&format!(
                "\nconntrackd's cost, vwrp's bed, {} server-first connections opened then closed: sync traffic from \
                 the active {:.0} bytes to open them, {:.0} to close them, {:.0} bytes/min idle; CPU {:.0} ms on the \
                 active's conntrackd, {:.0} ms on the standby's.\n",
                c.connections, c.open_bytes, c.close_bytes, c.idle_per_min, c.active_cpu_ms, c.standby_cpu_ms
            ));
            c.json()
        }
        Ok(Err(e)) => {
            eprintln!("   conntrackd cost: FAILED: {e}");
            json!({"error": e})
        }
        Err(_) => json!({"error": "panicked (above)"}),
    };
    (text, json!({"runs": samples, "cost": cost}))
}

/// The 1-minute load average.
fn loadavg() -> f64 {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().next().and_then(|l| l.parse().ok()).unwrap_or(0.0)
}

/// Starts a bed, up to three times: on a busy machine a daemon starved of
/// CPU for two hellos (20 ms at 10 ms) steps down, and vwrp's start-up
/// checks give up. The failure's logs are printed each time.
fn start_bed<T>(what: &str, f: impl Fn() -> Result<T, String>) -> T {
    for attempt in 1..=3 {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(&f)) {
            Ok(Ok(t)) => return t,
            Ok(Err(e)) => eprintln!("   {what}: start attempt {attempt} failed: {e}"),
            Err(_) => eprintln!("   {what}: start attempt {attempt} failed (above)"),
        }
    }
    panic!("{what}: the bed did not start three times");
}

/// Makes the best router (r1) the active one, by graceful handovers
/// (which go to the best standby), so that every run is the same for
/// both: r1 fails and r2 (priority 150) takes over (after keepalived's
/// skew for 150; vwrp's best standby adds that of 255).
/// Without preemption the active role otherwise wanders, differently on
/// the two beds. Returns the active router.
fn start_from_best(c: &mut dyn Contender, recover: Duration) -> Result<usize, String> {
    for _ in 0..PRIORITIES.len() {
        let a = c.active(Duration::from_secs(5))?;
        if a == 1 {
            return Ok(a);
        }
        c.fail(a, Kind::Graceful)?;
        c.new_active(a, recover)?;
        c.restore(a, Kind::Graceful)?;
    }
    Err(format!("{}: r1 did not become active", c.name()))
}

/// One failover of `kind` on `c`, with both client streams running;
/// then the old active is brought back as a standby.
fn run_once(
    c: &mut dyn Contender,
    kind: Kind,
    hello_ms: u64,
    port: u16,
) -> Result<([Outcome; 2], Option<Outcome>), String> {
    let hello = Duration::from_millis(hello_ms);
    // Room for a dead interval (3 hellos + skew) and a hello to spare.
    let recover = hello.saturating_mul(5).saturating_add(Duration::from_millis(500));
    let old = start_from_best(c, recover)?;
    let duration = PRE_ROLL.saturating_add(hello).saturating_add(recover).saturating_add(Duration::from_secs(1));
    let ipv6 = c.ipv6();
    let bed = c.bed();
    // The IPv6 stream's port: far above the ones the runs step through.
    let rx6 = ipv6.then(|| bed.stream_receiver6(port + 1000, duration + Duration::from_secs(15)));
    let rx = [
        bed.stream_receiver(port, duration + Duration::from_secs(15)),
        bed.stream_receiver(port + 1, duration + Duration::from_secs(15)),
    ];
    let tx = [
        bed.stream_sender(port, Duration::from_millis(STREAMS_MS[0]), duration),
        bed.stream_sender(port + 1, Duration::from_millis(STREAMS_MS[1]), duration),
    ];
    let tx6 = ipv6.then(|| bed.stream_sender6(port + 1000, Duration::from_millis(STREAM6_MS), duration));
    // A random point in the hello cycle, so both are hit at every phase
    // rather than where the fixed sleeps of this loop happen to fall.
    std::thread::sleep(PRE_ROLL.saturating_add(random_below(hello)));
    let acted = c.fail(old, kind);
    let took_over = acted.and_then(|()| c.new_active(old, recover));
    let bed = c.bed();
    for t in tx.into_iter().chain(tx6) {
        bed.wait(t, duration + Duration::from_secs(10));
    }
    let [r1, r10] = rx.map(|r| bed.stream_report(r));
    let r6 = rx6.map(|r| bed.stream_report(r));
    let restored = c.restore(old, kind);
    took_over?;
    restored?;
    std::thread::sleep(hello.saturating_mul(2).saturating_add(Duration::from_millis(200)));
    let outcome = |r: &support::StreamReport| {
        if r.sent_known && r.received > 0 {
            Ok(Outcome { gap_ms: r.longest_gap_ms, lost: r.lost, sent: r.sent })
        } else {
            Err(format!("the stream never came back ({} of {} received)", r.received, r.sent))
        }
    };
    Ok(([outcome(&r1)?, outcome(&r10)?], r6.as_ref().map(outcome).transpose()?))
}

fn random_below(d: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let r = std::collections::hash_map::RandomState::new().build_hasher().finish();
    let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1);
    Duration::from_nanos(r % nanos)
}

/// CPU over [`CPU_WINDOW`] of both implementations' daemons at once (no
/// streams), memory at its end, and binary sizes.
fn measure(v: &Vwrp, k: &Keepalived) -> (Resources, Resources) {
    let tck = procstat::clk_tck() as f64;
    let pids =
        |c: &dyn Contender| (1..=PRIORITIES.len()).map(|n| c.pid(n).expect("daemon running")).collect::<Vec<u32>>();
    let (vp, kp) = (pids(v), pids(k));
    let ticks = |p: &[u32]| p.iter().map(|&p| procstat::tree_cpu_ticks(p)).collect::<Vec<procstat::Ticks>>();
    // Let both settle after start-up (lease, first announcements).
    std::thread::sleep(Duration::from_secs(3));
    let (v0, k0, t0) = (ticks(&vp), ticks(&kp), Instant::now());
    std::thread::sleep(CPU_WINDOW);
    let (v1, k1, window) = (ticks(&vp), ticks(&kp), t0.elapsed().as_secs_f64());
    let one = |c: &dyn Contender, pids: &[u32], before: &[procstat::Ticks], after: &[procstat::Ticks], binary: &str| {
        let routers = pids
            .iter()
            .zip(before.iter().zip(after))
            .enumerate()
            .map(|(i, (&pid, (b, a)))| {
                let d = a.since(*b);
                RouterCost {
                    role: c.role(i + 1),
                    user_s: d.user as f64 / tck,
                    system_s: d.system as f64 / tck,
                    memory: procstat::tree_memory(pid),
                }
            })
            .collect();
        let (binary_bytes, libs, lib_bytes) = procstat::binary_size(binary);
        Resources { window_s: window, routers, binary: binary.to_string(), binary_bytes, libs, lib_bytes }
    };
    (one(v, &vp, &v0, &v1, vwrp_bin()), one(k, &kp, &k0, &k1, keepalived::BIN))
}
