//! How the engine moves between states: the messages of a handover
//! (OFFER, READY, DONE, RELEASE), the operator's step-up and what became
//! of it, taking over and stepping down, the stall check, and
//! `set_state`, through which every transition goes.

use core::time::Duration;

use super::timers::Timer;
use super::{Action, Engine, HISTORY, Path, Run, State, StepUp, StepUpOutcome, TrackerState, Transition};
use crate::time::{Instant, millis, times};
use crate::wire::{Flags, Handover, HandoverReason, MULTICAST_MAC, Message, MessageType};

impl Engine {
    pub(super) fn on_message(&mut self, now: Instant, idx: usize, m: &Message) {
        let holder = m.state.holds_wan();
        if holder && !self.state.holds_wan() {
            self.learn_lease(now, m);
            if !m.tlvs.lease6.is_empty() {
                self.learn_lease6(now, &m.tlvs.lease6);
            }
            self.peers[idx].lease_seen = m.tlvs.lease4.is_some();
        }
        if let Some(t) = m.tlvs.trackers.filter(|t| holder && t.hold_left > 0) {
            let until = now.plus(Duration::from_secs(u64::from(t.hold_left)));
            let hold = self.timers.get(Timer::Hold).map_or(until, |h| h.max(until));
            self.timers.set(Timer::Hold, hold);
        }
        let from = m.router_id;
        match m.kind {
            MessageType::Hello => self.on_hello(now, idx),
            MessageType::Offer => self.on_offer(now, from, m.tlvs.handover),
            MessageType::Ready => self.on_ready(now, from, m.tlvs.handover),
            MessageType::Done => self.on_done(now, from, m.tlvs.handover),
            MessageType::Release => {
                self.peers[idx].released = true;
                if holder && self.state == State::Standby {
                    // The active left on purpose: no need to wait it out.
                    self.timers.set(Timer::Takeover, now);
                }
            }
        }
    }

    pub(super) fn on_hello(&mut self, now: Instant, idx: usize) {
        let peer = &self.peers[idx];
        let (pid, pclaim, pstate) = (peer.router_id, peer.claim(), peer.state);
        if self.state.holds_wan() && pstate.holds_wan() {
            // Two routers claim the WAN (a partition healed): the better
            // claim keeps it, the other steps down at once.
            if pclaim > self.claim() {
                self.step_down(now, format!("router {pid:#x} also active with a better claim"));
            } else {
                self.send_hellos(now, true);
            }
            return;
        }
        let leaving = self.peers[idx].flags.has(Flags::LEAVING);
        // Another active, or our offerer gave the handover up; or another
        // router handing over: after a partition heals, two actives may
        // both offer us the WAN, and the one whose offer we did not take
        // would forward beside us until we hear it. (One that must leave
        // steps down once it hears us: §6.8.)
        let offerer = self.run.is_some_and(|r| r.peer == pid);
        let other_holder = pstate == State::Active || (pstate == State::HandingOver && !offerer);
        if self.state == State::TakingOver && other_holder && !leaving {
            let what = if pstate == State::Active { "is active" } else { "is handing the WAN over too" };
            self.abort_takeover(now, format!("router {pid:#x} {what}"));
            return;
        }
        // The offerer stopped holding the WAN: its DONE may have been lost.
        let settled =
            self.state == State::TakingOver && !pstate.holds_wan() && self.timers.get(Timer::Prepare).is_none();
        if let Some(r) = self.run.filter(|r| settled && r.peer == pid) {
            self.become_active(now, format!("router {pid:#x} handed over ({})", r.reason.as_str()), true);
        }
    }

    pub(super) fn on_offer(&mut self, now: Instant, from: u32, h: Option<Handover>) {
        let Some(h) = h else { return };
        if h.target != self.s.router_id {
            return;
        }
        match (self.state, self.run) {
            (State::TakingOver, Some(r))
                if r.id == h.id
                // OFFER again: our READY was lost.
                && self.timers.get(Timer::Prepare).is_none() =>
            {
                self.send_to(now, from, MessageType::Ready, Some(h));
            }
            // Only from the one active we know: after a partition heals, a
            // losing active may offer before it hears the winner.
            (State::Standby, _)
                if self.effective_priority() > 0 && !self.shutting_down && !self.other_holder(now, from) =>
            {
                if h.reason == HandoverReason::Tracker {
                    self.timers.set(Timer::Hold, now.plus(self.s.hold_period));
                }
                self.run = Some(Run { id: h.id, peer: from, reason: h.reason, started: now });
                self.timers.stop(Timer::StepUp);
                self.preempt_since = None;
                self.begin_takeover(now, format!("offer from {from:#x} ({})", h.reason.as_str()));
            }
            _ => {}
        }
    }

    pub(super) fn on_ready(&mut self, now: Instant, from: u32, h: Option<Handover>) {
        let Some(h) = h else { return };
        let r = match (self.state, self.run, self.abandoned) {
            (State::HandingOver, Some(r), _) => r,
            // We gave up waiting, but the target did open its WAN: finish
            // the handover rather than leave two routers forwarding.
            (State::Active, None, Some(r)) => r,
            _ => return,
        };
        if r.id != h.id || r.peer != from {
            return;
        }
        self.abandoned = None;
        // Make before break: the target's WAN is open, now close ours.
        self.close_wan();
        self.run = None;
        self.set_state(now, State::Standby, format!("handed over to {from:#x} ({})", r.reason.as_str()));
        // DONE carries our new state, so the target counts us as a standby.
        self.send_to(now, from, MessageType::Done, Some(h));
        if self.shutting_down {
            self.finish_shutdown(now);
        }
    }

    pub(super) fn on_done(&mut self, now: Instant, from: u32, h: Option<Handover>) {
        let (Some(h), Some(r)) = (h, self.run) else { return };
        if self.state == State::TakingOver
            && r.id == h.id
            && r.peer == from
            && self.timers.get(Timer::Prepare).is_none()
        {
            self.become_active(now, format!("handover from {from:#x} ({})", r.reason.as_str()), true);
        }
    }

    /// The active whose permission lapsed while we were not running (the
    /// process was stopped or starved) must assume a standby took over.
    /// It listens until such a standby must have been heard: the latest a
    /// standby declares it dead (m hellos of the slowest path and a skew,
    /// under one hello, after its last hello), prepares, and sends its
    /// first hellos as the new active, which may reach us on the WAN only.
    pub(super) fn check_stall(&mut self, now: Instant) {
        if self.wan_open && now.since(self.last_refresh) > self.s.permit_timeout() {
            // u64, not Duration::as_millis()'s u128: its Display costs 2 KB.
            let ms = now.as_micros().saturating_sub(self.last_refresh.as_micros()) / 1000;
            self.counters.stalls = self.counters.stalls.saturating_add(1);
            self.close_wan();
            self.run = None;
            self.timers.stop(Timer::Prepare);
            let h = self.s.slowest_hello();
            let heard_by = self
                .last_refresh
                .plus(times(h, u32::from(self.s.dead_multiplier).saturating_add(2)))
                .plus(self.s.prepare_timeout);
            self.timers.set(Timer::Listen, now.plus(self.own_dead_interval()).max(heard_by));
            self.set_state(now, State::Init, format!("stalled {ms} ms: forwarding permission lapsed"));
        }
    }

    /// The operator's step-up; what became of it is kept for status.
    pub(super) fn step_up(&mut self, now: Instant) -> Result<(), &'static str> {
        let (outcome, reason) = match self.state {
            State::Active => (StepUpOutcome::Done, "already active".to_string()),
            State::TakingOver => (StepUpOutcome::Pending, "already taking the WAN over".into()),
            State::HandingOver => {
                let to = self.run.map_or(0, |r| r.peer);
                (StepUpOutcome::Failed, format!("handing the WAN over to {to:#x}: step up again once it is done"))
            }
            State::Fault | State::Init => {
                let e = if self.state == State::Fault {
                    "cannot forward: fatal tracker or WAN link down"
                } else {
                    "starting up: still listening for the active router"
                };
                self.step_up = Some(StepUp { at: now, outcome: StepUpOutcome::Failed, reason: e.into() });
                return Err(e);
            }
            State::Standby => {
                self.preempt_suppressed = false;
                match self.holder_or_pending(now) {
                    Some(h) => {
                        let holder = self.peers[h].router_id;
                        self.timers.set(Timer::StepUp, now.plus(times(self.s.handover_timeout(), 2)));
                        self.send_hellos(now, true);
                        (StepUpOutcome::Pending, format!("asked router {holder:#x} to hand the WAN over"))
                    }
                    None => {
                        self.begin_takeover(now, "operator step-up, no active".into());
                        (StepUpOutcome::Pending, "no active router: taking the WAN over".into())
                    }
                }
            }
        };
        self.step_up = Some(StepUp { at: now, outcome, reason });
        Ok(())
    }

    /// Ends a pending step-up.
    pub(super) fn settle_step_up(&mut self, now: Instant, outcome: StepUpOutcome, reason: String) {
        if self.step_up.as_ref().is_some_and(|s| s.outcome == StepUpOutcome::Pending) {
            self.step_up = Some(StepUp { at: now, outcome, reason });
        }
    }

    /// Why a step-up asked of the active router came to nothing.
    pub(super) fn step_up_unanswered(&self, now: Instant) -> String {
        let waited = millis(times(self.s.handover_timeout(), 2));
        match self.state {
            State::Fault => "this router cannot forward now: a fatal tracker or the WAN link is down".into(),
            State::Init => "this router is listening for the active router again".into(),
            _ => match self.holder_or_pending(now).map(|h| &self.peers[h]) {
                Some(p) if p.state == State::Active => {
                    let key = match self.s.keys.signing_key() {
                        Some(k) => format!("that it has this router's key {}", k.id),
                        None => "that it has no key either".into(),
                    };
                    format!(
                        "router {:#x} did not hand the WAN over within {waited} ms: it does not seem to hear this \
                         router. Check {key}, and that the control links connect the two",
                        p.router_id
                    )
                }
                Some(p) => format!("router {:#x} was busy with another handover", p.router_id),
                None => "the active router went away; this router takes over if it is the best".into(),
            },
        }
    }

    pub(super) fn offer(&mut self, now: Instant, target: usize, reason: HandoverReason) {
        let tid = self.peers[target].router_id;
        self.runs_started = self.runs_started.wrapping_add(1);
        let id = self.epoch.rotate_left(16) ^ self.runs_started;
        if reason == HandoverReason::Tracker {
            self.timers.set(Timer::Hold, now.plus(self.s.hold_period));
        }
        self.run = Some(Run { id, peer: tid, reason, started: now });
        self.abandoned = None;
        self.set_state(now, State::HandingOver, format!("offering the WAN to {tid:#x} ({})", reason.as_str()));
        self.send_to(now, tid, MessageType::Offer, Some(Handover { target: tid, id, reason }));
    }

    pub(super) fn begin_takeover(&mut self, now: Instant, reason: String) {
        self.timers.stop(Timer::Takeover);
        self.preempt_since = None;
        self.timers.set(Timer::Prepare, now.plus(self.s.prepare_timeout));
        self.set_state(now, State::TakingOver, reason);
        self.actions.push_back(Action::Prepare);
    }

    /// Conntrack is committed (or we gave up waiting): apply the lease,
    /// open the WAN, announce; then READY (graceful) or active (hard).
    pub(super) fn finish_prepare(&mut self, now: Instant) {
        self.timers.stop(Timer::Prepare);
        if self.lease.as_ref().is_some_and(|l| l.is_valid(now)) {
            self.apply_lease(now);
        }
        self.apply_lease6(now);
        self.refresh_permit(now);
        self.actions.push_back(Action::Announce);
        self.advertise(now);
        match self.run {
            Some(mut r) => {
                // Wait for DONE from now on, however long preparing took.
                r.started = now;
                self.run = Some(r);
                let h = Handover { target: self.s.router_id, id: r.id, reason: r.reason };
                self.send_to(now, r.peer, MessageType::Ready, Some(h));
            }
            None => self.become_active(now, self.reason.clone(), false),
        }
    }

    pub(super) fn become_active(&mut self, now: Instant, reason: String, announce: bool) {
        if self.run.take().is_some() {
            self.counters.handovers = self.counters.handovers.saturating_add(1);
        } else {
            self.counters.takeovers = self.counters.takeovers.saturating_add(1);
        }
        self.timers.stop(Timer::StepUp);
        self.settle_step_up(now, StepUpOutcome::Done, reason.clone());
        self.set_state(now, State::Active, reason);
        if announce {
            // The old active's last frames may have pulled the switch back.
            self.actions.push_back(Action::Announce);
            self.advertise(now);
        }
        self.timers.set_to(Timer::Nudge, self.s.nudge_interval.map(|n| now.plus(n)));
        self.timers.set_to(Timer::LanAnnounce, self.s.lan_announce_interval.map(|n| now.plus(n)));
        if self.lease.as_ref().is_some_and(|l| l.is_valid(now)) {
            // Confirm with the server in the background; we already forward.
            self.timers.set(Timer::Renew, now);
        } else {
            self.acquire(now);
        }
        if self.lease6.as_ref().is_some_and(|b| b.is_valid(now)) {
            self.timers.set(Timer::Renew6, now);
        } else {
            self.acquire6(now);
        }
        self.send_hellos(now, true);
        if let Some(iv) = self.s.wan_hello() {
            self.send_wan_hello(now);
            // On the control hellos' tick grid: a standby counts its dead
            // interval from the later of the two paths, so out-of-phase
            // WAN hellos would stretch every failover by the phase gap.
            let hello = self.timers.get(Timer::Hello).unwrap_or(now);
            self.timers.set(Timer::WanHello, hello.plus(iv.saturating_sub(self.s.hello_interval)));
        }
    }

    /// Leaves the active role without a handover, because it must and no
    /// standby can be offered the role: RELEASE on the WAN (from the shared
    /// MAC) and on the control links while still holding the WAN, so that
    /// standbys take over at once, then the WAN closed (§5.7).
    pub(super) fn release(&mut self, now: Instant, reason: String) {
        self.send_wan(now, MessageType::Release);
        for i in 0..self.s.control_macs.len() {
            self.send(now, Path::Control(i as u8), MULTICAST_MAC, MessageType::Release, None);
        }
        self.close_wan();
        self.run = None;
        self.abandoned = None;
        self.counters.releases = self.counters.releases.saturating_add(1);
        // Closing the WAN makes the upstream trackers unknown (set_state).
        if self.effective_with(true) == 0 {
            self.set_state(now, State::Fault, reason);
        } else {
            self.enter_standby(now, &reason);
        }
    }

    pub(super) fn step_down(&mut self, now: Instant, reason: String) {
        self.close_wan();
        self.run = None;
        self.enter_standby(now, &reason);
        self.send_hellos(now, true);
    }

    pub(super) fn abort_takeover(&mut self, now: Instant, reason: String) {
        self.settle_step_up(now, StepUpOutcome::Failed, reason.clone());
        self.counters.handovers_aborted = self.counters.handovers_aborted.saturating_add(1);
        self.timers.stop(Timer::Prepare);
        self.step_down(now, reason);
    }

    pub(super) fn enter_standby(&mut self, now: Instant, reason: &str) {
        self.timers.set(Timer::Takeover, now.plus(self.own_dead_interval()));
        self.set_state(now, State::Standby, reason.into());
    }

    pub(super) fn finish_shutdown(&mut self, now: Instant) {
        let holder = self.state.holds_wan();
        self.run = None;
        self.timers.stop(Timer::Prepare);
        if holder {
            self.send_wan(now, MessageType::Release);
        }
        self.close_wan();
        // The address and routes go with the fence closed: a stopped
        // router (one being removed, too) must not keep the shared
        // address for whoever opens its WAN next.
        self.withdraw_lease();
        for i in 0..self.s.control_macs.len() {
            self.send(now, Path::Control(i as u8), MULTICAST_MAC, MessageType::Release, None);
        }
        if self.state != State::Standby {
            self.set_state(now, State::Standby, "shutting down".into());
        }
        self.exited = true;
        self.actions.push_back(Action::Exit);
    }

    pub(super) fn close_wan(&mut self) {
        if self.wan_open || self.state.holds_wan() || self.state == State::TakingOver {
            self.actions.push_back(Action::CloseWan);
            self.actions.push_back(Action::DropLanGateway);
            self.actions.push_back(Action::StopDhcp);
        }
        self.withdraw_lease6();
        for t in [Timer::Retransmit, Timer::Retransmit6, Timer::Renew6, Timer::Advert] {
            self.timers.stop(t);
        }
        self.wan_open = false;
    }

    pub(super) fn refresh_permit(&mut self, now: Instant) {
        self.wan_open = true;
        self.last_refresh = now;
        self.actions.push_back(Action::RefreshPermit { timeout: self.s.permit_timeout() });
    }

    pub(super) fn set_state(&mut self, now: Instant, to: State, reason: String) {
        let from = self.state;
        if from == to && self.reason == reason {
            return;
        }
        if from.holds_wan() && !to.holds_wan() {
            // Upstream probes say nothing once the WAN is closed.
            for (spec, st) in self.s.trackers.iter().zip(self.trackers.iter_mut()) {
                if spec.wan_only {
                    *st = TrackerState::Unknown;
                }
            }
        }
        if matches!(to, State::Init | State::Active) && from != to {
            // Everyone hears a newcomer or a new active at once, even
            // peers that do not know our MAC yet (and under loss).
            self.timers.set(Timer::Burst, now.plus(self.own_dead_interval()));
        }
        self.state = to;
        self.since = now;
        self.reason = reason.clone();
        self.counters.transitions = self.counters.transitions.saturating_add(1);
        if self.history.len() >= HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(Transition { at: now, from, to, reason: reason.clone() });
        self.actions.push_back(Action::Transition { from, to, reason });
        if from != to && matches!(to, State::Active | State::Standby | State::Fault) {
            self.actions.push_back(Action::RunHooks(to));
        }
    }
}
