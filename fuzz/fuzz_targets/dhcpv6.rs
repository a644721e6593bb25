//! DHCPv6 messages from the WAN: the ADVERTISE and REPLY answers the
//! group's DHCPv6 client reads (src/wire/dhcpv6.rs, src/system/dhcp6.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;
use vwrp::wire::dhcpv6::{Answer, Reply};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Reply::parse(data) {
        if let Answer::Bound(l) = r.answer(1) {
            // What a binding taken from the wire may hold: no lease that
            // ends before it was renewed, nothing already expired.
            if let Some(s) = &l.server {
                assert!(s.renew_left <= s.rebind_left, "{l:?}");
            }
            for e in l.addresses.iter().chain(&l.prefixes) {
                assert!(e.valid_left > 0 && e.preferred_left <= e.valid_left, "{l:?}");
                assert!(e.prefix_len <= 128, "{l:?}");
            }
            assert!(!l.addresses.is_empty() || !l.prefixes.is_empty(), "{l:?}");
        }
    }
});
