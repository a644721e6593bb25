//! The election and handover engine. Pure: frames, timeouts, tracker
//! results, lease events and operator commands go in; actions come out.
//! It owns no socket, reads no clock and starts no thread (see
//! docs/PROTOCOL.md for the rules it implements).

mod lease;
mod peer;
mod settings;
mod status;

use core::time::Duration;
use std::collections::VecDeque;

pub use lease::Lease;
pub use peer::{Peer, Refusal, Refused};
pub use settings::{DISCOVERY_INTERVAL, MAX_PEERS, PEER_EXPIRY, Settings, TrackerSpec, Weight};
use status::ms;
pub use status::{Counters, Status};

use crate::time::Instant;
use crate::wire::{
    self, EthernetFrame, Flags, Handover, HandoverReason, Lease4, Lease6, MULTICAST_MAC, Mac, Message, MessageType,
    Packet, ReplayGuard, Tlvs, TrackerSummary,
};
use lease::age6;
use peer::skew;

/// The engine's state is exactly what it announces on the wire.
pub use crate::wire::WireState as State;

/// Where a frame travels: the WAN segment or control link `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Path {
    Wan,
    Control(u8),
}

impl core::fmt::Display for Path {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Path::Wan => write!(f, "wan"),
            Path::Control(n) => write!(f, "control{n}"),
        }
    }
}

/// What the system layer must do, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Transmit a whole Ethernet frame on a path.
    Send { path: Path, frame: Vec<u8> },
    /// Open the WAN (if closed) and extend the forwarding permission.
    RefreshPermit { timeout: Duration },
    /// Withdraw the forwarding permission now.
    CloseWan,
    /// Make ready to forward (commit conntrack state, run prepare hooks),
    /// then call `Engine::handle_prepared`.
    Prepare,
    /// Configure the WAN address, default route and DNS from this lease.
    ApplyLease { lease: Lease4, client_id: Vec<u8>, lease6: Lease6 },
    /// Remove a lease that is no longer ours to use.
    WithdrawLease,
    /// Gratuitous ARP from the shared MAC and ARP request to the ISP
    /// gateway on the WAN; add the LAN gateway addresses and announce them.
    Announce,
    /// Remove the LAN gateway addresses.
    DropLanGateway,
    /// ARP request to the ISP gateway, so it keeps pointing at us.
    Nudge,
    /// Confirm the lease with the DHCP server (REQUEST, never DISCOVER).
    RenewLease { lease: Lease4, client_id: Vec<u8>, rebinding: bool },
    /// No valid lease: obtain one, asking for `requested` if known.
    AcquireLease { requested: Option<std::net::Ipv4Addr>, client_id: Vec<u8> },
    /// Stop any DHCP client activity (never with a release).
    StopDhcp,
    /// Run the transition hooks for the state just entered.
    RunHooks(State),
    /// A state change, for the log.
    Transition { from: State, to: State, reason: String },
    /// Graceful shutdown finished: the daemon may exit.
    Exit,
}

/// Operator commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    StepUp,
    StepDown,
    SetPriority(u8),
    /// Hand over if active, say goodbye, then `Action::Exit`.
    Shutdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TrackerState {
    Unknown,
    Up,
    Down,
}

#[derive(Clone, Copy, Debug)]
struct Run {
    id: u32,
    /// The other end: our target if we offer, the offerer if we take over.
    peer: u32,
    reason: HandoverReason,
    started: Instant,
}

/// One recorded transition, for status.
#[derive(Clone, Debug)]
pub struct Transition {
    pub at: Instant,
    pub from: State,
    pub to: State,
    pub reason: String,
}

const HISTORY: usize = 16;

/// Routers refused for their key that status remembers; the least
/// recently heard is forgotten first.
const MAX_REFUSED: usize = 8;

/// What became of the operator's last step-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepUpOutcome {
    /// Asked for the WAN, or taking it over: not decided yet.
    Pending,
    /// This router became active.
    Done,
    /// It did not happen; the reason says why.
    Failed,
}

impl StepUpOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            StepUpOutcome::Pending => "pending",
            StepUpOutcome::Done => "done",
            StepUpOutcome::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug)]
struct StepUp {
    at: Instant,
    outcome: StepUpOutcome,
    reason: String,
}

pub struct Engine {
    s: Settings,
    state: State,
    since: Instant,
    reason: String,
    epoch: u32,
    seq: u32,
    peers: Vec<Peer>,
    /// Routers whose frames fail authentication (for status).
    refused: Vec<Refused>,
    replay: ReplayGuard,
    trackers: Vec<TrackerState>,
    wan_link_up: bool,
    priority_override: Option<u8>,
    lease: Option<Lease>,
    lease6: Option<(Lease6, Instant)>,
    /// Address currently configured on the WAN by us.
    applied: Option<std::net::Ipv4Addr>,
    wan_open: bool,
    last_refresh: Instant,
    /// Graceful handover under way (either end).
    run: Option<Run>,
    /// The last offer we gave up on: a late READY still completes it.
    abandoned: Option<Run>,
    runs_started: u32,
    /// Waiting for `handle_prepared` until this instant.
    preparing: Option<Instant>,
    init_until: Instant,
    /// Standby with no active: earliest instant to take over.
    takeover_at: Option<Instant>,
    preempt_since: Option<Instant>,
    preempt_suppressed: bool,
    want_step_up: Option<Instant>,
    /// The last step-up and what became of it (for status).
    step_up: Option<StepUp>,
    hold_until: Option<Instant>,
    next_hello: Instant,
    next_wan_hello: Instant,
    next_discovery: Instant,
    /// Multicast every hello until then: just started or just active.
    burst_until: Instant,
    next_nudge: Option<Instant>,
    next_renew: Option<Instant>,
    shutting_down: bool,
    exited: bool,
    actions: VecDeque<Action>,
    counters: Counters,
    history: VecDeque<Transition>,
    /// The latest instant handed in; deadlines at or before it are handled.
    now: Instant,
}

impl Engine {
    /// A router starts in Init with its WAN closed; it listens for one dead
    /// interval before it may claim the WAN. `epoch` must be random per boot.
    pub fn new(settings: Settings, epoch: u32, now: Instant) -> Engine {
        let trackers = vec![TrackerState::Unknown; settings.trackers.len()];
        let mut e = Engine {
            s: settings,
            state: State::Init,
            since: now,
            reason: "started".into(),
            epoch,
            seq: 0,
            peers: Vec::new(),
            refused: Vec::new(),
            replay: ReplayGuard::default(),
            trackers,
            wan_link_up: true,
            priority_override: None,
            lease: None,
            lease6: None,
            applied: None,
            wan_open: false,
            last_refresh: now,
            run: None,
            abandoned: None,
            runs_started: 0,
            preparing: None,
            init_until: now,
            takeover_at: None,
            preempt_since: None,
            preempt_suppressed: false,
            want_step_up: None,
            step_up: None,
            hold_until: None,
            next_hello: now,
            next_wan_hello: now,
            next_discovery: now,
            burst_until: now,
            next_nudge: None,
            next_renew: None,
            shutting_down: false,
            exited: false,
            actions: VecDeque::new(),
            counters: Counters::default(),
            history: VecDeque::new(),
            now,
        };
        e.init_until = now.plus(e.own_dead_interval());
        e.burst_until = e.init_until;
        e
    }

    // ---- getters -------------------------------------------------------

    pub fn state(&self) -> State {
        self.state
    }

    pub fn settings(&self) -> &Settings {
        &self.s
    }

    pub fn router_id(&self) -> u32 {
        self.s.router_id
    }

    pub fn peers(&self) -> &[Peer] {
        &self.peers
    }

    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn has_exited(&self) -> bool {
        self.exited
    }

    /// Configured priority, or the operator's override.
    pub fn priority(&self) -> u8 {
        self.priority_override.unwrap_or(self.s.priority)
    }

    /// Priority minus the penalties of failed trackers; 0 means "cannot
    /// forward" (fatal tracker down or WAN link down). `ignore_wan_only`
    /// leaves out trackers that judge the upstream (used during the
    /// anti-flap hold).
    fn effective_with(&self, ignore_wan_only: bool) -> u8 {
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

    pub fn effective_priority(&self) -> u8 {
        self.effective_with(false)
    }

    fn claim(&self) -> (u8, u32) {
        (self.effective_priority(), self.s.router_id)
    }

    fn skew_num(&self) -> u32 {
        256u32.saturating_sub(u32::from(self.effective_priority()))
    }

    /// Dead interval for our own hello settings: used for the start-up
    /// listen and for "nobody is active" waits.
    fn own_dead_interval(&self) -> Duration {
        let h = self.s.hello_interval;
        h.saturating_mul(u32::from(self.s.dead_multiplier)).saturating_add(skew(h, self.skew_num()))
    }

    fn hold_running(&self, now: Instant) -> bool {
        self.hold_until.is_some_and(|t| now < t)
    }

    // ---- outputs -------------------------------------------------------

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next instant at which `handle_timeout` must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.exited {
            return None;
        }
        let skew_num = self.skew_num();
        let mut t = self.next_hello;
        let handled = self.now;
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x.filter(|&x| x > handled) {
                t = t.min(x);
            }
        };
        if self.state.holds_wan() && self.s.wan_hello().is_some() {
            consider(Some(self.next_wan_hello));
        }
        if self.state == State::Init {
            consider(Some(self.init_until));
        }
        consider(self.takeover_at);
        consider(self.preparing);
        consider(self.run.map(|r| r.started.plus(self.s.handover_timeout())));
        consider(self.preempt_since.map(|p| p.plus(self.s.preempt_delay)));
        for p in &self.peers {
            consider(p.alive_until(skew_num));
        }
        if self.state == State::Active {
            consider(self.next_nudge);
            consider(self.next_renew);
            consider(self.lease.as_ref().map(|l| l.expires()));
        }
        Some(t)
    }

    // ---- inputs --------------------------------------------------------

    /// A frame received on `path` (the whole Ethernet frame).
    pub fn handle_frame(&mut self, now: Instant, path: Path, frame: &[u8]) {
        if self.exited {
            return;
        }
        self.check_stall(now);
        match self.accept(now, path, frame) {
            Ok(Some((idx, msg))) => {
                self.counters.rx_ok = self.counters.rx_ok.saturating_add(1);
                self.on_message(now, idx, &msg);
            }
            Ok(None) => {}
            Err(e) => self.counters.count_error(e),
        }
        self.evaluate(now);
    }

    /// Parses, authenticates and replay-checks a frame, and records the
    /// sender. `Ok(None)`: valid but not for us (other group, own frame).
    fn accept(&mut self, now: Instant, path: Path, frame: &[u8]) -> Result<Option<(usize, Message)>, wire::Error> {
        let eth = EthernetFrame::new_checked(frame)?;
        if eth.ethertype() != self.s.ethertype {
            self.counters.rx_other = self.counters.rx_other.saturating_add(1);
            return Ok(None);
        }
        let pkt = Packet::new_checked(eth.payload())?;
        // Other groups sign with other keys: sort by group before auth.
        if pkt.group() != self.s.group {
            self.counters.rx_other = self.counters.rx_other.saturating_add(1);
            return Ok(None);
        }
        let key_id = pkt.trailer().map(|(id, _)| id);
        let msg = Message::parse(&pkt, &self.s.keys).inspect_err(|e| self.note_refused(now, &pkt, key_id, *e))?;
        if msg.router_id == self.s.router_id {
            self.counters.rx_own = self.counters.rx_own.saturating_add(1);
            return Ok(None);
        }
        self.replay.check(msg.router_id, msg.epoch, msg.seq)?;
        if msg.flags.has(Flags::WAN) != (path == Path::Wan) {
            // A WAN frame on a control link (or the reverse) means the two
            // segments are bridged together: a loop the operator must fix.
            self.counters.rx_path_mismatch = self.counters.rx_path_mismatch.saturating_add(1);
            return Ok(None);
        }
        let idx = match self.peers.iter().position(|p| p.router_id == msg.router_id) {
            Some(i) => i,
            None if self.peers.len() >= MAX_PEERS => {
                self.counters.rx_peer_limit = self.counters.rx_peer_limit.saturating_add(1);
                return Ok(None);
            }
            None => {
                self.peers.push(Peer::new(msg.router_id));
                self.peers.len() - 1
            }
        };
        self.refused.retain(|r| r.router_id != msg.router_id);
        if !self.peers[idx].heard(now, path, eth.src(), &msg, key_id) && msg.kind == MessageType::Hello {
            // An older hello overtaken by a newer frame: proof of life only.
            return Ok(None);
        }
        Ok(Some((idx, msg)))
    }

    /// Remembers a router whose frame failed authentication, by the router
    /// id it claims; other errors are only counted.
    fn note_refused(&mut self, now: Instant, pkt: &Packet<&[u8]>, key_id: Option<u8>, e: wire::Error) {
        let why = match e {
            wire::Error::UnknownKey(_) => Refusal::UnknownKey,
            wire::Error::BadTag => Refusal::BadTag,
            wire::Error::Unauthenticated => Refusal::Unsigned,
            _ => return,
        };
        let router_id = pkt.router_id();
        if router_id == self.s.router_id {
            return;
        }
        let i = match self.refused.iter().position(|r| r.router_id == router_id) {
            Some(i) => i,
            None if self.refused.len() < MAX_REFUSED => {
                self.refused.push(Refused { router_id, key_id, why, frames: 0, last_heard: now });
                self.refused.len() - 1
            }
            None => {
                let oldest = (0..self.refused.len()).min_by_key(|&i| self.refused[i].last_heard).unwrap_or(0);
                self.refused[oldest] = Refused { router_id, key_id, why, frames: 0, last_heard: now };
                oldest
            }
        };
        let r = &mut self.refused[i];
        (r.key_id, r.why, r.last_heard) = (key_id, why, now);
        r.frames = r.frames.saturating_add(1);
    }

    fn on_message(&mut self, now: Instant, idx: usize, m: &Message) {
        let holder = m.state.holds_wan();
        if holder && !self.state.holds_wan() {
            if let Some(l) = &m.tlvs.lease4 {
                self.lease = Some(Lease { wire: l.clone(), client_id: m.tlvs.client_id.clone(), learned: now });
            }
            if !m.tlvs.lease6.is_empty() {
                self.lease6 = Some((m.tlvs.lease6.clone(), now));
            }
            self.peers[idx].lease_seen = m.tlvs.lease4.is_some();
        }
        if let Some(t) = m.tlvs.trackers.filter(|t| holder && t.hold_left > 0) {
            let until = now.plus(Duration::from_secs(u64::from(t.hold_left)));
            self.hold_until = Some(self.hold_until.map_or(until, |h| h.max(until)));
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
                    self.takeover_at = Some(now);
                }
            }
        }
    }

    fn on_hello(&mut self, now: Instant, idx: usize) {
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
        if self.state == State::TakingOver && pstate == State::Active {
            // Another active, or our offerer gave the handover up.
            self.abort_takeover(now, format!("router {pid:#x} is active"));
            return;
        }
        // The offerer stopped holding the WAN: its DONE may have been lost.
        let settled = self.state == State::TakingOver && !pstate.holds_wan() && self.preparing.is_none();
        if let Some(r) = self.run.filter(|r| settled && r.peer == pid) {
            self.become_active(now, format!("router {pid:#x} handed over ({})", r.reason.as_str()), true);
        }
    }

    fn on_offer(&mut self, now: Instant, from: u32, h: Option<Handover>) {
        let Some(h) = h else { return };
        if h.target != self.s.router_id {
            return;
        }
        match (self.state, self.run) {
            (State::TakingOver, Some(r))
                if r.id == h.id
                // OFFER again: our READY was lost.
                && self.preparing.is_none() =>
            {
                self.send_to(now, from, MessageType::Ready, Some(h));
            }
            // Only from the one active we know: after a partition heals, a
            // losing active may offer before it hears the winner.
            (State::Standby, _)
                if self.effective_priority() > 0 && !self.shutting_down && !self.other_holder(now, from) =>
            {
                if h.reason == HandoverReason::Tracker {
                    self.hold_until = Some(now.plus(self.s.hold_period));
                }
                self.run = Some(Run { id: h.id, peer: from, reason: h.reason, started: now });
                self.want_step_up = None;
                self.preempt_since = None;
                self.begin_takeover(now, format!("offer from {from:#x} ({})", h.reason.as_str()));
            }
            _ => {}
        }
    }

    fn on_ready(&mut self, now: Instant, from: u32, h: Option<Handover>) {
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

    fn on_done(&mut self, now: Instant, from: u32, h: Option<Handover>) {
        let (Some(h), Some(r)) = (h, self.run) else { return };
        if self.state == State::TakingOver && r.id == h.id && r.peer == from && self.preparing.is_none() {
            self.become_active(now, format!("handover from {from:#x} ({})", r.reason.as_str()), true);
        }
    }

    /// Timers: call when `poll_timeout` has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.exited {
            return;
        }
        self.check_stall(now);
        if now >= self.next_hello {
            self.next_hello = now.plus(self.s.hello_interval);
            self.hello_tick(now);
        }
        let wan_hello_due = self.state.holds_wan() && now >= self.next_wan_hello;
        if let Some(iv) = self.s.wan_hello().filter(|_| wan_hello_due) {
            self.next_wan_hello = now.plus(iv);
            self.send_wan_hello(now);
        }
        if self.preparing.is_some_and(|t| now >= t) {
            self.counters.prepare_timeouts = self.counters.prepare_timeouts.saturating_add(1);
            self.finish_prepare(now);
        }
        self.evaluate(now);
    }

    /// A tracker's verdict after its rise/fall counting.
    pub fn handle_tracker(&mut self, now: Instant, index: usize, up: bool) {
        let Some(spec) = self.s.trackers.get(index) else { return };
        // An upstream probe means nothing where the WAN is closed.
        if spec.wan_only && !self.state.holds_wan() {
            return;
        }
        if let Some(t) = self.trackers.get_mut(index) {
            *t = if up { TrackerState::Up } else { TrackerState::Down };
        }
        self.evaluate(now);
    }

    /// Carrier on the WAN device. Down makes the router unable to forward.
    pub fn handle_wan_link(&mut self, now: Instant, up: bool) {
        self.wan_link_up = up;
        self.evaluate(now);
    }

    /// The fence was re-installed with an empty permission set (after
    /// `nft flush ruleset`): an open WAN gets its permission back at once.
    pub fn handle_fence_restored(&mut self, now: Instant) {
        if self.wan_open {
            self.refresh_permit(now);
        }
    }

    /// The system finished what `Action::Prepare` asked.
    pub fn handle_prepared(&mut self, now: Instant) {
        if self.preparing.is_some() {
            self.finish_prepare(now);
            self.evaluate(now);
        }
    }

    /// A lease bound or renewed by the DHCP client (hook or renewal).
    pub fn handle_lease(&mut self, now: Instant, wire: Lease4, client_id: Option<Vec<u8>>) {
        let changed = self.lease.as_ref().is_none_or(|l| !l.is_valid(now) || !l.same_binding(&wire));
        let client_id = client_id.or_else(|| self.lease.as_ref().and_then(|l| l.client_id.clone()));
        let lease = Lease { wire, client_id, learned: now };
        self.next_renew = Some(lease.renew_at());
        self.lease = Some(lease);
        if self.state.holds_wan() && (changed || self.applied.is_none()) {
            self.apply_lease(now);
            // A new address: tell the ISP gateway and the switch.
            self.actions.push_back(Action::Announce);
        }
        self.evaluate(now);
    }

    /// DHCPv6 state from the odhcp6c hook.
    pub fn handle_lease6(&mut self, now: Instant, l: Lease6) {
        self.lease6 = Some((l, now));
    }

    /// The server refused the lease (NAK): stop using it.
    pub fn handle_lease_lost(&mut self, now: Instant) {
        if let Some(l) = &mut self.lease {
            l.wire.valid_left = 0;
            l.learned = now;
        }
        if self.state.holds_wan() {
            self.withdraw_lease();
            self.acquire();
        }
        self.evaluate(now);
    }

    /// Operator commands. `Err` explains why the command cannot be done.
    pub fn handle_command(&mut self, now: Instant, cmd: Command) -> Result<(), &'static str> {
        if self.exited {
            return Err("shutting down");
        }
        let r = match cmd {
            Command::SetPriority(p) => {
                if !(1..=254).contains(&p) {
                    return Err("priority must be 1..254");
                }
                self.priority_override = Some(p);
                self.send_hellos(now, true);
                Ok(())
            }
            Command::StepDown => match self.state {
                State::Active => {
                    let Some(target) = self.best_standby(now) else {
                        return Err("no standby can take over");
                    };
                    self.preempt_suppressed = true;
                    self.offer(now, target, HandoverReason::Operator);
                    Ok(())
                }
                State::HandingOver => Ok(()),
                _ => {
                    self.preempt_suppressed = true;
                    if self.want_step_up.take().is_some() {
                        self.settle_step_up(now, StepUpOutcome::Failed, "cancelled by a step-down".into());
                    }
                    Ok(())
                }
            },
            Command::StepUp => self.step_up(now),
            Command::Shutdown => {
                self.shutting_down = true;
                match self.state {
                    State::Active => match self.best_standby(now) {
                        Some(t) => self.offer(now, t, HandoverReason::Shutdown),
                        None => self.finish_shutdown(now),
                    },
                    State::HandingOver => {}
                    _ => self.finish_shutdown(now),
                }
                Ok(())
            }
        };
        self.evaluate(now);
        r
    }

    /// The operator's step-up; what became of it is kept for status.
    fn step_up(&mut self, now: Instant) -> Result<(), &'static str> {
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
                        self.want_step_up = Some(now.plus(self.s.handover_timeout().saturating_mul(2)));
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
    fn settle_step_up(&mut self, now: Instant, outcome: StepUpOutcome, reason: String) {
        if self.step_up.as_ref().is_some_and(|s| s.outcome == StepUpOutcome::Pending) {
            self.step_up = Some(StepUp { at: now, outcome, reason });
        }
    }

    /// Why a step-up asked of the active router came to nothing.
    fn step_up_unanswered(&self, now: Instant) -> String {
        let waited = ms(self.s.handover_timeout().saturating_mul(2));
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

    /// Applies a new configuration without losing run-time state: peers,
    /// lease, role and trackers (by name) are kept.
    pub fn reconfigure(&mut self, now: Instant, s: Settings) {
        let old: Vec<(String, TrackerState)> =
            self.s.trackers.iter().map(|t| t.name.clone()).zip(self.trackers.iter().copied()).collect();
        self.trackers = s
            .trackers
            .iter()
            .map(|t| old.iter().find(|(n, _)| *n == t.name).map_or(TrackerState::Unknown, |(_, st)| *st))
            .collect();
        self.s = s;
        self.evaluate(now);
    }

    // ---- the state machine ---------------------------------------------

    /// The active whose permission lapsed while we were not running (the
    /// process was stopped or starved) must assume a standby took over.
    fn check_stall(&mut self, now: Instant) {
        if self.wan_open && now.since(self.last_refresh) > self.s.permit_timeout() {
            // u64, not Duration::as_millis()'s u128: its Display costs 2 KB.
            let ms = now.as_micros().saturating_sub(self.last_refresh.as_micros()) / 1000;
            self.counters.stalls = self.counters.stalls.saturating_add(1);
            self.close_wan();
            self.run = None;
            self.preparing = None;
            self.init_until = now.plus(self.own_dead_interval());
            self.set_state(now, State::Init, format!("stalled {ms} ms: forwarding permission lapsed"));
        }
    }

    fn hello_tick(&mut self, now: Instant) {
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
                State::TakingOver if self.preparing.is_none() => self.send_to(now, r.peer, MessageType::Ready, Some(h)),
                _ => {}
            }
        }
    }

    fn evaluate(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.exited {
            return;
        }
        let skew_num = self.skew_num();
        self.peers.retain(|p| p.last_heard().is_some_and(|t| now.since(t) < PEER_EXPIRY));
        self.refused.retain(|r| now.since(r.last_heard) < PEER_EXPIRY);
        if self.want_step_up.is_some_and(|t| now >= t) {
            self.want_step_up = None;
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
                } else if now >= self.init_until {
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
                    self.takeover_at = None;
                    let h = &self.peers[h];
                    let better = self.claim() > h.claim() && h.state.holds_wan();
                    if self.s.preempt && !self.preempt_suppressed && better {
                        self.preempt_since.get_or_insert(now);
                    } else {
                        self.preempt_since = None;
                    }
                } else {
                    self.preempt_since = None;
                    let at = *self.takeover_at.get_or_insert(now);
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
                let expired = self.run.filter(|r| self.preparing.is_none() && now >= r.started.plus(timeout));
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
    }

    fn evaluate_active(&mut self, now: Instant) {
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
        if let Some(n) = self.s.nudge_interval.filter(|_| self.next_nudge.is_some_and(|t| now >= t)) {
            self.next_nudge = Some(now.plus(n));
            self.actions.push_back(Action::Nudge);
        }
    }

    /// Renewal, rebinding and expiry while active; stale addresses on a standby.
    fn evaluate_lease(&mut self, now: Instant) {
        let Some(l) = &self.lease else { return };
        let (valid, address, expires, rebind_at) = (l.is_valid(now), l.wire.address, l.expires(), l.rebind_at());
        if self.state == State::Active {
            if !valid && self.applied.is_some() {
                self.withdraw_lease();
                self.acquire();
            } else if valid && self.next_renew.is_some_and(|t| now >= t) {
                let left = expires.since(now);
                self.next_renew = Some(now.plus((left / 2).clamp(Duration::from_secs(1), Duration::from_secs(60))));
                let lease = l.at(now);
                let client_id = self.client_id();
                self.actions.push_back(Action::RenewLease { lease, client_id, rebinding: now >= rebind_at });
            }
        } else if !self.state.holds_wan()
            && self.state != State::TakingOver
            && self.applied.is_some_and(|a| !valid || a != address)
        {
            self.withdraw_lease();
        }
    }

    fn client_id(&self) -> Vec<u8> {
        self.lease.as_ref().and_then(|l| l.client_id.clone()).unwrap_or_else(|| self.s.client_id.clone())
    }

    /// Index of an alive peer holding the WAN, or about to.
    fn holder_or_pending(&self, now: Instant) -> Option<usize> {
        let skew_num = self.skew_num();
        self.peers.iter().position(|p| {
            p.is_alive(now, skew_num) && matches!(p.state, State::Active | State::HandingOver | State::TakingOver)
        })
    }

    /// Is an alive router other than `except` holding the WAN?
    fn other_holder(&self, now: Instant, except: u32) -> bool {
        let skew_num = self.skew_num();
        self.peers.iter().any(|p| p.router_id != except && p.state.holds_wan() && p.is_alive(now, skew_num))
    }

    /// The alive standby with the best claim.
    fn best_standby(&self, now: Instant) -> Option<usize> {
        let skew_num = self.skew_num();
        self.peers
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == State::Standby && p.effective_priority > 0 && p.is_alive(now, skew_num))
            .max_by_key(|(_, p)| p.claim())
            .map(|(i, _)| i)
    }

    /// No alive candidate (init or standby) has a better claim than ours.
    fn is_best_candidate(&self, now: Instant) -> bool {
        let skew_num = self.skew_num();
        let mine = self.claim();
        mine.0 > 0 && !self.peers.iter().any(|p| p.is_candidate() && p.is_alive(now, skew_num) && p.claim() > mine)
    }

    fn offer(&mut self, now: Instant, target: usize, reason: HandoverReason) {
        let tid = self.peers[target].router_id;
        self.runs_started = self.runs_started.wrapping_add(1);
        let id = self.epoch.rotate_left(16) ^ self.runs_started;
        if reason == HandoverReason::Tracker {
            self.hold_until = Some(now.plus(self.s.hold_period));
        }
        self.run = Some(Run { id, peer: tid, reason, started: now });
        self.abandoned = None;
        self.set_state(now, State::HandingOver, format!("offering the WAN to {tid:#x} ({})", reason.as_str()));
        self.send_to(now, tid, MessageType::Offer, Some(Handover { target: tid, id, reason }));
    }

    fn begin_takeover(&mut self, now: Instant, reason: String) {
        self.takeover_at = None;
        self.preempt_since = None;
        self.preparing = Some(now.plus(self.s.prepare_timeout));
        self.set_state(now, State::TakingOver, reason);
        self.actions.push_back(Action::Prepare);
    }

    /// Conntrack is committed (or we gave up waiting): apply the lease,
    /// open the WAN, announce; then READY (graceful) or active (hard).
    fn finish_prepare(&mut self, now: Instant) {
        self.preparing = None;
        if self.lease.as_ref().is_some_and(|l| l.is_valid(now)) {
            self.apply_lease(now);
        }
        self.refresh_permit(now);
        self.actions.push_back(Action::Announce);
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

    fn become_active(&mut self, now: Instant, reason: String, announce: bool) {
        if self.run.take().is_some() {
            self.counters.handovers = self.counters.handovers.saturating_add(1);
        } else {
            self.counters.takeovers = self.counters.takeovers.saturating_add(1);
        }
        self.want_step_up = None;
        self.settle_step_up(now, StepUpOutcome::Done, reason.clone());
        self.set_state(now, State::Active, reason);
        if announce {
            // The old active's last frames may have pulled the switch back.
            self.actions.push_back(Action::Announce);
        }
        self.next_nudge = self.s.nudge_interval.map(|n| now.plus(n));
        if self.lease.as_ref().is_some_and(|l| l.is_valid(now)) {
            // Confirm with the server in the background; we already forward.
            self.next_renew = Some(now);
        } else {
            self.acquire();
        }
        self.send_hellos(now, true);
        if let Some(iv) = self.s.wan_hello() {
            self.send_wan_hello(now);
            // On the control hellos' tick grid: a standby counts its dead
            // interval from the later of the two paths, so out-of-phase
            // WAN hellos would stretch every failover by the phase gap.
            self.next_wan_hello = self.next_hello.plus(iv.saturating_sub(self.s.hello_interval));
        }
    }

    fn step_down(&mut self, now: Instant, reason: String) {
        self.close_wan();
        self.run = None;
        self.enter_standby(now, &reason);
        self.send_hellos(now, true);
    }

    fn abort_takeover(&mut self, now: Instant, reason: String) {
        self.settle_step_up(now, StepUpOutcome::Failed, reason.clone());
        self.counters.handovers_aborted = self.counters.handovers_aborted.saturating_add(1);
        self.preparing = None;
        self.step_down(now, reason);
    }

    fn enter_standby(&mut self, now: Instant, reason: &str) {
        self.takeover_at = Some(now.plus(self.own_dead_interval()));
        self.set_state(now, State::Standby, reason.into());
    }

    fn finish_shutdown(&mut self, now: Instant) {
        let holder = self.state.holds_wan();
        self.run = None;
        self.preparing = None;
        if holder {
            self.send_wan(now, MessageType::Release);
        }
        self.close_wan();
        for i in 0..self.s.control_macs.len() {
            self.send(now, Path::Control(i as u8), MULTICAST_MAC, MessageType::Release, None);
        }
        if self.state != State::Standby {
            self.set_state(now, State::Standby, "shutting down".into());
        }
        self.exited = true;
        self.actions.push_back(Action::Exit);
    }

    fn close_wan(&mut self) {
        if self.wan_open || self.state.holds_wan() || self.state == State::TakingOver {
            self.actions.push_back(Action::CloseWan);
            self.actions.push_back(Action::DropLanGateway);
            self.actions.push_back(Action::StopDhcp);
        }
        self.wan_open = false;
    }

    fn refresh_permit(&mut self, now: Instant) {
        self.wan_open = true;
        self.last_refresh = now;
        self.actions.push_back(Action::RefreshPermit { timeout: self.s.permit_timeout() });
    }

    fn apply_lease(&mut self, now: Instant) {
        let Some(l) = &self.lease else { return };
        let lease6 = self.lease6.as_ref().map(|(l6, t)| age6(l6, *t, now)).unwrap_or_default();
        self.applied = Some(l.wire.address);
        let lease = l.at(now);
        let client_id = self.client_id();
        self.actions.push_back(Action::ApplyLease { lease, client_id, lease6 });
    }

    fn withdraw_lease(&mut self) {
        if self.applied.take().is_some() {
            self.actions.push_back(Action::WithdrawLease);
        }
    }

    fn acquire(&mut self) {
        let requested = self.lease.as_ref().map(|l| l.wire.address);
        let client_id = self.client_id();
        self.actions.push_back(Action::AcquireLease { requested, client_id });
    }

    fn set_state(&mut self, now: Instant, to: State, reason: String) {
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
            self.burst_until = now.plus(self.own_dead_interval());
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

    // ---- frames --------------------------------------------------------

    fn message(&self, now: Instant, kind: MessageType, wan: bool, handover: Option<Handover>) -> Message {
        let mut flags = 0;
        if wan {
            flags |= Flags::WAN;
        }
        if self.preempt_since.is_some_and(|t| now >= t.plus(self.s.preempt_delay)) {
            flags |= Flags::WANT_PREEMPT;
        }
        if self.want_step_up.is_some() {
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

    fn tracker_summary(&self, now: Instant) -> TrackerSummary {
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
        if let Some(h) = self.hold_until.filter(|&h| h > now) {
            s.hold_left = u16::try_from(h.since(now).as_secs().saturating_add(1)).unwrap_or(u16::MAX);
        }
        s
    }

    fn next_seq(&mut self) -> u32 {
        if self.seq == u32::MAX {
            // A fresh epoch rather than a wrapped sequence number.
            self.epoch = self.epoch.wrapping_add(1);
            self.seq = 0;
        }
        self.seq += 1;
        self.seq
    }

    fn send(&mut self, now: Instant, path: Path, dst: Mac, kind: MessageType, handover: Option<Handover>) {
        let mut msg = self.message(now, kind, path == Path::Wan, handover);
        self.emit(path, dst, &mut msg);
    }

    /// Frames `msg` for one destination. Each frame gets its own sequence
    /// number, stamped here with the epoch it belongs to (a wrap starts a
    /// new epoch), so one message serves every copy of a hello round.
    fn emit(&mut self, path: Path, dst: Mac, msg: &mut Message) {
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
    fn send_hellos(&mut self, now: Instant, announce: bool) {
        let multicast = announce || now >= self.next_discovery || now < self.burst_until;
        if multicast {
            self.next_discovery = now.plus(DISCOVERY_INTERVAL);
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
    fn send_wan_hello(&mut self, now: Instant) {
        if self.state.holds_wan() {
            self.send(now, Path::Wan, MULTICAST_MAC, MessageType::Hello, None);
        }
    }

    fn send_wan(&mut self, now: Instant, kind: MessageType) {
        if self.state.holds_wan() {
            self.send(now, Path::Wan, MULTICAST_MAC, kind, None);
        }
    }

    /// Handover messages go to one router on every control path where we
    /// know its MAC (multicast where we do not).
    fn send_to(&mut self, now: Instant, router_id: u32, kind: MessageType, h: Option<Handover>) {
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

#[cfg(test)]
mod tests;
