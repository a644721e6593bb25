//! NAT continuity (docs/NATSYNC.md), end to end on the real kernel: two
//! routers running vwrp, each with the real conntrackd (Debian's) that
//! vwrp starts and configures, masquerading a LAN client's connections to
//! a host behind the ISP.
//!
//! Long-lived flows (tests/tools/natflows.py) cross a hard failover (r1
//! frozen, cables pulled, killed), r1's return as a standby, then a
//! graceful handover back to r1. With `conntrack_sync` every flow keeps
//! exchanging data; without it the flows in which the server speaks first
//! after a failover die, which is what makes the test able to fail. The
//! DHCP and fence invariants of tests/failover.rs are checked on the way.
//! Needs root.

mod e2e;
mod support;

use std::time::Duration;

use e2e::{Cluster, RouterConf};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use support::{
    FlowReport, FlowSpec, Flows, LAN_GATEWAY, SRV_ADDR, Testbed, WAN_ADDR, interleaved, interleaved_beyond, poll_until,
    server_resets,
};

const HELLO_MS: u64 = 100;
/// How long the old active may still forward after the new one first
/// spoke in a graceful handover: within a hello, or it did not close.
const HANDOVER_GRACE: Duration = Duration::from_millis(HELLO_MS);
const SECS: fn(u64) -> Duration = Duration::from_secs;
const TCP_PORT: u16 = 6000;
const UDP_PORT: u16 = 6001;
/// Per kind and batch: 10 client-first and 10 server-first connections
/// and a UDP flow first, then 10 server-first and a UDP flow more.
const EACH: usize = 10;
/// How long a restarted standby's sync traffic is dropped: long enough
/// that its conntrackd's start-up request and its first probe fall in it.
const SYNC_DROPPED: Duration = Duration::from_secs(4);
/// How soon after its sync traffic flows again that standby's status
/// shows the active's connections: its daemon's next probe (within 5 s)
/// hears the active and asks for them, the answer takes milliseconds,
/// and the probe a second later reads it.
const RELEARN_BOUND: Duration = Duration::from_secs(10);
/// How soon after the active's conntrackd was killed the standby's status
/// shows the connections the active opened meanwhile: the active's daemon
/// starts it 5 s later, which sends them all once it hears the standby
/// (its first probe, a second later), and the standby's probe reads them
/// within 5 s.
const RESTART_RELEARN_BOUND: Duration = Duration::from_secs(15);
/// The nftables table that drops it, in the standby's namespace.
const DROP_TABLE: &str = "natsync_drop";

fn conf(priority: u8, sync: bool) -> RouterConf {
    let extra = if sync { "\toption conntrack_sync '1'\n".to_string() } else { String::new() };
    RouterConf { priority, extra, ..Default::default() }
}

/// Router n's `conntrack` status object (null without sync).
fn conntrack(c: &Cluster, n: usize) -> Value {
    c.status(n).map_or(Value::Null, |s| s["conntrack"].clone())
}

/// Kernel conntrack entries of router n for the flows' server ports.
fn kernel_entries(c: &Cluster, n: usize) -> usize {
    let r = Testbed::router(n);
    let out = c.bed.exec(&r, ["conntrack", "-L", "-d", SRV_ADDR]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&format!("dport={TCP_PORT} ")) || l.contains(&format!("dport={UDP_PORT} ")))
        .count()
}

/// The commands running in router n's namespace.
fn processes(c: &Cluster, n: usize) -> Vec<(i32, String)> {
    let ns = c.bed.ns_name(&Testbed::router(n));
    let out = std::process::Command::new("ip").args(["netns", "pids", ns.as_str()]).output().expect("ip netns pids");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
        .map(|p| (p, std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default().trim().to_string()))
        .collect()
}

/// Router n as a reboot leaves it after its daemon was killed: nothing
/// running, WAN down without address or fence, cables back in, then the
/// daemon started and the WAN brought up once it fenced it.
fn reboot(c: &mut Cluster, n: usize) {
    for (pid, _) in processes(c, n) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let r = Testbed::router(n);
    let gw = format!("{LAN_GATEWAY}/24");
    c.bed.exec_ok(&r, ["ip", "link", "set", "wan", "down"]);
    c.bed.exec_ok(&r, ["ip", "addr", "flush", "dev", "wan"]);
    let _ = c.bed.exec(&r, ["nft", "delete", "table", "netdev", "vwrp"]);
    let _ = c.bed.exec(&r, ["ip", "addr", "del", gw.as_str(), "dev", "lan"]);
    c.bed.plug_links(n);
    c.boot(n);
}

/// Drops router n's conntrackd traffic both ways (UDP port 3780), in its
/// namespace, until [`pass_sync`].
fn drop_sync(c: &Cluster, n: usize) {
    let port = 3780;
    let rules = format!(
        "add table inet {DROP_TABLE}; \
         add chain inet {DROP_TABLE} input {{ type filter hook input priority -300; udp dport {port} drop; }}; \
         add chain inet {DROP_TABLE} output {{ type filter hook output priority -300; udp dport {port} drop; }}"
    );
    c.bed.exec_ok(&Testbed::router(n), ["nft", rules.as_str()]);
}

fn pass_sync(c: &Cluster, n: usize) {
    c.bed.exec_ok(&Testbed::router(n), ["nft", "delete", "table", "inet", DROP_TABLE]);
}

/// What one run saw: the flows, and when each event began (ms after the
/// flows started).
struct Run {
    report: FlowReport,
    /// Connections the server lost (RST from a router without the entry).
    resets: usize,
    hard_at: f64,
    graceful_at: f64,
}

/// The whole scenario, with or without `conntrack_sync`.
fn scenario(sync: bool) -> Run {
    let mut c = Cluster::start(&[conf(200, sync), conf(150, sync)], HELLO_MS);
    assert_eq!(c.wait_one_active(SECS(15)), 1);
    c.wait_lease(1, SECS(20));
    if sync {
        for n in [1, 2] {
            assert!(
                poll_until(SECS(10), || conntrack(&c, n)["state"] == "ok"),
                "r{n}: conntrackd not ok: {}\n{}",
                conntrack(&c, n),
                c.logs()
            );
        }
    } else {
        assert_eq!(conntrack(&c, 1), Value::Null, "status without conntrack_sync");
    }
    c.bed.start_mac_watch();
    let spec = FlowSpec {
        tcp_port: TCP_PORT,
        udp_port: UDP_PORT,
        client_first: EACH,
        server_first: EACH,
        udp: 1,
        interval_ms: 50,
        duration: SECS(120),
    };
    let mut flows = Flows::start(&mut c.bed, &spec);
    let batch1 = 2 * EACH + 1;
    if sync {
        // The standby holds the active's connections, in conntrackd only.
        let synced = poll_until(SECS(5), || conntrack(&c, 2)["external"].as_u64() >= Some(batch1 as u64));
        assert!(synced, "r2 did not receive r1's connections: {}", conntrack(&c, 2));
        assert_eq!(kernel_entries(&c, 2), 0, "a standby's kernel must not hold the synced connections");
        assert_eq!(kernel_entries(&c, 1), batch1, "the active's kernel tracks every flow");
    }
    std::thread::sleep(SECS(2));

    // Hard failover: r1 dies.
    let hard_at = flows.at_ms();
    let d1 = c.daemon(1);
    c.bed.signal(d1, Signal::SIGSTOP);
    c.bed.pull_links(1);
    c.bed.kill(d1);
    c.daemons[0] = None;
    assert_eq!(c.wait_one_active(SECS(5)), 2, "r2 takes over");
    if sync {
        let commit = poll_until(SECS(3), || conntrack(&c, 2)["commit"]["result"] == "ok");
        assert!(commit, "r2's commit: {}", conntrack(&c, 2));
        println!("COMMIT r2 after the hard failover: {} ms", conntrack(&c, 2)["commit"]["took_ms"]);
        assert!(c.log(2).contains("conntrack commit ok after"), "{}", c.log(2));
        // conntrackd went with the daemon that started it.
        let left: Vec<_> = processes(&c, 1).into_iter().filter(|(_, comm)| comm == "conntrackd").collect();
        assert!(
            poll_until(SECS(2), || processes(&c, 1).iter().all(|(_, comm)| comm != "conntrackd")),
            "r1's conntrackd outlived its daemon: {left:?}"
        );
    }
    std::thread::sleep(SECS(3));

    // r1 comes back as a standby and learns r2's connections.
    let rebooted = c.bed.mac_watch_elapsed();
    reboot(&mut c, 1);
    assert!(poll_until(SECS(10), || c.state(1) == "standby"), "r1 did not come back: {:?}", c.states());
    if sync {
        let learned = poll_until(SECS(10), || conntrack(&c, 1)["external"].as_u64() >= Some(batch1 as u64));
        assert!(learned, "r1 did not learn r2's connections (r2 -R/-B, r1 StartupResync): {}", conntrack(&c, 1));
    }
    flows.second_batch(&mut c.bed);
    std::thread::sleep(SECS(2));

    // Graceful handover back to r1.
    let graceful_at = flows.at_ms();
    let out = c.cli(2, &["step-down"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(poll_until(SECS(5), || c.actives() == vec![1]), "r1 did not take over: {:?}", c.states());
    std::thread::sleep(SECS(3));
    if sync {
        assert_eq!(conntrack(&c, 1)["commit"]["result"], "ok", "{}", conntrack(&c, 1));
        // Nothing vwrp does flushes the old active's entries.
        // Both batches: the committed first, the second its masquerade made.
        let (kept, batch2) = (kernel_entries(&c, 2), EACH + 1);
        assert!(kept >= batch1 + batch2, "r2's entries were flushed after the handover: {kept} left");
        // With dhcp 'netifd', netifd removes the address of a router that
        // left the WAN, and masquerade flushes the entries it made (the
        // second batch's; the committed ones carry no masquerade device):
        // the flows live on the new active's entries, and the flush is no
        // news to it (r2's conntrackd forgot its own connections first).
        c.bed.exec_ok(&Testbed::router(2), ["ip", "addr", "flush", "dev", "wan"]);
        let flushed = poll_until(SECS(2), || kernel_entries(&c, 2) <= kept - batch2);
        assert!(flushed, "flushing r2's address flushed none of its entries: {} of {kept} left", kernel_entries(&c, 2));
        std::thread::sleep(SECS(2));
    }
    let (report, server_log) = flows.finish(&mut c.bed);
    let resets = server_resets(&server_log);
    let run = Run { report, resets, hard_at, graceful_at };
    print(&run, sync);

    // The invariants of the other scenarios hold with conntrackd running.
    let before = c.bed.wan_port_rx_packets(2);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(c.bed.wan_port_rx_packets(2), before, "the standby r2 sent frames on the WAN");
    // Each router's term, from the WAN switch: r1, r2, then r1 again.
    let frames = c.bed.mac_watch_report();
    let (first, second) = frames.split_at(frames.partition_point(|(t, _)| *t < rebooted));
    // The hard failover: the dead r1 sends nothing once r2 speaks.
    assert!(!interleaved(first), "shared MAC seen on two ports at once: {:?}", &first[..first.len().min(50)]);
    // The graceful handover: r2 forwards the flows until r1's READY
    // reaches it, after r1 announced (make before break, §6.1); then
    // nothing. A CI run on a loaded machine saw r2's frames there.
    let switch = second.windows(2).position(|w| w[0].1 != w[1].1).unwrap_or(0);
    assert!(
        !interleaved_beyond(second, HANDOVER_GRACE),
        "shared MAC seen on two ports beyond the handover's window: {:?}",
        &second[switch.saturating_sub(5)..(switch + 45).min(second.len())]
    );
    let log = c.bed.dnsmasq_log();
    assert!(!log.contains("DHCPRELEASE"), "a router released the lease:\n{log}");
    let discovers = log.split_once("DHCPACK").map_or(0, |(_, rest)| rest.matches("DHCPDISCOVER").count());
    assert_eq!(discovers, 0, "DISCOVER while the lease was valid:\n{log}");
    assert_eq!(c.bed.dnsmasq_leases().lines().count(), 1, "dnsmasq must see one client");
    assert_eq!(c.status(1).unwrap()["lease"]["address"], WAN_ADDR);
    run
}

fn print(run: &Run, sync: bool) {
    let what = if sync { "on" } else { "off" };
    for f in &run.report.flows {
        println!(
            "FLOW conntrack_sync {what}: {:<32} {:>4} arrivals, longest stall: hard failover {:>5.0} ms, \
             graceful handover {:>5.0} ms; {}",
            f.name(),
            f.arrivals,
            f.stall(run.hard_at, run.graceful_at),
            f.stall(run.graceful_at, f64::MAX),
            match &f.error {
                Some(e) => e.as_str(),
                None if f.alive() => "alive",
                None => "dead: nothing since",
            }
        );
    }
}

#[test]
fn with_conntrack_sync_every_connection_survives_a_failover_and_a_handover() {
    let run = scenario(true);
    let flows = &run.report.flows;
    assert_eq!(flows.len(), 3 * EACH + 2);
    for f in flows {
        assert!(f.alive(), "{} died\n{f:?}", f.name());
        assert!(f.longest_gap_ms < 3000.0, "{} stalled {} ms", f.name(), f.longest_gap_ms);
    }
    assert_eq!(run.resets, 0, "the server's connections were reset");
}

#[test]
fn without_conntrack_sync_the_connections_the_server_speaks_first_in_die() {
    let run = scenario(false);
    // Server-first TCP flows that died, by batch.
    let mut died = [0usize; 2];
    for f in &run.report.flows {
        match f.kind.as_str() {
            // A packet from the LAN makes the new router track it anew.
            "client-first" => assert!(f.alive(), "{} died\n{f:?}", f.name()),
            // The first packet comes from the server: RST, or dropped.
            kind => {
                let event = if f.batch == 1 { run.hard_at } else { run.graceful_at };
                if f.alive() {
                    // Over a graceful handover the two routers overlap a
                    // moment (PROTOCOL.md §8 (b)): the client's ACK of a
                    // segment the old one forwarded may reach the new one
                    // first, which picks the connection up in mid-stream.
                    // Over a hard failover the old one is gone before the
                    // new one forwards; a UDP client never speaks again.
                    assert!(kind == "server-first" && f.batch == 2, "{} survived without sync\n{f:?}", f.name());
                    continue;
                }
                if kind == "server-first" {
                    died[usize::from(f.batch - 1)] += 1;
                }
                // Alive until its event: the second batch crossed the
                // hard failover, opened after it.
                assert!(
                    (event - 1500.0..event + 1500.0).contains(&f.last_ms),
                    "{} fell silent at {} ms, not at its event ({event} ms)\n{f:?}",
                    f.name(),
                    f.last_ms
                );
            }
        }
    }
    println!(
        "NO SYNC server-first flows dead: {} of {EACH} over the hard failover, {} of {EACH} over the graceful handover",
        died[0], died[1]
    );
    assert_eq!(died[0], EACH, "server-first flows survived the hard failover");
    assert!(died[1] * 2 > EACH, "most server-first flows survived the graceful handover without sync");
    // The new active answers the server's next segment with a RST.
    assert_eq!(run.resets, died[0] + died[1], "the server's connections that died were reset");
}

/// A commit that does not end (conntrackd frozen) holds the takeover for
/// `prepare_timeout` only: the new active forwards, and says why its
/// connections were not kept, in its log and in status.
#[test]
fn a_takeover_whose_commit_hangs_goes_on_after_prepare_timeout_and_says_so() {
    let conf = |priority| RouterConf {
        priority,
        extra: "\toption conntrack_sync '1'\n\toption prepare_timeout '300ms'\n".into(),
        ..Default::default()
    };
    let mut c = Cluster::start(&[conf(200), conf(150)], HELLO_MS);
    assert_eq!(c.wait_one_active(SECS(15)), 1);
    c.wait_lease(1, SECS(20));
    assert!(poll_until(SECS(10), || conntrack(&c, 2)["state"] == "ok"), "{}", conntrack(&c, 2));
    let pid = conntrack(&c, 2)["pid"].as_i64().and_then(|p| i32::try_from(p).ok()).expect("conntrackd pid");
    kill(Pid::from_raw(pid), Signal::SIGSTOP).unwrap();

    let d1 = c.daemon(1);
    c.bed.signal(d1, Signal::SIGSTOP);
    c.bed.pull_links(1);
    c.bed.kill(d1);
    c.daemons[0] = None;
    assert_eq!(c.wait_one_active(SECS(5)), 2, "r2 takes over without its commit");
    let r = c.bed.udp_stream(5003, Duration::from_millis(10), SECS(1));
    assert!(r.received > 80 && r.longest_gap_ms < 100.0, "the new active does not forward: {r:?}");
    let commit = conntrack(&c, 2)["commit"].clone();
    assert_eq!(commit["result"], "timeout", "{commit}");
    assert!(commit["error"].as_str().is_some_and(|e| e.contains("prepare_timeout (300 ms)")), "{commit}");
    assert!(c.log(2).contains("took the WAN without it"), "{}", c.log(2));
    // The frozen conntrackd does not answer its probe either.
    assert!(poll_until(SECS(8), || conntrack(&c, 2)["state"] == "unreachable"), "{}", conntrack(&c, 2));

    kill(Pid::from_raw(pid), Signal::SIGCONT).unwrap();
    assert!(
        poll_until(SECS(5), || conntrack(&c, 2)["commit"]["took_ms"].is_u64()),
        "the commit never ended: {}",
        conntrack(&c, 2)
    );
    assert_eq!(conntrack(&c, 2)["commit"]["result"], "timeout");
    assert!(c.log(2).contains("conntrack commit timeout after"), "{}", c.log(2));
    assert!(poll_until(SECS(8), || conntrack(&c, 2)["state"] == "ok"), "{}", conntrack(&c, 2));
}

/// conntrackd's `StartupResync` is one unacknowledged request: a standby
/// that restarts while nobody hears it (here its sync traffic is dropped
/// for its first seconds) would hold none of the active's idle
/// connections until they change, and lose them all at a takeover. Its
/// daemon asks again (`conntrackd -n`) once its conntrackd hears the
/// others; on main this fails at "did not learn". Likewise the
/// connections an active opened while its conntrackd was down reach the
/// standby (its daemon has the new conntrackd send them all, `-B`).
#[test]
fn a_standby_whose_startup_resync_was_lost_learns_the_connections_anyway() {
    let mut c = Cluster::start(&[conf(200, true), conf(150, true)], HELLO_MS);
    assert_eq!(c.wait_one_active(SECS(15)), 1);
    c.wait_lease(1, SECS(20));
    for n in [1, 2] {
        assert!(poll_until(SECS(10), || conntrack(&c, n)["state"] == "ok"), "r{n}: {}", conntrack(&c, n));
    }
    // Server-first flows and a UDP flow: nothing from the LAN recreates
    // their entries on a new active that lacks them.
    let spec = FlowSpec {
        tcp_port: TCP_PORT,
        udp_port: UDP_PORT,
        client_first: 0,
        server_first: EACH,
        udp: 1,
        interval_ms: 50,
        duration: SECS(60),
    };
    let mut flows = Flows::start(&mut c.bed, &spec);
    let batch = EACH + 1;
    let synced = poll_until(SECS(5), || conntrack(&c, 2)["external"].as_u64() >= Some(batch as u64));
    assert!(synced, "r2 did not receive r1's connections: {}", conntrack(&c, 2));

    // r2 restarts; its sync traffic is dropped for its first seconds.
    let d2 = c.daemon(2);
    c.bed.kill(d2);
    c.daemons[1] = None;
    drop_sync(&c, 2);
    reboot(&mut c, 2);
    assert!(poll_until(SECS(10), || c.state(2) == "standby"), "r2 did not come back: {:?}", c.states());
    std::thread::sleep(SYNC_DROPPED);
    let external = conntrack(&c, 2)["external"].as_u64().unwrap_or(0);
    assert!(external < batch as u64, "r2 learned r1's connections while its sync traffic was dropped: {external}");
    pass_sync(&c, 2);
    let passed = std::time::Instant::now();
    let learned = poll_until(RELEARN_BOUND, || conntrack(&c, 2)["external"].as_u64() >= Some(batch as u64));
    assert!(
        learned,
        "r2 did not learn r1's connections within {RELEARN_BOUND:?} of its sync traffic flowing again: {}\n{}",
        conntrack(&c, 2),
        c.log(2)
    );
    println!("RELEARN r2: {} ms after its sync traffic flowed again", passed.elapsed().as_millis());
    assert!(c.log(2).contains("conntrackd -n: asking the other routers"), "{}", c.log(2));
    assert_eq!(kernel_entries(&c, 2), 0, "a standby's kernel must not hold the synced connections");

    // The active's conntrackd dies; connections opened before r1's daemon
    // starts it again (5 s later) reach r2 all the same.
    let pid = conntrack(&c, 1)["pid"].as_i64().and_then(|p| i32::try_from(p).ok()).expect("conntrackd pid");
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    assert!(poll_until(SECS(2), || conntrack(&c, 1)["state"] == "down"), "{}", conntrack(&c, 1));
    flows.second_batch(&mut c.bed);
    let killed = std::time::Instant::now();
    let both = 2 * batch as u64;
    let learned = poll_until(RESTART_RELEARN_BOUND, || conntrack(&c, 2)["external"].as_u64() >= Some(both));
    assert!(
        learned,
        "r2 did not learn the connections r1 opened while its conntrackd was down: {}\n{}",
        conntrack(&c, 2),
        c.log(1)
    );
    println!("RELEARN r2: {} ms after r1's conntrackd was killed", killed.elapsed().as_millis());
    assert!(c.log(1).contains("conntrackd -B: sending"), "{}", c.log(1));

    // A takeover keeps them.
    let d1 = c.daemon(1);
    c.bed.signal(d1, Signal::SIGSTOP);
    c.bed.pull_links(1);
    c.bed.kill(d1);
    c.daemons[0] = None;
    assert_eq!(c.wait_one_active(SECS(5)), 2, "r2 takes over");
    assert!(poll_until(SECS(3), || conntrack(&c, 2)["commit"]["result"] == "ok"), "{}", conntrack(&c, 2));
    std::thread::sleep(SECS(3));
    let (report, server_log) = flows.finish(&mut c.bed);
    assert_eq!(report.flows.len(), 2 * batch);
    for f in &report.flows {
        assert!(f.alive(), "{} died after the takeover\n{f:?}", f.name());
    }
    assert_eq!(server_resets(&server_log), 0, "the server's connections were reset");
}
