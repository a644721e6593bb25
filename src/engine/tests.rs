//! Focused tests of single rules; tests/simulation.rs covers the rest.

use core::time::Duration;
use std::net::Ipv4Addr;

use super::*;
use crate::time::ms;
use crate::wire::{Key, Keyring, Lease4};

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
    assert_eq!(m.lease4.unwrap().valid_left, 589);
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
