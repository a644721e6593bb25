//! Requests on the control socket and rpcd's arguments
//! (docs/CONTROL.md): never a panic, and a request parsed, written back
//! and parsed again is the same request.
//!
//! Input: the first line names a method for rpcd's parser, the rest is
//! a request line for the socket's and rpcd's arguments at once.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vwrp::control::Request;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (method, line) = text.split_once('\n').unwrap_or(("status", &text));
    if let Ok(r) = Request::parse(line) {
        assert_eq!(Request::parse(&r.to_json()), Ok(r.clone()), "written back: {}", r.to_json());
    }
    // genkey reads /dev/urandom: not a parser.
    if method != "genkey" {
        let _ = vwrp::rpcd::call(method, line, |_| Err("no daemon here".into()));
    }
});
