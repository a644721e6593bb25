//! The DHCP lease as the engine keeps it: the wire form plus the instant
//! it was learned, so "seconds left" can be aged without a shared clock.

use core::time::Duration;

use crate::time::Instant;
use crate::wire::{Ia6, Lease4, Lease6};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// Times in here are "seconds left" as of `learned`.
    pub wire: Lease4,
    pub client_id: Option<Vec<u8>>,
    pub learned: Instant,
}

/// Whole seconds since `learned`, rounded up, so an aged lease never
/// looks longer than it is.
fn elapsed_secs(learned: Instant, now: Instant) -> u32 {
    let us = now.since(learned).as_micros();
    u32::try_from(us.div_ceil(1_000_000)).unwrap_or(u32::MAX)
}

impl Lease {
    /// The lease as it stands at `now`, ready to be sent or applied.
    pub fn at(&self, now: Instant) -> Lease4 {
        let e = elapsed_secs(self.learned, now);
        Lease4 {
            valid_left: self.wire.valid_left.saturating_sub(e),
            renew_left: self.wire.renew_left.saturating_sub(e),
            rebind_left: self.wire.rebind_left.saturating_sub(e),
            ..self.wire.clone()
        }
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

/// Ages every lifetime of an IPv6 lease learned at `learned`.
pub fn age6(l: &Lease6, learned: Instant, now: Instant) -> Lease6 {
    let e = elapsed_secs(learned, now);
    let age = |i: &Ia6| Ia6 {
        preferred_left: i.preferred_left.saturating_sub(e),
        valid_left: i.valid_left.saturating_sub(e),
        ..*i
    };
    Lease6 {
        addresses: l.addresses.iter().map(age).filter(|i| i.valid_left > 0).collect(),
        prefixes: l.prefixes.iter().map(age).filter(|i| i.valid_left > 0).collect(),
        ..l.clone()
    }
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
