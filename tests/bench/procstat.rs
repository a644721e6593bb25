//! What a daemon costs, read from /proc: CPU time, peak and proportional
//! memory, for a process and everything it forked (keepalived runs a
//! parent and a VRRP child; vwrp is one process).

use std::fs;
use std::process::Command;

/// Clock ticks per second of /proc/PID/stat's time fields.
pub fn clk_tck() -> u64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().expect("getconf CLK_TCK");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(100)
}

/// The fields of /proc/PID/stat after the command name: field 3 (state)
/// is index 0. The name is in parentheses and may hold spaces.
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')?.checked_add(1)?..];
    // The state letter is not a number: keep the position with a 0.
    Some(rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect())
}

/// CPU time in clock ticks, in user space and in the kernel.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ticks {
    pub user: u64,
    pub system: u64,
}

impl Ticks {
    pub fn since(self, earlier: Ticks) -> Ticks {
        Ticks { user: self.user.saturating_sub(earlier.user), system: self.system.saturating_sub(earlier.system) }
    }
}

/// utime + cutime and stime + cstime of one process: its own CPU time
/// and that of the children it has reaped.
pub fn cpu_ticks(pid: u32) -> Option<Ticks> {
    let f = stat_fields(pid)?;
    // utime, stime, cutime, cstime are fields 14..=17.
    let (ut, st, cut, cst) = (f.get(11)?, f.get(12)?, f.get(13)?, f.get(14)?);
    Some(Ticks { user: ut.saturating_add(*cut), system: st.saturating_add(*cst) })
}

fn ppid(pid: u32) -> Option<u32> {
    u32::try_from(*stat_fields(pid)?.get(1)?).ok()
}

/// `pid` and all its live descendants.
pub fn tree(pid: u32) -> Vec<u32> {
    let all: Vec<(u32, u32)> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| Some((p, ppid(p)?)))
        .collect();
    let mut out = vec![pid];
    let mut i = 0;
    while let Some(&parent) = out.get(i) {
        out.extend(all.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    out
}

/// Nanoseconds on a CPU of a whole process tree's live processes
/// (/proc/PID/schedstat: exact, where the ticks are sampled every 10 ms;
/// a thread group's leader stands for its process, all ours are single
/// threaded).
pub fn tree_cpu_ns(pid: u32) -> u64 {
    tree(pid)
        .into_iter()
        .filter_map(|p| fs::read_to_string(format!("/proc/{p}/schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// CPU ticks of a whole process tree.
pub fn tree_cpu_ticks(pid: u32) -> Ticks {
    tree(pid).into_iter().filter_map(cpu_ticks).fold(Ticks::default(), |a, t| Ticks {
        user: a.user.saturating_add(t.user),
        system: a.system.saturating_add(t.system),
    })
}

/// A `Name:   1234 kB` line of a /proc file, in kB.
fn kb_field(path: &str, name: &str) -> Option<u64> {
    let text = fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(name))?;
    line.get(name.len()..)?.split_whitespace().next()?.parse().ok()
}

/// Memory of a process tree, in kB.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// Sum of each process's peak resident set (VmHWM). Pages shared
    /// between a parent and its child are counted in both.
    pub hwm_kb: u64,
    /// Sum of proportional set sizes now (smaps_rollup Pss): shared pages
    /// are split between the processes mapping them.
    pub pss_kb: u64,
    pub processes: usize,
}

pub fn tree_memory(pid: u32) -> Memory {
    let mut m = Memory::default();
    for p in tree(pid) {
        m.hwm_kb = m.hwm_kb.saturating_add(kb_field(&format!("/proc/{p}/status"), "VmHWM:").unwrap_or(0));
        m.pss_kb = m.pss_kb.saturating_add(kb_field(&format!("/proc/{p}/smaps_rollup"), "Pss:").unwrap_or(0));
        m.processes = m.processes.saturating_add(1);
    }
    m
}

/// A binary's size, and the total size of the shared libraries `ldd`
/// says it loads (count, bytes).
pub fn binary_size(path: &str) -> (u64, usize, u64) {
    let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let out = Command::new("ldd")
        .arg(path)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let libs: Vec<String> = out
        .lines()
        .filter_map(|l| {
            // "libx.so => /lib/x/libx.so (0x...)" or "/lib64/ld-linux... (0x...)"
            let path = l.split("=>").last()?.split_whitespace().next()?;
            path.starts_with('/').then(|| path.to_string())
        })
        .collect();
    let lib_bytes = libs.iter().filter_map(|p| fs::metadata(p).ok()).map(|m| m.len()).fold(0, u64::saturating_add);
    (size, libs.len(), lib_bytes)
}
