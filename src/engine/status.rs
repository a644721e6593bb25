//! A snapshot of the engine for `vwrp status`, ubus and LuCI.

use serde::Serialize;

use super::lease::age6;
use super::{Engine, TrackerState, Weight};
use crate::time::Instant;
use crate::wire;

/// Frames and events counted since start. Every refused frame lands in
/// exactly one `rx_*` error counter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
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
    pub tx: u64,
    pub tx_errors: u64,
    pub transitions: u64,
    pub takeovers: u64,
    pub handovers: u64,
    pub handovers_aborted: u64,
    pub prepare_timeouts: u64,
    pub stalls: u64,
}

impl Counters {
    pub(super) fn count_error(&mut self, e: wire::Error) {
        use wire::Error as E;
        let c = match e {
            E::Truncated => &mut self.rx_truncated,
            E::UnknownVersion(_) => &mut self.rx_bad_version,
            E::UnknownType(_) | E::BadState(_) | E::BadTlv(_) | E::DuplicateTlv(_) | E::BadField(_) => &mut self.rx_malformed,
            E::Unauthenticated => &mut self.rx_unauthenticated,
            E::UnknownKey(_) => &mut self.rx_bad_key,
            E::BadTag => &mut self.rx_bad_tag,
            E::Replayed => &mut self.rx_replayed,
        };
        *c = c.saturating_add(1);
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

#[derive(Clone, Debug, Serialize)]
pub struct PeerStatus {
    pub router_id: String,
    pub state: &'static str,
    pub priority: u8,
    pub effective_priority: u8,
    pub last_heard_ms: u64,
    pub alive: bool,
    /// Paths it was heard on ("wan", "control0", …).
    pub paths: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
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
#[derive(Clone, Debug, Serialize)]
pub struct Lease6Status {
    /// `address/prefix_len` with lifetimes left, for IA_NA and IA_PD.
    pub addresses: Vec<Ia6Status>,
    pub prefixes: Vec<Ia6Status>,
    pub dns: Vec<String>,
    pub gateway: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Ia6Status {
    pub address: String,
    pub prefix_len: u8,
    pub preferred_left: u32,
    pub valid_left: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct TrackerStatus {
    pub name: String,
    pub state: &'static str,
    pub weight: String,
    pub wan_only: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct TransitionStatus {
    pub ago_ms: u64,
    pub from: &'static str,
    pub to: &'static str,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
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
    pub authenticated: bool,
    pub hold_left_ms: u64,
    pub peers: Vec<PeerStatus>,
    pub lease: Option<LeaseStatus>,
    pub lease6: Option<Lease6Status>,
    /// Written by the daemon, each with its tracker's run time.
    #[serde(skip)]
    pub trackers: Vec<TrackerStatus>,
    pub counters: Counters,
    pub transitions: Vec<TransitionStatus>,
}

fn ms(d: core::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Engine {
    pub fn status(&self, now: Instant) -> Status {
        let skew_num = self.skew_num();
        Status {
            group: self.s.group,
            router_id: format!("{:#x}", self.s.router_id),
            state: self.state.as_str(),
            since_ms: ms(now.since(self.since)),
            reason: self.reason.clone(),
            priority: self.priority(),
            configured_priority: self.s.priority,
            effective_priority: self.effective_priority(),
            preempt: self.s.preempt && !self.preempt_suppressed,
            wan_open: self.wan_open,
            authenticated: !self.s.keys.is_empty(),
            hold_left_ms: self.hold_until.map_or(0, |h| ms(h.since(now))),
            peers: self
                .peers
                .iter()
                .map(|p| PeerStatus {
                    router_id: format!("{:#x}", p.router_id),
                    state: p.state.as_str(),
                    priority: p.priority,
                    effective_priority: p.effective_priority,
                    last_heard_ms: p.last_heard().map_or(u64::MAX, |t| ms(now.since(t))),
                    alive: p.is_alive(now, skew_num),
                    paths: p.contacts.iter().map(|c| c.path.to_string()).collect(),
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
            lease6: self.lease6.as_ref().map(|(l, learned)| {
                let l = age6(l, *learned, now);
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
                    ago_ms: ms(now.since(t.at)),
                    from: t.from.as_str(),
                    to: t.to.as_str(),
                    reason: t.reason.clone(),
                })
                .collect(),
        }
    }
}
