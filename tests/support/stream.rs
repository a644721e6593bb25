//! The measuring stream: `tests/tools/udpstream.py` sending from `cli` to
//! `srv` through whichever router forwards (over IPv4, or IPv6 on a bed
//! with `Opts::ipv6`), and its report.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{ProcId, SRV_ADDR, SRV_ADDR6, Testbed, poll_until};

/// The stream tool, run with the system's python3.
pub const UDPSTREAM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/udpstream.py");

/// Debian's interpreter rather than whatever `python3` is first on PATH.
fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" }
}

/// A receiver started by [`Testbed::stream_receiver`].
#[derive(Debug)]
pub struct StreamRx {
    proc: ProcId,
    report: PathBuf,
    timeout: Duration,
}

/// The receiver's view of one stream (`udpstream.py recv` report).
#[derive(Clone, Debug, Deserialize)]
pub struct StreamReport {
    /// Datagrams the sender sent (from its FIN when `sent_known`, else
    /// the highest sequence number seen + 1).
    pub sent: u64,
    pub sent_known: bool,
    /// Distinct sequence numbers received.
    pub received: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub reordered: u64,
    pub interval_ms: f64,
    /// The outage: longest interval between consecutive arrivals.
    pub longest_gap_ms: f64,
    /// Every arrival gap longer than 3 intervals (first 1000 listed).
    pub gap_count: u64,
    pub gaps: Vec<Gap>,
    /// Missing sequence numbers as inclusive ranges (first 1000).
    pub missing: Vec<(u64, u64)>,
    pub latency_min_ms: f64,
    pub latency_max_ms: f64,
    /// "fin", "idle" or "timeout".
    pub stopped_by: String,
}

/// One arrival gap longer than 3 intervals.
#[derive(Clone, Debug, Deserialize)]
pub struct Gap {
    /// When it began, in ms after the first arrival.
    pub at_ms: f64,
    pub gap_ms: f64,
    pub after_seq: u64,
    pub next_seq: u64,
    /// Sequence numbers that never came in between; 0 means a stall
    /// (sender or scheduler), not a network outage.
    pub missing: u64,
}

impl Testbed {
    /// Starts `udpstream.py recv` in `srv` on UDP `port`; returns once it
    /// is bound. It stops by itself at the sender's FIN, after 10 s of
    /// silence once packets flowed, or after `timeout` in any case.
    pub fn stream_receiver(&mut self, port: u16, timeout: Duration) -> StreamRx {
        self.stream_receiver_on(port, timeout, "0.0.0.0")
    }

    /// [`Testbed::stream_receiver`] for an IPv6 stream.
    pub fn stream_receiver6(&mut self, port: u16, timeout: Duration) -> StreamRx {
        self.stream_receiver_on(port, timeout, "::")
    }

    fn stream_receiver_on(&mut self, port: u16, timeout: Duration, bind: &str) -> StreamRx {
        let report = self.dir.join(format!("stream-{port}.json"));
        let report_arg = report.to_str().expect("utf-8 temp path").to_string();
        let port_arg = port.to_string();
        let timeout_arg = format!("{}", timeout.as_secs_f64());
        let proc = self.spawn(
            "srv",
            [
                python(),
                UDPSTREAM,
                "recv",
                "--port",
                &port_arg,
                "--report",
                &report_arg,
                "--json",
                "--timeout",
                &timeout_arg,
                "--bind",
                bind,
            ],
        );
        let bound = poll_until(Duration::from_secs(10), || self.proc_log(proc).contains("listening on"));
        assert!(bound, "udpstream recv did not start: {}", self.proc_log(proc));
        StreamRx { proc, report, timeout }
    }

    /// Starts `udpstream.py send` in `cli` towards `SRV_ADDR:port`, one
    /// datagram per `interval` for `duration`; returns at once.
    pub fn stream_sender(&mut self, port: u16, interval: Duration, duration: Duration) -> ProcId {
        self.stream_sender_to(&format!("{SRV_ADDR}:{port}"), interval, duration)
    }

    /// [`Testbed::stream_sender`] over IPv6, to `[SRV_ADDR6]:port`.
    pub fn stream_sender6(&mut self, port: u16, interval: Duration, duration: Duration) -> ProcId {
        self.stream_sender_to(&format!("[{SRV_ADDR6}]:{port}"), interval, duration)
    }

    fn stream_sender_to(&mut self, to: &str, interval: Duration, duration: Duration) -> ProcId {
        let interval_ms = format!("{}", interval.as_secs_f64() * 1000.0);
        let secs = format!("{}", duration.as_secs_f64());
        self.spawn("cli", [python(), UDPSTREAM, "send", "--to", to, "--interval-ms", &interval_ms, "--duration", &secs])
    }

    /// Waits for the receiver to stop by itself and returns its report.
    pub fn stream_report(&mut self, rx: StreamRx) -> StreamReport {
        let status = self.wait(rx.proc, rx.timeout + Duration::from_secs(10));
        let log = self.proc_log(rx.proc);
        assert!(status.is_some_and(|s| s.success()), "udpstream recv failed: {log}");
        let text =
            std::fs::read_to_string(&rx.report).unwrap_or_else(|e| panic!("{}: {e}; log: {log}", rx.report.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad report {text}: {e}"))
    }

    /// Receiver, sender, wait: streams from `cli` to `srv` for `duration`
    /// and returns the receiver's report. Blocks for about `duration`
    /// (`duration` + 10 s when nothing gets through).
    pub fn udp_stream(&mut self, port: u16, interval: Duration, duration: Duration) -> StreamReport {
        let rx = self.stream_receiver(port, duration + Duration::from_secs(10));
        let tx = self.stream_sender(port, interval, duration);
        let report = self.stream_report(rx);
        let sent = self.wait(tx, Duration::from_secs(10));
        assert!(sent.is_some_and(|s| s.success()), "udpstream send: {}", self.proc_log(tx));
        report
    }
}
