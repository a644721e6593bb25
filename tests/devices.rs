//! End to end, on the real kernel: devices that come and go under a
//! running daemon, and other programs flushing nftables. The control
//! device is a bridge `br-lan` over the router's `lan` port, deleted and
//! re-created as OpenWrt's netifd does on `/etc/init.d/network restart`
//! (and created only after vwrp has started, at boot). Needs root.

mod e2e;
mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use e2e::{Cluster, prio};
use nix::sys::signal::Signal;
use support::{ISP_ADDR, LAN_GATEWAY, Opts, ProcId, SHARED_MAC, Testbed, WAN_ADDR, poll_until};

const HELLO_MS: u64 = 100;
const SECS: fn(u64) -> Duration = Duration::from_secs;

/// Creates router n's `br-lan` over its `lan` port, with the port's MAC
/// and the router's LAN address, and brings it up: what netifd does.
fn create_bridge(c: &Cluster, n: usize) {
    let r = Testbed::router(n);
    let mac = Testbed::router_lan_mac(n);
    let cidr = format!("{}/24", Testbed::router_lan_addr(n));
    c.bed.exec_ok(&r, ["ip", "link", "add", "br-lan", "address", &mac, "type", "bridge"]);
    c.bed.exec_ok(&r, ["ip", "link", "set", "lan", "master", "br-lan"]);
    c.bed.exec_ok(&r, ["ip", "addr", "add", &cidr, "dev", "br-lan"]);
    c.bed.exec_ok(&r, ["ip", "link", "set", "br-lan", "up"]);
}

/// Router n's configuration with `br-lan` as its control device and the
/// home of the LAN gateway; without a configured router id if `derived`
/// (then it comes from br-lan's MAC, as on OpenWrt by default).
fn use_bridge(c: &Cluster, n: usize, derived: bool) {
    let mut text = c
        .config_text(n, &c.confs[n - 1])
        .replace("list control 'lan'", "list control 'br-lan'")
        .replace("@lan'", "@br-lan'");
    if derived {
        text = text.replace(&format!("\toption router_id '{n}'\n"), "");
    }
    std::fs::write(c.config_path(n), text).unwrap();
}

/// Moves router n's LAN address from `lan` to the bridge's future place:
/// off `lan` (a bridge port carries no address).
fn unaddress_port(c: &Cluster, n: usize) {
    let cidr = format!("{}/24", Testbed::router_lan_addr(n));
    c.bed.exec_ok(&Testbed::router(n), ["ip", "addr", "del", &cidr, "dev", "lan"]);
}

/// Wall-clock seconds, the time base of tcpdump's `-tt`.
fn wall() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// A tcpdump of the vwrp frames crossing the LAN switch: (time, source MAC,
/// destination MAC) per frame.
struct HelloWatch(ProcId);

impl HelloWatch {
    fn start(c: &mut Cluster) -> HelloWatch {
        let argv = "tcpdump -i br0 -nn -e -tt -l --immediate-mode -Z root ether proto 0x88b5";
        let p = c.bed.spawn("lsw", argv.split_whitespace());
        assert!(poll_until(SECS(10), || c.bed.proc_log(p).contains("listening on")), "{}", c.bed.proc_log(p));
        HelloWatch(p)
    }

    fn frames(&self, c: &Cluster) -> Vec<(f64, String, String)> {
        let parse = |l: &str| {
            let mut w = l.split_whitespace();
            let t = w.next()?.parse().ok()?;
            let src = w.next()?.to_string();
            (w.next()? == ">").then_some(())?;
            let dst = w.next()?.trim_end_matches([',', ':']).to_string();
            Some((t, src, dst))
        };
        c.bed.proc_log(self.0).lines().filter_map(parse).collect()
    }

    /// Seconds from `since` to the first frame after it that `want` picks,
    /// if there is one.
    fn first_after(&self, c: &Cluster, since: f64, want: impl Fn(&str, &str) -> bool) -> Option<f64> {
        self.frames(c).into_iter().find(|(t, s, d)| *t >= since && want(s, d)).map(|(t, _, _)| t - since)
    }
}

/// A group address: the first octet's low bit (vwrp's is 03:56:57:52:50:00).
fn multicast(mac: &str) -> bool {
    u8::from_str_radix(mac.get(..2).unwrap_or("00"), 16).is_ok_and(|b| b & 1 == 1)
}

/// The interface index the daemon's packet sockets of router n are bound
/// to, from /proc/net/packet (-1 for a socket left on a deleted device).
fn packet_ifindexes(c: &Cluster, n: usize) -> Vec<i64> {
    let text = c.bed.exec_ok(&Testbed::router(n), ["cat", "/proc/net/packet"]);
    text.lines().skip(1).filter_map(|l| l.split_whitespace().nth(4)?.parse().ok()).collect()
}

fn ifindex(c: &Cluster, n: usize, dev: &str) -> i64 {
    let path = format!("/sys/class/net/{dev}/ifindex");
    c.bed.exec_ok(&Testbed::router(n), ["cat", path.as_str()]).trim().parse().unwrap()
}

/// Two routers with `br-lan` as their control device, r1 active with the
/// lease.
fn bridged_pair() -> Cluster {
    let mut c = Cluster::with_daemons_down(&prio(&[200, 150]), HELLO_MS, Opts::default());
    for n in [1, 2] {
        unaddress_port(&c, n);
        create_bridge(&c, n);
        use_bridge(&c, n, false);
        c.boot(n);
    }
    assert_eq!(c.wait_one_active(SECS(15)), 1, "r1 has the best priority\n{}", c.logs());
    c.wait_lease(1, SECS(20));
    c
}

/// The bridge is also the home of the LAN gateway, so while it is gone its
/// router has lost its LAN (every LAN gateway device without carrier): the
/// active leaves and the standby takes over (preempt is off, so it stays);
/// a standby is in fault meanwhile. Either way the re-created bridge is
/// followed without a restart.
#[test]
fn control_bridge_recreated_on_a_standby_and_the_active_is_followed_without_restart() {
    let mut c = bridged_pair();
    let hellos = HelloWatch::start(&mut c);
    c.bed.start_mac_watch();
    let roles = [1, 2].map(|n| c.transitions(n));
    // The standby first, then the active, which hands the role to it.
    for (n, active_after) in [(2, 1), (1, 2)] {
        let r = Testbed::router(n);
        let mac = Testbed::router_lan_mac(n);
        let old = ifindex(&c, n, "br-lan");
        // netifd's restart: the bridge goes, and comes back a moment later.
        c.bed.exec_ok(&r, ["ip", "link", "del", "br-lan"]);
        std::thread::sleep(SECS(1));
        assert!(packet_ifindexes(&c, n).iter().all(|&i| i != old), "r{n}: a socket stayed on the deleted bridge");
        assert_eq!(c.actives(), vec![active_after], "r{n} without its LAN\n{}", c.logs());
        let logged = c.log(n).len();
        create_bridge(&c, n);
        let back = wall();
        let new = ifindex(&c, n, "br-lan");
        assert_ne!(old, new);
        std::thread::sleep(Duration::from_millis(500));

        // Hellos both ways on the new bridge within one hello.
        let out = hellos.first_after(&c, back, |s, _| s == mac);
        let peer = hellos.first_after(&c, back, |s, d| s != mac && (d == mac || multicast(d)));
        println!(
            "BRIDGE r{n} re-created: its first hello after {:.1} ms, a peer's after {:.1} ms (hello {HELLO_MS} ms)",
            out.unwrap_or(f64::NAN) * 1e3,
            peer.unwrap_or(f64::NAN) * 1e3
        );
        let hello = HELLO_MS as f64 / 1e3;
        // r{n} is a standby by then (r1 handed the role over), which hears
        // the active: its hellos come at the slow pace (docs/PROTOCOL.md
        // §4.6; the one at link-up went out before `back`).
        let pace = hello * f64::from(vwrp::engine::STANDBY_PACE);
        assert!(out.is_some_and(|t| t < pace), "r{n} silent on its new bridge: {out:?}\n{}", c.log(n));
        // A peer addresses it once it has heard it: within a hello of its
        // first one (its own pace; a standby turned active is busy then).
        let first = out.unwrap_or(pace);
        assert!(peer.is_some_and(|t| t < first + hello), "no peer hello towards r{n}: {peer:?}");
        let bound = packet_ifindexes(&c, n);
        assert!(bound.contains(&new), "r{n}: no socket on the new bridge ({new}): {bound:?}");
        assert!(!bound.contains(&-1), "r{n}: a socket on a deleted device: {bound:?}");
        // Nothing sent on the old device once the new one is there.
        assert!(!c.log(n)[logged..].contains("No such device"), "{}", c.log(n));
        c.assert_running(n);
        assert_eq!(c.actives(), vec![active_after], "{}", c.logs());
        for m in [1, 2] {
            let addrs = c.bed.exec_ok(&Testbed::router(m), ["ip", "-4", "addr", "show", "dev", "br-lan"]);
            assert_eq!(addrs.contains(LAN_GATEWAY), m == active_after, "r{m}'s LAN gateway address: {addrs}");
        }
        if n == 2 {
            // A standby without its LAN for a second: in fault meanwhile,
            // standby again; the active kept its role throughout.
            assert_eq!(c.transitions(1), roles[0], "r1 changed role\n{}", c.logs());
            assert_eq!(c.states()[1], "standby", "{}", c.logs());
        }
    }
    let pinged = c.bed.exec("cli", ["ping", "-c", "1", "-W", "2", LAN_GATEWAY]);
    assert!(pinged.status.success(), "the client has no gateway");
    // One handover, r1 to r2: the shared MAC never from two ports.
    let report = c.bed.mac_watch_report();
    let r2_first = report.iter().position(|&(_, n)| n == 2).expect("r2 never used the WAN");
    assert!(report[..r2_first].iter().all(|&(_, n)| n == 1), "{report:?}");
    assert!(report[r2_first..].iter().all(|&(_, n)| n == 2), "the shared MAC from two ports: {report:?}");
    for n in [1, 2] {
        c.assert_running(n);
    }
}

#[test]
fn a_daemon_started_before_its_control_bridge_exists_works_once_it_appears() {
    let mut c = Cluster::with_daemons_down(&prio(&[200, 150]), HELLO_MS, Opts::default());
    unaddress_port(&c, 2);
    create_bridge(&c, 2);
    use_bridge(&c, 2, false);
    // r1 as at boot on OpenWrt: vwrp (START=19) before netifd (START=20)
    // made br-lan, its router id taken from br-lan's MAC.
    unaddress_port(&c, 1);
    use_bridge(&c, 1, true);
    c.bed.start_mac_watch();
    c.boot(1);
    c.boot(2);
    // r1 waits: no router id yet, so no say in the election.
    assert!(poll_until(SECS(15), || c.actives() == vec![2]), "r2 is alone\n{}", c.logs());
    c.wait_lease(2, SECS(20));
    let st = c.status(1).unwrap();
    assert!(st["reason"].as_str().unwrap().contains("br-lan"), "{st}");
    assert_ne!(st["state"], "active");

    create_bridge(&c, 1);
    let derived = poll_until(SECS(5), || {
        c.status(1).is_some_and(|s| s["state"] == "standby" && s["peers"][0]["paths"].to_string().contains("control0"))
    });
    assert!(derived, "r1 did not join over its new bridge\n{}", c.logs());
    let heard = poll_until(SECS(2), || {
        c.status(2)
            .is_some_and(|s| s["peers"].as_array().unwrap().iter().any(|p| p["paths"].to_string().contains("control0")))
    });
    assert!(heard, "r2 does not hear r1 on the LAN\n{}", c.logs());
    std::thread::sleep(SECS(1));
    assert_eq!(c.actives(), vec![2]);
    // It takes over when the active leaves: it is a full member.
    c.bed.signal(c.daemon(2), Signal::SIGTERM);
    assert!(poll_until(SECS(5), || c.actives() == vec![1]), "r1 did not take over\n{}", c.logs());
    c.wait_lease(1, SECS(10));
    let report = c.bed.mac_watch_report();
    let r1_first = report.iter().position(|&(_, n)| n == 1).expect("r1 never used the WAN");
    assert!(report[r1_first..].iter().all(|&(_, n)| n == 1), "the shared MAC from two ports: {report:?}");
    assert!(report[..r1_first].iter().all(|&(_, n)| n == 2));
}

/// Frames at the ISP's side of the WAN switch from the shared MAC that a
/// standby's traffic generators put there: IPv6 (the actives have it
/// off) and ARP for [`PROBE`].
const PROBE: &str = "203.0.113.199";

fn leak_capture(c: &mut Cluster) -> ProcId {
    let mac = SHARED_MAC;
    // ARP's target protocol address sits at offset 24.
    let filter = format!("ether src {mac} and (ip6 or (arp and arp[24:4] = 0xcb0071c7))");
    let argv = ["tcpdump", "-i", "cust", "-nn", "-e", "-l", "--immediate-mode", "-Z", "root", filter.as_str()];
    let p = c.bed.spawn("isp", argv);
    assert!(poll_until(SECS(10), || c.bed.proc_log(p).contains("listening on")), "{}", c.bed.proc_log(p));
    p
}

fn leaks(c: &Cluster, p: ProcId) -> Vec<String> {
    c.bed.proc_log(p).lines().filter(|l| l.contains(" > ")).map(str::to_string).collect()
}

#[test]
fn twenty_nft_flushes_on_a_standby_sending_ipv6_and_arp_leak_nothing() {
    let mut c = Cluster::start(&prio(&[200, 150]), HELLO_MS);
    assert_eq!(c.wait_one_active(SECS(15)), 1);
    c.wait_lease(1, SECS(20));
    let capture = leak_capture(&mut c);
    // The standby speaks IPv6 on its WAN (the kernel's own RS and MLD
    // included) and ARPs there, all the time.
    for s in ["net.ipv6.conf.wan.accept_dad=0", "net.ipv6.conf.wan.disable_ipv6=0"] {
        c.bed.exec_ok("r2", ["sysctl", "-q", "-w", s]);
    }
    let ping6 = c.bed.spawn("r2", ["ping", "-6", "-n", "-i", "0.02", "-I", "wan", "ff02::1"]);
    // ARP probes for PROBE (sender 0.0.0.0, as arping -D), 50 a second:
    // arping's interval is whole seconds.
    let arp = format!(
        "import socket, time\n\
         s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n\
         s.bind(('wan', 0))\n\
         mac = bytes.fromhex('{}')\n\
         f = b'\\xff' * 6 + mac + b'\\x08\\x06' + bytes.fromhex('0001080006040001') + mac + bytes(10) \\\n\
             + socket.inet_aton('{PROBE}')\n\
         while True:\n\
         \x20   try:\n\
         \x20       s.send(f)\n\
         \x20   except OSError:\n\
         \x20       pass\n\
         \x20   time.sleep(0.02)\n",
        SHARED_MAC.replace(':', "")
    );
    let arping = c.bed.spawn("r2", ["python3", "-c", arp.as_str()]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(c.bed.running(ping6), "{}", c.bed.proc_log(ping6));
    assert!(c.bed.running(arping), "{}", c.bed.proc_log(arping));

    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let t = Instant::now();
        c.bed.exec_ok("r2", ["nft", "flush", "ruleset"]);
        let back =
            poll_until(SECS(2), || c.bed.exec("r2", ["nft", "list", "table", "netdev", "vwrp"]).status.success());
        assert!(back, "flush {i}: the fence never came back\n{}", c.log(2));
        slowest = slowest.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(50 + 10 * i));
    }
    std::thread::sleep(Duration::from_millis(300));
    println!("FENCE 20 flushes on a sending standby: back within {:.0} ms at worst", slowest.as_secs_f64() * 1e3);
    assert_eq!(leaks(&c, capture), Vec::<String>::new(), "frames of the standby reached the ISP");
    assert_eq!(c.actives(), vec![1]);
    c.assert_running(2);
    let st = c.status(1).unwrap();
    assert_eq!(st["lease"]["address"], WAN_ADDR);

    // The capture and the generators do see a WAN nothing fences: the
    // standby's daemon killed (its owned table goes with it) and the
    // ruleset flushed. This is the double fault the docs name.
    let d = c.daemon(2);
    c.bed.kill(d);
    c.bed.exec_ok("r2", ["nft", "flush", "ruleset"]);
    let seen = poll_until(SECS(3), || !leaks(&c, capture).is_empty());
    assert!(seen, "an unfenced standby's frames were not captured: the test sees nothing");
    c.bed.kill(ping6);
    c.bed.kill(arping);
}

/// The nftables tables of r1.
fn tables(c: &Cluster) -> String {
    c.bed.exec_ok("r1", ["nft", "list", "tables"])
}

#[test]
fn a_killed_active_fails_closed_and_its_respawn_after_procds_delay_joins_as_standby() {
    let mut c = Cluster::start(&prio(&[200, 150]), HELLO_MS);
    assert_eq!(c.wait_one_active(SECS(15)), 1);
    c.wait_lease(1, SECS(20));
    assert!(tables(&c).contains("netdev vwrp_owned"), "{}", tables(&c));
    // Traffic of r1's own, so that an open WAN would show after the crash.
    c.bed.spawn("r1", ["ping", "-n", "-i", "0.05", ISP_ADDR]);
    c.bed.start_mac_watch();
    std::thread::sleep(Duration::from_millis(300));

    // A crash: the kernel drops the owned table with the daemon's socket;
    // the shared one stays and the permission in it lapses by itself.
    let killed = c.bed.mac_watch_elapsed();
    let d = c.daemon(1);
    c.bed.kill(d);
    c.daemons[0] = None;
    let t = tables(&c);
    assert!(t.contains("netdev vwrp\n") && !t.contains("vwrp_owned"), "{t}");
    assert!(poll_until(SECS(5), || c.actives() == vec![2]), "r2 did not take over\n{}", c.logs());

    // procd respawns it 5 s after the crash.
    std::thread::sleep(SECS(5).saturating_sub(c.bed.mac_watch_elapsed() - killed));
    c.start_daemon(1);
    c.wait_socket(1);
    assert!(poll_until(SECS(5), || c.state(1) == "standby"), "r1 did not come back as a standby\n{}", c.logs());
    assert!(tables(&c).contains("netdev vwrp_owned"));
    std::thread::sleep(SECS(1));
    assert_eq!(c.actives(), vec![2]);
    let report = c.bed.mac_watch_report();
    // The permit is (multiplier - 1) x hello: r1 is silent on the WAN
    // from then on, before r2 speaks there as the active.
    let permit = Duration::from_millis(2 * HELLO_MS + 50);
    let late: Vec<_> = report.iter().filter(|&&(t, n)| n == 1 && t > killed + permit).collect();
    assert!(late.is_empty(), "r1 sent from the shared MAC after its permit: {late:?}");
    assert!(!support::interleaved(&report), "the shared MAC from two ports: {report:?}");
    assert!(report.iter().any(|&(_, n)| n == 2), "r2 never used the WAN");
}
