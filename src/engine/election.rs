//! Who should hold the WAN: priorities and claims, the peers that count,
//! and `evaluate`, which moves the state machine on whenever anything
//! happened (a frame, a timeout, a tracker, a command).

use core::time::Duration;

use super::peer::{Peer, skew};
use super::timers::Timer;
use super::{Action, Engine, PEER_EXPIRY, Path, State, StepUpOutcome, TrackerState, Weight};
use crate::time::{Instant, times};
use crate::wire::{Flags, HandoverReason};

/// `skew_num` of priority 255: the best candidate's skew for holders.
const BEST_SKEW_NUM: u32 = 256 - 255;

impl Engine {
    /// Priority minus the penalties of failed trackers; 0 means "cannot
    /// forward" (fatal tracker down, WAN link down, or the LAN lost).
    /// `ignore_wan_only` leaves out trackers that judge the upstream (used
    /// during the anti-flap hold).
    pub(super) fn effective_with(&self, ignore_wan_only: bool) -> u8 {
        if !self.wan_link_up || !self.lan_up {
            return 0;
        }
        let mut p = self.priority();
        for (spec, st) in self.s.trackers.iter().zip(&self.trackers) {
            if *st != TrackerState::Down || (ignore_wan_only && spec.wan_only) {
                continue;
            }
            match spec.weight {
                Weight::Fatal => return 0,
                Weight::Penalty(w) => p = p.saturating_sub(w),
            }
        }
        p.max(1)
    }

    pub(super) fn claim(&self) -> (u8, u32) {
        (self.effective_priority(), self.s.router_id)
    }

    pub(super) fn skew_num(&self) -> u32 {
        256u32.saturating_sub(u32::from(self.effective_priority()))
    }

    /// The skew by which this router times out a peer that holds the WAN
    /// or is taking over (§4.2): while it waits in Init or Standby as the
    /// best candidate it knows of, that of priority 255, the least there
    /// is: no better standby needs time to be heard first, and the sliver
    /// left keeps a hello due at m × H itself from coming too late. Its own
    /// skew otherwise. "Best" is judged with the ordinary skew (candidates'
    /// liveness), so the two do not depend on each other.
    pub(super) fn holder_skew_num(&self, now: Instant) -> u32 {
        let waiting = matches!(self.state, State::Init | State::Standby);
        if waiting && self.is_best_candidate(now) { BEST_SKEW_NUM } else { self.skew_num() }
    }

    /// The skew by which this router times `p` out: `holder_skew_num` is
    /// given if `p` holds the WAN or is taking over, `skew_num` otherwise.
    pub(super) fn skew_num_of(p: &Peer, holder_skew_num: u32, skew_num: u32) -> u32 {
        if holds_or_takes(p) { holder_skew_num } else { skew_num }
    }

    /// Dead interval for our own hello settings, on the slowest path (the
    /// WAN hellos' pace included, so that a router cut off on its control
    /// links still hears an active there): used for the start-up listen
    /// and for "nobody is active" waits.
    pub(super) fn own_dead_interval(&self) -> Duration {
        let h = self.s.slowest_hello();
        times(h, u32::from(self.s.dead_multiplier)).saturating_add(skew(h, self.skew_num()))
    }

    /// Cannot serve and may not stay active: effective priority 0 for a
    /// reason the anti-flap hold does not suspend (the LAN or the WAN link
    /// lost, a fatal tracker down; an upstream one only outside a hold).
    pub(super) fn must_leave(&self, now: Instant) -> bool {
        self.effective_with(false) == 0 && (!self.hold_running(now) || self.effective_with(true) == 0)
    }

    /// Can a handover message reach this peer: is it alive on a control
    /// path whose device has carrier?
    pub(super) fn reachable(&self, now: Instant, p: &Peer) -> bool {
        let skew_num = self.skew_num();
        self.control_up.iter().enumerate().any(|(i, up)| *up && p.is_alive_on(now, Path::Control(i as u8), skew_num))
    }

    /// A peer that holds the WAN but says it must leave, and is heard on
    /// the WAN only: its control links are cut, so it cannot hand over to
    /// us; we take over as if it were gone (§6.8).
    pub(super) fn leaving_out_of_reach(&self, now: Instant, p: &Peer) -> bool {
        let skew_num = self.holder_skew_num(now);
        p.state.holds_wan()
            && p.flags.has(Flags::LEAVING)
            && !p.contacts.iter().any(|c| c.path != Path::Wan && p.is_alive_on(now, c.path, skew_num))
    }

    pub(super) fn hold_running(&self, now: Instant) -> bool {
        self.timers.is_pending(Timer::Hold, now)
    }

    pub(super) fn evaluate(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.exited {
            return;
        }
        // Whatever woke us (a link event, a tracker), a lapsed permit
        // comes first.
        self.check_stall(now);
        let skew_num = self.skew_num();
        self.peers.retain(|p| p.last_heard().is_some_and(|t| now.since(t) < PEER_EXPIRY));
        self.refused.retain(|r| now.since(r.last_heard) < PEER_EXPIRY);
        if self.timers.is_due(Timer::StepUp, now) {
            self.timers.stop(Timer::StepUp);
            if self.state != State::TakingOver {
                let why = self.step_up_unanswered(now);
                self.settle_step_up(now, StepUpOutcome::Failed, why);
            }
        }
        let eff = self.effective_priority();
        match self.state {
            State::Init => {
                if self.holder_or_pending(now).is_some() {
                    self.enter_standby(now, "heard the active");
                } else if self.timers.is_due(Timer::Listen, now) {
                    if eff == 0 {
                        self.set_state(now, State::Fault, "cannot forward".into());
                    } else if self.is_best_candidate(now) {
                        self.begin_takeover(now, "no active router after start-up listen".into());
                    } else {
                        self.enter_standby(now, "a better router is present");
                    }
                }
            }
            State::Standby => {
                if eff == 0 {
                    self.set_state(now, State::Fault, "cannot forward".into());
                } else if self.holder_or_pending(now).is_some() {
                    self.timers.stop(Timer::Takeover);
                    self.end_recheck();
                    if self.s.preempt && !self.preempt_suppressed && self.beats_every_holder(now) {
                        self.preempt_since.get_or_insert(now);
                    } else {
                        self.preempt_since = None;
                    }
                } else {
                    self.preempt_since = None;
                    self.begin_recheck(now);
                    let at = self.timers.get_or_set(Timer::Takeover, now);
                    if now >= at && self.is_best_candidate(now) {
                        let skew_num = self.holder_skew_num(now);
                        let leaving =
                            self.peers.iter().find(|p| p.is_alive(now, skew_num) && self.leaving_out_of_reach(now, p));
                        let why = match leaving {
                            Some(p) => format!("router {:#x} must leave and is heard on the WAN only", p.router_id),
                            None => "active router lost".into(),
                        };
                        self.begin_takeover(now, why);
                    }
                }
            }
            State::Fault => {
                if eff > 0 {
                    self.enter_standby(now, "can forward again");
                }
            }
            State::TakingOver if eff == 0 => self.abort_takeover(now, "cannot forward".into()),
            State::TakingOver => {
                let prepared = self.timers.get(Timer::Prepare).is_none();
                let timeout = self.s.handover_timeout();
                let expired = self.run.filter(|r| prepared && now >= r.started.plus(timeout));
                if let Some(r) = self.run.filter(|r| prepared && self.released(r.peer)) {
                    // The offerer could not wait for READY (it must leave,
                    // and released the WAN): no DONE will come.
                    self.become_active(now, format!("router {:#x} released the WAN", r.peer), true);
                } else if let Some(r) = expired {
                    let offerer_holds = self
                        .peers
                        .iter()
                        .any(|p| p.router_id == r.peer && p.state.holds_wan() && p.is_alive(now, skew_num));
                    if offerer_holds {
                        self.abort_takeover(now, format!("router {:#x} did not confirm the handover", r.peer));
                    } else {
                        self.become_active(now, format!("router {:#x} went silent during handover", r.peer), true);
                    }
                }
            }
            State::Active => self.evaluate_active(now),
            State::HandingOver => {
                if let Some(r) = self.run {
                    let target = self.peers.iter().find(|p| p.router_id == r.peer);
                    let target_alive = target.is_some_and(|p| p.is_alive(now, skew_num));
                    let target_reachable = target.is_some_and(|p| self.reachable(now, p));
                    let timed_out = now >= r.started.plus(self.s.handover_timeout());
                    if self.must_leave(now) && (timed_out || !target_reachable) {
                        // Never back to active while it cannot serve: the
                        // target may have opened its WAN, and others may
                        // take over. Release, so they do so at once.
                        self.release(
                            now,
                            format!("handover to {:#x} not confirmed and this router must leave", r.peer),
                        );
                        if self.shutting_down {
                            self.finish_shutdown(now);
                        }
                    } else if !target_alive || timed_out {
                        self.counters.handovers_aborted = self.counters.handovers_aborted.saturating_add(1);
                        self.run = None;
                        self.abandoned = Some(r);
                        self.set_state(now, State::Active, format!("handover to {:#x} not confirmed", r.peer));
                        if self.shutting_down {
                            self.finish_shutdown(now);
                        }
                    }
                }
            }
        }
        self.evaluate_lease(now);
        self.evaluate_lease6(now);
        self.speak_on_change(now);
    }

    /// A standby lost the active: its peers that speak at the slow pace
    /// may be dead too (the best standby may have died with the active).
    /// Each counts as dead unless heard within one dead interval of the
    /// fast pace from now; the live ones, which lost the active too, say
    /// so at once, at the fast pace (§6.3).
    fn begin_recheck(&mut self, now: Instant) {
        if self.rechecking {
            return;
        }
        self.rechecking = true;
        let h = self.s.hello_interval;
        let by = now.plus(times(h, u32::from(self.s.dead_multiplier)).saturating_add(skew(h, self.skew_num())));
        for p in &mut self.peers {
            p.recheck_by(by);
        }
    }

    /// An active is heard again: every peer's frames time it out again.
    fn end_recheck(&mut self) {
        if self.rechecking {
            self.rechecking = false;
            for p in &mut self.peers {
                p.end_recheck();
            }
        }
    }

    pub(super) fn evaluate_active(&mut self, now: Instant) {
        if self.must_leave(now) && self.leave(now) {
            return;
        }
        let hold = self.hold_running(now);
        let eff = self.effective_with(false);
        let eff_hold = self.effective_with(true);
        let mine = (if hold { eff_hold } else { eff }, self.s.router_id);
        if let Some(t) = self.best_standby(now) {
            let tp = &self.peers[t];
            let tclaim = tp.claim();
            // A failed tracker makes us worse than a standby; during the
            // hold only a fatal, non-upstream failure may move us.
            let tracker_move = eff < self.priority() && tclaim > (eff, self.s.router_id) && (!hold || eff_hold == 0);
            if tracker_move {
                self.offer(now, t, HandoverReason::Tracker);
                return;
            }
        }
        // Preemption: the best standby that asks for it and beats us (the
        // best standby overall may have preemption off).
        let skew_num = self.skew_num();
        if let Some(t) = self
            .peers
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.state == State::Standby
                    && p.is_alive(now, skew_num)
                    && p.flags.has(Flags::WANT_PREEMPT)
                    && p.claim() > mine
            })
            .max_by_key(|(_, p)| p.claim())
            .map(|(i, _)| i)
        {
            self.offer(now, t, HandoverReason::Preempt);
            return;
        }
        // The operator may ask any standby to step up, not just the best.
        if let Some(t) = self.peers.iter().position(|p| {
            p.state == State::Standby
                && p.is_alive(now, self.skew_num())
                && p.flags.has(Flags::WANT_STEP_UP)
                && p.effective_priority > 0
        }) {
            self.offer(now, t, HandoverReason::Operator);
            return;
        }
        if let Some(n) = self.s.nudge_interval.filter(|_| self.timers.is_due(Timer::Nudge, now)) {
            self.timers.set(Timer::Nudge, now.plus(n));
            self.actions.push_back(Action::Nudge);
        }
        let lan = self.s.lan_announce_interval.filter(|_| self.timers.is_due(Timer::LanAnnounce, now));
        if let Some(n) = lan {
            self.timers.set(Timer::LanAnnounce, now.plus(n));
            self.actions.push_back(Action::AnnounceLan);
        }
    }

    /// An active that cannot serve hands over on whatever path still
    /// works: to the best standby it can reach on a control link; else,
    /// if a standby is alive (so heard until the control links went down),
    /// it releases the WAN, which standbys hear on the WAN; else it stays,
    /// its frames saying it is leaving, until a standby takes over (§5.7).
    fn leave(&mut self, now: Instant) -> bool {
        let reachable = self
            .peers
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == State::Standby && p.effective_priority > 0 && self.reachable(now, p))
            .max_by_key(|(_, p)| p.claim())
            .map(|(i, _)| i);
        if let Some(t) = reachable {
            self.offer(now, t, HandoverReason::Tracker);
        } else if self.best_standby(now).is_some() {
            self.release(now, "cannot serve, and no standby reachable on a control link".into());
        } else {
            return false;
        }
        true
    }

    /// Did this peer say goodbye (RELEASE) and stay silent since?
    pub(super) fn released(&self, router_id: u32) -> bool {
        self.peers.iter().any(|p| p.router_id == router_id && p.released)
    }

    /// Index of an alive peer holding the WAN, or about to. A holder that
    /// must leave and is heard on the WAN only does not count (§6.8).
    pub(super) fn holder_or_pending(&self, now: Instant) -> Option<usize> {
        let skew_num = self.holder_skew_num(now);
        self.peers
            .iter()
            .position(|p| holds_or_takes(p) && p.is_alive(now, skew_num) && !self.leaving_out_of_reach(now, p))
    }

    /// Our claim beats that of every alive peer holding the WAN or taking
    /// it over (§5.4): a handover between two of them keeps the preempt
    /// delay running, whichever end we hear from first.
    fn beats_every_holder(&self, now: Instant) -> bool {
        let skew_num = self.holder_skew_num(now);
        let mine = self.claim();
        self.peers
            .iter()
            .filter(|p| holds_or_takes(p) && p.is_alive(now, skew_num) && !self.leaving_out_of_reach(now, p))
            .all(|p| mine > p.claim())
    }

    /// Is an alive router other than `except` holding the WAN?
    pub(super) fn other_holder(&self, now: Instant, except: u32) -> bool {
        let skew_num = self.holder_skew_num(now);
        self.peers.iter().any(|p| p.router_id != except && p.state.holds_wan() && p.is_alive(now, skew_num))
    }

    /// The alive standby with the best claim.
    pub(super) fn best_standby(&self, now: Instant) -> Option<usize> {
        let skew_num = self.skew_num();
        self.peers
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == State::Standby && p.effective_priority > 0 && p.is_alive(now, skew_num))
            .max_by_key(|(_, p)| p.claim())
            .map(|(i, _)| i)
    }

    /// No alive candidate (init or standby) has a better claim than ours.
    pub(super) fn is_best_candidate(&self, now: Instant) -> bool {
        let skew_num = self.skew_num();
        let mine = self.claim();
        mine.0 > 0 && !self.peers.iter().any(|p| p.is_candidate() && p.is_alive(now, skew_num) && p.claim() > mine)
    }
}

/// The peer holds the WAN or is taking it over: a holder or pending peer.
fn holds_or_takes(p: &Peer) -> bool {
    matches!(p.state, State::Active | State::HandingOver | State::TakingOver)
}
