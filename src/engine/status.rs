//! A snapshot of the engine for `vwrp status`, ubus and LuCI (the
//! daemon writes it as JSON).

use super::{Engine, TrackerState, Weight};
use crate::time::Instant;
use crate::wire;

/// Frames and events counted since start. Every refused frame lands in
/// exactly one `rx_*` error counter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub rx_ok: u64,
    pub rx_truncated: u64,
    pub rx_bad_version: u64,
    pub rx_malformed: u64,
    pub rx_unauthenticated: u64,
    pub rx_bad_key: u64,
    pub rx_bad_tag: u64,
    pub rx_replayed: u64,
    /// Other EtherType or other group: not ours, not an error.
    pub rx_other: u64,
    /// Our own router id: a loop, or a router id configured twice.
    pub rx_own: u64,
    /// A WAN frame on a control link or the reverse: segments bridged.
    pub rx_path_mismatch: u64,
    /// New routers ignored because MAX_PEERS are known already.
    pub rx_peer_limit: u64,
    /// Frames accepted whose dead interval (multiplier × hello interval)
    /// was longer than ours on that path, and cut to ours (§4.2).
    pub rx_claim_bounded: u64,
    pub tx: u64,
    pub tx_errors: u64,
    pub transitions: u64,
    pub takeovers: u64,
    pub handovers: u64,
    pub handovers_aborted: u64,
    pub prepare_timeouts: u64,
    pub stalls: u64,
    /// The WAN released without a handover: the router had to leave the
    /// active role and could offer it to no standby (§5.7).
    pub releases: u64,
}

impl Counters {
    pub(super) fn count_error(&mut self, e: wire::Error) {
        use wire::Error as E;
        let c = match e {
            E::Truncated => &mut self.rx_truncated,
            E::UnknownVersion(_) => &mut self.rx_bad_version,
            E::UnknownType(_) | E::BadState(_) | E::BadTlv(_) | E::DuplicateTlv(_) | E::BadField(_) => {
                &mut self.rx_malformed
            }
            E::Unauthenticated => &mut self.rx_unauthenticated,
            E::UnknownKey(_) => &mut self.rx_bad_key,
            E::BadTag => &mut self.rx_bad_tag,
            E::Replayed => &mut self.rx_replayed,
        };
        *c = c.saturating_add(1);
    }

    /// Every counter with its name in status, in order.
    pub fn named(&self) -> [(&'static str, u64); 22] {
        [
            ("rx_ok", self.rx_ok),
            ("rx_truncated", self.rx_truncated),
            ("rx_bad_version", self.rx_bad_version),
            ("rx_malformed", self.rx_malformed),
            ("rx_unauthenticated", self.rx_unauthenticated),
            ("rx_bad_key", self.rx_bad_key),
            ("rx_bad_tag", self.rx_bad_tag),
            ("rx_replayed", self.rx_replayed),
            ("rx_other", self.rx_other),
            ("rx_own", self.rx_own),
            ("rx_path_mismatch", self.rx_path_mismatch),
            ("rx_peer_limit", self.rx_peer_limit),
            ("rx_claim_bounded", self.rx_claim_bounded),
            ("tx", self.tx),
            ("tx_errors", self.tx_errors),
            ("transitions", self.transitions),
            ("takeovers", self.takeovers),
            ("handovers", self.handovers),
            ("handovers_aborted", self.handovers_aborted),
            ("prepare_timeouts", self.prepare_timeouts),
            ("stalls", self.stalls),
            ("releases", self.releases),
        ]
    }

    /// Frames refused as malformed or unauthentic.
    pub fn rx_errors(&self) -> u64 {
        [
            self.rx_truncated,
            self.rx_bad_version,
            self.rx_malformed,
            self.rx_unauthenticated,
            self.rx_bad_key,
            self.rx_bad_tag,
            self.rx_replayed,
        ]
        .iter()
        .fold(0u64, |a, b| a.saturating_add(*b))
    }
}

#[derive(Clone, Debug)]
pub struct PeerStatus {
    pub router_id: String,
    pub state: &'static str,
    pub priority: u8,
    pub effective_priority: u8,
    pub last_heard_ms: u64,
    pub alive: bool,
    /// Paths it was heard on ("wan", "control0", …).
    pub paths: Vec<String>,
    /// The key id its frames are signed with (`None`: unsigned).
    pub key_id: Option<u8>,
}

/// A router whose frames fail authentication here.
#[derive(Clone, Debug)]
pub struct RefusedStatus {
    pub router_id: String,
    pub key_id: Option<u8>,
    /// `unknown_key`, `bad_signature` or `unsigned`.
    pub reason: &'static str,
    pub frames: u64,
    pub last_heard_ms: u64,
}

/// The operator's last step-up.
#[derive(Clone, Debug)]
pub struct StepUpStatus {
    /// `pending`, `done` or `failed`.
    pub state: &'static str,
    pub ago_ms: u64,
    pub reason: String,
}

#[derive(Clone, Debug)]
pub struct LeaseStatus {
    pub address: String,
    pub prefix_len: u8,
    pub gateway: String,
    pub server_id: String,
    pub dns: Vec<String>,
    pub lease_time: u32,
    pub seconds_left: u32,
    pub valid: bool,
}

/// The DHCPv6 state (odhcp6c hook, or the active's hellos).
#[derive(Clone, Debug)]
pub struct Lease6Status {
    /// `address/prefix_len` with lifetimes left, for IA_NA and IA_PD.
    pub addresses: Vec<Ia6Status>,
    pub prefixes: Vec<Ia6Status>,
    pub dns: Vec<String>,
    pub gateway: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Ia6Status {
    pub address: String,
    pub prefix_len: u8,
    pub preferred_left: u32,
    pub valid_left: u32,
}

#[derive(Clone, Debug)]
pub struct TrackerStatus {
    pub name: String,
    pub state: &'static str,
    pub weight: String,
    pub wan_only: bool,
}

#[derive(Clone, Debug)]
pub struct TransitionStatus {
    pub ago_ms: u64,
    pub from: &'static str,
    pub to: &'static str,
    pub reason: String,
}

#[derive(Clone, Debug)]
pub struct Status {
    pub group: u8,
    pub router_id: String,
    pub state: &'static str,
    pub since_ms: u64,
    pub reason: String,
    pub priority: u8,
    pub configured_priority: u8,
    pub effective_priority: u8,
    pub preempt: bool,
    pub wan_open: bool,
    /// Some device carrying a LAN gateway address has carrier.
    pub lan_up: bool,
    pub authenticated: bool,
    /// Ids of this router's keys, the signing one first.
    pub key_ids: Vec<u8>,
    pub hold_left_ms: u64,
    pub step_up: Option<StepUpStatus>,
    pub peers: Vec<PeerStatus>,
    pub refused: Vec<RefusedStatus>,
    pub lease: Option<LeaseStatus>,
    pub lease6: Option<Lease6Status>,
    /// Written by the daemon after the others, each with its tracker's
    /// run time.
    pub trackers: Vec<TrackerStatus>,
    pub counters: Counters,
    pub transitions: Vec<TransitionStatus>,
}

impl Engine {
    pub fn status(&self, now: Instant) -> Status {
        let (skew_num, holder_skew_num) = (self.skew_num(), self.holder_skew_num(now));
        Status {
            group: self.s.group,
            router_id: format!("{:#x}", self.s.router_id),
            state: self.state.as_str(),
            since_ms: now.millis_since(self.since),
            reason: self.reason.clone(),
            priority: self.priority(),
            configured_priority: self.s.priority,
            effective_priority: self.effective_priority(),
            preempt: self.s.preempt && !self.preempt_suppressed,
            wan_open: self.wan_open,
            lan_up: self.lan_up,
            authenticated: !self.s.keys.is_empty(),
            key_ids: self.s.keys.ids(),
            hold_left_ms: self.timers.get(super::timers::Timer::Hold).map_or(0, |h| h.millis_since(now)),
            step_up: self.step_up.as_ref().map(|s| StepUpStatus {
                state: s.outcome.as_str(),
                ago_ms: now.millis_since(s.at),
                reason: s.reason.clone(),
            }),
            peers: self
                .peers
                .iter()
                .map(|p| PeerStatus {
                    router_id: format!("{:#x}", p.router_id),
                    state: p.state.as_str(),
                    priority: p.priority,
                    effective_priority: p.effective_priority,
                    last_heard_ms: p.last_heard().map_or(u64::MAX, |t| now.millis_since(t)),
                    alive: p.is_alive(now, Engine::skew_num_of(p, holder_skew_num, skew_num)),
                    paths: p.contacts.iter().map(|c| c.path.to_string()).collect(),
                    key_id: p.key_id,
                })
                .collect(),
            refused: self
                .refused
                .iter()
                .map(|r| RefusedStatus {
                    router_id: format!("{:#x}", r.router_id),
                    key_id: r.key_id,
                    reason: r.why.as_str(),
                    frames: r.frames,
                    last_heard_ms: now.millis_since(r.last_heard),
                })
                .collect(),
            lease: self.lease.as_ref().map(|l| {
                let w = l.at(now);
                LeaseStatus {
                    address: w.address.to_string(),
                    prefix_len: w.prefix_len,
                    gateway: w.gateway.to_string(),
                    server_id: w.server_id.to_string(),
                    dns: w.dns.iter().map(|d| d.to_string()).collect(),
                    lease_time: w.lease_time,
                    seconds_left: w.valid_left,
                    valid: l.is_valid(now),
                }
            }),
            lease6: self.lease6.as_ref().map(|b| {
                let l = b.at(now);
                let ia = |i: &wire::Ia6| Ia6Status {
                    address: i.address.to_string(),
                    prefix_len: i.prefix_len,
                    preferred_left: i.preferred_left,
                    valid_left: i.valid_left,
                };
                Lease6Status {
                    addresses: l.addresses.iter().map(ia).collect(),
                    prefixes: l.prefixes.iter().map(ia).collect(),
                    dns: l.dns.iter().map(|d| d.to_string()).collect(),
                    gateway: l.gateway.map(|g| g.to_string()),
                }
            }),
            trackers: self
                .s
                .trackers
                .iter()
                .zip(&self.trackers)
                .map(|(spec, st)| TrackerStatus {
                    name: spec.name.clone(),
                    state: match st {
                        TrackerState::Up => "up",
                        TrackerState::Down => "down",
                        TrackerState::Unknown => "unknown",
                    },
                    weight: match spec.weight {
                        Weight::Fatal => "fatal".into(),
                        Weight::Penalty(w) => w.to_string(),
                    },
                    wan_only: spec.wan_only,
                })
                .collect(),
            counters: self.counters.clone(),
            transitions: self
                .history
                .iter()
                .rev()
                .map(|t| TransitionStatus {
                    ago_ms: now.millis_since(t.at),
                    from: t.from.as_str(),
                    to: t.to.as_str(),
                    reason: t.reason.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
impl Status {
    /// Every kind of value a status holds, escapes included (the
    /// daemon's reply is checked against them).
    pub fn samples() -> Vec<Status> {
        let tracker = |name: &str, state, weight: &str, wan_only| TrackerStatus {
            name: name.into(),
            state,
            weight: weight.into(),
            wan_only,
        };
        let ia = |a: &str, l| Ia6Status { address: a.into(), prefix_len: l, preferred_left: 100, valid_left: 200 };
        let counters = Counters { rx_ok: 1, rx_peer_limit: 12, stalls: u64::MAX, ..Counters::default() };
        let one = Status {
            group: 7,
            router_id: "0xc0000201".into(),
            state: "active",
            since_ms: 1234,
            reason: "said \"hi\"\n\u{1}\u{7f}é\\/".into(),
            priority: 100,
            configured_priority: 101,
            effective_priority: 90,
            preempt: true,
            wan_open: true,
            lan_up: true,
            authenticated: false,
            key_ids: vec![],
            hold_left_ms: 0,
            step_up: Some(StepUpStatus {
                state: "failed",
                ago_ms: 3,
                reason: "router 0x2 did not hand the WAN over".into(),
            }),
            peers: vec![
                PeerStatus {
                    router_id: "0x2".into(),
                    state: "standby",
                    priority: 5,
                    effective_priority: 6,
                    last_heard_ms: u64::MAX,
                    alive: false,
                    paths: vec!["wan".into(), "control0".into()],
                    key_id: Some(1),
                },
                PeerStatus {
                    router_id: "0x3".into(),
                    state: "fault",
                    priority: 255,
                    effective_priority: 0,
                    last_heard_ms: 17,
                    alive: true,
                    paths: vec![],
                    key_id: None,
                },
            ],
            refused: vec![RefusedStatus {
                router_id: "0x9".into(),
                key_id: Some(3),
                reason: "unknown_key",
                frames: 4,
                last_heard_ms: 250,
            }],
            lease: Some(LeaseStatus {
                address: "203.0.113.10".into(),
                prefix_len: 24,
                gateway: "203.0.113.1".into(),
                server_id: "203.0.113.1".into(),
                dns: vec!["192.0.2.53".into(), "192.0.2.54".into()],
                lease_time: 3600,
                seconds_left: u32::MAX,
                valid: true,
            }),
            lease6: Some(Lease6Status {
                addresses: vec![ia("2001:db8::1", 128)],
                prefixes: vec![ia("2001:db8:1::", 56), ia("2001:db8:2::", 60)],
                dns: vec![],
                gateway: None,
            }),
            trackers: vec![
                tracker("up", "up", "fatal", true),
                tracker("pi\"ng", "down", "20", false),
                tracker("ext", "unknown", "255", false),
                tracker("sc", "up", "1", true),
                tracker("none", "up", "1", true),
                tracker("arp", "down", "fatal", false),
            ],
            counters,
            transitions: vec![
                TransitionStatus { ago_ms: 5, from: "standby", to: "active", reason: "peer dead".into() },
                TransitionStatus { ago_ms: 9, from: "init", to: "standby", reason: String::new() },
            ],
        };
        let two = Status {
            group: 8,
            router_id: "0x1".into(),
            state: "init",
            since_ms: 0,
            reason: String::new(),
            priority: 1,
            configured_priority: 1,
            effective_priority: 1,
            preempt: false,
            wan_open: false,
            lan_up: false,
            authenticated: true,
            key_ids: vec![2, 1],
            hold_left_ms: u64::MAX,
            step_up: None,
            peers: vec![],
            refused: vec![],
            lease: None,
            lease6: Some(Lease6Status {
                addresses: vec![],
                prefixes: vec![],
                dns: vec!["2001:db8::53".into()],
                gateway: Some("fe80::1".into()),
            }),
            trackers: vec![],
            counters: Counters::default(),
            transitions: vec![],
        };
        vec![one, two]
    }
}
