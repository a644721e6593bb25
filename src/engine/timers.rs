//! The engine's timers: one table of deadlines on the engine's clock, in
//! the manner of quinn-proto's `TimerTable`. Which of them wake the engine
//! is `Engine::poll_timeout`'s business; some are only windows that other
//! events look at (the burst of multicast hellos, the anti-flap hold).

use crate::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Timer {
    /// The next hello on the control paths (and the permit refresh).
    Hello,
    /// The next hello on the WAN, while holding it.
    WanHello,
    /// The next hello is multicast from then on (discovery, once a second).
    Discovery,
    /// Every hello is multicast until then: just started or just active.
    Burst,
    /// The end of the start-up listen (Init).
    Listen,
    /// Standby with nobody active: the earliest instant to take over.
    Takeover,
    /// Waiting for `handle_prepared` until then.
    Prepare,
    /// The operator's step-up request lapses.
    StepUp,
    /// The anti-flap hold after a tracker-driven handover ends.
    Hold,
    /// The next ARP request to the ISP gateway (active).
    Nudge,
    /// The next periodic announcement of the LAN gateway (active).
    LanAnnounce,
    /// The next lease renewal (active).
    Renew,
    /// The renewal's request goes out again, or is given up.
    Retransmit,
    /// The next DHCPv6 exchange: renew, rebind, or solicit again (active).
    Renew6,
    /// The DHCPv6 exchange's message goes out again, or is given up.
    Retransmit6,
    /// The next router advertisement on the LAN (active).
    Advert,
}

const COUNT: usize = Timer::Advert as usize + 1;

/// No deadline: the end of time, which no `now` reaches.
const UNSET: Instant = Instant::from_micros(u64::MAX);

/// A deadline per `Timer`, or none (`UNSET`, so that a check is one
/// comparison).
#[derive(Clone, Copy, Debug)]
pub(super) struct Timers([Instant; COUNT]);

impl Default for Timers {
    fn default() -> Self {
        Timers([UNSET; COUNT])
    }
}

impl Timers {
    pub fn get(&self, t: Timer) -> Option<Instant> {
        let at = self.0[t as usize];
        (at != UNSET).then_some(at)
    }

    pub fn set(&mut self, t: Timer, at: Instant) {
        self.0[t as usize] = at;
    }

    pub fn set_to(&mut self, t: Timer, at: Option<Instant>) {
        self.0[t as usize] = at.unwrap_or(UNSET);
    }

    pub fn stop(&mut self, t: Timer) {
        self.0[t as usize] = UNSET;
    }

    /// The deadline, which is then unset.
    pub fn take(&mut self, t: Timer) -> Option<Instant> {
        let at = self.get(t);
        self.stop(t);
        at
    }

    /// Set, and reached at `now`.
    pub fn is_due(&self, t: Timer, now: Instant) -> bool {
        let at = self.0[t as usize];
        at != UNSET && now >= at
    }

    /// Set, and not reached at `now`: a window still open.
    pub fn is_pending(&self, t: Timer, now: Instant) -> bool {
        let at = self.0[t as usize];
        at != UNSET && now < at
    }

    /// The deadline, set to `now` first if there was none.
    pub fn get_or_set(&mut self, t: Timer, now: Instant) -> Instant {
        let at = &mut self.0[t as usize];
        if *at == UNSET {
            *at = now;
        }
        *at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_and_pending() {
        let mut t = Timers::default();
        let at = Instant::from_millis(100);
        assert!(!t.is_due(Timer::Hold, at) && !t.is_pending(Timer::Hold, at), "unset: neither");
        t.set(Timer::Hold, at);
        assert!(t.is_pending(Timer::Hold, Instant::from_millis(99)));
        assert!(t.is_due(Timer::Hold, at) && !t.is_pending(Timer::Hold, at));
        assert_eq!(t.get_or_set(Timer::Takeover, at), at);
        assert_eq!(t.get_or_set(Timer::Takeover, Instant::from_millis(200)), at, "kept");
        t.stop(Timer::Hold);
        assert_eq!(t.get(Timer::Hold), None);
        assert_eq!(t.get(Timer::Advert), None, "the last timer has its slot");
    }
}
