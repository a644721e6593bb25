//! The TLV area of a frame (docs/PROTOCOL.md §2.6): never a panic, and
//! what a receiver accepts, a sender can send back unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vwrp::wire::Tlvs;

fuzz_target!(|data: &[u8]| {
    if let Ok(tlvs) = Tlvs::parse(data) {
        let mut out = Vec::new();
        tlvs.emit(&mut out).expect("a TLV area a receiver accepts can be sent");
        assert_eq!(Tlvs::parse(&out), Ok(tlvs), "emit then parse gives the TLVs back");
    }
});
