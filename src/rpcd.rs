//! The rpcd exec plugin behind ubus object `vwrp`
//! (files/usr/libexec/rpcd/vwrp is `exec vwrp rpcd "$@"`). rpcd runs
//! `vwrp list` once at start and `vwrp call METHOD` per call, with the
//! arguments as JSON on stdin; each answer is exactly one JSON object on
//! stdout (rpcd's plugin.c: an object is UBUS_STATUS_OK, anything else an
//! error). Failures are objects too, `{"error":"…"}`. Unknown arguments,
//! such as the `ubus_rpc_session` uhttpd adds, are ignored. `genkey` is
//! answered here, without the daemon.

use crate::control::{Access, METHODS, Reply, Request, error_json, method};
use crate::json::{self, Object, Value};

/// The answer to `list`: every method on ubus (not the hooks' own), each
/// argument with a sample of its type (string, bool, or a number: int32),
/// from `control::METHODS`. Never asks the daemon.
pub fn list() -> String {
    let mut out = String::from("{");
    for m in METHODS.iter().filter(|m| m.access != Access::Local) {
        if out.len() > 1 {
            out.push(',');
        }
        out.push('"');
        out.push_str(m.name);
        out.push_str("\":{");
        out.push_str(m.list_args);
        out.push('}');
    }
    out.push('}');
    out
}

/// Answers `call METHOD` with `input` (stdin) as the arguments, as JSON
/// text; `send` carries a request to the daemon and returns its reply or
/// an error. What the daemon does not answer (`genkey`) is answered here.
pub fn call(method: &str, input: &str, send: impl FnOnce(&Request) -> Result<Reply, String>) -> String {
    let answer = match request(method, input) {
        Ok(Request::Genkey { id }) => genkey(id),
        Ok(r) => match send(&r) {
            Ok(r) if r.value.is_object() => Ok(r.line),
            Ok(_) => Err("the daemon answered with something other than an object".into()),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    answer.unwrap_or_else(|e| error_json(&e))
}

/// The arguments on stdin: a JSON object, or nothing.
fn arguments(input: &str) -> Result<Object, String> {
    if input.trim().is_empty() {
        return Ok(Object::default());
    }
    match json::parse(input) {
        Ok(Value::Obj(m)) => Ok(m),
        Ok(_) => Err("arguments must be a JSON object".into()),
        Err(e) => Err(format!("arguments are not JSON: {e}")),
    }
}

fn request(name: &str, input: &str) -> Result<Request, String> {
    let mut args = arguments(input)?;
    if method(name).is_none_or(|m| m.access == Access::Local) {
        return Err(format!("unknown method '{name}'"));
    }
    // Looser than the control socket: UCI values are strings, and some
    // callers send 0/1 for a boolean.
    match name {
        "set_priority" => {
            let p = priority(&args)?;
            args.insert("priority", p.into());
        }
        "tracker" => {
            let up = match args.get("up") {
                Some(Value::Bool(b)) => *b,
                Some(n) if matches!(n.as_u64(), Some(0 | 1)) => n.as_u64() == Some(1),
                _ => return Err("tracker needs 'up': true or false".into()),
            };
            args.insert("up", up.into());
        }
        "genkey" => {
            let id = key_id(&args)?;
            args.insert("id", id.into());
        }
        _ => {}
    }
    Request::from_args(name, &args)
}

/// `{"key":"ID:SECRET"}`, a fresh key (`vwrp genkey`).
fn genkey(id: u8) -> Result<String, String> {
    let key = crate::keygen::generate(id).map_err(|e| e.to_string())?;
    let mut j = json::Writer::new();
    j.open('{').key("key").str(&key).close('}');
    Ok(j.finish())
}

/// genkey's `id`: 0..255, 1 when left out.
fn key_id(args: &Object) -> Result<u8, String> {
    let id = match args.get("id") {
        None | Some(Value::Null) => return Ok(1),
        Some(n @ Value::Num(_)) => n.as_u64(),
        Some(Value::Str(s)) => s.trim().parse().ok(),
        Some(_) => None,
    };
    id.and_then(|i| u8::try_from(i).ok()).ok_or_else(|| "key id must be 0..255".into())
}

/// 1..254, as a number or a numeric string (UCI values are strings).
fn priority(args: &Object) -> Result<u8, String> {
    let p = match args.get("priority") {
        Some(n @ Value::Num(_)) => n.as_u64(),
        Some(Value::Str(s)) => s.trim().parse().ok(),
        None => return Err("set_priority needs 'priority'".into()),
        Some(_) => None,
    };
    p.and_then(|p| u8::try_from(p).ok())
        .filter(|p| (1..=254).contains(p))
        .ok_or_else(|| "priority must be 1..254".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::{Value, json};

    fn req(method: &str, input: &str) -> Result<Request, String> {
        request(method, input)
    }

    /// `call`, parsed.
    fn answer(method: &str, input: &str, send: impl FnOnce(&Request) -> Result<Reply, String>) -> Value {
        serde_json::from_str(&call(method, input, send)).unwrap()
    }

    fn reply(v: Value) -> Result<Reply, String> {
        let line = v.to_string();
        Ok(Reply { value: json::parse(&line).unwrap(), line })
    }

    #[test]
    fn list_samples_give_rpcd_the_argument_types() {
        assert_eq!(
            list(),
            r#"{"status":{},"step_up":{"group":"wan"},"step_down":{"group":"wan"},"set_priority":{"priority":32,"group":"wan"},"tracker":{"name":"name","up":true},"genkey":{"id":32}}"#
        );
        let l: Value = serde_json::from_str(&list()).unwrap();
        assert_eq!(l.as_object().unwrap().len(), 6);
        assert_eq!(l["genkey"]["id"], 32);
        assert!(l["status"].as_object().unwrap().is_empty());
        assert_eq!(l["set_priority"]["priority"], 32);
        assert!(l["tracker"]["up"].is_boolean());
        assert!(l["step_up"]["group"].is_string());
    }

    #[test]
    fn arguments_become_requests_and_unknown_keys_are_ignored() {
        let sid = r#""ubus_rpc_session":"0123456789abcdef0123456789abcdef""#;
        assert_eq!(req("status", &format!("{{{sid}}}")), Ok(Request::Status));
        assert_eq!(req("status", ""), Ok(Request::Status));
        assert_eq!(req("step_down", "{}"), Ok(Request::StepDown { group: None }));
        assert_eq!(req("step_up", r#"{"group":"wan","x":[1]}"#), Ok(Request::StepUp { group: Some("wan".into()) }));
        assert_eq!(
            req("set_priority", &format!(r#"{{"priority":150,{sid}}}"#)),
            Ok(Request::SetPriority { priority: 150, group: None })
        );
        assert_eq!(
            req("set_priority", r#"{"priority":"254"}"#),
            Ok(Request::SetPriority { priority: 254, group: None })
        );
        assert_eq!(
            req("tracker", r#"{"name":"mwan","up":false}"#),
            Ok(Request::Tracker { name: "mwan".into(), up: false })
        );
    }

    #[test]
    fn bad_arguments_are_refused_before_the_daemon_is_asked() {
        for (m, i) in [
            ("set_priority", r#"{"priority":0}"#),
            ("set_priority", r#"{"priority":255}"#),
            ("set_priority", r#"{"priority":-1}"#),
            ("set_priority", r#"{"priority":1.5}"#),
            ("set_priority", r#"{"priority":true}"#),
            ("set_priority", "{}"),
            ("step_up", r#"{"group":1}"#),
            ("tracker", r#"{"name":"x"}"#),
            ("tracker", r#"{"up":true}"#),
            ("status", "[1]"),
            ("status", "{"),
            ("reboot", "{}"),
            ("lease", r#"{"device":"wan","env":[]}"#),
            ("netifd", r#"{"device":"wan","interface":"wan"}"#),
        ] {
            let v = answer(m, i, |_| panic!("{m} {i}: the daemon must not be asked"));
            assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{m} {i}: {v}");
            assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
        }
    }

    #[test]
    fn replies_and_failures_are_single_objects() {
        assert_eq!(call("step_up", "{}", |_| reply(json!({"ok": true}))), r#"{"ok":true}"#);
        assert_eq!(answer("status", "{}", |_| Err("no daemon".into())), json!({"error": "no daemon"}));
        assert!(answer("status", "{}", |_| reply(json!([1])))["error"].is_string());
    }

    #[test]
    fn genkey_answers_without_the_daemon() {
        let v = answer("genkey", "{}", |_| panic!("the daemon must not be asked"));
        let key = v["key"].as_str().unwrap();
        assert!(key.starts_with("1:") && key.len() == 2 + 64, "{v}");
        assert_eq!(v.as_object().unwrap().len(), 1);
        let sid = r#""ubus_rpc_session":"0123456789abcdef0123456789abcdef""#;
        for (input, id) in
            [(format!(r#"{{"id":7,{sid}}}"#), "7:"), (r#"{"id":"255"}"#.into(), "255:"), ("".into(), "1:")]
        {
            let v = answer("genkey", &input, |_| panic!("no daemon"));
            assert!(v["key"].as_str().unwrap().starts_with(id), "{input}: {v}");
        }
        for bad in [r#"{"id":256}"#, r#"{"id":-1}"#, r#"{"id":"x"}"#, r#"{"id":true}"#, "[1]"] {
            let v = answer("genkey", bad, |_| panic!("no daemon"));
            assert!(v["error"].is_string() && v.as_object().unwrap().len() == 1, "{bad}: {v}");
        }
    }
}
