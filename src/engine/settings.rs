//! What the engine is told about its group: the running configuration.

use core::time::Duration;

use super::{Bound, Path};
use crate::time::times;
use crate::wire::{Keyring, Mac, WireState};

/// How much a failed tracker costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weight {
    Penalty(u8),
    /// The router cannot forward at all while this tracker is down.
    Fatal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackerSpec {
    pub name: String,
    pub weight: Weight,
    /// Only meaningful where the WAN is open (ping, arping): "unknown" on a
    /// standby, so a standby is never judged by an upstream it cannot see.
    pub wan_only: bool,
}

/// One group's configuration, as the engine needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub group: u8,
    pub router_id: u32,
    /// 1..=254; 0 and 255 are not configurable.
    pub priority: u8,
    pub preempt: bool,
    pub preempt_delay: Duration,
    /// Control-path hello interval.
    pub hello_interval: Duration,
    /// WAN-path hello interval of the active; `None` turns WAN hellos off.
    pub wan_hello_interval: Option<Duration>,
    pub dead_multiplier: u8,
    pub ethertype: u16,
    pub shared_mac: Mac,
    /// This router's MAC on each control path; the index is the path number.
    pub control_macs: Vec<Mac>,
    pub keys: Keyring,
    /// Anti-flap: after a tracker-driven handover, no other one for this long.
    pub hold_period: Duration,
    /// Periodic ARP request to the ISP gateway while active.
    pub nudge_interval: Option<Duration>,
    /// Periodic gratuitous ARP / unsolicited NA of the LAN gateway
    /// addresses while active (keepalived's `garp_master_refresh`).
    pub lan_announce_interval: Option<Duration>,
    /// Longest wait for the system to prepare a takeover (conntrack commit).
    pub prepare_timeout: Duration,
    /// DHCP client id to use when the lease carries none.
    pub client_id: Vec<u8>,
    /// Run the group's DHCPv6 client while active.
    pub dhcpv6: bool,
    /// DHCPv6 client DUID to use when the binding carries none.
    pub duid: Vec<u8>,
    /// Advertise this router as the LAN's IPv6 default router while
    /// active (it has a link-local LAN gateway address).
    pub router_advert: bool,
    pub trackers: Vec<TrackerSpec>,
}

/// Multicast hellos on the control paths at this pace; unicast in between.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(1);

/// Peers silent for this long are forgotten (status shows them until then).
pub const PEER_EXPIRY: Duration = Duration::from_secs(60);

/// A standby that hears the active sends its hellos this many times more
/// slowly than the hello interval (docs/PROTOCOL.md §4.6): what the active
/// acts on goes out at once when it changes, so the slow pace only decides
/// how soon a dead standby is noticed and how often a lost change is
/// repeated. 4: a step-up wish (2 × handover timeout ≥ 8 hellos) is still
/// repeated twice, and the frames a 3-router group sends halve.
pub const STANDBY_PACE: u32 = 4;

/// The slow pace never exceeds this (unless the hello interval does), so
/// that a standby is heard several times before `PEER_EXPIRY` forgets it.
pub const STANDBY_HELLO_MAX: Duration = Duration::from_secs(15);

/// An unanswered renewal's request goes out again this long after the
/// last copy (the same transaction, so a late answer still counts)...
pub const RETRANSMIT_INTERVAL: Duration = Duration::from_secs(2);
/// ...this many times; after one more interval the renewal is given up
/// (the next one comes at the next renewal time).
pub const RETRANSMITS: u8 = 3;

/// Most peers a router keeps: a flood of made-up router ids (possible only
/// without a key) cannot grow its memory or its unicast hellos.
pub const MAX_PEERS: usize = 32;

/// The permit timeout of a group with this hello interval and dead
/// multiplier: max(m − 1, 1) × h (docs/PROTOCOL.md §4.4). The fence's
/// renewal rules carry it too (`system::nft::Wan`).
pub fn permit_timeout(hello_interval: Duration, dead_multiplier: u8) -> Duration {
    times(hello_interval, u32::from(dead_multiplier.saturating_sub(1)).max(1))
}

impl Settings {
    /// A group's settings for the tests, the fuzzer and the simulation,
    /// each of which changes what it is about (`Settings { hello_interval:
    /// ..., ..Settings::for_tests(1, 200) }`): one place to update when a
    /// setting is added. Group 1, hellos every 100 ms on the control link
    /// and the WAN, ×3, signed with key 1, DHCPv6 and router advertisements
    /// on, no trackers; the control MAC ends in the router id's low byte.
    /// The daemon's come from the configuration (`daemon::group`); the
    /// router's binary never calls this, and its linker leaves it out.
    pub fn for_tests(router_id: u32, priority: u8) -> Settings {
        Settings {
            group: 1,
            router_id,
            priority,
            preempt: false,
            preempt_delay: Duration::ZERO,
            hello_interval: Duration::from_millis(100),
            wan_hello_interval: Some(Duration::from_millis(100)),
            dead_multiplier: 3,
            ethertype: crate::wire::DEFAULT_ETHERTYPE,
            shared_mac: Mac([2, 0, 0, 0, 0, 1]),
            control_macs: vec![Mac([2, 0, 0, 0, 1, router_id as u8])],
            keys: Keyring::new(vec![crate::wire::Key::new(1, b"k")]),
            hold_period: Duration::from_secs(60),
            nudge_interval: None,
            lan_announce_interval: None,
            prepare_timeout: Duration::from_millis(500),
            client_id: vec![1, 2, 0, 0, 0, 0, 1],
            dhcpv6: true,
            duid: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1],
            router_advert: true,
            trackers: Vec::new(),
        }
    }

    /// Milliseconds of an interval as carried on the wire (1..=65535).
    pub fn wire_ms(d: Duration) -> u16 {
        u16::try_from(d.as_millis()).unwrap_or(u16::MAX).max(1)
    }

    /// The active's forwarding permission lapses this long after its last
    /// refresh: one hello short of the dead interval, so a hung active
    /// stops forwarding before any standby can declare it dead.
    pub fn permit_timeout(&self) -> Duration {
        permit_timeout(self.hello_interval, self.dead_multiplier)
    }

    /// How long either end of a handover waits for the other: one dead
    /// interval and a hello, plus the time the target may spend preparing
    /// (so a slow conntrack commit does not make the offerer give up).
    pub fn handover_timeout(&self) -> Duration {
        times(self.hello_interval, u32::from(self.dead_multiplier).saturating_add(1))
            .saturating_add(self.prepare_timeout)
    }

    /// This router's own hello interval on a path and its dead interval
    /// there, which bound what a peer's frames may claim (§4.2): on the
    /// WAN the WAN hello interval, or the control one if WAN hellos are
    /// off (a peer may still send them). A frame whose state may speak at
    /// the standby's slow pace (`state`) may claim that pace's dead
    /// interval; the skew stays that of the hello interval.
    pub fn bound(&self, path: Path, state: WireState) -> Bound {
        let hello = match path {
            Path::Wan => self.wan_hello().unwrap_or(self.hello_interval),
            Path::Control(_) => self.hello_interval,
        };
        let pace = if path != Path::Wan && may_speak_slowly(state) { self.standby_hello() } else { hello };
        Bound { hello, dead: times(pace, u32::from(self.dead_multiplier)) }
    }

    /// A standby's slow pace on the control links: `STANDBY_PACE` hello
    /// intervals, at most `STANDBY_HELLO_MAX` (never faster than the hello
    /// interval itself).
    pub fn standby_hello(&self) -> Duration {
        times(self.hello_interval, STANDBY_PACE).min(STANDBY_HELLO_MAX.max(self.hello_interval))
    }

    /// The WAN hello interval in force: never faster than the control
    /// hello, whose tick refreshes the forwarding permission (a faster WAN
    /// hello would let a standby declare the active dead before its
    /// permission lapsed).
    pub fn wan_hello(&self) -> Option<Duration> {
        self.wan_hello_interval.map(|w| w.max(self.hello_interval))
    }

    /// The slowest pace at which an active is heard: the WAN hello when
    /// it is slower than the control hello (a router cut off on its
    /// control links hears the active only there).
    pub fn slowest_hello(&self) -> Duration {
        self.wan_hello().map_or(self.hello_interval, |w| w.max(self.hello_interval))
    }
}

/// States whose hellos may come at the standby's slow pace: a router that
/// neither holds the WAN nor takes it over nor is starting (§4.6).
pub fn may_speak_slowly(state: WireState) -> bool {
    matches!(state, WireState::Standby | WireState::Fault)
}
