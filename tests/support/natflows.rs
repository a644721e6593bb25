//! Long-lived connections through the bed's NAT (tests/tools/natflows.py):
//! its server on `srv`, its client on `cli`, and the report it writes.
//! For tests/natsync.rs and the bench's NAT continuity row.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde::Deserialize;

use super::{ProcId, SRV_ADDR, Testbed, poll_until};

pub const NATFLOWS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/natflows.py");

#[derive(Debug, Deserialize)]
pub struct FlowReport {
    pub flows: Vec<Flow>,
}

#[derive(Debug, Deserialize)]
pub struct Flow {
    pub kind: String,
    pub batch: u8,
    pub port: u16,
    pub arrivals: u64,
    pub gaps: Vec<FlowGap>,
    pub longest_gap_ms: f64,
    pub silent_ms: f64,
    pub last_ms: f64,
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct FlowGap {
    pub at_ms: f64,
    pub gap_ms: f64,
}

impl Flow {
    /// Still exchanging data at the end, never reset or closed.
    pub fn alive(&self) -> bool {
        self.error.is_none() && self.silent_ms < 1000.0
    }

    pub fn name(&self) -> String {
        format!("{} port {} (batch {})", self.kind, self.port, self.batch)
    }

    /// The longest stall in the event that began at `from` (until `to`),
    /// in ms: a gap between arrivals, or the silence at the end.
    pub fn stall(&self, from: f64, to: f64) -> f64 {
        let tail = FlowGap { at_ms: self.last_ms, gap_ms: self.silent_ms };
        self.gaps
            .iter()
            .chain([&tail])
            .filter(|g| g.at_ms + g.gap_ms >= from && g.at_ms < to)
            .map(|g| g.gap_ms)
            .fold(0.0, f64::max)
    }
}

/// How many flows of each kind, how often they speak, for how long.
pub struct FlowSpec {
    pub tcp_port: u16,
    pub udp_port: u16,
    pub client_first: usize,
    pub server_first: usize,
    pub udp: usize,
    pub interval_ms: u64,
    pub duration: Duration,
}

pub fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" }
}

/// The flows' two ends: the server behind the ISP, the client on the LAN.
pub struct Flows {
    pub server: ProcId,
    pub client: ProcId,
    report: PathBuf,
    started: Instant,
}

impl Flows {
    /// Starts the server and the client; returns once every flow is open.
    pub fn start(bed: &mut Testbed, spec: &FlowSpec) -> Flows {
        let (tcp, udp) = (spec.tcp_port.to_string(), spec.udp_port.to_string());
        let interval = spec.interval_ms.to_string();
        let server = bed.spawn(
            "srv",
            [python(), NATFLOWS, "serve", "--tcp-port", &tcp, "--udp-port", &udp, "--interval-ms", &interval],
        );
        assert!(
            poll_until(Duration::from_secs(5), || bed.proc_log(server).contains("serving")),
            "natflows serve did not start: {}",
            bed.proc_log(server)
        );
        let report = bed.dir().join(format!("flows-{}.json", spec.tcp_port));
        let (cf, sf, n_udp) = (spec.client_first.to_string(), spec.server_first.to_string(), spec.udp.to_string());
        let duration = spec.duration.as_secs().to_string();
        let argv = [
            python(),
            NATFLOWS,
            "run",
            "--server",
            SRV_ADDR,
            "--tcp-port",
            &tcp,
            "--udp-port",
            &udp,
            "--client-first",
            &cf,
            "--server-first",
            &sf,
            "--udp",
            &n_udp,
            "--interval-ms",
            &interval,
            "--duration",
            &duration,
            "--report",
            report.to_str().expect("UTF-8 path"),
        ];
        let client = bed.spawn("cli", argv);
        assert!(
            poll_until(Duration::from_secs(30), || bed.proc_log(client).contains("opened")),
            "natflows run did not connect: {}",
            bed.proc_log(client)
        );
        Flows { server, client, report, started: Instant::now() }
    }

    /// Milliseconds since the flows opened (about the client's clock).
    pub fn at_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    /// Opens one more batch of server-first connections and UDP flows.
    pub fn second_batch(&mut self, bed: &mut Testbed) {
        bed.signal(self.client, Signal::SIGUSR1);
        assert!(
            poll_until(Duration::from_secs(5), || bed.proc_log(self.client).contains("second batch")),
            "no second batch: {}",
            bed.proc_log(self.client)
        );
    }

    /// Ends both; the report, and what the server said until then.
    pub fn finish(self, bed: &mut Testbed) -> (FlowReport, String) {
        let server_log = bed.proc_log(self.server);
        bed.signal(self.client, Signal::SIGUSR2);
        let ended = bed.wait(self.client, Duration::from_secs(30)).is_some_and(|s| s.success());
        assert!(ended, "natflows run: {}", bed.proc_log(self.client));
        bed.kill(self.server);
        let text = std::fs::read_to_string(&self.report).expect("natflows report");
        (serde_json::from_str(&text).expect("natflows report JSON"), server_log)
    }
}

/// Connections the server lost with an error (a RST from a router that
/// had no entry for them), from its log.
pub fn server_resets(server_log: &str) -> usize {
    server_log.lines().filter(|l| l.contains(": error ")).count()
}
