//! vwrp: daemon, CLI and DHCP-hook entry point in one small binary.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use vwrp::config;
use vwrp::control::{self, Request};
use vwrp::json::Value;

const USAGE: &str = "usage: vwrp <command>
  daemon [-c FILE]          run in the foreground (default /etc/config/vwrp)
  status [--json]           state of every group
  step-up [GROUP]           ask to become the active router
  step-down [GROUP]         hand the WAN to the best standby
  set-priority N [GROUP]    run-time priority 1..254 (not saved)
  tracker NAME up|down      verdict of an external tracker
  check-config [FILE]       validate a configuration file
  lease-event               called by the udhcpc hook with its environment
options: -c FILE (config), -s SOCKET (control socket)";

struct Opts {
    config: PathBuf,
    socket: Option<PathBuf>,
    json: bool,
    args: Vec<String>,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts { config: config::DEFAULT_PATH.into(), socket: None, json: false, args: Vec::new() };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-c" => o.config = it.next().ok_or("-c needs a file")?.into(),
            "-s" => o.socket = Some(it.next().ok_or("-s needs a path")?.into()),
            "--json" | "-j" => o.json = true,
            "-h" | "--help" => return Err(String::new()),
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

fn call(o: &Opts, req: &Request) -> Result<Value, String> {
    let s = socket(o);
    let v = control::call(&s, req, Duration::from_secs(2)).map_err(|e| format!("{}: {e} (is the daemon running?)", s.display()))?;
    match control::error_of(&v) {
        Some(e) => Err(e.to_string()),
        None => Ok(v),
    }
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("vwrp: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vwrp: {e}");
            ExitCode::FAILURE
        }
    }
}

fn group_arg(o: &Opts, i: usize) -> Option<String> {
    o.args.get(i).cloned()
}

fn run(o: &Opts) -> Result<(), String> {
    let cmd = o.args.first().map(String::as_str).unwrap_or("");
    match cmd {
        "daemon" => {
            let level = config::load(&o.config).map(|c| c.globals.log_level).unwrap_or(log::LevelFilter::Info);
            env_logger::Builder::new().filter_level(level).parse_default_env().format_timestamp(None).init();
            let mut d = vwrp::daemon::Daemon::new(&o.config).map_err(|e| format!("{e:#}"))?;
            d.run().map_err(|e| format!("{e:#}"))
        }
        "check-config" => {
            let path = o.args.get(1).map_or(o.config.clone(), PathBuf::from);
            let c = config::load(&path).map_err(|e| e.to_string())?;
            println!("{}: ok ({} group(s) enabled)", path.display(), c.groups.len());
            Ok(())
        }
        "status" => {
            let v = call(o, &Request::Status)?;
            if o.json {
                println!("{v}");
            } else {
                print_status(&v);
            }
            Ok(())
        }
        "step-up" => call(o, &Request::StepUp { group: group_arg(o, 1) }).map(drop),
        "step-down" => call(o, &Request::StepDown { group: group_arg(o, 1) }).map(drop),
        "set-priority" => {
            let p = o.args.get(1).ok_or("set-priority needs a number")?;
            let priority: u8 = p.parse().ok().filter(|p| (1..=254).contains(p)).ok_or("priority must be 1..254")?;
            call(o, &Request::SetPriority { priority, group: group_arg(o, 2) }).map(drop)
        }
        "tracker" => {
            let name = o.args.get(1).ok_or("tracker needs a name")?.clone();
            let up = match o.args.get(2).map(String::as_str) {
                Some("up") => true,
                Some("down") => false,
                _ => return Err("tracker NAME up|down".into()),
            };
            call(o, &Request::Tracker { name, up }).map(drop)
        }
        "lease-event" => lease_event(o),
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
    call(o, &Request::Lease { device, env }).map(drop)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("-")
}

fn n(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

fn print_status(v: &Value) {
    for g in v.get("groups").and_then(Value::as_array).into_iter().flatten() {
        println!(
            "group {} (id {}): {} for {:.1}s ({})",
            s(g, "name"),
            n(g, "group"),
            s(g, "state").to_uppercase(),
            n(g, "since_ms") as f64 / 1000.0,
            s(g, "reason")
        );
        println!(
            "  router {}  priority {} (effective {})  WAN {}  {}",
            s(g, "router_id"),
            n(g, "priority"),
            n(g, "effective_priority"),
            if g.get("wan_open").and_then(Value::as_bool) == Some(true) { "open" } else { "closed" },
            if g.get("authenticated").and_then(Value::as_bool) == Some(true) { "authenticated" } else { "UNAUTHENTICATED" }
        );
        if let Some(l) = g.get("lease").filter(|l| !l.is_null()) {
            println!("  lease {}/{} via {}  {} s left", s(l, "address"), n(l, "prefix_len"), s(l, "gateway"), n(l, "seconds_left"));
        }
        for p in g.get("peers").and_then(Value::as_array).into_iter().flatten() {
            let paths: Vec<&str> = p.get("paths").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
            println!(
                "  peer {} {} priority {}/{} heard {} ms ago on {}{}",
                s(p, "router_id"),
                s(p, "state"),
                n(p, "priority"),
                n(p, "effective_priority"),
                n(p, "last_heard_ms"),
                paths.join(","),
                if p.get("alive").and_then(Value::as_bool) == Some(true) { "" } else { " (dead)" }
            );
        }
        for t in g.get("trackers").and_then(Value::as_array).into_iter().flatten() {
            println!("  tracker {} {} (weight {})", s(t, "name"), s(t, "state"), s(t, "weight"));
        }
        if let Some(c) = g.get("counters") {
            println!("  frames rx {} tx {}  takeovers {} handovers {}", n(c, "rx_ok"), n(c, "tx"), n(c, "takeovers"), n(c, "handovers"));
        }
        for t in g.get("transitions").and_then(Value::as_array).into_iter().flatten().take(5) {
            println!("  {:>8.1}s ago {} -> {}: {}", n(t, "ago_ms") as f64 / 1000.0, s(t, "from"), s(t, "to"), s(t, "reason"));
        }
    }
}

