//! The benchmark's results: medians, the markdown table and the JSON file.

use serde_json::{Value, json};

use crate::contenders::Kind;
use crate::procstat::Memory;

/// One stream's view of one run.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// Longest interval between two arrivals at the receiver.
    pub gap_ms: f64,
    pub lost: u64,
    pub sent: u64,
}

/// All runs of one scenario for one implementation and one stream.
pub struct Series {
    pub imp: &'static str,
    pub kind: Kind,
    pub hello_ms: u64,
    pub stream_ms: u64,
    /// The stream runs over IPv6 (vwrp only; keepalived's bed is IPv4).
    pub ipv6: bool,
    pub samples: Vec<Outcome>,
    /// Runs that did not recover, with the reason.
    pub failures: Vec<String>,
}

#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

pub fn stats(xs: &[f64]) -> Option<Stats> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let (first, last) = (v.first()?, v.last()?);
    let mid = v.len() / 2;
    let median = if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2.0 };
    Some(Stats { median, min: *first, max: *last })
}

impl Series {
    pub fn gap(&self) -> Option<Stats> {
        stats(&self.samples.iter().map(|o| o.gap_ms).collect::<Vec<_>>())
    }

    pub fn lost(&self) -> Option<Stats> {
        stats(&self.samples.iter().map(|o| o.lost as f64).collect::<Vec<_>>())
    }

    fn json(&self) -> Value {
        let st = |s: Option<Stats>| s.map_or(Value::Null, |s| json!({"median": s.median, "min": s.min, "max": s.max}));
        json!({
            "outage_ms": st(self.gap()),
            "lost": st(self.lost()),
            "runs": self.samples.iter().map(|o| json!({"outage_ms": o.gap_ms, "lost": o.lost, "sent": o.sent})).collect::<Vec<_>>(),
            "failed": self.failures,
        })
    }
}

/// One router's daemon over the CPU window.
pub struct RouterCost {
    /// active / standby, master / backup.
    pub role: String,
    pub user_s: f64,
    pub system_s: f64,
    /// At the end of the window.
    pub memory: Memory,
}

impl RouterCost {
    pub fn cpu_s(&self) -> f64 {
        self.user_s + self.system_s
    }
}

/// What one implementation cost on the 10 ms bed.
pub struct Resources {
    pub window_s: f64,
    pub routers: Vec<RouterCost>,
    pub binary: String,
    pub binary_bytes: u64,
    pub libs: usize,
    pub lib_bytes: u64,
}

impl Resources {
    pub fn cpu_total(&self) -> f64 {
        self.routers.iter().map(RouterCost::cpu_s).sum()
    }

    fn user_total(&self) -> f64 {
        self.routers.iter().map(|r| r.user_s).sum()
    }

    fn system_total(&self) -> f64 {
        self.routers.iter().map(|r| r.system_s).sum()
    }

    pub fn hwm_max(&self) -> u64 {
        self.routers.iter().map(|r| r.memory.hwm_kb).max().unwrap_or(0)
    }

    pub fn hwm_sum(&self) -> u64 {
        self.routers.iter().map(|r| r.memory.hwm_kb).fold(0, u64::saturating_add)
    }

    pub fn pss_sum(&self) -> u64 {
        self.routers.iter().map(|r| r.memory.pss_kb).fold(0, u64::saturating_add)
    }

    fn with_libs(&self) -> u64 {
        self.binary_bytes.saturating_add(self.lib_bytes)
    }

    fn json(&self) -> Value {
        json!({
            "cpu_window_s": self.window_s,
            "cpu_s_all_routers": self.cpu_total(),
            "cpu_user_s_all_routers": self.user_total(),
            "cpu_system_s_all_routers": self.system_total(),
            "routers": self.routers.iter().enumerate().map(|(i, r)| json!({
                "router": format!("r{}", i + 1), "role": r.role, "cpu_s": r.cpu_s(),
                "cpu_user_s": r.user_s, "cpu_system_s": r.system_s,
                "peak_rss_kib": r.memory.hwm_kb, "pss_kib": r.memory.pss_kb, "processes": r.memory.processes,
            })).collect::<Vec<_>>(),
            "peak_rss_kib_max_router": self.hwm_max(),
            "peak_rss_kib_all_routers": self.hwm_sum(),
            "pss_kib_all_routers": self.pss_sum(),
            "binary": self.binary,
            "binary_bytes": self.binary_bytes,
            "shared_libraries": self.libs,
            "shared_library_bytes": self.lib_bytes,
        })
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "n/a".into(),
    }
}

fn ratio_value(a: Option<f64>, b: Option<f64>) -> Value {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => json!(a / b),
        _ => Value::Null,
    }
}

fn cell(s: &Series) -> String {
    let failed = if s.failures.is_empty() { String::new() } else { format!(", {} failed", s.failures.len()) };
    match s.gap() {
        Some(g) => format!("{:.1} ({:.1}–{:.1}){failed}", g.median, g.min, g.max),
        None => format!("none{failed}"),
    }
}

fn lost_cell(s: &Series) -> String {
    match s.lost() {
        Some(l) if l.max > l.median => format!("{:.0} (max {:.0})", l.median, l.max),
        Some(l) => format!("{:.0}", l.median),
        None => "n/a".into(),
    }
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

/// vwrp's IPv6 series, each with its IPv4 series of the same run.
pub fn families(series: &[Series]) -> Vec<(&Series, &Series)> {
    series
        .iter()
        .filter(|s| s.ipv6)
        .filter_map(|v6| {
            let v4 = series.iter().find(|v| {
                v.imp == v6.imp
                    && !v.ipv6
                    && v.kind == v6.kind
                    && v.hello_ms == v6.hello_ms
                    && v.stream_ms == v6.stream_ms
            })?;
            Some((v4, v6))
        })
        .collect()
}

/// vwrp and keepalived series of the same scenario, paired.
pub fn pairs(series: &[Series]) -> Vec<(&Series, &Series)> {
    series
        .iter()
        .filter(|s| s.imp == "vwrp" && !s.ipv6)
        .filter_map(|v| {
            let k = series.iter().find(|k| {
                k.imp != "vwrp" && !k.ipv6 && k.kind == v.kind && k.hello_ms == v.hello_ms && k.stream_ms == v.stream_ms
            })?;
            Some((v, k))
        })
        .collect()
}

pub fn markdown(series: &[Series], res: Option<&(Resources, Resources)>, runs: usize, header: &str) -> String {
    let mut t = String::new();
    t.push_str(header);
    t.push_str(&format!(
        "\n### Client outage (ms): longest gap between arrivals, median (min–max) of {runs} runs\n\n\
         | scenario | hello / advert_int | stream every | vwrp | lost | keepalived | lost | vwrp/keepalived |\n\
         |---|---|---|---|---|---|---|---|\n"
    ));
    for (v, k) in pairs(series) {
        t.push_str(&format!(
            "| {} | {} ms | {} ms | {} | {} | {} | {} | {} |\n",
            v.kind.name(),
            v.hello_ms,
            v.stream_ms,
            cell(v),
            lost_cell(v),
            cell(k),
            lost_cell(k),
            ratio(v.gap().map(|s| s.median), k.gap().map(|s| s.median)),
        ));
    }
    let families = families(series);
    if !families.is_empty() {
        t.push_str(
            "\n### vwrp over IPv6 beside IPv4 (ms): the same runs, a third stream over IPv6\n\n\
             | scenario | hello | stream every | IPv4 | lost | IPv6 | lost | IPv6/IPv4 |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
    }
    for (v4, v6) in families {
        t.push_str(&format!(
            "| {} | {} ms | {} ms | {} | {} | {} | {} | {} |\n",
            v4.kind.name(),
            v4.hello_ms,
            v4.stream_ms,
            cell(v4),
            lost_cell(v4),
            cell(v6),
            lost_cell(v6),
            ratio(v6.gap().map(|s| s.median), v4.gap().map(|s| s.median)),
        ));
    }
    if let Some((v, k)) = res {
        let per_router = |r: &Resources| {
            r.routers
                .iter()
                .enumerate()
                .map(|(i, x)| format!("r{} {} {:.2}", i + 1, x.role, x.cpu_s()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let procs = |r: &Resources| r.routers.first().map_or(0, |x| x.memory.processes);
        let cpu = |r: &Resources| {
            format!("{:.2} s (user {:.2}, kernel {:.2})", r.cpu_total(), r.user_total(), r.system_total())
        };
        t.push_str(&format!(
            "\n### Resources (hello / advert_int 10 ms, 3 routers, {:.0} s steady state)\n\n\
             | resource | vwrp | keepalived | vwrp/keepalived |\n|---|---|---|---|\n",
            v.window_s
        ));
        let rows: [(&str, String, String, String); 8] = [
            ("CPU, all routers", cpu(v), cpu(k), ratio(Some(v.cpu_total()), Some(k.cpu_total()))),
            ("CPU per router (s)", per_router(v), per_router(k), String::new()),
            ("processes per router", procs(v).to_string(), procs(k).to_string(), String::new()),
            (
                "peak RSS (VmHWM), largest router",
                mib(v.hwm_max()),
                mib(k.hwm_max()),
                ratio(Some(v.hwm_max() as f64), Some(k.hwm_max() as f64)),
            ),
            (
                "peak RSS (VmHWM), all routers",
                mib(v.hwm_sum()),
                mib(k.hwm_sum()),
                ratio(Some(v.hwm_sum() as f64), Some(k.hwm_sum() as f64)),
            ),
            (
                "PSS at the end, all routers",
                mib(v.pss_sum()),
                mib(k.pss_sum()),
                ratio(Some(v.pss_sum() as f64), Some(k.pss_sum() as f64)),
            ),
            (
                "binary size",
                mb(v.binary_bytes),
                mb(k.binary_bytes),
                ratio(Some(v.binary_bytes as f64), Some(k.binary_bytes as f64)),
            ),
            (
                "binary + shared libraries (ldd)",
                format!("{} ({} libs)", mb(v.with_libs()), v.libs),
                format!("{} ({} libs)", mb(k.with_libs()), k.libs),
                ratio(Some(v.with_libs() as f64), Some(k.with_libs() as f64)),
            ),
        ];
        for (name, a, b, r) in rows {
            t.push_str(&format!("| {name} | {a} | {b} | {r} |\n"));
        }
    }
    t
}

pub fn json(series: &[Series], res: Option<&(Resources, Resources)>, meta: Value) -> Value {
    let scenarios: Vec<Value> = pairs(series)
        .into_iter()
        .map(|(v, k)| {
            let v6 = series.iter().find(|s| {
                s.ipv6 && s.imp == v.imp && s.kind == v.kind && s.hello_ms == v.hello_ms && s.stream_ms == v.stream_ms
            });
            json!({
                "scenario": v.kind.key(),
                "interval_ms": v.hello_ms,
                "stream_interval_ms": v.stream_ms,
                "vwrp": v.json(),
                "vwrp_ipv6": v6.map_or(Value::Null, Series::json),
                "keepalived": k.json(),
                "ratio_vwrp_keepalived": ratio_value(v.gap().map(|s| s.median), k.gap().map(|s| s.median)),
            })
        })
        .collect();
    let resources = res.map_or(Value::Null, |(v, k)| {
        json!({
            "vwrp": v.json(),
            "keepalived": k.json(),
            "ratio_vwrp_keepalived": {
                "cpu": ratio_value(Some(v.cpu_total()), Some(k.cpu_total())),
                "peak_rss_max_router": ratio_value(Some(v.hwm_max() as f64), Some(k.hwm_max() as f64)),
                "peak_rss_all_routers": ratio_value(Some(v.hwm_sum() as f64), Some(k.hwm_sum() as f64)),
                "pss_all_routers": ratio_value(Some(v.pss_sum() as f64), Some(k.pss_sum() as f64)),
                "binary": ratio_value(Some(v.binary_bytes as f64), Some(k.binary_bytes as f64)),
                "binary_and_libs": ratio_value(Some(v.with_libs() as f64), Some(k.with_libs() as f64)),
            }
        })
    });
    json!({ "meta": meta, "scenarios": scenarios, "resources": resources })
}
