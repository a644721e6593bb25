//! Who sources the shared WAN MAC: every such frame entering the WAN switch,
//! with its time and the router port it came in on.
//!
//! One tcpdump on `any` in the switch namespace, in Linux cooked v2 format
//! (which carries the ingress ifindex), filtered in the kernel on the
//! source address. One socket gives one order of arrival across ports, and
//! a port going down (`pull_links`) does not end the capture as it would
//! with `-i PORT`. Taps run before nftables ingress hooks, so frames that
//! `block_upstream` or a filter then drops are still seen: this records
//! what the router put on the wire.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::signal::Signal;

use super::{ProcId, SHARED_MAC, Testbed, poll_until};

/// A running watch.
pub(super) struct MacWatch {
    proc: ProcId,
    file: PathBuf,
    started: SystemTime,
    /// ifindex in the switch namespace -> router number.
    ports: HashMap<u32, usize>,
}

/// pcap's link type for Linux cooked capture v2.
const LINKTYPE_LINUX_SLL2: u32 = 276;
const PCAP_MAGIC_NANO: u32 = 0xa1b2_3c4d;
const PCAP_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;
/// sll_pkttype of a frame the host sent; never one a router sent.
const PACKET_OUTGOING: u8 = 4;

impl Testbed {
    /// Starts recording every frame whose source MAC is [`SHARED_MAC`] as it
    /// enters the WAN switch from a router port. Returns once the capture
    /// is running. Frames from the ISP's port are not recorded.
    pub fn start_mac_watch(&mut self) {
        assert!(self.mac_watch.is_none(), "mac watch already running");
        let mut ports = HashMap::new();
        for n in 1..=self.routers {
            let port = Self::wan_port(n);
            let path = format!("/sys/class/net/{port}/ifindex");
            let ifindex = self.exec_ok("wsw", ["cat", path.as_str()]);
            let ifindex = ifindex.trim().parse().expect("ifindex");
            ports.insert(ifindex, n);
        }
        let file = self.dir.join("macwatch.pcap");
        let mac = SHARED_MAC.replace(':', "");
        // Bytes 12..18 of the cooked v2 header are the sender's address.
        let filter = format!("link[12:4] = 0x{} and link[16:2] = 0x{}", &mac[..8], &mac[8..]);
        let file_arg = file.to_str().expect("utf-8 temp path").to_string();
        let mut argv: Vec<&str> = "tcpdump -i any -Q in -nn -s 96 -U --immediate-mode -B 8192 \
             -Z root -y LINUX_SLL2 --time-stamp-precision=nano -w"
            .split_whitespace()
            .collect();
        argv.extend([file_arg.as_str(), filter.as_str()]);
        let proc = self.spawn("wsw", argv);
        let started = SystemTime::now();
        let ready = poll_until(Duration::from_secs(10), || self.proc_log(proc).contains("listening on"));
        assert!(ready, "tcpdump did not start: {}", self.proc_log(proc));
        self.mac_watch = Some(MacWatch { proc, file, started, ports });
    }

    /// Time since the running watch started, on the report's time axis:
    /// take it to mark an event (a kill, a step-down) among the frames.
    pub fn mac_watch_elapsed(&self) -> Duration {
        let watch = self.mac_watch.as_ref().expect("mac watch not started");
        watch.started.elapsed().unwrap_or_default()
    }

    /// Stops the watch and returns every frame it saw, in time order:
    /// (time since `start_mac_watch`, router number N). Panics if
    /// the kernel dropped any captured frame, since the report would not
    /// be exact. Call `start_mac_watch` again to watch on.
    pub fn mac_watch_report(&mut self) -> Vec<(Duration, usize)> {
        let watch = self.mac_watch.take().expect("mac watch not started");
        self.signal(watch.proc, Signal::SIGINT);
        let status = self.wait(watch.proc, Duration::from_secs(10));
        let log = self.proc_log(watch.proc);
        assert!(status.is_some(), "tcpdump did not stop: {log}");
        let dropped = log
            .lines()
            .find_map(|l| l.strip_suffix(" packets dropped by kernel"))
            .and_then(|n| n.trim().parse::<u64>().ok());
        assert_eq!(dropped, Some(0), "mac watch lost frames: {log}");
        let report = read_pcap(&watch.file, watch.started, &watch.ports);
        let _ = fs::remove_file(&watch.file);
        report
    }
}

/// Whether frames from two ports were ever interleaved: some port appears,
/// then another, then the first again (A,B,A). A clean handover (A..A,B..B)
/// is not interleaved; a handover back later is, so slice the report to
/// the window of interest.
pub fn interleaved(report: &[(Duration, usize)]) -> bool {
    interleaved_beyond(report, Duration::ZERO)
}

/// [`interleaved`], except that a port may still be heard for `grace`
/// after the next one was first heard: a graceful handover's make before
/// break (docs/PROTOCOL.md §6.1), where the old active forwards until
/// the new one's READY reaches it, which a loaded machine can delay.
pub fn interleaved_beyond(report: &[(Duration, usize)], grace: Duration) -> bool {
    // Each run's port and when it began.
    let mut runs: Vec<(usize, Duration)> = Vec::new();
    for &(at, port) in report {
        match runs.last() {
            Some(&(last, _)) if last == port => {}
            Some(&(_, began)) if runs.iter().any(|&(p, _)| p == port) => {
                // An earlier port again: only the one just left, in time.
                let previous = runs.len().checked_sub(2).map(|i| runs[i].0);
                if previous != Some(port) || at.saturating_sub(began) > grace {
                    return true;
                }
            }
            _ => runs.push((port, at)),
        }
    }
    false
}

fn u32_at(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let bytes: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian { u32::from_be_bytes(bytes) } else { u32::from_le_bytes(bytes) })
}

/// Reads tcpdump's file. A record cut short at the end is ignored.
fn read_pcap(path: &Path, started: SystemTime, ports: &HashMap<u32, usize>) -> Vec<(Duration, usize)> {
    let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(u32_at(&data, 0, false), Some(PCAP_MAGIC_NANO), "not a nanosecond pcap");
    assert_eq!(u32_at(&data, 20, false), Some(LINKTYPE_LINUX_SLL2), "not cooked v2");
    let mut report = Vec::new();
    let mut at = PCAP_HEADER_LEN;
    while let (Some(secs), Some(nanos), Some(len)) =
        (u32_at(&data, at, false), u32_at(&data, at + 4, false), u32_at(&data, at + 8, false))
    {
        let start = at + RECORD_HEADER_LEN;
        let Some(frame) = data.get(start..start + len as usize) else {
            break;
        };
        at = start + len as usize;
        let (Some(ifindex), Some(pkttype), Some(addr)) = (u32_at(frame, 4, true), frame.get(10), frame.get(12..18))
        else {
            continue;
        };
        let Some(&port) = ports.get(&ifindex) else {
            continue;
        };
        if *pkttype == PACKET_OUTGOING || addr != super::shared_mac_bytes() {
            continue;
        }
        let when = UNIX_EPOCH + Duration::new(u64::from(secs), nanos);
        report.push((when.duration_since(started).unwrap_or_default(), port));
    }
    // The capture ring is filled from both CPUs: order by kernel timestamp.
    report.sort_by_key(|&(when, _)| when);
    report
}
