//! The control socket: one JSON request per connection, one JSON reply.
//! Root only (mode 0600). The CLI, the rpcd plugin and the DHCP hooks all
//! speak it; docs/CONTROL.md describes it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::json::{self, Value};

/// What a client may ask. `group` names a group; it may be left out when
/// the daemon runs only one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Status,
    StepUp { group: Option<String> },
    StepDown { group: Option<String> },
    SetPriority { priority: u8, group: Option<String> },
    /// A bound/renew event from the DHCP client's hook, by WAN device.
    Lease { device: String, env: Vec<(String, String)> },
    /// An external tracker's verdict (`vwrp tracker NAME up|down`).
    Tracker { name: String, up: bool },
}

impl Request {
    /// The request line, `cmd` first and the fields in a fixed order.
    pub fn to_json(&self) -> String {
        let group = |g: &Option<String>| Value::from(g.clone());
        let (cmd, fields): (&str, Vec<(&str, Value)>) = match self {
            Request::Status => ("status", vec![]),
            Request::StepUp { group: g } => ("step_up", vec![("group", group(g))]),
            Request::StepDown { group: g } => ("step_down", vec![("group", group(g))]),
            Request::SetPriority { priority, group: g } => {
                ("set_priority", vec![("priority", u64::from(*priority).into()), ("group", group(g))])
            }
            Request::Lease { device, env } => (
                "lease",
                vec![
                    ("device", device.as_str().into()),
                    ("env", Value::Array(env.iter().map(|(k, v)| vec![k.as_str(), v.as_str()].into()).collect())),
                ],
            ),
            Request::Tracker { name, up } => ("tracker", vec![("name", name.as_str().into()), ("up", (*up).into())]),
        };
        let mut out = format!("{{\"cmd\":\"{cmd}\"");
        for (k, v) in fields {
            out.push_str(&format!(",\"{k}\":{v}"));
        }
        out.push('}');
        out
    }

    /// Reads a request line. Members other than the command's are ignored.
    pub fn from_json(line: &str) -> Result<Request, String> {
        let v = json::parse(line)?;
        if !matches!(v, Value::Object(_)) {
            return Err("expected an object".into());
        }
        let field = |k: &str| v.get(k).filter(|f| !f.is_null());
        let string = |k: &str| match field(k) {
            None => Err(format!("missing field `{k}`")),
            Some(f) => f.as_str().map(str::to_string).ok_or_else(|| format!("`{k}`: expected a string")),
        };
        let group = || match field("group") {
            None => Ok(None),
            Some(_) => string("group").map(Some),
        };
        let cmd = string("cmd")?;
        Ok(match cmd.as_str() {
            "status" => Request::Status,
            "step_up" => Request::StepUp { group: group()? },
            "step_down" => Request::StepDown { group: group()? },
            "set_priority" => {
                let p = field("priority").ok_or("missing field `priority`")?;
                let priority = p.as_u64().and_then(|p| u8::try_from(p).ok()).ok_or("`priority`: expected 0..255")?;
                Request::SetPriority { priority, group: group()? }
            }
            "lease" => {
                let pairs = field("env").and_then(Value::as_array).ok_or("`env`: expected an array")?;
                let env = pairs
                    .iter()
                    .map(|p| match p.as_array().map(Vec::as_slice) {
                        Some([Value::String(k), Value::String(v)]) => Ok((k.clone(), v.clone())),
                        _ => Err("`env`: expected [name, value] pairs of strings"),
                    })
                    .collect::<Result<_, _>>()?;
                Request::Lease { device: string("device")?, env }
            }
            "tracker" => {
                let up = field("up").and_then(Value::as_bool).ok_or("`up`: expected true or false")?;
                Request::Tracker { name: string("name")?, up }
            }
            other => return Err(format!("unknown cmd `{other}`")),
        })
    }
}

/// Longest a request line may be: the daemon never buffers more.
pub const MAX_REQUEST: usize = 64 * 1024;

/// Sends one request and reads the reply, giving up after `timeout`.
pub fn call(socket: &Path, req: &Request, timeout: Duration) -> io::Result<Value> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let mut line = req.to_json();
    line.push('\n');
    s.write_all(line.as_bytes())?;
    let mut reply = String::new();
    BufReader::new(s).take(MAX_REQUEST as u64 * 16).read_line(&mut reply)?;
    json::parse(&reply).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The reply's error message, if the daemon refused the request.
pub fn error_of(v: &Value) -> Option<&str> {
    v.get("error").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_a_stable_json_shape() {
        let r = Request::SetPriority { priority: 150, group: Some("wan".into()) };
        assert_eq!(r.to_json(), r#"{"cmd":"set_priority","priority":150,"group":"wan"}"#);
        assert_eq!(Request::from_json(r#"{"cmd":"step_down"}"#), Ok(Request::StepDown { group: None }));
        assert!(Request::from_json(r#"{"cmd":"reboot"}"#).is_err());
        assert!(Request::from_json(r#"{"cmd":"set_priority","priority":300}"#).is_err());
    }

    #[test]
    fn every_request_reads_back() {
        let all = [
            Request::Status,
            Request::StepUp { group: None },
            Request::StepDown { group: Some("w\"an".into()) },
            Request::SetPriority { priority: 254, group: None },
            Request::Lease { device: "wan".into(), env: vec![("ip".into(), "203.0.113.10".into())] },
            Request::Tracker { name: "t".into(), up: false },
        ];
        for r in all {
            assert_eq!(Request::from_json(&r.to_json()), Ok(r.clone()), "{}", r.to_json());
        }
        assert_eq!(
            Request::from_json(r#"{"cmd":"lease","device":"wan","env":[["ip","x"]]}"#),
            Ok(Request::Lease { device: "wan".into(), env: vec![("ip".into(), "x".into())] })
        );
        for bad in [
            r#"["status"]"#,
            r#"{"cmd":1}"#,
            r#"{"cmd":"step_up","group":7}"#,
            r#"{"cmd":"set_priority","priority":-1}"#,
            r#"{"cmd":"set_priority","priority":"1"}"#,
            r#"{"cmd":"lease","device":"wan","env":[["ip"]]}"#,
            r#"{"cmd":"lease","env":[]}"#,
            r#"{"cmd":"tracker","name":"t"}"#,
        ] {
            assert!(Request::from_json(bad).is_err(), "accepted {bad}");
        }
    }
}
