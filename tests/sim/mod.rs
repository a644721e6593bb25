//! A deterministic multi-router simulator for the engine: virtual clock,
//! simulated WAN and control links (loss, delay, partition, one-way cuts),
//! crash, hang and restart of routers, a router's LAN side lost (its LAN
//! device without carrier, or cut silently and seen by a fatal LAN
//! tracker), a control link tied to the WAN device, a DHCP server that answers, stays silent or refuses (its
//! DHCPv6 side answers or stays silent with it), and an
//! upstream tracker per router run by the daemon's own `tracker::Schedule`
//! (its probes answered, or timed out when the upstream is dead).
//! Invariants are checked after every event; any breach is recorded with
//! the time.

#![allow(dead_code)]

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use vwrp::engine::{
    Action, Command, Engine, Exchange6, Path, RETRANSMIT_INTERVAL, RETRANSMITS, Settings, State, TrackerSpec, Weight,
};
use vwrp::time::Instant;
use vwrp::tracker::Schedule;
use vwrp::wire::{Flags, Ia6, Key, Keyring, Lease4, Lease6, Mac, Server6};

pub const SHARED_MAC: Mac = Mac([0x02, 0x76, 0x77, 0x72, 0x70, 0x01]);
pub const LEASE_ADDR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
/// The group's DHCPv6 identity: DUID-LL of the shared MAC.
pub const DUID: [u8; 10] = [0, 3, 0, 1, 0x02, 0x76, 0x77, 0x72, 0x70, 0x01];
pub const PREFIX: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x100, 0, 0, 0, 0, 0);

/// splitmix64: small, fast, and the same everywhere.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5eed_5eed_5eed_5eed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proc {
    Running,
    /// Stopped (SIGSTOP): frames pile up in its socket buffer.
    Hung,
    /// Crashed or exited: nothing runs, only its nft permission remains.
    Down,
}

pub struct Router {
    pub settings: Settings,
    pub engine: Option<Engine>,
    pub proc: Proc,
    /// The kernel-enforced forwarding permission (nft element timeout).
    pub permit_until: Instant,
    /// When the permission last went from lapsed or withdrawn to granted.
    pub opened_at: Instant,
    pub last_state: State,
    pub applied: Option<Ipv4Addr>,
    /// The DHCPv6 binding is configured.
    pub applied6: bool,
    next_wake: Option<Instant>,
    inbox: VecDeque<(Path, Vec<u8>)>,
    pub upstream_dead: bool,
    /// The upstream (wan_only) tracker, as the daemon runs it.
    pub tracker: Schedule,
    tracker_wake: Option<Instant>,
    /// Numbers the tracker's rounds: a result of an older one is stale.
    round: u64,
    /// A round's result that came while the process was stopped.
    held_result: Option<(u64, bool)>,
    /// The DHCP renewal in flight: (started, last copy sent, copies again).
    renewal: Option<(Instant, Instant, u8)>,
    /// Cut off from the WAN segment / the control link.
    pub isolated: [bool; 2],
    /// One-way cuts of its control link: its frames out are dropped
    /// (`mute`), or the frames to it (`deaf`).
    pub mute: bool,
    pub deaf: bool,
    /// Its LAN device (which is also its control link) has no carrier: cut
    /// both ways, and the daemon is told (a link event).
    pub lan_down: bool,
    /// Its LAN cut off silently (carrier stays): only its fatal LAN
    /// tracker notices, after a while.
    pub lan_cut: bool,
    /// Its WAN port is a port of its control bridge (the operator's
    /// change): the bridge takes the WAN's frames before its WAN socket
    /// sees them, so they arrive on its control link, and floods them to
    /// the LAN; its daemon sends nothing on the tied link, and its fence
    /// keeps the LAN's frames off the WAN.
    pub tied: bool,
    /// Link events and LAN tracker verdicts that came while it was stopped.
    held_events: Vec<Held>,
}

/// What the daemon of a stopped router reads when it runs again.
#[derive(Clone, Copy, Debug)]
enum Held {
    /// The LAN device's carrier.
    Lan(bool),
    /// The LAN tracker's verdict.
    LanTracker(bool),
    /// The control link tied to the WAN device, or untied.
    Tie(bool),
}

/// The engine's tracker index of the fatal LAN tracker (0 is the upstream).
pub const LAN_TRACKER: usize = 1;

impl Router {
    pub fn state(&self) -> State {
        self.engine.as_ref().map_or(self.last_state, |e| e.state())
    }
    pub fn gate_open(&self, now: Instant) -> bool {
        now < self.permit_until
    }
    pub fn running(&self) -> bool {
        self.proc == Proc::Running
    }
    /// The permission granted (again) for `timeout` from `now`.
    fn renew(&mut self, now: Instant, timeout: Duration) {
        if !self.gate_open(now) {
            self.opened_at = now;
        }
        self.permit_until = now.plus(timeout);
    }
}

#[derive(Debug)]
enum Ev {
    Deliver {
        to: usize,
        path: Path,
        frame: Vec<u8>,
    },
    Wake {
        to: usize,
    },
    Prepared {
        to: usize,
    },
    /// The DHCP server's answer: a lease (`ack`) or a refusal.
    LeaseReply {
        to: usize,
        ack: bool,
    },
    /// The DHCPv6 server's REPLY: the group's binding, times from now.
    Lease6Reply {
        to: usize,
    },
    TrackerWake {
        to: usize,
    },
    /// The result of tracker round `round`.
    ProbeResult {
        to: usize,
        round: u64,
        ok: bool,
    },
    /// The fatal LAN tracker's verdict, `fall` rounds after a silent cut
    /// (or `rise` rounds after it healed).
    LanVerdict {
        to: usize,
        up: bool,
    },
}

struct Item {
    t: Instant,
    seq: u64,
    ev: Ev,
}
impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        (self.t, self.seq) == (o.t, o.seq)
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> Ordering {
        (o.t, o.seq).cmp(&(self.t, self.seq))
    }
}

/// Per-path conditions of the simulated links.
#[derive(Clone, Copy, Debug, Default)]
pub struct Link {
    pub loss: f64,
    pub delay_min: Duration,
    pub delay_max: Duration,
}

/// Parameters shared by every router of one run.
#[derive(Clone, Debug)]
pub struct Params {
    pub hello: Duration,
    pub wan_hello: Option<Duration>,
    pub multiplier: u8,
    pub preempt: bool,
    pub preempt_delay: Duration,
    pub hold: Duration,
    pub keyed: bool,
    pub prepare_max: Duration,
    /// The upstream tracker: a round every `interval`, a dead upstream
    /// seen at `timeout`, `rise`/`fall` results in a row change its state.
    pub tracker_interval: Duration,
    pub tracker_timeout: Duration,
    pub rise: u8,
    pub fall: u8,
    /// Seconds of the leases the DHCP server grants.
    pub lease_secs: u32,
}

/// How the DHCP server treats requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dhcp {
    Answering,
    /// Answers nothing: no ACK, no NAK, no lease for a DISCOVER.
    Silent,
    /// Refuses renewals (NAK), as a server that lost its lease database;
    /// a DISCOVER gets a lease again, and then it answers as before.
    Refusing,
}

pub struct World {
    pub now: Instant,
    pub rng: Rng,
    pub routers: Vec<Router>,
    queue: BinaryHeap<Item>,
    seq: u64,
    pub links: [Link; 2],
    pub p: Params,
    /// The DHCP server's record: the lease is valid until then.
    pub isp_lease_until: Instant,
    pub violations: Vec<String>,
    trace: VecDeque<String>,
    pub verbose: bool,
    overlap_since: Option<Instant>,
    pub last_heal: Instant,
    /// (e): the WAN must never be closed everywhere (no crash in this run).
    pub graceful_only: bool,
    had_active: bool,
    pub tracker_handovers: Vec<Instant>,
    pub activations: Vec<(Instant, usize, String)>,
    pub wan_frames_by_standby: u64,
    pub dhcp: Dhcp,
    /// Routers whose DISCOVER a silent server has not answered yet.
    discovering: Vec<usize>,
    /// Every tracker verdict: (when, router, up).
    pub tracker_verdicts: Vec<(Instant, usize, bool)>,
    /// Every DHCP request the routers sent: (when, router, what).
    pub dhcp_log: Vec<(Instant, usize, DhcpSent)>,
    /// Every DHCPv6 exchange the routers started: (when, router, which).
    pub dhcp6_log: Vec<(Instant, usize, Exchange6)>,
    /// Router advertisements sent on the LAN: (when, router).
    pub adverts: Vec<(Instant, usize)>,
    /// The overlap in progress (b) began while one of the two said it must
    /// leave (the LEAVING flag): it lasts until it hears the new active.
    overlap_leaving: bool,
    /// Takeovers from an active that must leave, heard on the WAN only:
    /// (when, router).
    leaving_takeovers: Vec<(Instant, usize)>,
    /// Since when three routers forward in the overlap in progress (b).
    overlap_three: Option<Instant>,
    /// The longest two ends of a graceful handover forwarded together
    /// (since the target opened), with its bound (b).
    pub handover_overlap: Option<(Duration, Duration)>,
}

/// A DHCP request a router sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DhcpSent {
    Renew,
    Retransmit,
    Abandon,
    Discover { requested: Option<Ipv4Addr> },
}

fn link_idx(p: Path) -> usize {
    match p {
        Path::Wan => 0,
        Path::Control(_) => 1,
    }
}

pub fn control_mac(i: usize) -> Mac {
    Mac([0x02, 0, 0, 0, 1, i as u8 + 1])
}

impl World {
    pub fn new(seed: u64, p: Params) -> World {
        World {
            now: Instant::from_millis(1000),
            rng: Rng::new(seed),
            routers: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            links: [Link::default(); 2],
            p,
            isp_lease_until: Instant::ZERO,
            violations: Vec::new(),
            trace: VecDeque::new(),
            verbose: false,
            overlap_since: None,
            last_heal: Instant::ZERO,
            graceful_only: false,
            had_active: false,
            tracker_handovers: Vec::new(),
            activations: Vec::new(),
            wan_frames_by_standby: 0,
            dhcp: Dhcp::Answering,
            discovering: Vec::new(),
            tracker_verdicts: Vec::new(),
            dhcp_log: Vec::new(),
            dhcp6_log: Vec::new(),
            adverts: Vec::new(),
            overlap_leaving: false,
            leaving_takeovers: Vec::new(),
            overlap_three: None,
            handover_overlap: None,
        }
    }

    /// How long the upstream tracker takes at most to see a dead upstream:
    /// the round in flight may still be answered, then `fall` rounds fail,
    /// the last at its timeout (docs/CONFIG.md).
    pub fn tracker_detection_bound(&self) -> Duration {
        self.p.tracker_interval * u32::from(self.p.fall) + self.p.tracker_timeout
    }

    pub fn dead_interval(&self) -> Duration {
        self.p.hello * u32::from(self.p.multiplier)
    }

    fn log(&mut self, s: String) {
        let line = format!("{} {}", self.now, s);
        if self.verbose {
            println!("{line}");
        }
        if self.trace.len() >= 400 {
            self.trace.pop_front();
        }
        self.trace.push_back(line);
    }

    pub fn trace(&self) -> String {
        self.trace.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    fn violate(&mut self, s: String) {
        self.log(format!("VIOLATION {s}"));
        if self.violations.len() < 10 {
            self.violations.push(format!("at {}: {s}", self.now));
        }
    }

    fn push(&mut self, t: Instant, ev: Ev) {
        self.seq += 1;
        self.queue.push(Item { t, seq: self.seq, ev });
    }

    pub fn settings(&self, i: usize, router_id: u32, priority: u8) -> Settings {
        let keys =
            if self.p.keyed { Keyring::new(vec![Key::new(7, b"simulation secret")]) } else { Keyring::default() };
        Settings {
            preempt: self.p.preempt,
            preempt_delay: self.p.preempt_delay,
            hello_interval: self.p.hello,
            wan_hello_interval: self.p.wan_hello,
            dead_multiplier: self.p.multiplier,
            shared_mac: SHARED_MAC,
            control_macs: vec![control_mac(i)],
            keys,
            hold_period: self.p.hold,
            nudge_interval: Some(Duration::from_secs(10)),
            prepare_timeout: self.p.hello * 10,
            client_id: vec![1, 2, 0x76, 0x77, 0x72, 0x70, 1],
            duid: DUID.to_vec(),
            trackers: vec![
                TrackerSpec { name: "ping".into(), weight: Weight::Penalty(250), wan_only: true },
                TrackerSpec { name: "lan".into(), weight: Weight::Fatal, wan_only: false },
            ],
            ..Settings::for_tests(router_id, priority)
        }
    }

    /// Adds a router and starts it now.
    pub fn add_router(&mut self, router_id: u32, priority: u8) -> usize {
        let i = self.routers.len();
        let settings = self.settings(i, router_id, priority);
        self.routers.push(Router {
            settings,
            engine: None,
            proc: Proc::Down,
            permit_until: Instant::ZERO,
            opened_at: Instant::ZERO,
            last_state: State::Init,
            applied: None,
            applied6: false,
            next_wake: None,
            inbox: VecDeque::new(),
            upstream_dead: false,
            tracker: Schedule::new(self.p.tracker_interval, self.p.rise, self.p.fall),
            tracker_wake: None,
            round: 0,
            held_result: None,
            renewal: None,
            isolated: [false; 2],
            mute: false,
            deaf: false,
            lan_down: false,
            lan_cut: false,
            tied: false,
            held_events: Vec::new(),
        });
        self.start(i);
        i
    }

    /// (Re)starts a router's daemon: new epoch, Init, table re-installed
    /// (so any old permission is gone).
    pub fn start(&mut self, i: usize) {
        let epoch = self.rng.next() as u32;
        let now = self.now;
        let r = &mut self.routers[i];
        r.engine = Some(Engine::new(r.settings.clone(), epoch, now));
        r.proc = Proc::Running;
        r.permit_until = r.permit_until.min(now);
        r.inbox.clear();
        r.tracker.stop();
        r.held_result = None;
        r.renewal = None;
        r.held_events.clear();
        // The daemon's first link dump; a silent cut is seen by its LAN
        // tracker again, some rounds later.
        if r.lan_down {
            if let Some(e) = r.engine.as_mut() {
                e.handle_control_link(now, 0, false);
                e.handle_lan_link(now, false);
            }
        }
        if r.tied {
            if let Some(e) = r.engine.as_mut() {
                e.handle_control_tied(0, true);
                e.handle_control_link(now, 0, false);
            }
        }
        let recut = r.lan_cut;
        self.log(format!("r{i} starts (epoch {epoch:#x})"));
        self.drain(i);
        if recut {
            let d = self.lan_detection();
            self.push(now.plus(d), Ev::LanVerdict { to: i, up: false });
        }
    }

    /// SIGKILL: the process is gone; its nft permission lapses by itself.
    pub fn crash(&mut self, i: usize) {
        let r = &mut self.routers[i];
        r.last_state = r.state();
        r.engine = None;
        r.proc = Proc::Down;
        r.next_wake = None;
        r.tracker.stop();
        r.tracker_wake = None;
        r.round += 1;
        self.log(format!("r{i} crashes"));
    }

    pub fn hang(&mut self, i: usize) {
        self.routers[i].proc = Proc::Hung;
        self.log(format!("r{i} hangs"));
    }

    /// SIGCONT: the socket buffer is read before the timers run.
    pub fn resume(&mut self, i: usize) {
        self.routers[i].proc = Proc::Running;
        self.log(format!("r{i} resumes"));
        for ev in std::mem::take(&mut self.routers[i].held_events) {
            self.apply_held(i, ev);
        }
        while let Some((path, frame)) = self.routers[i].inbox.pop_front() {
            let now = self.now;
            if let Some(e) = self.routers[i].engine.as_mut() {
                e.handle_frame(now, path, &frame);
            }
            self.drain(i);
        }
        let now = self.now;
        if let Some(e) = self.routers[i].engine.as_mut() {
            e.handle_timeout(now);
        }
        self.drain(i);
        // The tracker's probe socket was read too; its timers run late.
        if let Some((round, ok)) = self.routers[i].held_result.take() {
            self.tracker_result(i, round, ok);
        }
        self.tracker_turn(i);
    }

    pub fn command(&mut self, i: usize, c: Command) -> Result<(), &'static str> {
        let now = self.now;
        if self.routers[i].proc != Proc::Running {
            return Err("not running");
        }
        let Some(e) = self.routers[i].engine.as_mut() else { return Err("down") };
        let r = e.handle_command(now, c);
        self.log(format!("r{i} command {c:?} -> {r:?}"));
        self.drain(i);
        r
    }

    pub fn isolate(&mut self, i: usize, wan: bool, control: bool) {
        let was = self.routers[i].isolated;
        if (was[0] && !wan) || (was[1] && !control) {
            self.last_heal = self.now;
        }
        self.routers[i].isolated = [wan, control];
        self.log(format!("r{i} isolated wan={wan} control={control}"));
    }

    pub fn heal(&mut self) {
        for r in &mut self.routers {
            r.isolated = [false; 2];
            (r.mute, r.deaf) = (false, false);
        }
        for i in 0..self.routers.len() {
            self.set_tie(i, false);
        }
        self.links = [Link::default(); 2];
        self.last_heal = self.now;
        self.log("network healed".into());
    }

    /// A one-way cut of router i's control link: its frames out are
    /// dropped (`out`), or the frames to it.
    pub fn cut_one_way(&mut self, i: usize, out: bool) {
        let r = &mut self.routers[i];
        if out {
            r.mute = true;
        } else {
            r.deaf = true;
        }
        self.log(format!("r{i} control link cut one way: {}", if out { "out" } else { "in" }));
    }

    /// Router i's LAN device (its control link too) loses carrier, or gets
    /// it back: cut both ways, and a link event for its daemon.
    pub fn set_lan(&mut self, i: usize, up: bool) {
        if self.routers[i].lan_down != up {
            return;
        }
        self.routers[i].lan_down = !up;
        if up {
            self.last_heal = self.now;
        }
        self.log(format!("r{i} LAN carrier {}", if up { "back" } else { "lost" }));
        self.deliver_held(i, Held::Lan(up));
    }

    /// Router i's WAN port put into its control bridge, or taken out again
    /// (a link event for its daemon).
    pub fn set_tie(&mut self, i: usize, tied: bool) {
        if self.routers[i].tied == tied {
            return;
        }
        self.routers[i].tied = tied;
        if !tied {
            self.last_heal = self.now;
        }
        self.log(format!("r{i} control link {}", if tied { "tied to the WAN" } else { "untied" }));
        self.deliver_held(i, Held::Tie(tied));
    }

    /// Router i's LAN cut off without a carrier change (a switch between),
    /// or joined again: its fatal LAN tracker notices after its detection
    /// time.
    pub fn set_lan_cut(&mut self, i: usize, cut: bool) {
        if self.routers[i].lan_cut == cut {
            return;
        }
        self.routers[i].lan_cut = cut;
        if !cut {
            self.last_heal = self.now;
        }
        self.log(format!("r{i} LAN {}", if cut { "cut silently" } else { "joined again" }));
        let d = self.lan_detection();
        self.push(self.now.plus(d), Ev::LanVerdict { to: i, up: !cut });
    }

    /// How long the LAN tracker takes to see a change: `fall` (or `rise`)
    /// rounds of the tracker interval, at most.
    pub fn lan_detection(&mut self) -> Duration {
        let rounds = u32::from(self.p.fall.max(self.p.rise));
        self.p.tracker_interval.mul_f64((1 + self.rng.below(rounds as u64 * 100)) as f64 / 100.0)
    }

    /// An event for router i's daemon: handled now, kept while it is
    /// stopped, lost while it is down (a restart dumps the links).
    fn deliver_held(&mut self, i: usize, ev: Held) {
        match self.routers[i].proc {
            Proc::Running => self.apply_held(i, ev),
            Proc::Hung => self.routers[i].held_events.push(ev),
            Proc::Down => {}
        }
    }

    fn apply_held(&mut self, i: usize, ev: Held) {
        let now = self.now;
        let (lan_down, tied) = (self.routers[i].lan_down, self.routers[i].tied);
        if let Some(e) = self.routers[i].engine.as_mut() {
            match ev {
                Held::Lan(up) => {
                    e.handle_control_link(now, 0, up && !tied);
                    e.handle_lan_link(now, up);
                }
                Held::LanTracker(up) => e.handle_tracker(now, LAN_TRACKER, up),
                Held::Tie(t) => {
                    e.handle_control_tied(0, t);
                    e.handle_control_link(now, 0, !t && !lan_down);
                }
            }
        }
        self.drain(i);
    }

    /// Whether router i's LAN side works (carrier, and not cut).
    pub fn lan_ok(&self, i: usize) -> bool {
        !self.routers[i].lan_down && !self.routers[i].lan_cut
    }

    /// Carries out a router's actions, checking what it sends on the WAN.
    fn drain(&mut self, i: usize) {
        while let Some(a) = self.routers[i].engine.as_mut().and_then(|e| e.poll_action()) {
            let now = self.now;
            match a {
                Action::Send { path, frame } => {
                    if path == Path::Wan {
                        // (a) only a router holding the WAN speaks there.
                        let st = frame.get(14 + 3).copied().unwrap_or(255);
                        let holds = st == State::Active as u8 || st == State::HandingOver as u8;
                        if !holds || !self.routers[i].gate_open(now) {
                            self.wan_frames_by_standby += 1;
                            self.violate(format!(
                                "(a) r{i} sent on the WAN in state {st} gate {}",
                                self.routers[i].gate_open(now)
                            ));
                        }
                        // The fence's egress chain renews the permission
                        // from a FORWARDING frame, as the kernel does
                        // (src/system/nft.rs), even one the daemon did
                        // not send on a tick.
                        let flags = frame.get(14 + vwrp::wire::FLAGS_OFFSET).copied().unwrap_or(0);
                        let permit = self.routers[i].engine.as_ref().map(|e| e.settings().permit_timeout());
                        if let Some(p) = permit.filter(|_| flags & Flags::FORWARDING != 0) {
                            self.routers[i].renew(now, p);
                        }
                    }
                    self.transmit(i, path, frame);
                }
                Action::RefreshPermit { timeout } => self.routers[i].renew(now, timeout),
                Action::CloseWan => self.routers[i].permit_until = self.routers[i].permit_until.min(now),
                Action::Prepare => {
                    let d = Duration::from_micros(self.rng.below(self.p.prepare_max.as_micros() as u64 + 1));
                    self.push(now.plus(d), Ev::Prepared { to: i });
                }
                Action::ApplyLease { lease } => {
                    if lease.valid_left == 0 {
                        self.violate(format!("r{i} applied an expired lease"));
                    }
                    self.routers[i].applied = Some(lease.address);
                }
                Action::WithdrawLease => self.routers[i].applied = None,
                Action::AcquireLease { requested, .. } => {
                    if self.routers[i].engine.as_ref().and_then(|e| e.lease()).is_some_and(|l| l.is_valid(now)) {
                        self.violate(format!("r{i} sent DISCOVER while it knew a valid lease"));
                    }
                    self.dhcp_log.push((now, i, DhcpSent::Discover { requested }));
                    if self.dhcp == Dhcp::Silent {
                        self.discovering.push(i);
                    } else {
                        // A refusing server learns the lease again.
                        self.dhcp = Dhcp::Answering;
                        let t = now.plus(Duration::from_millis(20));
                        self.push(t, Ev::LeaseReply { to: i, ack: true });
                    }
                }
                Action::RenewLease { lease, .. } => {
                    if lease.address != LEASE_ADDR {
                        self.violate(format!("r{i} renewed a foreign address"));
                    }
                    self.dhcp_log.push((now, i, DhcpSent::Renew));
                    // A new transaction replaces one still unanswered.
                    self.routers[i].renewal = Some((now, now, 0));
                    self.answer_renewal(i);
                }
                Action::RetransmitRenewal => {
                    self.dhcp_log.push((now, i, DhcpSent::Retransmit));
                    // (g) the same request again, 2 s after the last copy, at most 3 times.
                    match self.routers[i].renewal {
                        Some((start, last, n)) if n < RETRANSMITS && now == last.plus(RETRANSMIT_INTERVAL) => {
                            self.routers[i].renewal = Some((start, now, n + 1));
                        }
                        r => self.violate(format!("(g) r{i} retransmitted a renewal out of turn: {r:?}")),
                    }
                    self.answer_renewal(i);
                }
                Action::AbandonRenewal => {
                    self.dhcp_log.push((now, i, DhcpSent::Abandon));
                    match self.routers[i].renewal.take() {
                        Some((_, last, n)) if n == RETRANSMITS && now == last.plus(RETRANSMIT_INTERVAL) => {}
                        r => self.violate(format!("(g) r{i} gave a renewal up out of turn: {r:?}")),
                    }
                }
                Action::Transition { from, to, reason } => {
                    self.log(format!("r{i} {} -> {}: {reason}", from.as_str(), to.as_str()));
                    if to == State::TakingOver && reason.contains("must leave") {
                        self.leaving_takeovers.push((now, i));
                    }
                    if to == State::Active {
                        let eff = self.routers[i].engine.as_ref().map_or(1, |e| e.effective_priority());
                        if eff == 0 {
                            self.violate(format!("(h) r{i} became active while it cannot serve: {reason}"));
                        }
                        if reason.contains("(tracker)") {
                            self.tracker_handovers.push(now);
                        }
                        self.activations.push((now, i, reason));
                    }
                }
                Action::Exit => {
                    let r = &mut self.routers[i];
                    r.last_state = r.state();
                    r.proc = Proc::Down;
                    r.next_wake = None;
                    self.log(format!("r{i} exits"));
                }
                Action::StopDhcp => {
                    self.routers[i].renewal = None;
                    self.discovering.retain(|&r| r != i);
                }
                Action::Dhcp6 { exchange, lease, duid, .. } => {
                    // (j) the group is one DHCPv6 client that never
                    // solicits while it knows a valid binding.
                    let valid =
                        self.routers[i].engine.as_ref().and_then(|e| e.lease6()).is_some_and(|b| b.is_valid(now));
                    if exchange == Exchange6::Solicit && valid {
                        self.violate(format!("(j) r{i} solicited while it knew a valid binding"));
                    }
                    if exchange != Exchange6::Solicit && lease.prefixes.iter().any(|p| p.address != PREFIX) {
                        self.violate(format!("(j) r{i} renewed a foreign prefix"));
                    }
                    if duid != DUID {
                        self.violate(format!("(j) r{i} is another DHCPv6 client"));
                    }
                    self.dhcp6_log.push((now, i, exchange));
                    if self.dhcp != Dhcp::Silent {
                        let t = now.plus(Duration::from_millis(2));
                        self.push(t, Ev::Lease6Reply { to: i });
                    }
                }
                Action::RetransmitDhcp6 | Action::AbandonDhcp6 => {}
                Action::ApplyLease6 { lease } => {
                    let st = self.routers[i].state();
                    if !(st.holds_wan() || st == State::TakingOver) || lease.prefixes.is_empty() {
                        self.violate(format!("r{i} applied the IPv6 binding in state {}", st.as_str()));
                    }
                    self.routers[i].applied6 = true;
                }
                Action::WithdrawLease6 { .. } => self.routers[i].applied6 = false,
                Action::AdvertiseRouter => {
                    // (i) only the forwarder advertises a default router:
                    // never a standby.
                    let r = &self.routers[i];
                    let st = r.state();
                    if !(st.holds_wan() || st == State::TakingOver) || !r.gate_open(now) || !r.applied6 {
                        self.violate(format!("(i) r{i} advertised a default router in state {}", st.as_str()));
                    }
                    self.adverts.push((now, i));
                }
                // The simulated routers keep no lease across a crash (their
                // state directory is gone with them): none to ask back.
                Action::RebootLease { .. } => self.violate(format!("r{i} asked back a lease it never kept")),
                Action::Announce
                | Action::AnnounceLan
                | Action::DropLanGateway
                | Action::Nudge
                | Action::RunHooks(_)
                | Action::StoreLease { .. }
                | Action::Refused(_) => {}
            }
        }
        if self.routers[i].proc == Proc::Down {
            self.routers[i].engine = None;
            return;
        }
        self.tracker_turn(i);
        let t = self.routers[i].engine.as_ref().and_then(|e| e.poll_timeout());
        if let Some(t) = t {
            let t = t.max(self.now);
            if self.routers[i].next_wake != Some(t) {
                self.routers[i].next_wake = Some(t);
                self.push(t, Ev::Wake { to: i });
            }
        }
    }

    /// Frames out of router i on link li are lost.
    fn tx_cut(&self, i: usize, li: usize) -> bool {
        let r = &self.routers[i];
        r.isolated[li] || (li == 1 && (r.mute || r.lan_down || r.lan_cut || r.tied))
    }

    /// Frames into router i on link li are lost.
    fn rx_cut(&self, i: usize, li: usize) -> bool {
        let r = &self.routers[i];
        r.isolated[li] || (li == 1 && (r.deaf || r.lan_down || r.lan_cut))
    }

    fn transmit(&mut self, from: usize, path: Path, frame: Vec<u8>) {
        let li = link_idx(path);
        if self.tx_cut(from, li) {
            return;
        }
        let dst = Mac([frame[0], frame[1], frame[2], frame[3], frame[4], frame[5]]);
        let link = self.links[li];
        // A tied router's bridge floods the WAN's frames to the LAN.
        let reflected = path == Path::Wan
            && (0..self.routers.len())
                .any(|t| t != from && self.routers[t].tied && !self.rx_cut(t, 0) && !self.tx_cut_lan(t));
        for to in 0..self.routers.len() {
            if to == from || (path != Path::Wan && !dst.is_multicast() && dst != control_mac(to)) {
                continue;
            }
            let tied = self.routers[to].tied;
            // A tied router hears the WAN on its control link; the others
            // get the copy a tied bridge floods there too.
            let mut on = Vec::with_capacity(2);
            if !self.rx_cut(to, li) {
                on.push(if path == Path::Wan && tied { Path::Control(0) } else { path });
            }
            if reflected && !tied && !self.rx_cut(to, 1) {
                on.push(Path::Control(0));
            }
            for p in on {
                if link.loss > 0.0 && self.rng.chance(link.loss) {
                    continue;
                }
                let span = link.delay_max.saturating_sub(link.delay_min).as_micros() as u64;
                let d = link.delay_min + Duration::from_micros(self.rng.below(span + 1));
                let t = self.now.plus(d);
                self.push(t, Ev::Deliver { to, path: p, frame: frame.clone() });
            }
        }
    }

    /// Router i's bridge cannot flood to the LAN (its LAN down or cut).
    fn tx_cut_lan(&self, i: usize) -> bool {
        let r = &self.routers[i];
        r.isolated[1] || r.lan_down || r.lan_cut
    }

    fn handle(&mut self, ev: Ev) {
        let now = self.now;
        match ev {
            Ev::Deliver { to, path, frame } => match self.routers[to].proc {
                Proc::Running => {
                    if let Some(e) = self.routers[to].engine.as_mut() {
                        e.handle_frame(now, path, &frame);
                    }
                    self.drain(to);
                }
                Proc::Hung => self.routers[to].inbox.push_back((path, frame)),
                Proc::Down => {}
            },
            Ev::Wake { to } => {
                if self.routers[to].next_wake == Some(now) && self.routers[to].running() {
                    self.routers[to].next_wake = None;
                    if let Some(e) = self.routers[to].engine.as_mut() {
                        e.handle_timeout(now);
                    }
                    self.drain(to);
                }
            }
            Ev::Prepared { to } => {
                if self.routers[to].running() {
                    if let Some(e) = self.routers[to].engine.as_mut() {
                        e.handle_prepared(now);
                    }
                    self.drain(to);
                }
            }
            Ev::LeaseReply { to, ack } => {
                let r = &self.routers[to];
                // The server answers only a router that is on the WAN
                // segment with its WAN open.
                if !(r.running() && !r.isolated[0] && r.gate_open(now)) {
                    return;
                }
                self.routers[to].renewal = None;
                if !ack {
                    self.log(format!("r{to} DHCPNAK"));
                    if let Some(e) = self.routers[to].engine.as_mut() {
                        e.handle_lease_lost(now);
                    }
                    self.drain(to);
                    return;
                }
                let secs = self.p.lease_secs;
                self.isp_lease_until = now.plus(Duration::from_secs(u64::from(secs)));
                let lease = Lease4 {
                    address: LEASE_ADDR,
                    prefix_len: 24,
                    gateway: Ipv4Addr::new(203, 0, 113, 1),
                    server_id: Ipv4Addr::new(203, 0, 113, 1),
                    lease_time: secs,
                    valid_left: secs,
                    renew_left: secs / 2,
                    rebind_left: secs / 8 * 7,
                    dns: vec![Ipv4Addr::new(203, 0, 113, 1)],
                };
                if let Some(e) = self.routers[to].engine.as_mut() {
                    e.handle_lease(now, lease, None);
                }
                self.drain(to);
            }
            Ev::Lease6Reply { to } => {
                let r = &self.routers[to];
                if !(r.running() && !r.isolated[0] && r.gate_open(now)) {
                    return;
                }
                let ia = |address, prefix_len| Ia6 { address, prefix_len, preferred_left: 300, valid_left: 600 };
                let lease = Lease6 {
                    addresses: vec![ia(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 0x10), 128)],
                    prefixes: vec![ia(PREFIX, 56)],
                    duid: Some((1, DUID.to_vec())),
                    server: Some(Server6 {
                        duid: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1],
                        renew_left: 150,
                        rebind_left: 240,
                    }),
                    ..Lease6::default()
                };
                if let Some(e) = self.routers[to].engine.as_mut() {
                    e.handle_lease6(now, lease);
                }
                self.drain(to);
            }
            Ev::TrackerWake { to } => {
                if self.routers[to].tracker_wake == Some(now) {
                    self.routers[to].tracker_wake = None;
                    if self.routers[to].running() {
                        self.tracker_turn(to);
                    }
                }
            }
            Ev::ProbeResult { to, round, ok } => match self.routers[to].proc {
                Proc::Running => self.tracker_result(to, round, ok),
                Proc::Hung => self.routers[to].held_result = Some((round, ok)),
                Proc::Down => {}
            },
            // Only the verdict that matches the LAN now (a later change
            // overtakes an earlier one).
            Ev::LanVerdict { to, up } if up != self.routers[to].lan_cut => {
                self.log(format!("r{to} LAN tracker {}", if up { "up" } else { "down" }));
                self.deliver_held(to, Held::LanTracker(up));
            }
            Ev::LanVerdict { .. } => {}
        }
    }

    /// The DHCP server's answer to a renewal's request, if it gives one.
    fn answer_renewal(&mut self, i: usize) {
        let ack = match self.dhcp {
            Dhcp::Answering => true,
            Dhcp::Refusing => false,
            Dhcp::Silent => return,
        };
        let t = self.now.plus(Duration::from_millis(2));
        self.push(t, Ev::LeaseReply { to: i, ack });
    }

    /// Sets the DHCP server's behaviour. Back to answering, it answers the
    /// DISCOVERs it ignored (udhcpc keeps asking).
    pub fn set_dhcp(&mut self, d: Dhcp) {
        self.log(format!("DHCP server {d:?}"));
        self.dhcp = d;
        if d != Dhcp::Silent {
            let t = self.now.plus(Duration::from_millis(20));
            for i in std::mem::take(&mut self.discovering) {
                self.push(t, Ev::LeaseReply { to: i, ack: true });
            }
        }
    }

    /// The tracker's turn, as the daemon's loop gives it: it runs while the
    /// router holds the WAN with its gate open (wan_only), stops (and
    /// forgets) otherwise; a due round begins, its result scheduled.
    fn tracker_turn(&mut self, i: usize) {
        let now = self.now;
        let r = &mut self.routers[i];
        if !r.running() {
            return;
        }
        let want = r.state().holds_wan() && r.gate_open(now);
        if want && !r.tracker.is_running() {
            r.tracker.start(now, true);
        } else if !want && r.tracker.is_running() {
            r.tracker.stop();
            r.round += 1;
        }
        if r.tracker.round_due(now) {
            r.tracker.round_begun(now);
            r.round += 1;
            // An answer comes within half the timeout; a dead upstream's
            // round fails at the timeout.
            let ok = !r.upstream_dead && !r.isolated[0];
            let timeout = self.p.tracker_timeout;
            let after =
                if ok { Duration::from_micros(self.rng.below(timeout.as_micros() as u64 / 2 + 1)) } else { timeout };
            let (round, t) = (self.routers[i].round, now.plus(after));
            self.push(t, Ev::ProbeResult { to: i, round, ok });
        }
        let r = &mut self.routers[i];
        match r.tracker.poll_timeout() {
            Some(t) if r.tracker_wake != Some(t) => {
                r.tracker_wake = Some(t);
                self.push(t, Ev::TrackerWake { to: i });
            }
            _ => {}
        }
    }

    /// A round's result: through rise/fall, a change goes to the engine.
    fn tracker_result(&mut self, i: usize, round: u64, ok: bool) {
        let now = self.now;
        let r = &mut self.routers[i];
        if round != r.round || !r.tracker.in_round() {
            return;
        }
        if let Some(up) = r.tracker.round_ended(ok, now) {
            if let Some(e) = r.engine.as_mut() {
                e.handle_tracker(now, 0, up);
            }
            self.tracker_verdicts.push((now, i, up));
            self.log(format!("r{i} tracker {}", if up { "up" } else { "down" }));
            self.drain(i);
        } else {
            self.tracker_turn(i);
        }
    }

    /// Runs every event up to and including `until`, checking after each.
    pub fn run_until(&mut self, until: Instant) {
        while let Some(top) = self.queue.peek() {
            if top.t > until {
                break;
            }
            let Item { t, ev, .. } = self.queue.pop().expect("peeked");
            self.now = t;
            self.handle(ev);
            self.check();
        }
        self.now = until;
        self.check();
    }

    pub fn run_for(&mut self, d: Duration) {
        let t = self.now.plus(d);
        self.run_until(t);
    }

    /// Runs until `pred` holds or `limit` passes; returns when it held.
    pub fn run_until_pred(&mut self, limit: Duration, mut pred: impl FnMut(&World) -> bool) -> Option<Instant> {
        let end = self.now.plus(limit);
        loop {
            if pred(self) {
                return Some(self.now);
            }
            let next = match self.queue.peek() {
                Some(top) if top.t <= end => top.t,
                _ => {
                    self.run_until(end);
                    return pred(self).then_some(self.now);
                }
            };
            // Process every event at this instant before judging.
            self.run_until(next);
        }
    }

    pub fn actives(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|&i| self.routers[i].running() && self.routers[i].state() == State::Active)
            .collect()
    }

    /// Exactly one router active and no handover in flight.
    pub fn converged(&self) -> bool {
        self.actives().len() == 1
            && self.routers.iter().all(|r| !r.running() || !matches!(r.state(), State::TakingOver | State::HandingOver))
    }

    fn max_delay(&self) -> Duration {
        self.links[0].delay_max.max(self.links[1].delay_max)
    }

    /// Invariants that hold at every instant.
    fn check(&mut self) {
        let now = self.now;
        let open: Vec<usize> = (0..self.routers.len())
            .filter(|&i| self.routers[i].gate_open(now) && !self.routers[i].isolated[0])
            .collect();
        if !open.is_empty() {
            self.had_active = true;
        }
        // (b) two forwarders on the WAN only as the two ends of a handover;
        // when partitions of every path heal, each partition's active may
        // forward for one more hello, until it hears the best one.
        if open.len() >= 2 {
            let since = *self.overlap_since.get_or_insert(now);
            let states: Vec<State> = open.iter().map(|&i| self.routers[i].state()).collect();
            // One that must leave and is heard on the WAN only is taken
            // over from (§6.8); it closes when it hears the new active,
            // or when its permit lapses if it is stopped meanwhile.
            let leaving = open.iter().any(|&i| self.routers[i].engine.as_ref().is_some_and(|e| e.is_leaving()));
            // Or the other one took over because of it (the old active may
            // have stopped leaving since: a frame it sent earlier decided).
            let s = &self.routers[open[0]].settings;
            let opened_by = s.prepare_timeout + self.max_delay() * 2;
            let taker = self
                .leaving_takeovers
                .iter()
                .any(|&(ta, j)| open.contains(&j) && ta <= since && since.since(ta) <= opened_by);
            self.overlap_leaving |= (leaving || taker) && open.len() == 2;
            // The handover window: the target (TakingOver) opened, the
            // offerer (HandingOver) has not closed yet, or gave up (Active)
            // and closes on the late READY, or the target aborts on its
            // hello. Never HandingOver beside Active (§8 (b)). The target
            // gives up one handover timeout after it opened at the latest;
            // one that stopped keeps forwarding one permit timeout longer.
            let s = &self.routers[open[0]].settings;
            let handover_bound = s.handover_timeout() + s.permit_timeout();
            let target_opened = |of: &[usize]| -> Option<Instant> {
                let (targets, rest): (Vec<usize>, Vec<usize>) =
                    of.iter().partition(|&&i| self.routers[i].state() == State::TakingOver);
                let offerer = |i: &usize| matches!(self.routers[*i].state(), State::HandingOver | State::Active);
                (targets.len() == 1 && rest.len() == 1 && offerer(&rest[0])).then(|| self.routers[targets[0]].opened_at)
            };
            let pair_since = target_opened(&open).filter(|_| open.len() == 2).map(|at| now.since(at));
            if let Some(d) = pair_since.filter(|&d| self.handover_overlap.is_none_or(|(w, _)| d > w)) {
                self.handover_overlap = Some((d, handover_bound));
            }
            let handover_pair = pair_since.is_some_and(|d| d <= handover_bound);
            // Two actives that never met hear each other first on the WAN:
            // the bound is one hello of the slowest path.
            let slowest = self.p.hello.max(self.p.wan_hello.unwrap_or_default());
            let heal_bound = slowest + self.max_delay() * 2 + Duration::from_micros(1);
            // Under loss a standby may declare a live (or just crashed)
            // active dead early; the two resolve it when a hello gets
            // through (docs/PROTOCOL.md §7.4).
            let lossy = self.links.iter().any(|l| l.loss > 0.0);
            // Without WAN hellos, routers that lost every frame of each
            // other's start-up burst meet at the next discovery multicast.
            let meet = if self.p.wan_hello.is_some() { Duration::ZERO } else { vwrp::engine::DISCOVERY_INTERVAL };
            let loss_bound = slowest * (u32::from(self.p.multiplier) + 4) + meet + self.max_delay() * 2;
            let leaving_bound = s.permit_timeout() + self.max_delay() * 2 + Duration::from_micros(1);
            // A partition's active that crashed or stopped cannot hear the
            // other one once it heals: its permission lapses by itself.
            let running = open.iter().filter(|&&i| self.routers[i].running()).count();
            let linger_bound = heal_bound + s.permit_timeout();
            // Two that became active within D of each other, neither
            // having heard the other (standbys that cannot hear each other
            // each believe themselves the best, §4.2), hear each other's
            // first WAN hello within D (§6.5).
            let became = |i: usize| self.activations.iter().rev().find(|a| a.1 == i).map(|a| a.0);
            let race = match (open.len(), states.iter().all(|s| *s == State::Active)) {
                (2, true) => became(open[0]).zip(became(open[1])).is_some_and(|(x, y)| {
                    let (first, last) = (x.min(y), x.max(y));
                    last.since(first) <= self.max_delay() && now.since(last) <= heal_bound - slowest
                }),
                _ => false,
            };
            // The one that must leave was handing over: the target of
            // that handover may have opened too. Both close on the first
            // WAN hello of the one that took over (§6.8), or when their
            // permits lapse if they are stopped.
            let three_since = (open.len() == 3).then(|| *self.overlap_three.get_or_insert(now));
            let state_of = |i: usize| self.routers[i].state();
            let leaving_handover = three_since.is_some_and(|three_since| {
                now.since(three_since) <= leaving_bound
                    && open.iter().any(|&j| {
                        let rest: Vec<usize> = open.iter().copied().filter(|&i| i != j).collect();
                        state_of(j) == State::Active
                            && self
                                .leaving_takeovers
                                .iter()
                                .any(|&(ta, k)| k == j && ta <= three_since && three_since.since(ta) <= opened_by)
                            && target_opened(&rest).is_some_and(|at| now.since(at) <= handover_bound)
                    })
            });
            let ok = race
                || leaving_handover
                || handover_pair
                || (self.overlap_leaving && open.len() == 2 && now.since(since) <= leaving_bound)
                || (now.since(self.last_heal) <= heal_bound && self.last_heal > Instant::ZERO)
                || (running <= 1 && now.since(self.last_heal) <= linger_bound && self.last_heal > Instant::ZERO)
                || (lossy && now.since(since) <= loss_bound);
            if !ok {
                let desc: Vec<String> =
                    open.iter().map(|&i| format!("r{i}:{}", self.routers[i].state().as_str())).collect();
                self.violate(format!("(b) {} forwarding for {:?}: {}", open.len(), now.since(since), desc.join(",")));
                self.overlap_since = Some(now);
            }
        } else {
            self.overlap_since = None;
            self.overlap_leaving = false;
        }
        if open.len() != 3 {
            self.overlap_three = None;
        }
        // (e) graceful handovers never close the WAN everywhere.
        if self.graceful_only && self.had_active && open.is_empty() {
            self.violate("(e) WAN closed on every router".into());
        }
        // DHCP continuity: whoever forwards uses the group's lease, and
        // nobody keeps an expired one applied.
        for i in 0..self.routers.len() {
            let r = &self.routers[i];
            if r.running() && r.state() == State::Active && r.gate_open(now) {
                let known =
                    r.engine.as_ref().and_then(|e| e.lease()).filter(|l| l.is_valid(now)).map(|l| l.wire.address);
                if known.is_some() && r.applied != known {
                    self.violate(format!("r{i} forwards without the lease applied"));
                }
            }
            let r = &self.routers[i];
            let expired = r.engine.as_ref().and_then(|e| e.lease()).is_some_and(|l| now > l.expires());
            if r.running() && r.state() == State::Active && r.applied.is_some() && expired {
                self.violate(format!("r{i} keeps an expired lease applied"));
            }
            // The same for IPv6; and a router that does not hold the WAN
            // keeps none of it (its LAN prefix would answer for the LAN).
            // (A restarted router cannot know what it left configured
            // until it learns the binding from the active.)
            let r = &self.routers[i];
            let known6 = r.engine.as_ref().and_then(|e| e.lease6()).map(|b| b.is_valid(now));
            let valid6 = known6 == Some(true);
            let (st, running, applied6, open) = (r.state(), r.running(), r.applied6, r.gate_open(now));
            if running && st == State::Active && open && valid6 && !applied6 {
                self.violate(format!("r{i} forwards without the IPv6 binding applied"));
            }
            if running && applied6 && known6.is_some() && !(st.holds_wan() || st == State::TakingOver) {
                self.violate(format!("r{i} keeps the IPv6 binding in state {}", st.as_str()));
            }
        }
    }

    /// The standby that must win a hard failover: best claim among the
    /// running standbys.
    pub fn best_standby(&self) -> Option<usize> {
        self.best_standby_but(usize::MAX)
    }

    /// The best standby other than router `but`.
    pub fn best_standby_but(&self, but: usize) -> Option<usize> {
        (0..self.routers.len())
            .filter(|&i| i != but && self.routers[i].running() && self.routers[i].state() == State::Standby)
            .filter_map(|i| {
                let e = self.routers[i].engine.as_ref()?;
                (e.effective_priority() > 0).then_some((e.effective_priority(), e.router_id(), i))
            })
            .max()
            .map(|(_, _, i)| i)
    }
}
