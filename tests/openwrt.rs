//! The OpenWrt package: files/ (the router's filesystem) and the .ipk (the
//! feed's recipes are tests/feed.rs's). Shell files run under busybox ash,
//! as on the router, and pass `shellcheck -s sh`. What cannot run on Debian
//! is replaced by small stand-ins in tests/openwrt/, each saying what it
//! imitates: `rc.common` for procd's /etc/rc.common and procd.sh (procd is
//! OpenWrt's PID 1, reached over ubus), `ubus` for the ubus CLI talking to
//! netifd (which needs ubusd and OpenWrt's kernel-facing setup). Everything
//! else is real: the vwrp binary, nftables in namespaces the tests create,
//! daemons on the namespace test bed. Needs root.

mod e2e;
mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use e2e::{Cluster, RouterConf, prio};
use serde_json::{Value, json};
use support::netns::Netns;
use support::{ISP_ADDR, TempDir, WAN_ADDR, poll_until, vwrp_bin};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SECS: fn(u64) -> Duration = Duration::from_secs;
const SESSION: &str = r#""ubus_rpc_session":"0123456789abcdef0123456789abcdef""#;

fn repo(rel: &str) -> PathBuf {
    Path::new(ROOT).join(rel)
}

fn write(path: &Path, text: &str, mode: u32) {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `cmd` to completion with `stdin`, killing it after 30 s.
fn run(mut cmd: Command, stdin: &str) -> Output {
    let what = format!("{cmd:?}");
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(stdin.as_bytes());
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(SECS(30)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // Our own child, not yet reaped: its pid is still ours.
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!("{what}: still running after 30 s");
        }
    }
}

/// `busybox ash -c SCRIPT sh ARGS…`, the router's shell.
fn ash(script: &str, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut cmd = Command::new("busybox");
    cmd.args(["ash", "-c", script, "sh"]).args(args).envs(env.iter().copied());
    run(cmd, stdin)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A namespace of this test with veths `wan` and `lan` in it, deleted on
/// drop after the processes the test started in it.
fn router_ns() -> Netns {
    let ns = Netns::new("ow");
    for (dev, peer) in [("wan", "wanp"), ("lan", "lanp")] {
        ns.exec(["ip", "link", "add", dev, "type", "veth", "peer", "name", peer]);
        ns.exec(["ip", "link", "set", dev, "up"]);
        ns.exec(["ip", "link", "set", peer, "up"]);
    }
    ns
}

/// `argv` with `env` in `ns`, whatever its exit status.
fn exec_in(ns: &Netns, argv: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = ns.command(argv);
    c.envs(env.iter().copied());
    run(c, "")
}

/// `nft -a list table netdev vwrp` in `ns`, or None without the table.
fn fence(ns: &Netns) -> Option<String> {
    let out = exec_in(ns, &["nft", "-a", "list", "table", "netdev", "vwrp"], &[]);
    out.status.success().then(|| text(&out.stdout))
}

/// Every file under files/, relative to it, sorted.
fn shipped_files() -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut v = Vec::new();
    walk(&repo("files"), &repo("files"), &mut v);
    v.sort();
    v
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o111 != 0
}

/// The mode OpenWrt installs a file of files/ with: INSTALL_CONF for the
/// UCI file, INSTALL_BIN for what is executable, INSTALL_DATA otherwise.
fn install_mode(rel: &str) -> u32 {
    if rel.starts_with("etc/config/") {
        0o600
    } else if is_executable(&repo(&format!("files/{rel}"))) {
        0o755
    } else {
        0o644
    }
}

#[test]
fn shell_files_pass_shellcheck_and_the_executables_are_marked() {
    let mut shell: Vec<PathBuf> = shipped_files()
        .iter()
        .filter(|f| !f.ends_with(".json") && !f.starts_with("etc/config/"))
        .map(|f| repo(&format!("files/{f}")))
        .collect();
    shell.extend(
        [
            "scripts/ipk.sh",
            "scripts/ipk-luci.sh",
            "scripts/ipk-lib.sh",
            "tests/openwrt/rc.common",
            "tests/openwrt/ubus",
        ]
        .map(repo),
    );
    assert!(shell.len() >= 9, "{shell:?}");
    // -x: follow the packers' shared library where they source it.
    let mut cmd = Command::new("shellcheck");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args(["-s", "sh", "-x"]).args(&shell);
    let out = run(cmd, "");
    assert!(out.status.success(), "shellcheck:\n{}{}", text(&out.stdout), text(&out.stderr));
    for f in &shell {
        let out = run(
            {
                let mut c = Command::new("busybox");
                c.args(["ash", "-n"]).arg(f);
                c
            },
            "",
        );
        assert!(out.status.success(), "busybox ash -n {}: {}", f.display(), text(&out.stderr));
    }
    // Run directly by procd, rpcd, netifd and udhcpc: executable. Sourced
    // by dhcp.script and dhcpv6.script: need not be.
    for f in ["etc/init.d/vwrp", "usr/libexec/rpcd/vwrp", "lib/netifd/proto/vwrp.sh", "usr/share/vwrp/udhcpc.script"] {
        assert!(is_executable(&repo(&format!("files/{f}"))), "files/{f} must be executable");
    }
}

#[test]
fn the_shipped_config_is_valid_and_has_its_group_disabled() {
    let conf = repo("files/etc/config/vwrp");
    let out = run(
        {
            let mut c = Command::new(vwrp_bin());
            c.arg("check-config").arg(&conf);
            c
        },
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ok, but no group is enabled"), "{}", text(&out.stdout));
    // Nothing to fence: `fence` says so with 3 and touches nothing.
    let ns = router_ns();
    let out = exec_in(&ns, &[vwrp_bin(), "fence", "-c", conf.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(fence(&ns), None);
}

/// A panic leaves one line on stderr, which procd hands to logd. The one
/// panic anybody can cause: printing to a full device, as in `vwrp
/// check-config > /dev/full` (a pipe whose reader is gone ends the CLI
/// quietly, by SIGPIPE). The router build traps and prints the address,
/// which its unstripped binary maps to std's print function; the native
/// build prints std's panic message.
#[test]
fn a_panic_leaves_a_line_on_stderr() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(vwrp_bin())
        .arg("check-config")
        .arg(repo("files/etc/config/vwrp"))
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    let err = text(&out.stderr);
    let Some(unstripped) = support::vwrp_unstripped() else {
        assert!(err.contains("panicked at") && err.contains("failed printing to stdout"), "{err}");
        return;
    };
    use std::os::unix::process::ExitStatusExt;
    assert!(matches!(out.status.signal(), Some(nix::libc::SIGILL | nix::libc::SIGTRAP)), "{:?}", out.status);
    let line = err.lines().find(|l| l.starts_with("vwrp: panicked: SIG")).unwrap_or_else(|| panic!("no line: {err:?}"));
    let addr = line.split(" at ").nth(1).and_then(|a| a.split(' ').next()).unwrap();
    let found = run(
        {
            let mut c = Command::new(repo("scripts/where.sh"));
            c.arg(&unstripped).arg(addr);
            c
        },
        "",
    );
    let function = text(&found.stdout);
    assert!(function.contains("std::io::stdio::") && function.contains("print"), "{line} -> {function:?}");
}

/// A fake router root for the init script: the binary, a config and the
/// procd stand-in's files.
struct InitRoot {
    dir: TempDir,
}

impl InitRoot {
    fn new(config: &str) -> InitRoot {
        let dir = TempDir::new("openwrt-init");
        std::fs::create_dir_all(dir.join("usr/sbin")).unwrap();
        std::os::unix::fs::symlink(vwrp_bin(), dir.join("usr/sbin/vwrp")).unwrap();
        let config = config.replace("@DIR@", dir.path().to_str().unwrap());
        write(&dir.join("etc/config/vwrp"), &config, 0o600);
        InitRoot { dir }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let at = |f: &str| self.dir.join(f).display().to_string();
        vec![
            ("IPKG_INSTROOT", self.dir.path().display().to_string()),
            ("PROCD_LOG", at("procd.log")),
            ("PROCD_STATE", at("procd.state")),
            ("PROCD_PID", at("procd.pid")),
            ("PROCD_PROBE", "nft list table netdev vwrp".to_string()),
            ("PROCD_SYSLOG", at("syslog")),
        ]
    }

    /// What the instance procd runs wrote so far, as logd got it:
    /// (priority, line).
    fn syslog(&self) -> Vec<(String, String)> {
        std::fs::read_to_string(self.dir.join("syslog"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('|').map(|(p, l)| (p.to_string(), l.to_string())))
            .collect()
    }

    /// The pid of the instance procd runs, if one runs.
    fn daemon_pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.dir.join("procd.pid")).ok()?.trim().parse().ok()?;
        (Path::new(&format!("/proc/{pid}")).exists() && !proc_is_zombie(pid)).then_some(pid)
    }

    /// The daemon's status of its one group, over its control socket.
    fn status(&self) -> Option<Value> {
        let sock = self.dir.join("run/vwrp.sock");
        let r = vwrp::control::exchange(&sock, &vwrp::control::Request::Status, SECS(2)).ok()?;
        serde_json::from_str::<Value>(&r.line).ok().and_then(|v| v["groups"].get(0).cloned())
    }

    /// Starts the service as procd would and waits for the daemon to be
    /// the active router (alone on its bed).
    fn start_active(&self, ns: &Netns) -> u32 {
        let out = self.init(ns, "start");
        assert!(out.status.success(), "start: {}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            poll_until(SECS(10), || self.status().is_some_and(|s| s["state"] == "active")),
            "never active alone\n{:?}",
            self.syslog()
        );
        self.daemon_pid().expect("procd runs the daemon")
    }

    /// `/etc/init.d/vwrp ACTION` under the procd stand-in, in `ns`.
    fn init(&self, ns: &Netns, action: &str) -> Output {
        let rc = repo("tests/openwrt/rc.common");
        let script = repo("files/etc/init.d/vwrp");
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        exec_in(ns, &["busybox", "ash", rc.to_str().unwrap(), script.to_str().unwrap(), action], &env)
    }

    /// The recorded procd calls, each split at '|', and forgotten.
    fn take_log(&self) -> Vec<Vec<String>> {
        let p = self.dir.join("procd.log");
        let t = std::fs::read_to_string(&p).unwrap_or_default();
        let _ = std::fs::remove_file(&p);
        t.lines().map(|l| l.split('|').map(str::to_string).collect()).collect()
    }

    fn prog(&self) -> String {
        self.dir.join("usr/sbin/vwrp").display().to_string()
    }

    fn conf(&self) -> String {
        self.dir.join("etc/config/vwrp").display().to_string()
    }
}

const ENABLED_CONFIG: &str = "config globals 'globals'
\toption control_socket '@DIR@/run/vwrp.sock'
\toption state_dir '@DIR@/run'
\toption hook_dir '@DIR@/hooks'
\toption log_level 'debug'
config group 'wan'
\toption wan_device 'wan'
\toption shared_mac '02:76:77:72:70:09'
\tlist control 'lan'
\toption hello_interval '100ms'
\toption dhcp 'none'
\toption resolv_file '@DIR@/run/resolv.conf'
";

fn calls<'a>(log: &'a [Vec<String>], name: &str) -> Vec<&'a [String]> {
    log.iter().filter(|c| c[0] == name).map(|c| &c[1..]).collect()
}

#[test]
fn init_script_fences_the_wan_then_registers_the_daemon_with_procd() {
    let root = InitRoot::new(ENABLED_CONFIG);
    let ns = router_ns();
    assert_eq!(fence(&ns), None);
    let out = root.init(&ns, "start");
    assert!(out.status.success(), "start: {}{}", text(&out.stdout), text(&out.stderr));
    let log = root.take_log();
    let names: Vec<&str> = log.iter().map(|c| c[0].as_str()).collect();
    assert_eq!(
        names,
        [
            "open_service",
            "probe",
            "open_instance",
            "set_param",
            "set_param",
            "set_param",
            "set_param",
            "set_param",
            "set_param",
            "close_instance",
            "add_reload_trigger",
            "close_service"
        ],
        "{log:?}"
    );
    assert_eq!(log[0][1], "vwrp");
    // The WAN was closed, synchronously, before procd heard of the daemon.
    assert_eq!(log[1][1], "ok", "no fence when the instance was registered");
    let params: BTreeMap<&str, &[String]> =
        calls(&log, "set_param").into_iter().map(|p| (p[0].as_str(), &p[1..])).collect();
    assert_eq!(params["command"], [root.prog(), "daemon".into(), "-c".into(), root.conf()]);
    // An upgraded binary restarts the daemon when the package runs start again.
    assert_eq!(params["file"], [root.prog()]);
    assert_eq!(params["respawn"], ["3600", "5", "0"]);
    // Information to logd at LOG_INFO, warnings and errors at LOG_ERR.
    assert_eq!(params["stdout"], ["1"]);
    assert_eq!(params["stderr"], ["1"]);
    assert!(params.contains_key("term_timeout"));
    assert_eq!(calls(&log, "add_reload_trigger"), [&["vwrp".to_string()][..]]);
    assert_eq!(calls(&log, "close_service"), [&["set".to_string()][..]]);
    let fence = fence(&ns).expect("fence installed");
    assert!(fence.contains("hook ingress device \"wan\"") && fence.contains("hook egress device \"wan\""), "{fence}");
    // The script says what the stand-in moved under the fake root.
    let script = std::fs::read_to_string(repo("files/etc/init.d/vwrp")).unwrap();
    assert!(script.starts_with("#!/bin/sh /etc/rc.common\n"));
    assert!(script.contains("\nUSE_PROCD=1\n"));
    assert!(script.contains("\nPROG=/usr/sbin/vwrp\n") && script.contains("\nCONF=/etc/config/vwrp\n"));
    assert!(script.contains("procd_set_param command \"$PROG\" daemon -c \"$CONF\""));
}

#[test]
fn init_script_starts_before_the_network_and_stops_early() {
    let root = InitRoot::new(ENABLED_CONFIG);
    let ns = router_ns();
    assert!(root.init(&ns, "enable").status.success());
    let rcd: Vec<String> = std::fs::read_dir(root.dir.join("etc/rc.d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let start: u32 = rcd.iter().find_map(|n| n.strip_prefix('S')?.strip_suffix("vwrp")?.parse().ok()).expect("S??vwrp");
    let stop: u32 = rcd.iter().find_map(|n| n.strip_prefix('K')?.strip_suffix("vwrp")?.parse().ok()).expect("K??vwrp");
    // network is S20 and K90: vwrp fences before netifd, hands over before it stops.
    assert!(start < 20, "S{start}vwrp");
    assert!(stop < 90, "K{stop}vwrp");
    assert!(root.init(&ns, "enabled").status.success());
    assert!(root.init(&ns, "disable").status.success());
    assert!(!root.init(&ns, "enabled").status.success());
}

#[test]
fn init_script_with_the_shipped_config_runs_nothing_but_keeps_its_reload_trigger() {
    let shipped = std::fs::read_to_string(repo("files/etc/config/vwrp")).unwrap();
    let root = InitRoot::new(&shipped);
    let ns = router_ns();
    let out = root.init(&ns, "start");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = root.take_log();
    let names: Vec<&str> = log.iter().map(|c| c[0].as_str()).collect();
    assert_eq!(names, ["open_service", "add_reload_trigger", "close_service"], "{log:?}");
    assert_eq!(fence(&ns), None, "a disabled group must not close the WAN");
}

#[test]
fn init_script_reload_keeps_the_daemon_and_its_state_status_reports_it_stop_leaves_the_wan_closed() {
    let root = InitRoot::new(ENABLED_CONFIG);
    let ns = router_ns();
    let pid = root.start_active(&ns);
    let log = root.take_log();
    let command = calls(&log, "set_param").into_iter().find(|p| p[0] == "command").unwrap()[1..].to_vec();
    let before = root.status().unwrap();
    let handle = |f: &str| f.lines().next().unwrap_or("").to_string();
    let fence_before = handle(&fence(&ns).unwrap());
    let says = |what: &str| root.syslog().iter().any(|(_, l)| l.contains(what));

    let out = root.init(&ns, "status");
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}{}", text(&out.stderr));
    assert!(shown.starts_with("running\n") && shown.contains("group wan") && shown.contains("ACTIVE"), "{shown}");

    // A change a reload applies: the priority.
    let conf = std::fs::read_to_string(root.conf()).unwrap();
    std::fs::write(root.conf(), format!("{conf}\toption priority '150'\n")).unwrap();
    let out = root.init(&ns, "reload");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = root.take_log();
    assert_eq!(calls(&log, "send_signal"), [&["vwrp".to_string()][..]], "{log:?}");
    // The same instance again: procd keeps it running.
    assert_eq!(calls(&log, "set_param").into_iter().find(|p| p[0] == "command").unwrap()[1..], command[..]);
    assert!(poll_until(SECS(5), || says("configuration reloaded")), "{:?}", root.syslog());
    assert_eq!(root.daemon_pid(), Some(pid), "the daemon was restarted");
    let after = root.status().expect("daemon alive after SIGHUP");
    assert_eq!(after["state"], "active");
    assert_eq!(after["priority"], 150, "the reload did not apply the priority");
    let history = |s: &Value| -> Vec<(String, String, String)> {
        s["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["from"].to_string(), t["to"].to_string(), t["reason"].to_string()))
            .collect()
    };
    assert_eq!(history(&after), history(&before), "reload changed the state");
    assert!(after["since_ms"].as_u64() > before["since_ms"].as_u64());
    assert_eq!(handle(&fence(&ns).unwrap()), fence_before, "start during reload replaced the running fence");

    // A change only a restart applies: the reload names it and applies
    // nothing of the file, not even the priority beside it.
    std::fs::write(
        root.conf(),
        conf.replace("option dhcp 'none'", "option dhcp 'udhcpc'") + "\toption priority '120'\n",
    )
    .unwrap();
    assert!(root.init(&ns, "reload").status.success());
    assert!(
        poll_until(SECS(5), || says("option 'dhcp' of group 'wan' changed, which only a restart applies")),
        "{:?}",
        root.syslog()
    );
    let refused = root.syslog().into_iter().find(|(_, l)| l.contains("reload refused")).unwrap();
    assert_eq!(refused.0, "err", "{refused:?}");
    assert_eq!(root.status().unwrap()["priority"], 150, "a refused reload applied the priority");
    std::fs::write(root.conf(), &conf).unwrap();

    std::fs::write(root.dir.join("procd.state"), "stopped").unwrap();
    let out = root.init(&ns, "status");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stdout));
    let _ = std::fs::remove_file(root.dir.join("procd.state"));
    assert_eq!(root.init(&ns, "status").status.code(), Some(3));

    // stop: procd sends TERM; the daemon hands over, leaves the WAN
    // closed, and the script waits for it to be gone.
    let out = root.init(&ns, "stop");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(calls(&root.take_log(), "kill").iter().any(|a| a[0] == "vwrp"));
    // Its socket gone, its last act; the process ends right after.
    assert!(!root.dir.join("run/vwrp.sock").exists(), "stop returned while the daemon still answers");
    // And the table that keeps a second daemon out is free already, so a
    // start right after a stop does not race the exiting process.
    let owned = exec_in(&ns, &["nft", "list", "table", "netdev", "vwrp_owned"], &[]);
    assert!(!owned.status.success(), "stop returned while the daemon still owns its table");
    assert!(
        poll_until(SECS(1), || !Path::new(&format!("/proc/{pid}")).exists() || proc_is_zombie(pid)),
        "daemon still running"
    );
    let fence = fence(&ns).expect("the fence stays after the daemon exits");
    assert!(!fence.contains("elements"), "the WAN was left open: {fence}");
}

/// procd hands the daemon's stdout to logd at LOG_INFO and its stderr at
/// LOG_ERR: information and debugging must show as `daemon.info`,
/// warnings and errors as `daemon.err`.
#[test]
fn init_script_logs_each_level_at_its_priority() {
    // ENABLED_CONFIG logs at debug and has no key: a warning. A tracker
    // says at debug that it runs.
    let tracker = "config tracker 'lan_link'\n\toption group 'wan'\n\toption type 'link'\n\toption device 'lan'\n";
    let root = InitRoot::new(&format!("{ENABLED_CONFIG}{tracker}"));
    let ns = router_ns();
    root.start_active(&ns);
    let level = |l: &str| l.get(1..6).map(str::trim).unwrap_or_default().to_string();
    assert!(
        poll_until(SECS(5), || {
            let log = root.syslog();
            ["INFO", "DEBUG", "WARN"].iter().all(|w| log.iter().any(|(_, l)| level(l) == *w))
        }),
        "{:?}",
        root.syslog()
    );
    for (priority, line) in root.syslog() {
        let want = match level(&line).as_str() {
            "ERROR" | "WARN" => "err",
            "INFO" | "DEBUG" | "TRACE" => "info",
            _ => continue,
        };
        assert_eq!(priority, want, "{line}");
    }
    assert!(root.syslog().iter().any(|(p, l)| p == "info" && l.contains("group wan: started on WAN wan")));
    assert!(root.syslog().iter().any(|(p, l)| p == "err" && l.contains("group 'wan' has no key")));
}

/// A file with a mistake: start, restart and reload refuse, say why and
/// exit 1, and a running daemon keeps running, untouched. With none
/// running, start registers the reload trigger alone, so that the fixed
/// file starts it.
#[test]
fn init_script_refuses_a_bad_file_and_keeps_the_running_daemon() {
    let root = InitRoot::new(ENABLED_CONFIG);
    let ns = router_ns();
    let pid = root.start_active(&ns);
    let _ = root.take_log();
    let good = std::fs::read_to_string(root.conf()).unwrap();
    std::fs::write(root.conf(), format!("{good}\toption priority '300'\n")).unwrap();
    for action in ["restart", "reload", "start"] {
        let out = root.init(&ns, action);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{action}: {err}");
        assert!(err.contains("option 'priority': 300 is out of range 1..254"), "{action}: {err}");
        assert!(err.contains("the running daemon keeps its configuration"), "{action}: {err}");
        let log = root.take_log();
        assert!(log.iter().all(|c| c[0] == "open_service"), "{action} told procd something with a bad file: {log:?}");
        assert_eq!(root.daemon_pid(), Some(pid), "{action} cost the running daemon");
    }
    assert_eq!(root.status().unwrap()["state"], "active");

    // Stopped, a bad file starts nothing, not even a respawning instance.
    std::fs::write(root.conf(), &good).unwrap();
    assert!(root.init(&ns, "stop").status.success());
    std::fs::write(root.conf(), format!("{good}\toption priority '300'\n")).unwrap();
    let _ = root.take_log();
    let out = root.init(&ns, "start");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("not started"), "{}", text(&out.stderr));
    let log = root.take_log();
    let names: Vec<&str> = log.iter().map(|c| c[0].as_str()).collect();
    assert_eq!(names, ["open_service", "add_reload_trigger", "close_service"], "{log:?}");
    assert_eq!(root.daemon_pid(), None);
    // Fixed, it starts.
    std::fs::write(root.conf(), &good).unwrap();
    root.start_active(&ns);
}

/// `vwrp lease-event` in `ns`, as udhcpc's hook runs it (dhcp 'none':
/// netifd's udhcpc hands vwrp the lease), for `ip` via `router`.
fn lease_event(root: &InitRoot, ns: &Netns, ip: &str, router: &str) -> Output {
    let sock = root.dir.join("run/vwrp.sock").display().to_string();
    let env = [
        ("interface", "wan"),
        ("ip", ip),
        ("mask", "24"),
        ("router", router),
        ("serverid", "203.0.113.1"),
        ("lease", "600"),
    ];
    exec_in(ns, &[&root.prog(), "-s", &sock, "lease-event"], &env)
}

fn wan_addresses(ns: &Netns) -> String {
    text(&exec_in(ns, &["ip", "-4", "-o", "addr", "show", "dev", "wan"], &[]).stdout)
}

fn default_routes(ns: &Netns) -> String {
    text(&exec_in(ns, &["ip", "-4", "route", "show", "default"], &[]).stdout)
}

/// A lease that cannot be applied names the netlink request that failed
/// (issue 20, point 7); stop withdraws the address and the default route
/// behind the closed fence, before the script returns, so that nothing a
/// removal or a `nft delete table` does later puts the shared address
/// live on the ISP link (point 4).
#[test]
fn init_script_stop_withdraws_the_lease_behind_the_closed_fence() {
    let root = InitRoot::new(ENABLED_CONFIG);
    let ns = router_ns();
    root.start_active(&ns);

    // A multicast gateway: the kernel refuses the route (EINVAL).
    let out = lease_event(&root, &ns, "203.0.113.10", "224.0.0.1");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let named = "RTM_NEWROUTE default via 224.0.0.1 dev wan onlink: Invalid argument";
    assert!(poll_until(SECS(5), || root.syslog().iter().any(|(_, l)| l.contains(named))), "{:?}", root.syslog());

    let out = lease_event(&root, &ns, "203.0.113.10", "203.0.113.1");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        poll_until(SECS(5), || default_routes(&ns).contains("via 203.0.113.1 dev wan")),
        "{}\n{:?}",
        default_routes(&ns),
        root.syslog()
    );
    assert!(wan_addresses(&ns).contains("203.0.113.10/24"), "{}", wan_addresses(&ns));

    let out = root.init(&ns, "stop");
    assert!(out.status.success(), "{}", text(&out.stderr));
    // stop returns once the daemon is gone: nothing left to wait for.
    assert!(!wan_addresses(&ns).contains("203.0.113.10"), "address left: {}", wan_addresses(&ns));
    assert!(!default_routes(&ns).contains("dev wan"), "route left: {}", default_routes(&ns));
    let fence = fence(&ns).expect("the fence stays");
    assert!(!fence.contains("elements"), "the WAN was left open: {fence}");
}

/// `vwrp netifd-setup IFACE DEVICE` records the interface only for an
/// enabled group on DEVICE with `dhcp 'netifd'`, and says why not
/// otherwise; the daemon decides by the same rule (issue 20, point 6).
#[test]
fn netifd_setup_checks_the_device_and_the_dhcp_mode_before_recording() {
    let tmp = TempDir::new("openwrt-nsetup");
    let conf = tmp.join("vwrp");
    let run_dir = tmp.join("run");
    let setup = |dhcp: &str, device: &str| {
        let c = ENABLED_CONFIG.replace("@DIR@", tmp.path().to_str().unwrap()).replace("dhcp 'none'", dhcp);
        write(&conf, &c, 0o600);
        let mut cmd = Command::new(vwrp_bin());
        cmd.arg("-c").arg(&conf).args(["netifd-setup", "wan", device]);
        run(cmd, "")
    };
    let recorded = |device: &str| run_dir.join(format!("netifd.{device}")).exists();

    let out = setup("dhcp 'netifd'", "eth9");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no enabled group has wan_device 'eth9'"), "{}", text(&out.stderr));
    assert!(!recorded("eth9"));

    let out = setup("dhcp 'none'", "wan");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("group wan does not use dhcp 'netifd'"), "{}", text(&out.stderr));
    assert!(!recorded("wan"));

    // The right group: recorded, then the daemon is asked (none runs here).
    let out = setup("dhcp 'netifd'", "wan");
    assert!(recorded("wan"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(run_dir.join("netifd.wan")).unwrap(), "wan\n");
}

fn proc_is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z')))
}

/// The rpcd plugin as rpcd runs it: `PLUGIN list` or `PLUGIN call METHOD`
/// with the arguments on stdin. Returns stdout parsed as ONE JSON value.
fn plugin(args: &[&str], stdin: &str, socket: &Path) -> Value {
    let p = repo("files/usr/libexec/rpcd/vwrp");
    let mut cmd = Command::new("busybox");
    cmd.arg("ash").arg(&p).args(args).env("VWRP_BIN", vwrp_bin()).env("VWRP_SOCKET", socket);
    let out = run(cmd, stdin);
    let s = text(&out.stdout);
    assert_eq!(s.lines().count(), 1, "plugin {args:?}: not one line: {s:?} {}", text(&out.stderr));
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("plugin {args:?}: {e}: {s:?}"))
}

fn is_error(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.len() == 1) && v["error"].as_str().is_some_and(|e| !e.is_empty())
}

#[test]
fn rpcd_plugin_speaks_the_exec_protocol_without_a_daemon() {
    let none = Path::new("/nonexistent/vwrp.sock");
    let l = plugin(&["list"], "", none);
    let methods = l.as_object().unwrap();
    for m in ["status", "step_up", "step_down", "set_priority", "tracker", "genkey"] {
        assert!(methods[m].is_object(), "{m} missing from {l}");
    }
    assert!(
        l["set_priority"]["priority"].is_number()
            && l["tracker"]["up"].is_boolean()
            && l["step_up"]["group"].is_string()
            && l["genkey"]["id"].is_number()
    );
    let e = plugin(&["call", "status"], &format!("{{{SESSION}}}"), none);
    assert!(is_error(&e) && e["error"].as_str().unwrap().contains("is the daemon running"), "{e}");
    for (m, input) in [
        ("set_priority", r#"{"priority":255}"#.to_string()),
        ("set_priority", format!(r#"{{"priority":0,{SESSION}}}"#)),
        ("set_priority", "{}".into()),
        ("tracker", r#"{"name":"x"}"#.into()),
        ("status", "not json".into()),
        ("status", "[]".into()),
        ("reboot", "{}".into()),
    ] {
        let v = plugin(&["call", m], &input, none);
        assert!(is_error(&v), "{m} {input}: {v}");
    }
    assert!(is_error(&plugin(&["call"], "", none)));
    assert!(is_error(&plugin(&[], "", none)));
}

#[test]
fn rpcd_plugin_makes_keys_the_config_takes_without_a_daemon() {
    let none = Path::new("/nonexistent/vwrp.sock");
    let k = plugin(&["call", "genkey"], &format!(r#"{{"id":4,{SESSION}}}"#), none);
    let key = k["key"].as_str().unwrap_or_else(|| panic!("no key: {k}")).to_string();
    assert!(key.starts_with("4:") && key.len() == 2 + 64, "{key}");
    assert_ne!(plugin(&["call", "genkey"], "", none)["key"].as_str(), Some(key.as_str()), "a fresh key every time");
    assert!(is_error(&plugin(&["call", "genkey"], r#"{"id":256}"#, none)));
    let mut cmd = Command::new(vwrp_bin());
    cmd.arg("genkey");
    let cli = run(cmd, "");
    assert!(cli.status.success() && text(&cli.stdout).trim().starts_with("1:"), "{}", text(&cli.stderr));

    let dir = TempDir::new("openwrt-genkey");
    let conf = dir.join("vwrp");
    let shipped = std::fs::read_to_string(repo("files/etc/config/vwrp")).unwrap();
    let keyed = shipped
        .replace("option enabled '0'", "option enabled '1'")
        .replace("#list key '1:change-this-secret'", &format!("list key '{key}'"));
    assert!(keyed.contains(&key), "the shipped file has a commented key line");
    write(&conf, &keyed, 0o644);
    let mut cmd = Command::new(vwrp_bin());
    cmd.arg("check-config").arg(&conf);
    let out = run(cmd, "");
    assert!(out.status.success(), "check-config refuses a generated key: {}", text(&out.stderr));
}

#[test]
fn rpcd_plugin_against_a_running_daemon() {
    let c = Cluster::start(&prio(&[200]), 100);
    assert_eq!(c.wait_one_active(SECS(15)), 1);
    c.wait_lease(1, SECS(20));
    let sock = c.socket(1);
    let call = |m: &str, args: &str| plugin(&["call", m], args, &sock);

    let st = call("status", &format!("{{{SESSION}}}"));
    let g = &st["groups"][0];
    assert_eq!(g["name"], "wan", "{st}");
    assert_eq!(g["state"], "active");
    assert_eq!(g["router_id"], "0x1");
    assert_eq!(g["priority"], 200);
    assert!(g["effective_priority"].is_number() && g["configured_priority"].is_number());
    assert!(g["peers"].is_array());
    assert_eq!(g["lease"]["address"], WAN_ADDR);
    assert_eq!(g["lease"]["gateway"], ISP_ADDR);
    assert!(g["lease"]["dns"].is_array());
    assert!(g["lease"]["seconds_left"].as_u64().is_some_and(|s| s > 0));
    assert!(g["trackers"].is_array());
    assert!(g["counters"]["tx"].as_u64().is_some_and(|t| t > 0));
    let t = &g["transitions"][0];
    assert_eq!(t["to"], "active");
    assert!(t["reason"].as_str().is_some_and(|r| !r.is_empty()), "{t}");

    assert_eq!(call("set_priority", &format!(r#"{{"priority":150,{SESSION}}}"#)), json!({"ok": true}));
    assert_eq!(call("status", "{}")["groups"][0]["priority"], 150);
    assert_eq!(call("set_priority", r#"{"priority":"120","group":"wan"}"#), json!({"ok": true}));
    assert_eq!(call("status", "")["groups"][0]["priority"], 120);
    for bad in [r#"{"priority":0}"#, r#"{"priority":255}"#, r#"{"priority":"high"}"#] {
        assert!(is_error(&call("set_priority", bad)), "{bad}");
    }
    assert_eq!(call("status", "")["groups"][0]["priority"], 120, "a refused priority changed something");
    assert!(is_error(&call("set_priority", r#"{"priority":100,"group":"lan"}"#)));
    let e = call("tracker", r#"{"name":"nope","up":false}"#);
    assert!(is_error(&e) && e["error"].as_str().unwrap().contains("nope"), "{e}");
    for m in ["step_up", "step_down"] {
        let v = call(m, &format!("{{{SESSION}}}"));
        assert!(v == json!({"ok": true}) || is_error(&v), "{m}: {v}");
    }
}

/// A control socket that records what it is asked and answers `{"ok":true}`
/// (or never, when `mute`): the daemon's side of the DHCP hooks.
struct FakeDaemon {
    listener: UnixListener,
}

impl FakeDaemon {
    fn new(path: &Path) -> FakeDaemon {
        let listener = UnixListener::bind(path).unwrap();
        listener.set_nonblocking(true).unwrap();
        FakeDaemon { listener }
    }

    /// The request of one waiting client, if any came.
    fn take(&self, mute: bool) -> Option<Value> {
        let (s, _) = self.listener.accept().ok()?;
        s.set_nonblocking(false).unwrap();
        let mut line = String::new();
        BufReader::new(&s).read_line(&mut line).unwrap();
        if !mute {
            (&s).write_all(b"{\"ok\":true}\n").unwrap();
        }
        serde_json::from_str(&line).ok()
    }
}

/// Runs every hook in `dir` the way /lib/netifd/dhcp.script and
/// dhcpv6.script do: sourced, each in a subshell, with the script's
/// arguments. Returns how long the DHCP client would have waited.
fn run_hooks(dir: &str, args: &[&str], env: &[(&str, &str)]) -> Duration {
    let t = Instant::now();
    let out = ash(
        &format!("for f in {}/*; do [ -f \"$f\" ] && (. \"$f\" \"$@\"); done; exit 0", repo(dir).display()),
        args,
        env,
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    t.elapsed()
}

#[test]
fn dhcp_hooks_pass_bound_renew_and_update_events_and_never_hold_the_client_up() {
    let tmp = TempDir::new("openwrt-hooks");
    let sock = tmp.join("vwrp.sock");
    let sock_s = sock.to_str().unwrap().to_string();
    let daemon = FakeDaemon::new(&sock);
    let v4 = [
        ("VWRP_BIN", vwrp_bin()),
        ("VWRP_SOCKET", sock_s.as_str()),
        ("interface", "wan"),
        ("INTERFACE", "wan"),
        ("ip", "203.0.113.10"),
        ("mask", "24"),
        ("router", "203.0.113.1"),
        ("dns", "203.0.113.1 198.51.100.53"),
        ("serverid", "203.0.113.1"),
        ("lease", "600"),
    ];
    let answered = |dir: &str, args: &[&str], env: &[(&str, &str)], want: &dyn Fn(&Value) -> bool| {
        let waited = std::thread::scope(|s| {
            let h = s.spawn(|| run_hooks(dir, args, env));
            let mut got = None;
            let end = Instant::now() + SECS(5);
            while got.is_none() && Instant::now() < end {
                got = daemon.take(false);
                std::thread::sleep(Duration::from_millis(2));
            }
            let waited = h.join().unwrap();
            let got = got.unwrap_or_else(|| panic!("{dir} {args:?}: no request"));
            assert!(want(&got), "{dir} {args:?}: {got}");
            waited
        });
        assert!(waited < SECS(1), "{dir} {args:?} held the client up for {waited:?}");
    };
    let has = |v: &Value, k: &str, val: &str| v["env"].as_array().unwrap().iter().any(|p| p[0] == k && p[1] == val);
    for event in ["bound", "renew"] {
        answered("files/etc/udhcpc.user.d", &[event], &v4, &|v| {
            v["cmd"] == "lease"
                && v["device"] == "wan"
                && has(v, "ip", "203.0.113.10")
                && has(v, "dns", "203.0.113.1 198.51.100.53")
                && has(v, "lease", "600")
        });
    }
    let v6 = [
        ("VWRP_BIN", vwrp_bin()),
        ("VWRP_SOCKET", sock_s.as_str()),
        ("INTERFACE", "wan6"),
        ("ADDRESSES", "2001:db8::10/128,3600,7200,1800,2880"),
        ("PREFIXES", "2001:db8:1::/56,3600,7200,1800,2880"),
        ("RDNSS", "2001:db8::53"),
        ("RA_ROUTES", "::/0,fe80::1,1800,1024"),
        ("SERVER", "fe80::2"),
    ];
    for event in ["bound", "updated", "rebound", "ra-updated"] {
        answered("files/etc/odhcp6c.user.d", &["wan", event], &v6, &|v| {
            v["cmd"] == "lease6"
                && v["device"] == "wan"
                && has(v, "ADDRESSES", "2001:db8::10/128,3600,7200,1800,2880")
                && has(v, "RA_ROUTES", "::/0,fe80::1,1800,1024")
        });
    }
    // Events that must not disturb the lease in use.
    for ev in ["deconfig", "leasefail", "nak"] {
        run_hooks("files/etc/udhcpc.user.d", &[ev], &v4);
    }
    for ev in ["started", "unbound", "stopped"] {
        run_hooks("files/etc/odhcp6c.user.d", &["wan", ev], &v6);
    }
    assert!(daemon.take(false).is_none(), "a hook passed an event it should ignore");
    // A daemon that accepts and never answers, and no daemon at all.
    for (dir, args, env) in [
        ("files/etc/udhcpc.user.d", &["bound"][..], &v4[..]),
        ("files/etc/odhcp6c.user.d", &["wan", "bound"][..], &v6[..]),
    ] {
        let waited = std::thread::scope(|s| {
            let h = s.spawn(|| run_hooks(dir, args, env));
            while !h.is_finished() {
                let _ = daemon.take(true);
                std::thread::sleep(Duration::from_millis(2));
            }
            h.join().unwrap()
        });
        assert!(waited < SECS(1), "{dir}: a stuck daemon held the client up for {waited:?}");
        let gone: Vec<(&str, &str)> =
            env.iter().map(|&(k, v)| if k == "VWRP_SOCKET" { (k, "/nonexistent/vwrp.sock") } else { (k, v) }).collect();
        let waited = run_hooks(dir, args, &gone);
        assert!(waited < SECS(1), "{dir}: no daemon, yet waited {waited:?}");
    }
}

#[test]
fn netifd_proto_handler_declares_no_task_and_a_renew_handler() {
    let p = repo("files/lib/netifd/proto/vwrp.sh");
    let out = ash(
        &format!("INCLUDE_ONLY=1; . {}; proto_vwrp_init_config; echo \"$no_proto_task $renew_handler\"", p.display()),
        &[],
        &[],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "1 1\n");
    let script = std::fs::read_to_string(&p).unwrap();
    assert!(script.contains("\tinit_proto \"$@\"\n") && script.contains("add_protocol vwrp\n"));
}

/// One router's stand-in environment for the netifd hand-off.
struct NetifdRouter {
    ubus_log: PathBuf,
    vwrp: PathBuf,
}

impl NetifdRouter {
    fn calls(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(&self.ubus_log)
            .unwrap_or_default()
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect()
    }

    /// notify_proto messages netifd got, in order.
    fn notified(&self) -> Vec<Value> {
        self.calls()
            .iter()
            .filter(|c| c.len() == 4 && c[0] == "call" && c[1] == "network.interface" && c[2] == "notify_proto")
            .map(|c| serde_json::from_str(&c[3]).unwrap())
            .collect()
    }

    /// States announced as ubus event vwrp.state, in order.
    fn events(&self) -> Vec<Value> {
        self.calls()
            .iter()
            .filter(|c| c.len() == 3 && c[0] == "send" && c[1] == "vwrp.state")
            .map(|c| serde_json::from_str(&c[2]).unwrap())
            .collect()
    }

    /// netifd running the handler: `proto_vwrp_setup wan wan`.
    fn setup(&self) {
        let p = repo("files/lib/netifd/proto/vwrp.sh");
        let vwrp = self.vwrp.display().to_string();
        let out = ash(
            &format!("INCLUDE_ONLY=1; . {}; proto_vwrp_setup wan wan", p.display()),
            &[],
            &[("VWRP_BIN", &vwrp)],
            "",
        );
        assert!(out.status.success(), "proto_vwrp_setup: {}", text(&out.stderr));
    }
}

fn has_wan_addr(c: &Cluster, n: usize) -> bool {
    let out = c.bed.exec(&format!("r{n}"), ["ip", "-4", "addr", "show", "dev", "wan"]);
    text(&out.stdout).contains(&format!("inet {WAN_ADDR}/"))
}

fn is_up(m: &Value) -> bool {
    m["link-up"] == true
}

fn up_is_the_lease(m: &Value) -> bool {
    m["action"] == 0
        && m["interface"] == "wan"
        && m["keep"] == false
        && m["ipaddr"] == json!([{"ipaddr": WAN_ADDR, "mask": "24"}])
        && m["routes"].as_array().is_some_and(|r| {
            r.iter().any(|r| r["target"] == "0.0.0.0" && r["netmask"] == "0" && r["gateway"] == ISP_ADDR)
        })
        && m["data"]["leasetime"].as_u64().is_some_and(|t| t > 0)
}

#[test]
fn netifd_hand_off_follows_the_active_role() {
    let stand_ins = TempDir::new("openwrt-ubus");
    let bin = stand_ins.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(repo("tests/openwrt/ubus"), bin.join("ubus")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let confs: Vec<RouterConf> = [200u8, 100]
        .iter()
        .enumerate()
        .map(|(i, &priority)| RouterConf {
            priority,
            extra: "\toption dhcp 'netifd'\n".into(),
            env: vec![
                ("PATH".into(), path.clone()),
                ("FAKE_UBUS_LOG".into(), stand_ins.join(format!("r{}-ubus.log", i + 1)).display().to_string()),
                ("FAKE_UBUS_IFACES".into(), "wan".into()),
            ],
            ..Default::default()
        })
        .collect();
    let mut c = Cluster::start(&confs, 100);
    let routers: Vec<NetifdRouter> = (1..=2)
        .map(|n| {
            let vwrp = stand_ins.join(format!("vwrp-r{n}"));
            // The router's binary, reading the router's config file.
            write(&vwrp, &format!("#!/bin/sh\nexec {} -c {} \"$@\"\n", vwrp_bin(), c.config_path(n).display()), 0o755);
            NetifdRouter { ubus_log: stand_ins.join(format!("r{n}-ubus.log")), vwrp }
        })
        .collect();
    assert_eq!(c.wait_one_active(SECS(15)), 1);
    c.wait_lease(1, SECS(20));
    // The active's address is on its WAN before netifd knows of it:
    // vwrp configured it.
    assert!(has_wan_addr(&c, 1));
    assert!(routers[0].notified().is_empty(), "pushed before netifd named its interface");
    let ev = routers[0].events();
    assert!(ev.iter().any(|e| e["state"] == "active" && e["group"] == "wan" && e["router_id"] == "0x1"), "{ev:?}");
    assert!(routers[1].events().iter().any(|e| e["state"] == "standby"), "{:?}", routers[1].events());

    // netifd sets up `proto vwrp` on both: the active hands it the lease,
    // the standby keeps the interface pending.
    for r in &routers {
        r.setup();
    }
    for n in 1..=2 {
        let f = std::fs::read_to_string(c.dir().join(format!("r{n}/netifd.wan"))).unwrap();
        assert_eq!(f, "wan\n");
    }
    assert!(
        poll_until(SECS(5), || routers[0].notified().last().is_some_and(up_is_the_lease)),
        "{:?}",
        routers[0].notified()
    );
    assert!(
        poll_until(SECS(5), || routers[1]
            .notified()
            .last()
            .is_some_and(|m| m == &json!({"action":0,"link-up":false,"keep":false,"interface":"wan"}))),
        "{:?}",
        routers[1].notified()
    );

    // The odhcp6c hook on the active: its DHCPv6 state reaches the standby.
    let v6 = [
        ("VWRP_BIN", routers[0].vwrp.to_str().unwrap()),
        ("ADDRESSES", "2001:db8::10/128,3600,7200,1800,2880"),
        ("RDNSS", "2001:db8::53"),
        ("RA_ROUTES", "::/0,fe80::1,1800,1024"),
    ];
    run_hooks("files/etc/odhcp6c.user.d", &["wan", "bound"], &v6);
    let v6_addr =
        |n: usize| c.status(n).and_then(|s| s["lease6"]["addresses"][0]["address"].as_str().map(str::to_string));
    assert_eq!(v6_addr(1).as_deref(), Some("2001:db8::10"));
    assert!(
        poll_until(SECS(5), || v6_addr(2).as_deref() == Some("2001:db8::10")),
        "the standby did not learn the DHCPv6 state"
    );

    // Hard failover: r2 configures the address itself, then hands it to netifd.
    let before = routers[1].calls().len();
    let told = routers[0].notified().len();
    let d1 = c.daemon(1);
    let killed = Instant::now();
    c.bed.kill(d1);
    c.daemons[0] = None;
    // r1's netifd learns at once that its WAN is down, from the guard the
    // dead daemon left (procd would respawn it only 5 s later), well
    // within a dead interval (300 ms).
    assert!(
        poll_until(SECS(2), || routers[0].notified().len() > told
            && routers[0].notified().last().is_some_and(|m| !is_up(m))),
        "r1's netifd still sees the WAN up: {:?}",
        routers[0].notified()
    );
    eprintln!("netifd told after the SIGKILL: {} ms", killed.elapsed().as_millis());
    assert!(poll_until(SECS(10), || c.state(2) == "active"), "{}", c.logs());
    assert!(
        poll_until(SECS(5), || routers[1].notified().last().is_some_and(up_is_the_lease)),
        "{:?}",
        routers[1].notified()
    );
    assert!(has_wan_addr(&c, 2), "r2 did not configure the address itself");
    let after: Vec<Vec<String>> = routers[1].calls()[before..].to_vec();
    let up_at = after.iter().position(|c| {
        c.len() == 4 && c[2] == "notify_proto" && serde_json::from_str::<Value>(&c[3]).is_ok_and(|m| is_up(&m))
    });
    let active_at = after.iter().position(|c| c.len() == 3 && c[0] == "send" && c[2].contains("\"state\":\"active\""));
    assert!(
        up_at.is_some() && active_at.is_some() && up_at < active_at,
        "netifd must own the lease before the hooks run: {after:?}"
    );

    // A restarted daemon still knows the interface (tmpfs state file):
    // r1 comes back as a standby and takes the lease back from netifd.
    let pushes = routers[0].notified().len();
    c.start_daemon(1);
    c.wait_socket(1);
    assert!(poll_until(SECS(10), || c.state(1) == "standby"), "{}", c.logs());
    assert!(
        poll_until(SECS(5), || routers[0].notified().len() > pushes
            && routers[0].notified().last().is_some_and(|m| !is_up(m))),
        "{:?}",
        routers[0].notified()
    );

    // `ifdown wan` on the active (r2), as real netifd does it: the proto
    // handler's teardown (nothing), the address and routes removed, and
    // the device, which no other interface claims, set down. vwrp sees
    // the WAN link down and hands over: r1 takes the WAN, r2 stands by.
    c.bed.exec_ok("r2", ["ip", "addr", "flush", "dev", "wan"]);
    c.bed.exec_ok("r2", ["ip", "link", "set", "wan", "down"]);
    assert!(poll_until(SECS(5), || c.state(1) == "active" && c.state(2) != "active"), "{}", c.logs());
    assert!(poll_until(SECS(5), || has_wan_addr(&c, 1)), "r1 took over without the address");
    // `ifup wan`: the device up, the handler's setup; r2 stays a standby
    // (no preemption) and netifd keeps its interface pending.
    let pushes = routers[1].notified().len();
    c.bed.exec_ok("r2", ["ip", "link", "set", "wan", "up"]);
    routers[1].setup();
    assert!(
        poll_until(SECS(5), || routers[1].notified().len() > pushes),
        "no state for r2's netifd after ifup: {:?}",
        routers[1].notified()
    );
    assert!(!is_up(routers[1].notified().last().unwrap()), "{:?}", routers[1].notified());
    assert_eq!(c.state(2), "standby");
    assert_eq!(c.state(1), "active");
}

/// `tar -tv` of a tar file (gzip'd or not): (mode string, owner, mtime, name).
fn tar_list(file: &Path) -> Vec<(String, String, String, String)> {
    let mut cmd = Command::new("tar");
    cmd.args(["--numeric-owner", "--full-time", "-tvzf"]).arg(file).env("TZ", "UTC");
    let out = run(cmd, "");
    assert!(out.status.success(), "tar -tvzf {}: {}", file.display(), text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_string(), f[1].to_string(), format!("{} {}", f[3], f[4]), f[5..].join(" "))
        })
        .collect()
}

fn mode_bits(s: &str) -> u32 {
    s.chars().skip(1).fold(0, |m, c| (m << 1) | u32::from(c != '-'))
}

fn build_ipk(out: &Path) -> PathBuf {
    let mut cmd = Command::new(repo("scripts/ipk.sh"));
    cmd.args(["x86_64", vwrp_bin()]).arg(out).env("SOURCE_DATE_EPOCH", "1700000000");
    let o = run(cmd, "");
    assert!(o.status.success(), "ipk.sh: {}", text(&o.stderr));
    PathBuf::from(text(&o.stdout).trim())
}

#[test]
fn ipk_is_an_opkg_package_whose_contents_match_files() {
    let tmp = TempDir::new("openwrt-ipk");
    let ipk = build_ipk(&tmp.join("a"));
    assert_eq!(ipk.file_name().unwrap(), "vwrp_0.1.0-r1_x86_64.ipk");
    let bytes = std::fs::read(&ipk).unwrap();
    assert_eq!(bytes[..2], [0x1f, 0x8b], "the outer container must be gzip'd tar (opkg cannot read ar)");
    // Deterministic: the same inputs give the same bytes.
    assert_eq!(std::fs::read(build_ipk(&tmp.join("b"))).unwrap(), bytes);

    let outer = tar_list(&ipk);
    let names: Vec<&str> = outer.iter().map(|e| e.3.as_str()).collect();
    assert_eq!(names, ["./debian-binary", "./data.tar.gz", "./control.tar.gz"]);
    let x = tmp.join("x");
    std::fs::create_dir_all(&x).unwrap();
    let mut cmd = Command::new("tar");
    cmd.arg("-xzf").arg(&ipk).arg("-C").arg(&x);
    assert!(run(cmd, "").status.success());
    assert_eq!(std::fs::read_to_string(x.join("debian-binary")).unwrap(), "2.0\n");

    // control.tar.gz
    let control_list = tar_list(&x.join("control.tar.gz"));
    let cnames: Vec<&str> = control_list.iter().map(|e| e.3.as_str()).filter(|n| *n != "./").collect();
    assert_eq!(cnames, ["./conffiles", "./control", "./postinst", "./postinst-pkg", "./postrm", "./prerm"]);
    let cx = tmp.join("cx");
    std::fs::create_dir_all(&cx).unwrap();
    let mut cmd = Command::new("tar");
    cmd.arg("-xzf").arg(x.join("control.tar.gz")).arg("-C").arg(&cx);
    assert!(run(cmd, "").status.success());
    let control = std::fs::read_to_string(cx.join("control")).unwrap();
    let field = |k: &str| {
        control
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}: ")))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {k} in\n{control}"))
    };
    assert_eq!(field("Package"), "vwrp");
    assert_eq!(field("Version"), "0.1.0-r1");
    assert_eq!(field("Architecture"), "x86_64");
    assert_eq!(field("Depends"), "libc, kmod-nft-netdev, nftables");
    assert_eq!(field("License"), "GPL-2.0-only");
    assert_eq!(field("Section"), "net");
    for k in ["Source", "Maintainer", "Description"] {
        assert!(!field(k).is_empty());
    }
    let data_len = {
        let mut cmd = Command::new("gzip");
        cmd.arg("-dc").arg(x.join("data.tar.gz"));
        run(cmd, "").stdout.len()
    };
    assert_eq!(field("Installed-Size"), data_len.to_string(), "Installed-Size is the uncompressed data tar");
    assert_eq!(std::fs::read_to_string(cx.join("conffiles")).unwrap(), "/etc/config/vwrp\n");
    let postinst = std::fs::read_to_string(cx.join("postinst")).unwrap();
    assert!(
        postinst.starts_with("#!/bin/sh\n")
            && postinst.contains(". ${IPKG_INSTROOT}/lib/functions.sh\ndefault_postinst $0 $@\n"),
        "{postinst}"
    );
    assert!(postinst.contains("[ \"${IPKG_NO_SCRIPT}\" = \"1\" ] && exit 0"));
    let prerm = std::fs::read_to_string(cx.join("prerm")).unwrap();
    assert!(prerm.starts_with("#!/bin/sh\n") && prerm.contains("default_prerm $0 $@\n"), "{prerm}");
    for (mode, owner, _, name) in &control_list {
        let script_or_dir = ["./", "./postinst", "./postinst-pkg", "./postrm", "./prerm"].contains(&name.as_str());
        let want = if script_or_dir { 0o755 } else { 0o644 };
        assert_eq!((mode_bits(mode), owner.as_str()), (want, "0/0"), "{name}");
    }

    // data.tar.gz: files/ with OpenWrt's install modes, plus the binary.
    let data = tar_list(&x.join("data.tar.gz"));
    let dx = tmp.join("dx");
    std::fs::create_dir_all(&dx).unwrap();
    let mut cmd = Command::new("tar");
    cmd.arg("-xzf").arg(x.join("data.tar.gz")).arg("-C").arg(&dx);
    assert!(run(cmd, "").status.success());
    let mut want: Vec<String> = shipped_files().iter().map(|f| format!("./{f}")).collect();
    want.push("./usr/sbin/vwrp".into());
    want.sort();
    let got: Vec<String> = data.iter().filter(|e| e.0.starts_with('-')).map(|e| e.3.clone()).collect();
    assert_eq!(got, want);
    for (mode, owner, mtime, name) in &data {
        assert_eq!(owner, "0/0", "{name}");
        assert_eq!(mtime, "2023-11-14 22:13:20", "{name}");
        let rel = name.trim_start_matches("./");
        let want_mode = if mode.starts_with('d') || rel == "usr/sbin/vwrp" { 0o755 } else { install_mode(rel) };
        assert_eq!(mode_bits(mode), want_mode, "{name}");
        if mode.starts_with('-') {
            let src = if rel == "usr/sbin/vwrp" { PathBuf::from(vwrp_bin()) } else { repo(&format!("files/{rel}")) };
            assert!(
                std::fs::read(dx.join(rel)).unwrap() == std::fs::read(&src).unwrap(),
                "{name} differs from {}",
                src.display()
            );
        }
    }
    for (rel, mode) in [
        ("etc/config/vwrp", 0o600),
        ("etc/init.d/vwrp", 0o755),
        ("usr/libexec/rpcd/vwrp", 0o755),
        ("lib/netifd/proto/vwrp.sh", 0o755),
        ("usr/share/rpcd/acl.d/vwrp.json", 0o644),
    ] {
        assert_eq!(install_mode(rel), mode, "{rel}");
    }
}

/// The .ipk's postrm, as opkg runs it after `opkg remove vwrp` (the
/// files gone, default_prerm's stop done): rpcd re-reads its plugins and
/// drops ubus object vwrp, and nothing stays under /var/run/vwrp or as an
/// empty /usr/share/vwrp. Not on an upgrade, and not in an image build.
/// In a mount namespace of its own, with tmpfs over /run and /usr/share,
/// and a `killall` stand-in that records what it was asked (no rpcd runs
/// on Debian).
#[test]
fn package_removal_leaves_no_ubus_object_no_empty_directory_and_no_run_files() {
    let tmp = TempDir::new("openwrt-postrm");
    let ipk = build_ipk(&tmp.join("a"));
    let x = tmp.join("x");
    std::fs::create_dir_all(&x).unwrap();
    let mut cmd = Command::new("tar");
    cmd.arg("-xzf").arg(&ipk).arg("-C").arg(&x);
    assert!(run(cmd, "").status.success());
    let mut cmd = Command::new("tar");
    cmd.arg("-xzf").arg(x.join("control.tar.gz")).arg("-C").arg(&x);
    assert!(run(cmd, "").status.success());
    let postrm = x.join("postrm");
    assert!(is_executable(&postrm), "no executable postrm in the .ipk");
    let log = tmp.join("killall.log");
    write(&tmp.join("bin/killall"), &format!("#!/bin/sh\necho \"$*\" >> '{}'\n", log.display()), 0o755);
    let remove = |env: &[(&str, &str)]| -> (String, String) {
        let _ = std::fs::remove_file(&log);
        let script = format!(
            "mount -t tmpfs vwrp /run && mount -t tmpfs vwrp /usr/share || exit 9
             mkdir -p /usr/share/vwrp /var/run/vwrp && : > /var/run/vwrp/netifd.wan || exit 9
             busybox ash '{}' remove || exit 8
             for d in /usr/share/vwrp /var/run/vwrp; do [ -e $d ] && echo $d; done; true",
            postrm.display()
        );
        let mut c = Command::new("unshare");
        c.args(["--mount", "--propagation", "private", "busybox", "ash", "-c", &script]);
        c.env("PATH", format!("{}:{}", tmp.join("bin").display(), std::env::var("PATH").unwrap_or_default()));
        c.envs(env.iter().copied());
        let out = run(c, "");
        assert!(out.status.success(), "{:?}: {}{}", out.status, text(&out.stdout), text(&out.stderr));
        (text(&out.stdout), std::fs::read_to_string(&log).unwrap_or_default())
    };
    let (left, killall) = remove(&[]);
    assert_eq!(left, "", "left behind");
    assert_eq!(killall, "-HUP rpcd\n", "rpcd was not told");
    for env in [("PKG_UPGRADE", "1"), ("IPKG_INSTROOT", "/builder/root")] {
        let (left, killall) = remove(&[env]);
        assert_eq!(left, "/usr/share/vwrp\n/var/run/vwrp\n", "{env:?}");
        assert_eq!(killall, "", "{env:?}");
    }
}
