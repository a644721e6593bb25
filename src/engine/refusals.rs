//! Refused frames, told to the operator: every one is counted (`Counters`),
//! and per reason one log line goes out at once and then at most one a
//! minute, with how many came meanwhile and where the last one came from.
//! An attack or a key mismatch is then seen in the log without a flood
//! of lines (docs/PROTOCOL.md §2.8).

use core::time::Duration;

use super::Path;
use crate::time::Instant;
use crate::wire::{self, Mac};

/// At most one line per reason this often.
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Why a frame was refused or dropped, by the counter it lands in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Truncated,
    BadVersion,
    Malformed,
    Unauthenticated,
    BadKey,
    BadTag,
    Replayed,
    /// Our own router id from elsewhere: a loop, or an id configured twice.
    Own,
    PathMismatch,
    PeerLimit,
    /// Accepted, but its timers were cut to the receiver's own (§4.2).
    ClaimBounded,
}

const REASONS: usize = Reason::ClaimBounded as usize + 1;

impl Reason {
    pub fn of(e: wire::Error) -> Reason {
        use wire::Error as E;
        match e {
            E::Truncated => Reason::Truncated,
            E::UnknownVersion(_) => Reason::BadVersion,
            E::UnknownType(_) | E::BadState(_) | E::BadTlv(_) | E::DuplicateTlv(_) | E::BadField(_) => {
                Reason::Malformed
            }
            E::Unauthenticated => Reason::Unauthenticated,
            E::UnknownKey(_) => Reason::BadKey,
            E::BadTag => Reason::BadTag,
            E::Replayed => Reason::Replayed,
        }
    }

    /// The counter of `Counters` (and of status) these frames land in.
    pub fn counter(self) -> &'static str {
        match self {
            Reason::Truncated => "rx_truncated",
            Reason::BadVersion => "rx_bad_version",
            Reason::Malformed => "rx_malformed",
            Reason::Unauthenticated => "rx_unauthenticated",
            Reason::BadKey => "rx_bad_key",
            Reason::BadTag => "rx_bad_tag",
            Reason::Replayed => "rx_replayed",
            Reason::Own => "rx_own",
            Reason::PathMismatch => "rx_path_mismatch",
            Reason::PeerLimit => "rx_peer_limit",
            Reason::ClaimBounded => "rx_claim_bounded",
        }
    }
}

/// One log line's worth: `frames` refused for `reason` since the last
/// line (the first line: the first frame), the last of them described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedFrames {
    pub reason: Reason,
    pub frames: u64,
    /// The last frame: what was wrong with it, its Ethernet source and
    /// the path it came on.
    pub why: String,
    pub src: Mac,
    pub path: Path,
}

/// The last refused frame of a reason, kept until its line goes out.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub src: Mac,
    pub path: Path,
    pub error: Option<wire::Error>,
    /// The router id the frame claims, when it has a header.
    pub router_id: Option<u32>,
}

impl Sample {
    fn why(&self, reason: Reason) -> String {
        let id = self.router_id.map(|id| format!(" (router id {id:#x})")).unwrap_or_default();
        match (self.error, reason) {
            (Some(e), _) => format!("{e}{id}"),
            (None, Reason::Own) => format!("our own router id{id}: a loop, or the id configured twice"),
            (None, Reason::PathMismatch) => format!("WAN flag on the wrong path{id}: WAN and a control link bridged"),
            (None, Reason::PeerLimit) => format!("a new router{id} beyond the peer limit"),
            (None, Reason::ClaimBounded) => {
                format!("a dead interval longer than ours{id}, cut to ours: configure the same timers everywhere")
            }
            (None, _) => format!("refused{id}"),
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    /// Frames since the last line.
    pending: u64,
    /// No line before then.
    quiet_until: Option<Instant>,
    last: Option<Sample>,
}

#[derive(Clone, Debug, Default)]
pub struct RefusalLog {
    entries: [Entry; REASONS],
}

impl RefusalLog {
    /// Notes one refused frame; returns a line to log now, if its reason
    /// has been quiet for a minute.
    pub fn note(&mut self, now: Instant, reason: Reason, sample: Sample) -> Option<RefusedFrames> {
        let e = &mut self.entries[reason as usize];
        e.pending = e.pending.saturating_add(1);
        e.last = Some(sample);
        Self::flush_one(reason, e, now)
    }

    /// Lines due at `now`: reasons with frames pending whose minute is up.
    pub fn due(&mut self, now: Instant) -> Vec<RefusedFrames> {
        let mut out = Vec::new();
        for (i, e) in self.entries.iter_mut().enumerate() {
            if let Some(line) = REASON_ORDER.get(i).and_then(|&r| Self::flush_one(r, e, now)) {
                out.push(line);
            }
        }
        out
    }

    /// When the next pending line is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.entries.iter().filter(|e| e.pending > 0).filter_map(|e| e.quiet_until).min()
    }

    fn flush_one(reason: Reason, e: &mut Entry, now: Instant) -> Option<RefusedFrames> {
        if e.pending == 0 || e.quiet_until.is_some_and(|t| now < t) {
            return None;
        }
        let last = e.last?;
        let line = RefusedFrames { reason, frames: e.pending, why: last.why(reason), src: last.src, path: last.path };
        e.pending = 0;
        e.quiet_until = Some(now.plus(REFUSAL_LOG_INTERVAL));
        Some(line)
    }
}

/// `Reason`s by their index.
const REASON_ORDER: [Reason; REASONS] = [
    Reason::Truncated,
    Reason::BadVersion,
    Reason::Malformed,
    Reason::Unauthenticated,
    Reason::BadKey,
    Reason::BadTag,
    Reason::Replayed,
    Reason::Own,
    Reason::PathMismatch,
    Reason::PeerLimit,
    Reason::ClaimBounded,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sample {
        Sample {
            src: Mac([2, 0, 0, 0, 0, 0x66]),
            path: Path::Control(0),
            error: Some(wire::Error::BadTag),
            router_id: Some(7),
        }
    }

    #[test]
    fn reasons_are_in_index_order() {
        for (i, r) in REASON_ORDER.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }

    /// The first frame is told at once; the next minute's frames in one
    /// line when the minute is up, whether more come or not.
    #[test]
    fn one_line_at_once_then_one_a_minute() {
        let mut log = RefusalLog::default();
        let t0 = Instant::from_micros(5_000_000);
        let first = log.note(t0, Reason::BadTag, sample()).expect("the first is told at once");
        assert_eq!((first.frames, first.reason.counter()), (1, "rx_bad_tag"));
        assert_eq!(first.why, "bad authentication tag (router id 0x7)");
        assert_eq!(log.deadline(), None, "nothing pending");
        for s in 1..=30 {
            assert_eq!(log.note(t0.plus(Duration::from_secs(s)), Reason::BadTag, sample()), None);
        }
        // Another reason has its own minute.
        assert!(log.note(t0.plus(Duration::from_secs(2)), Reason::Replayed, sample()).is_some());
        let due = t0.plus(REFUSAL_LOG_INTERVAL);
        assert_eq!(log.deadline(), Some(due));
        assert!(log.due(Instant::from_micros(due.as_micros() - 1)).is_empty());
        let lines = log.due(due);
        assert_eq!(lines.len(), 1);
        assert_eq!((lines[0].reason, lines[0].frames), (Reason::BadTag, 30));
        assert!(log.due(due.plus(Duration::from_secs(59))).is_empty());
        assert_eq!(log.note(due.plus(Duration::from_secs(1)), Reason::BadTag, sample()), None);
        assert_eq!(log.due(due.plus(REFUSAL_LOG_INTERVAL)).len(), 1);
    }
}
