//! The control socket: one JSON request per connection, one JSON reply.
//! Root only (mode 0600). The CLI, the rpcd plugin, the DHCP hooks and the
//! netifd protocol handler all speak it; docs/CONTROL.md describes it.

use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::json::{self, Object, Value};

/// What a client may ask. `group` names a group; it may be left out when
/// the daemon runs only one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Status,
    StepUp {
        group: Option<String>,
    },
    StepDown {
        group: Option<String>,
    },
    SetPriority {
        priority: u8,
        group: Option<String>,
    },
    /// A bound/renew event from the DHCP client's hook, by WAN device.
    Lease {
        device: String,
        env: Vec<(String, String)>,
    },
    /// A bound/updated event from odhcp6c's hook, by WAN device.
    Lease6 {
        device: String,
        env: Vec<(String, String)>,
    },
    /// netifd's `proto vwrp` handler set up (or renewed) `interface` on
    /// the WAN device: hand it the lease if this router holds the WAN.
    Netifd {
        device: String,
        interface: String,
    },
    /// An external tracker's verdict (`vwrp tracker NAME up|down`).
    Tracker {
        name: String,
        up: bool,
    },
    /// A fresh key for `list key`, with key id `id`: made by rpcd's plugin
    /// or the CLI, never sent to the daemon.
    Genkey {
        id: u8,
    },
}

/// Who may call a method over ubus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// rpcd's `vwrp-read` ACL group: viewing.
    Read,
    /// `vwrp-write`: changing what the routers do.
    Write,
    /// Not on ubus: only the router's own DHCP hooks and netifd handler
    /// call it, over the socket.
    Local,
}

/// Which request a method is; `METHODS` is in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    Status,
    StepUp,
    StepDown,
    SetPriority,
    Tracker,
    Lease,
    Lease6,
    Netifd,
    Genkey,
}

/// One request of the control socket or ubus. `METHODS` lists them all:
/// the socket's parser, rpcd's `list` and the operator's CLI commands are
/// read from it, and the ACL files are tested against it.
pub struct Method {
    pub cmd: Cmd,
    /// `cmd` on the socket, and the ubus method name.
    pub name: &'static str,
    pub access: Access,
    /// The daemon answers it; otherwise rpcd's plugin and the CLI do,
    /// without the daemon, and the socket does not know it.
    pub daemon: bool,
    /// The CLI command of a Read or Write method (`vwrp step-up`).
    pub cli: &'static str,
    /// What rpcd's `list` declares: each argument with a sample of its
    /// type (string, bool, or a number: int32), as the inside of a JSON
    /// object.
    pub list_args: &'static str,
}

pub const METHODS: [Method; 9] = [
    Method { cmd: Cmd::Status, name: "status", access: Access::Read, daemon: true, cli: "status", list_args: "" },
    Method {
        cmd: Cmd::StepUp,
        name: "step_up",
        access: Access::Write,
        daemon: true,
        cli: "step-up",
        list_args: r#""group":"wan""#,
    },
    Method {
        cmd: Cmd::StepDown,
        name: "step_down",
        access: Access::Write,
        daemon: true,
        cli: "step-down",
        list_args: r#""group":"wan""#,
    },
    Method {
        cmd: Cmd::SetPriority,
        name: "set_priority",
        access: Access::Write,
        daemon: true,
        cli: "set-priority",
        list_args: r#""priority":32,"group":"wan""#,
    },
    Method {
        cmd: Cmd::Tracker,
        name: "tracker",
        access: Access::Write,
        daemon: true,
        cli: "tracker",
        list_args: r#""name":"name","up":true"#,
    },
    Method { cmd: Cmd::Lease, name: "lease", access: Access::Local, daemon: true, cli: "", list_args: "" },
    Method { cmd: Cmd::Lease6, name: "lease6", access: Access::Local, daemon: true, cli: "", list_args: "" },
    Method { cmd: Cmd::Netifd, name: "netifd", access: Access::Local, daemon: true, cli: "", list_args: "" },
    Method {
        cmd: Cmd::Genkey,
        name: "genkey",
        access: Access::Write,
        daemon: false,
        cli: "genkey",
        list_args: r#""id":32"#,
    },
];

impl Method {
    /// The request of this method's CLI command, from the words after it.
    pub fn from_cli(&self, w: &[String]) -> Result<Request, String> {
        Ok(match self.cmd {
            Cmd::Status => Request::Status,
            Cmd::StepUp => Request::StepUp { group: w.first().cloned() },
            Cmd::StepDown => Request::StepDown { group: w.first().cloned() },
            Cmd::SetPriority => {
                let p = w.first().ok_or("set-priority needs a number")?;
                let priority: u8 = p.parse().ok().filter(|p| (1..=254).contains(p)).ok_or("priority must be 1..254")?;
                Request::SetPriority { priority, group: w.get(1).cloned() }
            }
            Cmd::Tracker => {
                let name = w.first().ok_or("tracker needs a name")?.clone();
                let up = match w.get(1).map(String::as_str) {
                    Some("up") => true,
                    Some("down") => false,
                    _ => return Err("tracker NAME up|down".into()),
                };
                Request::Tracker { name, up }
            }
            Cmd::Genkey => {
                let id = match w.first() {
                    Some(id) => id.parse().map_err(|_| "genkey: the key ID is 0..255")?,
                    None => 1,
                };
                Request::Genkey { id }
            }
            Cmd::Lease | Cmd::Lease6 | Cmd::Netifd => {
                return Err("called by the router's own hooks, not from the command line".into());
            }
        })
    }
}

/// The method called `name` on the socket and on ubus.
pub fn method(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == name)
}

impl Request {
    pub fn cmd(&self) -> Cmd {
        match self {
            Request::Status => Cmd::Status,
            Request::StepUp { .. } => Cmd::StepUp,
            Request::StepDown { .. } => Cmd::StepDown,
            Request::SetPriority { .. } => Cmd::SetPriority,
            Request::Tracker { .. } => Cmd::Tracker,
            Request::Lease { .. } => Cmd::Lease,
            Request::Lease6 { .. } => Cmd::Lease6,
            Request::Netifd { .. } => Cmd::Netifd,
            Request::Genkey { .. } => Cmd::Genkey,
        }
    }

    /// This request's entry in `METHODS`.
    pub fn method(&self) -> &'static Method {
        &METHODS[self.cmd() as usize]
    }

    /// The request as one JSON object, `cmd` first (docs/CONTROL.md).
    pub fn to_json(&self) -> String {
        let mut j = json::Writer::new();
        j.open('{').key("cmd").str(self.method().name);
        match self {
            Request::Status => {}
            Request::StepUp { group } | Request::StepDown { group } => {
                j.key("group").opt_str(group.as_deref());
            }
            Request::SetPriority { priority, group } => {
                j.key("priority").num(u64::from(*priority)).key("group").opt_str(group.as_deref());
            }
            Request::Lease { device, env } | Request::Lease6 { device, env } => {
                j.key("device").str(device).key("env").open('[');
                for (k, v) in env {
                    j.open('[').str(k).str(v).close(']');
                }
                j.close(']');
            }
            Request::Netifd { device, interface } => {
                j.key("device").str(device).key("interface").str(interface);
            }
            Request::Tracker { name, up } => {
                j.key("name").str(name).key("up").bool(*up);
            }
            Request::Genkey { id } => {
                j.key("id").num(u64::from(*id));
            }
        }
        j.close('}');
        j.finish()
    }

    /// A request line, parsed.
    pub fn parse(line: &str) -> Result<Request, String> {
        let v = json::parse(line).map_err(|e| format!("not JSON: {e}"))?;
        let o = v.as_object().ok_or("a request is a JSON object")?;
        let cmd = o.get("cmd").ok_or("missing 'cmd'")?;
        let cmd = cmd.as_str().ok_or("'cmd' must be a string")?;
        // The daemon's socket knows only what the daemon answers.
        if method(cmd).is_some_and(|m| !m.daemon) {
            return Err(format!("unknown cmd '{cmd}'"));
        }
        Request::from_args(cmd, o)
    }

    /// Command `cmd` with the fields of `a`; unknown fields are ignored,
    /// `null` is a left-out optional field. rpcd's arguments come here too.
    pub fn from_args(cmd: &str, a: &Object) -> Result<Request, String> {
        let m = method(cmd).ok_or_else(|| format!("unknown cmd '{cmd}'"))?;
        let group = || opt_string(a, "group");
        let string = |k| opt_string(a, k)?.ok_or_else(|| missing(k));
        Ok(match m.cmd {
            Cmd::Status => Request::Status,
            Cmd::StepUp => Request::StepUp { group: group()? },
            Cmd::StepDown => Request::StepDown { group: group()? },
            Cmd::SetPriority => {
                let p = a.get("priority").ok_or_else(|| missing("priority"))?;
                let priority = p
                    .as_u64()
                    .and_then(|p| u8::try_from(p).ok())
                    .filter(|p| (1..=254).contains(p))
                    .ok_or("'priority' must be a number 1..254")?;
                Request::SetPriority { priority, group: group()? }
            }
            Cmd::Lease => Request::Lease { device: string("device")?, env: env(a)? },
            Cmd::Lease6 => Request::Lease6 { device: string("device")?, env: env(a)? },
            Cmd::Netifd => Request::Netifd { device: string("device")?, interface: string("interface")? },
            Cmd::Genkey => {
                let id = match a.get("id") {
                    None | Some(Value::Null) => 1,
                    Some(v) => v.as_u64().and_then(|i| u8::try_from(i).ok()).ok_or("'id' must be a number 0..255")?,
                };
                Request::Genkey { id }
            }
            Cmd::Tracker => Request::Tracker {
                name: string("name")?,
                up: a.get("up").ok_or_else(|| missing("up"))?.as_bool().ok_or("'up' must be true or false")?,
            },
        })
    }
}

fn missing(key: &str) -> String {
    format!("missing '{key}'")
}

fn opt_string(a: &Object, key: &str) -> Result<Option<String>, String> {
    match a.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("'{key}' must be a string")),
    }
}

/// `env`: `[["name","value"],…]`.
fn env(a: &Object) -> Result<Vec<(String, String)>, String> {
    let pair = |p: &Value| match p.as_array() {
        Some([Value::Str(k), Value::Str(v)]) => Some((k.clone(), v.clone())),
        _ => None,
    };
    let list = a.get("env").ok_or_else(|| missing("env"))?.as_array();
    list.and_then(|l| l.iter().map(pair).collect())
        .ok_or_else(|| "'env' must be a list of [name, value] strings".into())
}

/// Longest a request line may be: the daemon never buffers more.
pub const MAX_REQUEST: usize = 64 * 1024;

/// The refusal of a request longer than [`MAX_REQUEST`], from the daemon
/// and from rpcd's plugin alike.
pub fn too_long() -> String {
    format!("request too long: more than {MAX_REQUEST} bytes")
}

/// The daemon's answer: the line as it wrote it, and parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub line: String,
    pub value: Value,
}

/// Sends one request and reads the reply, giving up after `timeout`.
pub fn call(socket: &Path, req: &Request, timeout: Duration) -> io::Result<Value> {
    exchange(socket, req, timeout).map(|r| r.value)
}

/// `call`, keeping the reply's line too (to pass it on as it came).
pub fn exchange(socket: &Path, req: &Request, timeout: Duration) -> io::Result<Reply> {
    let s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let mut line = req.to_json();
    line.push('\n');
    // A daemon that refused us (too many clients) may have closed first:
    // its reason is still there to read, and no SIGPIPE ends us.
    let sent = send_all(&s, line.as_bytes());
    let mut reply = String::new();
    let read = BufReader::new(&s).take(MAX_REQUEST as u64 * 16).read_line(&mut reply);
    if reply.is_empty() {
        sent?;
    }
    read?;
    let value =
        json::parse(&reply).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("reply not JSON: {e}")))?;
    reply.truncate(reply.trim_end().len());
    Ok(Reply { line: reply, value })
}

fn send_all(s: &UnixStream, mut bytes: &[u8]) -> io::Result<()> {
    use nix::sys::socket::{MsgFlags, send};
    use std::os::fd::AsRawFd;
    while !bytes.is_empty() {
        match send(s.as_raw_fd(), bytes, MsgFlags::MSG_NOSIGNAL) {
            Ok(n) => bytes = &bytes[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// `{"error":msg}`, the refusal of the daemon and of the rpcd plugin.
pub fn error_json(msg: &str) -> String {
    let mut j = json::Writer::new();
    j.open('{').key("error").str(msg).close('}');
    j.finish()
}

/// The reply's error message, if the daemon refused the request.
pub fn error_of(v: &Value) -> Option<&str> {
    v.get("error").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::Value;

    fn parse(line: &str) -> Result<Request, String> {
        Request::parse(line)
    }

    fn names(access: Access) -> Vec<&'static str> {
        METHODS.iter().filter(|m| m.access == access).map(|m| m.name).collect()
    }

    fn strings(v: &Value) -> Vec<&str> {
        v.as_array().map_or(Vec::new(), |a| a.iter().filter_map(Value::as_str).collect())
    }

    /// rpcd's ACL groups grant each ubus method in the group of its
    /// access, and nothing else; the hooks' own methods are on neither.
    #[test]
    fn the_rpcd_acl_grants_each_method_in_the_group_of_its_access() {
        let acl: Value = serde_json::from_str(include_str!("../files/usr/share/rpcd/acl.d/vwrp.json")).unwrap();
        assert_eq!(strings(&acl["vwrp-read"]["read"]["ubus"]["vwrp"]), names(Access::Read));
        assert_eq!(strings(&acl["vwrp-write"]["write"]["ubus"]["vwrp"]), names(Access::Write));
        assert!(acl["vwrp-read"].get("write").is_none() && acl["vwrp-write"].get("read").is_none());
        assert_eq!(acl.as_object().map(|o| o.len()), Some(2));
    }

    /// LuCI's ACL grants exactly the methods its views call, each in the
    /// group of its access.
    #[test]
    fn luci_acl_grants_what_its_views_call_in_the_group_of_its_access() {
        let views = [
            include_str!("../luci-app-vwrp/htdocs/luci-static/resources/vwrp/common.js"),
            include_str!("../luci-app-vwrp/htdocs/luci-static/resources/view/vwrp/status.js"),
            include_str!("../luci-app-vwrp/htdocs/luci-static/resources/view/vwrp/settings.js"),
        ];
        let called: Vec<&str> = views
            .iter()
            .flat_map(|v| v.split("object: 'vwrp', method: '").skip(1))
            .filter_map(|rest| rest.split('\'').next())
            .collect();
        assert!(called.contains(&"status"), "no ubus call found in the views");
        for c in &called {
            assert!(
                method(c).is_some_and(|m| m.access != Access::Local),
                "the views call '{c}', which ubus does not have"
            );
        }
        let acl: Value =
            serde_json::from_str(include_str!("../luci-app-vwrp/root/usr/share/rpcd/acl.d/luci-app-vwrp.json"))
                .unwrap();
        let app = &acl["luci-app-vwrp"];
        for (access, group) in [(Access::Read, "read"), (Access::Write, "write")] {
            let want: Vec<&str> = names(access).into_iter().filter(|n| called.contains(n)).collect();
            assert_eq!(strings(&app[group]["ubus"]["vwrp"]), want, "LuCI's {group} group");
        }
    }

    /// The table is in `Cmd` order, each name and command once, a CLI
    /// command exactly for the methods on ubus.
    #[test]
    fn every_method_has_its_request() {
        for (i, m) in METHODS.iter().enumerate() {
            assert_eq!(m.cmd as usize, i, "{} out of order", m.name);
            assert!(
                METHODS[..i].iter().all(|o| o.name != m.name && (o.cli != m.cli || m.cli.is_empty())),
                "{}",
                m.name
            );
            assert_eq!(
                m.cli.is_empty(),
                m.access == Access::Local,
                "{}: a CLI command exactly for ubus methods",
                m.name
            );
        }
    }

    #[test]
    fn requests_have_a_stable_json_shape() {
        let r = Request::SetPriority { priority: 150, group: Some("wan".into()) };
        assert_eq!(r.to_json(), r#"{"cmd":"set_priority","priority":150,"group":"wan"}"#);
        let env = vec![("ip".to_string(), "203.0.113.10".to_string())];
        let r = Request::Lease { device: "wan".into(), env };
        assert_eq!(r.to_json(), r#"{"cmd":"lease","device":"wan","env":[["ip","203.0.113.10"]]}"#);
    }

    #[test]
    fn refusals_are_escaped() {
        assert_eq!(error_json("no group \"x\"\n"), r#"{"error":"no group \"x\"\n"}"#);
    }

    #[test]
    fn every_request_reads_back_as_it_was_sent() {
        let env = vec![("ip".to_string(), "203.0.113.10".to_string()), ("dns".into(), "a b".into())];
        for r in [
            Request::Status,
            Request::StepUp { group: None },
            Request::StepUp { group: Some("wan".into()) },
            Request::StepDown { group: Some("wan".into()) },
            Request::SetPriority { priority: 1, group: None },
            Request::SetPriority { priority: 254, group: Some("wan".into()) },
            Request::Lease { device: "wan".into(), env: env.clone() },
            Request::Lease6 { device: "wan".into(), env: Vec::new() },
            Request::Lease6 { device: "wan".into(), env },
            Request::Netifd { device: "wan".into(), interface: "wan6".into() },
            Request::Tracker { name: "mwan".into(), up: true },
            Request::Tracker { name: "mwan".into(), up: false },
        ] {
            let line = r.to_json() + "\n";
            assert_eq!(parse(&line), Ok(r), "{line}");
        }
    }

    #[test]
    fn left_out_null_and_unknown_fields() {
        assert_eq!(parse(r#"{"cmd":"step_down"}"#), Ok(Request::StepDown { group: None }));
        assert_eq!(parse(r#"{"group":null,"cmd":"step_up"}"#), Ok(Request::StepUp { group: None }));
        assert_eq!(parse(r#" {"cmd":"status","x":[1,{"y":2}]} "#), Ok(Request::Status));
        assert_eq!(
            parse(r#"{"priority":7,"cmd":"set_priority","z":1.5}"#),
            Ok(Request::SetPriority { priority: 7, group: None })
        );
    }

    #[test]
    fn bad_requests_are_refused_with_a_reason() {
        for (line, why) in [
            ("", "not JSON: the text ends where a value should be"),
            ("{", "not JSON: the text ends where a string key should be"),
            ("{\"cmd\" \"status\"}", "not JSON: ':' expected at byte 8"),
            ("[\"status\"]", "object"),
            ("\"status\"", "object"),
            (r#"{"cmd":"status"} x"#, "not JSON: trailing characters at byte 18"),
            ("{}", "missing 'cmd'"),
            (r#"{"cmd":1}"#, "'cmd' must be"),
            (r#"{"cmd":"reboot"}"#, "unknown cmd 'reboot'"),
            (r#"{"cmd":"Status"}"#, "unknown cmd"),
            (r#"{"cmd":"step_up","group":1}"#, "'group' must be a string"),
            (r#"{"cmd":"step_down","group":["wan"]}"#, "'group' must be a string"),
            (r#"{"cmd":"set_priority"}"#, "missing 'priority'"),
            (r#"{"cmd":"set_priority","priority":300}"#, "'priority' must be"),
            (r#"{"cmd":"set_priority","priority":-1}"#, "'priority' must be"),
            (r#"{"cmd":"set_priority","priority":1.5}"#, "'priority' must be"),
            (r#"{"cmd":"set_priority","priority":"150"}"#, "'priority' must be"),
            (r#"{"cmd":"set_priority","priority":null}"#, "'priority' must be"),
            (r#"{"cmd":"set_priority","priority":150,"group":true}"#, "'group' must be"),
            (r#"{"cmd":"lease","env":[]}"#, "missing 'device'"),
            (r#"{"cmd":"lease","device":null,"env":[]}"#, "missing 'device'"),
            (r#"{"cmd":"lease","device":"wan"}"#, "missing 'env'"),
            (r#"{"cmd":"lease","device":"wan","env":{"ip":"x"}}"#, "'env' must be"),
            (r#"{"cmd":"lease","device":"wan","env":[["ip"]]}"#, "'env' must be"),
            (r#"{"cmd":"lease","device":"wan","env":[["ip","x","y"]]}"#, "'env' must be"),
            (r#"{"cmd":"lease6","device":"wan","env":[["ip",1]]}"#, "'env' must be"),
            (r#"{"cmd":"lease6","device":7,"env":[]}"#, "'device' must be"),
            (r#"{"cmd":"netifd","device":"wan"}"#, "missing 'interface'"),
            (r#"{"cmd":"netifd","interface":"wan"}"#, "missing 'device'"),
            (r#"{"cmd":"tracker","up":true}"#, "missing 'name'"),
            (r#"{"cmd":"tracker","name":"x"}"#, "missing 'up'"),
            (r#"{"cmd":"tracker","name":"x","up":1}"#, "'up' must be"),
            (r#"{"cmd":"tracker","name":"x","up":"true"}"#, "'up' must be"),
        ] {
            let e = parse(line).expect_err(line);
            assert!(e.contains(why), "{line}: {e}");
        }
    }

    /// The range a refusal states is the range accepted: 0 and 255 are
    /// refused too.
    #[test]
    fn set_priority_states_the_range_it_accepts() {
        for p in ["0", "255", "256", "-1", "1.5", "\"7\"", "null"] {
            let line = format!(r#"{{"cmd":"set_priority","priority":{p}}}"#);
            assert_eq!(parse(&line), Err("'priority' must be a number 1..254".to_string()), "{line}");
        }
        for p in [1, 254] {
            let line = format!(r#"{{"cmd":"set_priority","priority":{p}}}"#);
            assert_eq!(parse(&line), Ok(Request::SetPriority { priority: p, group: None }));
        }
    }
}
