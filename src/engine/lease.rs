//! The DHCP lease as the engine keeps it: the wire form plus the instant
//! it was learned, so "seconds left" can be aged without a shared clock.

use core::time::Duration;

use super::timers::Timer;
use super::{Action, Engine, RETRANSMIT_INTERVAL, RETRANSMITS, State};
use crate::time::Instant;
use crate::wire::{Lease4, Message};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// Times in here are "seconds left" as of `learned`.
    pub wire: Lease4,
    pub client_id: Option<Vec<u8>>,
    pub learned: Instant,
}

/// Whole seconds since `learned`, rounded up, so an aged lease never
/// looks longer than it is.
pub(super) fn elapsed_secs(learned: Instant, now: Instant) -> u32 {
    let us = now.since(learned).as_micros();
    u32::try_from(us.div_ceil(1_000_000)).unwrap_or(u32::MAX)
}

impl Lease {
    /// The lease as it stands at `now`, ready to be sent or applied.
    pub fn at(&self, now: Instant) -> Lease4 {
        let mut out = Lease4 { dns: Vec::new(), ..self.wire };
        self.at_into(now, &mut out);
        out
    }

    /// `at` into `out`, reusing its DNS list: what a hello carries.
    pub fn at_into(&self, now: Instant, out: &mut Lease4) {
        assign4(out, &self.wire);
        let e = elapsed_secs(self.learned, now);
        out.valid_left = self.wire.valid_left.saturating_sub(e);
        out.renew_left = self.wire.renew_left.saturating_sub(e);
        out.rebind_left = self.wire.rebind_left.saturating_sub(e);
    }

    fn deadline(&self, secs: u32) -> Instant {
        self.learned.plus(Duration::from_secs(u64::from(secs)))
    }

    pub fn expires(&self) -> Instant {
        self.deadline(self.wire.valid_left)
    }

    pub fn renew_at(&self) -> Instant {
        self.deadline(self.wire.renew_left)
    }

    pub fn rebind_at(&self) -> Instant {
        self.deadline(self.wire.rebind_left)
    }

    pub fn is_valid(&self, now: Instant) -> bool {
        now < self.expires()
    }

    /// Same address, prefix, gateway and DNS: nothing to re-apply.
    pub fn same_binding(&self, other: &Lease4) -> bool {
        let w = &self.wire;
        w.address == other.address
            && w.prefix_len == other.prefix_len
            && w.gateway == other.gateway
            && w.dns == other.dns
    }
}

// ---- what the engine does with the lease -------------------------------

impl Engine {
    /// Renewal, rebinding and expiry while active; stale addresses on a standby.
    pub(super) fn evaluate_lease(&mut self, now: Instant) {
        self.retransmit_renewal(now);
        let Some(l) = &self.lease else { return };
        let (valid, address, expires, rebind_at) = (l.is_valid(now), l.wire.address, l.expires(), l.rebind_at());
        if self.state == State::Active {
            if !valid && self.applied.is_some() {
                self.withdraw_lease();
                self.acquire(now);
            } else if valid && self.timers.is_due(Timer::Renew, now) {
                let left = expires.since(now);
                let next = now.plus((left / 2).clamp(Duration::from_secs(1), Duration::from_secs(60)));
                self.timers.set(Timer::Renew, next);
                let lease = l.at(now);
                let client_id = self.client_id();
                self.actions.push_back(Action::RenewLease { lease, client_id, rebinding: now >= rebind_at });
                self.timers.set(Timer::Retransmit, now.plus(RETRANSMIT_INTERVAL));
                self.retransmits = 0;
            }
        } else if !self.state.holds_wan()
            && self.state != State::TakingOver
            && self.applied.is_some_and(|a| !valid || a != address)
        {
            self.withdraw_lease();
        }
    }

    /// An unanswered renewal: its request again, or at last given up.
    fn retransmit_renewal(&mut self, now: Instant) {
        if !self.timers.is_due(Timer::Retransmit, now) {
            return;
        }
        if self.retransmits >= RETRANSMITS {
            self.timers.stop(Timer::Retransmit);
            self.actions.push_back(Action::AbandonRenewal);
            // INIT-REBOOT unanswered (a server without a record of the
            // lease stays silent): DISCOVER, asking for the address.
            if self.rebooting.is_some() && self.state.holds_wan() {
                self.acquire(now);
            }
            self.rebooting = None;
        } else {
            self.retransmits += 1;
            self.timers.set(Timer::Retransmit, now.plus(RETRANSMIT_INTERVAL));
            self.actions.push_back(Action::RetransmitRenewal);
        }
    }

    pub(super) fn apply_lease(&mut self, now: Instant) {
        let Some(l) = &self.lease else { return };
        self.applied = Some(l.wire.address);
        self.actions.push_back(Action::ApplyLease { lease: l.at(now) });
    }

    pub(super) fn withdraw_lease(&mut self) {
        if self.applied.take().is_some() {
            self.actions.push_back(Action::WithdrawLease);
        }
    }

    /// No valid lease in memory: ask a kept one back (once), else start
    /// over with DISCOVER, asking for the address last known (an expired
    /// kept lease's too).
    pub(super) fn acquire(&mut self, now: Instant) {
        let kept = self.kept.take();
        if let Some(kept) = kept.as_ref().filter(|k| k.is_valid(now)) {
            self.rebooting = Some(kept.wire.address);
            let client_id = kept.client_id.clone().unwrap_or_else(|| self.s.client_id.clone());
            self.actions.push_back(Action::RebootLease { lease: kept.at(now), client_id });
            self.timers.set(Timer::Retransmit, now.plus(RETRANSMIT_INTERVAL));
            self.retransmits = 0;
            return;
        }
        let requested = self.lease.as_ref().map(|l| l.wire.address).or(self.rebooting).or(kept.map(|k| k.wire.address));
        let client_id = self.client_id();
        self.actions.push_back(Action::AcquireLease { requested, client_id });
    }

    /// Keeps the lease for a restart when it changed in a way the next
    /// daemon must know: another address, or an expiry moved by a renewal.
    /// A peer's hellos repeat the same lease, seconds left counting down:
    /// those change nothing.
    pub(super) fn store_lease(&mut self, now: Instant) {
        let Some(l) = &self.lease else { return };
        let (address, expires) = (l.wire.address, l.expires());
        let moved = |at: Instant| at.since(expires).max(expires.since(at)) > Duration::from_secs(2);
        if self.stored.is_some_and(|(a, at)| a == address && !moved(at)) {
            return;
        }
        self.stored = Some((address, expires));
        let (lease, client_id) = (l.at(now), l.client_id.clone());
        self.actions.push_back(Action::StoreLease { lease: Some(lease), client_id });
    }

    pub(super) fn client_id(&self) -> Vec<u8> {
        self.client_id_ref().to_vec()
    }

    pub(super) fn client_id_ref(&self) -> &[u8] {
        self.lease.as_ref().and_then(|l| l.client_id.as_deref()).unwrap_or(&self.s.client_id)
    }

    /// The lease the holder's message `m` carries, learned by a router
    /// that does not hold the WAN. In place: every hello brings it again.
    /// Kept for a restart only when it changed (`store_lease`).
    pub(super) fn learn_lease(&mut self, now: Instant, m: &Message) {
        let Some(w) = &m.tlvs.lease4 else { return };
        match &mut self.lease {
            Some(l) => {
                assign4(&mut l.wire, w);
                l.client_id.clone_from(&m.tlvs.client_id);
                l.learned = now;
            }
            None => self.lease = Some(Lease { wire: w.clone(), client_id: m.tlvs.client_id.clone(), learned: now }),
        }
        self.store_lease(now);
    }
}

/// `*dst = src.clone()`, but in `dst`'s DNS list (a derived `clone_from`
/// would allocate a new one).
fn assign4(dst: &mut Lease4, src: &Lease4) {
    let mut dns = core::mem::take(&mut dst.dns);
    dns.clone_from(&src.dns);
    *dst = Lease4 { dns, ..*src };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn lease(valid: u32) -> Lease {
        Lease {
            wire: Lease4 {
                address: Ipv4Addr::new(203, 0, 113, 10),
                prefix_len: 24,
                gateway: Ipv4Addr::new(203, 0, 113, 1),
                server_id: Ipv4Addr::new(203, 0, 113, 1),
                lease_time: valid,
                valid_left: valid,
                renew_left: valid / 2,
                rebind_left: valid / 8 * 7,
                dns: vec![],
            },
            client_id: None,
            learned: Instant::from_millis(1000),
        }
    }

    #[test]
    fn ages_by_whole_seconds_rounded_up() {
        let l = lease(120);
        assert_eq!(l.at(Instant::from_millis(1000)).valid_left, 120);
        assert_eq!(l.at(Instant::from_millis(1001)).valid_left, 119);
        assert_eq!(l.at(Instant::from_millis(61_000)).renew_left, 0);
        assert_eq!(l.at(Instant::from_millis(500_000)).valid_left, 0);
        assert!(l.is_valid(Instant::from_millis(120_999)));
        assert!(!l.is_valid(Instant::from_millis(121_000)));
    }
}
