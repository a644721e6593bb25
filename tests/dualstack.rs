//! Dual stack end to end, on the real kernel: three routers running the
//! vwrp daemon on the namespace bed with IPv6 on, the ISP running Kea
//! (DHCPv6: one address, one delegated /56) and radvd, and a LAN client
//! that configures itself from the routers' router advertisements (plain
//! Linux defaults). An IPv6 stream runs next to the IPv4 one through a
//! hard failover and a graceful handover; then what the DHCPv6 server
//! saw, what the client's default router did, and every router
//! advertisement on the LAN are checked. Outages are printed
//! (`cargo test --test dualstack -- --nocapture`). Needs root.

mod e2e;
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use e2e::{Cluster, dual_stack};
use support::servers::{IA_NA, PD, PD_LEN};
use support::{LAN_GATEWAY, LAN_GATEWAY6, Opts, StreamReport, Testbed, WAN_ADDR, poll_until};

const HELLO_MS: u64 = 100;
const SECS: fn(u64) -> Duration = Duration::from_secs;
const INTERVAL: Duration = Duration::from_millis(10);

fn outage(what: &str, family: &str, r: &StreamReport) {
    println!(
        "OUTAGE {what} {family} (hello {HELLO_MS} ms, multiplier 3): {:.1} ms, lost {} of {}",
        r.longest_gap_ms, r.lost, r.sent
    );
}

/// Seconds since the epoch.
fn epoch(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH).expect("after 1970").as_secs_f64()
}

/// `[YYYY-MM-DDTHH:MM:SS.uuuuuu]` (`ip -ts`, run with TZ=UTC) as seconds
/// since the epoch.
fn monitor_time(stamp: &str) -> Option<f64> {
    let s = stamp.strip_prefix('[')?.strip_suffix(']')?;
    let (date, time) = s.split_once('T')?;
    let d: Vec<i64> = date.split('-').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let (hms, frac) = time.split_once('.')?;
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let (&[y, m, day], &[h, min, sec]) = (&d[..], &t[..]) else { return None };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + min * 60 + sec;
    Some(secs as f64 + format!("0.{frac}").parse::<f64>().ok()?)
}

/// The client's view over time, from `ip -ts monitor neigh route`: every
/// change of its neighbour entry for the IPv6 gateway address and for the
/// IPv4 one (when, MAC), and every default route event (when, line).
struct ClientView {
    gateway_macs: Vec<(f64, String)>,
    gateway4_macs: Vec<(f64, String)>,
    default_routes: Vec<(f64, String)>,
}

fn client_view(log: &str) -> ClientView {
    let mut v = ClientView { gateway_macs: Vec::new(), gateway4_macs: Vec::new(), default_routes: Vec::new() };
    for line in log.lines() {
        let Some((stamp, event)) = line.split_once(' ') else { continue };
        let Some(t) = monitor_time(stamp) else { continue };
        let words: Vec<&str> = event.split_whitespace().collect();
        let lladdr = words.iter().position(|w| *w == "lladdr").map(|i| (t, words[i + 1].to_string()));
        if words.first() == Some(&LAN_GATEWAY6) {
            v.gateway_macs.extend(lladdr);
        } else if words.first() == Some(&LAN_GATEWAY) {
            v.gateway4_macs.extend(lladdr);
        } else if event.contains("default") {
            v.default_routes.push((t, event.trim().to_string()));
        }
    }
    v
}

/// One router advertisement seen on the LAN switch.
#[derive(Debug)]
struct Advert {
    at: f64,
    mac: String,
    source: String,
    lifetime: u32,
}

/// Every router advertisement in the LAN capture, from `tcpdump -v`.
fn adverts(bed: &Testbed, pcap: &std::path::Path) -> Vec<Advert> {
    let file = pcap.to_str().expect("utf-8 path");
    let argv = ["tcpdump", "-r", file, "-nn", "-e", "-tt", "-v", "icmp6 and ip6[40] == 134"];
    let out = bed.exec_ok("lsw", argv);
    let mut v: Vec<Advert> = Vec::new();
    for line in out.lines() {
        if line.contains("router advertisement") {
            let w: Vec<&str> = line.split_whitespace().collect();
            // `... (hlim 255, next-header ICMPv6 (58) payload length: 64) fe80::1 > ff02::1: ...`
            let after = line.split("payload length: ").nth(1).and_then(|r| r.split_once(") ")).map(|(_, r)| r);
            let source = after.and_then(|r| r.split_whitespace().next()).unwrap_or("");
            v.push(Advert {
                at: w[0].parse().unwrap_or(0.0),
                mac: w[1].to_string(),
                source: source.to_string(),
                lifetime: u32::MAX,
            });
        } else if let Some(rest) = line.split("router lifetime ").nth(1) {
            let n = rest.split('s').next().and_then(|n| n.parse().ok()).unwrap_or(u32::MAX);
            if let Some(last) = v.last_mut() {
                last.lifetime = n;
            }
        }
    }
    v
}

/// The client's global IPv6 addresses.
fn client_addresses(bed: &Testbed) -> BTreeSet<String> {
    let out = bed.exec_ok("cli", ["ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"]);
    out.lines().filter_map(|l| l.split_whitespace().skip_while(|w| *w != "inet6").nth(1).map(str::to_string)).collect()
}

#[test]
fn dual_stack_hard_failover_and_graceful_handover() {
    let opts = Opts { ipv6: true, ..Opts::default() };
    let mut c = Cluster::start_with(&dual_stack(&[200, 150, 100]), HELLO_MS, opts);
    let mac = |n: usize| Testbed::router_lan_mac(n);
    let lan_pcap = c.dir().join("lan.pcap");
    let lan = c.bed.start_capture("lsw", &lan_pcap);
    let monitor = c.bed.spawn("cli", ["env", "TZ=UTC", "ip", "-ts", "monitor", "neigh", "route"]);
    assert_eq!(c.wait_one_active(SECS(15)), 1, "r1 has the best priority");
    c.wait_lease(1, SECS(20));
    let st = c.wait_lease6(1, SECS(20));
    assert_eq!(st["lease6"]["addresses"][0]["address"], IA_NA);
    assert_eq!(
        (st["lease6"]["prefixes"][0]["address"].as_str(), st["lease6"]["prefixes"][0]["prefix_len"].as_u64()),
        (Some(PD), Some(u64::from(PD_LEN)))
    );
    // The standbys learned the binding from the active's hellos.
    for n in [2, 3] {
        let knows = poll_until(SECS(5), || c.status(n).is_some_and(|s| s["lease6"]["prefixes"][0]["address"] == PD));
        assert!(knows, "r{n} lacks the IPv6 binding");
    }
    // The client numbered itself from r1's advertisements: an address in
    // the delegated prefix's first /64, the default route via fe80::1.
    let address = c.bed.wait_cli_address6(SECS(15)).expect("no SLAAC address");
    assert!(address.starts_with("2001:db8:100:0:") && address.ends_with("/64"), "{address}");
    let before = client_addresses(&c.bed);
    let route = c.bed.exec_ok("cli", ["ip", "-6", "route", "show", "default"]);
    assert!(route.contains(&format!("default via {LAN_GATEWAY6} dev eth0 proto ra")), "{route}");
    // A healthy start-up warns of nothing: the active's first SOLICIT
    // waits for its WAN link-local address to leave DAD.
    for n in 1..=3 {
        assert_eq!(c.warnings(n, 0), Vec::<String>::new(), "r{n} warned at start-up\n{}", c.log(n));
    }

    // Hard failover: r1's daemon killed and its cables pulled.
    let rx4 = c.bed.stream_receiver(5101, SECS(25));
    let rx6 = c.bed.stream_receiver6(5102, SECS(25));
    let tx4 = c.bed.stream_sender(5101, INTERVAL, SECS(6));
    let tx6 = c.bed.stream_sender6(5102, INTERVAL, SECS(6));
    std::thread::sleep(SECS(2));
    let t_kill = epoch(SystemTime::now());
    c.bed.kill(c.daemon(1));
    c.daemons[0] = None;
    // r1's kernel forwards until its cables are out: from then on it is dead.
    let t_dead = epoch(SystemTime::now());
    c.bed.pull_links(1);
    assert_eq!(c.wait_one_active(SECS(5)), 2, "the best standby (r2) takes over");
    c.wait_lease6(2, SECS(5));
    c.bed.solicit_routers();
    c.bed.wait(tx4, SECS(15));
    c.bed.wait(tx6, SECS(15));
    let (hard4, hard6) = (c.bed.stream_report(rx4), c.bed.stream_report(rx6));
    outage("hard failover", "IPv4", &hard4);
    outage("hard failover", "IPv6", &hard6);
    assert!(hard6.received > 0 && hard4.received > 0, "a stream did not resume: {hard4:?} {hard6:?}");
    assert!(
        hard6.longest_gap_ms <= 1.5 * hard4.longest_gap_ms,
        "IPv6 outage {:.1} ms is more than 1.5 times the IPv4 one, {:.1} ms",
        hard6.longest_gap_ms,
        hard4.longest_gap_ms
    );

    // Graceful handover: r2 steps down, r3 (the only standby) takes over.
    let rx4 = c.bed.stream_receiver(5103, SECS(25));
    let rx6 = c.bed.stream_receiver6(5104, SECS(25));
    let tx4 = c.bed.stream_sender(5103, INTERVAL, SECS(4));
    let tx6 = c.bed.stream_sender6(5104, INTERVAL, SECS(4));
    std::thread::sleep(SECS(1));
    let t_step = epoch(SystemTime::now());
    let out = c.cli(2, &["step-down"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(poll_until(SECS(5), || c.actives() == vec![3]), "r3 did not take over: {:?}", c.states());
    std::thread::sleep(Duration::from_millis(1100));
    c.bed.solicit_routers();
    c.bed.wait(tx4, SECS(15));
    c.bed.wait(tx6, SECS(15));
    let (soft4, soft6) = (c.bed.stream_report(rx4), c.bed.stream_report(rx6));
    outage("graceful handover", "IPv4", &soft4);
    outage("graceful handover", "IPv6", &soft6);
    assert_eq!(soft6.lost, 0, "the graceful handover lost IPv6 datagrams: {soft6:?}");

    // The client kept its addresses: same prefix, same interface ids.
    assert_eq!(client_addresses(&c.bed), before, "the client's IPv6 addresses changed");

    // The DHCPv6 server saw one client: SOLICIT and REQUEST once at the
    // cold start, then only confirmations, no RELEASE; one address and one
    // prefix, the same ones.
    let kea = c.bed.kea();
    let messages = kea.messages();
    assert_eq!(messages[..2], ["SOLICIT", "REQUEST"], "{messages:?}");
    assert!(
        messages[2..].iter().all(|m| m == "RENEW" || m == "REBIND") && messages.len() >= 4,
        "after the cold start only confirmations, one per takeover at least: {messages:?}"
    );
    assert!(!messages.iter().any(|m| m == "RELEASE" || m == "DECLINE"), "{messages:?}");
    let leases = kea.leases();
    let keys: Vec<(&str, &str)> = leases.iter().map(|l| (l[0].as_str(), l[4].as_str())).collect();
    assert_eq!(keys, [(IA_NA, "128"), (PD, "56")], "one address and one prefix: {}", kea.lease_file());
    assert!(leases.iter().all(|l| l[1] == leases[0][1] && l[2] == "1"), "one DUID, IAID 1: {leases:?}");
    // The IPv4 side was the same client throughout, as ever.
    assert!(!c.bed.dnsmasq_log().contains("DHCPRELEASE"));
    assert_eq!(c.status(3).map(|s| s["lease"]["address"].clone()), Some(WAN_ADDR.into()));

    // The client's default router entry: the route always via fe80::1,
    // never removed; the neighbour entry moved to the new active within
    // the failover, and never pointed at a router that had left.
    std::thread::sleep(Duration::from_millis(300));
    c.bed.kill(monitor);
    let view = client_view(&c.bed.proc_log(monitor));
    for (at, r) in &view.default_routes {
        assert!(
            r.starts_with(&format!("default via {LAN_GATEWAY6} dev eth0")) && !r.starts_with("Deleted"),
            "at {at:.3}: {r}"
        );
    }
    let first = |macs: &[(f64, String)], to: &str, after: f64| {
        macs.iter().find(|(t, m)| *t >= after && m == to).map(|(t, _)| *t)
    };
    let moved = |to: &str, after: f64| first(&view.gateway_macs, to, after);
    let to_r2 = moved(&mac(2), t_kill).expect("the client's entry for fe80::1 never moved to r2");
    let to_r2_v4 = first(&view.gateway4_macs, &mac(2), t_kill).expect("the IPv4 gateway never moved to r2");
    let (dead_ms, dead4_ms) = ((to_r2 - t_dead) * 1000.0, (to_r2_v4 - t_dead) * 1000.0);
    println!(
        "GATEWAY6 the client's entry for fe80::1 moved to r2 {dead_ms:.0} ms after r1 died \
         (the one for {LAN_GATEWAY} after {dead4_ms:.0} ms)"
    );
    assert!(
        dead_ms <= 1.5 * dead4_ms,
        "fe80::1 pointed at the dead r1 for {dead_ms:.0} ms, the IPv4 gateway for {dead4_ms:.0} ms"
    );
    let to_r3 = moved(&mac(3), t_step).expect("the client's entry for fe80::1 never moved to r3");
    assert!(
        !view.gateway_macs.iter().any(|(t, m)| *t > to_r2 && *m == mac(1)),
        "back to the dead r1 after the failover: {:?}",
        view.gateway_macs
    );
    assert!(
        !view.gateway_macs.iter().any(|(t, m)| *t > to_r3 && *m != mac(3)),
        "away from r3 after the handover: {:?}",
        view.gateway_macs
    );

    // Every router advertisement on the LAN came from fe80::1 with a
    // router lifetime, and only from the router that forwarded then: r1
    // before it was killed, r2 from the failover to its step-down, r3
    // after. A standby never sent one, not even when the client solicited
    // after each change.
    let pcap = c.bed.stop_capture(lan);
    let seen = adverts(&c.bed, &pcap);
    for a in &seen {
        assert_eq!((a.source.as_str(), a.lifetime > 0), (LAN_GATEWAY6, true), "{a:?}");
        let window = match a.mac.as_str() {
            m if m == mac(1) => (0.0, t_kill),
            m if m == mac(2) => (t_kill, t_step),
            m if m == mac(3) => (t_step, f64::MAX),
            _ => panic!("a router advertisement from a stranger: {a:?}"),
        };
        assert!(
            a.at >= window.0 && a.at <= window.1,
            "a standby advertised: {a:?} (failover {t_kill:.3}, step-down {t_step:.3})"
        );
    }
    for n in 1..=3 {
        assert!(seen.iter().any(|a| a.mac == mac(n)), "r{n} never advertised: {seen:?}");
    }
    println!("ADVERTS {} router advertisements on the LAN, none from a standby", seen.len());
}
