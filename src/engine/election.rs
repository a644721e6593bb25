//! Who should hold the WAN: priorities and claims, the peers that count,
//! and `evaluate`, which moves the state machine on whenever anything
//! happened (a frame, a timeout, a tracker, a command).

use core::time::Duration;

use super::peer::skew;
use super::timers::Timer;
use super::{Action, Engine, PEER_EXPIRY, State, StepUpOutcome, TrackerState, Weight};
use crate::time::Instant;
use crate::wire::{Flags, HandoverReason};

impl Engine {
    /// Priority minus the penalties of failed trackers; 0 means "cannot
    /// forward" (fatal tracker down or WAN link down). `ignore_wan_only`
    /// leaves out trackers that judge the upstream (used during the
    /// anti-flap hold).
    pub(super) fn effective_with(&self, ignore_wan_only: bool) -> u8 {
        if !self.wan_link_up {
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

    /// Dead interval for our own hello settings: used for the start-up
    /// listen and for "nobody is active" waits.
    pub(super) fn own_dead_interval(&self) -> Duration {
        let h = self.s.hello_interval;
        h.saturating_mul(u32::from(self.s.dead_multiplier)).saturating_add(skew(h, self.skew_num()))
    }

    pub(super) fn hold_running(&self, now: Instant) -> bool {
        self.timers.is_pending(Timer::Hold, now)
    }

    pub(super) fn evaluate(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.exited {
            return;
        }
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
                } else if let Some(h) = self.holder_or_pending(now) {
                    self.timers.stop(Timer::Takeover);
                    let h = &self.peers[h];
                    let better = self.claim() > h.claim() && h.state.holds_wan();
                    if self.s.preempt && !self.preempt_suppressed && better {
                        self.preempt_since.get_or_insert(now);
                    } else {
                        self.preempt_since = None;
                    }
                } else {
                    self.preempt_since = None;
                    let at = self.timers.get_or_set(Timer::Takeover, now);
                    if now >= at && self.is_best_candidate(now) {
                        self.begin_takeover(now, "active router lost".into());
                    }
                }
            }
            State::Fault => {
                if eff > 0 {
                    self.enter_standby(now, "can forward again");
                }
            }
            State::TakingOver => {
                let timeout = self.s.handover_timeout();
                let expired =
                    self.run.filter(|r| self.timers.get(Timer::Prepare).is_none() && now >= r.started.plus(timeout));
                if let Some(r) = expired {
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
                    let target_alive = self.peers.iter().any(|p| p.router_id == r.peer && p.is_alive(now, skew_num));
                    if !target_alive || now >= r.started.plus(self.s.handover_timeout()) {
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
    }

    pub(super) fn evaluate_active(&mut self, now: Instant) {
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
    }

    /// Index of an alive peer holding the WAN, or about to.
    pub(super) fn holder_or_pending(&self, now: Instant) -> Option<usize> {
        let skew_num = self.skew_num();
        self.peers.iter().position(|p| {
            p.is_alive(now, skew_num) && matches!(p.state, State::Active | State::HandingOver | State::TakingOver)
        })
    }

    /// Is an alive router other than `except` holding the WAN?
    pub(super) fn other_holder(&self, now: Instant, except: u32) -> bool {
        let skew_num = self.skew_num();
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
