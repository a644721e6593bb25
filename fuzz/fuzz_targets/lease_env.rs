//! The DHCP clients' event environments as the hooks hand them on:
//! udhcpc's (IPv4) and odhcp6c's (IPv6), parsed into the leases the
//! daemon applies and sends (src/system/udhcpc.rs, src/system/dhcp6.rs).
//!
//! Input: NAME=VALUE lines.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vwrp::system::{dhcp6, udhcpc};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let env: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |name: &str| env.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
    let _ = udhcpc::lease_from_udhcpc_env(get);
    let _ = dhcp6::lease6_from_odhcp6c_env(get);
});
