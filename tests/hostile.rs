//! Hostile frames against a keyed group, end to end: three routers on the
//! namespace test bed and an attacker of their own (namespace `att`, a port
//! on the LAN switch and one on the WAN switch) that sends with
//! tests/tools/attacker.py. Forged frames (bad tag, unknown key, unsigned,
//! another group), exact replays (at once and after 10 s), re-addressed
//! copies, every truncation, 5,000 spoofed router ids and abused timer
//! claims each move the expected counter and change no router's state (a
//! copy on the WAN from another MAC than the shared one moves none: the
//! fences drop it);
//! a 10 s flood at 2,000 frames/s leaves the active's hellos on time (no
//! false failover), its figures printed (`-- --nocapture`). Needs root.

mod e2e;
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use e2e::{Cluster, KEY, prio};
use serde_json::Value;
use support::netns::Netns;
use support::{ProcId, SHARED_MAC, Testbed, VWRP_ETHERTYPE, poll_until};
use vwrp::wire::{self, Flags, Key, Keyring, MULTICAST_MAC, Mac, Message, MessageType, Tlvs, WireState};

/// Hellos every 200 ms, dead after 3: 600 ms.
const HELLO_MS: u64 = 200;
const DEAD_MS: f64 = 3.0 * HELLO_MS as f64;
/// The dead interval of a peer whose frames say it is a standby: 3 of its
/// slow hellos (docs/PROTOCOL.md §4.2, §4.6).
const STANDBY_DEAD_MS: f64 = DEAD_MS * vwrp::engine::STANDBY_PACE as f64;
const ATTACKER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/attacker.py");
const ATT_MAC: Mac = Mac([0x02, 0x66, 0x66, 0x66, 0x66, 0x01]);
const SECS: fn(u64) -> Duration = Duration::from_secs;

fn mac(s: &str) -> Mac {
    let b: Vec<u8> = s.split(':').map(|x| u8::from_str_radix(x, 16).unwrap()).collect();
    Mac(b.try_into().unwrap())
}

fn lan_mac(n: usize) -> Mac {
    mac(&Testbed::router_lan_mac(n))
}

fn the_key() -> Key {
    let (id, secret) = KEY.split_once(':').unwrap();
    Key::new(id.parse().unwrap(), secret.as_bytes())
}

/// A standby's hello as router `id` would send it on a control link.
fn hello(id: u32, seq: u32) -> Message {
    Message {
        kind: MessageType::Hello,
        group: 1,
        state: WireState::Standby,
        router_id: id,
        priority: 100,
        effective_priority: 100,
        flags: Flags(0),
        dead_multiplier: 3,
        hello_interval: HELLO_MS as u16,
        epoch: 0x0bad_0001,
        seq,
        tlvs: Tlvs::default(),
    }
}

fn frame(dst: Mac, msg: &Message, keys: &Keyring) -> Vec<u8> {
    wire::frame(dst, ATT_MAC, VWRP_ETHERTYPE, msg, keys).unwrap()
}

/// Signs `f` again with `key` for its (possibly edited) destination and
/// header: what an insider holding the key can send.
fn resign(f: &mut [u8], key: &Key) {
    let dst = Mac(f[..6].try_into().unwrap());
    let pdu = &mut f[wire::ETHERNET_HEADER_LEN..];
    let body = wire::HEADER_LEN + usize::from(u16::from_be_bytes([pdu[14], pdu[15]]));
    let tag = key.tag(dst, &pdu[..body]);
    pdu[body] = key.id;
    pdu[body + 1..body + 1 + wire::TAG_LEN].copy_from_slice(&tag);
}

/// The bed, the cluster on it and the attacker's namespace with `lan0` on
/// the LAN switch and `wan0` on the WAN switch.
struct Scene {
    c: Cluster,
    att: Netns,
    n: usize,
}

impl Scene {
    fn new() -> Scene {
        let c = Cluster::start(&prio(&[200, 150, 100]), HELLO_MS);
        assert_eq!(c.wait_one_active(SECS(15)), 1, "r1 has the best priority");
        let att = Netns::new("att");
        att.exec(["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
        for (dev, switch) in [("lan0", "lsw"), ("wan0", "wsw")] {
            let sw = c.bed.ns_name(switch);
            att.exec([
                "ip",
                "link",
                "add",
                dev,
                "address",
                &ATT_MAC.to_string(),
                "type",
                "veth",
                "peer",
                "name",
                "att",
            ]);
            att.exec(["ip", "link", "set", "att", "netns", &sw]);
            c.bed.exec_ok(switch, ["ip", "link", "set", "att", "master", "br0", "up"]);
            att.exec(["ip", "link", "set", dev, "up"]);
        }
        // Every router knows the two others, and the switches where they are.
        for n in 1..=3 {
            assert!(
                poll_until(SECS(10), || c.status(n).is_some_and(|s| s["peers"].as_array().map_or(0, Vec::len) == 2)),
                "r{n} does not know both peers"
            );
        }
        Scene { c, att, n: 0 }
    }

    fn counters(&self, n: usize) -> BTreeMap<String, u64> {
        let st = self.c.status(n).unwrap_or_else(|| panic!("r{n} does not answer\n{}", self.c.logs()));
        st["counters"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect()
    }

    /// Everything a router's state is made of that a frame might change:
    /// its state, its transitions, and who it believes its peers are.
    fn state(&self, n: usize) -> (String, u64, Vec<(String, String, bool)>) {
        let st = self.c.status(n).unwrap();
        let peers = st["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["router_id"].as_str().unwrap().into(), p["state"].as_str().unwrap().into(), p["alive"] == true))
            .collect();
        (st["state"].as_str().unwrap().into(), st["counters"]["transitions"].as_u64().unwrap(), peers)
    }

    /// Sends `frames` from `dev` (`lan0` or `wan0`) at `rate` per second;
    /// returns the tool's report.
    fn send(&mut self, dev: &str, frames: &[Vec<u8>], rate: u32, seconds: Option<u32>) -> Value {
        self.n += 1;
        let file = self.c.dir().join(format!("attack-{}.hex", self.n));
        let text: String = frames.iter().map(|f| hex(f) + "\n").collect();
        std::fs::write(&file, text).unwrap();
        let mut argv = vec!["python3".to_string(), ATTACKER.into(), "send".into(), dev.into()];
        argv.extend([file.to_string_lossy().into_owned(), "--rate".into(), rate.to_string()]);
        if let Some(s) = seconds {
            argv.extend(["--seconds".into(), s.to_string()]);
        }
        let out = self.att.exec(&argv);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["errors"], 0, "the attacker could not send: {report}");
        report
    }

    /// Sends `frames` to router `n` from `dev`; expects `counter` on `n`
    /// to grow by `want` and no other refusal counter to move, on any
    /// router, and no router's state to change.
    fn expect(&mut self, what: &str, dev: &str, frames: &[Vec<u8>], n: usize, counter: &str, want: u64) {
        self.expect_on(what, dev, frames, &[n], counter, want);
    }

    /// `expect` for frames that reach every router in `ns`.
    fn expect_on(&mut self, what: &str, dev: &str, frames: &[Vec<u8>], ns: &[usize], counter: &str, want: u64) {
        let before: Vec<_> = (1..=3).map(|r| (self.counters(r), self.state(r))).collect();
        self.send(dev, frames, 2000, None);
        let grown = |s: &Scene, n: usize| s.counters(n)[counter] - before[n - 1].0[counter];
        poll_until(SECS(3), || ns.iter().all(|&n| grown(self, n) >= want));
        // Whatever else would be counted has been by now.
        std::thread::sleep(Duration::from_millis(300));
        for &n in ns {
            assert_eq!(grown(self, n), want, "{what}: {counter} on r{n}\n{}", self.c.logs());
        }
        for r in 1..=3 {
            let after = self.counters(r);
            let moved: Vec<_> = refusals(&after)
                .filter(|(k, v)| **v != before[r - 1].0[*k] && !(ns.contains(&r) && *k == counter))
                .map(|(k, v)| format!("{k} +{}", v - before[r - 1].0[k]))
                .collect();
            assert!(moved.is_empty(), "{what}: r{r} also counted {moved:?}");
            assert_eq!(self.state(r), before[r - 1].1, "{what}: r{r}'s state changed\n{}", self.c.logs());
        }
        let who: Vec<String> = ns.iter().map(|n| format!("r{n}")).collect();
        println!(
            "HOSTILE {what}: {} frame(s) -> {} {counter} +{want} each, no state change",
            frames.len(),
            who.join(" ")
        );
    }

    /// Starts recording the vwrp frames `role` receives on `dev` for
    /// `seconds` (on a switch's `br0`: all it forwards).
    fn capture(&mut self, role: &str, dev: &str, seconds: u32) -> ProcId {
        let mut argv = vec!["python3", ATTACKER, "capture", dev];
        let secs = seconds.to_string();
        argv.push(&secs);
        if dev == "br0" {
            argv.push("--promisc");
        }
        let p = self.c.bed.spawn(role, argv);
        assert!(poll_until(SECS(5), || self.c.bed.proc_log(p).contains("listening")), "capture did not start");
        p
    }

    /// The capture's frames, (nanoseconds, bytes), once it ended.
    fn captured(&mut self, p: ProcId) -> Vec<(u64, Vec<u8>)> {
        assert!(self.c.bed.wait(p, SECS(150)).is_some_and(|s| s.success()), "{}", self.c.bed.proc_log(p));
        self.c
            .bed
            .proc_log(p)
            .lines()
            .filter_map(|l| l.split_once(' '))
            .filter_map(|(t, h)| Some((t.parse().ok()?, unhex(h)?)))
            .collect()
    }
}

/// The counters of refused (and bounded) frames.
fn refusals(c: &BTreeMap<String, u64>) -> impl Iterator<Item = (&String, &u64)> {
    c.iter().filter(|(k, _)| k.starts_with("rx_") && *k != "rx_ok" && *k != "rx_own")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

fn rx_packets(c: &Cluster, n: usize, dev: &str) -> u64 {
    let path = format!("/sys/class/net/{dev}/statistics/rx_packets");
    c.bed.exec_ok(&Testbed::router(n), ["cat", &path]).trim().parse().unwrap()
}

/// CPU time router n's daemon has used so far, in ms (user + system).
fn cpu_ms(c: &Cluster, n: usize) -> f64 {
    let pid = c.bed.pid(c.daemon(n));
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command's closing parenthesis; utime and stime
    // are the 14th and 15th of the line.
    let rest: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: f64 = rest[11].parse::<f64>().unwrap() + rest[12].parse::<f64>().unwrap();
    ticks * 1000.0 / nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).unwrap().unwrap() as f64
}

#[test]
fn hostile_frames_are_counted_and_change_nothing() {
    let mut s = Scene::new();
    let keys = Keyring::new(vec![the_key()]);
    let r2 = lan_mac(2);

    // Real hellos of r1 on their way to r2 and to r3.
    let cap = s.capture("lsw", "br0", 2);
    let seen = s.captured(cap);
    let from_r1 = |dst: Mac| {
        seen.iter().rev().map(|(_, f)| f.clone()).find(|f| f[6..12] == lan_mac(1).0 && f[..6] == dst.0).unwrap()
    };
    let to_r2 = from_r1(r2);
    let mut readdressed = from_r1(lan_mac(3));
    readdressed[..6].copy_from_slice(&r2.0);

    // Forged.
    let mut bad_tag = frame(r2, &hello(66, 1), &keys);
    let last = bad_tag.len() - 1;
    bad_tag[last] ^= 1;
    s.expect("bad tag", "lan0", &[bad_tag], 2, "rx_bad_tag", 1);
    let unknown = Keyring::new(vec![Key::new(9, b"e2e-test-key")]);
    s.expect("unknown key", "lan0", &[frame(r2, &hello(66, 2), &unknown)], 2, "rx_bad_key", 1);
    s.expect("unsigned", "lan0", &[frame(r2, &hello(66, 3), &Keyring::default())], 2, "rx_unauthenticated", 1);
    // Another group's frame never reaches the daemon: the kernel's filter
    // drops it (it did reach the router).
    let before = (rx_packets(&s.c, 2, "lan"), s.counters(2));
    let other_group = Message { group: 2, ..hello(66, 4) };
    s.send("lan0", &[frame(r2, &other_group, &keys)], 2000, None);
    assert!(poll_until(SECS(2), || rx_packets(&s.c, 2, "lan") > before.0), "the frame did not reach r2");
    std::thread::sleep(Duration::from_millis(300));
    let after = s.counters(2);
    assert!(refusals(&after).all(|(k, v)| before.1[k] == *v), "another group's frame was counted: {after:?}");
    println!("HOSTILE another group: 1 frame -> reached r2, dropped by its socket filter, no counter");

    // Replays: the same frame at once, after 10 s, and re-addressed.
    s.expect("exact replay at once", "lan0", std::slice::from_ref(&to_r2), 2, "rx_replayed", 1);
    std::thread::sleep(SECS(10));
    s.expect("exact replay after 10 s", "lan0", std::slice::from_ref(&to_r2), 2, "rx_replayed", 1);
    s.expect("r1's hello to r3 re-addressed to r2", "lan0", &[readdressed], 2, "rx_bad_tag", 1);
    let mut to_wan = to_r2.clone();
    to_wan[..6].copy_from_slice(&MULTICAST_MAC.0);
    // From r1's LAN MAC it is no WAN frame of the group: every router's
    // fence drops it before its daemon (docs/OPENWRT.md, "The fence").
    let before: Vec<_> = (1..=3).map(|r| s.counters(r)).collect();
    s.send("wan0", std::slice::from_ref(&to_wan), 2000, None);
    std::thread::sleep(Duration::from_millis(300));
    for r in 1..=3 {
        let after = s.counters(r);
        assert!(refusals(&after).all(|(k, v)| before[r - 1][k] == *v), "r{r} counted a foreign MAC's frame: {after:?}");
    }
    println!("HOSTILE r1's hello to r2 replayed on the WAN from r1's LAN MAC: dropped by every router's fence");
    // From the shared MAC every router's WAN socket hears it (a standby's
    // fence drops only what it would forward).
    to_wan[6..12].copy_from_slice(&mac(SHARED_MAC).0);
    s.expect_on(
        "r1's hello to r2 replayed on the WAN from the shared MAC",
        "wan0",
        &[to_wan],
        &[1, 2, 3],
        "rx_bad_tag",
        1,
    );

    // Every truncation of a real frame: each refused as such.
    let cuts: Vec<Vec<u8>> = (wire::ETHERNET_HEADER_LEN..to_r2.len()).map(|n| to_r2[..n].to_vec()).collect();
    let count = cuts.len() as u64;
    s.expect("every truncation", "lan0", &cuts, 2, "rx_truncated", count);

    // 5,000 router ids nobody has, signed with a guessed secret.
    let guessed = Keyring::new(vec![Key::new(1, b"guessed")]);
    let spoofed: Vec<Vec<u8>> = (1000..6000).map(|id| frame(MULTICAST_MAC, &hello(id, 1), &guessed)).collect();
    s.expect_on("5000 spoofed router ids (multicast)", "lan0", &spoofed, &[1, 2, 3], "rx_bad_tag", 5000);
    let listed = s.c.status(2).unwrap()["refused"].as_array().unwrap().len();
    assert!(listed <= 8, "r2 lists {listed} refused routers");

    // Claims: an insider with the key. Effective priority 255 and
    // sequence 0 are refused; hello 65,535 ms x 255 is cut to r2's own
    // dead interval for a standby, at the slow pace a standby may speak at.
    let mut top = frame(r2, &hello(77, 1), &keys);
    top[wire::ETHERNET_HEADER_LEN + 9] = 255;
    resign(&mut top, &the_key());
    s.expect("effective priority 255", "lan0", &[top], 2, "rx_malformed", 1);
    let mut zero = frame(r2, &hello(77, 2), &keys);
    zero[wire::ETHERNET_HEADER_LEN + 20..wire::ETHERNET_HEADER_LEN + 24].fill(0);
    resign(&mut zero, &the_key());
    s.expect("sequence 0", "lan0", &[zero], 2, "rx_malformed", 1);
    let claim =
        Message { hello_interval: u16::MAX, dead_multiplier: 255, priority: 1, effective_priority: 1, ..hello(77, 3) };
    let before = s.counters(2)["rx_claim_bounded"];
    s.send("lan0", &[frame(r2, &claim, &keys)], 2000, None);
    let peer77 = |s: &Scene| {
        s.c.status(2).unwrap()["peers"].as_array().unwrap().iter().find(|p| p["router_id"] == "0x4d").cloned()
    };
    assert!(poll_until(SECS(2), || peer77(&s).is_some()), "r2 did not hear router 77");
    assert_eq!(s.counters(2)["rx_claim_bounded"] - before, 1);
    // Dead after r2's own 3 x 4 x 200 ms, not after 65,535 ms x 255 (4.6
    // hours).
    assert!(
        poll_until(Duration::from_secs_f64(STANDBY_DEAD_MS / 1e3 + 1.0), || {
            peer77(&s).is_some_and(|p| p["alive"] == false)
        }),
        "router 77 still alive on r2: {:?}",
        peer77(&s)
    );
    assert_eq!(s.c.actives(), vec![1]);
    println!(
        "HOSTILE hello 65535 ms x 255: r2 rx_claim_bounded +1, the claim dead after r2's own {STANDBY_DEAD_MS} ms \
         (a standby's, at the slow pace)"
    );
}

/// A 10 s flood of forged frames at 2,000 a second, to every router and to
/// r2 alone: r2 still hears r1's hellos in time, nobody fails over.
#[test]
fn a_flood_does_not_delay_the_actives_hellos() {
    let mut s = Scene::new();
    let guessed = Keyring::new(vec![Key::new(1, b"guessed")]);
    let flood: Vec<Vec<u8>> = (0..1000)
        .map(|i| frame(if i % 2 == 0 { MULTICAST_MAC } else { lan_mac(2) }, &hello(1000 + i, 1), &guessed))
        .collect();
    let before: Vec<_> = (1..=3).map(|r| (s.counters(r), s.state(r))).collect();
    let cap = s.capture("r2", "lan", 13);
    std::thread::sleep(SECS(1));
    let cpu_before: Vec<f64> = (1..=3).map(|r| cpu_ms(&s.c, r)).collect();
    let report = s.send("lan0", &flood, 2000, Some(10));
    let cpu: Vec<f64> = (1..=3).map(|r| cpu_ms(&s.c, r) - cpu_before[r - 1]).collect();
    let seen = s.captured(cap);
    let r1 = lan_mac(1);
    let hellos: Vec<u64> = seen.iter().filter(|(_, f)| f[6..12] == r1.0).map(|(t, _)| *t).collect();
    let gaps: Vec<f64> = hellos.windows(2).map(|w| (w[1] - w[0]) as f64 / 1e6).collect();
    let worst = gaps.iter().cloned().fold(0.0, f64::max);
    let flood_in = seen.iter().filter(|(_, f)| f[6..12] == ATT_MAC.0).count();
    let refused: Vec<u64> = (1..=3).map(|r| s.counters(r)["rx_bad_tag"] - before[r - 1].0["rx_bad_tag"]).collect();
    let stalls = s.counters(1)["stalls"] - before[0].0["stalls"];
    println!(
        "FLOOD {} frames in {} s ({:.0}/s) from the LAN; r2 received {flood_in}; refused (bad tag) r1 {} r2 {} r3 {}; \
         r1's hellos at r2: {}, longest gap {worst:.1} ms (hello {HELLO_MS} ms, dead {DEAD_MS} ms); r1 stalls {stalls}; \
         CPU during the flood r1 {:.0} ms r2 {:.0} ms r3 {:.0} ms",
        report["sent"],
        report["seconds"],
        report["sent"].as_f64().unwrap() / report["seconds"].as_f64().unwrap(),
        refused[0],
        refused[1],
        refused[2],
        hellos.len(),
        cpu[0],
        cpu[1],
        cpu[2],
    );
    assert!(report["sent"].as_u64().unwrap() >= 19_000, "the flood fell short: {report}");
    assert!(hellos.len() as u64 >= 10_000 / HELLO_MS, "r2 heard {} hellos of r1", hellos.len());
    assert!(worst < DEAD_MS, "r1's hellos paused {worst:.1} ms at r2\n{}", s.c.logs());
    for r in 1..=3 {
        assert_eq!(s.state(r).0, before[r - 1].1.0, "r{r} changed state\n{}", s.c.logs());
        assert_eq!(s.state(r).1, before[r - 1].1.1, "r{r} made a transition\n{}", s.c.logs());
    }
    assert!(refused[1] > 0, "r2 refused none of the flood");
    // The operator hears of it once, with the sender's MAC; the next line
    // (with the count) is a minute away.
    let log = s.c.log(2);
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("refused (rx_bad_tag)")).collect();
    assert_eq!(lines.len(), 1, "r2 logged {lines:#?}");
    assert!(lines[0].contains(&ATT_MAC.to_string()), "{}", lines[0]);
    println!("FLOOD r2 logged one line: {}", lines[0]);
}
