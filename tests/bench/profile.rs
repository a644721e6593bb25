//! `make bench-profile`: where a hello's cost goes. On a vwrp bed and a
//! keepalived bed (3 routers each, both at once), for the active / master
//! and one standby / backup: CPU time, context switches and page faults
//! from `perf stat` (software counters: the VM has no hardware ones),
//! frames from the router's interface counters, then, in a second window
//! (strace slows what it traces, so never during the first), the system
//! calls from `strace -c`. Every figure is divided by the number of hello
//! intervals in its window. Not part of `make bench`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::contenders::{Contender, PRIORITIES, Vwrp};
use crate::keepalived::Keepalived;
use crate::procstat;

/// One traced daemon: its processes, the first its main one.
struct Subject {
    label: String,
    pids: Vec<u32>,
}

/// What one window measured of one subject.
#[derive(Default)]
struct Figures {
    task_clock_ms: f64,
    context_switches: f64,
    page_faults: f64,
    tx_frames: u64,
    rx_frames: u64,
    /// System call name -> calls, from strace.
    syscalls: BTreeMap<String, u64>,
    syscall_errors: u64,
}

/// Frames sent and received on every interface of the namespace `pid`
/// lives in, from /proc/PID/net/dev (loopback left out).
fn frames(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    let (mut tx, mut rx) = (0u64, 0u64);
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else { continue };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        // Receive: bytes packets ...; transmit starts at field 8.
        rx = rx.saturating_add(f.get(1).copied().unwrap_or(0));
        tx = tx.saturating_add(f.get(9).copied().unwrap_or(0));
    }
    (tx, rx)
}

fn pid_list(pids: &[u32]) -> String {
    pids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

fn perf(pids: &[u32], window: Duration) -> Child {
    Command::new("perf")
        .args(["stat", "-x", ";", "-e", "task-clock,context-switches,page-faults", "-p", &pid_list(pids), "--"])
        .args(["sleep", &window.as_secs().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("perf (apt-get install linux-perf)")
}

/// perf's CSV: `value;unit;event;...`.
fn read_perf(child: Child, f: &mut Figures) {
    let out = child.wait_with_output().expect("perf");
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        let cols: Vec<&str> = line.split(';').collect();
        let (Some(v), Some(event)) = (cols.first().and_then(|v| v.parse::<f64>().ok()), cols.get(2)) else {
            continue;
        };
        match *event {
            "task-clock" => f.task_clock_ms = v,
            "context-switches" => f.context_switches = v,
            "page-faults" => f.page_faults = v,
            _ => {}
        }
    }
}

fn strace(pids: &[u32], window: Duration, out: &std::path::Path) -> Child {
    let mut cmd = Command::new("timeout");
    cmd.args(["-s", "INT", &window.as_secs().to_string(), "strace", "-c", "-f", "-o"]).arg(out);
    for p in pids {
        cmd.args(["-p", &p.to_string()]);
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("strace (apt-get install strace)")
}

/// strace -c's table: `% time seconds usecs/call calls [errors] syscall`.
fn read_strace(path: &std::path::Path, f: &mut Figures) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 5 || cols[0].parse::<f64>().is_err() {
            continue;
        }
        let name = cols[cols.len() - 1].to_string();
        let calls: u64 = cols[3].parse().unwrap_or(0);
        if cols.len() == 6 {
            f.syscall_errors = f.syscall_errors.saturating_add(cols[4].parse().unwrap_or(0));
        }
        if name != "total" {
            f.syscalls.insert(name, calls);
        }
    }
}

/// Runs the profile at `hello_ms` over two windows of `window`; prints
/// and returns a markdown section.
pub fn run(hello_ms: u64, window: Duration) -> String {
    eprintln!("== profile: hello / advert_int {hello_ms} ms, two windows of {} s", window.as_secs());
    let v = Vwrp::start(hello_ms);
    let k = Keepalived::start(&PRIORITIES, hello_ms).unwrap_or_else(|e| panic!("{e}"));
    // keepalived's first election may still move the master for a while.
    std::thread::sleep(Duration::from_secs(10));
    let va = v.active(Duration::from_secs(5)).unwrap_or_else(|e| panic!("{e}"));
    let vs = (1..=PRIORITIES.len()).find(|&n| n != va).expect("a standby");
    let ka = k.active(Duration::from_secs(5)).unwrap_or_else(|e| panic!("{e}"));
    let ks = (1..=PRIORITIES.len()).find(|&n| n != ka).expect("a backup");
    let tree = |c: &dyn Contender, n: usize| procstat::tree(c.pid(n).expect("daemon running"));
    let subjects = [
        Subject { label: format!("vwrp r{va} active"), pids: tree(&v, va) },
        Subject { label: format!("vwrp r{vs} standby"), pids: tree(&v, vs) },
        Subject { label: format!("keepalived r{ka} master"), pids: tree(&k, ka) },
        Subject { label: format!("keepalived r{ks} backup"), pids: tree(&k, ks) },
    ];
    let mut figures: Vec<Figures> = subjects.iter().map(|_| Figures::default()).collect();

    eprintln!("   perf stat over {} s", window.as_secs());
    let before: Vec<(u64, u64)> = subjects.iter().map(|s| frames(s.pids[0])).collect();
    let t0 = Instant::now();
    let children: Vec<Child> = subjects.iter().map(|s| perf(&s.pids, window)).collect();
    for (c, f) in children.into_iter().zip(&mut figures) {
        read_perf(c, f);
    }
    let perf_window = t0.elapsed().as_secs_f64();
    for ((s, f), (tx0, rx0)) in subjects.iter().zip(&mut figures).zip(before) {
        let (tx, rx) = frames(s.pids[0]);
        (f.tx_frames, f.rx_frames) = (tx.saturating_sub(tx0), rx.saturating_sub(rx0));
    }

    let roles = |v: &Vwrp, k: &Keepalived| {
        [va, vs].map(|n| v.role(n)).join(" ") + " / " + &[ka, ks].map(|n| k.role(n)).join(" ")
    };
    let after_perf = roles(&v, &k);
    eprintln!("   roles after perf: {after_perf}");
    eprintln!("   strace -c over {} s", window.as_secs());
    let dir = v.c.bed.dir().to_path_buf();
    let outs: Vec<_> = (0..subjects.len()).map(|i| dir.join(format!("strace-{i}.txt"))).collect();
    let children: Vec<Child> = subjects.iter().zip(&outs).map(|(s, o)| strace(&s.pids, window, o)).collect();
    for c in children {
        let _ = c.wait_with_output();
    }
    for (o, f) in outs.iter().zip(&mut figures) {
        read_strace(o, f);
    }
    if let Ok(keep) = std::env::var("VWRP_BENCH_PROFILE_KEEP") {
        for (i, o) in outs.iter().enumerate() {
            let _ = std::fs::copy(o, format!("{keep}/strace-{i}.txt"));
        }
    }
    // A traced daemon is slow: at 10 ms it may have lost its role.
    let after = roles(&v, &k);
    eprintln!("   roles after strace: {after}");

    let hellos = |secs: f64| secs * 1000.0 / hello_ms as f64;
    let (hp, hs) = (hellos(perf_window), hellos(window.as_secs_f64()));
    let mut md = String::new();
    let _ = writeln!(
        md,
        "#### Per hello interval ({hello_ms} ms): perf stat and interface counters over {perf_window:.0} s, \
         strace -c over {} s\n",
        window.as_secs()
    );
    let _ = writeln!(
        md,
        "Roles of the four columns after the perf window: {after_perf}; after the strace window: {after}.\n"
    );
    let _ = write!(md, "| per hello | ");
    for s in &subjects {
        let _ = write!(md, "{} | ", s.label);
    }
    let _ = write!(md, "\n|---|");
    for _ in &subjects {
        let _ = write!(md, "---|");
    }
    md.push('\n');
    let mut row = |name: &str, val: &dyn Fn(&Figures) -> String| {
        let _ = write!(md, "| {name} | ");
        for f in &figures {
            let _ = write!(md, "{} | ", val(f));
        }
        md.push('\n');
    };
    row("CPU (µs)", &|f| format!("{:.1}", f.task_clock_ms * 1000.0 / hp));
    row("context switches", &|f| format!("{:.2}", f.context_switches / hp));
    row("page faults", &|f| format!("{:.2}", f.page_faults / hp));
    row("frames sent", &|f| format!("{:.2}", f.tx_frames as f64 / hp));
    row("frames received", &|f| format!("{:.2}", f.rx_frames as f64 / hp));
    row("system calls", &|f| format!("{:.2}", f.syscalls.values().sum::<u64>() as f64 / hs));
    row("of which failed", &|f| format!("{:.2}", f.syscall_errors as f64 / hs));
    let mut names: Vec<&String> = figures.iter().flat_map(|f| f.syscalls.keys()).collect();
    names.sort();
    names.dedup();
    // The calls made at least once a second by one of them.
    let often = |n: &String| figures.iter().any(|f| f.syscalls.get(n).copied().unwrap_or(0) >= window.as_secs());
    for n in names.into_iter().filter(|n| often(n)) {
        let name = format!("`{n}`");
        row(&name, &|f| format!("{:.2}", f.syscalls.get(n).copied().unwrap_or(0) as f64 / hs));
    }
    drop((v, k));
    md
}
