//! The control socket: one JSON request per connection, one JSON reply.
//! Root only (mode 0600). The CLI, the rpcd plugin, the DHCP hooks and the
//! netifd protocol handler all speak it; docs/CONTROL.md describes it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a client may ask. `group` names a group; it may be left out when
/// the daemon runs only one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Status,
    StepUp { group: Option<String> },
    StepDown { group: Option<String> },
    SetPriority { priority: u8, group: Option<String> },
    /// A bound/renew event from the DHCP client's hook, by WAN device.
    Lease { device: String, env: Vec<(String, String)> },
    /// A bound/updated event from odhcp6c's hook, by WAN device.
    Lease6 { device: String, env: Vec<(String, String)> },
    /// netifd's `proto vwrp` handler set up (or renewed) `interface` on
    /// the WAN device: hand it the lease if this router holds the WAN.
    Netifd { device: String, interface: String },
    /// An external tracker's verdict (`vwrp tracker NAME up|down`).
    Tracker { name: String, up: bool },
}

/// Longest a request line may be: the daemon never buffers more.
pub const MAX_REQUEST: usize = 64 * 1024;

/// Sends one request and reads the reply, giving up after `timeout`.
pub fn call(socket: &Path, req: &Request, timeout: Duration) -> io::Result<Value> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let mut line = serde_json::to_vec(req).map_err(io::Error::other)?;
    line.push(b'\n');
    s.write_all(&line)?;
    let mut reply = String::new();
    BufReader::new(s).take(MAX_REQUEST as u64 * 16).read_line(&mut reply)?;
    serde_json::from_str(&reply).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
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
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"cmd":"set_priority","priority":150,"group":"wan"}"#);
        let r: Request = serde_json::from_str(r#"{"cmd":"step_down"}"#).unwrap();
        assert_eq!(r, Request::StepDown { group: None });
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"reboot"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"set_priority","priority":300}"#).is_err());
    }
}
