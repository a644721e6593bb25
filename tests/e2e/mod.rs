//! Routers running the real vwrp daemon on the namespace test bed.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use vwrp::control::{self, Request};

use crate::support::{Opts, ProcId, SHARED_MAC, Testbed, poll_until, vwrp_bin};

pub const KEY: &str = "1:e2e-test-key-0123456789";

/// Failover timing is measured: one bed at a time, whatever the test
/// runner's thread count.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub struct Cluster {
    pub bed: Testbed,
    _serial: std::sync::MutexGuard<'static, ()>,
    pub daemons: Vec<Option<ProcId>>,
    pub hello_ms: u64,
    pub confs: Vec<RouterConf>,
}

/// Per-router configuration knobs.
#[derive(Clone)]
pub struct RouterConf {
    pub priority: u8,
    pub preempt: bool,
    pub preempt_delay: &'static str,
    pub extra: String,
    /// Extra environment of the daemon, e.g. a PATH with stand-ins.
    pub env: Vec<(String, String)>,
    /// A key listed before the group's shared one: this router signs
    /// with it (a key rotation half done) and still accepts the others.
    pub signing_key: Option<&'static str>,
    /// Another vwrp binary than [`vwrp_bin`], e.g. one built with a test
    /// feature.
    pub daemon_bin: Option<String>,
    /// Options of the `globals` section, e.g. `realtime_priority`.
    pub globals: String,
    /// A command the daemon runs under, e.g. `taskset -c 0`.
    pub wrapper: Vec<String>,
}

impl Default for RouterConf {
    fn default() -> Self {
        RouterConf {
            priority: 100,
            preempt: false,
            preempt_delay: "1s",
            extra: String::new(),
            env: Vec::new(),
            signing_key: None,
            daemon_bin: None,
            globals: String::new(),
            wrapper: Vec::new(),
        }
    }
}

pub fn prio(p: &[u8]) -> Vec<RouterConf> {
    p.iter().map(|&priority| RouterConf { priority, ..Default::default() }).collect()
}

/// What a dual-stack group adds to its configuration: the group's DHCPv6
/// client, and the LAN's IPv6 default router at a link-local gateway
/// address (docs/CONFIG.md).
pub const DUAL_STACK: &str = "\toption dhcpv6 '1'\n\tlist lan_gateway 'fe80::1/64@lan'\n";

/// [`prio`] for a dual-stack group (run it on a bed with `Opts::ipv6`).
pub fn dual_stack(p: &[u8]) -> Vec<RouterConf> {
    p.iter().map(|&priority| RouterConf { priority, extra: DUAL_STACK.into(), ..Default::default() }).collect()
}

impl Cluster {
    /// A bed with one router per entry; daemons started, and each WAN
    /// brought up only after its daemon installed the fence.
    pub fn start(confs: &[RouterConf], hello_ms: u64) -> Cluster {
        Cluster::start_with(confs, hello_ms, Opts::default())
    }

    /// [`Cluster::start`] on a bed with other options (dnsmasq's).
    pub fn start_with(confs: &[RouterConf], hello_ms: u64, opts: Opts) -> Cluster {
        let mut c = Cluster::with_daemons_down(confs, hello_ms, opts);
        for n in 1..=confs.len() {
            c.start_daemon(n);
        }
        for n in 1..=confs.len() {
            c.wait_socket(n);
            c.bed.bring_up_wan(n);
        }
        c
    }

    /// The bed and the configuration files; no daemon runs yet (see
    /// [`Cluster::boot`]).
    pub fn with_daemons_down(confs: &[RouterConf], hello_ms: u64, opts: Opts) -> Cluster {
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let bed = Testbed::new(confs.len(), opts);
        let c = Cluster { daemons: vec![None; confs.len()], hello_ms, bed, confs: confs.to_vec(), _serial: serial };
        for (i, rc) in confs.iter().enumerate() {
            c.write_config(i + 1, rc);
        }
        c
    }

    /// Starts router n's daemon and, once it fenced the WAN, brings the
    /// WAN up.
    pub fn boot(&mut self, n: usize) {
        self.start_daemon(n);
        self.wait_socket(n);
        self.bed.bring_up_wan(n);
    }

    pub fn dir(&self) -> PathBuf {
        self.bed.dir().to_path_buf()
    }

    pub fn config_path(&self, n: usize) -> PathBuf {
        self.dir().join(format!("r{n}.conf"))
    }

    pub fn socket(&self, n: usize) -> PathBuf {
        self.dir().join(format!("r{n}/vwrp.sock"))
    }

    pub fn hook_log(&self, n: usize) -> PathBuf {
        self.dir().join(format!("r{n}/hooks.log"))
    }

    pub fn config_text(&self, n: usize, rc: &RouterConf) -> String {
        let d = self.dir();
        format!(
            "config globals 'globals'\n\
             \toption control_socket '{d}/r{n}/vwrp.sock'\n\
             \toption state_dir '{d}/r{n}'\n\
             \toption hook_dir '{d}/r{n}/hooks'\n\
             \toption log_level 'debug'\n\
             {}\
             config group 'wan'\n\
             \toption group_id '1'\n\
             \toption router_id '{n}'\n\
             \toption wan_device 'wan'\n\
             \toption shared_mac '{SHARED_MAC}'\n\
             \tlist control 'lan'\n\
             \toption priority '{}'\n\
             \toption preempt '{}'\n\
             \toption preempt_delay '{}'\n\
             \toption hello_interval '{}ms'\n\
             \toption dead_multiplier '3'\n\
             {}\tlist key '{KEY}'\n\
             \tlist lan_gateway '198.51.100.1/24@lan'\n\
             \toption resolv_file '{d}/r{n}/resolv.conf'\n\
             {}",
            rc.globals,
            rc.priority,
            u8::from(rc.preempt),
            rc.preempt_delay,
            self.hello_ms,
            rc.signing_key.map(|k| format!("\tlist key '{k}'\n")).unwrap_or_default(),
            rc.extra,
            d = d.display()
        )
    }

    pub fn write_config(&self, n: usize, rc: &RouterConf) {
        let hooks = self.dir().join(format!("r{n}/hooks"));
        std::fs::create_dir_all(&hooks).unwrap();
        // A hook that records every transition, for the tests.
        let script = hooks.join("10-log");
        std::fs::write(&script, format!("#!/bin/sh\necho \"$ACTION\" >> {}\n", self.hook_log(n).display())).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(self.config_path(n), self.config_text(n, rc)).unwrap();
    }

    pub fn start_daemon(&mut self, n: usize) {
        let share = concat!(env!("CARGO_MANIFEST_DIR"), "/files/usr/share/vwrp");
        let conf = self.config_path(n);
        let _ = std::fs::remove_file(self.socket(n));
        let mut argv = self.confs[n - 1].wrapper.clone();
        argv.extend(["env".to_string(), format!("VWRP_SHARE_DIR={share}")]);
        argv.extend(self.confs[n - 1].env.iter().map(|(k, v)| format!("{k}={v}")));
        let bin = self.confs[n - 1].daemon_bin.clone().unwrap_or_else(|| vwrp_bin().to_string());
        argv.extend([bin, "daemon".into(), "-c".into(), conf.to_string_lossy().into_owned()]);
        let id = self.bed.spawn(&Testbed::router(n), argv);
        self.daemons[n - 1] = Some(id);
    }

    pub fn wait_socket(&self, n: usize) {
        let s = self.socket(n);
        assert!(
            poll_until(Duration::from_secs(10), || s.exists()),
            "r{n}: daemon did not open its socket\n{}",
            self.log(n)
        );
    }

    pub fn daemon(&self, n: usize) -> ProcId {
        self.daemons[n - 1].expect("daemon running")
    }

    /// Whether router n's daemon is still running.
    pub fn running(&mut self, n: usize) -> bool {
        let d = self.daemon(n);
        self.bed.running(d)
    }

    /// Panics, saying how it ended, unless router n's daemon still runs.
    pub fn assert_running(&mut self, n: usize) {
        let d = self.daemon(n);
        if let Some(status) = self.bed.wait(d, Duration::ZERO) {
            panic!("r{n}'s daemon is gone ({status})\n{}", self.logs());
        }
    }

    pub fn log(&self, n: usize) -> String {
        self.daemons[n - 1].map(|d| self.bed.proc_log(d)).unwrap_or_default()
    }

    /// The warning and error lines of router n's log from byte `from` on
    /// (a length of [`Cluster::log`] taken earlier): a healthy router
    /// logs none (src/logging.rs writes `[WARN  ...]` and `[ERROR ...]`).
    pub fn warnings(&self, n: usize, from: usize) -> Vec<String> {
        let log = self.log(n);
        let lines = log.get(from..).unwrap_or_default().lines();
        lines.filter(|l| l.starts_with("[WARN") || l.starts_with("[ERROR")).map(str::to_string).collect()
    }

    /// The daemon's reply, read by serde_json (not by vwrp's own reader).
    pub fn call(&self, n: usize, req: &Request) -> Option<Value> {
        let r = control::exchange(&self.socket(n), req, Duration::from_secs(2)).ok()?;
        serde_json::from_str(&r.line).ok()
    }

    /// The group's status as `vwrp status --json` reports it.
    pub fn status(&self, n: usize) -> Option<Value> {
        self.call(n, &Request::Status).and_then(|v| v["groups"].get(0).cloned())
    }

    pub fn state(&self, n: usize) -> String {
        self.status(n).map_or("down".into(), |s| s["state"].as_str().unwrap_or("?").to_string())
    }

    pub fn states(&self) -> Vec<String> {
        (1..=self.daemons.len())
            .map(|n| if self.daemons[n - 1].is_some() { self.state(n) } else { "down".into() })
            .collect()
    }

    /// Routers that report "active".
    pub fn actives(&self) -> Vec<usize> {
        self.states().iter().enumerate().filter(|(_, s)| *s == "active").map(|(i, _)| i + 1).collect()
    }

    /// Waits until exactly one router is active and the others standby
    /// (or down); returns the active one.
    pub fn wait_one_active(&self, timeout: Duration) -> usize {
        let mut last = Vec::new();
        let ok = poll_until(timeout, || {
            last = self.states();
            last.iter().filter(|s| *s == "active").count() == 1
                && last.iter().all(|s| matches!(s.as_str(), "active" | "standby" | "down"))
        });
        assert!(ok, "no single active router: {last:?}\n{}", self.logs());
        self.actives()[0]
    }

    /// Runs the vwrp CLI against router n's daemon, as an operator would.
    pub fn cli(&self, n: usize, args: &[&str]) -> std::process::Output {
        let sock = self.socket(n);
        let mut argv = vec![vwrp_bin(), "-s", sock.to_str().unwrap()];
        argv.extend_from_slice(args);
        self.bed.exec(&Testbed::router(n), argv)
    }

    /// Waits until router n holds the ISP's address, and returns status.
    pub fn wait_lease(&self, n: usize, timeout: Duration) -> Value {
        let mut st = None;
        let ok = poll_until(timeout, || {
            st = self.status(n);
            st.as_ref().is_some_and(|s| s["lease"]["address"] == crate::support::WAN_ADDR && s["state"] == "active")
        });
        assert!(
            ok,
            "r{n} never used the lease
{}",
            self.logs()
        );
        st.unwrap()
    }

    /// Waits until router n is active with an IPv6 binding that has a
    /// delegated prefix, and returns status.
    pub fn wait_lease6(&self, n: usize, timeout: Duration) -> Value {
        let mut st = None;
        let ok = poll_until(timeout, || {
            st = self.status(n);
            st.as_ref().is_some_and(|s| {
                s["state"] == "active" && s["lease6"]["prefixes"].as_array().is_some_and(|p| !p.is_empty())
            })
        });
        assert!(ok, "r{n} never used an IPv6 binding: {:?}\n{}", st, self.logs());
        st.unwrap()
    }

    /// Router n's transitions, most recent first.
    pub fn transitions(&self, n: usize) -> Vec<(String, String)> {
        self.status(n).map_or(Vec::new(), |s| {
            s["transitions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| (t["to"].as_str().unwrap_or("").to_string(), t["reason"].as_str().unwrap_or("").to_string()))
                .collect()
        })
    }

    pub fn logs(&self) -> String {
        (1..=self.daemons.len())
            .filter(|n| self.daemons[n - 1].is_some())
            .map(|n| format!("--- r{n} ---\n{}", tail(&self.log(n), 40)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
