//! Trackers end to end, on the real kernel: routers running the vwrp
//! daemon in network namespaces, with link, ping, arping and script
//! trackers. Each test prints the detection time it measured next to the
//! bound its configuration promises (`-- --nocapture`). Needs root.

mod e2e;
mod support;

use std::time::{Duration, Instant};

use e2e::{Cluster, RouterConf};
use serde_json::Value;
use support::{SRV_ADDR, Testbed, WAN_ADDR, poll_until};

const HELLO_MS: u64 = 100;
const SECS: fn(u64) -> Duration = Duration::from_secs;
const MS: fn(u64) -> Duration = Duration::from_millis;
/// Scheduling, the test's own commands (nft, ip) and status polling.
const SLACK: Duration = Duration::from_millis(300);

/// A `config tracker` section for router configs.
fn tracker(name: &str, kind: &str, options: &[(&str, &str)]) -> String {
    let mut s = format!("config tracker '{name}'\n\toption group 'wan'\n\toption type '{kind}'\n");
    for (k, v) in options {
        let cmd = if *k == "target" { "list" } else { "option" };
        s.push_str(&format!("\t{cmd} {k} '{v}'\n"));
    }
    s
}

fn confs(priorities: &[u8], extra: impl Fn(usize) -> String) -> Vec<RouterConf> {
    priorities
        .iter()
        .enumerate()
        .map(|(i, &priority)| RouterConf { priority, extra: extra(i + 1), ..Default::default() })
        .collect()
}

/// Router 1 is active with the lease; the others know it.
fn up(confs: &[RouterConf]) -> Cluster {
    let c = Cluster::start(confs, HELLO_MS);
    assert_eq!(c.wait_one_active(SECS(15)), 1, "r1 has the best priority");
    c.wait_lease(1, SECS(20));
    c
}

/// Router n's status entry for tracker `name`.
fn tracker_status(c: &Cluster, n: usize, name: &str) -> Option<Value> {
    let st = c.status(n)?;
    st["trackers"].as_array()?.iter().find(|t| t["name"] == name).cloned()
}

fn wait_tracker(c: &Cluster, n: usize, name: &str, state: &str, timeout: Duration) {
    let mut last = None;
    let ok = poll_until(timeout, || {
        last = tracker_status(c, n, name);
        last.as_ref().is_some_and(|t| t["state"] == state)
    });
    assert!(ok, "r{n}: tracker {name} never {state}: {last:?}\n{}", c.logs());
}

/// When router n's tracker last changed to `to`, on this clock.
fn changed_to(c: &Cluster, n: usize, name: &str, to: &str) -> Option<(Instant, u64)> {
    let t = tracker_status(c, n, name)?;
    let asked = Instant::now();
    let ch = &t["change"];
    if ch["to"] != to {
        return None;
    }
    let at = asked.checked_sub(MS(ch["ago_ms"].as_u64()?))?;
    Some((at, ch["detect_ms"].as_u64()?))
}

/// The verdict `to` of router n's tracker, at or after `since`; its delay
/// from `since` and the daemon's own detection time.
fn detection(c: &Cluster, n: usize, name: &str, to: &str, since: Instant, timeout: Duration) -> (Duration, u64) {
    let mut found = None;
    let ok = poll_until(timeout, || {
        found = changed_to(c, n, name, to).filter(|(at, _)| *at + MS(20) >= since);
        found.is_some()
    });
    assert!(ok, "r{n}: tracker {name} never went {to}: {:?}\n{}", tracker_status(c, n, name), c.logs());
    let (at, own) = found.unwrap();
    (at.saturating_duration_since(since), own)
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// Sets only router n's WAN switch port down: its `wan` loses carrier,
/// its LAN (and so the hellos) stays.
fn pull_wan(c: &Cluster, n: usize) {
    c.bed.exec_ok("wsw", ["ip", "link", "set", Testbed::wan_port(n).as_str(), "down"]);
}

#[test]
fn link_tracker_active_loses_wan_carrier_standby_takes_over() {
    let (interval, fall) = (100, 2);
    let c = up(&confs(&[200, 150], |_| {
        tracker(
            "wanlink",
            "link",
            &[("device", "wan"), ("interval", "100ms"), ("rise", "1"), ("fall", "2"), ("weight", "fatal")],
        )
    }));
    wait_tracker(&c, 1, "wanlink", "up", SECS(5));
    wait_tracker(&c, 2, "wanlink", "up", SECS(5));
    let t0 = Instant::now();
    pull_wan(&c, 1);
    assert!(poll_until(SECS(5), || c.actives() == vec![2]), "r2 did not take over: {:?}\n{}", c.states(), c.logs());
    let took = t0.elapsed();
    let (detect, own) = detection(&c, 1, "wanlink", "down", t0, SECS(2));
    // The carrier event counts at once, then one sample per interval.
    let bound = MS(interval * (fall - 1));
    println!(
        "DETECT link: {} ms, daemon's own {own} ms (bound: the carrier event + ({fall} - 1) × {interval} ms = {} ms); r2 active after {} ms",
        ms(detect),
        ms(bound),
        ms(took)
    );
    assert!(detect <= bound + SLACK, "link verdict too late: {detect:?}");
    assert_eq!(c.state(1), "fault", "a fatal tracker down: r1 cannot forward");
    assert_eq!(c.wait_lease(2, SECS(5))["lease"]["address"], WAN_ADDR);
}

/// Blocks router 1's upstream; a WAN-only tracker `name` must see it and
/// hand the WAN to router 2, whose own tracker then comes up.
fn upstream_blocked_hands_over(kind: &str, options: &[(&str, &str)], interval: u64, timeout: u64, fall: u64) {
    let name = format!("up_{kind}");
    let c = up(&confs(&[200, 150], |_| tracker(&name, kind, options)));
    wait_tracker(&c, 1, &name, "up", SECS(5));
    // On the standby it does not run and means nothing.
    let standby = tracker_status(&c, 2, &name).unwrap();
    assert_eq!(standby["state"], "unknown", "{standby}");
    assert_eq!(standby["running"], false, "{standby}");
    c.bed.block_upstream(1);
    // From when the rule is surely in place: spawning nft takes a while.
    let t0 = Instant::now();
    assert!(poll_until(SECS(10), || c.actives() == vec![2]), "r2 did not take over: {:?}\n{}", c.states(), c.logs());
    let took = t0.elapsed();
    let (detect, own) = detection(&c, 1, &name, "down", t0, SECS(2));
    let bound = MS(interval * fall + timeout);
    println!(
        "DETECT {kind}: {} ms, daemon's own {own} ms (bound {fall} × {interval} ms = {} ms + timeout {timeout} ms); r2 active after {} ms",
        ms(detect),
        interval * fall,
        ms(took)
    );
    assert!(detect <= bound + SLACK, "{kind} verdict too late: {detect:?} > {bound:?}");
    let why = c.transitions(1);
    assert!(why.iter().any(|(to, r)| to == "handing-over" && r.contains("tracker")), "{why:?}");
    // r1 closed its WAN: its tracker stopped and forgot; r2's runs and is up.
    wait_tracker(&c, 2, &name, "up", SECS(5));
    let r1 = tracker_status(&c, 1, &name).unwrap();
    assert_eq!(r1["state"], "unknown", "{r1}");
    assert_eq!(r1["running"], false, "{r1}");
    c.bed.unblock_upstream(1);
}

#[test]
fn ping_tracker_active_upstream_blocked_hands_over() {
    let opts = [
        ("target", SRV_ADDR),
        ("interval", "200ms"),
        ("timeout", "200ms"),
        ("rise", "2"),
        ("fall", "3"),
        ("weight", "100"),
    ];
    upstream_blocked_hands_over("ping", &opts, 200, 200, 3);
}

#[test]
fn arping_tracker_active_gateway_unreachable_hands_over() {
    // No target: the lease's gateway, the ISP.
    let opts = [("interval", "200ms"), ("timeout", "150ms"), ("rise", "2"), ("fall", "3"), ("weight", "fatal")];
    upstream_blocked_hands_over("arping", &opts, 200, 150, 3);
}

#[test]
fn upstream_dead_everywhere_at_most_one_handover_per_hold_period() {
    const HOLD: u64 = 10;
    let c = up(&confs(&[200, 150, 100], |_| {
        format!(
            "\toption hold_period '{HOLD}s'\n{}",
            tracker(
                "upstream",
                "ping",
                &[
                    ("target", SRV_ADDR),
                    ("interval", "200ms"),
                    ("timeout", "200ms"),
                    ("rise", "2"),
                    ("fall", "3"),
                    ("weight", "100")
                ],
            )
        )
    }));
    wait_tracker(&c, 1, "upstream", "up", SECS(5));
    c.bed.block_upstream(1);
    let t0 = Instant::now();
    for n in 2..=3 {
        c.bed.block_upstream(n);
    }
    // Watch which router is active, a little longer than two hold periods,
    // and when r1's tracker first saw the upstream die.
    let watch = SECS(HOLD * 2 + 5);
    let mut changes: Vec<(Duration, Vec<usize>)> = vec![(Duration::ZERO, vec![1])];
    let mut most_actives = 0;
    let mut first_down = None;
    while t0.elapsed() < watch {
        let actives = c.actives();
        most_actives = most_actives.max(actives.len());
        if actives.len() == 1 && changes.last().is_some_and(|(_, a)| *a != actives) {
            changes.push((t0.elapsed(), actives));
        }
        if first_down.is_none() {
            first_down = changed_to(&c, 1, "upstream", "down");
        }
        std::thread::sleep(MS(50));
    }
    let (at, own) = first_down.expect("r1's tracker never went down");
    println!(
        "DETECT ping (upstream dead everywhere): {} ms, daemon's own {own} ms (bound 3 × 200 ms = 600 ms + timeout 200 ms)",
        ms(at.saturating_duration_since(t0))
    );
    assert!(at.saturating_duration_since(t0) <= MS(600 + 200) + SLACK, "ping verdict too late");
    let handovers: Vec<Duration> = changes.iter().skip(1).map(|(t, _)| *t).collect();
    println!(
        "HANDOVERS with the upstream dead everywhere, hold {HOLD} s, watched {} s: {:?}",
        watch.as_secs(),
        changes.iter().map(|(t, a)| format!("{:.1}s r{}", t.as_secs_f64(), a[0])).collect::<Vec<_>>()
    );
    assert!(most_actives <= 1, "two routers active at once");
    assert!(!handovers.is_empty(), "the active's tracker went down but nobody took over\n{}", c.logs());
    assert!(handovers[0] <= MS(600 + 200) + SLACK + SECS(1), "first handover late: {:?}", handovers[0]);
    // The hold runs from the offer, and this loop samples every 50 ms or
    // so: a second handover right at the hold's end may look a little early.
    let gap_min = SECS(HOLD) - SECS(1);
    let first_hold = handovers.iter().filter(|t| **t < handovers[0] + gap_min).count();
    assert_eq!(first_hold, 1, "more than one handover within the hold period: {handovers:?}");
    for w in handovers.windows(2) {
        assert!(w[1] - w[0] >= gap_min, "handovers {:?} apart, hold {HOLD} s: {handovers:?}", w[1] - w[0]);
    }
    assert!(handovers.len() <= 3, "{} handovers in {} s: {handovers:?}", handovers.len(), watch.as_secs());
    // The upstream comes back: the active's tracker recovers, one active stays.
    for n in 1..=3 {
        c.bed.unblock_upstream(n);
    }
    let active = c.wait_one_active(SECS(5));
    wait_tracker(&c, active, "upstream", "up", SECS(5));
}

/// Processes (not zombies) whose process group is `pgid`.
fn group_members(pgid: u32) -> Vec<u32> {
    let want = pgid.to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let f: Vec<String> = stat.rsplit_once(')')?.1.split_whitespace().map(str::to_string).collect();
            (f.first().map(String::as_str) != Some("Z") && f.get(2) == Some(&want)).then_some(pid)
        })
        .collect()
}

#[test]
fn script_tracker_that_hangs_is_killed_at_its_timeout() {
    let (interval, timeout, fall) = (300, 200, 2);
    let dir = std::env::temp_dir().join(format!("vwrp-trackers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    struct RemoveDir(std::path::PathBuf);
    impl Drop for RemoveDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = RemoveDir(dir.clone());
    // Hangs while its flag file exists; the sleep is the shell's child.
    let script = dir.join("check");
    std::fs::write(&script, "#!/bin/sh\n[ -e \"$1\" ] && sleep 30\nexit 0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let flag = |n: usize| dir.join(format!("hang{n}"));
    let c = up(&confs(&[200, 150], |n| {
        let cmd = format!("{} {}", script.display(), flag(n).display());
        tracker(
            "check",
            "script",
            &[
                ("script", cmd.as_str()),
                ("interval", "300ms"),
                ("timeout", "200ms"),
                ("rise", "1"),
                ("fall", "2"),
                ("weight", "fatal"),
            ],
        )
    }));
    wait_tracker(&c, 1, "check", "up", SECS(5));
    let t0 = Instant::now();
    std::fs::write(flag(1), "").unwrap();
    // Note every run the daemon reports while r1's tracker falls.
    let mut pids = Vec::new();
    let over = poll_until(SECS(10), || {
        if let Some(p) = tracker_status(&c, 1, "check").and_then(|t| t["pid"].as_u64())
            && !pids.contains(&p)
        {
            pids.push(p);
        }
        c.actives() == vec![2]
    });
    assert!(over, "r2 did not take over: {:?}\n{}", c.states(), c.logs());
    let (detect, own) = detection(&c, 1, "check", "down", t0, SECS(2));
    println!(
        "DETECT script (hung): {} ms, daemon's own {own} ms (bound {fall} × {interval} ms = {} ms + timeout {timeout} ms)",
        ms(detect),
        fall * interval
    );
    assert!(detect <= MS(fall * interval + timeout) + SLACK, "script verdict too late: {detect:?}");
    let st = tracker_status(&c, 1, "check").unwrap();
    assert!(st["error"].as_str().is_some_and(|e| e.contains("killed")), "{st}");
    assert!(!pids.is_empty(), "never saw a run");
    let text = String::from_utf8_lossy(&c.cli(1, &["status"]).stdout).to_string();
    assert!(text.contains("tracker check down (script weight fatal") && text.contains("killed"), "{text}");
    // Every hung run is gone, reaped, and took its sleep with it.
    std::thread::sleep(MS(timeout) + SLACK);
    for p in pids.iter().map(|&p| p as u32) {
        let current = tracker_status(&c, 1, "check").and_then(|t| t["pid"].as_u64());
        if current == Some(u64::from(p)) {
            continue;
        }
        assert!(
            !std::path::Path::new(&format!("/proc/{p}")).exists(),
            "script run {p} still exists (not killed or not reaped)"
        );
        assert!(group_members(p).is_empty(), "children of script run {p} survived: {:?}", group_members(p));
    }
    assert_eq!(c.state(1), "fault");
    // It stops hanging: up again after one success.
    std::fs::remove_file(flag(1)).unwrap();
    wait_tracker(&c, 1, "check", "up", SECS(3));
    assert!(poll_until(SECS(3), || c.state(1) == "standby"), "{}", c.state(1));
}
