//! Whole-switch captures: every frame crossing a switch of the bed, written
//! to a pcap that Wireshark (with `contrib/wireshark/vwrp.lua`) can open.
//!
//! tcpdump runs on the switch's bridge device `br0` and puts it in
//! promiscuous mode; a promiscuous bridge device gets a copy of every frame
//! the bridge forwards, so each frame is recorded once, Ethernet header
//! and all (a cooked `-i any` capture would drop the destination MAC).

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;

use super::{ProcId, Testbed, poll_until};

/// The Wireshark dissector for vwrp frames.
pub const DISSECTOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/wireshark/vwrp.lua");

/// A running capture, from [`Testbed::start_capture`].
#[derive(Debug)]
pub struct Capture {
    proc: ProcId,
    file: PathBuf,
}

impl Testbed {
    /// Starts recording every frame crossing `switch` (`wsw` or `lsw`)
    /// into `file`. Returns once tcpdump listens. Immediate mode: without
    /// it libpcap hands frames over a block at a time (a 1 s timeout), and
    /// the block still open when the capture stops is lost.
    pub fn start_capture(&mut self, switch: &str, file: &Path) -> Capture {
        assert!(matches!(switch, "wsw" | "lsw"), "not a switch: {switch}");
        let file_arg = file.to_str().expect("utf-8 capture path").to_string();
        let proc = self.spawn(
            switch,
            ["tcpdump", "-i", "br0", "-nn", "-U", "--immediate-mode", "-B", "8192", "-Z", "root", "-w", &file_arg],
        );
        let ready = poll_until(Duration::from_secs(10), || self.proc_log(proc).contains("listening on"));
        assert!(ready, "tcpdump on {switch} did not start: {}", self.proc_log(proc));
        Capture { proc, file: file.to_path_buf() }
    }

    /// Stops the capture and returns its file. Panics if the kernel
    /// dropped a frame: the capture would not be the whole story.
    pub fn stop_capture(&mut self, capture: Capture) -> PathBuf {
        self.signal(capture.proc, Signal::SIGINT);
        let status = self.wait(capture.proc, Duration::from_secs(10));
        let log = self.proc_log(capture.proc);
        assert!(status.is_some(), "tcpdump did not stop: {log}");
        let dropped = log
            .lines()
            .find_map(|l| l.strip_suffix(" packets dropped by kernel"))
            .and_then(|n| n.trim().parse::<u64>().ok());
        assert_eq!(dropped, Some(0), "the capture lost frames: {log}");
        capture.file
    }
}

/// The tshark command line that shows the vwrp frames of `pcap`, their
/// tags checked with `key` (`ID:SECRET`).
pub fn tshark_command(pcap: &Path, key: &str) -> String {
    format!("tshark -X lua_script:{DISSECTOR} -o 'vwrp.key:{key}' -r {} -Y vwrp", pcap.display())
}
