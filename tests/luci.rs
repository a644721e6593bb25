//! luci-app-vwrp in a real browser: Debian's chromium, headless, driven by
//! playwright-core (tests/luci/browser.mjs), against tests/luci/harness.py,
//! which serves the app's views on a small stand-in for LuCI's runtime
//! (faithful to luci-base for logins and permissions: tests/luci/standin)
//! and answers their ubus calls with the REAL rpcd plugin
//! (files/usr/libexec/rpcd/vwrp, run as rpcd runs it) talking to a REAL
//! daemon. The bed has three routers: 1 and 2 share a key; 3 signs with
//! another key (a rotation half done) that 1 and 2 lack, while it accepts
//! theirs. Router 1's pages are served on 127.0.0.1, router 3's on
//! 127.0.0.2 (another host for the browser's cookies); router 4, alone in
//! a network namespace of its own and without a key, on 127.0.0.3.
//!
//! What a user would see is asserted: the role, the peers, the lease,
//! Step down and Step up changing the role, a Step up that cannot take
//! effect (router 3's: the active never hears it) with the daemon's
//! reason, the warning for a group without a key, the notice for control
//! links that carry no hellos (router 4's bridge given its WAN port at run
//! time, then without carrier; none while all are up), the Status › Overview
//! entry (with the same notice for the tie), a login that may only read (its
//! actions disabled, and a refused change explained in words), the
//! error shown once the daemon is stopped, and a settings form that covers
//! docs/CONFIG.md, picks devices from the router's own, makes a key on
//! the router, shows which routers use the same key, and saves a file the
//! daemon accepts. Screenshots: target/luci-*.png. Needs root, chromium
//! (`./scripts/deps.sh chromium`), node and npm.

mod e2e;
mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use e2e::{Cluster, RouterConf};
use nix::sys::signal::Signal;
use support::{TempDir, WAN_ADDR, vwrp_bin};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const CHROMIUM: &str = "/usr/bin/chromium";
/// The whole browser session, status and settings pages.
const BROWSER_BUDGET: Duration = Duration::from_secs(240);

/// A process this test started, killed (by its own pid) when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The options of each section type in docs/CONFIG.md's tables.
fn schema() -> serde_json::Value {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/CONFIG.md")).expect("docs/CONFIG.md");
    let mut out = serde_json::Map::new();
    let mut current: Option<&str> = None;
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            current = ["globals", "group", "tracker"].into_iter().find(|t| h.starts_with(&format!("`config {t}")));
            continue;
        }
        let (Some(section), Some(rest)) = (current, line.strip_prefix("| `")) else { continue };
        if let Some((name, _)) = rest.split_once("` |") {
            let list = out.entry(section).or_insert_with(|| serde_json::json!([]));
            list.as_array_mut().expect("array").push(name.into());
        }
    }
    for t in ["globals", "group", "tracker"] {
        assert!(
            out.get(t).and_then(|v| v.as_array()).is_some_and(|a| a.len() >= 5),
            "no {t} options found in docs/CONFIG.md"
        );
    }
    serde_json::Value::Object(out)
}

fn npm_ci(dir: &Path) {
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .output()
        .expect("npm (node and npm are needed for the browser test)");
    assert!(out.status.success(), "npm ci failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// The harness for one router: its UCI copy, control socket and netns.
fn start_harness(address: &str, uci_dir: &Path, socket: &Path, netns: &str) -> (Guard, u16) {
    let mut child = Command::new("python3")
        .arg(Path::new(ROOT).join("tests/luci/harness.py"))
        .arg("--address")
        .arg(address)
        .arg("--netns")
        .arg(netns)
        .arg("--app")
        .arg(Path::new(ROOT).join("luci-app-vwrp"))
        .arg("--plugin")
        .arg(Path::new(ROOT).join("files/usr/libexec/rpcd/vwrp"))
        .arg("--uci-dir")
        .arg(uci_dir)
        .arg("--env")
        .arg(format!("VWRP_BIN={}", vwrp_bin()))
        .arg("--env")
        .arg(format!("VWRP_SOCKET={}", socket.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 tests/luci/harness.py");
    let stdout = child.stdout.take().expect("harness stdout");
    let guard = Guard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("harness prints its port");
    let port = line
        .trim()
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("harness said {line:?}"));
    (guard, port)
}

#[test]
fn luci_pages_show_the_daemon_step_it_and_save_settings() {
    assert!(Path::new(CHROMIUM).exists(), "{CHROMIUM} is missing: run ./scripts/deps.sh chromium (make test does)");
    let dir = Path::new(ROOT).join("tests/luci");
    npm_ci(&dir);

    // Three routers, each with a link tracker on its control interface;
    // router 3 signs with key 3, which the others lack.
    let tracker = "config tracker 'lan_link'\n\toption group 'wan'\n\toption type 'link'\n\toption device 'lan'\n\
                   \toption interval '100ms'\n\toption rise '1'\n\toption weight '50'\n";
    let confs: Vec<RouterConf> = [(200u8, None), (150, None), (50, Some("3:the next key, not yet everywhere"))]
        .iter()
        .map(|&(priority, signing_key)| RouterConf {
            priority,
            signing_key,
            extra: tracker.to_string(),
            ..Default::default()
        })
        .collect();
    let mut c = Cluster::start(&confs, 100);
    assert_eq!(c.wait_one_active(Duration::from_secs(15)), 1, "r1 has the best priority");
    c.wait_lease(1, Duration::from_secs(20));

    // The settings page edits a copy of the shipped /etc/config/vwrp.
    let mut harnesses = Vec::new();
    let mut urls = Vec::new();
    for (n, address) in [(1, "127.0.0.1"), (3, "127.0.0.2")] {
        let uci_dir = c.dir().join(format!("luci-uci-r{n}"));
        std::fs::create_dir_all(&uci_dir).expect("uci dir");
        std::fs::copy(Path::new(ROOT).join("files/etc/config/vwrp"), uci_dir.join("vwrp")).expect("shipped config");
        let netns = c.bed.ns_name(&format!("r{n}"));
        let (harness, port) = start_harness(address, &uci_dir, &c.socket(n), &netns);
        harnesses.push(harness);
        urls.push(format!("http://{address}:{port}"));
    }
    let uci_file = c.dir().join("luci-uci-r1/vwrp");
    let (r4, r4_harness) = unkeyed_router(&c);
    harnesses.push(r4_harness.0);
    urls.push(format!("http://127.0.0.3:{}", r4_harness.1));

    let shots: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").to_path_buf();
    let mut node = Guard(
        Command::new("node")
            .arg(dir.join("browser.mjs"))
            .current_dir(&dir)
            .env("LUCI_URL", &urls[0])
            .env("LUCI_URL_R3", &urls[1])
            .env("LUCI_URL_R4", &urls[2])
            .env("SHOT_DIR", &shots)
            .env("LEASE_ADDR", WAN_ADDR)
            .env("UCI_FILE", &uci_file)
            .env("VWRP_BIN", vwrp_bin())
            .env("SCHEMA", schema().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node tests/luci/browser.mjs"),
    );
    let (tx, rx) = mpsc::channel();
    let stdout = node.0.stdout.take().expect("node stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let deadline = Instant::now() + BROWSER_BUDGET;
    let mut transcript = Vec::new();
    let mut stopped = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else { break };
        println!("browser: {line}");
        if line == "STOP-DAEMON" {
            // As `/etc/init.d/vwrp stop` does: SIGTERM, the daemon hands
            // over and exits.
            let d = c.daemon(1);
            c.bed.signal(d, Signal::SIGTERM);
            assert!(c.bed.wait(d, Duration::from_secs(10)).is_some(), "r1 did not stop");
            c.daemons[0] = None;
            stopped = true;
            let stdin = node.0.stdin.as_mut().expect("node stdin");
            stdin.write_all(b"stopped\n").and_then(|_| stdin.flush()).expect("tell the browser");
        } else if let Some(args) = line.strip_prefix("R4-IP ") {
            // Router 4's devices changed as an operator would (its control
            // bridge given the WAN port, taken out again, its LAN port
            // unplugged): `ip` in its own network namespace.
            r4_ip(&r4, args);
            let stdin = node.0.stdin.as_mut().expect("node stdin");
            stdin.write_all(b"done\n").and_then(|_| stdin.flush()).expect("tell the browser");
        }
        transcript.push(line);
    }
    if Instant::now() >= deadline {
        let _ = node.0.kill();
    }
    let status = node.0.wait().expect("node exit");
    let transcript = transcript.join("\n");
    assert!(
        status.success() && transcript.ends_with("browser test passed"),
        "browser test failed:\n{transcript}\n{}",
        c.logs()
    );
    assert!(stopped, "the browser never asked to stop the daemon");
    for shot in [
        "luci-status.png",
        "luci-overview.png",
        "luci-status-stepup.png",
        "luci-status-nokey.png",
        "luci-status-tied.png",
        "luci-overview-tied.png",
        "luci-status-readonly.png",
        "luci-status-stopped.png",
        "luci-settings.png",
        "luci-settings-keys.png",
    ] {
        let size = std::fs::metadata(shots.join(shot)).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "{shot}: {size} bytes");
        println!("screenshot: {}", shots.join(shot).display());
    }
}

/// `ip ARGS` (split at whitespace) in router 4's network namespace; panics
/// unless it succeeds.
fn r4_ip(r4: &Guard, args: &str) {
    let out = Command::new("nsenter")
        .arg("-t")
        .arg(r4.0.id().to_string())
        .arg("-n")
        .arg("ip")
        .args(args.split_whitespace())
        .output()
        .expect("nsenter");
    assert!(out.status.success(), "ip {args} in r4's namespace: {}", String::from_utf8_lossy(&out.stderr));
}

/// Router 4: a daemon whose group has no key, alone in a network namespace
/// of its own (its devices are veths and a bridge leading nowhere, so it
/// touches nothing of the bed: `wan`, and `br-lan` with port `lan`, whose
/// peer is up, so the control link has carrier), and its harness (devices
/// listed from r1's namespace: the status page is what is looked at).
fn unkeyed_router(c: &Cluster) -> (Guard, (Guard, u16)) {
    let d = c.dir().join("r4");
    std::fs::create_dir_all(&d).expect("r4 dir");
    let conf = d.join("vwrp.conf");
    std::fs::write(
        &conf,
        format!(
            "config globals\n\toption control_socket '{d}/vwrp.sock'\n\toption state_dir '{d}'\n\
             \toption hook_dir '{d}/hooks'\n\
             config group 'wan'\n\toption wan_device 'wan'\n\toption shared_mac '02:00:00:00:00:01'\n\
             \toption dhcp 'none'\n\toption resolv_file '{d}/resolv.conf'\n",
            d = d.display()
        ),
    )
    .expect("r4 config");
    let script = "ip link add wan type veth peer name wanp && ip link add br-lan type bridge && \
                  ip link add lan type veth peer name lanp && ip link set lan master br-lan && \
                  ip link set lanp up && ip link set lan up && ip link set br-lan up && \
                  exec \"$0\" daemon -c \"$1\"";
    let daemon = Guard(
        Command::new("unshare")
            .args(["-n", "sh", "-c", script, vwrp_bin()])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare -n vwrp daemon"),
    );
    let socket = d.join("vwrp.sock");
    assert!(support::poll_until(Duration::from_secs(10), || socket.exists()), "r4's daemon did not start");
    let uci_dir = c.dir().join("luci-uci-r4");
    std::fs::create_dir_all(&uci_dir).expect("uci dir");
    std::fs::copy(Path::new(ROOT).join("files/etc/config/vwrp"), uci_dir.join("vwrp")).expect("shipped config");
    let harness = start_harness("127.0.0.3", &uci_dir, &socket, &c.bed.ns_name("r1"));
    (daemon, harness)
}

fn tar(args: &[&str], dir: &Path) -> String {
    let out = Command::new("tar").args(args).current_dir(dir).output().expect("tar");
    assert!(out.status.success(), "tar {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn make_ipk_packs_the_app_for_opkg_as_arch_all() {
    let tmp = TempDir::new("luci-ipk");
    let out = Command::new(Path::new(ROOT).join("scripts/ipk-luci.sh"))
        .arg(tmp.path())
        .output()
        .expect("scripts/ipk-luci.sh");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ipk = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let name = ipk.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    // luci.mk gives the app its PKG_VERSION without the release.
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(name, format!("luci-app-vwrp_{version}_all.ipk"));

    // opkg reads a gzip'd tar, in this order.
    let members = tar(&["-tzf", ipk.to_str().unwrap()], tmp.path());
    assert_eq!(members.lines().collect::<Vec<_>>(), ["./debian-binary", "./data.tar.gz", "./control.tar.gz"]);
    tar(&["-xzf", ipk.to_str().unwrap()], tmp.path());
    assert_eq!(std::fs::read_to_string(tmp.join("debian-binary")).unwrap(), "2.0\n");

    let data = tar(&["-tzf", "data.tar.gz"], tmp.path());
    let app = Path::new(ROOT).join("luci-app-vwrp");
    for (installed, source) in [
        ("./www/luci-static/resources/view/vwrp/status.js", "htdocs/luci-static/resources/view/vwrp/status.js"),
        ("./www/luci-static/resources/view/vwrp/settings.js", "htdocs/luci-static/resources/view/vwrp/settings.js"),
        ("./www/luci-static/resources/vwrp/common.js", "htdocs/luci-static/resources/vwrp/common.js"),
        (
            "./www/luci-static/resources/view/status/include/35_vwrp.js",
            "htdocs/luci-static/resources/view/status/include/35_vwrp.js",
        ),
        ("./usr/share/luci/menu.d/luci-app-vwrp.json", "root/usr/share/luci/menu.d/luci-app-vwrp.json"),
        ("./usr/share/rpcd/acl.d/luci-app-vwrp.json", "root/usr/share/rpcd/acl.d/luci-app-vwrp.json"),
    ] {
        assert!(data.lines().any(|l| l == installed), "{installed} missing from the package:\n{data}");
        let packed = tar(&["-xzOf", "data.tar.gz", installed], tmp.path());
        assert_eq!(packed, std::fs::read_to_string(app.join(source)).unwrap(), "{installed} differs from {source}");
    }

    let control = tar(&["-xzOf", "control.tar.gz", "./control"], tmp.path());
    let field =
        |k: &str| control.lines().find_map(|l| l.strip_prefix(&format!("{k}: "))).unwrap_or_default().to_string();
    assert_eq!(field("Package"), "luci-app-vwrp");
    assert_eq!(field("Architecture"), "all");
    let depends = field("Depends");
    assert!(depends.split(", ").any(|d| d == "vwrp") && depends.split(", ").any(|d| d == "luci-base"), "{depends}");
    let unpacked =
        Command::new("sh").arg("-c").arg("gzip -dc data.tar.gz | wc -c").current_dir(tmp.path()).output().unwrap();
    assert_eq!(field("Installed-Size"), String::from_utf8_lossy(&unpacked.stdout).trim());
    let postinst = tar(&["-xzOf", "control.tar.gz", "./postinst-pkg"], tmp.path());
    assert!(postinst.contains("killall -HUP rpcd"), "rpcd must re-read the ACLs:\n{postinst}");
}

#[test]
fn acl_keeps_viewing_apart_from_changing() {
    let path = Path::new(ROOT).join("luci-app-vwrp/root/usr/share/rpcd/acl.d/luci-app-vwrp.json");
    let acl: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("ACL is JSON");
    let group = &acl["luci-app-vwrp"];
    assert_eq!(group["read"]["ubus"]["vwrp"], serde_json::json!(["status"]), "reading grants status only");
    assert_eq!(group["read"]["uci"], serde_json::json!(["vwrp"]));
    assert_eq!(
        group["write"]["ubus"]["vwrp"],
        serde_json::json!(["step_up", "step_down", "set_priority", "genkey"]),
        "changing grants the actions, and making a key"
    );
    assert_eq!(group["write"]["uci"], serde_json::json!(["vwrp"]));
    let menu = Path::new(ROOT).join("luci-app-vwrp/root/usr/share/luci/menu.d/luci-app-vwrp.json");
    let menu: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(menu).unwrap()).expect("menu is JSON");
    for (entry, view) in [("admin/status/vwrp", "vwrp/status"), ("admin/services/vwrp", "vwrp/settings")] {
        assert_eq!(menu[entry]["action"]["path"], view, "{entry}");
        assert_eq!(menu[entry]["depends"]["acl"], serde_json::json!(["luci-app-vwrp"]), "{entry}");
        let file = Path::new(ROOT).join(format!("luci-app-vwrp/htdocs/luci-static/resources/view/{view}.js"));
        assert!(file.exists(), "{} is missing", file.display());
    }
}
