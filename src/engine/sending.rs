//! What the engine sends: hellos on every path (multicast or unicast),
//! handover messages to one router, each frame with its own sequence
//! number, built from the engine's state.

use core::time::Duration;

use super::settings::may_speak_slowly;
use super::timers::Timer;
use super::{Action, DISCOVERY_INTERVAL, Engine, Path, Said, Settings, State, TrackerState, Weight};
use crate::time::Instant;
use crate::wire::{self, Flags, Handover, Lease6, MULTICAST_MAC, Mac, Message, MessageType, Tlvs, TrackerSummary};

/// Frame buffers kept for reuse: a hello round's copies and a handover
/// message or two.
const SPARE_FRAMES: usize = 2 * super::MAX_PEERS + 4;

impl Engine {
    pub(super) fn hello_tick(&mut self, now: Instant) {
        if self.wan_open {
            self.refresh_permit(now);
        }
        self.send_hellos(now, false);
        // Retransmit the handover message the other end may have missed.
        if let Some(r) = self.run {
            let h = Handover {
                target: if self.state == State::HandingOver { r.peer } else { self.s.router_id },
                id: r.id,
                reason: r.reason,
            };
            match self.state {
                State::HandingOver => self.send_to(now, r.peer, MessageType::Offer, Some(h)),
                State::TakingOver if self.timers.get(Timer::Prepare).is_none() => {
                    self.send_to(now, r.peer, MessageType::Ready, Some(h))
                }
                _ => {}
            }
        }
    }

    /// The message to send, in the buffer the last one used (its leases'
    /// lists and client id are reused, not allocated anew); give it back
    /// with `self.tx = Some(msg)` once emitted.
    pub(super) fn message(
        &mut self,
        now: Instant,
        kind: MessageType,
        wan: bool,
        handover: Option<Handover>,
    ) -> Message {
        let mut flags = self.claim_flags(now);
        if wan {
            flags |= Flags::WAN;
        }
        // Not a claim (no round when it changes): the fence renews the
        // permission from the WAN frames that carry it (§4.4).
        if self.wan_open {
            flags |= Flags::FORWARDING;
        }
        let hello = if wan { self.s.wan_hello().unwrap_or(self.s.hello_interval) } else { self.control_pace(now) };
        let mut m = self.tx.take().unwrap_or_else(|| Message {
            kind,
            group: 0,
            state: self.state,
            router_id: 0,
            priority: 0,
            effective_priority: 0,
            flags: Flags(0),
            dead_multiplier: 0,
            hello_interval: 0,
            epoch: 0,
            seq: 0,
            tlvs: Tlvs::default(),
        });
        (m.kind, m.group, m.state, m.router_id) = (kind, self.s.group, self.state, self.s.router_id);
        (m.priority, m.effective_priority, m.flags) = (self.priority(), self.effective_priority(), Flags(flags));
        (m.dead_multiplier, m.hello_interval) = (self.s.dead_multiplier, Settings::wire_ms(hello));
        (m.epoch, m.seq) = (self.epoch, 0);
        let holder = self.state.holds_wan();
        let t = &mut m.tlvs;
        match (self.lease.as_ref().filter(|l| holder && l.is_valid(now)), &mut t.lease4) {
            (Some(l), Some(out)) => l.at_into(now, out),
            (Some(l), slot) => *slot = Some(l.at(now)),
            (None, slot) => *slot = None,
        }
        match (&t.lease4, &mut t.client_id) {
            (Some(_), Some(c)) => {
                c.clear();
                c.extend_from_slice(self.client_id_ref());
            }
            (Some(_), slot) => *slot = Some(self.client_id()),
            (None, slot) => *slot = None,
        }
        match self.lease6.as_ref().filter(|_| holder) {
            Some(b) => b.at_into(now, &mut t.lease6),
            None => t.lease6 = Lease6::default(),
        }
        let summary = self.tracker_summary(now);
        t.trackers = (summary.total > 0 || summary.hold_left > 0).then_some(summary);
        t.handover = handover;
        m
    }

    /// The flags that say what this router wants or must do.
    fn claim_flags(&self, now: Instant) -> u8 {
        let mut flags = 0;
        if self.preempt_since.is_some_and(|t| now >= t.plus(self.s.preempt_delay)) {
            flags |= Flags::WANT_PREEMPT;
        }
        if self.timers.get(Timer::StepUp).is_some() {
            flags |= Flags::WANT_STEP_UP;
        }
        if self.state.holds_wan() && self.must_leave(now) {
            flags |= Flags::LEAVING;
        }
        flags
    }

    /// The pace of this router's control hellos now (§4.6): the slow one
    /// for a standby (or a router in Fault) that hears a router holding
    /// the WAN or taking it over; the hello interval for every other,
    /// and for a standby that lost the active (so that the election
    /// after a loss runs at the fast pace).
    pub(super) fn control_pace(&self, now: Instant) -> Duration {
        let slow = may_speak_slowly(self.state) && !self.wan_open && self.holder_or_pending(now).is_some();
        if slow { self.s.standby_hello() } else { self.s.hello_interval }
    }

    fn said_now(&self, now: Instant) -> Said {
        Said {
            state: self.state,
            priority: self.priority(),
            effective_priority: self.effective_priority(),
            flags: self.claim_flags(now),
            hello_ms: Settings::wire_ms(self.control_pace(now)),
        }
    }

    /// A standby speaks at a slow pace, so anything its hellos say that
    /// the others act on goes out at once when it changes (§4.6): its
    /// state, priorities, flags, and its pace itself.
    pub(super) fn speak_on_change(&mut self, now: Instant) {
        if self.said != Some(self.said_now(now)) {
            self.send_hellos(now, false);
        }
    }

    pub(super) fn tracker_summary(&self, now: Instant) -> TrackerSummary {
        let mut s = TrackerSummary::default();
        let mut penalty: u32 = 0;
        for (spec, st) in self.s.trackers.iter().zip(&self.trackers) {
            s.total = s.total.saturating_add(1);
            match st {
                TrackerState::Up => s.up = s.up.saturating_add(1),
                TrackerState::Unknown => s.unknown = s.unknown.saturating_add(1),
                TrackerState::Down => {
                    s.down = s.down.saturating_add(1);
                    match spec.weight {
                        Weight::Fatal => s.fatal = true,
                        Weight::Penalty(w) => penalty = penalty.saturating_add(u32::from(w)),
                    }
                }
            }
        }
        s.penalty = u8::try_from(penalty).unwrap_or(u8::MAX);
        if let Some(h) = self.timers.get(Timer::Hold).filter(|&h| h > now) {
            s.hold_left = u16::try_from(h.since(now).as_secs().saturating_add(1)).unwrap_or(u16::MAX);
        }
        s
    }

    pub(super) fn next_seq(&mut self) -> u32 {
        if self.seq == u32::MAX {
            // A fresh epoch rather than a wrapped sequence number.
            self.epoch = self.epoch.wrapping_add(1);
            self.seq = 0;
        }
        self.seq += 1;
        self.seq
    }

    pub(super) fn send(&mut self, now: Instant, path: Path, dst: Mac, kind: MessageType, handover: Option<Handover>) {
        let mut msg = self.message(now, kind, path == Path::Wan, handover);
        self.emit(path, dst, &mut msg);
        self.tx = Some(msg);
    }

    /// Frames `msg` for one destination. Each frame gets its own sequence
    /// number, stamped here with the epoch it belongs to (a wrap starts a
    /// new epoch), so one message serves every copy of a hello round.
    pub(super) fn emit(&mut self, path: Path, dst: Mac, msg: &mut Message) {
        let src = match path {
            Path::Wan => self.s.shared_mac,
            Path::Control(i) => match self.s.control_macs.get(usize::from(i)) {
                Some(m) => *m,
                None => return,
            },
        };
        msg.seq = self.next_seq();
        msg.epoch = self.epoch;
        // Room for a hello with both leases and its signature (268 bytes
        // with an IA_NA, an IA_PD and two DNS servers of each kind), so it
        // rarely grows.
        let mut frame = self.spare.pop().unwrap_or_else(|| Vec::with_capacity(512));
        match wire::frame_into(&mut frame, dst, src, self.s.ethertype, msg, &self.s.keys) {
            Ok(()) => {
                self.counters.tx = self.counters.tx.saturating_add(1);
                self.actions.push_back(Action::Send { path, frame });
            }
            Err(_) => {
                self.counters.tx_errors = self.counters.tx_errors.saturating_add(1);
                self.recycle(frame);
            }
        }
    }

    /// Hellos on every control path: multicast while discovering (once a
    /// second, for a dead interval after start-up or becoming active, or
    /// when `announce` asks for it), unicast to each known peer otherwise,
    /// so Wi-Fi in a LAN bridge is not flooded.
    /// Takes back the buffer of a frame `Action::Send` carried, once sent,
    /// for a later frame: the hello path then allocates nothing.
    pub fn recycle(&mut self, frame: Vec<u8>) {
        if self.spare.len() < SPARE_FRAMES {
            self.spare.push(frame);
        }
    }

    pub(super) fn send_hellos(&mut self, now: Instant, announce: bool) {
        let multicast =
            announce || self.timers.is_due(Timer::Discovery, now) || self.timers.is_pending(Timer::Burst, now);
        if multicast {
            self.timers.set(Timer::Discovery, now.plus(DISCOVERY_INTERVAL));
        }
        // Built once: the copies differ only in their sequence numbers.
        let mut hello = self.message(now, MessageType::Hello, false, None);
        let (state, priority, effective_priority) = (hello.state, hello.priority, hello.effective_priority);
        let flags = hello.flags.0 & (Flags::WANT_PREEMPT | Flags::WANT_STEP_UP | Flags::LEAVING);
        let hello_ms = hello.hello_interval;
        self.said = Some(Said { state, priority, effective_priority, flags, hello_ms });
        // The next round within the pace this one announced (sooner if a
        // tick is already due sooner: the active's keeps its grid).
        let next = now.plus(Duration::from_millis(u64::from(hello_ms)));
        let at = self.timers.get(Timer::Hello).map_or(next, |t| t.min(next));
        self.timers.set(Timer::Hello, at);
        for i in 0..self.s.control_macs.len() {
            let path = Path::Control(i as u8);
            if multicast {
                self.emit(path, MULTICAST_MAC, &mut hello);
            } else {
                // By index: emit needs `self` while the peers stay as they are.
                for p in 0..self.peers.len() {
                    if let Some(mac) = self.peers[p].mac_on(path).filter(|_| !self.peers[p].released) {
                        self.emit(path, mac, &mut hello);
                    }
                }
            }
        }
        self.tx = Some(hello);
        if announce && self.state == State::Active && self.s.wan_hello().is_some() {
            self.send_wan_hello(now);
        }
    }

    /// Only the router holding the WAN speaks there, from the shared MAC;
    /// this keeps the WAN switch's MAC table pointed at it, and lets a
    /// second holder (after a partition) hear it. The target of a handover
    /// announces again after DONE, in case these pulled the switch back.
    pub(super) fn send_wan_hello(&mut self, now: Instant) {
        if self.state.holds_wan() {
            self.send(now, Path::Wan, MULTICAST_MAC, MessageType::Hello, None);
        }
    }

    pub(super) fn send_wan(&mut self, now: Instant, kind: MessageType) {
        if self.state.holds_wan() {
            self.send(now, Path::Wan, MULTICAST_MAC, kind, None);
        }
    }

    /// Handover messages go to one router on every control path where we
    /// know its MAC (multicast where we do not).
    pub(super) fn send_to(&mut self, now: Instant, router_id: u32, kind: MessageType, h: Option<Handover>) {
        let mut msg = self.message(now, kind, false, h);
        for i in 0..self.s.control_macs.len() {
            let path = Path::Control(i as u8);
            let dst = self
                .peers
                .iter()
                .find(|p| p.router_id == router_id)
                .and_then(|p| p.mac_on(path))
                .unwrap_or(MULTICAST_MAC);
            self.emit(path, dst, &mut msg);
        }
        self.tx = Some(msg);
    }
}
