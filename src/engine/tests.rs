//! Focused tests of single rules; tests/simulation.rs covers the rest.

use core::time::Duration;
use std::net::Ipv4Addr;

use super::*;
use crate::time::ms;
use crate::wire::{Ia6, Key, Keyring, Lease4, Lease6, Mac, Server6};

fn settings(id: u32, prio: u8) -> Settings {
    Settings {
        group: 1,
        router_id: id,
        priority: prio,
        preempt: false,
        preempt_delay: ms(0),
        hello_interval: ms(100),
        wan_hello_interval: Some(ms(100)),
        dead_multiplier: 3,
        ethertype: 0x88b5,
        shared_mac: Mac([2, 0, 0, 0, 0, 1]),
        control_macs: vec![Mac([2, 0, 0, 0, 1, id as u8])],
        keys: Keyring::new(vec![Key::new(1, b"k")]),
        hold_period: Duration::from_secs(60),
        nudge_interval: None,
        prepare_timeout: ms(500),
        client_id: vec![1, 2, 0, 0, 0, 0, 1],
        dhcpv6: true,
        duid: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1],
        router_advert: true,
        trackers: vec![],
    }
}

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
    let mut e = Engine::new(settings(1, 100), 7, t(0));
    let acts = run_alone(&mut e, t(300));
    assert_eq!(e.state(), State::Init, "still listening");
    assert!(!acts.iter().any(|a| matches!(a, Action::Send { path: Path::Wan, .. })), "init never speaks on the WAN");
    run_alone(&mut e, t(400));
    assert_eq!(e.state(), State::Active);
}

#[test]
fn malformed_and_foreign_frames_are_counted_and_change_nothing() {
    let mut e = Engine::new(settings(1, 100), 7, t(0));
    e.handle_frame(t(1), Path::Control(0), &[0u8; 10]);
    let mut f = vec![0u8; 60];
    f[12] = 0x88;
    f[13] = 0xb5;
    f[16] = 1; // our group
    f[14] = 9; // version 9
    e.handle_frame(t(2), Path::Control(0), &f);
    f[14] = 1;
    f[16] = 2; // group 2: not ours
    e.handle_frame(t(3), Path::Control(0), &f);
    let c = e.counters();
    assert_eq!((c.rx_truncated, c.rx_bad_version, c.rx_other, c.rx_ok), (1, 1, 1, 0));
    assert!(e.peers().is_empty());
    assert_eq!(e.state(), State::Init);
}

#[test]
fn unsigned_frames_are_refused_when_a_key_is_set() {
    let mut other = settings(2, 100);
    other.keys = Keyring::default();
    let mut a = Engine::new(settings(1, 100), 7, t(0));
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
    let mut a = Engine::new(settings(1, 200), 7, t(0));
    run_alone(&mut a, t(1000));
    assert_eq!(a.state(), State::Active);
    let mut b = Engine::new(settings(2, 100), 8, t(1000));
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

#[test]
fn commands_refuse_what_cannot_be_done() {
    let mut e = Engine::new(settings(1, 100), 7, t(0));
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
    let mut e = Engine::new(settings(1, 100), 7, t(0));
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
    let mut e = Engine::new(settings(1, 100), 7, t(0));
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
    let m = Message::parse(&p, &e.settings().keys).unwrap();
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
    let mut e = Engine::new(settings(1, 100), 7, t(0));
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
    let mut e = Engine::new(settings(1, 100), 7, t(0));
    e.handle_lease(t(0), lease(), None);
    let steps = renewal_steps(&run_alone_timed(&mut e, t(3_000)));
    assert_eq!(steps.iter().map(|s| s.1).collect::<Vec<_>>(), ["renew", "again"]);
    // ACK: renewed, nothing more until T1.
    e.handle_lease(t(3_000), lease(), None);
    assert!(renewal_steps(&run_alone_timed(&mut e, t(20_000))).is_empty());
    // NAK during a renewal: dropped, a new lease asked for.
    let mut e = Engine::new(settings(1, 100), 7, t(0));
    e.handle_lease(t(0), lease(), None);
    run_alone_timed(&mut e, t(1_000));
    e.handle_lease_lost(t(1_000));
    let acts: Vec<(Instant, Action)> = drain(&mut e).into_iter().map(|a| (t(1_000), a)).collect();
    assert!(acts.iter().any(|(_, a)| matches!(a, Action::AcquireLease { requested: Some(_), .. })));
    assert!(renewal_steps(&run_alone_timed(&mut e, t(20_000))).is_empty());
    // A stall closes the WAN: the renewal in flight ends with it, and the
    // next active term starts a new one.
    let mut e = Engine::new(settings(1, 100), 7, t(0));
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
    let mut e = Engine::new(settings(1, 100), 7, t(0));
    run_alone(&mut e, t(1000));
    let before = e.counters().transitions;
    e.reconfigure(t(1000), settings(1, 120));
    run_alone(&mut e, t(2000));
    assert_eq!(e.state(), State::Active);
    assert_eq!(e.counters().transitions, before);
    assert_eq!(e.priority(), 120);
}

#[test]
fn poll_timeout_moves_past_every_handled_instant() {
    let mut e = Engine::new(settings(1, 100), 7, t(0));
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
    let mut e = Engine::new(settings(1, 100), 7, t(0));
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
        let m = Message::parse(&p, &e.settings().keys).unwrap();
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
    let mut a = Engine::new(settings(1, 200), 7, t(0));
    run_alone(&mut a, t(1000));
    let mut b = Engine::new(b_settings, 8, t(1000));
    link(&mut a, &mut b, 1000, 2000, true);
    assert_eq!((a.state(), b.state()), (State::Active, State::Standby));
    (a, b)
}

#[test]
fn a_step_up_is_reported_done_once_the_active_hands_over() {
    let (mut a, mut b) = active_and_standby(settings(2, 100));
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
    let (mut a, mut b) = active_and_standby(settings(2, 100));
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
    let mut e = Engine::new(settings(1, 100), 7, t(0));
    let e1 = e.handle_command(t(1), Command::StepUp).unwrap_err();
    let s = e.status(t(1)).step_up.expect("recorded");
    assert_eq!((s.state, s.reason.as_str()), ("failed", e1));
    run_alone(&mut e, t(1000));
    assert_eq!(e.handle_command(t(1000), Command::StepUp), Ok(()));
    assert_eq!(e.status(t(1000)).step_up.expect("recorded").reason, "already active");
}

#[test]
fn peers_show_their_key_id_and_routers_with_other_keys_are_listed_as_refused() {
    let mut b = settings(2, 100);
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
        let mut s = settings(id, 50);
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
    let mut s = settings(1, 200);
    s.keys = Keyring::new(vec![Key::new(1, b"k"), Key::new(3, b"new")]);
    a.reconfigure(t(2100), s);
    let mut s4 = settings(4, 50);
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
    let mut a = Engine::new(settings(1, 200), 7, t(0));
    for id in 10..30u32 {
        let mut s = settings(id, 50);
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
    let mut e = Engine::new(settings(1, 100), 7, t(0));
    e.handle_kept_lease(t(0), Lease4 { valid_left: 100, ..lease() }, None);
    let acts = run_alone(&mut e, t(1000));
    assert_eq!(e.state(), State::Active);
    let asked: Vec<&Action> = acts.iter().filter(|a| matches!(a, Action::RebootLease { .. })).collect();
    assert_eq!(asked.len(), 1, "{acts:?}");
    let Action::RebootLease { lease: l, client_id } = asked[0] else { unreachable!() };
    assert_eq!((l.address, l.valid_left <= 100), (lease_addr(), true));
    assert_eq!(client_id, &settings(1, 100).client_id);
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
    let mut e = Engine::new(settings(1, 100), 7, t(0));
    e.handle_kept_lease(t(0), Lease4 { valid_left: 0, renew_left: 0, rebind_left: 0, ..lease() }, None);
    let acts = run_alone(&mut e, t(1000));
    assert!(!acts.iter().any(|a| matches!(a, Action::RebootLease { .. })));
    assert!(
        acts.contains(&Action::AcquireLease {
            requested: Some(lease().address),
            client_id: settings(1, 100).client_id
        }),
        "{acts:?}"
    );
}

/// A NAK: forgotten (here and on disk), DISCOVER for any address. Silence
/// (a server without a record stays silent): three copies 2 s apart, then
/// DISCOVER asking for the address.
#[test]
fn a_refused_or_unanswered_init_reboot_falls_back_to_discover() {
    let mut e = Engine::new(settings(1, 100), 7, t(0));
    e.handle_kept_lease(t(0), lease(), None);
    run_alone(&mut e, t(1000));
    e.handle_lease_lost(t(1000));
    let acts = drain(&mut e);
    assert_eq!(stores(&acts), [None]);
    assert!(acts.iter().any(|a| matches!(a, Action::AcquireLease { requested: None, .. })), "{acts:?}");

    let mut e = Engine::new(settings(1, 100), 7, t(0));
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
    let mut a = Engine::new(settings(1, 200), 7, t(0));
    a.handle_lease(t(0), lease(), None);
    run_alone(&mut a, t(1000));
    let mut b = Engine::new(settings(2, 100), 8, t(1000));
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
    let (mut a, mut b) = active_and_standby(settings(2, 100));
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
    let mut e = Engine::new(settings(1, 100), 7, t(0));
    e.handle_lease6(t(0), lease6(false));
    let acts = run_alone(&mut e, t(1000));
    assert_eq!(exchanges(&acts), [Exchange6::Rebind]);
    let mut e = Engine::new(settings(1, 100), 7, t(0));
    let acts = run_alone(&mut e, t(1000));
    assert_eq!(exchanges(&acts), [Exchange6::Solicit]);
    assert!(!acts.contains(&Action::AdvertiseRouter), "nothing to number the LAN with");
    // Solicited again while nothing comes.
    let acts = run_alone(&mut e, t(1000).plus(lease6::SOLICIT_RETRY));
    assert_eq!(exchanges(&acts), [Exchange6::Solicit]);
    // The server lost the binding (NoBinding): solicit.
    let mut e = Engine::new(settings(1, 100), 7, t(0));
    e.handle_lease6(t(0), lease6(true));
    run_alone(&mut e, t(1000));
    e.handle_lease6_lost(t(1000));
    let acts = drain(&mut e);
    assert!(
        acts.iter().any(|a| matches!(a, Action::WithdrawLease6 { .. })) && exchanges(&acts) == [Exchange6::Solicit],
        "{acts:?}"
    );
}

/// Stepping down withdraws the binding (the LAN prefix included) and the
/// advertisements stop.
#[test]
fn stepping_down_withdraws_the_binding_and_stops_advertising() {
    let (mut a, mut b) = active_and_standby(settings(2, 100));
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
