//! /etc/config/vwrp: the UCI reader and the configuration's checks
//! (docs/CONFIG.md). Any text gives a configuration or an error.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = vwrp::config::uci::parse(&text, "fuzz");
    if let Ok(c) = vwrp::config::parse(&text, "fuzz") {
        // The logged form never panics either (secrets hidden).
        let _ = format!("{c:?}");
    }
});
