//! The test bed on its own, without any vwrp daemon: r1 is made the
//! forwarder by hand, and everything the end-to-end tests will rely on is
//! checked against what the kernel, dnsmasq and udhcpc really did.

mod support;

use std::fs;
use std::process::Command;
use std::time::Duration;

use support::{
    ISP_ADDR, LAN_GATEWAY, Opts, SHARED_MAC, SRV_ADDR, Testbed, WAN_ADDR, cleanup_stale, interleaved,
    interleaved_beyond, namespaces, poll_until,
};

/// busybox udhcpc event script: installs the lease on `$interface`.
const UDHCPC_SCRIPT: &str = r#"#!/bin/sh
case "$1" in
    bound|renew)
        ip addr replace "$ip/$mask" dev "$interface"
        ip route replace default via "${router%% *}" dev "$interface"
        ;;
esac
exit 0
"#;

/// What a user does with shell commands to make router n forward: WAN up,
/// one DHCP exchange, LAN gateway address.
fn make_forwarder_by_hand(tb: &Testbed, n: usize) -> String {
    let script = tb.dir().join("udhcpc.script");
    fs::write(&script, UDHCPC_SCRIPT).expect("write udhcpc script");
    Command::new("chmod").arg("+x").arg(&script).status().expect("chmod");
    tb.bring_up_wan(n);
    let role = Testbed::router(n);
    let out = tb.exec_timeout(
        &role,
        ["busybox", "udhcpc", "-i", "wan", "-q", "-f", "-n", "-s", script.to_str().expect("utf-8 path")],
        Duration::from_secs(30),
    );
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "udhcpc failed: {log}\ndnsmasq: {}", tb.dnsmasq_log());
    let gateway = format!("{LAN_GATEWAY}/24");
    tb.exec_ok(&role, ["ip", "addr", "replace", gateway.as_str(), "dev", "lan"]);
    log
}

#[test]
fn one_router_forwards_by_hand_and_the_other_stays_silent() {
    let prefix;
    {
        let mut tb = Testbed::new(2, Opts::default());
        prefix = tb.prefix().to_string();
        assert_eq!(tb.wan_port_rx_packets(1), 0, "r1 sent before its wan was up");
        tb.start_mac_watch();

        let udhcpc = make_forwarder_by_hand(&tb, 1);
        assert!(udhcpc.contains(&format!("lease of {WAN_ADDR} obtained")), "{udhcpc}");
        let addrs = tb.exec_ok("r1", ["ip", "-4", "-o", "addr", "show", "dev", "wan"]);
        assert!(addrs.contains(&format!("inet {WAN_ADDR}/24")), "{addrs}");
        let routes = tb.exec_ok("r1", ["ip", "route", "show", "default"]);
        assert!(routes.contains(&format!("default via {ISP_ADDR} dev wan")), "{routes}");

        let report = tb.udp_stream(40000, Duration::from_millis(1), Duration::from_secs(1));
        assert!(report.sent_known, "FIN never arrived: {report:?}");
        assert_eq!(report.sent, 1000, "{report:?}");
        assert_eq!(report.lost, 0, "{report:?}");
        assert_eq!(report.received, report.sent, "{report:?}");

        assert_eq!(tb.wan_port_rx_packets(2), 0, "r2 put frames on the WAN");
        let r2_wan = tb.exec_ok("r2", ["ip", "-o", "link", "show", "dev", "wan"]);
        assert!(r2_wan.contains("state DOWN"), "{r2_wan}");

        let watch = tb.mac_watch_report();
        assert!(watch.iter().all(|&(_, port)| port == 1), "shared MAC seen off r1: {watch:?}");
        // Everything r1 sent came from the shared MAC, the stream included.
        let r1_sent = tb.wan_port_rx_packets(1);
        assert!(r1_sent >= 1000, "r1 sent only {r1_sent} frames");
        assert_eq!(watch.len() as u64, r1_sent, "mac watch missed frames");
        assert!(!interleaved(&watch));
        assert!(watch.windows(2).all(|w| w[0].0 <= w[1].0), "watch report out of order");

        let log = tb.dnsmasq_log();
        assert!(log.contains(&format!("DHCPDISCOVER(cust) {SHARED_MAC}")), "{log}");
        assert!(log.contains(&format!("DHCPACK(cust) {WAN_ADDR} {SHARED_MAC}")), "{log}");
        assert!(tb.dnsmasq_leases().contains(SHARED_MAC), "{}", tb.dnsmasq_leases());

        // Control: the instruments do see a standby that talks.
        tb.start_mac_watch();
        ping_isp(&tb, 1);
        tb.bring_up_wan(2);
        let wan = format!("{WAN_ADDR}/24");
        tb.exec_ok("r2", ["ip", "addr", "add", wan.as_str(), "dev", "wan"]);
        ping_isp(&tb, 2);
        ping_isp(&tb, 1);
        let watch = tb.mac_watch_report();
        assert!(interleaved(&watch), "r1, r2, r1 not seen as interleaved: {watch:?}");
        assert!(tb.wan_port_rx_packets(2) > 0);
    }
    let left: Vec<String> = namespaces().into_iter().filter(|ns| ns.starts_with(&prefix)).collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
    assert!(!std::env::temp_dir().join(&prefix).exists(), "temp dir left behind");
}

fn ping_isp(tb: &Testbed, n: usize) {
    tb.exec_ok(&Testbed::router(n), ["ping", "-n", "-q", "-c", "1", "-W", "2", ISP_ADDR]);
}

fn pings(tb: &Testbed, role: &str, to: &str) -> bool {
    tb.exec(role, ["ping", "-n", "-q", "-c", "1", "-W", "1", to]).status.success()
}

#[test]
fn cables_and_upstream_can_be_cut_and_restored() {
    let opts = Opts { dnsmasq_args: vec!["--no-ping".into()], ..Opts::default() };
    let mut tb = Testbed::new(2, opts);
    make_forwarder_by_hand(&tb, 1);
    assert!(pings(&tb, "cli", SRV_ADDR), "no path through r1");
    tb.start_mac_watch();

    tb.pull_links(1);
    let wan = tb.exec_ok("r1", ["ip", "-o", "link", "show", "dev", "wan"]);
    let lan = tb.exec_ok("r1", ["ip", "-o", "link", "show", "dev", "lan"]);
    assert!(wan.contains("NO-CARRIER") && lan.contains("NO-CARRIER"), "{wan}{lan}");
    assert!(!pings(&tb, "cli", SRV_ADDR), "path survived pulled cables");
    tb.plug_links(1);
    // The client's stale neighbour entry is reprobed once a second.
    let back = poll_until(Duration::from_secs(5), || pings(&tb, "cli", SRV_ADDR));
    assert!(back, "path not back after plugging in");
    // The watch outlived its port going down.
    let watch = tb.mac_watch_report();
    assert!(watch.iter().any(|&(_, port)| port == 1), "{watch:?}");

    tb.block_upstream(1);
    assert!(!pings(&tb, "r1", ISP_ADDR), "blocked router still reaches the ISP");
    let isp_rx = || {
        let n = tb.exec_ok("isp", ["cat", "/sys/class/net/cust/statistics/rx_packets"]);
        n.trim().parse::<u64>().expect("rx_packets")
    };
    let before = isp_rx();
    tb.exec_ok("r1", [PYTHON, "-c", SEND_VWRP_FRAME]);
    assert_eq!(isp_rx(), before + 1, "vwrp's EtherType did not pass the block");
    tb.unblock_upstream(1);
    assert!(pings(&tb, "r1", ISP_ADDR), "unblocked router does not reach the ISP");

    tb.restart_dnsmasq();
    let udhcpc = make_forwarder_by_hand(&tb, 1);
    assert!(udhcpc.contains(&format!("lease of {WAN_ADDR} obtained")), "{udhcpc}");

    // The stream sees a 300 ms cut as one gap with the datagrams it lost.
    let rx = tb.stream_receiver(40001, Duration::from_secs(20));
    let tx = tb.stream_sender(40001, Duration::from_millis(1), Duration::from_secs(2));
    std::thread::sleep(Duration::from_millis(700));
    tb.block_upstream(1);
    std::thread::sleep(Duration::from_millis(300));
    tb.unblock_upstream(1);
    let report = tb.stream_report(rx);
    assert!(tb.wait(tx, Duration::from_secs(10)).is_some_and(|s| s.success()));
    assert!((280.0..1000.0).contains(&report.longest_gap_ms), "{report:?}");
    assert!((250..1000).contains(&report.lost), "{report:?}");
    let cut = report.gaps.iter().find(|g| g.gap_ms == report.longest_gap_ms);
    assert!(cut.is_some_and(|g| g.missing > 0), "{report:?}");
}

const PYTHON: &str = "/usr/bin/python3";

/// Sends one broadcast frame of vwrp's EtherType from the shared MAC on `wan`.
const SEND_VWRP_FRAME: &str = r#"
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("wan", 0))
head = bytes.fromhex("ffffffffffff" "027677727001" "88b5")
s.send(head + b"vwrp testbed".ljust(46, b"\0"))
"#;

#[test]
fn interleaving_is_a_port_coming_back() {
    let at = |ms: u64, port: usize| (Duration::from_millis(ms), port);
    assert!(!interleaved(&[]));
    assert!(!interleaved(&[at(0, 1), at(1, 1), at(2, 2), at(3, 2)]));
    assert!(!interleaved(&[at(0, 1), at(1, 2), at(2, 3)]));
    assert!(interleaved(&[at(0, 1), at(1, 2), at(2, 1)]));
    assert!(interleaved(&[at(0, 1), at(1, 2), at(2, 3), at(3, 1)]));
    // A handover's make before break: the old port within the grace only.
    let grace = Duration::from_millis(100);
    assert!(!interleaved_beyond(&[at(0, 1), at(10, 2), at(60, 1), at(110, 1), at(120, 2)], grace));
    assert!(interleaved_beyond(&[at(0, 1), at(10, 2), at(111, 1)], grace));
    assert!(interleaved_beyond(&[at(0, 1), at(10, 2), at(20, 3), at(30, 1)], grace), "not the port just left");
}

/// Deletes a namespace this test made, also if the test fails.
struct NsGuard(String);

impl Drop for NsGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

fn add_namespace(name: &str) -> NsGuard {
    let ok = Command::new("ip").args(["netns", "add", name]).status().expect("ip");
    assert!(ok.success(), "ip netns add {name}");
    NsGuard(name.to_string())
}

#[test]
fn cleanup_stale_removes_only_beds_of_dead_processes() {
    let mut gone = Command::new("true").spawn().expect("spawn true");
    let dead_pid = gone.id();
    gone.wait().expect("reap true");
    let dead = add_namespace(&format!("vw{dead_pid}n0-r1"));
    let live = add_namespace(&format!("vw{}n999999-r1", std::process::id()));
    let foreign = add_namespace(&format!("vwx{dead_pid}-r1"));

    let removed = cleanup_stale();
    let now = namespaces();
    // A parallel Testbed::new may have removed `dead` first.
    assert!(!now.contains(&dead.0), "{removed:?}");
    assert!(now.contains(&live.0), "a live process's bed was removed");
    assert!(now.contains(&foreign.0), "a name outside the scheme was removed");
}
