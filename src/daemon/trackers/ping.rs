//! Ping trackers: rounds of ICMP echo requests, judged like mwan3track.
//!
//! A round sends `count` requests to every target, spread evenly over the
//! timeout. A target answered if any of its requests got a reply before
//! the round's timeout; the round succeeds as soon as `reliability`
//! targets answered, and fails when the timeout passes without that.

use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::icmp::EchoSocket;
use super::{Begun, Context, Probe, RunCtx};
use crate::json;
use crate::time::{Instant, times};
use crate::wire::icmp::Echo;

/// One round's bookkeeping, pure: no socket, no clock.
#[derive(Clone, Debug)]
pub struct Round {
    started: Instant,
    timeout: Duration,
    count: u8,
    reliability: u8,
    answered: Vec<bool>,
    /// Waves of requests sent so far (one request per target each).
    waves: u8,
    /// Sequence numbers of this round's requests and whom they asked.
    asked: Vec<(u16, usize)>,
}

impl Round {
    pub fn new(started: Instant, targets: usize, count: u8, reliability: u8, timeout: Duration) -> Round {
        Round {
            started,
            timeout,
            count: count.max(1),
            reliability: reliability.max(1),
            answered: vec![false; targets],
            waves: 0,
            asked: Vec::new(),
        }
    }

    /// When the next wave of requests is due, if one remains.
    pub fn next_wave(&self) -> Option<Instant> {
        let step = self.timeout.checked_div(u32::from(self.count))?;
        (self.waves < self.count).then(|| self.started.plus(times(step, u32::from(self.waves))))
    }

    /// The targets to ask now, if a wave is due: those that have not
    /// answered yet.
    pub fn due(&mut self, now: Instant) -> Vec<usize> {
        if self.next_wave().is_none_or(|t| now < t) || self.outcome(now).is_some() {
            return Vec::new();
        }
        self.waves = self.waves.saturating_add(1);
        self.answered.iter().enumerate().filter(|(_, a)| !**a).map(|(i, _)| i).collect()
    }

    /// A request went out to target `target` with sequence number `seq`.
    pub fn asked(&mut self, seq: u16, target: usize) {
        self.asked.push((seq, target));
    }

    /// A reply with `seq` from `from`: counts if it answers one of this
    /// round's requests to that very target.
    pub fn reply(&mut self, seq: u16, from: IpAddr, targets: &[IpAddr]) {
        let hit = self.asked.iter().find(|(s, t)| *s == seq && targets.get(*t) == Some(&from));
        if let Some(a) = hit.and_then(|(_, t)| self.answered.get_mut(*t)) {
            *a = true;
        }
    }

    pub fn answered(&self) -> usize {
        self.answered.iter().filter(|a| **a).count()
    }

    fn end(&self) -> Instant {
        self.started.plus(self.timeout)
    }

    /// `Some(true)` once enough targets answered, `Some(false)` once the
    /// timeout passed without that, `None` while it may still go either way.
    pub fn outcome(&self, now: Instant) -> Option<bool> {
        if self.answered() >= usize::from(self.reliability) {
            Some(true)
        } else if now >= self.end() {
            Some(false)
        } else {
            None
        }
    }

    /// When something happens next: a wave to send or the end.
    pub fn deadline(&self) -> Instant {
        self.next_wave().map_or(self.end(), |w| w.min(self.end()))
    }
}

/// A ping tracker's sockets and current round.
pub struct Ping {
    targets: Vec<IpAddr>,
    count: u8,
    reliability: u8,
    /// Our echo identifier: replies to other pingers carry another.
    ident: u16,
    seq: u16,
    v4: Option<EchoSocket>,
    v6: Option<EchoSocket>,
    round: Option<Round>,
    /// Targets that answered in the last finished round.
    pub last_answered: Option<usize>,
    pub error: Option<String>,
}

/// Token offsets of a ping tracker's sockets.
const SUB_V4: usize = 0;
const SUB_V6: usize = 1;

impl Ping {
    pub fn new(targets: Vec<IpAddr>, count: u8, reliability: u8, ident: u16) -> Ping {
        Ping {
            targets,
            count,
            reliability,
            ident,
            seq: 0,
            v4: None,
            v6: None,
            round: None,
            last_answered: None,
            error: None,
        }
    }
}

impl Probe for Ping {
    /// Sockets are opened on first use, bound to the WAN if the tracker is
    /// `wan_only`. A socket that cannot be opened leaves its targets
    /// unanswered: the round fails, which is the truth.
    fn begin(&mut self, now: Instant, timeout: Duration, ctx: &Context, run: &mut RunCtx) -> Begun {
        let g = ctx.group;
        let device = ctx.wan_only.then_some((g.wan.name.as_str(), g.wan.ifindex));
        for (v6, sub) in [(false, SUB_V4), (true, SUB_V6)] {
            let slot = if v6 { &mut self.v6 } else { &mut self.v4 };
            if slot.is_some() || !self.targets.iter().any(|t| t.is_ipv6() == v6) {
                continue;
            }
            let opened = EchoSocket::open(v6, device).and_then(|s| {
                run.reg.register(&mut SourceFd(&s.as_raw_fd()), Token(run.token + sub), Interest::READABLE)?;
                Ok(s)
            });
            match opened {
                Ok(s) => *slot = Some(s),
                Err(e) => {
                    let msg = format!("ICMP{} socket: {e}", if v6 { "v6" } else { "" });
                    if self.error.as_deref() != Some(msg.as_str()) {
                        crate::logging::warn!("{msg}");
                    }
                    self.error = Some(msg);
                }
            }
        }
        self.round = Some(Round::new(now, self.targets.len(), self.count, self.reliability, timeout));
        Begun::Started
    }

    /// Sends the wave of requests that is due; the round's outcome when
    /// it is decided.
    fn poll(&mut self, now: Instant) -> Option<bool> {
        let round = self.round.as_mut()?;
        for t in round.due(now) {
            let Some(&to) = self.targets.get(t) else { continue };
            let sock = if to.is_ipv6() { &self.v6 } else { &self.v4 };
            let Some(sock) = sock else { continue };
            self.seq = self.seq.wrapping_add(1);
            // Unreachable or fenced: the target stays unanswered.
            match sock.send(to, Echo { ident: self.ident, seq: self.seq }) {
                Ok(()) => round.asked(self.seq, t),
                Err(e) => crate::logging::debug!("ping {to}: {e}"),
            }
        }
        let outcome = round.outcome(now)?;
        self.last_answered = Some(round.answered());
        if outcome {
            self.error = None;
        }
        self.round = None;
        Some(outcome)
    }

    /// Reads the replies waiting on socket `sub`.
    fn readable(&mut self, sub: usize) {
        let sock = if sub == SUB_V6 { &self.v6 } else { &self.v4 };
        let Some(sock) = sock else { return };
        let (ident, targets, round) = (self.ident, &self.targets, &mut self.round);
        let r = sock.drain(|from, echo| {
            if let Some(round) = round.as_mut().filter(|_| echo.ident == ident) {
                round.reply(echo.seq, from, targets);
            }
        });
        if let Err(e) = r {
            crate::logging::debug!("ICMP receive: {e}");
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.round.as_ref().map(Round::deadline)
    }

    /// Closes the sockets and forgets the round.
    fn stop(&mut self, reg: &Registry) {
        for s in [self.v4.take(), self.v6.take()].into_iter().flatten() {
            deregister(reg, &s);
        }
        self.round = None;
    }

    /// `answered` (targets that answered in the last round) and `targets`.
    fn status(&self, j: &mut json::Writer) -> Option<&str> {
        j.key("answered").opt_num(self.last_answered.map(|n| n as u64));
        j.key("targets").num(self.targets.len() as u64);
        self.error.as_deref()
    }
}

pub fn deregister(reg: &Registry, fd: &impl AsRawFd) {
    if let Err(e) = reg.deregister(&mut SourceFd(&fd.as_raw_fd())) {
        crate::logging::debug!("deregister: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn targets(n: u8) -> Vec<IpAddr> {
        (1..=n).map(|i| IpAddr::V4(Ipv4Addr::new(192, 0, 2, i))).collect()
    }

    /// Sends every due wave at `now`, numbering requests from `seq`.
    fn send(r: &mut Round, now: Instant, seq: &mut u16) -> Vec<(u16, usize)> {
        let mut out = Vec::new();
        for t in r.due(now) {
            *seq = seq.wrapping_add(1);
            r.asked(*seq, t);
            out.push((*seq, t));
        }
        out
    }

    #[test]
    fn succeeds_once_reliability_targets_answered() {
        let t0 = Instant::from_millis(1_000);
        let ts = targets(3);
        let mut r = Round::new(t0, 3, 1, 2, MS(500));
        let mut seq = 0;
        let sent = send(&mut r, t0, &mut seq);
        assert_eq!(sent.len(), 3, "one request to each target");
        r.reply(sent[0].0, ts[0], &ts);
        assert_eq!(r.outcome(t0.plus(MS(10))), None, "one of two needed");
        r.reply(sent[0].0, ts[0], &ts);
        assert_eq!(r.outcome(t0.plus(MS(10))), None, "the same target twice is still one");
        r.reply(sent[2].0, ts[2], &ts);
        assert_eq!(r.outcome(t0.plus(MS(20))), Some(true), "decided early, before the timeout");
    }

    #[test]
    fn fails_at_the_timeout_when_too_few_answered() {
        let t0 = Instant::from_millis(1_000);
        let ts = targets(3);
        let mut r = Round::new(t0, 3, 1, 2, MS(500));
        let sent = send(&mut r, t0, &mut 0);
        r.reply(sent[1].0, ts[1], &ts);
        assert_eq!(r.outcome(t0.plus(MS(499))), None);
        assert_eq!(r.outcome(t0.plus(MS(500))), Some(false));
        assert_eq!(r.answered(), 1);
    }

    #[test]
    fn replies_count_only_from_the_target_asked_with_that_sequence() {
        let t0 = Instant::from_millis(1_000);
        let ts = targets(2);
        let mut r = Round::new(t0, 2, 1, 1, MS(500));
        let sent = send(&mut r, t0, &mut 100);
        r.reply(sent[0].0, ts[1], &ts);
        r.reply(999, ts[0], &ts);
        r.reply(sent[0].0, IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)), &ts);
        assert_eq!(r.answered(), 0, "wrong source, unknown sequence, stranger");
        assert_eq!(r.outcome(t0.plus(MS(500))), Some(false));
    }

    #[test]
    fn count_spreads_waves_over_the_timeout_and_stops_asking_who_answered() {
        let t0 = Instant::from_millis(1_000);
        let ts = targets(2);
        let mut r = Round::new(t0, 2, 3, 2, MS(300));
        let mut seq = 0;
        assert_eq!(send(&mut r, t0, &mut seq).len(), 2);
        assert_eq!(r.next_wave(), Some(t0.plus(MS(100))));
        assert_eq!(r.deadline(), t0.plus(MS(100)));
        assert!(send(&mut r, t0.plus(MS(99)), &mut seq).is_empty(), "not yet due");
        r.reply(1, ts[0], &ts);
        let second = send(&mut r, t0.plus(MS(100)), &mut seq);
        assert_eq!(second, vec![(3, 1)], "only the silent target is asked again");
        assert_eq!(send(&mut r, t0.plus(MS(200)), &mut seq), vec![(4, 1)]);
        assert_eq!(r.next_wave(), None, "three waves sent");
        assert_eq!(r.deadline(), t0.plus(MS(300)));
        r.reply(4, ts[1], &ts);
        assert_eq!(r.outcome(t0.plus(MS(250))), Some(true), "the last wave's reply counts");
    }

    #[test]
    fn a_decided_round_sends_nothing_more() {
        let t0 = Instant::from_millis(1_000);
        let ts = targets(1);
        let mut r = Round::new(t0, 1, 2, 1, MS(200));
        send(&mut r, t0, &mut 0);
        r.reply(1, ts[0], &ts);
        assert!(send(&mut r, t0.plus(MS(100)), &mut 1).is_empty());
        let mut late = Round::new(t0, 1, 2, 1, MS(200));
        send(&mut late, t0, &mut 0);
        assert!(send(&mut late, t0.plus(MS(250)), &mut 1).is_empty(), "past the timeout");
    }

    #[test]
    fn degenerate_parameters_do_not_panic() {
        let t0 = Instant::from_millis(1_000);
        let mut r = Round::new(t0, 0, 0, 0, Duration::ZERO);
        assert!(send(&mut r, t0, &mut 0).is_empty());
        assert_eq!(r.outcome(t0), Some(false), "no target can answer");
        let mut r = Round::new(t0, 1, 20, 1, Duration::from_secs(3600));
        let mut seq = u16::MAX;
        assert_eq!(send(&mut r, t0, &mut seq).len(), 1);
        assert_eq!(seq, 0, "the sequence number wraps");
    }
}
