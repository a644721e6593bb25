//! The DHCPv6 binding as the engine keeps it, and what the engine does
//! with it: the IPv6 side of the handover (docs/PROTOCOL.md §7.2).
//!
//! The active applies the binding (address, default gateway, delegated
//! prefix) at takeover, then confirms it with RENEW (REBIND after T2, or
//! when the server is not known) and never SOLICITs while it is valid; it
//! advertises itself as the LAN's IPv6 default router from the group's
//! link-local gateway address. A router that closes its WAN withdraws the
//! binding, and a standby never advertises anything.

use core::time::Duration;

use super::timers::Timer;
use super::{Action, Engine, RETRANSMIT_INTERVAL, RETRANSMITS, State};
use crate::time::Instant;
use crate::wire::{Ia6, Lease6};

/// The IAID of the group's IA_NA and IA_PD (one of each).
pub const IAID: u32 = 1;

/// The active advertises itself on the LAN this often (and at once when
/// it takes over, and when a host solicits)...
pub const ADVERT_INTERVAL: Duration = Duration::from_secs(30);
/// ...but answers solicitations no more often than this.
pub const ADVERT_MIN_GAP: Duration = Duration::from_secs(1);
/// Without a binding, a SOLICIT exchange starts again this long after the
/// last one began.
pub const SOLICIT_RETRY: Duration = Duration::from_secs(10);

/// Which DHCPv6 exchange the client starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exchange6 {
    /// No valid binding: SOLICIT (the old one's addresses as hints).
    Solicit,
    /// RENEW to the server that granted the binding.
    Renew,
    /// REBIND: after T2, or when the server is not known.
    Rebind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding6 {
    /// Times in here are "seconds left" as of `learned`.
    pub wire: Lease6,
    pub learned: Instant,
}

impl Binding6 {
    /// The binding as it stands at `now`: every time aged (rounded up, so
    /// it never looks longer than it is), what ran out left out.
    pub fn at(&self, now: Instant) -> Lease6 {
        let mut l = Lease6::default();
        self.at_into(now, &mut l);
        l
    }

    /// `at` into `out`, reusing its lists: what a hello carries.
    pub fn at_into(&self, now: Instant, out: &mut Lease6) {
        out.clone_from(&self.wire);
        let e = super::lease::elapsed_secs(self.learned, now);
        for list in [&mut out.addresses, &mut out.prefixes] {
            list.retain_mut(|i| {
                i.preferred_left = i.preferred_left.saturating_sub(e);
                i.valid_left = i.valid_left.saturating_sub(e);
                i.valid_left > 0
            });
        }
        if let Some(s) = &mut out.server {
            s.renew_left = s.renew_left.saturating_sub(e);
            s.rebind_left = s.rebind_left.saturating_sub(e);
        }
    }

    /// Holds a prefix that has not run out at `now`.
    fn has_prefix(&self, now: Instant) -> bool {
        let e = super::lease::elapsed_secs(self.learned, now);
        self.wire.prefixes.iter().any(|p| p.valid_left > e)
    }

    fn deadline(&self, secs: u32) -> Instant {
        self.learned.plus(Duration::from_secs(u64::from(secs)))
    }

    /// When the last address or prefix runs out (the binding is empty
    /// then); `None` if it holds none.
    pub fn expires(&self) -> Option<Instant> {
        let all = self.wire.addresses.iter().chain(&self.wire.prefixes);
        all.map(|i| i.valid_left).max().map(|v| self.deadline(v))
    }

    pub fn is_valid(&self, now: Instant) -> bool {
        self.expires().is_some_and(|e| now < e)
    }

    pub fn renew_at(&self) -> Option<Instant> {
        self.wire.server.as_ref().map(|s| self.deadline(s.renew_left))
    }

    fn rebind_at(&self) -> Option<Instant> {
        self.wire.server.as_ref().map(|s| self.deadline(s.rebind_left))
    }

    /// Same addresses, prefixes, gateway and DNS: nothing to re-apply.
    fn same_binding(&self, other: &Lease6) -> bool {
        let key = |l: &Lease6| {
            let pairs = |v: &[Ia6]| v.iter().map(|i| (i.address, i.prefix_len)).collect::<Vec<_>>();
            (pairs(&l.addresses), pairs(&l.prefixes), l.gateway, l.dns.clone())
        };
        key(&self.wire) == key(other)
    }
}

impl Engine {
    pub fn lease6(&self) -> Option<&Binding6> {
        self.lease6.as_ref()
    }

    /// A binding from the DHCPv6 client (its REPLY) or from odhcp6c's
    /// hook. What it leaves out (the gateway, which comes from router
    /// advertisements; the client identity, from a hook) is kept.
    pub fn handle_lease6(&mut self, now: Instant, mut l: Lease6) {
        let old = self.lease6.as_ref();
        let changed = old.is_none_or(|b| !b.is_valid(now) || !b.same_binding(&l));
        l.gateway = l.gateway.or(old.and_then(|b| b.wire.gateway));
        l.duid = l.duid.or_else(|| old.and_then(|b| b.wire.duid.clone()));
        let b = Binding6 { wire: l, learned: now };
        // An answer, or a fresh binding that makes one moot.
        self.timers.stop(Timer::Retransmit6);
        self.timers.set_to(Timer::Renew6, b.renew_at());
        self.lease6 = Some(b);
        if self.state.holds_wan() && (changed || self.applied6.is_none()) {
            self.apply_lease6(now);
            self.advertise(now);
        }
        self.evaluate(now);
    }

    /// The ISP's router, from its advertisements on the WAN (lifetime 0:
    /// it is no default router any more).
    pub fn handle_gateway6(&mut self, now: Instant, gateway: std::net::Ipv6Addr, lifetime: u16) {
        let g = (lifetime > 0).then_some(gateway);
        let b = self.lease6.get_or_insert_with(|| Binding6 { wire: Lease6::default(), learned: now });
        if b.wire.gateway == g || (g.is_none() && b.wire.gateway != Some(gateway)) {
            return;
        }
        b.wire.gateway = g;
        if self.applied6.is_some() {
            self.apply_lease6(now);
        }
        self.evaluate(now);
    }

    /// The server has no binding for us (NoBinding): solicit one.
    pub fn handle_lease6_lost(&mut self, now: Instant) {
        self.timers.stop(Timer::Retransmit6);
        if let Some(b) = &mut self.lease6 {
            b.wire.addresses.clear();
            b.wire.prefixes.clear();
            b.wire.server = None;
        }
        if self.state.holds_wan() {
            self.withdraw_lease6();
            self.acquire6(now);
        }
        self.evaluate(now);
    }

    /// A host on the LAN solicited a router advertisement.
    pub fn handle_router_solicit(&mut self, now: Instant) {
        let quiet = self.last_advert.is_none_or(|t| now >= t.plus(ADVERT_MIN_GAP));
        if self.state == State::Active && quiet {
            self.advertise(now);
        }
    }

    /// Renewal, rebinding and expiry while active; router advertisements.
    pub(super) fn evaluate_lease6(&mut self, now: Instant) {
        self.retransmit6(now);
        if self.state != State::Active {
            return;
        }
        if self.timers.is_due(Timer::Advert, now) {
            self.advertise(now);
        }
        let (valid, expires, rebind_at, has_server) = match &self.lease6 {
            Some(b) => (b.is_valid(now), b.expires(), b.rebind_at(), b.wire.server.is_some()),
            None => (false, None, None, false),
        };
        if !valid && self.applied6.is_some() {
            self.withdraw_lease6();
            if self.s.dhcpv6 {
                self.acquire6(now);
            }
        } else if self.s.dhcpv6 && self.timers.is_due(Timer::Renew6, now) {
            match expires.filter(|_| valid) {
                Some(expires) => {
                    let left = expires.since(now);
                    let next = now.plus((left / 2).clamp(Duration::from_secs(1), Duration::from_secs(60)));
                    self.timers.set(Timer::Renew6, next);
                    let rebinding = !has_server || rebind_at.is_some_and(|t| now >= t);
                    self.exchange6(now, if rebinding { Exchange6::Rebind } else { Exchange6::Renew });
                }
                None => self.acquire6(now),
            }
        }
    }

    /// An unanswered exchange: its message again, or at last given up.
    fn retransmit6(&mut self, now: Instant) {
        if !self.timers.is_due(Timer::Retransmit6, now) {
            return;
        }
        if self.retransmits6 >= RETRANSMITS {
            self.timers.stop(Timer::Retransmit6);
            self.actions.push_back(Action::AbandonDhcp6);
        } else {
            self.retransmits6 += 1;
            self.timers.set(Timer::Retransmit6, now.plus(RETRANSMIT_INTERVAL));
            self.actions.push_back(Action::RetransmitDhcp6);
        }
    }

    fn exchange6(&mut self, now: Instant, exchange: Exchange6) {
        let lease = self.lease6.as_ref().map(|b| b.at(now)).unwrap_or_default();
        let duid = lease.duid.clone().map_or_else(|| self.s.duid.clone(), |(_, d)| d);
        self.actions.push_back(Action::Dhcp6 { exchange, lease, iaid: IAID, duid });
        self.timers.set(Timer::Retransmit6, now.plus(RETRANSMIT_INTERVAL));
        self.retransmits6 = 0;
    }

    /// No valid binding: SOLICIT, and again after a while if nothing comes.
    pub(super) fn acquire6(&mut self, now: Instant) {
        if self.s.dhcpv6 {
            self.timers.set(Timer::Renew6, now.plus(SOLICIT_RETRY));
            self.exchange6(now, Exchange6::Solicit);
        }
    }

    /// At takeover: the binding applied at once, confirmed in the
    /// background once active (`become_active` sets the renewal).
    pub(super) fn apply_lease6(&mut self, now: Instant) {
        let Some(b) = self.lease6.as_ref().filter(|b| b.is_valid(now)) else { return };
        let lease = b.at(now);
        self.applied6 = Some(lease.clone());
        self.actions.push_back(Action::ApplyLease6 { lease });
    }

    pub(super) fn withdraw_lease6(&mut self) {
        if let Some(lease) = self.applied6.take() {
            self.actions.push_back(Action::WithdrawLease6 { lease });
        }
    }

    /// A binding learned from the active's hellos. A router that does not
    /// hold the WAN withdraws it once (and whenever its prefixes change):
    /// an earlier run of the daemon, killed while active, may have left it
    /// configured, and a standby must not hold the LAN's prefix.
    /// In place: every hello brings it again.
    pub(super) fn learn_lease6(&mut self, now: Instant, l: &Lease6) {
        let key = |p: &Ia6| (p.address, p.prefix_len);
        let new = self.lease6.as_ref().is_none_or(|b| !b.wire.prefixes.iter().map(key).eq(l.prefixes.iter().map(key)));
        match &mut self.lease6 {
            Some(b) => {
                b.wire.clone_from(l);
                b.learned = now;
            }
            None => self.lease6 = Some(Binding6 { wire: l.clone(), learned: now }),
        }
        // Only a router that does not hold the WAN learns a binding; one
        // taking over withdraws it too (§7.2): it may abort, and stand by.
        if new && self.applied6.is_none() {
            self.actions.push_back(Action::WithdrawLease6 { lease: l.clone() });
        }
    }

    /// A router advertisement on the LAN, if this router advertises and
    /// has a prefix to number the LAN with; the next one in
    /// `ADVERT_INTERVAL`.
    pub(super) fn advertise(&mut self, now: Instant) {
        let numbered = self.applied6.is_some() && self.lease6.as_ref().is_some_and(|b| b.has_prefix(now));
        if self.s.router_advert && numbered {
            self.last_advert = Some(now);
            self.actions.push_back(Action::AdvertiseRouter);
        }
        self.timers.set(Timer::Advert, now.plus(ADVERT_INTERVAL));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Server6;
    use std::net::Ipv6Addr;

    fn binding() -> Binding6 {
        let ia = |s: &str, len, valid| Ia6 {
            address: s.parse::<Ipv6Addr>().unwrap(),
            prefix_len: len,
            preferred_left: valid / 2,
            valid_left: valid,
        };
        Binding6 {
            wire: Lease6 {
                addresses: vec![ia("2001:db8:0:1::10", 128, 100)],
                prefixes: vec![ia("2001:db8:100::", 56, 200)],
                server: Some(Server6 { duid: vec![1], renew_left: 50, rebind_left: 80 }),
                ..Lease6::default()
            },
            learned: Instant::from_millis(1000),
        }
    }

    #[test]
    fn ages_and_expires_with_its_longest_entry() {
        let b = binding();
        let at = b.at(Instant::from_millis(101_500));
        assert_eq!(at.addresses, [], "the address ran out after 100 s");
        assert_eq!((at.prefixes[0].valid_left, at.prefixes[0].preferred_left), (99, 0));
        let s = at.server.unwrap();
        assert_eq!((s.renew_left, s.rebind_left), (0, 0));
        assert_eq!(b.expires(), Some(Instant::from_millis(201_000)));
        assert!(b.is_valid(Instant::from_millis(200_999)) && !b.is_valid(Instant::from_millis(201_000)));
        assert_eq!(b.renew_at(), Some(Instant::from_millis(51_000)));
        let empty = Binding6 { wire: Lease6::default(), learned: Instant::from_millis(0) };
        assert_eq!((empty.expires(), empty.is_valid(Instant::from_millis(0))), (None, false));
    }
}
