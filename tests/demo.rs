//! `make demo`: vwrp's main job on an embedded default. Three routers
//! sharing one WAN MAC and one DHCP address, an ISP running dnsmasq with a
//! pool of exactly one address (and Kea's DHCPv6 with one address and one
//! delegated prefix), a host behind the ISP and a dual-stack LAN client,
//! all in network namespaces. Shows each router's status live, kills the
//! active router, then hands over gracefully, printing the client's outage
//! each time over IPv4 and IPv6, then what the ISP saw. Both switches are captured to
//! target/demo/*.pcap. Everything else is removed on exit.

mod e2e;
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::{Cluster, KEY, dual_stack};
use support::{Opts, StreamReport, poll_until, tshark_command};

const HELLO_MS: u64 = 100;
/// The two streams: one datagram per interval, for so long.
const HARD_INTERVAL: Duration = Duration::from_millis(10);
const HARD_FOR: Duration = Duration::from_secs(5);
const SOFT_INTERVAL: Duration = Duration::from_millis(1);
const SOFT_FOR: Duration = Duration::from_secs(3);

/// One row of the status table; the header uses it too, so they align.
fn row(router: &str, role: &str, priority: &str, addr: &str, reason: &str) {
    let line = format!("  {router:<7} {role:<12} {priority:<9} {addr:<13} {reason}");
    println!("{}", line.trim_end());
}

fn table(c: &Cluster, title: &str) {
    println!("\n  {title}");
    row("router", "role", "priority", "WAN address", "last transition");
    for n in 1..=c.daemons.len() {
        let name = format!("r{n}");
        let Some(s) = c.daemons[n - 1].and_then(|_| c.status(n)) else {
            row(&name, "(down)", "", "", "");
            continue;
        };
        let addr = if s["wan_open"] == true { s["lease"]["address"].as_str().unwrap_or("-") } else { "-" };
        let priority = format!("{}/{}", s["priority"], s["effective_priority"]);
        let reason = s["transitions"][0]["reason"].as_str().unwrap_or("");
        row(&name, s["state"].as_str().unwrap_or("?"), &priority, addr, reason);
    }
}

fn outage(label: &str, r: &StreamReport, interval: Duration) -> String {
    format!(
        "{label}: outage {:.0} ms; {} of {} datagrams lost (one sent every {} ms)",
        r.longest_gap_ms,
        r.lost,
        r.sent,
        interval.as_millis()
    )
}

/// One DHCP exchange in dnsmasq's log: its transaction id and the
/// messages logged for it, in order ("DISCOVER", "OFFER", ...).
struct Transaction {
    xid: String,
    messages: Vec<String>,
}

/// dnsmasq (`--log-dhcp`) logs `dnsmasq-dhcp[PID]: XID DHCPDISCOVER(cust) ...`.
fn transactions(log: &str) -> Vec<Transaction> {
    let mut out: Vec<Transaction> = Vec::new();
    for line in log.lines() {
        let Some((_, rest)) = line.split_once("dnsmasq-dhcp[") else { continue };
        let mut words = rest.split_once("]: ").map(|(_, r)| r).unwrap_or("").split_whitespace();
        let (Some(xid), Some(word)) = (words.next(), words.next()) else { continue };
        let Some(message) = word.strip_prefix("DHCP").and_then(|m| m.split_once('(')).map(|(m, _)| m) else {
            continue;
        };
        match out.iter_mut().find(|t| t.xid == xid) {
            Some(t) => t.messages.push(message.to_string()),
            None => out.push(Transaction { xid: xid.to_string(), messages: vec![message.to_string()] }),
        }
    }
    out
}

/// What the ISP saw, from dnsmasq's own log and lease file: every
/// DHCPDISCOVER accounted for.
fn isp_view(c: &Cluster, first: usize, takeovers: usize) {
    let log = c.bed.dnsmasq_log();
    let exchanges = transactions(&log);
    println!("\nThe ISP's view, from dnsmasq's log: each DHCP transaction (id, messages), explained");
    let mut confirmations = 0;
    for (i, t) in exchanges.iter().enumerate() {
        let discovers = t.messages.iter().filter(|m| *m == "DISCOVER").count();
        let why = match (i, discovers) {
            (0, 1) => format!("cold start: r{first}'s udhcpc obtains the lease"),
            (0, n) => format!(
                "cold start: r{first}'s udhcpc obtains the lease. Its DISCOVER came {n} times in this\n\
                 {:14}one transaction: dnsmasq checks by ping that the address is free before it\n\
                 {:14}offers it, and udhcpc resends its DISCOVER meanwhile",
                "", ""
            ),
            (_, 0) if t.messages == ["REQUEST", "ACK"] => {
                confirmations += 1;
                "a new active confirms the lease it took over (no DISCOVER)".to_string()
            }
            _ => "UNEXPECTED after the cold start".to_string(),
        };
        println!("  {:<11} {}\n{:14}{why}", t.xid, t.messages.join(" "), "");
    }
    let count = |m: &str| exchanges.iter().flat_map(|t| &t.messages).filter(|x| *x == m).count();
    let late_discovers = exchanges.iter().skip(1).flat_map(|t| &t.messages).filter(|m| *m == "DISCOVER").count();
    println!(
        "  {} DHCPDISCOVER in all, {late_discovers} of them after the cold start; {confirmations} confirmations for \
         {takeovers} takeovers; {} DHCPRELEASE",
        count("DISCOVER"),
        count("RELEASE")
    );
    let leases = c.bed.dnsmasq_leases();
    let lines: Vec<&str> = leases.lines().collect();
    let plural = if lines.len() == 1 { "" } else { "s" };
    println!("dnsmasq's lease file: {} line{plural}, one per client it knows", lines.len());
    for line in lines {
        // expiry MAC address hostname client-id
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [_, mac, addr, _, client_id, ..] = f[..] {
            println!("  {addr} for MAC {mac}, client id {client_id}");
        }
    }
    let kea = c.bed.kea();
    let messages = kea.messages();
    let count6 = |m: &str| messages.iter().filter(|x| *x == m).count();
    println!("\nThe ISP's DHCPv6 view, from Kea's log: {}", messages.join(" "));
    println!(
        "  {} SOLICIT (the cold start), {} RENEW and {} REBIND (takeovers confirming the binding), {} RELEASE",
        count6("SOLICIT"),
        count6("RENEW"),
        count6("REBIND"),
        count6("RELEASE")
    );
    println!("Kea's leases: one address and one prefix, one DUID");
    for l in kea.leases() {
        // address or prefix, DUID, IAID, type, prefix length
        println!("  {}/{} for DUID {}, IAID {}", l[0], l[4], l[1], l[2]);
    }
}

/// target/demo, beside the build: the captures outlive the bed.
fn capture_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("demo");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

fn main() {
    println!(
        "vwrp demo: 3 routers (priority 200, 150, 100), one ISP address by DHCP, one address and \
         one /56 by DHCPv6, hello {HELLO_MS} ms"
    );
    let opts = Opts { ipv6: true, ..Opts::default() };
    let mut c = Cluster::start_with(&dual_stack(&[200, 150, 100]), HELLO_MS, opts);
    println!("  namespaces: {}-*  (ISP dnsmasq pool: one address; Kea: one address, one prefix)", c.bed.prefix());
    let dir = capture_dir();
    let (lan_file, wan_file) = (dir.join("lan.pcap"), dir.join("wan.pcap"));
    let lan = c.bed.start_capture("lsw", &lan_file);
    let wan = c.bed.start_capture("wsw", &wan_file);
    let a = c.wait_one_active(Duration::from_secs(20));
    c.wait_lease(a, Duration::from_secs(30));
    c.wait_lease6(a, Duration::from_secs(30));
    let cli6 = c.bed.wait_cli_address6(Duration::from_secs(20)).expect("the LAN client has no IPv6 address");
    table(&c, "after election: the best router is active with the ISP's only address");

    println!("\nThe LAN client numbered itself from the active's router advertisements: {cli6}, via fe80::1");
    println!(
        "\nThe LAN client streams UDP datagrams to the host behind the ISP, over IPv4 and over IPv6.\n\
         Outage: the longest gap\n\
         between two datagrams arriving there. A datagram can be late without being lost: an outage\n\
         above the send interval with 0 lost means datagrams were held up, not dropped."
    );

    println!("\n1) hard failover: r{a}'s daemon is killed (SIGKILL) and its cables pulled");
    let rx = c.bed.stream_receiver(6000, Duration::from_secs(30));
    let rx6 = c.bed.stream_receiver6(6100, Duration::from_secs(30));
    let tx = c.bed.stream_sender(6000, HARD_INTERVAL, HARD_FOR);
    let tx6 = c.bed.stream_sender6(6100, HARD_INTERVAL, HARD_FOR);
    std::thread::sleep(Duration::from_secs(1));
    c.bed.kill(c.daemon(a));
    c.daemons[a - 1] = None;
    c.bed.pull_links(a);
    let b = c.wait_one_active(Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(1));
    table(&c, "after the failover: same address, new router");
    c.bed.wait(tx, Duration::from_secs(20));
    c.bed.wait(tx6, Duration::from_secs(20));
    let (hard, hard6) = (c.bed.stream_report(rx), c.bed.stream_report(rx6));
    println!("  {}", outage("hard failover, IPv4", &hard, HARD_INTERVAL));
    println!("  {}", outage("hard failover, IPv6", &hard6, HARD_INTERVAL));

    println!("\n2) graceful handover: `vwrp step-down` on r{b}");
    let rx = c.bed.stream_receiver(6001, Duration::from_secs(30));
    let rx6 = c.bed.stream_receiver6(6101, Duration::from_secs(30));
    let tx = c.bed.stream_sender(6001, SOFT_INTERVAL, SOFT_FOR);
    let tx6 = c.bed.stream_sender6(6101, SOFT_INTERVAL, SOFT_FOR);
    std::thread::sleep(Duration::from_secs(1));
    let out = c.cli(b, &["step-down"]);
    assert!(out.status.success(), "step-down failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(poll_until(Duration::from_secs(5), || c.actives().len() == 1 && c.actives()[0] != b), "no handover");
    std::thread::sleep(Duration::from_secs(1));
    table(&c, "after the graceful handover");
    c.bed.wait(tx, Duration::from_secs(20));
    c.bed.wait(tx6, Duration::from_secs(20));
    let (soft, soft6) = (c.bed.stream_report(rx), c.bed.stream_report(rx6));
    println!("  {}", outage("graceful handover, IPv4", &soft, SOFT_INTERVAL));
    println!("  {}", outage("graceful handover, IPv6", &soft6, SOFT_INTERVAL));

    isp_view(&c, a, 2);
    let lan_file = c.bed.stop_capture(lan);
    let wan_file = c.bed.stop_capture(wan);

    println!("\nsummary (hello {HELLO_MS} ms, dead multiplier 3):");
    println!("  {}", outage("hard failover,     IPv4", &hard, HARD_INTERVAL));
    println!("  {}", outage("hard failover,     IPv6", &hard6, HARD_INTERVAL));
    println!("  {}", outage("graceful handover, IPv4", &soft, SOFT_INTERVAL));
    println!("  {}", outage("graceful handover, IPv6", &soft6, SOFT_INTERVAL));
    println!("\nBoth switches were captured; to read the vwrp frames (Debian: apt install tshark):");
    println!("  {}", tshark_command(&lan_file, KEY));
    println!("  {}", tshark_command(&wan_file, KEY));
    println!("cleaning up namespaces");
}
