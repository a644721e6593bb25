//! DHCPv4 messages from the WAN: the answers to the renewal of a lease
//! taken over (src/wire/dhcpv4.rs, src/system/renewer.rs).

#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use vwrp::wire::Lease4;
use vwrp::wire::dhcpv4::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::parse(data) {
        let old = Lease4 {
            address: Ipv4Addr::new(203, 0, 113, 10),
            prefix_len: 24,
            gateway: Ipv4Addr::new(203, 0, 113, 1),
            server_id: Ipv4Addr::new(203, 0, 113, 1),
            lease_time: 600,
            valid_left: 300,
            renew_left: 0,
            rebind_left: 225,
            dns: vec![],
        };
        if let Some(l) = m.lease(&old) {
            assert!(l.renew_left <= l.rebind_left && l.rebind_left <= l.lease_time, "{l:?}");
        }
    }
});
