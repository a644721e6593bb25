//! End to end, on the real kernel: routers running the vwrp daemon in
//! network namespaces with a real dnsmasq ISP, a real udhcpc, real
//! nftables and AF_PACKET sockets. Every scenario asserts what can be
//! seen from outside the routers, and failover outages are printed
//! (`cargo test --test failover -- --nocapture`). Needs root.

mod e2e;
mod support;

use std::time::{Duration, Instant};

use e2e::{Cluster, RouterConf, prio};
use nix::sys::signal::Signal;
use support::{Opts, WAN_ADDR, interleaved, poll_until};

const HELLO_MS: u64 = 100;
const SECS: fn(u64) -> Duration = Duration::from_secs;

fn outage(what: &str, r: &support::StreamReport) {
    println!(
        "OUTAGE {what} (hello {HELLO_MS} ms, multiplier 3): {:.1} ms, lost {} of {}",
        r.longest_gap_ms, r.lost, r.sent
    );
}

/// Three routers, r1 active with the lease; returns the cluster.
fn three_up(confs: &[RouterConf]) -> Cluster {
    let c = Cluster::start(confs, HELLO_MS);
    assert_eq!(c.wait_one_active(SECS(15)), 1, "r1 has the best priority");
    c.wait_lease(1, SECS(20));
    // Standbys learned the lease from the active's hellos.
    for n in 2..=confs.len() {
        assert!(
            poll_until(SECS(5), || c.status(n).is_some_and(|s| s["lease"]["address"] == WAN_ADDR)),
            "r{n} lacks the lease"
        );
    }
    c
}

#[test]
fn cold_start_one_active_client_reaches_isp_standbys_silent_on_wan() {
    let mut c = Cluster::start(&prio(&[200, 150, 100]), HELLO_MS);
    assert_eq!(c.wait_one_active(SECS(15)), 1, "the higher priority router wins a cold start");
    c.wait_lease(1, SECS(20));
    let r = c.bed.udp_stream(5000, Duration::from_millis(10), SECS(1));
    assert_eq!(r.lost, 0, "client stream through the active lost datagrams\n{}", c.logs());
    for n in [2, 3] {
        assert_eq!(c.bed.wan_port_rx_packets(n), 0, "standby r{n} sent frames on the WAN");
    }
    assert!(c.bed.wan_port_rx_packets(1) > 0, "the active speaks on the WAN");
    // The human CLI view says the same.
    let out = c.cli(2, &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("STANDBY") && text.contains("peer 0x1 active"), "{text}");
    // A second daemon on a router refuses to start and leaves the first alone.
    let conf = c.config_path(2);
    let second = c.bed.exec("r2", [support::vwrp_bin(), "daemon", "-c", conf.to_str().unwrap()]);
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("another vwrp daemon is running"));
    assert_eq!(c.state(2), "standby");
}

#[test]
fn hard_failover_best_standby_takes_over_with_the_same_address() {
    let mut c = three_up(&prio(&[200, 150, 100]));
    let rx = c.bed.stream_receiver(5001, SECS(20));
    let tx = c.bed.stream_sender(5001, Duration::from_millis(10), SECS(6));
    std::thread::sleep(SECS(2));
    c.bed.kill(c.daemon(1));
    c.daemons[0] = None;
    c.bed.pull_links(1);
    assert_eq!(c.wait_one_active(SECS(5)), 2, "the best standby (r2) takes over");
    let st = c.wait_lease(2, SECS(5));
    assert_eq!(st["lease"]["address"], WAN_ADDR);
    c.bed.wait(tx, SECS(15));
    let r = c.bed.stream_report(rx);
    outage("hard failover (SIGKILL + links pulled)", &r);
    assert!(r.received > 0 && r.longest_gap_ms < 2000.0, "stream did not resume: {r:?}");
    // DHCP continuity: no release, no new DISCOVER, and r2 renewed.
    let log = c.bed.dnsmasq_log();
    assert!(!log.contains("DHCPRELEASE"), "a router released the lease:\n{log}");
    let discovers_after_ack = log.split_once("DHCPACK").map_or(0, |(_, rest)| rest.matches("DHCPDISCOVER").count());
    assert_eq!(discovers_after_ack, 0, "DISCOVER while the lease was valid:\n{log}");
    assert!(poll_until(SECS(5), || c.bed.dnsmasq_log().matches("DHCPACK").count() >= 2), "r2 never renewed:\n{log}");
    assert_eq!(c.bed.dnsmasq_leases().lines().count(), 1, "dnsmasq must see one client");
}

#[test]
fn hung_active_stops_forwarding_by_itself_and_mac_never_on_two_ports() {
    let mut c = three_up(&prio(&[200, 150, 100]));
    c.bed.start_mac_watch();
    std::thread::sleep(Duration::from_millis(500));
    c.bed.signal(c.daemon(1), Signal::SIGSTOP);
    let stopped = Instant::now();
    // Ask r2 only: the stopped r1 cannot answer its socket.
    assert!(poll_until(SECS(5), || c.state(2) == "active"), "r2 did not take over\n{}", c.logs());
    println!("OUTAGE hang: r2 active {:.0} ms after SIGSTOP of r1", stopped.elapsed().as_secs_f64() * 1000.0);
    // r1 is stopped but its kernel still forwards only while the permit
    // lasts: pings from r1's own namespace cannot leave once it lapsed.
    let leaked = c.bed.exec("r1", ["ping", "-c", "2", "-i", "0.2", "-W", "1", "203.0.113.1"]);
    assert!(!leaked.status.success(), "hung router still forwards");
    std::thread::sleep(Duration::from_millis(500));
    c.bed.signal(c.daemon(1), Signal::SIGCONT);
    std::thread::sleep(SECS(2));
    assert_eq!(c.actives(), vec![2], "the resumed router must not take the WAN back");
    let report = c.bed.mac_watch_report();
    assert!(!interleaved(&report), "shared MAC seen on two ports at once: {report:?}");
    assert!(report.iter().any(|(_, p)| *p == 2), "r2 never sourced the shared MAC");
}

fn graceful(c: &mut Cluster, what: &str, act: impl FnOnce(&mut Cluster)) -> support::StreamReport {
    let rx = c.bed.stream_receiver(5002, SECS(20));
    let tx = c.bed.stream_sender(5002, Duration::from_millis(1), SECS(4));
    std::thread::sleep(SECS(1));
    act(c);
    assert!(poll_until(SECS(5), || c.actives() == vec![2]), "r2 did not take over: {:?}\n{}", c.states(), c.logs());
    c.bed.wait(tx, SECS(15));
    let r = c.bed.stream_report(rx);
    outage(what, &r);
    r
}

#[test]
fn graceful_step_down_by_cli_loses_almost_nothing() {
    let mut c = three_up(&prio(&[200, 150, 100]));
    let r = graceful(&mut c, "graceful step-down (CLI)", |c| {
        let out = c.cli(1, &["step-down"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    });
    assert!(r.longest_gap_ms < 200.0, "graceful handover interrupted the stream: {r:?}");
    assert_eq!(c.state(1), "standby");
    assert!(
        c.transitions(2).iter().any(|(to, why)| to == "active" && why.contains("operator")),
        "{:?}",
        c.transitions(2)
    );
}

#[test]
fn graceful_sigterm_hands_over_then_exits() {
    let mut c = three_up(&prio(&[200, 150, 100]));
    let r = graceful(&mut c, "graceful SIGTERM", |c| {
        let d = c.daemon(1);
        c.bed.signal(d, Signal::SIGTERM);
    });
    assert!(r.longest_gap_ms < 200.0, "SIGTERM handover interrupted the stream: {r:?}");
    let status = c.bed.wait(c.daemon(1), SECS(5));
    assert!(status.is_some_and(|s| s.success()), "r1 did not exit cleanly after handing over");
    c.daemons[0] = None;
    assert!(!c.bed.dnsmasq_log().contains("DHCPRELEASE"));
}

#[test]
fn preemption_waits_for_its_delay() {
    let confs: Vec<RouterConf> = [200u8, 150]
        .iter()
        .map(|&p| RouterConf { priority: p, preempt: true, preempt_delay: "2s", ..Default::default() })
        .collect();
    let mut c = three_up(&confs);
    c.bed.kill(c.daemon(1));
    c.daemons[0] = None;
    assert_eq!(c.wait_one_active(SECS(5)), 2);
    c.start_daemon(1);
    let back = Instant::now();
    c.wait_socket(1);
    assert!(poll_until(SECS(10), || c.state(1) == "active"), "r1 never preempted\n{}", c.logs());
    let took = back.elapsed();
    println!("PREEMPT r1 active again {:.0} ms after restart (delay 2000 ms)", took.as_secs_f64() * 1000.0);
    assert!(took >= SECS(2), "preempted before its delay: {took:?}");
    assert!(
        c.transitions(1).iter().any(|(to, why)| to == "active" && why.contains("preempt")),
        "{:?}",
        c.transitions(1)
    );
    assert_eq!(c.wait_one_active(SECS(3)), 1);
}

#[test]
fn nft_flush_on_a_standby_is_undone_within_a_hello() {
    let c = three_up(&prio(&[200, 150]));
    let before = c.bed.wan_port_rx_packets(2);
    let t = Instant::now();
    c.bed.exec_ok("r2", ["nft", "flush", "ruleset"]);
    let back = poll_until(SECS(2), || c.bed.exec("r2", ["nft", "list", "table", "netdev", "vwrp"]).status.success());
    let took = t.elapsed();
    println!("FENCE restored {:.0} ms after nft flush ruleset (hello {HELLO_MS} ms)", took.as_secs_f64() * 1000.0);
    assert!(back, "fence never restored");
    // The daemon checks twice a hello; the margin covers spawning nft here.
    assert!(took < Duration::from_millis(HELLO_MS * 2), "fence restored too late: {took:?}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.bed.wan_port_rx_packets(2), before, "the standby leaked frames on the WAN");
    assert_eq!(c.actives(), vec![1]);
}

#[test]
fn reload_refuses_a_broken_config_and_applies_a_good_one_without_transition() {
    let mut c = three_up(&prio(&[200, 150]));
    let before = c.status(2).unwrap();
    let text = c.config_text(2, &c.confs[1]).replace("option priority '150'", "option priority '999'");
    let line = text.lines().position(|l| l.contains("'999'")).unwrap() + 1;
    std::fs::write(c.config_path(2), text).unwrap();
    c.bed.signal(c.daemon(2), Signal::SIGHUP);
    assert!(poll_until(SECS(3), || c.log(2).contains("reload refused")), "{}", c.log(2));
    let want = format!("r2.conf:{line}: option 'priority'");
    assert!(c.log(2).contains(&want), "error must name file, line and option ({want}):\n{}", c.log(2));
    assert_eq!(c.state(2), "standby", "daemon must keep running on the old config");
    let mut good = c.confs[1].clone();
    good.priority = 160;
    c.write_config(2, &good);
    c.bed.signal(c.daemon(2), Signal::SIGHUP);
    assert!(poll_until(SECS(3), || c.status(2).is_some_and(|s| s["priority"] == 160)), "new priority not applied");
    let after = c.status(2).unwrap();
    assert_eq!(after["counters"]["transitions"], before["counters"]["transitions"], "reload caused a transition");
    assert_eq!(c.actives(), vec![1]);

    // A new hello interval: the fence's renewal rule takes the new permit
    // ((3 − 1) × hello) in both tables before the engine counts on it.
    let fence = |c: &Cluster| {
        ["vwrp", "vwrp_owned"]
            .map(|t| c.bed.exec_ok(&support::Testbed::router(2), ["nft", "list", "table", "netdev", t]))
            .join("\n")
    };
    let renewal = |ms: u64| format!("update @open {{ oif timeout {ms}ms }}");
    assert_eq!(fence(&c).matches(&renewal(2 * HELLO_MS)).count(), 2, "{}", fence(&c));
    let slower = c
        .config_text(2, &good)
        .replace(&format!("hello_interval '{HELLO_MS}ms'"), &format!("hello_interval '{}ms'", 2 * HELLO_MS));
    std::fs::write(c.config_path(2), slower).unwrap();
    c.bed.signal(c.daemon(2), Signal::SIGHUP);
    assert!(
        poll_until(SECS(3), || fence(&c).matches(&renewal(4 * HELLO_MS)).count() == 2),
        "the renewal kept its timeout after the reload: {}\n{}",
        fence(&c),
        c.log(2)
    );
    assert_eq!(c.actives(), vec![1]);
}

fn acks(c: &Cluster) -> usize {
    c.bed.dnsmasq_log().matches("DHCPACK").count()
}

/// A standby the operator steps up while another router is active takes
/// the WAN by handover, runs its hook (a child process) and confirms the
/// lease with the server at once. The router build once died on exactly
/// this (a call through a null `getrandom`, issue 12).
#[test]
fn step_up_takes_over_from_the_active_runs_its_hook_and_renews() {
    let mut c = three_up(&prio(&[200, 150]));
    let before = acks(&c);
    let out = c.cli(2, &["step-up"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let done = poll_until(SECS(5), || !c.running(2) || (c.actives() == vec![2] && acks(&c) > before));
    c.assert_running(2);
    assert!(done, "r2 did not take over and renew: {:?}\n{}", c.states(), c.bed.dnsmasq_log());
    let hooks = c.hook_log(2);
    assert!(
        poll_until(SECS(3), || std::fs::read_to_string(&hooks).is_ok_and(|l| l.lines().last() == Some("active"))),
        "r2's hook did not run for active: {:?}",
        std::fs::read_to_string(&hooks)
    );
    std::thread::sleep(SECS(1));
    c.assert_running(2);
    c.assert_running(1);
    assert_eq!(c.states(), vec!["standby", "active"]);
    assert_eq!(c.bed.dnsmasq_leases().lines().count(), 1, "dnsmasq must see one client");
}

/// The active renews its lease at T1, again at every T1 the server grants
/// (3 s here, dnsmasq's shortest, instead of half the lease), and keeps
/// running. The router
/// build once died on its first renewal (issue 12).
#[test]
fn the_active_renews_at_t1_and_keeps_running() {
    let opts = Opts { dnsmasq_args: vec!["--dhcp-option=option:T1,3".into()], ..Opts::default() };
    let mut c = Cluster::start_with(&prio(&[200, 150]), HELLO_MS, opts);
    assert_eq!(c.wait_one_active(SECS(15)), 1);
    c.wait_lease(1, SECS(20));
    let before = acks(&c);
    let renewed = poll_until(SECS(10), || !c.running(1) || acks(&c) >= before + 2);
    c.assert_running(1);
    assert!(renewed, "r1 did not renew twice in 10 s with T1 = 3 s:\n{}", c.bed.dnsmasq_log());
    let log = c.bed.dnsmasq_log();
    let discovers = log.split_once("DHCPACK").map_or(0, |(_, rest)| rest.matches("DHCPDISCOVER").count());
    assert_eq!(discovers, 0, "a renewal is a REQUEST, never a DISCOVER:\n{log}");
    assert_eq!(c.actives(), vec![1]);
    assert_eq!(c.bed.dnsmasq_leases().lines().count(), 1, "dnsmasq must see one client");
}

/// Stops router 1's daemon with SIGTERM (as `/etc/init.d/vwrp restart`
/// does), lets `edit` change the lease it kept in its state directory,
/// starts it again and waits for it to hold the lease; returns dnsmasq's
/// log from the restart on.
fn restart_with_kept_lease(c: &mut Cluster, edit: impl FnOnce(String) -> String) -> String {
    let d = c.daemon(1);
    c.bed.signal(d, Signal::SIGTERM);
    assert!(c.bed.wait(d, SECS(5)).is_some_and(|s| s.success()), "r1 did not exit on SIGTERM");
    let kept = c.dir().join("r1/lease.wan");
    let text = std::fs::read_to_string(&kept).expect("r1 kept no lease in its state directory");
    assert!(text.contains(&format!("address {WAN_ADDR}\n")), "{text}");
    std::fs::write(&kept, edit(text)).unwrap();
    let before = c.bed.dnsmasq_log().len();
    c.start_daemon(1);
    c.wait_socket(1);
    c.wait_lease(1, SECS(20));
    c.bed.dnsmasq_log()[before..].to_string()
}

/// A daemon restarted with its lease still valid asks for it back with
/// INIT-REBOOT (a REQUEST for the address, no DISCOVER). A kept lease the
/// server refuses (NAK) is forgotten and DISCOVER follows; an expired one
/// is not asked for at all.
#[test]
fn a_restarted_daemon_asks_for_its_kept_lease_without_discover() {
    let mut c = Cluster::start(&prio(&[200]), HELLO_MS);
    assert_eq!(c.wait_one_active(SECS(15)), 1);
    c.wait_lease(1, SECS(20));
    let log = restart_with_kept_lease(&mut c, |t| t);
    assert!(log.contains(&format!("DHCPREQUEST(cust) {WAN_ADDR}")), "no REQUEST after the restart:\n{log}");
    assert!(!log.contains("DHCPDISCOVER") && !log.contains("DHCPNAK"), "the restart started over:\n{log}");
    assert!(c.log(1).contains("INIT-REBOOT"), "{}", c.log(1));
    // The server refuses an address it did not give this client: the kept
    // lease is forgotten, and DISCOVER gets the right one.
    let log = restart_with_kept_lease(&mut c, |t| t.replace(WAN_ADDR, "203.0.113.77"));
    let nak = log.find("DHCPNAK").unwrap_or_else(|| panic!("no NAK for the wrong address:\n{log}"));
    assert!(log[nak..].contains("DHCPDISCOVER"), "no DISCOVER after the NAK:\n{log}");
    // Expired while the daemon was down: straight to DISCOVER.
    let log = restart_with_kept_lease(&mut c, |t| {
        t.lines().map(|l| if l.starts_with("valid_left ") { "valid_left 0" } else { l }).collect::<Vec<_>>().join("\n")
    });
    let discover = log.find("DHCPDISCOVER").unwrap_or_else(|| panic!("no DISCOVER for an expired lease:\n{log}"));
    assert!(log.find("DHCPREQUEST").is_none_or(|r| r > discover), "an expired lease was asked for:\n{log}");
    assert!(!c.log(1).contains("INIT-REBOOT"), "an expired lease was asked for:\n{}", c.log(1));
}
