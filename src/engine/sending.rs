//! What the engine sends: hellos on every path (multicast or unicast),
//! handover messages to one router, each frame with its own sequence
//! number, built from the engine's state.

use super::lease::age6;
use super::timers::Timer;
use super::{Action, DISCOVERY_INTERVAL, Engine, Path, Settings, State, TrackerState, Weight};
use crate::time::Instant;
use crate::wire::{self, Flags, Handover, Lease6, MULTICAST_MAC, Mac, Message, MessageType, Tlvs, TrackerSummary};

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

    pub(super) fn message(&self, now: Instant, kind: MessageType, wan: bool, handover: Option<Handover>) -> Message {
        let mut flags = 0;
        if wan {
            flags |= Flags::WAN;
        }
        if self.preempt_since.is_some_and(|t| now >= t.plus(self.s.preempt_delay)) {
            flags |= Flags::WANT_PREEMPT;
        }
        if self.timers.get(Timer::StepUp).is_some() {
            flags |= Flags::WANT_STEP_UP;
        }
        let hello = if wan { self.s.wan_hello().unwrap_or(self.s.hello_interval) } else { self.s.hello_interval };
        let holder = self.state.holds_wan();
        let lease = self.lease.as_ref().filter(|l| holder && l.is_valid(now));
        let summary = self.tracker_summary(now);
        Message {
            kind,
            group: self.s.group,
            state: self.state,
            router_id: self.s.router_id,
            priority: self.priority(),
            effective_priority: self.effective_priority(),
            flags: Flags(flags),
            dead_multiplier: self.s.dead_multiplier,
            hello_interval: Settings::wire_ms(hello),
            epoch: self.epoch,
            seq: 0,
            tlvs: Tlvs {
                lease4: lease.map(|l| l.at(now)),
                client_id: lease.map(|_| self.client_id()),
                lease6: match (&self.lease6, holder) {
                    (Some((l6, t)), true) => age6(l6, *t, now),
                    _ => Lease6::default(),
                },
                trackers: (summary.total > 0 || summary.hold_left > 0).then_some(summary),
                handover,
            },
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
        match wire::frame(dst, src, self.s.ethertype, msg, &self.s.keys) {
            Ok(frame) => {
                self.counters.tx = self.counters.tx.saturating_add(1);
                self.actions.push_back(Action::Send { path, frame });
            }
            Err(_) => self.counters.tx_errors = self.counters.tx_errors.saturating_add(1),
        }
    }

    /// Hellos on every control path: multicast while discovering (once a
    /// second, for a dead interval after start-up or becoming active, or
    /// when `announce` asks for it), unicast to each known peer otherwise,
    /// so Wi-Fi in a LAN bridge is not flooded.
    pub(super) fn send_hellos(&mut self, now: Instant, announce: bool) {
        let multicast =
            announce || self.timers.is_due(Timer::Discovery, now) || self.timers.is_pending(Timer::Burst, now);
        if multicast {
            self.timers.set(Timer::Discovery, now.plus(DISCOVERY_INTERVAL));
        }
        // Built once: the copies differ only in their sequence numbers.
        let mut hello = self.message(now, MessageType::Hello, false, None);
        for i in 0..self.s.control_macs.len() {
            let path = Path::Control(i as u8);
            if multicast {
                self.emit(path, MULTICAST_MAC, &mut hello);
            } else {
                let macs: Vec<Mac> = self.peers.iter().filter(|p| !p.released).filter_map(|p| p.mac_on(path)).collect();
                for mac in macs {
                    self.emit(path, mac, &mut hello);
                }
            }
        }
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
    }
}
