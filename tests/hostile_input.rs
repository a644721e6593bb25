//! Hostile input to the binary users install (VWRP_BIN, the router build
//! under `make test`): the configuration corpus in tests/config-corpus/,
//! files that are no configuration at all, and requests the CLI and the
//! rpcd plugin must refuse with a clear message.
//!
//! Each `NAME.uci` of the corpus has `NAME.expect` beside it: the first
//! line `vwrp check-config` prints (its first warning or error on stderr,
//! else its verdict on stdout). A file refused there is refused by the
//! daemon with the same line. The daemon runs in network and mount
//! namespaces of its own (`unshare -n -m`), so even a file accepted by
//! mistake reaches nothing of this machine; `# netns: COMMAND` lines of a
//! file set them up first (devices the file names, a tmpfs), and `NAME.daemon-expect` holds what
//! the daemon says when it refuses what check-config cannot see. Needs
//! root.

mod support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{TempDir, vwrp_bin};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const CORPUS: &str = "tests/config-corpus";

fn first_line(text: &[u8]) -> String {
    String::from_utf8_lossy(text).lines().next().unwrap_or("").to_string()
}

/// What `vwrp check-config FILE` said first, and its exit status.
fn check_config(file: &str) -> (String, i32) {
    let out = Command::new(vwrp_bin()).args(["check-config", file]).current_dir(ROOT).output().unwrap();
    let line = if out.stderr.is_empty() { first_line(&out.stdout) } else { first_line(&out.stderr) };
    (line, out.status.code().unwrap_or(-1))
}

/// `vwrp daemon -c FILE` in network and mount namespaces of its own, after the file's
/// `# netns:` commands; its `vwrp: ` line and exit status. It is given 5 s
/// to refuse, then killed.
///
/// A command may mount over the path of the binary or of the tree (a tmpfs
/// on /tmp, with the tree cloned under /tmp): the binary is opened before
/// the commands run and started from that descriptor, and FILE is named
/// relative to the working directory, the tree, which stays reachable
/// whatever is mounted over its path.
fn daemon(file: &str) -> (String, i32) {
    let text = std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap();
    let setup: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# netns: ")).collect();
    let script = format!(
        "exec 3<\"$0\"; {} exec timeout -s KILL 5 /proc/self/fd/3 daemon -c \"$1\"",
        setup.iter().map(|c| format!("{c};")).collect::<String>()
    );
    let out = Command::new("unshare")
        .args(["-n", "-m", "sh", "-c", &script, vwrp_bin(), file])
        .current_dir(ROOT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.starts_with("vwrp: ")).unwrap_or("").to_string();
    (line, out.status.code().unwrap_or(-1))
}

#[test]
fn the_corpus_gets_its_expected_first_lines_from_check_config_and_the_daemon() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join(CORPUS))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "uci"))
        .collect();
    files.sort();
    assert!(files.len() >= 14, "the corpus is gone: {files:?}");
    let mut wrong = Vec::new();
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let file = format!("{CORPUS}/{name}.uci");
        let expect = std::fs::read_to_string(path.with_extension("expect"))
            .unwrap_or_else(|e| panic!("{name}.expect: {e}"))
            .trim_end_matches('\n')
            .to_string();
        let (line, code) = check_config(&file);
        let refused = expect.starts_with("vwrp: ") && !expect.contains(": warning: ");
        if line != expect || code != i32::from(refused) {
            wrong.push(format!("{name}: check-config exit {code}\n  got:  {line}\n  want: {expect}"));
        }
        // The daemon agrees with check-config, or says what only it can see.
        let daemon_expect = std::fs::read_to_string(path.with_extension("daemon-expect")).ok();
        if refused || daemon_expect.is_some() {
            let want = daemon_expect.map_or(expect.clone(), |d| d.trim_end_matches('\n').to_string());
            let (line, code) = daemon(&file);
            if line != want || code != 1 {
                wrong.push(format!("{name}: daemon exit {code}\n  got:  {line}\n  want: {want}"));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// Not a configuration at all: refused at once, never read to the end.
#[test]
fn files_that_are_no_configuration_are_refused_at_once() {
    let s = TempDir::new("hostile-kinds");
    let fifo = s.join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let big = s.join("big");
    std::fs::write(&big, vec![b'#'; 1024 * 1024 + 1]).unwrap();
    let dir = s.path().display().to_string();
    for (file, want) in [
        ("/dev/zero".to_string(), "vwrp: /dev/zero: is a device, not a regular file".to_string()),
        (fifo.display().to_string(), format!("vwrp: {}: is a FIFO, not a regular file", fifo.display())),
        (dir.clone(), format!("vwrp: {dir}: is a directory, not a regular file")),
        (
            big.display().to_string(),
            format!("vwrp: {}: larger than 1048576 bytes (1 MiB), the most a configuration file may be", big.display()),
        ),
    ] {
        // A FIFO with no writer, or /dev/zero, would hold the old reader
        // forever: bounded here, so a regression fails instead of hanging.
        let mut child = Command::new(vwrp_bin())
            .args(["check-config", &file])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("check-config {file} did not end");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out: Output = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{file}");
        assert_eq!(first_line(&out.stderr), want);
    }
}

/// rpcd hands a request over 64 KiB to the plugin: it says so, rather than
/// cut it into bad JSON.
#[test]
fn rpcd_refuses_a_request_too_long() {
    let mut child = Command::new(vwrp_bin())
        .args(["-s", "/nonexistent/vwrp.sock", "rpcd", "call", "step_up"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::from(r#"{"group":""#);
    input.push_str(&"x".repeat(70_000));
    input.push_str("\"}");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), r#"{"error":"request too long: more than 65536 bytes"}"#);
}

/// The control socket is root's: a user is told so, not asked whether
/// the daemon runs.
#[test]
fn the_cli_says_permission_denied_without_asking_whether_the_daemon_runs() {
    let s = TempDir::new("hostile-perm");
    let sock = s.join("vwrp.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600)).unwrap();
    let sock = sock.display().to_string();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", vwrp_bin(), "-s", &sock, "status"])
        .output()
        .unwrap();
    let e = first_line(&out.stderr);
    assert_eq!(e, format!("vwrp: {sock}: Permission denied (os error 13) (the control socket is root's only)"));
    // Nobody there: then the question is the right one.
    let gone = s.join("none.sock").display().to_string();
    let out = Command::new(vwrp_bin()).args(["-s", &gone, "status"]).output().unwrap();
    assert_eq!(
        first_line(&out.stderr),
        format!("vwrp: {gone}: No such file or directory (os error 2) (is the daemon running?)")
    );
}

/// A group without a key runs, and the daemon's start-up log says what
/// that means, as check-config does (the corpus' no-key.uci).
#[test]
fn the_daemon_warns_at_start_up_about_a_group_without_a_key() {
    let s = TempDir::new("hostile-nokey");
    let d = s.path().display();
    let conf = s.join("vwrp.conf");
    std::fs::write(
        &conf,
        format!(
            "config globals\n\toption control_socket '{d}/vwrp.sock'\n\toption state_dir '{d}'\n\
             \toption hook_dir '{d}/hooks'\n\
             config group 'wan'\n\toption wan_device 'wan'\n\toption shared_mac '02:00:00:00:00:01'\n\
             \toption dhcp 'none'\n\toption resolv_file '{d}/resolv.conf'\n"
        ),
    )
    .unwrap();
    // SIGTERM after 2 s: the daemon has started by then, and exits.
    let script = "ip link add wan type veth peer name wanp; ip link add br-lan type bridge; \
                  exec timeout -s TERM 2 \"$0\" daemon -c \"$1\"";
    let conf = conf.display().to_string();
    let out = Command::new("unshare").args(["-n", "-m", "sh", "-c", script, vwrp_bin(), &conf]).output().unwrap();
    // Info goes to stdout, warnings to stderr (procd gives each its priority).
    let (info, warn) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(info.contains("group wan: started on WAN wan"), "the daemon did not start:\n{info}{warn}");
    let log = warn;
    assert!(
        log.contains(
            "group 'wan' has no key: hellos are not authenticated, so anyone on its control links can take the WAN"
        ),
        "no warning in the start-up log:\n{log}"
    );
}
