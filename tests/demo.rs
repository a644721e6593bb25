//! `make demo`: vwrp's main job on an embedded default. Three routers
//! sharing one WAN MAC and one DHCP address, an ISP running dnsmasq with a
//! pool of exactly one address, a host behind the ISP and a LAN client,
//! all in network namespaces. Shows each router's status live, kills the
//! active router, then hands over gracefully, printing the client's outage
//! each time. Everything is removed on exit.

mod e2e;
mod support;

use std::time::{Duration, Instant};

use e2e::{Cluster, prio};
use support::{StreamReport, poll_until};

const HELLO_MS: u64 = 100;

fn table(c: &Cluster, title: &str) {
    println!("\n  {title}");
    println!("  {:<7} {:<13} {:>9} {:<18} last transition", "router", "role", "priority", "WAN address");
    for n in 1..=c.daemons.len() {
        let Some(s) = c.daemons[n - 1].and_then(|_| c.status(n)) else {
            println!("  r{n:<6} {:<13}", "(down)");
            continue;
        };
        let addr = if s["wan_open"] == true { s["lease"]["address"].as_str().unwrap_or("-") } else { "-" };
        let reason = s["transitions"][0]["reason"].as_str().unwrap_or("");
        println!(
            "  r{n:<6} {:<13} {:>4}/{:<4} {:<18} {}",
            s["state"].as_str().unwrap_or("?"),
            s["priority"],
            s["effective_priority"],
            addr,
            reason
        );
    }
}

fn watch(c: &Cluster, what: &str, secs: u64) {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(500));
    }
    table(c, what);
}

fn outage(label: &str, r: &StreamReport) -> String {
    format!("{label}: client outage {:.0} ms, {} of {} datagrams lost", r.longest_gap_ms, r.lost, r.sent)
}

fn main() {
    println!("vwrp demo: 3 routers (priority 200, 150, 100), one ISP address by DHCP, hello {HELLO_MS} ms");
    let mut c = Cluster::start(&prio(&[200, 150, 100]), HELLO_MS);
    println!("  namespaces: {}-*  (ISP dnsmasq pool: one address)", c.bed.prefix());
    let a = c.wait_one_active(Duration::from_secs(20));
    c.wait_lease(a, Duration::from_secs(30));
    table(&c, "after election: the best router is active with the ISP's only address");

    println!("\n1) hard failover: r{a}'s daemon is killed (SIGKILL) and its cables pulled");
    let rx = c.bed.stream_receiver(6000, Duration::from_secs(30));
    let tx = c.bed.stream_sender(6000, Duration::from_millis(10), Duration::from_secs(5));
    std::thread::sleep(Duration::from_secs(1));
    c.bed.kill(c.daemon(a));
    c.daemons[a - 1] = None;
    c.bed.pull_links(a);
    let b = c.wait_one_active(Duration::from_secs(10));
    watch(&c, "after the failover: same address, new router", 1);
    c.bed.wait(tx, Duration::from_secs(20));
    let hard = c.bed.stream_report(rx);
    println!("  {}", outage("hard failover", &hard));

    println!("\n2) graceful handover: `vwrp step-down` on r{b}");
    let rx = c.bed.stream_receiver(6001, Duration::from_secs(30));
    let tx = c.bed.stream_sender(6001, Duration::from_millis(1), Duration::from_secs(3));
    std::thread::sleep(Duration::from_secs(1));
    let out = c.cli(b, &["step-down"]);
    assert!(out.status.success(), "step-down failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(poll_until(Duration::from_secs(5), || c.actives().len() == 1 && c.actives()[0] != b), "no handover");
    watch(&c, "after the graceful handover", 1);
    c.bed.wait(tx, Duration::from_secs(20));
    let soft = c.bed.stream_report(rx);
    println!("  {}", outage("graceful handover", &soft));

    let log = c.bed.dnsmasq_log();
    println!(
        "\nISP's view: {} DHCPDISCOVER, {} DHCPACK, {} DHCPRELEASE; one lease line",
        log.matches("DHCPDISCOVER").count(),
        log.matches("DHCPACK").count(),
        log.matches("DHCPRELEASE").count()
    );
    println!("\nsummary (hello {HELLO_MS} ms, dead multiplier 3):");
    println!("  {}", outage("hard failover   ", &hard));
    println!("  {}", outage("graceful handover", &soft));
    println!("cleaning up namespaces");
}
