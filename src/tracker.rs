//! Rise/fall counting for trackers, pure: probe results in, verdicts out.
//! The daemon runs the probes (link, ping, arping, script, external); this
//! decides when a run of results changes the tracker's state.

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
}
