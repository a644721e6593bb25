//! The event loop never blocks, on the real kernel: routers running the vwrp
//! daemon in network namespaces (tests/support), with a real busybox
//! udhcpc as their child while the ISP's DHCP server is down, local
//! control clients that hold connections open or trickle bytes, and a loop
//! made to stall (feature `test-stall`, test builds only). Hellos are
//! timed on the wire by tcpdump in the LAN switch. Needs root.
//!
//! The daemon under test is `vwrp_bin()` (`make test`: the router build),
//! except in the stall test, which needs Cargo's build with the feature:
//! `cargo test --features test-stall --test event_loop -- --nocapture`.

mod e2e;
mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use e2e::{Cluster, RouterConf};
use nix::sys::signal::Signal;
use support::{Opts, Testbed, WAN_ADDR, poll_until, vwrp_bin};
use vwrp::control::{self, Request};

const HELLO_MS: u64 = 100;
const SECS: fn(u64) -> Duration = Duration::from_secs;
/// No DHCP at all: tests that are not about it start faster.
const NO_DHCP: &str = "\toption dhcp 'none'\n";

fn conf(priority: u8) -> RouterConf {
    RouterConf { priority, ..Default::default() }
}

/// Fields of /proc/PID/stat after the command name.
fn stat_fields(pid: u32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')').map_or(Vec::new(), |(_, rest)| rest.split_whitespace().map(str::to_string).collect())
}

/// Live (not zombie) children of `parent` whose command line mentions `name`.
fn children_named(parent: u32, name: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let f = stat_fields(pid);
        if f.first().is_some_and(|s| s != "Z") && f.get(1).is_some_and(|p| *p == parent.to_string()) {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(name) {
                found.push(pid);
            }
        }
    }
    found
}

fn alive(pid: u32) -> bool {
    stat_fields(pid).first().is_some_and(|s| s != "Z")
}

/// A field of /proc/PID/status, e.g. `SigBlk`.
fn status_field(pid: u32, name: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap_or("?").trim().to_string()
}

/// Router n's udhcpc, once its daemon runs one.
fn wait_udhcpc(c: &Cluster, n: usize) -> u32 {
    let daemon = c.bed.pid(c.daemon(n));
    let mut found = Vec::new();
    let ok = poll_until(SECS(5), || {
        found = children_named(daemon, "udhcpc");
        !found.is_empty()
    });
    assert!(ok, "r{n} runs no udhcpc\n{}", c.logs());
    found[0]
}

#[test]
fn preempted_while_the_dhcp_server_is_down_the_old_active_stays_responsive() {
    let confs = [conf(100), RouterConf { priority: 200, preempt: true, preempt_delay: "500ms", ..Default::default() }];
    let mut c = Cluster::with_daemons_down(&confs, HELLO_MS, Opts::default());
    let dnsmasq = c.bed.dnsmasq();
    c.bed.kill(dnsmasq);
    c.boot(1);
    assert!(poll_until(SECS(5), || c.state(1) == "active"), "r1 alone never became active\n{}", c.logs());
    let udhcpc = wait_udhcpc(&c, 1);
    // Started clean: nothing blocked or ignored, its own process group.
    assert_eq!(status_field(udhcpc, "SigBlk"), "0000000000000000", "udhcpc inherited blocked signals");
    assert_eq!(status_field(udhcpc, "SigIgn"), "0000000000000000", "udhcpc inherited ignored signals");
    assert_eq!(stat_fields(udhcpc).get(2).map(String::as_str), Some(udhcpc.to_string().as_str()), "process group");

    c.boot(2);
    assert!(poll_until(SECS(10), || c.state(2) == "active"), "r2 never preempted\n{}", c.logs());
    let t = Instant::now();
    let standby = poll_until(SECS(2), || c.state(1) == "standby");
    println!("RESPONSIVE r1 answered as standby {} ms after r2 was seen active", t.elapsed().as_millis());
    assert!(standby, "r1 does not answer as standby within 2 s: {:?}\n{}", c.states(), c.logs());
    assert!(poll_until(SECS(3), || !alive(udhcpc)), "r1's udhcpc {udhcpc} was never stopped");
    // Hellos go on both ways.
    std::thread::sleep(Duration::from_millis(500));
    let peers = |n: usize| c.status(n).map(|s| s["peers"].clone()).unwrap_or_default();
    assert_eq!(peers(2)[0]["alive"], true, "r2 no longer hears r1: {}", peers(2));
    assert_eq!(peers(1)[0]["state"], "active", "{}", peers(1));
    assert_eq!(c.actives(), vec![2]);
}

#[test]
fn sigterm_with_udhcpc_running_hands_over_losing_nothing_and_exits_quickly() {
    let mut c = Cluster::with_daemons_down(&[conf(200), conf(100)], HELLO_MS, Opts::default());
    let dnsmasq = c.bed.dnsmasq();
    c.bed.kill(dnsmasq);
    c.boot(1);
    c.boot(2);
    assert_eq!(c.wait_one_active(SECS(10)), 1);
    let udhcpc = wait_udhcpc(&c, 1);
    // The lease comes the way udhcpc's hook delivers it, while udhcpc
    // itself keeps asking a server that is down.
    let sock = c.socket(1);
    let out = c.bed.exec(
        "r1",
        [
            "env",
            "interface=wan",
            &format!("ip={WAN_ADDR}"),
            "mask=24",
            &format!("router={}", support::ISP_ADDR),
            &format!("serverid={}", support::ISP_ADDR),
            "lease=600",
            vwrp_bin(),
            "-s",
            sock.to_str().unwrap(),
            "lease-event",
        ],
    );
    assert!(out.status.success(), "lease-event: {}", String::from_utf8_lossy(&out.stderr));
    c.wait_lease(1, SECS(5));
    assert!(poll_until(SECS(5), || c.status(2).is_some_and(|s| s["lease"]["address"] == WAN_ADDR)), "r2 lacks it");
    assert!(alive(udhcpc), "udhcpc must still be running for this test");

    let rx = c.bed.stream_receiver(5003, SECS(20));
    let tx = c.bed.stream_sender(5003, Duration::from_millis(1), SECS(4));
    std::thread::sleep(SECS(1));
    let d1 = c.daemon(1);
    let t = Instant::now();
    c.bed.signal(d1, Signal::SIGTERM);
    let status = c.bed.wait(d1, SECS(5));
    let took = t.elapsed();
    c.daemons[0] = None;
    println!("EXIT r1 exited {} ms after SIGTERM with udhcpc running", took.as_millis());
    assert!(status.is_some_and(|s| s.success()), "r1 did not exit cleanly: {status:?}\n{}", c.logs());
    assert!(took < SECS(2), "r1 took {took:?} to exit");
    assert!(poll_until(SECS(2), || c.actives() == vec![2]), "r2 did not take over: {:?}", c.states());
    c.bed.wait(tx, SECS(15));
    let r = c.bed.stream_report(rx);
    println!("OUTAGE SIGTERM with udhcpc running: {:.1} ms, lost {} of {}", r.longest_gap_ms, r.lost, r.sent);
    assert_eq!(r.lost, 0, "the handover lost datagrams: {r:?}");
    assert!(!alive(udhcpc), "r1's udhcpc outlived it");
    assert!(!c.socket(1).exists(), "r1 left its socket file behind");
}

/// Keeps `n` connections to `path` open that never send a byte (the
/// daemon closes them at its deadline; they come back at once), and one
/// that sends a byte a second, until `stop`.
fn pester(path: std::path::PathBuf, n: usize, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(u64, u64)> {
    std::thread::spawn(move || {
        let connect = || {
            let s = UnixStream::connect(&path).expect("connect");
            s.set_nonblocking(true).unwrap();
            s
        };
        let mut idle: Vec<UnixStream> = (0..n).map(|_| connect()).collect();
        let mut slow = connect();
        let mut reconnects = 0;
        let mut trickled = 0;
        let mut next_byte = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            for s in idle.iter_mut().chain(std::iter::once(&mut slow)) {
                let mut b = [0u8; 256];
                // Closed by the daemon (or refused): come back.
                if s.read(&mut b).is_ok() {
                    *s = connect();
                    reconnects += 1;
                }
            }
            if Instant::now() >= next_byte {
                let _ = slow.write(b"{");
                trickled += 1;
                next_byte += SECS(1);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        (reconnects, trickled)
    })
}

/// Timestamps (s) of the hellos tcpdump printed, one per line
/// (`1700000000.123456789 02:76:… ethertype Unknown (0x88b5), …`).
fn frame_times(log: &str) -> Vec<f64> {
    log.lines().filter(|l| l.contains("(0x88b5)")).filter_map(|l| l.split_whitespace().next()?.parse().ok()).collect()
}

#[test]
fn idle_and_trickling_control_clients_never_delay_a_hello() {
    let confs = [200, 100].map(|p| RouterConf { priority: p, extra: NO_DHCP.into(), ..Default::default() });
    let mut c = Cluster::start(&confs, HELLO_MS);
    assert_eq!(c.wait_one_active(SECS(10)), 1);
    let before = c.status(1).unwrap();
    // r1's hellos as they enter the LAN switch.
    let mac = Testbed::router_lan_mac(1);
    let filter = format!("ether proto 0x88b5 and ether src {mac}");
    let dump = c.bed.spawn(
        "lsw",
        ["tcpdump", "-i", "r1", "-Q", "in", "-nn", "-l", "-tt", "--time-stamp-precision=nano", filter.as_str()],
    );
    assert!(poll_until(SECS(10), || c.bed.proc_log(dump).contains("listening on")), "{}", c.bed.proc_log(dump));

    let stop = Arc::new(AtomicBool::new(false));
    let pest = pester(c.socket(1), 50, stop.clone());
    let t0 = Instant::now();
    let mut answered = 0;
    let mut worst = Duration::ZERO;
    // Sequential, each its own connection; 30 s is ample (it takes ms).
    for _ in 0..1000 {
        if t0.elapsed() > SECS(30) {
            break;
        }
        let t = Instant::now();
        let reply = control::call(&c.socket(1), &Request::Status, SECS(2));
        worst = worst.max(t.elapsed());
        let state = |v: &vwrp::json::Value| {
            let g = v.get("groups").and_then(|g| g.as_array()?.first());
            g.and_then(|g| g.get("state")?.as_str()) == Some("active")
        };
        if reply.is_ok_and(|v| state(&v)) {
            answered += 1;
        }
    }
    let requests_took = t0.elapsed();
    std::thread::sleep(SECS(10).saturating_sub(t0.elapsed()));
    stop.store(true, Ordering::Relaxed);
    let (reconnects, trickled) = pest.join().unwrap();
    c.bed.signal(dump, Signal::SIGINT);
    c.bed.wait(dump, SECS(5));
    let times = frame_times(&c.bed.proc_log(dump));
    let gaps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) * 1000.0).collect();
    let max_gap = gaps.iter().copied().fold(0.0, f64::max);
    println!(
        "CLIENTS 50 idle + 1 trickling ({reconnects} reconnects, {trickled} bytes) for {:.1} s: {} hellos, \
         longest gap {max_gap:.1} ms (hello {HELLO_MS} ms); 1000 status requests in {} ms, slowest {} ms",
        t0.elapsed().as_secs_f64(),
        times.len(),
        requests_took.as_millis(),
        worst.as_millis()
    );
    assert!(times.len() >= 90, "too few hellos captured: {}", times.len());
    assert!(max_gap < (HELLO_MS + 20) as f64, "a hello came {max_gap:.1} ms after the one before");
    assert_eq!(answered, 1000, "status requests left unanswered");
    let after = c.status(1).unwrap();
    assert_eq!(after["counters"]["stalls"], 0, "the active's permit lapsed");
    assert_eq!(after["counters"]["transitions"], before["counters"]["transitions"], "a transition happened");
    assert_eq!(c.actives(), vec![1]);
}

#[test]
fn a_stalled_loop_ends_the_process_and_the_standby_takes_over() {
    // The stall request exists only in a test build of the daemon.
    let bin = env!("CARGO_BIN_EXE_vwrp").to_string();
    let confs = [200, 100].map(|p| RouterConf {
        priority: p,
        extra: NO_DHCP.into(),
        daemon_bin: Some(bin.clone()),
        ..Default::default()
    });
    let mut c = Cluster::start(&confs, HELLO_MS);
    assert_eq!(c.wait_one_active(SECS(10)), 1);
    let mut s = UnixStream::connect(c.socket(1)).unwrap();
    let t = Instant::now();
    s.write_all(b"{\"cmd\":\"test_stall\",\"ms\":30000}\n").unwrap();
    let d1 = c.daemon(1);
    let status = c.bed.wait(d1, SECS(6));
    let took = t.elapsed();
    c.daemons[0] = None;
    println!("WATCHDOG r1 ended {} ms into a 30 s stall (bound 2000 ms)", took.as_millis());
    let log = c.bed.proc_log(d1);
    assert!(log.contains("test_stall: holding"), "the stall never began:\n{log}");
    assert_eq!(status.and_then(|s| s.code()), Some(vwrp::daemon::EXIT_STALLED), "r1 was not ended by its watchdog");
    assert!(took >= SECS(2) && took < SECS(4), "ended after {took:?}");
    assert!(log.contains("event loop stalled"), "no word of it in the log:\n{log}");
    assert!(poll_until(SECS(2), || c.actives() == vec![2]), "r2 did not take over: {:?}", c.states());
    // procd starts it again: it comes back as a standby.
    c.start_daemon(1);
    c.wait_socket(1);
    assert!(poll_until(SECS(5), || c.state(1) == "standby"), "r1 did not come back: {:?}", c.states());
    assert_eq!(c.actives(), vec![2]);
}

#[test]
fn status_into_a_closed_pipe_ends_quietly() {
    let c = Cluster::start(&[RouterConf { extra: NO_DHCP.into(), ..Default::default() }], HELLO_MS);
    let sock = c.socket(1);
    // A reader that is gone before the first byte: every write fails.
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    drop(read_end);
    let out = Command::new(vwrp_bin())
        .args(["-s", sock.to_str().unwrap(), "status"])
        .stdout(Stdio::from(write_end))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.is_empty(), "vwrp status complained into a closed pipe: {err}");
    use std::os::unix::process::ExitStatusExt;
    assert!(out.status.success() || out.status.signal() == Some(Signal::SIGPIPE as i32), "{:?}", out.status);
    // As an operator types it.
    let cmd = format!("{} -s {} status | head -1", vwrp_bin(), sock.display());
    let out = Command::new("sh").args(["-c", &cmd]).output().unwrap();
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}
