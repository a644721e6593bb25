//! vwrp's JSON reader (src/json.rs) against serde_json: the two accept
//! the same texts and read the same values, but for nesting deeper than
//! vwrp's bound (vwrp refuses it) and numbers beyond f64's range (serde_json
//! refuses them; vwrp never converts such a number and accepts it). What
//! vwrp refuses it refuses with a reason, never a panic. Numbers agree on
//! what vwrp reads of them, an integer 0..2^64 or none.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value as Theirs;
use vwrp::json::{self, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let theirs = serde_json::from_str::<Theirs>(text);
    match (json::parse(text), theirs) {
        (Ok(v), Ok(t)) => assert!(same(&v, &t), "{text:?}: {v:?} against {t:?}"),
        (Ok(_), Err(e)) if e.to_string().starts_with("number out of range") => {}
        (Ok(v), Err(e)) => panic!("{text:?}: read as {v:?}, serde_json refuses it: {e}"),
        (Err(e), Ok(_)) => assert!(e.starts_with("nested more than"), "{text:?}: refused ({e}), serde_json reads it"),
        (Err(e), Err(_)) => assert!(!e.is_empty()),
    }
});

fn same(v: &Value, t: &Theirs) -> bool {
    match (v, t) {
        (Value::Null, Theirs::Null) => true,
        (Value::Bool(a), Theirs::Bool(b)) => a == b,
        (Value::Num(_), Theirs::Number(n)) => v.as_u64() == n.as_u64(),
        (Value::Str(a), Theirs::String(b)) => a == b,
        (Value::Arr(a), Theirs::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b)),
        // serde_json's map keeps the last of a repeated key, as `get` does.
        (Value::Obj(a), Theirs::Object(b)) => {
            b.iter().all(|(k, b)| a.get(k).is_some_and(|a| same(a, b))) && a.iter().all(|(k, _)| b.contains_key(k))
        }
        _ => false,
    }
}
