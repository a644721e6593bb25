//! What a router knows of each other router in its group.

use core::time::Duration;

use super::Path;
use crate::time::{Instant, times};
use crate::wire::{Flags, Mac, Message, WireState};

/// Last contact on one path.
#[derive(Clone, Copy, Debug)]
pub struct PathContact {
    pub path: Path,
    pub last_heard: Instant,
    /// The peer's hello interval on this path, from its frames.
    pub hello: Duration,
    /// Source MAC seen on this path (the unicast destination on control paths).
    pub mac: Mac,
    /// The receiver's own hello interval on this path, and its dead
    /// interval there (m × that): what the peer's claims are bounded by
    /// (§4.2), so that one frame cannot keep a router alive for hours.
    pub own: Bound,
}

/// A receiver's own timing on one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    pub hello: Duration,
    pub dead: Duration,
}

impl Bound {
    /// Whether a frame's claim (multiplier × hello interval) exceeds it.
    pub fn exceeded_by(&self, m: &Message) -> bool {
        times(Duration::from_millis(u64::from(m.hello_interval)), u32::from(m.dead_multiplier)) > self.dead
    }
}

#[derive(Clone, Debug)]
pub struct Peer {
    pub router_id: u32,
    pub state: WireState,
    pub priority: u8,
    pub effective_priority: u8,
    pub flags: Flags,
    pub dead_multiplier: u8,
    pub contacts: Vec<PathContact>,
    /// Lease data the peer advertised while it held the WAN.
    pub lease_seen: bool,
    /// The peer said goodbye (RELEASE): dead until it speaks again.
    pub released: bool,
    /// Id of the key its newest frame was signed with; `None`: unsigned
    /// (accepted because this group has no key).
    pub key_id: Option<u8>,
    /// (epoch, sequence) of the newest frame whose state we took.
    newest: Option<(u32, u32)>,
    /// Dead at this instant unless heard again: set when this standby
    /// lost the active, so that a peer speaking at the slow pace is given
    /// one fast dead interval to show it is alive (§6.3).
    recheck: Option<Instant>,
}

impl Peer {
    pub fn new(router_id: u32) -> Self {
        Peer {
            router_id,
            state: WireState::Init,
            priority: 0,
            effective_priority: 0,
            flags: Flags::default(),
            dead_multiplier: 3,
            contacts: Vec::new(),
            lease_seen: false,
            released: false,
            key_id: None,
            newest: None,
            recheck: None,
        }
    }

    /// Records the path a frame arrived on and, if it is the newest frame
    /// from this peer (frames on two paths may cross), its header fields.
    /// `own` is the receiver's own timing on that path. Returns whether it
    /// was the newest.
    pub fn heard(&mut self, now: Instant, path: Path, src: Mac, m: &Message, key_id: Option<u8>, own: Bound) -> bool {
        let newest = match self.newest {
            Some((epoch, seq)) => epoch != m.epoch || m.seq > seq,
            None => true,
        };
        if newest {
            self.newest = Some((m.epoch, m.seq));
            self.state = m.state;
            self.priority = m.priority;
            self.effective_priority = m.effective_priority;
            self.flags = m.flags;
            self.dead_multiplier = m.dead_multiplier;
            self.released = false;
            self.key_id = key_id;
        }
        self.recheck = None;
        let hello = Duration::from_millis(u64::from(m.hello_interval));
        let c = PathContact { path, last_heard: now, hello, mac: src, own };
        match self.contacts.iter_mut().find(|c| c.path == path) {
            Some(old) => *old = c,
            None => self.contacts.push(c),
        }
        newest
    }

    /// When the peer is declared dead on `path`: its multiplier times its
    /// hello interval there, at most the receiver's own dead interval
    /// there, plus the receiver's skew (of the hello interval in force).
    /// A recheck running (`recheck`) ends it earlier.
    fn path_deadline(&self, c: &PathContact, skew_num: u32) -> Instant {
        let dead = times(c.hello, u32::from(self.dead_multiplier)).min(c.own.dead);
        let until = c.last_heard.plus(dead.saturating_add(skew(c.hello.min(c.own.hello), skew_num)));
        self.recheck.map_or(until, |r| until.min(r))
    }

    /// From now on dead at `at` unless heard again before (a frame ends
    /// the recheck); an earlier recheck stands.
    pub fn recheck_by(&mut self, at: Instant) {
        self.recheck = Some(self.recheck.map_or(at, |r| r.min(at)));
    }

    /// Back to the deadlines its frames give.
    pub fn end_recheck(&mut self) {
        self.recheck = None;
    }

    /// The peer counts as alive until this instant (heard on any path).
    pub fn alive_until(&self, skew_num: u32) -> Option<Instant> {
        if self.released {
            return None;
        }
        self.contacts.iter().map(|c| self.path_deadline(c, skew_num)).max()
    }

    pub fn is_alive(&self, now: Instant, skew_num: u32) -> bool {
        self.alive_until(skew_num).is_some_and(|t| now < t)
    }

    /// Alive on this one path: heard there within its dead interval.
    pub fn is_alive_on(&self, now: Instant, path: Path, skew_num: u32) -> bool {
        !self.released && self.contacts.iter().any(|c| c.path == path && now < self.path_deadline(c, skew_num))
    }

    pub fn last_heard(&self) -> Option<Instant> {
        self.contacts.iter().map(|c| c.last_heard).max()
    }

    pub fn mac_on(&self, path: Path) -> Option<Mac> {
        self.contacts.iter().find(|c| c.path == path).map(|c| c.mac)
    }

    /// Election key: effective priority, then router id. Higher wins.
    pub fn claim(&self) -> (u8, u32) {
        (self.effective_priority, self.router_id)
    }

    /// Can this peer be chosen to become active?
    pub fn is_candidate(&self) -> bool {
        self.effective_priority > 0 && matches!(self.state, WireState::Init | WireState::Standby)
    }
}

/// A router of the group whose frames fail authentication here: another
/// key, another secret, or none. What it claims (its router id) is not
/// authenticated; it is shown so an operator can match keys, nothing more.
#[derive(Clone, Copy, Debug)]
pub struct Refused {
    pub router_id: u32,
    /// The key id its frames carry; `None`: unsigned.
    pub key_id: Option<u8>,
    pub why: Refusal,
    pub frames: u64,
    pub last_heard: Instant,
}

/// Why a router's frames fail authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Signed with a key id this router does not have.
    UnknownKey,
    /// Signed with a key id this router has, but another secret.
    BadTag,
    /// Not signed, while this router has a key.
    Unsigned,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::UnknownKey => "unknown_key",
            Refusal::BadTag => "bad_signature",
            Refusal::Unsigned => "unsigned",
        }
    }
}

/// Skew added to the dead interval: `hello * (256 - priority) / 256`, so
/// the best standby's timer runs out first and the others hear it take over.
/// `skew_num` is `256 - effective priority`.
pub fn skew(hello: Duration, skew_num: u32) -> Duration {
    times(hello, skew_num) / 256
}
