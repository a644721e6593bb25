//! End to end, on the real kernel: devices that come and go under a
//! running daemon, and other programs flushing nftables. The control
//! device is a bridge `br-lan` over the router's `lan` port, deleted and
//! re-created as OpenWrt's netifd does on `/etc/init.d/network restart`
//! (and created only after vwrp has started, at boot); on a dual-stack
//! bed, the active's bridge and WAN device re-created the same way, and
//! its IPv6 service followed; a router's bridge given its WAN port and
//! taken out again, its hellos kept off the WAN meanwhile. Needs root.

mod e2e;
mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use e2e::{Cluster, dual_stack, prio};
use nix::sys::signal::Signal;
use support::servers::IA_NA;
use support::{
    ISP_ADDR, LAN_GATEWAY, LAN_GATEWAY6, Opts, ProcId, SHARED_MAC, SRV_ADDR6, Testbed, WAN_ADDR, poll_until,
};

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

/// A tcpdump of the frames crossing the LAN switch that `filter` picks:
/// (time, source MAC, destination MAC) per frame.
struct FrameWatch(ProcId);

impl FrameWatch {
    fn start(c: &mut Cluster, filter: &str) -> FrameWatch {
        FrameWatch::spawn(c, "lsw", "-i br0", filter)
    }

    /// What router n sends into the WAN switch: its port there, inbound.
    fn from_wan_port(c: &mut Cluster, n: usize, filter: &str) -> FrameWatch {
        FrameWatch::spawn(c, "wsw", &format!("-i {} -Q in", Testbed::wan_port(n)), filter)
    }

    fn spawn(c: &mut Cluster, role: &str, on: &str, filter: &str) -> FrameWatch {
        let args = format!("tcpdump {on} -nn -e -tt -l --immediate-mode -Z root");
        let p = c.bed.spawn(role, args.split_whitespace().chain([filter]));
        assert!(poll_until(SECS(10), || c.bed.proc_log(p).contains("listening on")), "{}", c.bed.proc_log(p));
        FrameWatch(p)
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
    let hellos = FrameWatch::start(&mut c, "ether proto 0x88b5");
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

/// Whether router n counts router `id` alive (status: on any path).
fn alive(c: &Cluster, n: usize, id: &str) -> bool {
    let st = c.status(n);
    let peers = st.as_ref().and_then(|s| s["peers"].as_array());
    peers.into_iter().flatten().any(|p| p["router_id"] == id && p["alive"] == true)
}

/// Adds router n's WAN port to its `br-lan` for three seconds, as an
/// operator might (LuCI, `ip link set wan master br-lan`), checks `during`
/// meanwhile, and takes it out again. While tied: the error is logged once,
/// status and `vwrp status` say so, and no vwrp frame from n's bridge MAC
/// reaches the WAN switch, nor the LAN; nor does any of the other
/// router's, which the bridge carries to its WAN port (the fence passes
/// only the shared MAC's), while an active's own WAN hellos still go out.
/// Untied: logged, n's hellos are on the LAN again, and both routers count
/// each other alive. With `then_boot`, n's daemon (down) starts once the
/// tie is made: a tie found at start-up is taken as one made at run time.
fn tie_for_a_while(c: &mut Cluster, n: usize, then_boot: bool, during: impl Fn(&Cluster)) {
    let (r, other) = (Testbed::router(n), 3 - n);
    let (mac, other_mac) = (Testbed::router_lan_mac(n), Testbed::router_lan_mac(other));
    let wan = FrameWatch::from_wan_port(c, n, "ether proto 0x88b5");
    let lan = FrameWatch::start(c, "ether proto 0x88b5");
    c.bed.exec_ok(&r, ["ip", "link", "set", "wan", "master", "br-lan"]);
    let tied = wall();
    if then_boot {
        c.boot(n);
    }
    let error = "control link 'br-lan' is a bridge, bond or VLAN over the WAN device 'wan': nothing is sent on it";
    assert!(poll_until(SECS(2), || c.log(n).contains(error)), "r{n}: no error logged\n{}", c.log(n));
    let st = c.status(n).unwrap();
    let link = &st["control_links"][0];
    assert_eq!(link["state"], "tied", "{st}");
    assert_eq!(link["tie"], "br-lan is a bridge, bond or VLAN over the WAN device wan", "{st}");
    let text = String::from_utf8_lossy(&c.cli(n, &["status"]).stdout).into_owned();
    assert!(text.contains("control TIED: br-lan is a bridge, bond or VLAN over the WAN device wan"), "{text}");
    // Three seconds: each router's multicast round (once a second) is
    // flooded to every port of the bridge.
    std::thread::sleep(SECS(3));
    // The daemon acts on the kernel's event: a frame already on its way
    // may still leave in the first moment.
    let grace = 0.2;
    let (frames, on_lan) = (wan.frames(c), lan.frames(c));
    let leaked: Vec<_> = frames.iter().filter(|(t, s, _)| *t > tied + grace && *s == mac).collect();
    let early = frames.iter().filter(|(t, s, _)| *t > tied && *t <= tied + grace && *s == mac).count();
    let bridged = frames.iter().filter(|(t, s, _)| *t > tied && *s == other_mac).count();
    let offered = on_lan.iter().filter(|(t, s, d)| *t > tied && *s == other_mac && multicast(d)).count();
    let own = frames.iter().filter(|(t, s, _)| *t > tied && *s == SHARED_MAC).count();
    let active = c.actives() == vec![n];
    println!(
        "TIE r{n}'s hellos on the WAN: {} after {grace} s, {early} before; r{other}'s: {offered} multicast on \
         the LAN, flooded to r{n}'s bridge, {bridged} of them on the WAN; the shared MAC's there: {own}",
        leaked.len()
    );
    assert_eq!(leaked, Vec::<&(f64, String, String)>::new(), "r{n}'s hellos reached the WAN\n{}", c.log(n));
    // The bridge has the other router's hellos to carry to the WAN port
    // (the LAN switch floods the multicast ones to it); none leave there.
    assert!(offered > 0, "r{other} sent no multicast hello while r{n} was tied: the test offers nothing");
    assert_eq!(bridged, 0, "r{other}'s hellos left by r{n}'s WAN port, from r{other}'s MAC");
    // An active's own WAN hellos still do: the capture sees the WAN.
    assert_eq!(own > 0, active, "the shared MAC's frames on r{n}'s WAN port (active: {active})");
    let said = on_lan.iter().filter(|(t, s, _)| *t > tied + grace && *s == mac).count();
    assert_eq!(said, 0, "r{n} sent {said} hellos on its tied bridge");
    assert_eq!(c.log(n).matches(error).count(), 1, "logged more than once\n{}", c.log(n));
    during(c);

    c.bed.exec_ok(&r, ["ip", "link", "set", "wan", "nomaster"]);
    let untied = wall();
    let back = "control link 'br-lan' is no longer tied to the WAN device 'wan'";
    assert!(poll_until(SECS(2), || c.log(n).contains(back)), "r{n}: untie not logged\n{}", c.log(n));
    let speaks = poll_until(SECS(2), || lan.first_after(c, untied, |s, _| s == mac).is_some());
    assert!(speaks, "r{n} silent on its untied bridge\n{}", c.log(n));
    let both = poll_until(SECS(3), || alive(c, 1, "0x2") && alive(c, 2, "0x1"));
    assert!(both, "r1 and r2 do not hear each other again\n{}", c.logs());
    assert_eq!(c.status(n).unwrap()["control_links"][0]["state"], "up");
}

/// A control bridge tied to the WAN device at run time carries no hello
/// of its router until untied (DESIGN.md §2). The standby still reads its
/// bridge, where it hears the active (its WAN device, a bridge port now,
/// gets nothing of its own): it stays a standby. The active still serves
/// its LAN, so it stays active, as with any control link lost
/// (PROTOCOL.md §1.1, §5.7): the standby hears it on the WAN (§7.3).
#[test]
fn a_control_bridge_tied_to_the_wan_at_run_time_carries_no_hello_until_untied() {
    let mut c = bridged_pair();
    assert!(poll_until(SECS(5), || alive(&c, 1, "0x2") && alive(&c, 2, "0x1")), "{}", c.logs());
    let roles = [1, 2].map(|n| c.transitions(n));
    tie_for_a_while(&mut c, 2, false, |c| {
        assert!(alive(c, 2, "0x1"), "r2 no longer hears r1\n{}", c.logs());
        assert!(!alive(c, 1, "0x2"), "r1 still hears the tied r2\n{}", c.logs());
    });
    tie_for_a_while(&mut c, 1, false, |c| {
        assert!(alive(c, 2, "0x1"), "r2 does not hear r1 on the WAN\n{}", c.logs());
        assert!(alive(c, 1, "0x2"), "r1 no longer hears r2\n{}", c.logs());
    });
    assert_eq!([1, 2].map(|n| c.transitions(n)), roles, "a role changed\n{}", c.logs());
    for n in [1, 2] {
        c.assert_running(n);
    }
}

/// A daemon started while its control bridge is tied to the WAN device
/// (a restart after the operator's change, a reboot) starts as one that
/// saw the tie made: it sends nothing on the bridge, reads it (the standby
/// hears the active there and stays a standby) and speaks once untied.
#[test]
fn a_daemon_started_with_its_control_bridge_tied_to_the_wan_sends_nothing_there_until_untied() {
    let mut c = Cluster::with_daemons_down(&prio(&[200, 150]), HELLO_MS, Opts::default());
    for n in [1, 2] {
        unaddress_port(&c, n);
        create_bridge(&c, n);
        use_bridge(&c, n, false);
    }
    c.boot(1);
    assert_eq!(c.wait_one_active(SECS(15)), 1, "{}", c.logs());
    c.wait_lease(1, SECS(20));
    tie_for_a_while(&mut c, 2, true, |c| {
        assert!(alive(c, 2, "0x1"), "r2 does not hear r1\n{}", c.logs());
        assert!(!alive(c, 1, "0x2"), "r1 hears the tied r2\n{}", c.logs());
        assert_eq!(c.state(2), "standby", "{}", c.logs());
    });
    assert_eq!(c.actives(), vec![1], "{}", c.logs());
    assert!(!c.log(2).contains("-> taking-over"), "the tied r2 took over\n{}", c.logs());
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

/// Re-creates router n's WAN device as the bed built it: a veth from its
/// port in the WAN switch, with the shared MAC, down (`ip link del wan`
/// took the switch's end with it).
fn recreate_wan(c: &Cluster, n: usize) {
    let (port, ns) = (Testbed::wan_port(n), c.bed.ns_name(&Testbed::router(n)));
    let argv = ["ip", "link", "add", &port, "type", "veth", "peer", "name", "wan", "netns", &ns, "address", SHARED_MAC];
    c.bed.exec_ok("wsw", argv);
    c.bed.exec_ok("wsw", ["ip", "link", "set", port.as_str(), "master", "br0", "up"]);
}

/// A router advertisement on the ISP's side of the WAN from `source`, a
/// link-local address of the ISP's: another default router (radvd's is
/// gone by then, so nothing moves it back).
fn isp_advertises(c: &Cluster, source: &str) {
    let script = format!(
        "import socket\n\
         i = socket.if_nametoindex('cust')\n\
         s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)\n\
         s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)\n\
         s.bind(('{source}', 0, 0, i))\n\
         s.sendto(bytes([134, 0, 0, 0, 64, 0x80, 7, 8] + [0] * 8), ('ff02::1', 0, 0, i))\n"
    );
    c.bed.exec_ok("isp", ["python3", "-c", script.as_str()]);
}

/// The active r1 hears the ISP's router advertisements on its WAN device
/// (router lifetime 1800 s from `source`): within 1 s its binding's
/// gateway is `source`, and so is its default route.
fn hears_isp_router(c: &Cluster, source: &str, what: &str) {
    isp_advertises(c, source);
    let route = || c.bed.exec_ok("r1", ["ip", "-6", "route", "show", "default"]);
    let heard = poll_until(SECS(1), || {
        c.status(1).is_some_and(|s| s["lease6"]["gateway"] == source)
            && route().contains(&format!("default via {source} dev wan"))
    });
    assert!(heard, "{what}: r1 did not follow the ISP's advertisement from {source}: {}\n{}", route(), c.log(1));
}

/// r1, active again since `active_at`, serves the LAN over IPv6: within
/// 3 s the client's default route is via the LAN gateway and it reaches
/// the host behind the ISP; a solicitation from the client is answered by
/// r1 within 300 ms. `adverts` watches solicitations and advertisements.
fn serves_ipv6(c: &Cluster, adverts: &FrameWatch, active_at: Instant, what: &str) {
    let route = || c.bed.exec_ok("cli", ["ip", "-6", "route", "show", "default"]);
    let via = format!("default via {LAN_GATEWAY6} dev eth0");
    assert!(poll_until(SECS(3), || route().contains(&via)), "{what}: the client's route: {}", route());
    let ping = || c.bed.exec("cli", ["ping", "-6", "-n", "-c", "1", "-W", "1", SRV_ADDR6]).status.success();
    assert!(poll_until(SECS(3), ping), "{what}: the client cannot reach {SRV_ADDR6}\n{}", c.logs());
    // An active advertises at most once a second (ADVERT_MIN_GAP): the
    // one at its takeover must be that far behind.
    std::thread::sleep(Duration::from_millis(1100).saturating_sub(active_at.elapsed()));
    let mac = Testbed::router_lan_mac(1);
    let before = wall();
    c.bed.solicit_routers();
    // From the solicitation on the LAN (to all routers, 33:33:00:00:00:02).
    let asked = || adverts.frames(c).into_iter().find(|(t, _, d)| *t >= before && d == "33:33:00:00:00:02");
    assert!(poll_until(SECS(1), || asked().is_some()), "{what}: the solicitation is not on the LAN");
    let asked = asked().map_or(before, |(t, _, _)| t);
    let answer = || adverts.first_after(c, asked, |s, _| s == mac);
    let answered = poll_until(SECS(1), || answer().is_some());
    println!("RS {what}: r1 answered after {:.1} ms", answer().unwrap_or(f64::NAN) * 1e3);
    assert!(
        answered && answer().is_some_and(|t| t < 0.3),
        "{what}: r1 did not answer the solicitation: {:?}",
        answer()
    );
}

/// Waits (5 s at most) until r1 is the active again after its device
/// was re-created at `since`; returns when it was seen so.
fn r1_active_again(c: &Cluster, since: Instant, what: &str) -> Instant {
    assert!(poll_until(SECS(5), || c.actives() == vec![1]), "{what}: r1 did not take back the role\n{}", c.logs());
    println!("BACK {what}: r1 active again after {} ms (preempt delay 1 s)", since.elapsed().as_millis());
    Instant::now()
}

/// netifd's network reload on the active of a dual-stack pair re-creates
/// its LAN bridge, then its WAN device. Either way the active loses what
/// it needs to serve (its LAN; its WAN link): it hands over to the
/// standby at once (docs/PROTOCOL.md §5.7), and with preempt on takes the
/// role back once the device is there again. Then its IPv6 service works
/// on the new devices: the solicitation socket listens on the new bridge,
/// the router-advertisement socket on the new WAN device, the binding's
/// addresses and routes are on both.
#[test]
fn ipv6_on_the_active_follows_its_recreated_lan_bridge_and_wan_device() {
    let mut confs = dual_stack(&[200, 150]);
    for rc in &mut confs {
        rc.preempt = true;
    }
    let opts = Opts { ipv6: true, dnsmasq_args: vec!["--no-ping".into()], ..Opts::default() };
    let mut c = Cluster::with_daemons_down(&confs, HELLO_MS, opts);
    unaddress_port(&c, 1);
    create_bridge(&c, 1);
    use_bridge(&c, 1, false);
    c.boot(1);
    c.boot(2);
    assert_eq!(c.wait_one_active(SECS(15)), 1, "r1 has the best priority\n{}", c.logs());
    c.wait_lease6(1, SECS(20));
    c.bed.wait_cli_address6(SECS(15)).expect("no SLAAC address");
    // radvd SIGKILLed (no farewell advertisement): from now on the ISP's
    // advertisements are the test's.
    let radvd = std::fs::read_to_string(c.dir().join("radvd.pid")).unwrap();
    c.bed.exec_ok("isp", ["kill", "-KILL", radvd.trim()]);
    for a in ["fe80::2/64", "fe80::3/64"] {
        c.bed.exec_ok("isp", ["ip", "addr", "add", a, "dev", "cust", "nodad"]);
    }
    let adverts = FrameWatch::start(&mut c, "icmp6 and (ip6[40] == 133 or ip6[40] == 134)");
    serves_ipv6(&c, &adverts, Instant::now(), "at the start");

    // (a) The LAN bridge.
    let old = ifindex(&c, 1, "br-lan");
    c.bed.exec_ok("r1", ["ip", "link", "del", "br-lan"]);
    assert!(poll_until(SECS(2), || c.actives() == vec![2]), "r1 without its LAN stayed active\n{}", c.logs());
    create_bridge(&c, 1);
    let back = Instant::now();
    assert_ne!(ifindex(&c, 1, "br-lan"), old);
    let at = r1_active_again(&c, back, "bridge re-created");
    let lan = || c.bed.exec_ok("r1", ["ip", "-6", "addr", "show", "dev", "br-lan"]);
    let addressed = poll_until(SECS(1), || lan().contains("fe80::1/64") && lan().contains("2001:db8:100::1/64"));
    assert!(addressed, "the IPv6 gateway and subnet addresses are not on the new bridge: {}", lan());
    serves_ipv6(&c, &adverts, at, "bridge re-created");
    hears_isp_router(&c, "fe80::2", "bridge re-created");

    // (b) The WAN device.
    let old = ifindex(&c, 1, "wan");
    let appeared = || c.log(1).matches("WAN device wan is there").count();
    let seen = appeared();
    c.bed.exec_ok("r1", ["ip", "link", "del", "wan"]);
    assert!(poll_until(SECS(2), || c.actives() == vec![2]), "r1 without its WAN stayed active\n{}", c.logs());
    let logged = c.log(1).len();
    // A standby holds no part of the binding: not the LAN's subnet address.
    let lan = || c.bed.exec_ok("r1", ["ip", "-6", "addr", "show", "dev", "br-lan"]);
    let dropped = poll_until(SECS(1), || !lan().contains("2001:db8:100::1/64"));
    assert!(dropped, "r1, standby without its WAN device, kept the binding's LAN address: {}\n{}", lan(), c.log(1));
    recreate_wan(&c, 1);
    assert_ne!(ifindex(&c, 1, "wan"), old);
    // Up only once the daemon fenced it, as at boot.
    assert!(poll_until(SECS(2), || appeared() > seen), "r1 did not see its new WAN device\n{}", c.log(1));
    std::thread::sleep(Duration::from_millis(100));
    c.bed.bring_up_wan(1);
    let at = r1_active_again(&c, Instant::now(), "WAN re-created");
    let wan = || c.bed.exec_ok("r1", ["ip", "-6", "addr", "show", "dev", "wan"]);
    assert!(
        poll_until(SECS(1), || wan().contains(IA_NA)),
        "the IPv6 binding's address is not on the new WAN: {}",
        wan()
    );
    hears_isp_router(&c, "fe80::3", "WAN re-created");
    serves_ipv6(&c, &adverts, at, "WAN re-created");
    // The device's return and the takeover on it are expected: the
    // standby's new device was still down, its link-local address still
    // tentative at the takeover. Neither is a warning.
    assert_eq!(c.warnings(1, logged), Vec::<String>::new(), "r1 warned after losing its WAN device\n{}", c.log(1));
    for n in [1, 2] {
        c.assert_running(n);
    }
}
