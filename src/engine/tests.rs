//! Focused tests of single rules; tests/simulation.rs covers the rest.

use core::time::Duration;
use std::net::Ipv4Addr;

use super::*;
use crate::time::ms;
use crate::wire::{Ia6, Key, Keyring, Lease4, Lease6, Mac, Server6};

fn t(ms_: u64) -> Instant {
    Instant::from_millis(ms_)
}

fn drain(e: &mut Engine) -> Vec<Action> {
    std::iter::from_fn(|| e.poll_action()).collect()
}

/// Runs one engine alone until `until`, preparing at once.
fn run_alone(e: &mut Engine, until: Instant) -> Vec<Action> {
    let mut all = Vec::new();
    while let Some(next) = e.poll_timeout().filter(|&n| n <= until) {
        e.handle_timeout(next);
        let acts = drain(e);
        if acts.contains(&Action::Prepare) {
            e.handle_prepared(next);
            all.extend(drain(e));
        }
        all.extend(acts);
    }
    all
}

fn lease() -> Lease4 {
    Lease4 {
        address: Ipv4Addr::new(203, 0, 113, 10),
        prefix_len: 24,
        gateway: Ipv4Addr::new(203, 0, 113, 1),
        server_id: Ipv4Addr::new(203, 0, 113, 1),
        lease_time: 600,
        valid_left: 600,
        renew_left: 300,
        rebind_left: 525,
        dns: vec![],
    }
}

#[test]
fn alone_it_takes_over_after_one_dead_interval_and_never_before() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    let acts = run_alone(&mut e, t(300));
    assert_eq!(e.state(), State::Init, "still listening");
    assert!(!acts.iter().any(|a| matches!(a, Action::Send { path: Path::Wan, .. })), "init never speaks on the WAN");
    run_alone(&mut e, t(400));
    assert_eq!(e.state(), State::Active);
}

#[test]
fn malformed_and_foreign_frames_are_counted_and_change_nothing() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    e.handle_frame(t(1), Path::Control(0), &[0u8; 10]);
    let mut f = vec![0u8; 60];
    f[..6].copy_from_slice(&crate::wire::MULTICAST_MAC.0);
    f[12] = 0x88;
    f[13] = 0xb5;
    f[16] = 1; // our group
    f[14] = 9; // version 9
    e.handle_frame(t(2), Path::Control(0), &f);
    f[14] = 2;
    f[16] = 2; // group 2: not ours
    e.handle_frame(t(3), Path::Control(0), &f);
    f[16] = 1;
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 0x99]); // another router's MAC
    e.handle_frame(t(4), Path::Control(0), &f);
    let c = e.counters();
    assert_eq!((c.rx_truncated, c.rx_bad_version, c.rx_other, c.rx_ok), (1, 1, 2, 0));
    assert!(e.peers().is_empty());
    assert_eq!(e.state(), State::Init);
    // Each refusal reason is told once, at once; "other" frames are not.
    let told: Vec<(&str, u64)> = drain(&mut e)
        .into_iter()
        .filter_map(|a| match a {
            Action::Refused(r) => Some((r.reason.counter(), r.frames)),
            _ => None,
        })
        .collect();
    assert_eq!(told, [("rx_truncated", 1), ("rx_bad_version", 1)]);
}

#[test]
fn unsigned_frames_are_refused_when_a_key_is_set() {
    let mut other = Settings::for_tests(2, 100);
    other.keys = Keyring::default();
    let mut a = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    let mut b = Engine::new(other, 8, t(0));
    b.handle_timeout(t(0));
    for act in drain(&mut b) {
        if let Action::Send { frame, .. } = act {
            a.handle_frame(t(1), Path::Control(0), &frame);
        }
    }
    assert_eq!(a.counters().rx_unauthenticated, 1);
    assert!(a.peers().is_empty());
}

#[test]
fn a_standby_never_sends_on_the_wan() {
    let mut a = Engine::new(Settings::for_tests(1, 200), 7, t(0));
    run_alone(&mut a, t(1000));
    assert_eq!(a.state(), State::Active);
    let mut b = Engine::new(Settings::for_tests(2, 100), 8, t(1000));
    let mut now = 1000;
    while now < 3000 {
        a.handle_timeout(t(now));
        b.handle_timeout(t(now));
        for act in drain(&mut a) {
            if let Action::Send { path, frame } = act {
                let to = if path == Path::Wan { Path::Wan } else { Path::Control(0) };
                b.handle_frame(t(now), to, &frame);
            }
        }
        for act in drain(&mut b) {
            assert!(!matches!(act, Action::Send { path: Path::Wan, .. } | Action::RefreshPermit { .. }), "{act:?}");
            if let Action::Send { frame, .. } = act {
                a.handle_frame(t(now), Path::Control(0), &frame);
            }
        }
        now += 10;
    }
    assert_eq!(b.state(), State::Standby);
}

/// Checks that each frame in `acts` says FORWARDING exactly when the
/// permission is in force by the actions before it (a RefreshPermit and
/// no CloseWan since), starting from `open`; returns the state after.
fn forwarding_follows_the_permit(acts: &[Action], mut open: bool) -> bool {
    for a in acts {
        match a {
            Action::RefreshPermit { .. } => open = true,
            Action::CloseWan => open = false,
            Action::Send { frame, .. } => {
                let flags = Flags(frame[14 + crate::wire::FLAGS_OFFSET]);
                assert_eq!(flags.has(Flags::FORWARDING), open, "{a:?} in {acts:?}");
            }
            _ => {}
        }
    }
    open
}

#[test]
fn frames_say_forwarding_exactly_while_the_wan_is_open() {
    let (mut a, mut b) = active_and_standby(Settings::for_tests(2, 100));
    let (mut a_open, mut b_open) = (true, false);
    let mut wan_frames = 0;
    for now in (2000..4000).step_by(10) {
        if now == 2500 {
            a.handle_command(t(now), Command::StepDown).unwrap();
        }
        a.handle_timeout(t(now));
        b.handle_timeout(t(now));
        let (fa, fb) = (drain_prepared(&mut a, t(now)), drain_prepared(&mut b, t(now)));
        a_open = forwarding_follows_the_permit(&fa, a_open);
        b_open = forwarding_follows_the_permit(&fb, b_open);
        wan_frames += fa.iter().chain(&fb).filter(|x| matches!(x, Action::Send { path: Path::Wan, .. })).count();
        deliver(&mut b, t(now), &fa);
        deliver(&mut a, t(now), &fb);
        let (fa2, fb2) = (drain_prepared(&mut a, t(now)), drain_prepared(&mut b, t(now)));
        a_open = forwarding_follows_the_permit(&fa2, a_open);
        b_open = forwarding_follows_the_permit(&fb2, b_open);
    }
    // The role moved over, so both sides of the flag were seen on each.
    assert_eq!((a.state(), b.state()), (State::Standby, State::Active));
    assert!(!a_open && b_open, "{a_open} {b_open}");
    assert!(wan_frames > 10, "{wan_frames}");
}

#[test]
fn commands_refuse_what_cannot_be_done() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    assert_eq!(e.handle_command(t(1), Command::StepUp), Err("starting up: still listening for the active router"));
    assert_eq!(e.handle_command(t(1), Command::SetPriority(0)), Err("priority must be 1..254"));
    assert_eq!(e.handle_command(t(1), Command::SetPriority(255)), Err("priority must be 1..254"));
    run_alone(&mut e, t(1000));
    assert_eq!(e.handle_command(t(1000), Command::StepDown), Err("no standby can take over"));
    assert_eq!(e.handle_command(t(1000), Command::SetPriority(50)), Ok(()));
    assert_eq!(e.priority(), 50);
}

#[test]
fn a_stalled_active_closes_its_wan_and_listens_again() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    run_alone(&mut e, t(1000));
    assert_eq!(e.state(), State::Active);
    drain(&mut e);
    // The process was stopped for a second: its permission lapsed.
    e.handle_timeout(t(2000));
    let acts = drain(&mut e);
    assert_eq!(e.state(), State::Init);
    assert!(acts.contains(&Action::CloseWan));
    assert!(!acts.iter().any(|a| matches!(a, Action::RefreshPermit { .. })), "must not reopen: {acts:?}");
    assert_eq!(e.counters().stalls, 1);
}

#[test]
fn leases_travel_as_seconds_left_and_are_renewed_not_rediscovered() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    e.handle_lease(t(0), lease(), None);
    let acts = run_alone(&mut e, t(1000));
    assert!(acts.iter().any(|a| matches!(a, Action::ApplyLease { lease, .. } if lease.address == lease_addr())));
    assert!(
        acts.iter().any(|a| matches!(a, Action::RenewLease { rebinding: false, .. })),
        "confirms in the background"
    );
    assert!(!acts.iter().any(|a| matches!(a, Action::AcquireLease { .. })), "no DISCOVER with a valid lease");
    // Around 10.5 s later the hellos say 589 seconds left (rounded down).
    let frame = run_alone(&mut e, t(10_550))
        .into_iter()
        .filter_map(|a| match a {
            Action::Send { path: Path::Wan, frame } => Some(frame),
            _ => None,
        })
        .next_back()
        .expect("a WAN hello");
    let p = crate::wire::Packet::new_checked(&frame[14..]).unwrap();
    let m = Message::parse(&p, crate::wire::MULTICAST_MAC, &e.settings().keys).unwrap();
    assert_eq!(m.tlvs.lease4.unwrap().valid_left, 589);
}

/// `run_alone`, with the instant of each action.
fn run_alone_timed(e: &mut Engine, until: Instant) -> Vec<(Instant, Action)> {
    let mut all = Vec::new();
    while let Some(next) = e.poll_timeout().filter(|&n| n <= until) {
        e.handle_timeout(next);
        let acts = drain(e);
        if acts.contains(&Action::Prepare) {
            e.handle_prepared(next);
            all.extend(drain(e).into_iter().map(|a| (next, a)));
        }
        all.extend(acts.into_iter().map(|a| (next, a)));
    }
    all
}

fn renewal_steps(acts: &[(Instant, Action)]) -> Vec<(Instant, &'static str)> {
    acts.iter()
        .filter_map(|(t, a)| match a {
            Action::RenewLease { .. } => Some((*t, "renew")),
            Action::RetransmitRenewal => Some((*t, "again")),
            Action::AbandonRenewal => Some((*t, "abandon")),
            _ => None,
        })
        .collect()
}

#[test]
fn an_unanswered_renewal_is_sent_again_three_times_two_seconds_apart_then_given_up() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    e.handle_lease(t(0), lease(), None);
    let steps = renewal_steps(&run_alone_timed(&mut e, t(20_000)));
    let start = steps[0].0;
    let at = |s: u64| start.plus(Duration::from_secs(s));
    assert_eq!(steps, [(start, "renew"), (at(2), "again"), (at(4), "again"), (at(6), "again"), (at(8), "abandon")]);
    // The next renewal comes at half the time left (at most 60 s later).
    let steps = renewal_steps(&run_alone_timed(&mut e, start.plus(Duration::from_secs(61))));
    assert_eq!(steps.first(), Some(&(at(60), "renew")));
}

#[test]
fn an_answer_or_a_closed_wan_ends_the_retransmissions() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    e.handle_lease(t(0), lease(), None);
    let steps = renewal_steps(&run_alone_timed(&mut e, t(3_000)));
    assert_eq!(steps.iter().map(|s| s.1).collect::<Vec<_>>(), ["renew", "again"]);
    // ACK: renewed, nothing more until T1.
    e.handle_lease(t(3_000), lease(), None);
    assert!(renewal_steps(&run_alone_timed(&mut e, t(20_000))).is_empty());
    // NAK during a renewal: dropped, a new lease asked for.
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    e.handle_lease(t(0), lease(), None);
    run_alone_timed(&mut e, t(1_000));
    e.handle_lease_lost(t(1_000));
    let acts: Vec<(Instant, Action)> = drain(&mut e).into_iter().map(|a| (t(1_000), a)).collect();
    assert!(acts.iter().any(|(_, a)| matches!(a, Action::AcquireLease { requested: Some(_), .. })));
    assert!(renewal_steps(&run_alone_timed(&mut e, t(20_000))).is_empty());
    // A stall closes the WAN: the renewal in flight ends with it, and the
    // next active term starts a new one.
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    e.handle_lease(t(0), lease(), None);
    run_alone_timed(&mut e, t(1_000));
    e.handle_timeout(t(1_500));
    assert_eq!(e.state(), State::Init);
    let steps = renewal_steps(&run_alone_timed(&mut e, t(20_000)));
    assert_eq!(steps.first().map(|s| s.1), Some("renew"), "{steps:?}");
    assert_eq!(steps[1], (steps[0].0.plus(Duration::from_secs(2)), "again"), "no copy of the old one: {steps:?}");
}

fn lease_addr() -> Ipv4Addr {
    Ipv4Addr::new(203, 0, 113, 10)
}

#[test]
fn reconfigure_keeps_the_role_without_a_transition() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    run_alone(&mut e, t(1000));
    let before = e.counters().transitions;
    e.reconfigure(t(1000), Settings::for_tests(1, 120));
    run_alone(&mut e, t(2000));
    assert_eq!(e.state(), State::Active);
    assert_eq!(e.counters().transitions, before);
    assert_eq!(e.priority(), 120);
}

#[test]
fn poll_timeout_moves_past_every_handled_instant() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    let mut now = t(0);
    for _ in 0..200 {
        let next = e.poll_timeout().unwrap();
        assert!(next > now || now == t(0), "deadline {next} not after {now}");
        now = next;
        e.handle_timeout(now);
        if drain(&mut e).contains(&Action::Prepare) {
            e.handle_prepared(now);
            drain(&mut e);
        }
    }
}

#[test]
fn a_sequence_wrap_starts_a_new_epoch_in_the_same_frame() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    e.seq = u32::MAX - 1;
    e.handle_timeout(t(0));
    let frames: Vec<Vec<u8>> = drain(&mut e)
        .into_iter()
        .filter_map(|a| match a {
            Action::Send { frame, .. } => Some(frame),
            _ => None,
        })
        .collect();
    e.handle_timeout(t(100));
    let more = drain(&mut e).into_iter().find_map(|a| match a {
        Action::Send { frame, .. } => Some(frame),
        _ => None,
    });
    let parse = |f: &[u8]| {
        let p = crate::wire::Packet::new_checked(&f[14..]).unwrap();
        let dst = crate::wire::Mac(f[..6].try_into().unwrap());
        let m = Message::parse(&p, dst, &e.settings().keys).unwrap();
        (m.epoch, m.seq)
    };
    assert_eq!(parse(&frames[0]), (7, u32::MAX));
    assert_eq!(parse(&more.unwrap()), (8, 1), "the first frame after the wrap belongs to the new epoch");
}

/// The actions of `e` so far, with `Prepare` answered at once.
fn drain_prepared(e: &mut Engine, now: Instant) -> Vec<Action> {
    let mut acts = drain(e);
    if acts.contains(&Action::Prepare) {
        e.handle_prepared(now);
        acts.extend(drain(e));
    }
    acts
}

/// Hands the frames among `acts` to `to`, on the path they were sent on.
fn deliver(to: &mut Engine, now: Instant, acts: &[Action]) {
    for a in acts {
        if let Action::Send { path, frame } = a {
            let path = if *path == Path::Wan { Path::Wan } else { Path::Control(0) };
            to.handle_frame(now, path, frame);
        }
    }
}

/// Two routers on one link from `from` to `until` ms, in 10 ms steps;
/// `a_hears_b: false` drops every frame from b to a.
fn link(a: &mut Engine, b: &mut Engine, from: u64, until: u64, a_hears_b: bool) {
    for now in (from..until).step_by(10) {
        a.handle_timeout(t(now));
        b.handle_timeout(t(now));
        let (fa, fb) = (drain_prepared(a, t(now)), drain_prepared(b, t(now)));
        deliver(b, t(now), &fa);
        if a_hears_b {
            deliver(a, t(now), &fb);
        }
        drain_prepared(a, t(now));
        drain_prepared(b, t(now));
    }
}

/// Router 1 active (priority 200), router 2 standby (100), both started.
fn active_and_standby(b_settings: Settings) -> (Engine, Engine) {
    let mut a = Engine::new(Settings::for_tests(1, 200), 7, t(0));
    run_alone(&mut a, t(1000));
    let mut b = Engine::new(b_settings, 8, t(1000));
    link(&mut a, &mut b, 1000, 2000, true);
    assert_eq!((a.state(), b.state()), (State::Active, State::Standby));
    (a, b)
}

/// Router 1 active (priority 200), routers 2 and 3 standbys with
/// these priorities, all on one hub.
fn active_and_two_standbys(b_prio: u8, c_prio: u8) -> (Engine, Engine, Engine) {
    let mut a = Engine::new(Settings::for_tests(1, 200), 7, t(0));
    run_alone(&mut a, t(1000));
    let mut b = Engine::new(Settings::for_tests(2, b_prio), 8, t(1000));
    let mut c = Engine::new(Settings::for_tests(3, c_prio), 9, t(1000));
    hub(&mut [&mut a, &mut b, &mut c], 1000, 3000);
    assert_eq!((a.state(), b.state(), c.state()), (State::Active, State::Standby, State::Standby));
    (a, b, c)
}

#[test]
fn a_step_up_is_reported_done_once_the_active_hands_over() {
    let (mut a, mut b) = active_and_standby(Settings::for_tests(2, 100));
    assert!(b.status(t(2000)).step_up.is_none());
    assert_eq!(b.handle_command(t(2000), Command::StepUp), Ok(()));
    let s = b.status(t(2000)).step_up.expect("recorded");
    assert_eq!((s.state, s.reason.as_str()), ("pending", "asked router 0x1 to hand the WAN over"));
    link(&mut a, &mut b, 2000, 3000, true);
    assert_eq!((a.state(), b.state()), (State::Standby, State::Active));
    let s = b.status(t(3000)).step_up.expect("recorded");
    assert_eq!(s.state, "done", "{s:?}");
    assert!(s.reason.contains("0x1") && s.reason.contains("operator"), "{s:?}");
}

#[test]
fn a_step_up_the_active_never_hears_fails_with_the_reason() {
    let (mut a, mut b) = active_and_standby(Settings::for_tests(2, 100));
    assert_eq!(b.handle_command(t(2000), Command::StepUp), Ok(()));
    // The active does not hear router 2 (another key, a one-way link).
    let waited = b.settings().handover_timeout().as_millis() as u64 * 2;
    link(&mut a, &mut b, 2000, 2000 + waited - 20, false);
    assert_eq!(b.status(t(2000 + waited - 20)).step_up.expect("recorded").state, "pending");
    link(&mut a, &mut b, 2000 + waited - 20, 2000 + waited + 200, false);
    assert_eq!((a.state(), b.state()), (State::Active, State::Standby));
    let s = b.status(t(2000 + waited + 200)).step_up.expect("recorded");
    assert_eq!(s.state, "failed");
    assert_eq!(
        s.reason,
        format!(
            "router 0x1 did not hand the WAN over within {waited} ms: it does not seem to hear this router. \
             Check that it has this router's key 1, and that the control links connect the two"
        )
    );
    assert!(s.ago_ms <= 200, "settled once the wait ran out: {s:?}");
}

#[test]
fn a_step_up_that_cannot_start_is_refused_and_recorded() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    let e1 = e.handle_command(t(1), Command::StepUp).unwrap_err();
    let s = e.status(t(1)).step_up.expect("recorded");
    assert_eq!((s.state, s.reason.as_str()), ("failed", e1));
    run_alone(&mut e, t(1000));
    assert_eq!(e.handle_command(t(1000), Command::StepUp), Ok(()));
    assert_eq!(e.status(t(1000)).step_up.expect("recorded").reason, "already active");
}

#[test]
fn peers_show_their_key_id_and_routers_with_other_keys_are_listed_as_refused() {
    let mut b = Settings::for_tests(2, 100);
    b.keys = Keyring::new(vec![Key::new(1, b"k"), Key::new(2, b"next")]);
    let (mut a, _) = active_and_standby(b);
    let st = a.status(t(2000));
    assert_eq!(st.key_ids, [1]);
    assert_eq!((st.peers.len(), st.peers[0].key_id), (1, Some(1)));
    assert!(st.refused.is_empty());

    // Router 3 signs with a key 1 of another secret, router 4 with a key
    // id router 1 lacks, router 5 not at all.
    for (id, keys) in [(3, vec![Key::new(1, b"typo")]), (4, vec![Key::new(3, b"new"), Key::new(1, b"k")]), (5, vec![])]
    {
        let mut s = Settings::for_tests(id, 50);
        s.keys = Keyring::new(keys);
        let mut other = Engine::new(s, id, t(2000));
        other.handle_timeout(t(2000));
        deliver(&mut a, t(2000), &drain(&mut other));
    }
    let st = a.status(t(2100));
    let refused: Vec<_> = st.refused.iter().map(|r| (r.router_id.as_str(), r.key_id, r.reason, r.frames)).collect();
    assert_eq!(
        refused,
        [("0x3", Some(1), "bad_signature", 1), ("0x4", Some(3), "unknown_key", 1), ("0x5", None, "unsigned", 1)]
    );
    assert_eq!(st.peers.len(), 1, "refused routers are no peers");
    assert_eq!(a.counters().rx_bad_tag + a.counters().rx_bad_key + a.counters().rx_unauthenticated, 3);

    // Router 1 learns key 3 (the rotation goes on): router 4's next
    // frame is accepted, and it leaves the refused list.
    let mut s = Settings::for_tests(1, 200);
    s.keys = Keyring::new(vec![Key::new(1, b"k"), Key::new(3, b"new")]);
    a.reconfigure(t(2100), s);
    let mut s4 = Settings::for_tests(4, 50);
    s4.keys = Keyring::new(vec![Key::new(3, b"new"), Key::new(1, b"k")]);
    let mut r4 = Engine::new(s4, 99, t(2100));
    r4.handle_timeout(t(2100));
    deliver(&mut a, t(2100), &drain(&mut r4));
    let st = a.status(t(2100));
    assert!(st.refused.iter().all(|r| r.router_id != "0x4"), "{:?}", st.refused);
    assert!(st.peers.iter().any(|p| p.router_id == "0x4" && p.key_id == Some(3)));
}

#[test]
fn refused_routers_are_bounded_and_forgotten() {
    let mut a = Engine::new(Settings::for_tests(1, 200), 7, t(0));
    for id in 10..30u32 {
        let mut s = Settings::for_tests(id, 50);
        s.keys = Keyring::new(vec![Key::new(9, b"x")]);
        let mut other = Engine::new(s, id, t(id as u64));
        other.handle_timeout(t(id as u64));
        deliver(&mut a, t(id as u64), &drain(&mut other));
    }
    let st = a.status(t(100));
    assert_eq!(st.refused.len(), MAX_REFUSED);
    assert!(st.refused.iter().any(|r| r.router_id == "0x1d"), "the newest is kept");
    a.handle_timeout(t(100).plus(PEER_EXPIRY));
    assert!(a.status(t(100).plus(PEER_EXPIRY)).refused.is_empty());
}

// ---- a lease kept across a restart (INIT-REBOOT) ------------------------

fn stores(acts: &[Action]) -> Vec<Option<u32>> {
    acts.iter()
        .filter_map(|a| match a {
            Action::StoreLease { lease, .. } => Some(lease.as_ref().map(|l| l.valid_left)),
            _ => None,
        })
        .collect()
}

fn lease6(server: bool) -> Lease6 {
    let ia =
        |s: &str, prefix_len| Ia6 { address: s.parse().unwrap(), prefix_len, preferred_left: 3000, valid_left: 4000 };
    Lease6 {
        addresses: vec![ia("2001:db8:0:1::10", 128)],
        prefixes: vec![ia("2001:db8:100::", 56)],
        gateway: Some("fe80::1".parse().unwrap()),
        duid: Some((IAID, vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1])),
        server: server.then(|| Server6 {
            duid: vec![0, 3, 0, 1, 9, 9, 9, 9, 9, 9],
            renew_left: 1000,
            rebind_left: 2000,
        }),
        ..Lease6::default()
    }
}

fn position(acts: &[Action], f: impl Fn(&Action) -> bool) -> Option<usize> {
    acts.iter().position(f)
}

fn exchanges(acts: &[Action]) -> Vec<Exchange6> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Dhcp6 { exchange, .. } => Some(*exchange),
            _ => None,
        })
        .collect()
}

/// A router restarted alone with a kept lease still valid asks for it back
/// (INIT-REBOOT) instead of DISCOVER, and uses it only once ACKed.
#[test]
fn a_kept_lease_is_asked_back_not_rediscovered() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    e.handle_kept_lease(t(0), Lease4 { valid_left: 100, ..lease() }, None);
    let acts = run_alone(&mut e, t(1000));
    assert_eq!(e.state(), State::Active);
    let asked: Vec<&Action> = acts.iter().filter(|a| matches!(a, Action::RebootLease { .. })).collect();
    assert_eq!(asked.len(), 1, "{acts:?}");
    let Action::RebootLease { lease: l, client_id } = asked[0] else { unreachable!() };
    assert_eq!((l.address, l.valid_left <= 100), (lease_addr(), true));
    assert_eq!(client_id, &Settings::for_tests(1, 100).client_id);
    assert!(!acts.iter().any(|a| matches!(a, Action::AcquireLease { .. } | Action::ApplyLease { .. })), "{acts:?}");
    // The ACK: applied, announced, kept for the next restart.
    e.handle_lease(t(1000), lease(), None);
    let acts = drain(&mut e);
    assert!(acts.iter().any(|a| matches!(a, Action::ApplyLease { .. })), "{acts:?}");
    assert_eq!(stores(&acts), [Some(600)]);
    assert!(renewal_steps(&run_alone_timed(&mut e, t(20_000))).is_empty(), "no retransmission after the ACK");
}

/// Expired, it is not asked back: DISCOVER, asking for its address.
#[test]
fn an_expired_kept_lease_means_discover_for_its_address() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    e.handle_kept_lease(t(0), Lease4 { valid_left: 0, renew_left: 0, rebind_left: 0, ..lease() }, None);
    let acts = run_alone(&mut e, t(1000));
    assert!(!acts.iter().any(|a| matches!(a, Action::RebootLease { .. })));
    assert!(
        acts.contains(&Action::AcquireLease {
            requested: Some(lease().address),
            client_id: Settings::for_tests(1, 100).client_id
        }),
        "{acts:?}"
    );
}

/// A NAK: forgotten (here and on disk), DISCOVER for any address. Silence
/// (a server without a record stays silent): three copies 2 s apart, then
/// DISCOVER asking for the address.
#[test]
fn a_refused_or_unanswered_init_reboot_falls_back_to_discover() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    e.handle_kept_lease(t(0), lease(), None);
    run_alone(&mut e, t(1000));
    e.handle_lease_lost(t(1000));
    let acts = drain(&mut e);
    assert_eq!(stores(&acts), [None]);
    assert!(acts.iter().any(|a| matches!(a, Action::AcquireLease { requested: None, .. })), "{acts:?}");

    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    e.handle_kept_lease(t(0), lease(), None);
    let acts = run_alone_timed(&mut e, t(20_000));
    let start = acts.iter().find(|(_, a)| matches!(a, Action::RebootLease { .. })).expect("INIT-REBOOT").0;
    let at = |s: u64| start.plus(Duration::from_secs(s));
    let steps = renewal_steps(&acts);
    assert_eq!(steps, [(at(2), "again"), (at(4), "again"), (at(6), "again"), (at(8), "abandon")]);
    let discover: Vec<&(Instant, Action)> =
        acts.iter().filter(|(_, a)| matches!(a, Action::AcquireLease { .. })).collect();
    assert_eq!(discover.len(), 1, "{acts:?}");
    assert_eq!(discover[0].0, at(8));
    assert!(matches!(discover[0].1, Action::AcquireLease { requested: Some(a), .. } if a == lease_addr()));
}

/// A standby keeps the lease the active carries: once, and again only when
/// a renewal moved its expiry, not for every hello counting down.
#[test]
fn a_standby_keeps_the_actives_lease_once_per_renewal() {
    let mut a = Engine::new(Settings::for_tests(1, 200), 7, t(0));
    a.handle_lease(t(0), lease(), None);
    run_alone(&mut a, t(1000));
    let mut b = Engine::new(Settings::for_tests(2, 100), 8, t(1000));
    let mut kept = Vec::new();
    for now in (1000..4000).step_by(10) {
        a.handle_timeout(t(now));
        b.handle_timeout(t(now));
        let (fa, fb) = (drain_prepared(&mut a, t(now)), drain_prepared(&mut b, t(now)));
        deliver(&mut b, t(now), &fa);
        deliver(&mut a, t(now), &fb);
        kept.extend(stores(&drain(&mut b)));
        if now == 2500 {
            // The active renewed: 600 s from now.
            a.handle_lease(t(now), lease(), None);
        }
    }
    assert_eq!(b.state(), State::Standby);
    // Seconds left as of the hello that carried it, rounded down.
    assert!(matches!(kept[..], [Some(598..=600), Some(598..=600)]), "once, then once after the renewal: {kept:?}");
}

/// A standby learns the binding from the active's hellos, never
/// advertises itself, and on a hard takeover applies the binding before it
/// opens the WAN, advertises the LAN's default router right after the
/// announcements, and confirms the binding with RENEW, never SOLICIT.
#[test]
fn the_ipv6_binding_is_taken_over_applied_advertised_and_renewed() {
    let (mut a, mut b) = active_and_standby(Settings::for_tests(2, 100));
    a.handle_lease6(t(2000), lease6(true));
    let acts = drain(&mut a);
    assert!(matches!(acts[..], [Action::ApplyLease6 { .. }, Action::AdvertiseRouter, ..]), "{acts:?}");
    link(&mut a, &mut b, 2000, 2500, true);
    let learned = b.lease6().expect("learned from the hellos").wire.clone();
    assert_eq!((learned.prefixes.len(), learned.server.is_some()), (1, true));
    b.handle_router_solicit(t(2500));
    assert!(!drain(&mut b).contains(&Action::AdvertiseRouter), "a standby never advertises");

    // The active dies.
    let acts = run_alone(&mut b, t(4000));
    assert_eq!(b.state(), State::Active);
    let apply = position(&acts, |a| matches!(a, Action::ApplyLease6 { .. })).expect("applied");
    let open = position(&acts, |a| matches!(a, Action::RefreshPermit { .. })).expect("opened");
    let announce = position(&acts, |a| *a == Action::Announce).expect("announced");
    let advert = position(&acts, |a| *a == Action::AdvertiseRouter).expect("advertised");
    assert!(apply < open && open < announce && announce < advert, "{acts:?}");
    assert_eq!(exchanges(&acts), [Exchange6::Renew], "confirmed, never solicited");
    if let Some(Action::Dhcp6 { lease, duid, iaid, .. }) = acts.iter().find(|a| matches!(a, Action::Dhcp6 { .. })) {
        assert_eq!(
            (lease.prefixes[0].address, *iaid, duid),
            (learned.prefixes[0].address, IAID, &learned.duid.unwrap().1)
        );
    }

    // Solicitations are answered, but not twice within the minimum gap;
    // the periodic advertisement comes every ADVERT_INTERVAL.
    b.handle_router_solicit(t(4000));
    assert!(drain(&mut b).contains(&Action::AdvertiseRouter));
    b.handle_router_solicit(t(4100));
    assert!(!drain(&mut b).contains(&Action::AdvertiseRouter));
    let later = run_alone(&mut b, t(4000).plus(ADVERT_INTERVAL).plus(ms(10)));
    assert!(later.contains(&Action::AdvertiseRouter), "periodic advertisement");
}

#[test]
fn without_its_server_it_rebinds_and_without_a_binding_it_solicits() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    e.handle_lease6(t(0), lease6(false));
    let acts = run_alone(&mut e, t(1000));
    assert_eq!(exchanges(&acts), [Exchange6::Rebind]);
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    let acts = run_alone(&mut e, t(1000));
    assert_eq!(exchanges(&acts), [Exchange6::Solicit]);
    assert!(!acts.contains(&Action::AdvertiseRouter), "nothing to number the LAN with");
    // Solicited again while nothing comes.
    let acts = run_alone(&mut e, t(1000).plus(lease6::SOLICIT_RETRY));
    assert_eq!(exchanges(&acts), [Exchange6::Solicit]);
    // The server lost the binding (NoBinding): solicit.
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    e.handle_lease6(t(0), lease6(true));
    run_alone(&mut e, t(1000));
    e.handle_lease6_lost(t(1000));
    let acts = drain(&mut e);
    assert!(
        acts.iter().any(|a| matches!(a, Action::WithdrawLease6 { .. })) && exchanges(&acts) == [Exchange6::Solicit],
        "{acts:?}"
    );
}

/// A router taking over (a restarted daemon that found no active yet)
/// that first learns the binding from an active it then yields to
/// withdraws it, as a standby does (§7.2): its previous run may have left
/// it configured. Taking over was no reason to keep it.
#[test]
fn a_router_taking_over_withdraws_a_binding_it_first_learns_then_stands_by() {
    let (mut a, _b) = active_and_standby(Settings::for_tests(2, 100));
    a.handle_lease6(t(2000), lease6(true));
    drain(&mut a);
    let mut e = Engine::new(Settings::for_tests(3, 100), 9, t(2000));
    while e.state() == State::Init {
        let next = e.poll_timeout().unwrap();
        e.handle_timeout(next);
    }
    assert_eq!(e.state(), State::TakingOver, "prepare not answered yet");
    drain(&mut e);
    // A multicast hello of the active's (a control link back up sends one).
    a.handle_control_link(t(2500), 0, true);
    deliver(&mut e, t(2500), &drain(&mut a));
    let acts = drain(&mut e);
    assert_eq!(e.state(), State::Standby, "{acts:?}");
    assert!(acts.iter().any(|a| matches!(a, Action::WithdrawLease6 { .. })), "{acts:?}");
}

/// Stepping down withdraws the binding (the LAN prefix included) and the
/// advertisements stop.
#[test]
fn stepping_down_withdraws_the_binding_and_stops_advertising() {
    let (mut a, mut b) = active_and_standby(Settings::for_tests(2, 100));
    a.handle_lease6(t(2000), lease6(true));
    drain(&mut a);
    link(&mut a, &mut b, 2000, 2500, true);
    assert_eq!(a.handle_command(t(2500), Command::StepDown), Ok(()));
    let mut withdrawn = false;
    for now in (2500..3500).step_by(10) {
        a.handle_timeout(t(now));
        b.handle_timeout(t(now));
        let (fa, fb) = (drain_prepared(&mut a, t(now)), drain_prepared(&mut b, t(now)));
        withdrawn |= fa.iter().any(|a| matches!(a, Action::WithdrawLease6 { .. }));
        assert!(!(withdrawn && fa.contains(&Action::AdvertiseRouter)), "advertised after withdrawing");
        deliver(&mut b, t(now), &fa);
        deliver(&mut a, t(now), &fb);
    }
    assert_eq!((a.state(), b.state(), withdrawn), (State::Standby, State::Active, true));
    a.handle_router_solicit(t(3500));
    assert!(!drain(&mut a).contains(&Action::AdvertiseRouter));
}

/// Three routers on one hub: every frame reaches every other router, as
/// a switch that floods does; the engines sort out what is theirs.
fn hub(routers: &mut [&mut Engine], from: u64, until: u64) {
    for now in (from..until).step_by(10) {
        let mut sent = Vec::new();
        for (i, r) in routers.iter_mut().enumerate() {
            r.handle_timeout(t(now));
            sent.push((i, drain_prepared(r, t(now))));
        }
        for (i, acts) in &sent {
            for (j, r) in routers.iter_mut().enumerate() {
                if j != *i {
                    deliver(r, t(now), acts);
                    drain_prepared(r, t(now));
                }
            }
        }
    }
}

fn unicast_frames_to(acts: &[Action], mac: Mac) -> Vec<Vec<u8>> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Send { path: Path::Control(_), frame } if frame[..6] == mac.0 => Some(frame.clone()),
            _ => None,
        })
        .collect()
}

/// §3.1: A's unicast hello to C, captured and re-addressed to B, is
/// refused by B (BadTag); left addressed to C, B ignores it. Version 1
/// accepted the re-addressed copy and took it as a sign of life.
#[test]
fn a_copy_re_addressed_to_another_router_is_refused() {
    let (mut a, mut b, mut c) = active_and_two_standbys(100, 50);
    let (b_mac, c_mac) = (b.settings().control_macs[0], c.settings().control_macs[0]);
    // A's next hello round, past its discovery multicast: unicast copies.
    let mut to_c = Vec::new();
    for now in (3000..4000).step_by(10) {
        a.handle_timeout(t(now));
        to_c.extend(unicast_frames_to(&drain(&mut a), c_mac));
    }
    let copy = to_c.last().expect("A sends unicast hellos to C").clone();
    let before = b.counters().clone();
    let heard = |e: &Engine| e.peers().iter().find(|p| p.router_id == 1).and_then(|p| p.last_heard());
    let last = heard(&b);
    b.handle_frame(t(4000), Path::Control(0), &copy);
    assert_eq!(b.counters().rx_other, before.rx_other + 1, "a frame for C is not B's");
    let mut readdressed = copy.clone();
    readdressed[..6].copy_from_slice(&b_mac.0);
    b.handle_frame(t(4000), Path::Control(0), &readdressed);
    assert_eq!(b.counters().rx_bad_tag, before.rx_bad_tag + 1, "re-addressed: the tag covers the destination");
    assert_eq!(b.counters().rx_ok, before.rx_ok);
    assert_eq!(heard(&b), last, "no sign of life taken from either");
    // C itself accepts its own copy.
    let c_ok = c.counters().rx_ok;
    c.handle_frame(t(4000), Path::Control(0), &copy);
    assert_eq!(c.counters().rx_ok, c_ok + 1);
}

/// §4.2: one unauthenticated frame claiming "Active, priority 254, hello
/// 65535 ms x 255" keeps its sender alive for one of the receiver's dead
/// intervals, not for hours (or the 60 s until it is forgotten).
#[test]
fn one_frame_claiming_long_timers_silences_a_router_for_one_dead_interval_at_most() {
    let mut s = Settings::for_tests(1, 100);
    s.keys = Keyring::default();
    let mut e = Engine::new(s, 7, t(0));
    run_alone(&mut e, t(1000));
    assert_eq!(e.state(), State::Active);
    let forged = Message {
        kind: MessageType::Hello,
        group: 1,
        state: State::Active,
        router_id: 0xffff_fffe,
        priority: 254,
        effective_priority: 254,
        flags: Flags::default(),
        dead_multiplier: 255,
        hello_interval: 65535,
        epoch: 1,
        seq: 1,
        tlvs: crate::wire::Tlvs::default(),
    };
    let f = wire::frame(MULTICAST_MAC, Mac([2, 0, 0, 0, 0, 0x66]), 0x88b5, &forged, &Keyring::default()).unwrap();
    e.handle_frame(t(1000), Path::Control(0), &f);
    assert_eq!(e.state(), State::Standby, "a better active, as far as an unkeyed router can tell");
    assert_eq!(e.counters().rx_claim_bounded, 1);
    let told = drain(&mut e).into_iter().any(|a| matches!(a, Action::Refused(r) if r.reason == Reason::ClaimBounded));
    assert!(told, "the bounded claim is logged");
    // Its own dead interval is 300 ms plus a skew of 61 ms: it is back
    // within half a second.
    run_alone(&mut e, t(1500));
    assert_eq!(e.state(), State::Active, "the forged active is dead after our dead interval");
    let peer = e.peers().iter().find(|p| p.router_id == 0xffff_fffe).expect("still listed");
    assert!(!peer.is_alive(t(1500), e.skew_num()));
}

// ---- an active that cannot serve (docs/PROTOCOL.md §5.7, §6.8) ----------

/// Which frames get through, path by path and direction by direction.
#[derive(Clone, Copy)]
struct Wires {
    a_to_b_control: bool,
    b_to_a_control: bool,
    a_to_b_wan: bool,
}

const ALL: Wires = Wires { a_to_b_control: true, b_to_a_control: true, a_to_b_wan: true };

/// Hands the frames among `acts` sent on the paths that get through.
fn deliver_on(to: &mut Engine, now: Instant, acts: &[Action], control: bool, wan: bool) {
    for a in acts {
        if let Action::Send { path, frame } = a {
            if (*path == Path::Wan && wan) || (*path != Path::Wan && control) {
                to.handle_frame(now, *path, frame);
            }
        }
    }
}

/// `link` over `Wires`; returns the states `a` went through.
fn wired(a: &mut Engine, b: &mut Engine, from: u64, until: u64, w: Wires) -> Vec<State> {
    let mut seen = vec![a.state()];
    for now in (from..until).step_by(10) {
        a.handle_timeout(t(now));
        b.handle_timeout(t(now));
        let (fa, fb) = (drain_prepared(a, t(now)), drain_prepared(b, t(now)));
        deliver_on(b, t(now), &fa, w.a_to_b_control, w.a_to_b_wan);
        // b is a standby or a new active: its WAN frames reach a too.
        deliver_on(a, t(now), &fb, w.b_to_a_control, true);
        let more = drain_prepared(a, t(now));
        deliver_on(b, t(now), &more, w.a_to_b_control, w.a_to_b_wan);
        drain_prepared(b, t(now));
        if seen.last() != Some(&a.state()) {
            seen.push(a.state());
        }
    }
    seen
}

fn pair(a_settings: Settings, b_settings: Settings) -> (Engine, Engine) {
    let mut a = Engine::new(a_settings, 7, t(0));
    run_alone(&mut a, t(1000));
    let mut b = Engine::new(b_settings, 8, t(1000));
    link(&mut a, &mut b, 1000, 2000, true);
    assert_eq!((a.state(), b.state()), (State::Active, State::Standby));
    (a, b)
}

fn with_fatal_tracker(mut s: Settings) -> Settings {
    s.trackers = vec![TrackerSpec { name: "lan".into(), weight: Weight::Fatal, wan_only: false }];
    s
}

/// The type, state and flags of each frame sent on `path`.
fn sent_on(acts: &[Action], on: Path, keys: &Keyring) -> Vec<(MessageType, State, Flags)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Send { path, frame } if *path == on => {
                let p = crate::wire::Packet::new_checked(&frame[14..]).ok()?;
                let dst = crate::wire::Mac(frame[..6].try_into().ok()?);
                let m = Message::parse(&p, dst, keys).ok()?;
                Some((m.kind, m.state, m.flags))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn an_active_whose_lan_goes_down_releases_the_wan_and_the_standby_takes_over_at_once() {
    let (mut a, mut b) = pair(Settings::for_tests(1, 200), Settings::for_tests(2, 100));
    // The LAN bridge (also the control link) loses carrier.
    a.handle_control_link(t(2000), 0, false);
    a.handle_lan_link(t(2000), false);
    let acts = drain(&mut a);
    assert_eq!(a.state(), State::Fault, "{acts:?}");
    assert!(!a.status(t(2000)).lan_up);
    let wan = sent_on(&acts, Path::Wan, &a.settings().keys);
    assert_eq!(wan, [(MessageType::Release, State::Active, Flags(Flags::WAN | Flags::LEAVING | Flags::FORWARDING))]);
    assert!(acts.contains(&Action::CloseWan) && acts.contains(&Action::DropLanGateway));
    assert_eq!(a.counters().releases, 1);
    // b hears the RELEASE on the WAN only, and takes over at once.
    deliver_on(&mut b, t(2001), &acts, false, true);
    drain_prepared(&mut b, t(2001));
    assert_eq!(b.state(), State::Active);
    let lan_down = Wires { a_to_b_control: false, b_to_a_control: false, a_to_b_wan: true };
    let seen = wired(&mut a, &mut b, 2010, 3000, lan_down);
    assert_eq!((seen.as_slice(), b.state()), ([State::Fault].as_slice(), State::Active));
    // The LAN comes back: a is a standby, b stays active.
    a.handle_control_link(t(3000), 0, true);
    a.handle_lan_link(t(3000), true);
    let seen = wired(&mut a, &mut b, 3000, 4000, ALL);
    assert!(!seen.contains(&State::Active), "{seen:?}");
    assert_eq!((a.state(), b.state()), (State::Standby, State::Active));
}

#[test]
fn an_unconfirmed_handover_never_returns_a_router_with_a_fatal_tracker_down_to_active() {
    let (mut a, mut b) = pair(with_fatal_tracker(Settings::for_tests(1, 200)), Settings::for_tests(2, 100));
    a.handle_tracker(t(2000), 0, false);
    assert_eq!(a.state(), State::HandingOver);
    // b gets the OFFER and opens its WAN, but its READY never arrives.
    let no_ready = Wires { b_to_a_control: false, ..ALL };
    let seen = wired(&mut a, &mut b, 2000, 4000, no_ready);
    assert_eq!(seen, [State::HandingOver, State::Fault], "released, never back to active");
    assert_eq!(b.state(), State::Active);
    assert!(a.status(t(4000)).transitions.iter().any(|t| t.reason.contains("must leave")));
}

#[test]
fn a_standby_that_hears_a_leaving_active_only_on_the_wan_takes_over() {
    let (mut a, mut b) = pair(with_fatal_tracker(Settings::for_tests(1, 200)), Settings::for_tests(2, 100));
    // The control link is cut without losing carrier: each hears the
    // other no more there, b still hears a on the WAN and stays standby.
    let cut = Wires { a_to_b_control: false, b_to_a_control: false, a_to_b_wan: true };
    wired(&mut a, &mut b, 2000, 3000, cut);
    assert_eq!((a.state(), b.state()), (State::Active, State::Standby));
    // A fatal LAN tracker goes down: no standby to offer the role to, so
    // a stays, saying it must leave.
    a.handle_tracker(t(3000), 0, false);
    a.handle_timeout(t(3000));
    let acts = drain(&mut a);
    assert_eq!(a.state(), State::Active);
    assert!(a.is_leaving());
    assert!(sent_on(&acts, Path::Wan, &a.settings().keys).iter().all(|(_, _, f)| f.has(Flags::LEAVING)));
    deliver_on(&mut b, t(3000), &acts, false, true);
    wired(&mut a, &mut b, 3000, 3500, cut);
    assert_eq!(b.state(), State::Active, "b took over");
    assert!(!a.state().holds_wan(), "a stepped down on hearing b: {:?}", a.state());
}

#[test]
fn the_lan_gateway_is_announced_again_when_a_lan_link_returns_and_periodically() {
    let mut s = Settings::for_tests(1, 200);
    s.lan_announce_interval = Some(Duration::from_secs(1));
    let mut e = Engine::new(s, 7, t(0));
    let acts = run_alone_timed(&mut e, t(3500));
    let announces: Vec<Instant> = acts.iter().filter(|(_, a)| *a == Action::AnnounceLan).map(|(t, _)| *t).collect();
    let active_at = acts
        .iter()
        .find(|(_, a)| matches!(a, Action::Transition { to: State::Active, .. }))
        .map(|(t, _)| *t)
        .expect("active");
    let every_second: Vec<Instant> =
        (1..=3).map(|n| active_at.plus(Duration::from_secs(n))).filter(|&x| x <= t(3500)).collect();
    assert_eq!(announces, every_second);
    // One of the LAN devices came back.
    e.handle_lan_link(t(3600), true);
    assert!(drain(&mut e).contains(&Action::AnnounceLan));
    // A standby never announces.
    let mut b = Engine::new(Settings::for_tests(2, 100), 8, t(0));
    b.handle_lan_link(t(1), true);
    assert!(!drain(&mut b).contains(&Action::AnnounceLan));
}

#[test]
fn a_stalled_active_listens_until_a_new_active_must_have_been_heard_on_the_wan() {
    let mut s = Settings::for_tests(1, 100);
    s.wan_hello_interval = Some(ms(300));
    let mut e = Engine::new(s, 7, t(0));
    run_alone(&mut e, t(2000));
    assert_eq!(e.state(), State::Active);
    let last_refresh = run_alone_timed(&mut e, t(3000))
        .into_iter()
        .filter(|(_, a)| matches!(a, Action::RefreshPermit { .. }))
        .map(|(t, _)| t)
        .next_back()
        .expect("refreshed");
    // Stopped for a second: a standby that saw it die declares it dead
    // 3 WAN hellos and a skew (< 1 hello) after its last hello, prepares
    // (≤ 500 ms) and is heard at its first WAN hello (≤ 1 hello).
    e.handle_timeout(t(4000));
    assert_eq!(e.state(), State::Init);
    let claim = run_alone_timed(&mut e, t(10_000))
        .into_iter()
        .find(|(_, a)| matches!(a, Action::Transition { to: State::TakingOver, .. }))
        .map(|(t, _)| t)
        .expect("claims in the end");
    assert!(claim >= last_refresh.plus(ms(5 * 300 + 500)), "claimed at {claim}, last refresh {last_refresh}");
}

#[test]
fn a_router_taking_over_that_cannot_forward_gives_up() {
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    while e.state() == State::Init {
        let next = e.poll_timeout().unwrap();
        e.handle_timeout(next);
    }
    assert_eq!(e.state(), State::TakingOver, "prepare not answered yet");
    e.handle_lan_link(t(500), false);
    assert_ne!(e.state(), State::TakingOver);
    e.handle_prepared(t(501));
    run_alone(&mut e, t(2000));
    assert_eq!(e.state(), State::Fault);
}

/// Stopped, active or standby, a router closes its WAN and then withdraws
/// the address and routes it applied, before it exits.
#[test]
fn shutdown_withdraws_the_lease_behind_the_closed_wan() {
    // Alone: no one to hand over to.
    let mut e = Engine::new(Settings::for_tests(1, 100), 7, t(0));
    e.handle_lease(t(0), lease(), None);
    run_alone(&mut e, t(1000));
    assert_eq!(e.state(), State::Active);
    assert_eq!(e.handle_command(t(1000), Command::Shutdown), Ok(()));
    let acts = drain(&mut e);
    let at = |want: &Action| acts.iter().position(|a| a == want);
    let (close, withdraw, exit) = (at(&Action::CloseWan), at(&Action::WithdrawLease), at(&Action::Exit));
    assert!(close.is_some() && withdraw > close && exit > withdraw, "{acts:?}");

    // A standby that once was active keeps the lease applied, fenced,
    // until it stops.
    let (mut a, mut b) = active_and_standby(Settings::for_tests(2, 100));
    a.handle_lease(t(2000), lease(), None);
    drain(&mut a);
    assert_eq!(b.handle_command(t(2000), Command::StepUp), Ok(()));
    link(&mut a, &mut b, 2000, 3000, true);
    assert_eq!((a.state(), b.state()), (State::Standby, State::Active));
    assert_eq!(a.handle_command(t(3000), Command::Shutdown), Ok(()));
    let acts = drain(&mut a);
    assert!(acts.contains(&Action::WithdrawLease), "{acts:?}");
}

// ---- the standby's slow pace (docs/PROTOCOL.md §4.6, §6.3) --------------

/// The hellos among `acts` sent on a control path: (state, effective
/// priority, flags, hello interval field in ms).
fn control_hellos(acts: &[Action], keys: &Keyring) -> Vec<(State, u8, Flags, u16)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Send { path: Path::Control(_), frame } => {
                let p = crate::wire::Packet::new_checked(&frame[14..]).ok()?;
                let dst = crate::wire::Mac(frame[..6].try_into().ok()?);
                let m = Message::parse(&p, dst, keys).ok()?;
                (m.kind == MessageType::Hello).then_some((m.state, m.effective_priority, m.flags, m.hello_interval))
            }
            _ => None,
        })
        .collect()
}

/// Like `link`, returning b's control hellos with the instant each went out.
fn link_watching_b(a: &mut Engine, b: &mut Engine, from: u64, until: u64) -> Vec<(u64, State, u8, Flags, u16)> {
    let mut seen = Vec::new();
    for now in (from..until).step_by(10) {
        a.handle_timeout(t(now));
        b.handle_timeout(t(now));
        let (fa, fb) = (drain_prepared(a, t(now)), drain_prepared(b, t(now)));
        deliver(b, t(now), &fa);
        deliver(a, t(now), &fb);
        let fb2 = drain_prepared(b, t(now));
        drain_prepared(a, t(now));
        for (s, e, f, h) in
            control_hellos(&fb, &b.settings().keys).into_iter().chain(control_hellos(&fb2, &b.settings().keys))
        {
            seen.push((now, s, e, f, h));
        }
    }
    seen
}

#[test]
fn a_standby_that_hears_the_active_speaks_slowly_and_at_once_when_its_claim_changes() {
    let (mut a, mut b) = pair(Settings::for_tests(1, 200), with_fatal_tracker(Settings::for_tests(2, 100)));
    let seen = link_watching_b(&mut a, &mut b, 2000, 4000);
    // Every 400 ms (4 × 100), and it says so; the active still every 100.
    let times: Vec<u64> = seen.iter().map(|s| s.0).collect();
    assert!(seen.iter().all(|s| s.1 == State::Standby && s.4 == 400), "{seen:?}");
    assert!(times.len() == 5 && times.windows(2).all(|w| w[1] - w[0] == 400), "{times:?}");
    let a_sent = control_hellos(&drain(&mut a), &a.settings().keys);
    a.handle_timeout(a.poll_timeout().unwrap());
    let a_sent: Vec<_> = a_sent.into_iter().chain(control_hellos(&drain(&mut a), &a.settings().keys)).collect();
    assert!(a_sent.iter().all(|h| h.3 == 100), "{a_sent:?}");
    let peer = a.peers().iter().find(|p| p.router_id == 2).unwrap();
    assert!(peer.is_alive(t(4000), a.skew_num()), "the active times it out at the slow pace");
    // Its fatal tracker goes down between two slow ticks: the active
    // hears it at once, not up to 400 ms later.
    b.handle_tracker(t(4005), 0, false);
    let now = drain(&mut b);
    assert_eq!(control_hellos(&now, &b.settings().keys), [(State::Fault, 0, Flags(0), 400)]);
    deliver(&mut a, t(4005), &now);
    assert_eq!(a.peers().iter().find(|p| p.router_id == 2).unwrap().effective_priority, 0);
    // And back: Standby at once.
    b.handle_tracker(t(4105), 0, true);
    let now = drain(&mut b);
    assert_eq!(control_hellos(&now, &b.settings().keys), [(State::Standby, 100, Flags(0), 400)]);
}

#[test]
fn a_standby_asks_to_preempt_at_once_when_its_delay_ends() {
    let mut s = Settings::for_tests(2, 250);
    (s.preempt, s.preempt_delay) = (true, ms(1000));
    let (mut a, mut b) = pair(Settings::for_tests(1, 200), s);
    let seen = link_watching_b(&mut a, &mut b, 2000, 4000);
    let first = seen.iter().find(|s| s.3.has(Flags::WANT_PREEMPT)).expect("asked to preempt");
    // The delay ran from when it first heard the active (before 1100):
    // the wish goes out on the 10 ms step the delay ends in, and the
    // active offers the role.
    assert!(first.0 <= 2110, "{seen:?}");
    let prev = seen.iter().rev().find(|s| s.0 < first.0).expect("an earlier hello");
    assert!(first.0 - prev.0 < 400, "not at a slow tick: {seen:?}");
    assert_eq!(b.state(), State::Active, "the active offered it the role");
}

#[test]
fn a_standby_that_loses_the_active_speaks_fast_and_rechecks_the_slow_ones() {
    let (_a, _b, mut c) = active_and_two_standbys(150, 100);
    let b_last = c.peers().iter().find(|p| p.router_id == 2).and_then(|p| p.last_heard()).unwrap();
    let a_last = c.peers().iter().find(|p| p.router_id == 1).and_then(|p| p.last_heard()).unwrap();
    // a and b die together at 3000. c loses a after its dead interval
    // (300 ms and a skew of 61 ms), hellos at once at the fast pace...
    let acts = run_alone_timed(&mut c, t(5000));
    let lost = a_last.plus(ms(300) + ms(100) * 156 / 256);
    let hellos: Vec<(Instant, u16)> = acts
        .iter()
        .filter_map(|(at, a)| {
            let h = control_hellos(std::slice::from_ref(a), &c.settings().keys);
            h.first().map(|h| (*at, h.3))
        })
        .collect();
    let first_fast = hellos.iter().find(|h| h.1 == 100).expect("a fast hello");
    assert_eq!(first_fast.0, lost, "{hellos:?}");
    // ...and takes over one fast dead interval after that, although b's
    // last slow hello would keep b alive longer.
    let took = acts.iter().find(|(_, a)| matches!(a, Action::Prepare)).map(|(at, _)| *at).expect("took over");
    let b_slow_deadline = b_last.plus(ms(1200) + ms(100) * 156 / 256);
    assert_eq!(took, lost.plus(ms(300) + ms(100) * 156 / 256));
    assert!(took < b_slow_deadline, "took over at {took}, b's slow deadline {b_slow_deadline}");
    assert_eq!(c.state(), State::Active);
}

/// Two engines on one hub, each woken only at its own `poll_timeout`, the
/// other hearing its frames at once; the transitions of each, with when.
fn pair_timed(x: &mut Engine, y: &mut Engine, until: Instant) -> Vec<(Instant, u32, State)> {
    let mut seen = Vec::new();
    let mut note = |e: &Engine, at: Instant, acts: &[Action]| {
        for a in acts {
            if let Action::Transition { to, .. } = a {
                seen.push((at, e.router_id(), *to));
            }
        }
    };
    loop {
        let (dx, dy) = (x.poll_timeout(), y.poll_timeout());
        let Some(next) = dx.into_iter().chain(dy).min().filter(|&n| n <= until) else { break };
        if dx == Some(next) {
            x.handle_timeout(next);
        }
        if dy == Some(next) {
            y.handle_timeout(next);
        }
        let (fx, fy) = (drain_prepared(x, next), drain_prepared(y, next));
        note(x, next, &fx);
        note(y, next, &fy);
        deliver(y, next, &fx);
        deliver(x, next, &fy);
        let (gx, gy) = (drain_prepared(x, next), drain_prepared(y, next));
        note(x, next, &gx);
        note(y, next, &gy);
    }
    seen
}

/// §4.2: the best standby (b, 150) times the dead active out after m × H
/// of silence and the skew of priority 255 (H / 256), not its own: no
/// better standby needs to be heard first. The worse one (c, 100) keeps
/// its skew, hears b take over, and stays.
#[test]
fn the_best_standby_times_the_active_out_without_its_own_skew() {
    let (mut a, mut b, mut c) = active_and_two_standbys(150, 100);
    // a's last hellos, late, off every other timer's 10 ms grid: only
    // the deadline of a's silence can wake b at the instant checked below.
    a.handle_timeout(t(3005));
    let last = drain(&mut a);
    deliver(&mut b, t(3005), &last);
    deliver(&mut c, t(3005), &last);
    let a_last = |e: &Engine| e.peers().iter().find(|p| p.router_id == 1).and_then(|p| p.last_heard()).unwrap();
    let (b_heard, c_heard) = (a_last(&b), a_last(&c));
    // c counts a alive for 300 ms and its skew (61 ms), by itself.
    let c_skew = ms(100) * 156 / 256;
    let a_alive = |c: &Engine, at: Instant| c.status(at).peers.iter().any(|p| p.router_id == "0x1" && p.alive);
    assert!(a_alive(&c, c_heard.plus(ms(300))) && !a_alive(&c, c_heard.plus(ms(300) + c_skew)));
    // a is dead.
    let seen = pair_timed(&mut b, &mut c, t(5000));
    let took = seen.iter().find(|s| s.1 == 2 && s.2 == State::TakingOver).map(|s| s.0).expect("b takes over");
    assert_eq!(took, b_heard.plus(ms(300) + ms(100) / 256), "{seen:?}");
    assert!(seen.iter().all(|s| s.1 != 3), "c stays a standby: {seen:?}");
    assert_eq!((b.state(), c.state()), (State::Active, State::Standby));
}

/// The operator's log line names a command as `{:?}` did before it was
/// written by hand.
#[test]
fn a_command_is_named_as_its_debug_form() {
    for c in [Command::StepUp, Command::StepDown, Command::SetPriority(150), Command::SetPriority(1), Command::Shutdown]
    {
        assert_eq!(c.to_string(), format!("{c:?}"));
    }
}

/// §5.4: a handover between two routers a standby beats does not restart
/// its preempt delay. It ran from when it first heard the active; it
/// used to start again when it heard the old active in Standby before
/// the new one in Active (seed 8263 of the preempt simulation).
#[test]
fn a_handover_between_worse_routers_keeps_the_preempt_delay_running() {
    let mut a = Engine::new(Settings::for_tests(1, 200), 7, t(0));
    run_alone(&mut a, t(1000));
    let mut b = Engine::new(Settings::for_tests(2, 100), 8, t(1000));
    let mut c_settings = Settings::for_tests(3, 250);
    (c_settings.preempt, c_settings.preempt_delay) = (true, ms(2000));
    let mut c = Engine::new(c_settings, 9, t(1000));
    hub(&mut [&mut a, &mut b, &mut c], 1000, 1500);
    assert_eq!((a.state(), b.state(), c.state()), (State::Active, State::Standby, State::Standby));
    assert_eq!(b.handle_command(t(1500), Command::StepUp), Ok(()));
    hub(&mut [&mut a, &mut b, &mut c], 1500, 2500);
    assert_eq!((a.state(), b.state(), c.state()), (State::Standby, State::Active, State::Standby));
    // c heard a before 1100: its delay ends before 3100, and b offers
    // the role on hearing it ask (it would ask after 3500 had the delay
    // started again with the handover).
    hub(&mut [&mut a, &mut b, &mut c], 2500, 3300);
    assert!(matches!(c.state(), State::TakingOver | State::Active), "{:?}", c.state());
    hub(&mut [&mut a, &mut b, &mut c], 3300, 3600);
    assert_eq!((a.state(), b.state(), c.state()), (State::Standby, State::Standby, State::Active));
}

/// §5.3: the only router a standby saw taking over gives it up and stands
/// by again (it heard an active, or its offerer still holds the WAN): the
/// standby does not take over at once, as it would if that router had
/// died, but waits one dead interval to hear the active. A router that
/// had just started saw one take a stale offer and give it up, then took
/// over beside the active (chaos seed 23908).
#[test]
fn a_standby_waits_a_dead_interval_when_the_router_it_saw_taking_over_gives_up() {
    let (mut a, mut b) = active_and_standby(Settings::for_tests(2, 100));
    assert_eq!(b.handle_command(t(2000), Command::StepUp), Ok(()));
    // a offers b the role but never hears its READY; c and b hear each
    // other, c does not hear a.
    let mut c: Option<Engine> = None;
    let mut now = 2000;
    let mut gave_up = None;
    while now < 6000 {
        a.handle_timeout(t(now));
        b.handle_timeout(t(now));
        let fa = drain(&mut a);
        deliver(&mut b, t(now), &fa);
        let fb: Vec<Action> =
            drain_prepared(&mut b, t(now)).into_iter().chain(drain_prepared(&mut b, t(now))).collect();
        if b.state() != State::TakingOver && c.is_none() {
            deliver(&mut a, t(now), &fb);
            drain(&mut a);
        }
        if b.state() == State::TakingOver && c.is_none() {
            c = Some(Engine::new(Settings::for_tests(3, 250), 9, t(now)));
        }
        if let Some(c) = c.as_mut() {
            c.handle_timeout(t(now));
            deliver(c, t(now), &fb);
            let fc = drain_prepared(c, t(now));
            deliver(&mut b, t(now), &fc);
            if b.state() == State::TakingOver {
                assert_ne!(c.state(), State::TakingOver, "c took over beside b");
            }
            if b.state() == State::Standby && gave_up.is_none() {
                assert_eq!(c.state(), State::Standby, "c took over at once when b gave up");
                gave_up = Some(now);
            }
            if let Some(g) = gave_up.filter(|&g| now < g + 250) {
                assert_eq!(c.state(), State::Standby, "took over {} ms after b gave up", now - g);
            }
        }
        now += 10;
    }
    assert!(gave_up.is_some(), "b never gave its takeover up");
}

/// A control link tied to the WAN device (a bridge over it) carries the
/// active's WAN hellos. Untied, they are refused there as a loop (§2.5)
/// and a standby hearing the active only so takes over; tied, they are the
/// WAN path, and it hears the active through them alone.
#[test]
fn wan_hellos_on_a_tied_control_link_count_as_heard_on_the_wan() {
    for tied in [false, true] {
        let (mut a, mut b) = active_and_standby(Settings::for_tests(2, 100));
        b.handle_control_tied(0, tied);
        for now in (2000..4000).step_by(10) {
            a.handle_timeout(t(now));
            b.handle_timeout(t(now));
            for act in drain_prepared(&mut a, t(now)) {
                if let Action::Send { path: Path::Wan, frame } = act {
                    b.handle_frame(t(now), Path::Control(0), &frame);
                }
            }
            drain_prepared(&mut b, t(now));
        }
        let mismatched = b.counters().rx_path_mismatch;
        if tied {
            assert_eq!((b.state(), mismatched), (State::Standby, 0), "tied");
            assert!(b.peers()[0].is_alive_on(t(4000), Path::Wan, 0), "tied: not alive on the WAN");
        } else {
            assert!(mismatched > 0, "untied: nothing refused");
            assert_ne!(b.state(), State::Standby, "untied: still a standby");
        }
    }
}

/// §6.2: after a partition heals, two actives may both offer the WAN to
/// the same standby. Taking one offer, it aborts on hearing the other
/// router handing over too, rather than open its WAN beside it and, once
/// its own offerer stepped down, be active beside it (198 ms, chaos seed
/// 49861).
#[test]
fn a_router_taking_over_aborts_when_another_router_hands_over_too() {
    let (mut a, mut b) = active_and_standby(Settings::for_tests(2, 100));
    let mut c = Engine::new(Settings::for_tests(3, 150), 9, t(0));
    run_alone(&mut c, t(2000));
    assert_eq!(c.state(), State::Active);
    // b asks to step up; a and c (which never heard a) both offer.
    assert_eq!(b.handle_command(t(2000), Command::StepUp), Ok(()));
    let fb = drain(&mut b);
    deliver(&mut c, t(2000), &fb);
    let fc = drain(&mut c);
    deliver(&mut a, t(2000), &fb);
    let fa = drain(&mut a);
    assert_eq!((a.state(), c.state()), (State::HandingOver, State::HandingOver));
    deliver(&mut b, t(2000), &fa);
    let fb = drain_prepared(&mut b, t(2000));
    assert_eq!(b.state(), State::TakingOver);
    assert!(fb.iter().any(|x| matches!(x, Action::RefreshPermit { .. })), "b opened its WAN");
    // c's hello (and OFFER) arrive: b closes its WAN, and refuses c's
    // offer while a still holds the WAN.
    deliver(&mut b, t(2001), &fc);
    let fb = drain(&mut b);
    assert_eq!(b.state(), State::Standby);
    assert!(fb.contains(&Action::CloseWan), "{fb:?}");
}
