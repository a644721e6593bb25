//! The election and handover engine. Pure: frames, timeouts, tracker
//! results, lease events and operator commands go in; actions come out.
//! It owns no socket, reads no clock and starts no thread (see
//! docs/PROTOCOL.md for the rules it implements).

mod election;
mod lease;
mod lease6;
mod peer;
mod refusals;
mod sending;
mod settings;
mod status;
mod timers;
mod transitions;

use core::time::Duration;
use std::collections::VecDeque;

pub use lease::Lease;
pub use lease6::{ADVERT_INTERVAL, Binding6, Exchange6, IAID};
pub use peer::{Bound, Peer, Refusal, Refused};
pub use refusals::{REFUSAL_LOG_INTERVAL, Reason, RefusedFrames};
pub use settings::{
    DISCOVERY_INTERVAL, MAX_PEERS, PEER_EXPIRY, RETRANSMIT_INTERVAL, RETRANSMITS, STANDBY_HELLO_MAX, STANDBY_PACE,
    Settings, TrackerSpec, Weight, permit_timeout,
};
pub use status::{Counters, Status};

use crate::time::Instant;
use crate::wire::{
    self, EthernetFrame, Flags, HandoverReason, Lease4, Lease6, MULTICAST_MAC, Mac, Message, MessageType, Packet,
    ReplayGuard, SpareLists,
};
use refusals::{RefusalLog, Sample};
use timers::{Timer, Timers};

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
    /// Transmit a whole Ethernet frame on a path; then hand the buffer
    /// back with `Engine::recycle`, so the next frame needs no allocation.
    Send { path: Path, frame: Vec<u8> },
    /// Open the WAN (if closed) and extend the forwarding permission.
    RefreshPermit { timeout: Duration },
    /// Withdraw the forwarding permission now.
    CloseWan,
    /// Make ready to forward (commit conntrack state, run prepare hooks),
    /// then call `Engine::handle_prepared`.
    Prepare,
    /// Configure the WAN address, default route and DNS from this lease.
    ApplyLease { lease: Lease4 },
    /// Remove a lease that is no longer ours to use.
    WithdrawLease,
    /// Gratuitous ARP from the shared MAC and ARP request to the ISP
    /// gateway on the WAN; add the LAN gateway addresses and announce them.
    Announce,
    /// Add the LAN gateway addresses again (a device that came back may
    /// have lost them) and announce them: gratuitous ARP, unsolicited NA.
    AnnounceLan,
    /// Remove the LAN gateway addresses.
    DropLanGateway,
    /// ARP request to the ISP gateway, so it keeps pointing at us.
    Nudge,
    /// Confirm the lease with the DHCP server (REQUEST, never DISCOVER):
    /// a new transaction, replacing one still unanswered.
    RenewLease { lease: Lease4, client_id: Vec<u8>, rebinding: bool },
    /// Send the renewal's request again, in the same transaction.
    RetransmitRenewal,
    /// No answer came to the renewal: stop waiting for one.
    AbandonRenewal,
    /// No valid lease: obtain one, asking for `requested` if known.
    AcquireLease { requested: Option<std::net::Ipv4Addr>, client_id: Vec<u8> },
    /// No lease in memory, but one kept from before a restart is still
    /// valid: ask the server for it back (INIT-REBOOT, RFC 2131 §4.3.2),
    /// not configured meanwhile. The answer comes as a renewal's does;
    /// `RetransmitRenewal` and `AbandonRenewal` apply to it.
    RebootLease { lease: Lease4, client_id: Vec<u8> },
    /// Keep this lease for a restart of the daemon (tmpfs), or forget the
    /// kept one (`None`: the server refused it).
    StoreLease { lease: Option<Lease4>, client_id: Option<Vec<u8>> },
    /// Stop any DHCP client activity (never with a release), DHCPv6's too.
    StopDhcp,
    /// Configure the DHCPv6 binding: the WAN address and IPv6 default
    /// route, the delegated prefix on the LAN (replacing what an earlier
    /// one configured), and announce the WAN address.
    ApplyLease6 { lease: Lease6 },
    /// Remove this binding's configuration: what `ApplyLease6` configured
    /// (or, on a router that does not hold the WAN, what a previous run of
    /// the daemon may have left).
    WithdrawLease6 { lease: Lease6 },
    /// Start a DHCPv6 exchange (never a RELEASE), replacing one still
    /// unanswered, as client `duid` with IAID `iaid`; `lease` is the
    /// binding to confirm, or the hints for a SOLICIT.
    Dhcp6 { exchange: Exchange6, lease: Lease6, iaid: u32, duid: Vec<u8> },
    /// Send the exchange's message again, in the same transaction.
    RetransmitDhcp6,
    /// No answer came to the exchange: stop waiting for one.
    AbandonDhcp6,
    /// A router advertisement on the LAN from the link-local gateway
    /// address: default router, the delegated prefix for SLAAC.
    AdvertiseRouter,
    /// Run the transition hooks for the state just entered.
    RunHooks(State),
    /// A state change, for the log.
    Transition { from: State, to: State, reason: String },
    /// Frames were refused (or their claims bounded): one log line, at
    /// most one a minute per reason.
    Refused(RefusedFrames),
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

/// The command as the daemon's log line names it: what `{:?}` wrote
/// (`SetPriority(150)`), without linking derived Debug's machinery.
impl core::fmt::Display for Command {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Command::StepUp => f.write_str("StepUp"),
            Command::StepDown => f.write_str("StepDown"),
            Command::SetPriority(p) => write!(f, "SetPriority({p})"),
            Command::Shutdown => f.write_str("Shutdown"),
        }
    }
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

/// What a hello says that the active and the other routers act on: state,
/// priorities, the flags WANT_PREEMPT, WANT_STEP_UP and LEAVING, and the
/// hello interval (the pace, by which they time the sender out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Said {
    state: State,
    priority: u8,
    effective_priority: u8,
    flags: u8,
    hello_ms: u16,
}

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
    /// Some device carrying a LAN gateway address has carrier.
    lan_up: bool,
    /// Carrier of each control path's device (index = path number).
    control_up: Vec<bool>,
    /// Each control path's device is tied to the WAN device (a bridge over
    /// it, a port of it, ...), as the system reports: the WAN's frames
    /// arrive there too.
    control_tied: Vec<bool>,
    priority_override: Option<u8>,
    lease: Option<Lease>,
    lease6: Option<Binding6>,
    /// The lease kept from before a restart, until it is asked back.
    kept: Option<Lease>,
    /// The address asked back with INIT-REBOOT, while it may be answered.
    rebooting: Option<std::net::Ipv4Addr>,
    /// What `StoreLease` last kept: the address and when it expires.
    stored: Option<(std::net::Ipv4Addr, Instant)>,
    /// Address currently configured on the WAN by us.
    applied: Option<std::net::Ipv4Addr>,
    /// The DHCPv6 binding configured (`ApplyLease6`), as applied.
    applied6: Option<Lease6>,
    /// When the last router advertisement went out.
    last_advert: Option<Instant>,
    wan_open: bool,
    last_refresh: Instant,
    /// Graceful handover under way (either end).
    run: Option<Run>,
    /// The last offer we gave up on: a late READY still completes it.
    abandoned: Option<Run>,
    runs_started: u32,
    /// A better claim than the active's since then (preemption waits).
    preempt_since: Option<Instant>,
    preempt_suppressed: bool,
    timers: Timers,
    /// The last step-up and what became of it (for status).
    step_up: Option<StepUp>,
    /// Copies of the renewal's request sent again so far.
    retransmits: u8,
    /// The same for the DHCPv6 exchange.
    retransmits6: u8,
    shutting_down: bool,
    exited: bool,
    /// What the last round of hellos said that peers act on, and its pace:
    /// a change goes out at once, not at the next (slow) tick.
    said: Option<Said>,
    /// Standby that lost the active: its peers are being rechecked (§6.3).
    rechecking: bool,
    actions: VecDeque<Action>,
    /// Buffers of sent frames, handed back by `recycle`.
    spare: Vec<Vec<u8>>,
    /// The last message sent, whose buffers the next one reuses.
    tx: Option<Message>,
    /// The lists of the messages received, refilled by the next ones.
    rx: SpareLists,
    counters: Counters,
    refusal_log: RefusalLog,
    history: VecDeque<Transition>,
    /// The latest instant handed in; deadlines at or before it are handled.
    now: Instant,
}

impl Engine {
    /// A router starts in Init with its WAN closed; it listens for one dead
    /// interval before it may claim the WAN. `epoch` must be drawn at
    /// random at every start of the daemon.
    pub fn new(settings: Settings, epoch: u32, now: Instant) -> Engine {
        let trackers = vec![TrackerState::Unknown; settings.trackers.len()];
        let control_up = vec![true; settings.control_macs.len()];
        let control_tied = vec![false; settings.control_macs.len()];
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
            lan_up: true,
            control_up,
            control_tied,
            priority_override: None,
            lease: None,
            lease6: None,
            kept: None,
            rebooting: None,
            stored: None,
            applied: None,
            applied6: None,
            last_advert: None,
            wan_open: false,
            last_refresh: now,
            run: None,
            abandoned: None,
            runs_started: 0,
            preempt_since: None,
            preempt_suppressed: false,
            timers: Timers::default(),
            step_up: None,
            retransmits: 0,
            retransmits6: 0,
            shutting_down: false,
            exited: false,
            said: None,
            rechecking: false,
            actions: VecDeque::new(),
            spare: Vec::new(),
            tx: None,
            rx: SpareLists::default(),
            counters: Counters::default(),
            refusal_log: RefusalLog::default(),
            history: VecDeque::new(),
            now,
        };
        let listen = now.plus(e.own_dead_interval());
        for (t, at) in [(Timer::Hello, now), (Timer::WanHello, now), (Timer::Discovery, now)] {
            e.timers.set(t, at);
        }
        e.timers.set(Timer::Listen, listen);
        e.timers.set(Timer::Burst, listen);
        e
    }

    // ---- getters -----------------------------------------------------------

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

    pub fn effective_priority(&self) -> u8 {
        self.effective_with(false)
    }

    /// Holds the WAN but must leave the active role (§5.7 of
    /// docs/PROTOCOL.md): its frames carry the LEAVING flag.
    pub fn is_leaving(&self) -> bool {
        self.state.holds_wan() && self.must_leave(self.now)
    }

    /// Some device carrying a LAN gateway address has carrier.
    pub fn lan_up(&self) -> bool {
        self.lan_up
    }

    // ---- outputs -----------------------------------------------------------

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next instant at which `handle_timeout` must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.exited {
            return None;
        }
        let skew_num = self.skew_num();
        // A holder's deadline may come sooner than a standby's (§4.2).
        let holder_skew_num = self.holder_skew_num(self.now);
        let mut t = self.timers.get(Timer::Hello).unwrap_or(self.now);
        let handled = self.now;
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x.filter(|&x| x > handled) {
                t = t.min(x);
            }
        };
        if self.state.holds_wan() && self.s.wan_hello().is_some() {
            consider(self.timers.get(Timer::WanHello));
        }
        if self.state == State::Init {
            consider(self.timers.get(Timer::Listen));
        }
        consider(self.timers.get(Timer::Takeover));
        consider(self.timers.get(Timer::Prepare));
        consider(self.timers.get(Timer::Retransmit));
        consider(self.timers.get(Timer::Retransmit6));
        consider(self.run.map(|r| r.started.plus(self.s.handover_timeout())));
        consider(self.preempt_since.map(|p| p.plus(self.s.preempt_delay)));
        // The step-up wish lapses: its flag leaves our hellos at once.
        consider(self.timers.get(Timer::StepUp));
        for p in &self.peers {
            consider(p.alive_until(Engine::skew_num_of(p, holder_skew_num, skew_num)));
        }
        consider(self.refusal_log.deadline());
        if self.state == State::Active {
            consider(self.timers.get(Timer::Nudge));
            consider(self.timers.get(Timer::LanAnnounce));
            consider(self.timers.get(Timer::Renew));
            consider(self.lease.as_ref().map(|l| l.expires()));
            consider(self.timers.get(Timer::Renew6));
            consider(self.timers.get(Timer::Advert));
            consider(self.lease6.as_ref().and_then(|b| b.expires()));
        }
        Some(t)
    }

    // ---- inputs ------------------------------------------------------------

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
                self.rx.keep(msg.tlvs);
            }
            Ok(None) => {}
            Err(e) => {
                self.counters.count_error(e);
                self.refused(now, path, frame, Reason::of(e), Some(e));
            }
        }
        self.evaluate(now);
    }

    /// The hellos due at `now`, and nothing else: the daemon sends them
    /// before it reads what arrived, so that a flood of frames cannot
    /// delay them (the frames and the other timers follow in the same
    /// turn of its loop, frames first).
    pub fn handle_hellos_due(&mut self, now: Instant) {
        if self.exited {
            return;
        }
        self.check_stall(now);
        if self.timers.is_due(Timer::Hello, now) {
            // The round sets the next tick, at its pace.
            self.timers.stop(Timer::Hello);
            self.hello_tick(now);
        }
        let wan_hello_due = self.state.holds_wan() && self.timers.is_due(Timer::WanHello, now);
        if let Some(iv) = self.s.wan_hello().filter(|_| wan_hello_due) {
            self.timers.set(Timer::WanHello, now.plus(iv));
            self.send_wan_hello(now);
        }
    }

    /// This router's MAC on a path: the unicast destination its peers use.
    fn own_mac(&self, path: Path) -> Option<Mac> {
        match path {
            Path::Wan => Some(self.s.shared_mac),
            Path::Control(i) => self.s.control_macs.get(usize::from(i)).copied(),
        }
    }

    /// Counts and (rate-limited) reports a frame refused or dropped for
    /// `reason`.
    fn refused(&mut self, now: Instant, path: Path, frame: &[u8], reason: Reason, error: Option<wire::Error>) {
        let src = frame.get(6..12).and_then(|s| <[u8; 6]>::try_from(s).ok()).map_or(Mac::default(), Mac);
        let router_id = EthernetFrame::new_checked(frame)
            .ok()
            .and_then(|eth| Packet::new_checked(eth.payload()).ok().map(|p| p.router_id()));
        let sample = Sample { src, path, error, router_id };
        if let Some(line) = self.refusal_log.note(now, reason, sample) {
            self.actions.push_back(Action::Refused(line));
        }
    }

    /// Parses, authenticates and replay-checks a frame, and records the
    /// sender. `Ok(None)`: valid but not for us (other group, other
    /// receiver, own frame), or dropped and reported.
    fn accept(&mut self, now: Instant, path: Path, frame: &[u8]) -> Result<Option<(usize, Message)>, wire::Error> {
        let eth = EthernetFrame::new_checked(frame)?;
        if eth.ethertype() != self.s.ethertype {
            self.counters.rx_other = self.counters.rx_other.saturating_add(1);
            return Ok(None);
        }
        // Bound to its receiver (§3.1): addressed to us on this path, or to
        // every router. Others are flooded to us by a switch still learning.
        let dst = eth.dst();
        if dst != MULTICAST_MAC && Some(dst) != self.own_mac(path) {
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
        let msg = Message::parse_reusing(&pkt, dst, &self.s.keys, &mut self.rx)
            .inspect_err(|e| self.note_refused(now, &pkt, key_id, *e))?;
        match self.admit(now, path, frame, eth.src(), key_id, &msg) {
            Ok(Some(idx)) => Ok(Some((idx, msg))),
            // Its lists serve the next frame.
            other => {
                self.rx.keep(msg.tlvs);
                other.map(|_| None)
            }
        }
    }

    /// Replay-checks a message from `src` and records its sender, whose
    /// index it returns. `Ok(None)`: valid but dropped (our own, or an
    /// older hello overtaken), or dropped and reported.
    fn admit(
        &mut self,
        now: Instant,
        path: Path,
        frame: &[u8],
        src: Mac,
        key_id: Option<u8>,
        msg: &Message,
    ) -> Result<Option<usize>, wire::Error> {
        // A control link tied to the WAN device carries the WAN's frames:
        // a WAN frame there was heard on the WAN (§2.5).
        let path = match path {
            Path::Control(i) if msg.flags.has(Flags::WAN) && self.control_tied.get(usize::from(i)) == Some(&true) => {
                Path::Wan
            }
            p => p,
        };
        if msg.router_id == self.s.router_id {
            self.counters.rx_own = self.counters.rx_own.saturating_add(1);
            // Our own frame looped back says nothing; from another MAC it
            // is a router configured with our id.
            if Some(src) != self.own_mac(path) {
                self.refused(now, path, frame, Reason::Own, None);
            }
            return Ok(None);
        }
        self.replay.check(msg.router_id, msg.epoch, msg.seq)?;
        if msg.flags.has(Flags::WAN) != (path == Path::Wan) {
            // A WAN frame on a control link (or the reverse) means the two
            // segments are bridged together: a loop the operator must fix.
            self.counters.rx_path_mismatch = self.counters.rx_path_mismatch.saturating_add(1);
            self.refused(now, path, frame, Reason::PathMismatch, None);
            return Ok(None);
        }
        let idx = match self.peers.iter().position(|p| p.router_id == msg.router_id) {
            Some(i) => i,
            None if self.peers.len() >= MAX_PEERS => {
                self.counters.rx_peer_limit = self.counters.rx_peer_limit.saturating_add(1);
                self.refused(now, path, frame, Reason::PeerLimit, None);
                return Ok(None);
            }
            None => {
                self.peers.push(Peer::new(msg.router_id));
                self.peers.len() - 1
            }
        };
        self.refused.retain(|r| r.router_id != msg.router_id);
        let own = self.s.bound(path, msg.state);
        if own.exceeded_by(msg) {
            self.counters.rx_claim_bounded = self.counters.rx_claim_bounded.saturating_add(1);
            self.refused(now, path, frame, Reason::ClaimBounded, None);
        }
        let was = self.peers[idx].state;
        if !self.peers[idx].heard(now, path, src, msg, key_id, own) && msg.kind == MessageType::Hello {
            // An older hello overtaken by a newer frame: proof of life only.
            return Ok(None);
        }
        if self.state == State::Standby && was == State::TakingOver && msg.state == State::Standby {
            // It gave its takeover up on hearing an active we may not
            // have heard yet: no takeover at once, one dead interval to
            // hear it (§5.3).
            self.timers.set(Timer::Takeover, now.plus(self.own_dead_interval()));
        }
        Ok(Some(idx))
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

    /// Timers: call when `poll_timeout` has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.exited {
            return;
        }
        self.handle_hellos_due(now);
        for line in self.refusal_log.due(now) {
            self.actions.push_back(Action::Refused(line));
        }
        if self.timers.is_due(Timer::Prepare, now) {
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

    /// Carrier of the LAN gateway devices: `false` when every one of them
    /// lost it (the router cannot serve its LAN: effective priority 0, and
    /// an active leaves); `true` when one has it again, which makes an
    /// active announce the gateway at once (clients that learnt another
    /// router's MAC meanwhile move back).
    pub fn handle_lan_link(&mut self, now: Instant, up: bool) {
        self.lan_up = up;
        if up && self.state.holds_wan() {
            self.actions.push_back(Action::AnnounceLan);
        }
        self.evaluate(now);
    }

    /// Carrier of control path `index`'s device. A handover offer cannot
    /// travel on a path that is down, so a router that must leave the
    /// active role hands over on the WAN instead (§5.7). A path that works
    /// again (carrier back, or its device re-created: netifd re-creates the
    /// LAN bridge on every network restart) gets one multicast hello now,
    /// so that the peers there hear of us at once rather than at the next
    /// round.
    pub fn handle_control_link(&mut self, now: Instant, index: usize, up: bool) {
        let Some(c) = self.control_up.get_mut(index) else { return };
        *c = up;
        if up && !self.exited {
            if let Ok(i) = u8::try_from(index) {
                self.send(now, Path::Control(i), wire::MULTICAST_MAC, MessageType::Hello, None);
            }
        }
        self.evaluate(now);
    }

    /// Control path `index`'s device is tied to the WAN device, or no
    /// longer: while it is, the WAN frames that arrive on it count as
    /// heard on the WAN (the system sends nothing on it meanwhile).
    pub fn handle_control_tied(&mut self, index: usize, tied: bool) {
        if let Some(t) = self.control_tied.get_mut(index) {
            *t = tied;
        }
    }

    /// The fence was re-installed with an empty permission set (after
    /// `nft flush ruleset`): an open WAN gets its permission back at once.
    pub fn handle_fence_restored(&mut self, now: Instant) {
        self.check_stall(now);
        if self.wan_open {
            self.refresh_permit(now);
        }
    }

    /// The system finished what `Action::Prepare` asked.
    pub fn handle_prepared(&mut self, now: Instant) {
        if self.timers.get(Timer::Prepare).is_some() {
            self.finish_prepare(now);
            self.evaluate(now);
        }
    }

    /// A lease bound or renewed by the DHCP client (hook or renewal).
    pub fn handle_lease(&mut self, now: Instant, wire: Lease4, client_id: Option<Vec<u8>>) {
        let changed = self.lease.as_ref().is_none_or(|l| !l.is_valid(now) || !l.same_binding(&wire));
        let client_id = client_id.or_else(|| self.lease.as_ref().and_then(|l| l.client_id.clone()));
        let lease = Lease { wire, client_id, learned: now };
        self.timers.set(Timer::Renew, lease.renew_at());
        // A renewal's answer, or a fresh lease that makes it moot.
        self.timers.stop(Timer::Retransmit);
        self.rebooting = None;
        self.lease = Some(lease);
        self.store_lease(now);
        if self.state.holds_wan() && (changed || self.applied.is_none()) {
            self.apply_lease(now);
            // A new address: tell the ISP gateway and the switch.
            self.actions.push_back(Action::Announce);
        }
        self.evaluate(now);
    }

    /// A lease kept from before a restart (system::stored_lease), its
    /// times as of `now`: asked back with INIT-REBOOT when this router
    /// takes the WAN without a lease from a peer.
    pub fn handle_kept_lease(&mut self, now: Instant, wire: Lease4, client_id: Option<Vec<u8>>) {
        self.kept = Some(Lease { wire, client_id, learned: now });
    }

    /// The server refused the lease (NAK): stop using it.
    pub fn handle_lease_lost(&mut self, now: Instant) {
        self.timers.stop(Timer::Retransmit);
        if let Some(l) = &mut self.lease {
            l.wire.valid_left = 0;
            l.learned = now;
        }
        // Refused: not to be asked for again, after a restart either.
        self.rebooting = None;
        self.stored = None;
        self.actions.push_back(Action::StoreLease { lease: None, client_id: None });
        if self.state.holds_wan() {
            self.withdraw_lease();
            // A refused INIT-REBOOT leaves no address to ask for.
            self.acquire(now);
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
                    if self.timers.take(Timer::StepUp).is_some() {
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
}

#[cfg(test)]
mod tests;
