//! conntrackd beside the daemon, while a group syncs connection tracking
//! (`conntrack_sync`, docs/NATSYNC.md): one conntrackd per router, started
//! as the daemon's child from a configuration generated at run time
//! (system::conntrackd), started again when it ends, and asked every few
//! seconds how it is (`conntrackd -s`), for status.
//!
//! Its copy of the others' connections must be whole whenever this router
//! could take over. conntrackd's own start-up request for it
//! (`StartupResync`) is one unacknowledged message: lost if nobody heard
//! it (the active's conntrackd not listening yet, the link not up, a
//! dropped frame), and then the copy stays empty until connections
//! change. So once conntrackd answers and has heard the other routers
//! (what it received grew: FTFW sends at least a keep-alive a second),
//! this asks again, one request per event: after conntrackd (re)started,
//! a standby asks the others for all their connections (`-n`) and an
//! active sends all its own (`-B`, for what it made while its conntrackd
//! was down); after the others were silent through a whole probe
//! interval (the link, or their conntrackd, was down), a standby asks
//! again.
//!
//! Its own child rather than procd's second instance: the daemon needs
//! the sync link's address (known once netifd set it), knows when
//! conntrackd is down, and ties its life to its own (a SIGKILLed daemon
//! takes conntrackd with it, system::process::spawn_tied), so one
//! daemon's conntrackd never outlives it to meet the next. Nothing here
//! waits: the children are read when SIGCHLD wakes the loop, or at this
//! module's deadline.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::libc;

use crate::config::Config;
use crate::json;
use crate::system::conntrackd::{self, Paths, Setup, Stats};
use crate::system::process::{self, Child, Stdio};
use crate::time::Instant;

/// Until the sync link has an address (netifd configures it after us).
const ADDRESS_RETRY: Duration = Duration::from_secs(1);
/// After conntrackd ended, or could not start.
const RESTART: Duration = Duration::from_secs(5);
/// After it was stopped on purpose: its own clean-up (lock, socket) is
/// over by then, so it cannot remove the next one's files.
const AFTER_STOP: Duration = Duration::from_millis(1500);
const PROBE_EVERY: Duration = Duration::from_secs(5);
const PROBE_LIMIT: Duration = Duration::from_secs(2);
/// A request only hands conntrackd a message to send.
const REQUEST_LIMIT: Duration = Duration::from_secs(2);
/// From a request's end to the probe that shows its effect.
const AFTER_REQUEST: Duration = Duration::from_secs(1);

/// What this router is in the groups that sync: one conntrackd serves
/// them all, and a router can hold one group's WAN and stand by in
/// another's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    pub active: bool,
    pub standby: bool,
}

/// Why conntrackd may lack connections the other routers have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gap {
    /// It (re)started: its own start-up request may have been lost.
    Started,
    /// The others were silent through a whole probe interval: what
    /// changed meanwhile may be past FTFW's resending.
    Silence,
}

impl Gap {
    fn as_str(self) -> &'static str {
        match self {
            Gap::Started => "conntrackd started",
            Gap::Silence => "the other routers were silent for 5 s or more",
        }
    }
}

/// `conntrackd -n`: the others send all their connections.
const RESYNC: &str = "-n";
/// `conntrackd -B`: this router's connections, all sent to the others.
const BULK: &str = "-B";

/// When to ask: follows what conntrackd received from the others, answer
/// after answer (no I/O).
#[derive(Debug, Default)]
struct Resync {
    /// What it had received at its last answer (`None` since it started,
    /// until it answers).
    received: Option<u64>,
    /// Asks once the others are heard.
    gap: Option<Gap>,
}

impl Resync {
    fn started(&mut self) {
        *self = Resync { received: None, gap: Some(Gap::Started) };
    }

    /// An answer: what conntrackd has received from the others since it
    /// started (it disables multicast loopback: none of it is its own).
    /// The requests to make now, and why.
    fn answer(&mut self, received: u64, roles: Roles) -> Vec<(&'static str, Gap)> {
        let heard = received > self.received.unwrap_or(0);
        self.received = Some(received);
        if !heard {
            // Since a start: not heard yet, still `Started`.
            self.gap.get_or_insert(Gap::Silence);
            return Vec::new();
        }
        let Some(gap) = self.gap.take() else { return Vec::new() };
        let mut requests = Vec::new();
        if roles.standby {
            requests.push((RESYNC, gap));
        }
        if roles.active && gap == Gap::Started {
            requests.push((BULK, gap));
        }
        requests
    }
}

struct Running {
    child: Child,
}

struct Probe {
    child: Child,
    deadline: Instant,
}

/// A request to conntrackd running.
struct Request {
    child: Child,
    deadline: Instant,
    arg: &'static str,
}

pub struct Conntrack {
    paths: Paths,
    device: String,
    /// Addresses whose connections are this router's own.
    ignore: Vec<IpAddr>,
    running: Option<Running>,
    /// When to start it (not running) or ask it next (running).
    next: Instant,
    probe: Option<Probe>,
    /// Its last answer.
    stats: Option<Stats>,
    /// The last probe went unanswered.
    unreachable: bool,
    restarts: u64,
    /// Why it does not run, or why the last probe failed.
    error: Option<String>,
    resync: Resync,
    /// Requests to make, in turn, and the one running.
    requests: Vec<(&'static str, Gap)>,
    request: Option<Request>,
}

/// What the configuration asks of conntrackd: its device and the
/// addresses it ignores. `None`: no group syncs.
fn wanted(config: &Config) -> Option<(String, Vec<IpAddr>)> {
    let device = config.conntrack_device()?.to_string();
    let mut ignore: Vec<IpAddr> = vec![Ipv4Addr::LOCALHOST.into(), std::net::Ipv6Addr::LOCALHOST.into()];
    for gw in config.groups.iter().flat_map(|g| &g.lan_gateways) {
        if !ignore.contains(&gw.address) {
            ignore.push(gw.address);
        }
    }
    Some((device, ignore))
}

impl Conntrack {
    pub fn new(config: &Config, now: Instant) -> Option<Conntrack> {
        let (device, ignore) = wanted(config)?;
        Some(Conntrack {
            paths: Paths::in_dir(&config.globals.state_dir),
            device,
            ignore,
            running: None,
            next: now,
            probe: None,
            stats: None,
            unreachable: false,
            restarts: 0,
            error: None,
            resync: Resync::default(),
            requests: Vec::new(),
            request: None,
        })
    }

    /// A reloaded configuration: `false` if conntrackd is no longer
    /// wanted (the caller drops this). A changed one is restarted.
    pub fn reconfigure(&mut self, config: &Config, now: Instant) -> bool {
        let Some((device, ignore)) = wanted(config) else { return false };
        let paths = Paths::in_dir(&config.globals.state_dir);
        let moved = paths.conf.as_os_str() != self.paths.conf.as_os_str();
        if moved || device != self.device || ignore != self.ignore {
            crate::logging::info!("conntrackd: configuration changed: starting it again");
            (self.device, self.ignore, self.paths) = (device, ignore, paths);
            self.stop(now);
        }
        true
    }

    pub fn deadline(&self) -> Option<Instant> {
        let probe = self.probe.as_ref().map_or(self.next, |p| p.deadline.min(self.next));
        Some(self.request.as_ref().map_or(probe, |r| r.deadline.min(probe)))
    }

    /// Reaps what ended, starts conntrackd when it is time, asks it how it
    /// is, and makes the requests that fill its copy of the others'
    /// connections (`roles`: this router's in the groups that sync). Call
    /// on SIGCHLD and at `deadline()`.
    pub fn poll(&mut self, now: Instant, roles: Roles) {
        self.read_probe(now, roles);
        self.run_requests(now);
        if let Some(r) = &mut self.running {
            let ended = match r.child.try_wait() {
                Ok(None) => None,
                Ok(Some(status)) => Some(status.to_string()),
                Err(e) => Some(e.to_string()),
            };
            if let Some(how) = ended {
                let why = format!("conntrackd exited ({how})");
                crate::logging::warn!("{why}: starting it again in 5 s");
                self.error = Some(why);
                self.restarts = self.restarts.saturating_add(1);
                self.running = None;
                self.stats = None;
                self.forget_requests();
                self.next = now.plus(RESTART);
            }
        }
        if now < self.next {
            return;
        }
        if self.running.is_none() {
            self.start(now);
        } else if self.probe.is_none() {
            let mut cmd = conntrackd::command(&self.paths, &["-s"]);
            match process::spawn(cmd.stdout(Stdio::Piped).stderr(Stdio::Null)) {
                Ok(child) => self.probe = Some(Probe { child, deadline: now.plus(PROBE_LIMIT) }),
                Err(e) => self.note(format!("conntrackd -s: {e}")),
            }
            self.next = now.plus(PROBE_EVERY);
        }
    }

    fn start(&mut self, now: Instant) {
        self.next = now.plus(RESTART);
        let address = match conntrackd::ipv4_address(&self.device) {
            Ok(Some(a)) => a,
            Ok(None) => {
                self.next = now.plus(ADDRESS_RETRY);
                return self.note(format!("waiting for an IPv4 address on {} to sync from", self.device));
            }
            Err(e) => return self.note(format!("{}: {e}", self.device)),
        };
        let mut ignore = self.ignore.clone();
        ignore.push(address.into());
        let setup =
            Setup { device: self.device.clone(), address, ignore, hash_limit: 2 * conntrackd::kernel_table_size() };
        let text = match conntrackd::config(&setup, &self.paths) {
            Ok(t) => t,
            Err(e) => return self.note(e),
        };
        if let Err(e) = conntrackd::prepare(&text, &self.paths) {
            return self.note(format!("{}: {e}", self.paths.conf.display()));
        }
        // Its log goes to syslog; what it prints in the foreground repeats it.
        let mut cmd = conntrackd::command(&self.paths, &[]);
        match process::spawn_tied(cmd.stdout(Stdio::Null)) {
            Ok(child) => {
                crate::logging::info!("conntrackd started: syncing over {} from {address}", self.device);
                self.running = Some(Running { child });
                self.error = None;
                self.unreachable = false;
                self.resync.started();
                // Its socket is up within milliseconds: ask soon.
                self.next = now.plus(Duration::from_secs(1));
            }
            Err(e) => self.note(format!("cannot start conntrackd ({e}): is the conntrackd package installed?")),
        }
    }

    /// Logs a new reason once, and keeps it for status.
    fn note(&mut self, why: String) {
        if self.error.as_deref() != Some(why.as_str()) {
            crate::logging::warn!("{why}");
        }
        self.error = Some(why);
    }

    fn read_probe(&mut self, now: Instant, roles: Roles) {
        let Some(p) = &mut self.probe else { return };
        let answer = match p.child.try_wait() {
            Ok(None) if now < p.deadline => return,
            Ok(None) => Err("conntrackd did not answer within 2 s".to_string()),
            Ok(Some(_)) => {
                // It has ended: its report (about 1 KiB) is all in the
                // pipe, and one read takes all a pipe holds, up to `buf`.
                let mut buf = vec![0u8; 16384];
                let mut n = 0;
                if let Some(mut out) = p.child.take_stdout() {
                    // Non-blocking: whatever else might hold the pipe open.
                    // SAFETY: fcntl on a descriptor `out` owns.
                    if unsafe { libc::fcntl(out.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) } == 0 {
                        n = out.read(&mut buf).unwrap_or(0);
                    }
                }
                conntrackd::parse_stats(&String::from_utf8_lossy(buf.get(..n).unwrap_or_default()))
                    .ok_or_else(|| "conntrackd -s gave no report".to_string())
            }
            Err(e) => Err(format!("conntrackd -s: {e}")),
        };
        if let Some(p) = self.probe.take() {
            p.child.kill();
        }
        match answer {
            Ok(s) => {
                let requests = self.resync.answer(s.received_bytes, roles);
                self.requests.extend(requests);
                self.stats = Some(s);
                self.unreachable = false;
                self.error = None;
            }
            Err(e) => {
                self.unreachable = true;
                self.note(e);
            }
        }
    }

    /// Reaps the request that ended (or ran out of time), starts the next.
    fn run_requests(&mut self, now: Instant) {
        if let Some(r) = &mut self.request {
            let arg = r.arg;
            let failed = match r.child.try_wait() {
                Ok(None) if now < r.deadline => return,
                Ok(None) => Some("no answer within 2 s".to_string()),
                Ok(Some(status)) if status.success() => None,
                Ok(Some(status)) => Some(status.to_string()),
                Err(e) => Some(e.to_string()),
            };
            if let Some(r) = self.request.take() {
                r.child.kill();
            }
            match failed {
                Some(why) => crate::logging::warn!("conntrackd {arg}: {why}"),
                // The answer takes milliseconds: status shows it soon.
                None if self.probe.is_none() => self.next = self.next.min(now.plus(AFTER_REQUEST)),
                None => {}
            }
        }
        if self.running.is_none() || self.requests.is_empty() {
            return;
        }
        let (arg, why) = self.requests.remove(0);
        let what = if arg == RESYNC {
            "asking the other routers for all their connections"
        } else {
            "sending all of this router's connections to the others"
        };
        crate::logging::info!("conntrackd {arg}: {what} ({})", why.as_str());
        let mut cmd = conntrackd::command(&self.paths, &[arg]);
        match process::spawn(cmd.stdout(Stdio::Null).stderr(Stdio::Null)) {
            Ok(child) => self.request = Some(Request { child, deadline: now.plus(REQUEST_LIMIT), arg }),
            Err(e) => crate::logging::warn!("conntrackd {arg}: {e}"),
        }
    }

    /// conntrackd ended: what was asked of it goes with it.
    fn forget_requests(&mut self) {
        self.request = None;
        self.requests.clear();
        self.resync = Resync::default();
    }

    /// Ends conntrackd (a reload changed it), to be started again.
    pub fn stop(&mut self, now: Instant) {
        self.probe = None;
        self.forget_requests();
        if let Some(r) = self.running.take() {
            r.child.stop();
        }
        self.stats = None;
        self.next = now.plus(AFTER_STOP);
    }

    /// conntrackd's part of a syncing group's `"conntrack"` object (the
    /// caller opens it, adds the group's `commit` and closes it).
    pub fn status(&self, j: &mut json::Writer) {
        let state = match (&self.running, &self.stats) {
            (None, _) if self.restarts > 0 => "down",
            (None, _) => "waiting",
            (Some(_), _) if self.unreachable => "unreachable",
            (Some(_), None) => "starting",
            (Some(_), Some(_)) => "ok",
        };
        j.key("state").str(state).key("device").str(&self.device);
        j.key("pid").opt_num(self.running.as_ref().map(|r| u64::from(r.child.id())));
        j.key("error").opt_str(self.error.as_deref());
        let s = self.stats.as_ref();
        j.key("internal").opt_num(s.map(|s| s.internal)).key("external").opt_num(s.map(|s| s.external));
        j.key("sent_bytes").opt_num(s.map(|s| s.sent_bytes)).key("lost").opt_num(s.map(|s| s.lost));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDBY: Roles = Roles { active: false, standby: true };
    const ACTIVE: Roles = Roles { active: true, standby: false };

    #[test]
    fn a_started_standby_asks_for_the_others_connections_once_it_hears_them() {
        let mut r = Resync::default();
        r.started();
        // Nothing from the others yet (link down, their conntrackd not up,
        // frames dropped): a request now would be lost like its own.
        assert_eq!(r.answer(0, STANDBY), vec![]);
        assert_eq!(r.answer(0, STANDBY), vec![]);
        assert_eq!(r.answer(48, STANDBY), vec![(RESYNC, Gap::Started)]);
        // Once: keep-alives go on arriving.
        assert_eq!(r.answer(96, STANDBY), vec![]);
        assert_eq!(r.answer(4096, STANDBY), vec![]);
    }

    #[test]
    fn a_started_active_sends_its_own_connections() {
        let mut r = Resync::default();
        r.started();
        assert_eq!(r.answer(16, ACTIVE), vec![(BULK, Gap::Started)]);
        let both = Roles { active: true, standby: true };
        r.started();
        assert_eq!(r.answer(16, both), vec![(RESYNC, Gap::Started), (BULK, Gap::Started)]);
    }

    #[test]
    fn a_standby_asks_again_when_the_others_come_back_after_silence() {
        let mut r = Resync::default();
        r.started();
        assert_eq!(r.answer(100, STANDBY).len(), 1);
        // A whole interval without a byte: the link or their conntrackd
        // was down.
        assert_eq!(r.answer(100, STANDBY), vec![]);
        assert_eq!(r.answer(100, STANDBY), vec![]);
        assert_eq!(r.answer(164, STANDBY), vec![(RESYNC, Gap::Silence)]);
        assert_eq!(r.answer(200, STANDBY), vec![]);
        // An active leaves that to the standbys, which ask.
        assert_eq!(r.answer(200, ACTIVE), vec![]);
        assert_eq!(r.answer(300, ACTIVE), vec![]);
    }

    #[test]
    fn nothing_is_asked_without_a_start() {
        let mut r = Resync::default();
        assert_eq!(r.answer(100, STANDBY), vec![]);
        assert_eq!(r.answer(200, STANDBY), vec![]);
    }
}
