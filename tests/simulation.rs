//! Seeded multi-router simulations of the engine. Each scenario runs many
//! seeds; every run checks the invariants of docs/PROTOCOL.md §8 after
//! every event and measures failover and convergence against their bounds.
//!
//! `make sim` prints the per-scenario summary. A failure prints its seed;
//! `VWRP_SIM_SEED=scenario:seed cargo test --test simulation` replays one
//! run with a full trace.

mod sim;

use std::time::Duration;

use sim::{Dhcp, DhcpSent, LEASE_ADDR, Link, Params, Rng, World};
use vwrp::engine::{Command, STANDBY_PACE, State};

/// What one run measured: (name, measured, bound) in simulated time.
#[derive(Default)]
struct Outcome {
    timings: Vec<(&'static str, Duration, Duration)>,
}

fn params(rng: &mut Rng) -> Params {
    let hello = Duration::from_millis(*rng.pick(&[10, 20, 50, 100, 200]));
    let tracker_interval = hello * (1 + rng.below(3) as u32);
    Params {
        hello,
        wan_hello: match rng.below(10) {
            0 => Some(hello * 2),
            // Faster than the control hello: the engine clamps it.
            1 => Some(hello / 2),
            _ => Some(hello),
        },
        multiplier: 3 + rng.below(3) as u8,
        preempt: rng.chance(0.5),
        preempt_delay: hello * (5 + rng.below(15) as u32),
        hold: hello * 60,
        keyed: rng.chance(0.5),
        prepare_max: hello / 5,
        tracker_interval,
        // At most the interval, as for every upstream tracker.
        tracker_timeout: tracker_interval.mul_f64((1 + rng.below(4)) as f64 / 4.0),
        rise: 1 + rng.below(3) as u8,
        fall: 1 + rng.below(4) as u8,
        lease_secs: 120,
    }
}

/// Starts 2..=5 routers within a few hellos and waits for one active.
fn boot(w: &mut World, out: &mut Outcome, n: usize) {
    let h = w.p.hello;
    let mut ids = Vec::new();
    for i in 0..n {
        let mut id = (w.rng.next() as u32).max(1);
        while ids.contains(&id) {
            id = id.wrapping_add(1).max(1);
        }
        ids.push(id);
        let prio = *w.rng.pick(&[50u8, 100, 100, 150, 200, 254]);
        if i > 0 {
            let gap = h.mul_f64(w.rng.below(300) as f64 / 100.0);
            w.run_for(gap);
        }
        w.add_router(id, prio);
    }
    let bound = converge_bound(w);
    let start = w.now;
    match w.run_until_pred(bound * 4, |w| w.converged()) {
        Some(t) => out.timings.push(("cold start", t.since(start), bound)),
        None => panic_msg(w, "no single active after boot"),
    }
}

/// (c): one dead interval (with the largest skew), two hellos, preparing
/// and transit.
fn converge_bound(w: &World) -> Duration {
    let h = w.p.hello.max(w.p.wan_hello.unwrap_or_default());
    h * (u32::from(w.p.multiplier) + 1) + h * 2 + w.p.prepare_max + max_delay(w) * 4
}

fn max_delay(w: &World) -> Duration {
    w.links.iter().map(|l| l.delay_max).max().unwrap_or_default()
}

/// The best standby times the active out this long after it last heard
/// it: its dead interval on the slowest path, with the skew of priority
/// 255, not its own (§4.2).
fn best_timeout_bound(w: &World) -> Duration {
    let h = w.p.hello.max(w.p.wan_hello.unwrap_or_default());
    h * u32::from(w.p.multiplier) + h / 256
}

/// (d): the best standby's dead interval (the skew of priority 255), one
/// hello, preparing, transit.
fn failover_bound(w: &World) -> Duration {
    // A peer stays alive until its slowest path times out.
    let h = w.p.hello.max(w.p.wan_hello.unwrap_or_default());
    best_timeout_bound(w) + h + w.p.prepare_max + max_delay(w) * 2
}

/// How much longer a takeover waits when a standby that spoke at the slow
/// pace fell silent with the active: the peers it is rechecked by are
/// given one fast dead interval from the loss (§6.3), with the skew of
/// effective priority `eff`.
fn recheck_bound(w: &World, eff: u8) -> Duration {
    let h = w.p.hello;
    h * u32::from(w.p.multiplier) + h * (256 - u32::from(eff)) / 256
}

/// (d'): the active and the best standby die together; the next best
/// standby `next`, not the best while it believes the dead one alive,
/// times the active out with its skew, then the dead one by the recheck.
fn double_failover_bound(w: &World, next: usize) -> Duration {
    let eff = w.routers[next].engine.as_ref().map_or(1, |e| e.effective_priority());
    let h = w.p.hello.max(w.p.wan_hello.unwrap_or_default());
    failover_bound(w) + h * (256 - u32::from(eff)) / 256 + recheck_bound(w, eff)
}

/// The one active router, once no handover is in flight.
fn the_active(w: &mut World) -> usize {
    let limit = converge_bound(w) * 3;
    if w.run_until_pred(limit, |w| w.converged()).is_none() {
        panic_msg(w, "no single active");
    }
    w.actives()[0]
}

fn panic_msg(w: &World, what: &str) -> ! {
    panic!("{what}\n--- trace ---\n{}", w.trace())
}

fn settle(w: &mut World, out: &mut Outcome, what: &'static str) {
    settle_within(w, out, what, converge_bound(w));
}

/// (c) after a stopped router resumed: it listens until a standby that
/// took over must have been heard, up to (m + 2) × H + the prepare
/// timeout after its last refresh (§6.6), and a better claim in Init
/// holds the others back meanwhile.
fn resume_bound(w: &World) -> Duration {
    let h = w.p.hello.max(w.p.wan_hello.unwrap_or_default());
    converge_bound(w) + w.routers[0].settings.prepare_timeout + h * 2
}

fn settle_within(w: &mut World, out: &mut Outcome, what: &'static str, bound: Duration) {
    let start = w.now;
    match w.run_until_pred(bound * 3, |w| w.converged()) {
        Some(t) => out.timings.push((what, t.since(start), bound)),
        None => panic_msg(w, &format!("no single active after {what}")),
    }
}

/// Kills (or hangs) the active and checks the best standby takes over in
/// time, before any other router does, and starts to as soon as its dead
/// interval for the active has run out, with the skew of priority 255,
/// not its own (§4.2).
fn hard_failover(w: &mut World, out: &mut Outcome, hang: bool) -> usize {
    let h = w.p.hello;
    let offset = h.mul_f64(w.rng.below(100) as f64 / 100.0);
    w.run_for(offset);
    let active = the_active(w);
    let Some(best) = w.best_standby() else { panic_msg(w, "no standby") };
    let bound = failover_bound(w);
    let active_id = w.routers[active].settings.router_id;
    if hang {
        w.hang(active);
    } else {
        w.crash(active);
    }
    let t0 = w.now;
    let seen = w.activations.len();
    let taking = |w: &World| matches!(w.routers[best].state(), State::TakingOver | State::Active);
    let Some(took) = w.run_until_pred(bound * 3, taking) else { panic_msg(w, "best standby never took over") };
    let heard = w.routers[best].engine.as_ref().and_then(|e| e.peers().iter().find(|p| p.router_id == active_id));
    let Some(heard) = heard.and_then(|p| p.last_heard()) else {
        panic_msg(w, "the best standby never heard the active")
    };
    out.timings.push(("best standby's timeout", took.since(heard), best_timeout_bound(w)));
    let t = w.run_until_pred(bound * 3, |w| w.routers[best].state() == State::Active);
    let Some(t) = t else { panic_msg(w, "best standby never became active") };
    if let Some((_, who, _)) = w.activations[seen..].first()
        && *who != best
    {
        panic_msg(w, &format!("r{who} took over, but r{best} was the best standby"));
    }
    out.timings.push((if hang { "hang failover" } else { "crash failover" }, t.since(t0), bound));
    active
}

fn sc_cold_start(w: &mut World, out: &mut Outcome) {
    let n = 2 + w.rng.below(4) as usize;
    boot(w, out, n);
    let seen = w.activations.len();
    let h = w.p.hello;
    w.run_for(h * 40);
    if w.activations.len() != seen && !w.p.preempt {
        panic_msg(w, "active changed in a stable network without preemption");
    }
}

fn sc_crash(w: &mut World, out: &mut Outcome) {
    let n = 2 + w.rng.below(4) as usize;
    boot(w, out, n);
    w.run_for(w.p.hello * 10);
    let dead = hard_failover(w, out, false);
    w.run_for(w.p.hello * 10);
    w.start(dead);
    settle(w, out, "restart");
    let d = w.p.preempt_delay + w.p.hello * 20;
    w.run_for(d);
    settle(w, out, "after preemption");
}

fn sc_hang(w: &mut World, out: &mut Outcome) {
    let n = 2 + w.rng.below(4) as usize;
    boot(w, out, n);
    w.run_for(w.p.hello * 10);
    let hung = hard_failover(w, out, true);
    let stop = w.p.hello * (5 + w.rng.below(30) as u32);
    w.run_for(stop);
    w.resume(hung);
    let bound = resume_bound(w);
    settle_within(w, out, "resume", bound);
    w.run_for(w.p.preempt_delay + w.p.hello * 20);
    settle(w, out, "after preemption");
}

/// (d') The best standby dies together with the active (crashes or hangs,
/// at the same instant or up to one slow hello before it): the next best
/// standby takes over within the bound, no other router before it, and
/// never two forwarding (checked after every event).
fn sc_double(w: &mut World, out: &mut Outcome) {
    let n = 3 + w.rng.below(3) as usize;
    boot(w, out, n);
    let h = w.p.hello;
    w.run_for(h * 20);
    let offset = h.mul_f64(w.rng.below(100) as f64 / 100.0);
    w.run_for(offset);
    let a = the_active(w);
    let mut ranked: Vec<(u8, u32, usize)> = (0..n)
        .filter(|&i| w.routers[i].running() && w.routers[i].state() == State::Standby)
        .filter_map(|i| {
            let e = w.routers[i].engine.as_ref()?;
            (e.effective_priority() > 0).then_some((e.effective_priority(), e.router_id(), i))
        })
        .collect();
    ranked.sort_unstable_by(|x, y| y.cmp(x));
    let [(_, _, best), (_, _, next), ..] = ranked[..] else { panic_msg(w, "fewer than two standbys") };
    let hangs = [w.rng.chance(0.3), w.rng.chance(0.3)];
    let early =
        if w.rng.chance(0.5) { Duration::ZERO } else { (h * STANDBY_PACE).mul_f64(w.rng.below(100) as f64 / 100.0) };
    for (i, hang) in [(best, hangs[0]), (a, hangs[1])] {
        if hang {
            w.hang(i);
        } else {
            w.crash(i);
        }
        if i == best {
            w.run_for(early);
        }
    }
    let (t0, seen) = (w.now, w.activations.len());
    let bound = double_failover_bound(w, next);
    let Some(t) = w.run_until_pred(bound * 3, |w| w.routers[next].state() == State::Active) else {
        panic_msg(w, "the next best standby never became active")
    };
    if let Some((_, who, _)) = w.activations[seen..].first()
        && *who != next
    {
        panic_msg(w, &format!("r{who} took over, but r{next} was the best standby left"));
    }
    out.timings.push(("double failover", t.since(t0), bound));
    w.run_for(h * 10);
    for (i, hang) in [(best, hangs[0]), (a, hangs[1])] {
        if hang {
            w.resume(i);
        } else {
            w.start(i);
        }
    }
    let bound = if hangs.contains(&true) { resume_bound(w) } else { converge_bound(w) };
    settle_within(w, out, "both back", bound);
}

/// Graceful handovers only: the WAN must never be closed everywhere.
fn sc_step(w: &mut World, out: &mut Outcome) {
    let n = 2 + w.rng.below(4) as usize;
    boot(w, out, n);
    w.graceful_only = true;
    for _ in 0..3 {
        w.run_for(w.p.hello * 5);
        let a = the_active(w);
        let t0 = w.now;
        if w.rng.chance(0.5) {
            w.command(a, Command::StepDown).unwrap_or_else(|e| panic_msg(w, e));
        } else {
            let standbys: Vec<usize> =
                (0..w.routers.len()).filter(|&i| w.routers[i].state() == State::Standby).collect();
            let s = *w.rng.pick(&standbys);
            w.command(s, Command::StepUp).unwrap_or_else(|e| panic_msg(w, e));
        }
        let bound = w.p.hello * 3 + w.p.prepare_max + max_delay(w) * 6;
        let moved = w.run_until_pred(bound * 4, |w| w.converged() && w.actives()[0] != a);
        match moved {
            Some(t) => out.timings.push(("graceful handover", t.since(t0), bound)),
            None => panic_msg(w, "graceful handover did not complete"),
        }
    }
    // SIGTERM on the active: hand over, say goodbye, exit.
    let a = the_active(w);
    let t0 = w.now;
    w.command(a, Command::Shutdown).unwrap_or_else(|e| panic_msg(w, e));
    let bound = w.p.hello * 3 + w.p.prepare_max + max_delay(w) * 6;
    match w.run_until_pred(bound * 4, |w| w.converged() && w.actives()[0] != a) {
        Some(t) => out.timings.push(("shutdown handover", t.since(t0), bound)),
        None => panic_msg(w, "shutdown handover did not complete"),
    }
    if w.routers[a].running() {
        panic_msg(w, "shut-down router did not exit");
    }
}

fn sc_preempt(w: &mut World, out: &mut Outcome) {
    w.p.preempt = true;
    let n = 2 + w.rng.below(4) as usize;
    boot(w, out, n);
    for r in &mut w.routers {
        r.settings.preempt = true;
    }
    // Give router 0 the top priority from its next start on.
    w.routers[0].settings.priority = 254;
    w.routers[0].settings.router_id = u32::MAX;
    w.run_for(w.p.hello * 5);
    let was_active = the_active(w) == 0;
    w.crash(0);
    if was_active {
        settle(w, out, "r0 crashed");
    }
    w.run_for(w.p.hello * 10);
    w.start(0);
    let restarted = w.now;
    let seen = w.activations.len();
    let limit = w.p.preempt_delay + converge_bound(w) * 4;
    let t = w.run_until_pred(limit, |w| w.routers[0].state() == State::Active && w.converged());
    let Some(t) = t else { panic_msg(w, "preempting router never became active") };
    let reason = w.activations[seen..].iter().find(|(_, i, _)| *i == 0).map(|(_, _, r)| r.clone()).unwrap_or_default();
    if !reason.contains("preempt") {
        panic_msg(w, &format!("router 0 became active by '{reason}', not by preemption"));
    }
    if t.since(restarted) < w.p.preempt_delay {
        panic_msg(w, "preempted before its delay");
    }
    let bound = w.p.preempt_delay + converge_bound(w) + w.p.hello * 3;
    out.timings.push(("preempt after delay", t.since(restarted), bound));
}

fn sc_partition(w: &mut World, out: &mut Outcome) {
    let n = 2 + w.rng.below(4) as usize;
    boot(w, out, n);
    for _ in 0..2 {
        let i = w.rng.below(n as u64) as usize;
        let (wan, control) = match w.rng.below(3) {
            0 => (true, false),
            1 => (false, true),
            _ => (true, true),
        };
        w.isolate(i, wan, control);
        let d = w.p.hello * (3 + w.rng.below(40) as u32);
        w.run_for(d);
        w.heal();
        settle(w, out, "partition healed");
    }
}

fn sc_loss(w: &mut World, out: &mut Outcome) {
    let n = 2 + w.rng.below(4) as usize;
    boot(w, out, n);
    let h = w.p.hello;
    for li in 0..2 {
        w.links[li] = Link {
            loss: w.rng.below(30) as f64 / 100.0,
            delay_min: Duration::ZERO,
            delay_max: h.mul_f64(w.rng.below(20) as f64 / 100.0),
        };
    }
    w.run_for(h * 30);
    if w.rng.chance(0.5)
        && let Some(&a) = w.actives().first()
    {
        w.crash(a);
        w.run_for(h * 20);
        w.start(a);
    }
    w.run_for(h * 30);
    w.heal();
    settle(w, out, "loss ended");
}

/// The active's upstream dies: its tracker sees it within `fall`
/// intervals and a timeout, and it hands over gracefully to a standby.
fn sc_tracker(w: &mut World, out: &mut Outcome) {
    let n = 2 + w.rng.below(4) as usize;
    boot(w, out, n);
    // Preemption over, the active's tracker up.
    w.run_for(w.p.preempt_delay + w.p.hello * 20 + w.p.tracker_interval * u32::from(w.p.rise + 1));
    let a = the_active(w);
    let phase = w.p.tracker_interval.mul_f64(w.rng.below(100) as f64 / 100.0);
    w.run_for(phase);
    w.routers[a].upstream_dead = true;
    let t0 = w.now;
    let seen = w.tracker_verdicts.len();
    let detect = w.tracker_detection_bound();
    let bound = detect + w.p.hello * 3 + w.p.prepare_max + max_delay(w) * 6;
    match w.run_until_pred(bound * 3, |w| w.converged() && w.actives()[0] != a) {
        Some(t) => out.timings.push(("tracker handover", t.since(t0), bound)),
        None => panic_msg(w, "no handover after the active's upstream died"),
    }
    match w.tracker_verdicts[seen..].iter().find(|(_, r, up)| *r == a && !up) {
        Some((t, _, _)) => out.timings.push(("tracker detection", t.since(t0), detect)),
        None => panic_msg(w, "the handover came without the tracker going down"),
    }
    let activation = w.activations.last().map(|x| x.2.clone()).unwrap_or_default();
    if !activation.contains("(tracker)") {
        panic_msg(w, &format!("the new active took over by '{activation}', not by a tracker handover"));
    }
    w.routers[a].upstream_dead = false;
}

/// (f) upstream dead everywhere: at most one tracker-driven handover per
/// hold period.
fn sc_dead_upstream(w: &mut World, out: &mut Outcome) {
    let n = 2 + w.rng.below(4) as usize;
    boot(w, out, n);
    w.run_for(w.p.hello * 10);
    for r in &mut w.routers {
        r.upstream_dead = true;
    }
    let seen = w.tracker_handovers.len();
    w.run_for(w.p.hold * 4);
    let hs = w.tracker_handovers[seen..].to_vec();
    let slack = w.p.hello * (u32::from(w.p.multiplier) + 2);
    for pair in hs.windows(2) {
        if pair[1].since(pair[0]) + slack < w.p.hold {
            panic_msg(w, &format!("(f) tracker handovers {:?} apart, hold {:?}", pair[1].since(pair[0]), w.p.hold));
        }
    }
    if hs.len() > 5 {
        panic_msg(w, &format!("(f) {} tracker handovers in 4 hold periods", hs.len()));
    }
    for r in &mut w.routers {
        r.upstream_dead = false;
    }
    settle(w, out, "upstream back");
}

/// The lease's end as the DHCP server and the routers know it.
fn lease_end(w: &World, a: usize) -> vwrp::time::Instant {
    w.routers[a].engine.as_ref().and_then(|e| e.lease()).map_or(w.now, |l| l.expires())
}

/// DISCOVERs sent since `since`.
fn discovers(w: &World, since: vwrp::time::Instant) -> Vec<(vwrp::time::Instant, usize, Option<std::net::Ipv4Addr>)> {
    w.dhcp_log
        .iter()
        .filter(|(t, _, _)| *t >= since)
        .filter_map(|&(t, r, d)| match d {
            DhcpSent::Discover { requested } => Some((t, r, requested)),
            _ => None,
        })
        .collect()
}

/// The DHCP server stops answering, or refuses, while a router forwards
/// with the group's lease. Every run checks (g): a renewal's request is
/// sent again 2 s after the last copy, at most three times, then given up;
/// and the lease invariants (never a DISCOVER while a valid lease is
/// known, never an expired lease kept applied).
fn sc_dhcp(w: &mut World, out: &mut Outcome) {
    w.p.lease_secs = 8 + w.rng.below(23) as u32;
    let n = 2 + w.rng.below(2) as usize;
    boot(w, out, n);
    w.run_for(w.p.preempt_delay + w.p.hello * 20);
    let a = the_active(w);
    if w.routers[a].applied != Some(LEASE_ADDR) {
        panic_msg(w, "the active has no lease applied");
    }
    let t0 = w.now;
    let end = lease_end(w, a);
    let left = end.since(t0);
    let seen = w.activations.len();
    match w.rng.below(4) {
        // Silent until the lease runs out: the active keeps forwarding with
        // it to the end, then drops it and asks for the same address.
        0 => {
            w.set_dhcp(Dhcp::Silent);
            w.run_until(vwrp::time::Instant::from_micros(end.as_micros() - 1));
            if !(w.routers[a].gate_open(w.now) && w.routers[a].applied.is_some() && w.activations.len() == seen) {
                panic_msg(w, "DHCP silence moved the active role or closed the WAN");
            }
            w.run_for(Duration::from_secs(1));
            match discovers(w, t0).first() {
                Some(&(t, r, requested)) if r == a && requested == Some(LEASE_ADDR) => {
                    out.timings.push(("discover after expiry", t.since(end), w.p.hello));
                }
                d => panic_msg(w, &format!("after the lease ran out: {d:?}")),
            }
            if w.routers[a].applied.is_some() {
                panic_msg(w, "the expired lease is still applied");
            }
            w.set_dhcp(Dhcp::Answering);
            let back = w.now;
            match w.run_until_pred(Duration::from_secs(1), |w| w.routers[a].applied == Some(LEASE_ADDR)) {
                Some(t) => out.timings.push(("lease again", t.since(back), Duration::from_millis(50))),
                None => panic_msg(w, "no lease after the server came back"),
            }
        }
        // Silent for a while, back before the end: renewed in time, no
        // DISCOVER, nothing else changes.
        1 => {
            let quiet = left.saturating_sub(Duration::from_secs(2)).mul_f64(w.rng.below(100) as f64 / 100.0);
            w.set_dhcp(Dhcp::Silent);
            w.run_for(quiet);
            w.set_dhcp(Dhcp::Answering);
            let back = w.now;
            match w.run_until_pred(end.since(back), |w| lease_end(w, a) > end) {
                Some(t) => out.timings.push(("renewed after silence", t.since(back), end.since(back))),
                None => panic_msg(w, "the lease was not renewed before its end"),
            }
            if !discovers(w, t0).is_empty() || w.activations.len() != seen {
                panic_msg(w, "a DISCOVER or a change of the active during a brief silence");
            }
        }
        // A NAK: the lease is dropped at once and the same address asked
        // for; the server grants it again.
        2 => {
            w.set_dhcp(Dhcp::Refusing);
            match w.run_until_pred(left, |w| !discovers(w, t0).is_empty()) {
                Some(_) => {}
                None => panic_msg(w, "no NAK, or no DISCOVER after it"),
            }
            let (t, r, requested) = discovers(w, t0)[0];
            if r != a || requested != Some(LEASE_ADDR) || w.routers[a].applied.is_some() {
                panic_msg(w, "after a NAK the lease must be dropped and the same address asked for");
            }
            match w.run_until_pred(Duration::from_secs(1), |w| w.routers[a].applied == Some(LEASE_ADDR)) {
                Some(back) => out.timings.push(("lease again after NAK", back.since(t), Duration::from_millis(50))),
                None => panic_msg(w, "no lease after the NAK"),
            }
        }
        // Silent across a failover: the new active applies the lease it
        // heard and renews it; the server comes back before the end.
        _ => {
            w.set_dhcp(Dhcp::Silent);
            w.crash(a);
            let b = w.run_until_pred(left / 2, |w| w.converged() && w.actives()[0] != a).map(|_| w.actives()[0]);
            let Some(b) = b else { panic_msg(w, "no failover") };
            if w.routers[b].applied != Some(LEASE_ADDR) || !discovers(w, t0).is_empty() {
                panic_msg(w, "the new active did not take the lease over as it was");
            }
            w.set_dhcp(Dhcp::Answering);
            w.run_until(end);
            if lease_end(w, b) <= end || !discovers(w, t0).is_empty() {
                panic_msg(w, "the new active did not renew the lease in time");
            }
            w.start(a);
        }
    }
    settle(w, out, "DHCP");
}

/// The active's LAN device loses carrier (one time in four a standby's):
/// it cannot serve, releases the WAN on the WAN path (its control link is
/// the same device), and the best standby takes over at once; the router
/// without its LAN never becomes active ((h), checked on every
/// activation), also when the new active crashes meanwhile; then its LAN
/// comes back.
fn sc_lan_down(w: &mut World, out: &mut Outcome) {
    let n = 2 + w.rng.below(4) as usize;
    boot(w, out, n);
    let phase = w.p.hello * (5 + w.rng.below(20) as u32);
    w.run_for(phase);
    let a = the_active(w);
    let victim = if w.rng.chance(0.25) {
        let standbys: Vec<usize> = (0..n).filter(|&i| i != a).collect();
        *w.rng.pick(&standbys)
    } else {
        a
    };
    if victim == a {
        let Some(best) = w.best_standby() else { panic_msg(w, "no standby") };
        let bound = failover_bound(w);
        let (t0, seen) = (w.now, w.activations.len());
        w.set_lan(a, false);
        if w.routers[a].gate_open(w.now) {
            panic_msg(w, "the active kept its WAN open once its LAN was down");
        }
        let Some(t) = w.run_until_pred(bound * 3, |w| w.routers[best].state() == State::Active) else {
            panic_msg(w, "the best standby did not take over from an active without its LAN")
        };
        if let Some((_, who, _)) = w.activations[seen..].first()
            && *who != best
        {
            panic_msg(w, &format!("r{who} took over, but r{best} was the best standby"));
        }
        out.timings.push(("LAN down: takeover", t.since(t0), bound));
    } else {
        w.set_lan(victim, false);
    }
    if n >= 3 && w.rng.chance(0.3) {
        // The new active crashes: another takes over, never the one
        // without its LAN.
        // A standby whose LAN is down fell silent at the slow pace: the
        // others recheck it when the active is lost (§6.3, (d')).
        let b = the_active(w);
        w.crash(b);
        let bound = converge_bound(w) + recheck_bound(w, 1);
        settle_within(w, out, "crash while a LAN is down", bound);
        w.start(b);
    }
    let d = w.p.hello * (3 + w.rng.below(60) as u32);
    w.run_for(d);
    if w.routers[victim].state().holds_wan() || w.routers[victim].gate_open(w.now) {
        panic_msg(w, "the router without its LAN holds the WAN");
    }
    w.set_lan(victim, true);
    settle(w, out, "LAN back");
}

/// The active's LAN is cut off with its carrier up (a switch between):
/// its control link falls silent both ways while the WAN still joins the
/// routers. Its fatal LAN tracker sees it some rounds later (one time in
/// five it has none, and nothing may change); the active cannot offer the
/// role on the cut link, so it releases the WAN once the offer is not
/// confirmed, or a standby that hears it only on the WAN, saying it must
/// leave, takes over (§6.8). Then the LAN is joined again.
fn sc_lan_cut(w: &mut World, out: &mut Outcome) {
    let n = 2 + w.rng.below(4) as usize;
    boot(w, out, n);
    w.run_for(w.p.preempt_delay + w.p.hello * 20);
    let a = the_active(w);
    let Some(best) = w.best_standby() else { panic_msg(w, "no standby") };
    let noticed = w.rng.chance(0.8);
    let t0 = w.now;
    if noticed {
        w.set_lan_cut(a, true);
    } else {
        w.isolate(a, false, true);
    }
    let detect = w.p.tracker_interval * u32::from(w.p.fall.max(w.p.rise));
    let s = &w.routers[a].settings;
    let bound = detect + s.handover_timeout() + failover_bound(w);
    if noticed {
        let Some(t) = w.run_until_pred(bound * 2, |w| w.routers[best].state() == State::Active && w.converged()) else {
            panic_msg(w, "no standby took over from the active cut off its LAN")
        };
        out.timings.push(("LAN cut: takeover", t.since(t0), bound));
        if w.routers[a].gate_open(w.now) {
            panic_msg(w, "the active cut off its LAN still forwards");
        }
    } else {
        w.run_for(bound);
        if !w.converged() || w.actives() != [a] {
            panic_msg(w, "an unnoticed LAN cut moved the active role");
        }
    }
    let d = w.p.hello * (3 + w.rng.below(60) as u32);
    w.run_for(d);
    if noticed {
        w.set_lan_cut(a, false);
    } else {
        w.heal();
    }
    settle(w, out, "LAN joined again");
}

/// Two standbys that cannot hear each other (one cut off its control
/// link, the WAN still joining it to the active) each believe themselves
/// the best candidate, so each times the crashed active out with the same
/// skew, that of priority 255 (§4.2): both may take over at once, as two
/// standbys of equal priority do. The first to become active is heard on the WAN, and the
/// other aborts its takeover or steps down (§6.2, §6.5): one active
/// within the convergence bound, and (b) holds (the links here have no
/// delay, so the first one's WAN hello arrives before the other opens).
fn sc_blind(w: &mut World, out: &mut Outcome) {
    let n = 3 + w.rng.below(3) as usize;
    boot(w, out, n);
    w.run_for(w.p.preempt_delay + w.p.hello * 20);
    let a = the_active(w);
    let standbys: Vec<usize> = (0..n).filter(|&i| i != a).collect();
    let x = *w.rng.pick(&standbys);
    w.isolate(x, false, true);
    // Long enough for each to count the other dead at the slow pace.
    let (h, m) = (w.p.hello, u32::from(w.p.multiplier));
    w.run_for(h * STANDBY_PACE * (m + 2));
    if the_active(w) != a {
        panic_msg(w, "the active changed while a standby was cut off");
    }
    let blind = [x, w.best_standby_but(x).unwrap_or(x)];
    w.crash(a);
    let (t0, seen) = (w.now, w.activations.len());
    let mut took = Vec::new();
    let bound = failover_bound(w);
    let one = w.run_until_pred(bound * 3, |w| {
        for &i in &blind {
            if matches!(w.routers[i].state(), State::TakingOver | State::Active) && !took.contains(&i) {
                took.push(i);
            }
        }
        w.converged() && w.actives() != [a]
    });
    let Some(t) = one else { panic_msg(w, "no single active after two blind standbys took over") };
    match w.activations[seen..].first() {
        Some((_, who, _)) if blind.contains(who) => {}
        other => panic_msg(w, &format!("{other:?} took over, not one of r{} and r{}", blind[0], blind[1])),
    }
    out.timings.push(("blind standbys: one active", t.since(t0), bound));
    if took.len() == 2 {
        out.timings.push(("blind standbys: both took over, one active", t.since(t0), bound));
    }
    w.heal();
    settle(w, out, "blind standbys joined again");
}

/// One-way loss on a control link: a router's frames out are dropped, or
/// the frames to it, for a while (the active's one time in two). Each
/// still hears the active on the WAN: the active stays, with no second
/// one, and nothing changes once the link is whole again.
fn sc_one_way(w: &mut World, out: &mut Outcome) {
    let n = 2 + w.rng.below(4) as usize;
    boot(w, out, n);
    // Preemption over first: a better standby that cannot hear the
    // active's offers would keep it handing over.
    w.run_for(w.p.preempt_delay + w.p.hello * 20);
    let a = the_active(w);
    let victim = if w.rng.chance(0.5) { a } else { w.rng.below(n as u64) as usize };
    let out_cut = w.rng.chance(0.5);
    let seen = w.activations.len();
    w.cut_one_way(victim, out_cut);
    let d = w.p.hello * (5 + w.rng.below(80) as u32);
    w.run_for(d);
    if !w.converged() || w.actives() != [a] || w.activations.len() != seen {
        panic_msg(w, "a one-way cut moved the active role or made a second active");
    }
    w.heal();
    settle(w, out, "one-way cut healed");
    if w.actives() != [a] {
        panic_msg(w, "the active changed when the one-way cut healed");
    }
}

/// Random faults, then everything healed and restarted.
fn sc_chaos(w: &mut World, out: &mut Outcome) {
    let n = 2 + w.rng.below(4) as usize;
    boot(w, out, n);
    let h = w.p.hello;
    for _ in 0..6 {
        let i = w.rng.below(n as u64) as usize;
        match w.rng.below(10) {
            0 => w.crash(i),
            1 => {
                if w.routers[i].running() {
                    w.hang(i)
                }
            }
            2 => {
                let (wan, control) = (w.rng.chance(0.5), w.rng.chance(0.5));
                w.isolate(i, wan, control)
            }
            3 => {
                w.links[w.rng.below(2) as usize] = Link { loss: 0.2, delay_min: Duration::ZERO, delay_max: h / 10 };
            }
            4 => {
                let _ = w.command(i, Command::StepDown);
            }
            5 => {
                let _ = w.command(i, Command::StepUp);
            }
            7 => w.set_lan(i, false),
            8 => w.set_lan_cut(i, true),
            9 => {
                let out = w.rng.chance(0.5);
                w.cut_one_way(i, out)
            }
            _ => {
                let p = 1 + w.rng.below(254) as u8;
                let _ = w.command(i, Command::SetPriority(p));
            }
        }
        let d = h * (1 + w.rng.below(20) as u32);
        w.run_for(d);
    }
    w.heal();
    for i in 0..n {
        w.set_lan(i, true);
        w.set_lan_cut(i, false);
    }
    // The LAN trackers see their LAN back.
    w.run_for(w.p.tracker_interval * u32::from(w.p.fall.max(w.p.rise)));
    let mut resumed = false;
    for i in 0..n {
        match w.routers[i].proc {
            sim::Proc::Down => w.start(i),
            sim::Proc::Hung => {
                w.resume(i);
                resumed = true;
            }
            sim::Proc::Running => {}
        }
    }
    let bound = if resumed { resume_bound(w) } else { converge_bound(w) };
    settle_within(w, out, "chaos healed", bound);
}

/// A router's WAN port put into its control bridge for over a minute (an
/// operator's change; PROTOCOL.md §2.5): it sends nothing on the tied
/// link, hears the WAN's frames there, and its bridge floods them to the
/// others' control links. Past the peers' expiry (60 s) the others have
/// forgotten a silent tied standby; it must still hear the active, on the
/// WAN path: no role changes while tied (a tied active stays active, its
/// standbys hear it on the WAN). Untied, the routers converge again.
fn sc_tie(w: &mut World, out: &mut Outcome) {
    let n = 2 + w.rng.below(3) as usize;
    boot(w, out, n);
    w.run_for(w.p.preempt_delay + w.p.hello * 20);
    let victim = w.rng.below(n as u64) as usize;
    let seen = w.activations.len();
    w.set_tie(victim, true);
    let tied_for = Duration::from_secs(61 + w.rng.below(30));
    w.run_for(tied_for);
    if w.activations.len() != seen {
        panic_msg(w, &format!("a role changed while r{victim} was tied"));
    }
    w.set_tie(victim, false);
    settle(w, out, "untied");
}

type Scenario = fn(&mut World, &mut Outcome);

/// Each scenario with its seeds: `make test`'s quick share, and `make
/// sim`'s full sweep (`VWRP_SIM_SWEEP=full`).
const SCENARIOS: &[(&str, Scenario, u64, u64)] = &[
    ("cold-start", sc_cold_start, 600, 1000),
    ("crash", sc_crash, 800, 1000),
    ("double", sc_double, 400, 1000),
    ("hang", sc_hang, 800, 1000),
    ("graceful", sc_step, 600, 1000),
    ("preempt", sc_preempt, 600, 1000),
    ("partition", sc_partition, 800, 1000),
    ("loss", sc_loss, 600, 1000),
    ("tracker", sc_tracker, 600, 1000),
    ("dead-upstream", sc_dead_upstream, 400, 600),
    ("chaos", sc_chaos, 1000, 3000),
    ("dhcp", sc_dhcp, 400, 600),
    ("lan-down", sc_lan_down, 400, 4000),
    ("lan-cut", sc_lan_cut, 400, 4000),
    ("one-way", sc_one_way, 400, 3000),
    ("blind", sc_blind, 400, 1000),
    ("tie", sc_tie, 100, 1000),
];

/// Seeds that long sweeps found failing, beyond the quick sweep's range:
/// each runs with its scenario's sweep, so that `make test` replays it.
const REGRESSIONS: &[(&str, u64)] = &[
    // A handover between worse routers restarted a standby's preempt delay.
    ("preempt", 8263),
    // A standby took over at once when the one it saw taking over gave up.
    ("chaos", 23908),
    // Three forwarders: a leaving router's handover and a §6.8 takeover.
    ("chaos", 18013),
    // Two actives offered to one standby after a heal; the one whose
    // offer it did not take forwarded beside it for 198 ms (§6.2).
    ("chaos", 49861),
];

/// The scenarios of issue 14's faults (LAN side of the active, one-way
/// cuts); chaos draws them too.
const LAN_FAULTS: &[&str] = &["lan-down", "lan-cut", "one-way", "chaos"];

/// Scenarios that cut a control link while the WAN still joins the
/// routers: they need WAN hellos (docs/PROTOCOL.md §7.3).
const NEED_WAN_HELLOS: &[&str] = &["partition", "chaos", "lan-cut", "one-way", "blind", "tie"];

fn full_sweep() -> bool {
    std::env::var("VWRP_SIM_SWEEP").is_ok_and(|v| v == "full")
}

fn run_one(name: &str, f: Scenario, seed: u64, verbose: bool) -> Result<Outcome, String> {
    let mut rng = Rng::new(seed.wrapping_mul(0x1000_0001) ^ name.len() as u64);
    let mut p = params(&mut rng);
    if !NEED_WAN_HELLOS.contains(&name) && rng.chance(0.1) {
        p.wan_hello = None;
    }
    let mut w = World::new(seed ^ 0xabcdef, p);
    w.verbose = verbose;
    let mut out = Outcome::default();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        f(&mut w, &mut out);
        w.run_for(w.p.hello * 5);
        if let Some((d, bound)) = w.handover_overlap {
            out.timings.push(("(b) handover overlap", d, bound));
        }
        (w.violations.clone(), w.trace())
    }));
    match r {
        Ok((v, _)) if v.is_empty() => {
            for (what, got, bound) in &out.timings {
                if got > bound {
                    return Err(format!("{what} took {got:?}, bound {bound:?}"));
                }
            }
            Ok(out)
        }
        Ok((v, trace)) => Err(format!("violations: {v:#?}\n--- trace ---\n{trace}")),
        Err(e) => Err(e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()),
    }
}

/// Runs a scenario over its seeds; returns the summary line.
fn run_scenario(name: &str, f: Scenario, runs: u64) -> String {
    if let Ok(spec) = std::env::var("VWRP_SIM_SEED") {
        let (n, s) = spec.split_once(':').expect("VWRP_SIM_SEED=scenario:seed");
        if n != name {
            return String::new();
        }
        let seed: u64 = s.parse().expect("seed is a number");
        if let Err(e) = run_one(name, f, seed, true) {
            panic!("scenario {name} seed {seed}: {e}");
        }
        return format!("{name} seed {seed}: ok");
    }
    // VWRP_SIM_RUNS=N runs N seeds per scenario (for long sweeps).
    let runs = std::env::var("VWRP_SIM_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(runs);
    let mut worst: Vec<(&'static str, Duration, Duration)> = Vec::new();
    let fixed: Vec<u64> = REGRESSIONS.iter().filter(|&&(n, s)| n == name && s >= runs).map(|&(_, s)| s).collect();
    for seed in (0..runs).chain(fixed.iter().copied()) {
        match run_one(name, f, seed, false) {
            Ok(out) => {
                for (what, got, bound) in out.timings {
                    match worst.iter_mut().find(|(w, _, _)| *w == what) {
                        Some(e) => {
                            if got.as_secs_f64() / bound.as_secs_f64() > e.1.as_secs_f64() / e.2.as_secs_f64() {
                                *e = (what, got, bound);
                            }
                        }
                        None => worst.push((what, got, bound)),
                    }
                }
            }
            Err(e) => panic!(
                "scenario {name} seed {seed} failed: {e}\nreplay: VWRP_SIM_SEED={name}:{seed} cargo test --test simulation -- --nocapture"
            ),
        }
    }
    let worst: Vec<String> = worst
        .iter()
        .map(|(w, g, b)| format!("{w} {:.1}/{:.1} ms", g.as_secs_f64() * 1e3, b.as_secs_f64() * 1e3))
        .collect();
    let fixed = if fixed.is_empty() { String::new() } else { format!(" (+{} fixed)", fixed.len()) };
    format!("{name:<14} runs {runs:>4}{fixed}  violations 0  worst vs bound: {}", worst.join("; "))
}

macro_rules! scenario_tests {
    ($($test:ident => $idx:expr),* $(,)?) => {$(
        #[test]
        fn $test() {
            let (name, f, quick, full) = SCENARIOS[$idx];
            let line = run_scenario(name, f, if full_sweep() { full } else { quick });
            if !line.is_empty() {
                println!("simulation: {line}");
            }
        }
    )*};
}

scenario_tests! {
    sim_cold_start => 0,
    sim_crash => 1,
    sim_double => 2,
    sim_hang => 3,
    sim_graceful => 4,
    sim_preempt => 5,
    sim_partition => 6,
    sim_loss => 7,
    sim_tracker => 8,
    sim_dead_upstream => 9,
    sim_chaos => 10,
    sim_dhcp => 11,
    sim_lan_down => 12,
    sim_lan_cut => 13,
    sim_one_way => 14,
    sim_blind => 15,
    sim_tie => 16,
}

/// How many runs the sweep makes, and how many of them with the LAN-side
/// and one-way faults; every scenario above fails on any violation.
#[test]
fn sweep_size() {
    let runs = |s: &(&str, Scenario, u64, u64)| {
        let planned = if full_sweep() { s.3 } else { s.2 };
        std::env::var("VWRP_SIM_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(planned)
    };
    let total: u64 = SCENARIOS.iter().map(runs).sum();
    let lan: u64 = SCENARIOS.iter().filter(|s| LAN_FAULTS.contains(&s.0)).map(runs).sum();
    let full_lan: u64 = SCENARIOS.iter().filter(|s| LAN_FAULTS.contains(&s.0)).map(|s| s.3).sum();
    assert!(SCENARIOS.iter().map(|s| s.2).sum::<u64>() >= 2000);
    assert!(full_lan >= 10_000, "make sim runs the LAN-side and one-way faults {full_lan} times");
    if std::env::var("VWRP_SIM_SEED").is_err() {
        println!(
            "simulation: {} sweep: {total} runs, {lan} of them with LAN-side or one-way faults \
             (lan-down, lan-cut, one-way, chaos); each scenario above: 0 violations",
            if full_sweep() { "full" } else { "quick" }
        );
    }
}
