//! Trackers, the pure part: rise/fall counting, and when a tracker's rounds
//! run on the engine's clock. The daemon runs the probes (link, ping,
//! arping, script, external) and the simulator plays them; both hand the
//! results to a `Schedule`, which decides when a run of results changes
//! the tracker's state. No I/O, no clock read.

use core::time::Duration;

use crate::time::Instant;

/// A tracker goes down after `fall` consecutive failures and up after
/// `rise` consecutive successes. It starts unknown: the first verdict
/// needs a full run either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiseFall {
    rise: u8,
    fall: u8,
    up: Option<bool>,
    /// Consecutive results that disagree with the current state.
    streak: u8,
    streak_ok: bool,
}

impl RiseFall {
    pub fn new(rise: u8, fall: u8) -> Self {
        RiseFall { rise: rise.max(1), fall: fall.max(1), up: None, streak: 0, streak_ok: false }
    }

    pub fn state(&self) -> Option<bool> {
        self.up
    }

    /// Back to unknown (the WAN closed, so upstream probes mean nothing).
    pub fn reset(&mut self) {
        self.up = None;
        self.streak = 0;
    }

    /// Feeds one probe result; returns the new state when it changes.
    pub fn probe(&mut self, ok: bool) -> Option<bool> {
        if self.up == Some(ok) {
            self.streak = 0;
            return None;
        }
        if self.streak_ok != ok {
            self.streak_ok = ok;
            self.streak = 0;
        }
        self.streak = self.streak.saturating_add(1);
        let needed = if ok { self.rise } else { self.fall };
        if self.streak >= needed {
            self.up = Some(ok);
            self.streak = 0;
            return Some(ok);
        }
        None
    }
}

/// A change of a tracker's state, for status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub up: bool,
    pub at: Instant,
    /// From the start of the first round of the run that decided it.
    pub detect: Duration,
}

/// One tracker's rounds, sans I/O: a round every `interval` while it runs,
/// one at a time; each result goes through rise/fall. The caller asks
/// `round_due` whenever `poll_timeout` has passed (or anything happened),
/// begins a probe when it says so, and hands the outcome back.
#[derive(Clone, Debug)]
pub struct Schedule {
    interval: Duration,
    rise_fall: RiseFall,
    running: bool,
    /// When the next round starts; `None` for none planned.
    next: Option<Instant>,
    /// Start of the round in flight.
    in_round: Option<Instant>,
    last: Option<(bool, Instant)>,
    /// Start of the first result of the current run against the state.
    disagree_since: Option<Instant>,
    change: Option<Change>,
}

impl Schedule {
    pub fn new(interval: Duration, rise: u8, fall: u8) -> Schedule {
        Schedule {
            interval,
            rise_fall: RiseFall::new(rise, fall),
            running: false,
            next: None,
            in_round: None,
            last: None,
            disagree_since: None,
            change: None,
        }
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Up, down, or not known yet.
    pub fn state(&self) -> Option<bool> {
        self.rise_fall.state()
    }

    /// The last result and when it came.
    pub fn last(&self) -> Option<(bool, Instant)> {
        self.last
    }

    pub fn change(&self) -> Option<Change> {
        self.change
    }

    /// Starts the rounds: the first at once where `polls`, else none until
    /// `wake`.
    pub fn start(&mut self, now: Instant, polls: bool) {
        self.running = true;
        self.next = polls.then_some(now);
    }

    /// Stops the rounds but keeps the counts (a reload).
    pub fn suspend(&mut self) {
        self.running = false;
        self.next = None;
        self.in_round = None;
    }

    /// Stops the rounds and forgets: the next verdict needs a full run.
    pub fn stop(&mut self) {
        self.suspend();
        self.rise_fall.reset();
        self.disagree_since = None;
    }

    /// Whether a round must begin now. Rounds keep their rhythm: a late
    /// caller skips rounds, it never bunches them.
    pub fn round_due(&mut self, now: Instant) -> bool {
        if !self.running || self.in_round.is_some() || self.next.is_none_or(|t| now < t) {
            return false;
        }
        let interval = self.interval;
        self.next = self.next.map(|t| {
            let n = t.plus(interval);
            if n <= now { now.plus(interval) } else { n }
        });
        true
    }

    /// The round that `round_due` called for is under way.
    pub fn round_begun(&mut self, now: Instant) {
        self.in_round = Some(now);
    }

    pub fn in_round(&self) -> bool {
        self.in_round.is_some()
    }

    /// The round under way ended with `ok`: its result.
    pub fn round_ended(&mut self, ok: bool, now: Instant) -> Option<bool> {
        let started = self.in_round.take().unwrap_or(now);
        self.result(ok, started, now)
    }

    /// One result of a round begun at `started`, through rise/fall; the
    /// new state when it changes.
    pub fn result(&mut self, ok: bool, started: Instant, now: Instant) -> Option<bool> {
        if self.rise_fall.state() == Some(ok) {
            self.disagree_since = None;
        } else if self.last.map(|l| l.0) != Some(ok) || self.disagree_since.is_none() {
            self.disagree_since = Some(started);
        }
        self.last = Some((ok, now));
        let up = self.rise_fall.probe(ok)?;
        let detect = now.since(self.disagree_since.take().unwrap_or(started));
        self.change = Some(Change { up, at: now, detect });
        Some(up)
    }

    /// A verdict judged elsewhere (an external tracker): final, without
    /// rise/fall. Recorded as a change when it is one.
    pub fn verdict(&mut self, up: bool, now: Instant) {
        if self.last.map(|l| l.0) != Some(up) {
            self.change = Some(Change { up, at: now, detect: Duration::ZERO });
        }
        self.last = Some((up, now));
    }

    /// No more rounds until `wake`: the next news comes as an event.
    pub fn wait(&mut self) {
        self.next = None;
    }

    /// A round at once (news came: a carrier changed).
    pub fn wake(&mut self, now: Instant) {
        if self.running {
            self.next = Some(now);
        }
    }

    /// When the next round is due; `None` while one is under way (its
    /// probe has its own deadline) or none is planned.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.running || self.in_round.is_some() {
            return None;
        }
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_after_fall_failures_and_rises_after_rise_successes() {
        let mut t = RiseFall::new(2, 3);
        assert_eq!(t.probe(true), None);
        assert_eq!(t.probe(true), Some(true));
        assert_eq!(t.probe(false), None);
        assert_eq!(t.probe(false), None);
        assert_eq!(t.probe(true), None, "a success breaks the failure streak");
        assert_eq!(t.probe(false), None);
        assert_eq!(t.probe(false), None);
        assert_eq!(t.probe(false), Some(false));
        assert_eq!(t.state(), Some(false));
        assert_eq!(t.probe(true), None);
        assert_eq!(t.probe(true), Some(true));
    }

    #[test]
    fn reset_forgets() {
        let mut t = RiseFall::new(1, 1);
        assert_eq!(t.probe(false), Some(false));
        t.reset();
        assert_eq!(t.state(), None);
        assert_eq!(t.probe(false), Some(false));
    }

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    #[test]
    fn rounds_keep_their_rhythm_one_at_a_time_and_a_late_caller_skips() {
        let mut s = Schedule::new(Duration::from_millis(100), 1, 1);
        assert!(!s.round_due(ms(0)), "not running");
        s.start(ms(0), true);
        assert_eq!(s.poll_timeout(), Some(ms(0)));
        assert!(s.round_due(ms(0)));
        s.round_begun(ms(0));
        assert_eq!(s.poll_timeout(), None, "the probe has the deadline while a round runs");
        assert!(!s.round_due(ms(150)), "one round at a time");
        assert_eq!(s.round_ended(true, ms(30)), Some(true));
        assert_eq!(s.poll_timeout(), Some(ms(100)));
        assert!(s.round_due(ms(100)));
        assert_eq!(s.round_ended(true, ms(110)), None, "no change");
        // Late by two and a half rounds: one round now, the next one
        // interval later, no burst of the missed ones.
        assert!(s.round_due(ms(450)));
        assert_eq!(s.round_ended(true, ms(460)), None);
        assert_eq!(s.poll_timeout(), Some(ms(550)));
        s.wait();
        assert_eq!(s.poll_timeout(), None);
        s.wake(ms(500));
        assert_eq!(s.poll_timeout(), Some(ms(500)));
        s.stop();
        assert_eq!((s.state(), s.poll_timeout(), s.is_running()), (None, None, false), "stopped and forgotten");
        let mut e = Schedule::new(Duration::from_millis(100), 1, 1);
        e.start(ms(0), false);
        assert_eq!(e.poll_timeout(), None, "a kind that does not poll waits for news");
    }

    #[test]
    fn detection_counts_from_the_first_round_of_the_deciding_run() {
        let mut s = Schedule::new(Duration::from_millis(100), 2, 3);
        let at = |n: u64| ms(100 * n);
        s.result(true, at(0), at(0));
        assert_eq!(s.result(true, at(1), at(1)), Some(true));
        s.result(true, at(2), at(2));
        s.result(false, at(3), at(3).plus(Duration::from_millis(50)));
        assert_eq!(s.result(false, at(4), at(4).plus(Duration::from_millis(50))), None, "two failures of three");
        assert_eq!(s.result(false, at(5), at(5).plus(Duration::from_millis(50))), Some(false));
        let c = s.change().unwrap();
        assert_eq!((c.up, c.detect), (false, Duration::from_millis(250)));
        assert_eq!(s.result(false, at(6), at(6)), None, "no change, nothing to say");
        // A broken run starts the clock again.
        let mut s = Schedule::new(Duration::from_millis(100), 1, 2);
        s.result(true, at(0), at(0));
        s.result(false, at(1), at(1));
        s.result(true, at(2), at(2));
        s.result(false, at(3), at(3));
        assert_eq!(s.result(false, at(4), at(4)), Some(false));
        assert_eq!(s.change().unwrap().detect, Duration::from_millis(100));
    }

    #[test]
    fn verdicts_from_outside_are_changes_when_they_are_new() {
        let mut s = Schedule::new(Duration::from_millis(100), 3, 3);
        s.verdict(false, ms(5));
        assert_eq!(s.change(), Some(Change { up: false, at: ms(5), detect: Duration::ZERO }));
        s.verdict(false, ms(9));
        assert_eq!(s.change().unwrap().at, ms(5), "the same again is no change");
        assert_eq!(s.last(), Some((false, ms(9))));
    }
}
