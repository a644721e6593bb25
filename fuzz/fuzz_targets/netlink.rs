//! Netlink replies and notifications from the kernel: messages, their
//! attributes (nested too), acks, the link monitor's events and the
//! nftables notifications (src/system/netlink.rs, rtnl.rs, nft.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;
use vwrp::system::netlink::{Attrs, Messages};
use vwrp::system::{nft, rtnl};

fn walk(attrs: Attrs<'_>, depth: u8) {
    for a in attrs {
        let Ok(a) = a else { return };
        let _ = (a.u8(), a.string());
        if depth < 4 {
            walk(a.attrs(), depth + 1);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for m in Messages::new(data) {
        let Ok(m) = m else { break };
        let _ = m.error_code();
        for header in [4, 12, 16] {
            if let Ok((_, attrs)) = m.split(header) {
                walk(attrs, 0);
            }
        }
    }
    let _ = rtnl::link_datagram(Messages::new(data));
    let _ = nft::deletions_in(Messages::new(data));
});
