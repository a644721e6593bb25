//! What the trackers read from the upstream: ICMP echo replies (IPv4
//! with its header, ICMPv6 alone) and ARP replies (src/wire/icmp.rs,
//! src/wire/arp.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;
use vwrp::wire::{arp, icmp};

fuzz_target!(|data: &[u8]| {
    let _ = icmp::Echo::parse_reply_v4(data);
    let _ = icmp::Echo::parse_reply_v6(data);
    if let Ok(p) = arp::Packet::new_checked(data) {
        if let Some(r) = arp::Repr::parse(&p) {
            let _ = r.to_string();
        }
    }
});
