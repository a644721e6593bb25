//! vwrp: daemon, CLI and DHCP-hook entry point in one small binary.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use vwrp::config;
use vwrp::control::{self, Access, Reply, Request};
use vwrp::json::Value;

const USAGE: &str = "usage: vwrp <command>
  daemon [-c FILE]          run in the foreground (default /etc/config/vwrp)
  status [--json]           state of every group
  step-up [GROUP]           ask to become the active router
  step-down [GROUP]         hand the WAN to the best standby
  set-priority N [GROUP]    run-time priority 1..254 (not saved)
  tracker NAME up|down      verdict of an external tracker
  check-config [FILE]       validate a configuration file
  genkey [ID]               print a fresh random key for 'list key' (ID 0..255,
                            default 1); put the same line on every router
  fence                     close the WAN of every enabled group and exit
                            (init script, before netifd); exit 3: none enabled
  rpcd list|call METHOD     the rpcd plugin behind ubus object vwrp
  lease-event               called by the udhcpc hook with its environment
  lease6-event DEVICE       called by the odhcp6c hook with its environment
  netifd-setup IFACE DEVICE called by netifd's proto vwrp handler
  netifd-guard              started by the daemon (dhcp 'netifd'): tells
                            netifd the WAN is down if the daemon dies
  wait-stopped [SECONDS]    wait until no daemon answers or owns the fence, at
                            most SECONDS (default 12; init script's stop); exit 1
                            if one does
options: -c FILE (config), -s SOCKET (control socket), -h/--help, -V/--version";

/// What a DHCP client's or netifd's hook may wait for the daemon: they
/// must never be held up, also when the daemon is not running.
const HOOK_BUDGET: Duration = Duration::from_millis(450);

struct Opts {
    config: PathBuf,
    socket: Option<PathBuf>,
    json: bool,
    help: bool,
    version: bool,
    args: Vec<String>,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        config: config::DEFAULT_PATH.into(),
        socket: None,
        json: false,
        help: false,
        version: false,
        args: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-c" => o.config = it.next().ok_or("-c needs a file")?.into(),
            "-s" => o.socket = Some(it.next().ok_or("-s needs a path")?.into()),
            "--json" | "-j" => o.json = true,
            "-h" | "--help" => o.help = true,
            "-V" | "--version" => o.version = true,
            _ => o.args.push(a),
        }
    }
    Ok(o)
}

/// The control socket: -s, else $VWRP_SOCKET (set by the daemon for the
/// DHCP client it runs), else the one the configuration names.
fn socket(o: &Opts) -> PathBuf {
    o.socket.clone().or_else(|| std::env::var_os("VWRP_SOCKET").map(PathBuf::from)).unwrap_or_else(|| {
        config::load(&o.config).map(|c| c.globals.control_socket).unwrap_or_else(|_| "/var/run/vwrp/vwrp.sock".into())
    })
}

fn call(o: &Opts, req: &Request) -> Result<Reply, String> {
    call_within(o, req, Duration::from_secs(2))
}

/// One exchange with the daemon; `timeout` bounds each of the write and
/// the read (connecting to a socket nobody listens on fails at once).
fn call_within(o: &Opts, req: &Request, timeout: Duration) -> Result<Reply, String> {
    let s = socket(o);
    let r = control::exchange(&s, req, timeout).map_err(|e| format!("{}: {e}{}", s.display(), hint(&e)))?;
    match control::error_of(&r.value) {
        Some(e) => Err(e.to_string()),
        None => Ok(r),
    }
}

/// What a failed exchange with the daemon suggests: nobody listens, or
/// the socket is root's.
fn hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => " (is the daemon running?)",
        std::io::ErrorKind::PermissionDenied => " (the control socket is root's only)",
        _ => "",
    }
}

fn main() -> ExitCode {
    vwrp::trap::report_traps();
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("vwrp: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if o.args.first().is_none_or(|c| c != "daemon") {
        default_sigpipe();
    }
    // Asked for, the usage goes to stdout; a bare `vwrp` is a usage error.
    if o.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if o.version {
        // The package's version: Cargo.toml is its one source (openwrt/vwrp/Makefile reads it).
        println!("vwrp {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if o.args.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    match o.args.first().map(String::as_str) {
        Some("fence") => return fence(&o),
        Some("rpcd") => return rpcd(&o),
        _ => {}
    }
    match run(&o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vwrp: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A command whose reader went away ends quietly, as `cat` would
/// (`vwrp status | head -1`), instead of a panic on a broken pipe. Rust
/// ignores SIGPIPE; the daemon keeps it so (a client may vanish).
fn default_sigpipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: the default action, no handler; no thread runs yet.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

fn run(o: &Opts) -> Result<(), String> {
    let cmd = o.args.first().map(String::as_str).unwrap_or("");
    // The operator's commands are the methods of the control socket and
    // ubus; what the daemon does not answer (genkey) is answered here.
    if let Some(m) = control::METHODS.iter().find(|m| m.access != Access::Local && m.cli == cmd) {
        let req = m.from_cli(o.args.get(1..).unwrap_or_default())?;
        if let Request::Genkey { id } = req {
            println!("{}", vwrp::keygen::generate(id).map_err(|e| e.to_string())?);
            return Ok(());
        }
        let r = call(o, &req)?;
        if req == Request::Status {
            if o.json {
                println!("{}", r.line);
            } else {
                print_status(&r.value);
            }
        }
        return Ok(());
    }
    match cmd {
        "daemon" => {
            vwrp::daemon::block_signals().map_err(|e| format!("blocking signals: {e}"))?;
            let level = config::load(&o.config).map(|c| c.globals.log_level).unwrap_or(log::LevelFilter::Info);
            vwrp::logging::init(level);
            let mut d = vwrp::daemon::Daemon::new(&o.config)?;
            d.run().map_err(|e| e.to_string())
        }
        "check-config" => {
            let path = o.args.get(1).map_or(o.config.clone(), PathBuf::from);
            let c = config::load(&path).map_err(|e| e.to_string())?;
            let shown = config::Escaped(&path.display().to_string()).to_string();
            for w in config::warnings(&c) {
                eprintln!("vwrp: {shown}: warning: {w}");
            }
            if c.groups.is_empty() {
                // What the daemon and the init script do with it, said plainly.
                println!(
                    "{shown}: ok, but no group is enabled: the service runs no daemon, and `vwrp daemon` \
                     would exit at once (no enabled group)"
                );
            } else {
                println!("{shown}: ok ({} group(s) enabled)", c.groups.len());
            }
            Ok(())
        }
        "lease-event" => lease_event(o),
        "lease6-event" => {
            let device = o.args.get(1).ok_or("lease6-event needs the device odhcp6c runs on")?.clone();
            let env = std::env::vars().filter(|(k, _)| LEASE6_VARS.contains(&k.as_str())).collect();
            call_within(o, &Request::Lease6 { device, env }, HOOK_BUDGET).map(drop)
        }
        "netifd-setup" => netifd_setup(o),
        "netifd-guard" => netifd_guard(o),
        "wait-stopped" => {
            let secs = match o.args.get(1) {
                Some(s) => s.parse().map_err(|_| "wait-stopped: SECONDS is a whole number")?,
                None => 12,
            };
            wait_stopped(o, secs)
        }
        _ => Err(format!("unknown command '{cmd}'\n{USAGE}")),
    }
}

/// The udhcpc hook's environment, passed to the daemon. udhcpc names the
/// Linux device `interface`.
fn lease_event(o: &Opts) -> Result<(), String> {
    const VARS: &[&str] =
        &["ip", "mask", "subnet", "router", "dns", "serverid", "lease", "opt58", "opt59", "opt61", "broadcast"];
    let device = std::env::var("interface").map_err(|_| "no $interface: run me from udhcpc")?;
    let env = VARS.iter().filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v))).collect();
    call_within(o, &Request::Lease { device, env }, HOOK_BUDGET).map(drop)
}

/// odhcp6c's variables that make up the DHCPv6 state (system::dhcp6).
const LEASE6_VARS: &[&str] = &["ADDRESSES", "PREFIXES", "RDNSS", "RA_DNS", "RA_ROUTES"];

/// netifd set up `proto vwrp` on IFACE over DEVICE: remember which
/// interface serves the device (tmpfs, for a daemon started later too),
/// then let a running daemon hand over the lease at once.
fn netifd_setup(o: &Opts) -> Result<(), String> {
    let (Some(iface), Some(device)) = (o.args.get(1), o.args.get(2)) else {
        return Err("netifd-setup IFACE DEVICE".into());
    };
    let c = config::load(&o.config).map_err(|e| e.to_string())?;
    c.netifd_group(device)?;
    vwrp::system::netifd::write_interface(&c.globals.state_dir, device, iface).map_err(|e| e.to_string())?;
    let req = Request::Netifd { device: device.clone(), interface: iface.clone() };
    call_within(o, &req, HOOK_BUDGET).map(drop)
}

/// Started by the daemon, stdin a pipe it never writes to: when the daemon
/// is gone (a SIGKILL, a crash: nothing of it runs) the read ends, and
/// every interface the proto handler named for a `dhcp 'netifd'` group is
/// told the link is down, as the daemon itself does when it leaves the
/// active role. netifd then removes the address and routes and says
/// `ifdown` at once, not when procd has respawned the daemon seconds
/// later. Told twice (a clean exit) changes nothing.
fn netifd_guard(o: &Opts) -> Result<(), String> {
    let c = config::load(&o.config).map_err(|e| e.to_string())?;
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    for g in c.groups.iter().filter(|g| g.dhcp == config::DhcpMode::Netifd) {
        let Some(iface) = vwrp::system::netifd::read_interface(&c.globals.state_dir, &g.wan_device) else { continue };
        let mut ubus = vwrp::system::process::Command::new("ubus");
        ubus.args(vwrp::system::netifd::down_args(&iface));
        match vwrp::system::process::run(&mut ubus, HOOK_BUDGET) {
            Ok((s, _)) if s.success() => {
                eprintln!("vwrp: the daemon is gone: told netifd interface {iface} (group {}) is down", g.name);
            }
            Ok((s, err)) => eprintln!("vwrp: the daemon is gone: ubus for interface {iface}: {s}: {}", err.trim()),
            Err(e) => eprintln!("vwrp: the daemon is gone: ubus for interface {iface}: {e}"),
        }
    }
    Ok(())
}

/// Waits until nothing answers on the control socket and the owned table
/// is gone: the daemon has exited (it gives up the table, then removes the
/// socket) or died (connecting is refused; the kernel deletes the table
/// with its socket). Then a new daemon starts at once.
fn wait_stopped(o: &Opts, secs: u64) -> Result<(), String> {
    const POLL: Duration = Duration::from_millis(50);
    let s = socket(o);
    let polls = secs.saturating_mul(20);
    let owned = || {
        vwrp::system::nft::Fence::open()
            .and_then(|mut f| f.table_present(vwrp::system::nft::OWNED_TABLE))
            .unwrap_or(false)
    };
    for i in 0..=polls {
        if std::os::unix::net::UnixStream::connect(&s).is_err() && !owned() {
            return Ok(());
        }
        if i < polls {
            std::thread::sleep(POLL);
        }
    }
    Err(format!("{}: a daemon still answers or owns the fence after {secs} s", s.display()))
}

/// Closes the WAN of every enabled group before anything else runs: the
/// init script calls this ahead of netifd, and ahead of the daemon, which
/// installs the same fence again with its own owned table beside it. This
/// installs only the table that outlives its installer (`netdev vwrp`). A
/// fence already in place (a running daemon's, maybe with the WAN open) is
/// left as it is.
fn fence(o: &Opts) -> ExitCode {
    let c = match config::load(&o.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vwrp: {e}");
            return ExitCode::FAILURE;
        }
    };
    if c.groups.is_empty() {
        return ExitCode::from(3);
    }
    let devs = vwrp::daemon::wan_devices(&c);
    let installed =
        vwrp::system::nft::Fence::open().and_then(|mut f| match f.table_present(vwrp::system::nft::TABLE) {
            Ok(true) => Ok(()),
            _ => f.install_shared(&devs),
        });
    match installed {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vwrp: installing the fence: {e}");
            ExitCode::FAILURE
        }
    }
}

/// rpcd's exec plugin protocol: always exactly one JSON object on stdout.
fn rpcd(o: &Opts) -> ExitCode {
    let out = match (o.args.get(1).map(String::as_str), o.args.get(2)) {
        (Some("list"), _) => vwrp::rpcd::list(),
        (Some("call"), Some(method)) => {
            let mut input = String::new();
            // One byte past the limit tells a request too long from one
            // that fits, which would otherwise be cut into bad JSON.
            let read = std::io::stdin().take(control::MAX_REQUEST as u64 + 1).read_to_string(&mut input);
            if read.is_ok_and(|n| n > control::MAX_REQUEST) {
                control::error_json(&control::too_long())
            } else {
                vwrp::rpcd::call(method, &input, |r| call(o, r))
            }
        }
        _ => control::error_json("usage: vwrp rpcd list | vwrp rpcd call METHOD"),
    };
    println!("{out}");
    ExitCode::SUCCESS
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("-")
}

fn n(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

/// Milliseconds as seconds with one decimal, rounded: integers only, so
/// no float formatting is linked in.
fn secs(ms: u64) -> String {
    let tenths = ms.saturating_add(50) / 100;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// Weight, type, and what the last probe said.
fn tracker_details(t: &Value) -> Vec<String> {
    let mut d = vec![format!("{} weight {}", s(t, "type"), s(t, "weight"))];
    if t.get("running").and_then(Value::as_bool) == Some(false)
        && t.get("type").and_then(Value::as_str) != Some("external")
    {
        d.push("not running".into());
    }
    if let Some(last) = t.get("last").and_then(Value::as_str) {
        d.push(format!("last {last} {} ms ago", n(t, "last_ago_ms")));
    }
    if let Some(c) = t.get("change").filter(|c| c.is_object()) {
        d.push(format!("{} {}s ago, detected in {} ms", s(c, "to"), secs(n(c, "ago_ms")), n(c, "detect_ms")));
    }
    if let Some(e) = t.get("error").and_then(Value::as_str) {
        d.push(e.to_string());
    }
    d
}

fn print_status(v: &Value) {
    print!("{}", status_text(v));
}

/// `vwrp status` for humans.
fn status_text(v: &Value) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    for g in v.get("groups").and_then(Value::as_array).into_iter().flatten() {
        let _ = writeln!(
            o,
            "group {} (id {}): {} for {}s ({})",
            s(g, "name"),
            n(g, "group"),
            s(g, "state").to_ascii_uppercase(),
            secs(n(g, "since_ms")),
            s(g, "reason")
        );
        let _ = writeln!(
            o,
            "  router {}  priority {} (effective {})  WAN {}{}  {}",
            s(g, "router_id"),
            n(g, "priority"),
            n(g, "effective_priority"),
            if g.get("wan_open").and_then(Value::as_bool) == Some(true) { "open" } else { "closed" },
            if g.get("lan_up").and_then(Value::as_bool) == Some(false) { "  LAN LOST" } else { "" },
            if g.get("authenticated").and_then(Value::as_bool) == Some(true) {
                "authenticated"
            } else {
                "UNAUTHENTICATED"
            }
        );
        if g.get("authenticated").and_then(Value::as_bool) == Some(false) {
            let _ = writeln!(
                o,
                "  WARNING: no key: hellos are not authenticated, so anyone on the control links can take the WAN \
                 (vwrp genkey makes a key; give every router the same)"
            );
        }
        // Only the control links that do not carry hellos.
        for c in g.get("control_links").and_then(Value::as_array).into_iter().flatten() {
            let _ = match (s(c, "state"), c.get("tie").and_then(Value::as_str)) {
                ("up", _) => Ok(()),
                ("tied", Some(tie)) => writeln!(o, "  control TIED: {tie}: nothing is sent on it"),
                (state, _) => writeln!(o, "  control {} {state}", s(c, "device")),
            };
        }
        if let Some(l) = g.get("lease").filter(|l| **l != Value::Null) {
            let _ = writeln!(
                o,
                "  lease {}/{} via {}  {} s left",
                s(l, "address"),
                n(l, "prefix_len"),
                s(l, "gateway"),
                n(l, "seconds_left")
            );
        }
        if let Some(l6) = g.get("lease6").filter(|l| **l != Value::Null) {
            let ias = |k: &str| -> Vec<String> {
                l6.get(k)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|a| format!("{}/{}", s(a, "address"), n(a, "prefix_len")))
                    .collect()
            };
            let _ = writeln!(
                o,
                "  lease6 {} prefixes {} via {}",
                ias("addresses").join(","),
                ias("prefixes").join(","),
                s(l6, "gateway")
            );
        }
        for p in g.get("peers").and_then(Value::as_array).into_iter().flatten() {
            let paths: Vec<&str> =
                p.get("paths").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
            let _ = writeln!(
                o,
                "  peer {} {} priority {}/{} heard {} ms ago on {}{}{}",
                s(p, "router_id"),
                s(p, "state"),
                n(p, "priority"),
                n(p, "effective_priority"),
                n(p, "last_heard_ms"),
                paths.join(","),
                p.get("key_id").and_then(Value::as_u64).map(|k| format!(" key {k}")).unwrap_or_default(),
                if p.get("alive").and_then(Value::as_bool) == Some(true) { "" } else { " (dead)" }
            );
        }
        for r in g.get("refused").and_then(Value::as_array).into_iter().flatten() {
            let why = match s(r, "reason") {
                "unknown_key" => "a key id this router lacks",
                "bad_signature" => "another secret",
                _ => "no signature",
            };
            let _ = writeln!(
                o,
                "  REFUSED {} key {}: {why}, {} frames, last {} ms ago",
                s(r, "router_id"),
                r.get("key_id").and_then(Value::as_u64).map_or(String::from("none"), |k| k.to_string()),
                n(r, "frames"),
                n(r, "last_heard_ms")
            );
        }
        if let Some(u) = g.get("step_up").filter(|u| u.is_object()) {
            let _ = writeln!(o, "  step up {} {}s ago: {}", s(u, "state"), secs(n(u, "ago_ms")), s(u, "reason"));
        }
        for t in g.get("trackers").and_then(Value::as_array).into_iter().flatten() {
            let _ = writeln!(o, "  tracker {} {} ({})", s(t, "name"), s(t, "state"), tracker_details(t).join(", "));
        }
        if let Some(c) = g.get("conntrack").filter(|c| c.is_object()) {
            conntrack_line(&mut o, c);
        }
        if let Some(c) = g.get("counters") {
            let _ = writeln!(
                o,
                "  frames rx {} tx {}  takeovers {} handovers {}",
                n(c, "rx_ok"),
                n(c, "tx"),
                n(c, "takeovers"),
                n(c, "handovers")
            );
        }
        for t in g.get("transitions").and_then(Value::as_array).into_iter().flatten().take(5) {
            let _ = writeln!(
                o,
                "  {:>8}s ago {} -> {}: {}",
                secs(n(t, "ago_ms")),
                s(t, "from"),
                s(t, "to"),
                s(t, "reason")
            );
        }
    }
    o
}

/// conntrackd's state and the group's last commit, on one line.
fn conntrack_line(o: &mut String, c: &Value) {
    use std::fmt::Write;
    let m = c.get("commit").filter(|m| m.is_object()).unwrap_or(&Value::Null);
    let _ = writeln!(
        o,
        "  conntrack sync {} on {}: {} own, {} synced; last commit {} ({} ms)",
        s(c, "state"),
        s(c, "device"),
        n(c, "internal"),
        n(c, "external"),
        s(m, "result"),
        n(m, "took_ms")
    );
}

#[cfg(test)]
mod tests {
    use super::{Access, USAGE, control, secs};

    /// Every operator method has its command, and its line in the usage.
    #[test]
    fn usage_names_every_method_of_the_cli() {
        for m in control::METHODS.iter().filter(|m| m.access != Access::Local) {
            assert!(!m.cli.is_empty(), "{} has no CLI command", m.name);
            assert!(USAGE.lines().any(|l| l.trim_start().starts_with(m.cli)), "{} is not in the usage", m.cli);
        }
    }

    /// "Is the daemon running?" only where it may not be: a socket root
    /// alone may use is another matter.
    #[test]
    fn a_failed_exchange_hints_only_at_its_cause() {
        use std::io::{Error, ErrorKind};
        assert_eq!(super::hint(&Error::from(ErrorKind::NotFound)), " (is the daemon running?)");
        assert_eq!(super::hint(&Error::from(ErrorKind::ConnectionRefused)), " (is the daemon running?)");
        assert_eq!(super::hint(&Error::from(ErrorKind::PermissionDenied)), " (the control socket is root's only)");
        assert_eq!(super::hint(&Error::from(ErrorKind::TimedOut)), "");
    }

    /// A group without a key says so in `vwrp status`, not only in the log.
    #[test]
    fn status_warns_of_a_group_without_a_key() {
        let status = |auth: bool| {
            let v = vwrp::json::parse(&format!(r#"{{"groups":[{{"name":"wan","authenticated":{auth}}}]}}"#)).unwrap();
            super::status_text(&v)
        };
        let text = status(false);
        assert!(text.contains("UNAUTHENTICATED"), "{text}");
        assert!(text.contains("\n  WARNING: no key: hellos are not authenticated"), "{text}");
        assert!(!status(true).contains("WARNING"));
    }

    /// A control link that carries no hellos has a line; one that does
    /// has none.
    #[test]
    fn status_text_names_the_control_links_that_carry_no_hellos() {
        let v = vwrp::json::parse(
            r#"{"groups":[{"name":"wan","authenticated":true,"control_links":[
                {"device":"br-lan","state":"tied","tie":"br-lan is a bridge, bond or VLAN over the WAN device wan"},
                {"device":"sync0","state":"missing","tie":null},{"device":"lan2","state":"up","tie":null}]}]}"#,
        )
        .unwrap();
        let text = super::status_text(&v);
        let tied =
            "\n  control TIED: br-lan is a bridge, bond or VLAN over the WAN device wan: nothing is sent on it\n";
        assert!(text.contains(tied), "{text}");
        assert!(text.contains("\n  control sync0 missing\n"), "{text}");
        assert!(!text.contains("lan2"), "{text}");
    }

    /// Each group's lines stay together, the conntrack line among them.
    #[test]
    fn status_text_keeps_the_conntrack_line_in_its_group() {
        let v = vwrp::json::parse(
            r#"{"groups":[{"name":"wan","authenticated":true,"conntrack":{"state":"running","device":"sync0",
                "internal":3,"external":2,"commit":{"result":"ok","took_ms":12}}},
              {"name":"wan2","authenticated":true}]}"#,
        )
        .unwrap();
        let text = super::status_text(&v);
        let line = "  conntrack sync running on sync0: 3 own, 2 synced; last commit ok (12 ms)";
        let at = text.find(line).unwrap_or_else(|| panic!("no conntrack line: {text}"));
        assert!(at > text.find("wan").unwrap() && at < text.find("wan2").unwrap(), "{text}");
    }

    #[test]
    fn seconds_have_one_rounded_decimal() {
        for (ms, s) in [
            (0, "0.0"),
            (49, "0.0"),
            (50, "0.1"),
            (5230, "5.2"),
            (5299, "5.3"),
            (59_960, "60.0"),
            (u64::MAX, "18446744073709551.6"),
        ] {
            assert_eq!(secs(ms), s, "{ms}");
        }
    }
}
