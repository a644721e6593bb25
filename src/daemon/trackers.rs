//! Trackers at run time: every kind's probes inside the one event loop,
//! with no thread and no blocking call. Sockets sit on the daemon's mio
//! poll (tokens from `TOKEN_BASE`), deadlines join the loop's, scripts
//! are read when SIGCHLD wakes it (`system::process`). Each kind is a
//! `Probe`, in a file of its own (link, ping, arping, script, external);
//! what every kind shares (rounds, rise/fall, verdicts, status) is here.
//!
//! Time is the engine's (`crate::time::Instant`, from the daemon's one
//! clock). Each tracker's rounds and rise/fall are a `tracker::Schedule`,
//! the pure part the simulator runs too; only a change of state reaches
//! the engine (`poll_verdict`). An external
//! tracker's verdict is final: it was already judged by whoever sent it,
//! so it goes to the engine as it comes, without rise/fall.
//!
//! WAN-only trackers (ping and arping unless told otherwise) run only while
//! their group holds the WAN with an address on it; when the WAN closes
//! they stop and forget their counts, as the engine forgets their state.

mod arping;
mod external;
mod icmp;
mod link;
mod ping;
mod script;

use std::collections::VecDeque;
use std::time::Duration;

use mio::Registry;

use super::group::Group;
use crate::config::{self, Config, DhcpMode, TrackerKind};
use crate::json;
use crate::time::{Instant, millis};
use crate::tracker::Schedule;
use arping::Arping;
use external::External;
use link::Link;
use ping::Ping;
use script::Script;

/// The first mio token of trackers; tracker `i` owns `TOKENS_PER_TRACKER`
/// from `TOKEN_BASE + i * TOKENS_PER_TRACKER`. Groups stay below: at most
/// 255 groups of 16 tokens from 16.
pub const TOKEN_BASE: usize = 4096;
const TOKENS_PER_TRACKER: usize = 2;

/// A tracker changed state: for `Engine::handle_tracker`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub group: usize,
    pub index: usize,
    pub up: bool,
}

/// How starting a round went.
enum Begun {
    Started,
    /// Known at once: a link's carrier, a script that cannot start.
    Decided(bool),
    /// Nothing to probe (carrier not known yet, no arping target).
    Skipped,
}

/// What a round may need to know of its tracker and its group.
struct Context<'a> {
    tracker: &'a str,
    group_name: &'a str,
    wan_only: bool,
    group: &'a Group,
}

/// One kind of tracker's way of checking, inside the event loop: its
/// sockets and children, never a wait. Rounds, rise/fall and verdicts are
/// the `Runtime`'s, the same for every kind. A kind is one file beside this
/// one (link, ping, arping, script, external) and its line in
/// `Runtime::new`.
trait Probe {
    /// Starts a round.
    fn begin(&mut self, now: Instant, timeout: Duration, ctx: &Context, run: &mut RunCtx) -> Begun;
    /// The outcome of the round in flight once it is decided; the round is
    /// then over.
    fn poll(&mut self, _now: Instant) -> Option<bool> {
        None
    }
    /// When `poll` is due again while a round is in flight.
    fn deadline(&self) -> Option<Instant> {
        None
    }
    /// Its socket number `sub` is readable.
    fn readable(&mut self, _sub: usize) {}
    /// Ends the round in flight and closes what it holds.
    fn stop(&mut self, _reg: &Registry) {}
    /// Rounds can wait for an event now: `state` is what rise/fall made
    /// of the results so far.
    fn settled(&self, _state: Option<bool>, _shared: &Shared) -> bool {
        false
    }
    /// The carrier of `device` changed: a round is due now.
    fn watches(&self, _device: &str) -> bool {
        false
    }
    /// Adds its own keys to its status entry; returns its last error.
    fn status(&self, _j: &mut json::Writer) -> Option<&str> {
        None
    }
}

/// What starting a round may use of the loop.
struct RunCtx<'a> {
    reg: &'a Registry,
    token: usize,
    shared: &'a mut Shared,
}

struct Runtime {
    group: usize,
    /// Index among its group's trackers, as the engine counts them.
    index: usize,
    group_name: String,
    cfg: config::Tracker,
    schedule: Schedule,
    probe: Box<dyn Probe>,
}

/// Carrier by link name. A router has a few dozen links at most: a list
/// costs less code than a hash map.
#[derive(Default)]
pub(super) struct Carriers(Vec<(String, bool)>);

impl Carriers {
    pub(super) fn get(&self, device: &str) -> Option<bool> {
        self.0.iter().find(|(d, _)| d == device).map(|&(_, c)| c)
    }

    /// Records a carrier; returns the one known before.
    pub(super) fn insert(&mut self, device: &str, carrier: bool) -> Option<bool> {
        match self.0.iter_mut().find(|(d, _)| d == device) {
            Some((_, c)) => Some(std::mem::replace(c, carrier)),
            None => {
                self.0.push((device.to_string(), carrier));
                None
            }
        }
    }
}

/// What every tracker shares with the others.
#[derive(Default)]
pub(super) struct Shared {
    /// Carrier of every link, from rtnetlink events.
    pub(super) carriers: Carriers,
    verdicts: VecDeque<Verdict>,
}

pub struct Trackers {
    list: Vec<Runtime>,
    shared: Shared,
    /// Shutting down: nothing starts any more.
    stopped: bool,
}

/// The group holds the WAN with an address on it: upstream probes can go out.
fn wan_ready(g: &Group) -> bool {
    g.engine.state().holds_wan() && (g.cfg.dhcp == DhcpMode::None || g.applied.is_some())
}

impl Runtime {
    fn new(group: usize, index: usize, group_name: &str, cfg: &config::Tracker) -> Runtime {
        // Distinct per tracker and per daemon: our replies, not others'.
        let ident = (std::process::id() as u16) ^ (index as u16).rotate_left(8) ^ (group as u16);
        let probe: Box<dyn Probe> = match &cfg.kind {
            TrackerKind::Link { device } => Box::new(Link::new(device)),
            TrackerKind::Ping { targets, count, reliability } => {
                Box::new(Ping::new(targets.clone(), *count, *reliability, ident))
            }
            TrackerKind::Arping { target } => Box::new(Arping::new(*target)),
            TrackerKind::Script { argv } => Box::new(Script::new(argv.clone())),
            TrackerKind::External => Box::new(External),
        };
        Runtime {
            group,
            index,
            group_name: group_name.to_string(),
            cfg: cfg.clone(),
            schedule: Schedule::new(cfg.interval, cfg.rise, cfg.fall),
            probe,
        }
    }

    fn start(&mut self, now: Instant) {
        self.schedule.start(now, self.cfg.kind.info().polls);
    }

    /// Stops probing but keeps the counts (a reload).
    fn suspend(&mut self, reg: &Registry) {
        self.schedule.suspend();
        self.probe.stop(reg);
    }

    /// Stops probing and forgets: the next verdict needs a full run.
    fn stop(&mut self, reg: &Registry) {
        self.schedule.stop();
        self.probe.stop(reg);
    }

    /// Ends the round in flight if it is decided.
    fn poll_round(&mut self, now: Instant, shared: &mut Shared) {
        if !self.schedule.in_round() {
            return;
        }
        if let Some(ok) = self.probe.poll(now) {
            let change = self.schedule.round_ended(ok, now);
            self.changed(change, &mut shared.verdicts);
        }
    }

    /// Finishes a decided round, then starts the next one if it is due.
    fn advance(&mut self, now: Instant, g: &Group, reg: &Registry, token: usize, shared: &mut Shared) {
        if !self.schedule.is_running() {
            return;
        }
        self.poll_round(now, shared);
        if !self.schedule.round_due(now) {
            return;
        }
        let ctx =
            Context { tracker: &self.cfg.name, group_name: &self.group_name, wan_only: self.cfg.wan_only, group: g };
        let begun = self.probe.begin(now, self.cfg.timeout, &ctx, &mut RunCtx { reg, token, shared });
        match begun {
            Begun::Started => self.schedule.round_begun(now),
            Begun::Decided(ok) => {
                let change = self.schedule.result(ok, now, now);
                self.changed(change, &mut shared.verdicts);
            }
            Begun::Skipped => {}
        }
        // A link is sampled only until the state agrees with its carrier;
        // the next change comes as an event.
        if self.probe.settled(self.schedule.state(), shared) {
            self.schedule.wait();
        }
        // A round may be decided at once (a wave to send, nobody to ask).
        self.poll_round(now, shared);
    }

    /// Logs a change of state and passes it on to the engine.
    fn changed(&self, up: Option<bool>, verdicts: &mut VecDeque<Verdict>) {
        let (Some(up), Some(change)) = (up, self.schedule.change()) else { return };
        crate::logging::info!(
            "tracker {} ({}): {} after {} {} in a row, {} ms",
            self.cfg.name,
            self.cfg.kind.info().name,
            if up { "up" } else { "down" },
            if up { self.cfg.rise } else { self.cfg.fall },
            if up { "successes" } else { "failures" },
            millis(change.detect)
        );
        verdicts.push_back(Verdict { group: self.group, index: self.index, up });
    }

    fn deadline(&self) -> Option<Instant> {
        if self.schedule.in_round() { self.probe.deadline() } else { self.schedule.poll_timeout() }
    }

    /// The run time in status: keys by kind are `device` (link),
    /// `answered` and `targets` (ping), `pid` (script, null between
    /// runs); the others have none of them.
    fn status(&self, now: Instant, j: &mut json::Writer) {
        let ago = |t: Instant| now.millis_since(t);
        let (last, change) = (self.schedule.last(), self.schedule.change());
        j.key("type").str(self.cfg.kind.info().name).key("running").bool(self.schedule.is_running());
        j.key("interval_ms").num(millis(self.cfg.interval)).key("timeout_ms").num(millis(self.cfg.timeout));
        j.key("rise").num(u64::from(self.cfg.rise)).key("fall").num(u64::from(self.cfg.fall));
        j.key("last").opt_str(last.map(|(ok, _)| if ok { "ok" } else { "fail" }));
        j.key("last_ago_ms").opt_num(last.map(|(_, t)| ago(t)));
        j.key("change");
        match change {
            Some(c) => {
                j.open('{').key("to").str(if c.up { "up" } else { "down" });
                j.key("ago_ms").num(ago(c.at)).key("detect_ms").num(millis(c.detect)).close('}');
            }
            None => {
                j.null();
            }
        }
        let error = self.probe.status(j);
        j.key("error").opt_str(error);
    }
}

impl Trackers {
    pub fn new(config: &Config) -> Trackers {
        let mut t = Trackers { list: Vec::new(), shared: Shared::default(), stopped: false };
        for (gi, g) in config.groups.iter().enumerate() {
            for (ti, tc) in g.trackers.iter().enumerate() {
                t.list.push(Runtime::new(gi, ti, &g.name, tc));
            }
        }
        t
    }

    /// A reloaded configuration: unchanged trackers keep their counts,
    /// the others start afresh; removed ones stop (scripts killed).
    pub fn reconfigure(&mut self, config: &Config, reg: &Registry) {
        let mut old = std::mem::take(&mut self.list);
        for (gi, g) in config.groups.iter().enumerate() {
            for (ti, tc) in g.trackers.iter().enumerate() {
                let kept = old.iter().position(|o| o.group_name == g.name && o.cfg == *tc).map(|p| old.swap_remove(p));
                let rt = match kept {
                    // Its tokens change with its place: sockets reopen.
                    Some(mut o) => {
                        o.suspend(reg);
                        o.group = gi;
                        o.index = ti;
                        o
                    }
                    None => Runtime::new(gi, ti, &g.name, tc),
                };
                self.list.push(rt);
            }
        }
        for mut o in old {
            o.stop(reg);
        }
    }

    /// Starts and stops trackers as their groups gain and lose the WAN.
    pub fn sync(&mut self, now: Instant, groups: &[Group], reg: &Registry) {
        if self.stopped {
            return;
        }
        for rt in &mut self.list {
            let want = groups.get(rt.group).is_some_and(|g| !rt.cfg.wan_only || wan_ready(g));
            let running = rt.schedule.is_running();
            if want && !running {
                crate::logging::debug!("tracker {}: running", rt.cfg.name);
                rt.start(now);
            } else if !want && running {
                crate::logging::debug!("tracker {}: paused, the WAN is not ours", rt.cfg.name);
                rt.stop(reg);
            }
        }
    }

    /// Ends decided rounds and starts due ones. Call once per loop turn.
    pub fn advance(&mut self, now: Instant, groups: &[Group], reg: &Registry) {
        for (i, rt) in self.list.iter_mut().enumerate() {
            if let Some(g) = groups.get(rt.group) {
                rt.advance(now, g, reg, token(i), &mut self.shared);
            }
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.list.iter().filter_map(Runtime::deadline).min()
    }

    /// A socket of a tracker is readable.
    pub fn readable(&mut self, token: usize) {
        let Some(rel) = token.checked_sub(TOKEN_BASE) else { return };
        let Some(rt) = self.list.get_mut(rel / TOKENS_PER_TRACKER) else { return };
        rt.probe.readable(rel % TOKENS_PER_TRACKER);
    }

    /// A link event: a carrier change is a probe result at once; until the
    /// state follows, the carrier is sampled every interval.
    pub fn on_link(&mut self, device: &str, carrier: bool, now: Instant) {
        if self.shared.carriers.insert(device, carrier) == Some(carrier) {
            return;
        }
        for rt in &mut self.list {
            if rt.probe.watches(device) {
                rt.schedule.wake(now);
            }
        }
    }

    /// An external tracker's verdict, passed on as it is.
    pub fn external(&mut self, name: &str, up: bool, now: Instant) -> Result<(), String> {
        let rt = self.list.iter_mut().find(|t| t.cfg.name == name).ok_or_else(|| format!("no tracker {name}"))?;
        if !matches!(rt.cfg.kind, TrackerKind::External) {
            return Err(format!("tracker {name} is not external"));
        }
        if rt.schedule.last().map(|l| l.0) != Some(up) {
            crate::logging::info!("tracker {name} (external): {}", if up { "up" } else { "down" });
        }
        rt.schedule.verdict(up, now);
        self.shared.verdicts.push_back(Verdict { group: rt.group, index: rt.index, up });
        Ok(())
    }

    /// A group whose engine has just started (it waited for its router
    /// id) hears every verdict reached so far.
    pub fn replay(&mut self, group: usize) {
        for rt in self.list.iter().filter(|rt| rt.group == group) {
            if let Some(up) = rt.schedule.state() {
                self.shared.verdicts.push_back(Verdict { group, index: rt.index, up });
            }
        }
    }

    /// The next change of state for the engine.
    pub fn poll_verdict(&mut self) -> Option<Verdict> {
        self.shared.verdicts.pop_front()
    }

    /// Shutdown: scripts are killed, sockets closed, nothing restarts.
    pub fn stop_all(&mut self, reg: &Registry) {
        self.stopped = true;
        for rt in &mut self.list {
            rt.stop(reg);
        }
    }

    /// Tracker `index` of group `group` in status: its run time, added
    /// to the engine's entry.
    pub fn status(&self, group: usize, index: usize, now: Instant, j: &mut json::Writer) {
        if let Some(t) = self.list.iter().find(|t| t.group == group && t.index == index) {
            t.status(now, j);
        }
    }
}

fn token(i: usize) -> usize {
    TOKEN_BASE.saturating_add(i.saturating_mul(TOKENS_PER_TRACKER))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn cfg(kind: TrackerKind, rise: u8, fall: u8) -> config::Tracker {
        config::Tracker {
            name: "t".into(),
            kind,
            interval: Duration::from_millis(100),
            timeout: Duration::from_millis(50),
            rise,
            fall,
            weight: config::Weight::Fatal,
            wan_only: false,
        }
    }

    /// Every kind of value the status reply holds, escapes included.
    pub(in crate::daemon) fn sample_status() -> (Trackers, Vec<crate::engine::Status>, Instant) {
        let mut t = Trackers { list: Vec::new(), shared: Shared::default(), stopped: false };
        let now = Instant::from_millis(5_000);
        let mut link = Runtime::new(0, 0, "wan", &cfg(TrackerKind::Link { device: "wan\"1".into() }, 1, 1));
        // Down 250 ms after the failing run began; then one success of two.
        link.schedule = Schedule::new(Duration::from_millis(100), 2, 1);
        link.start(now);
        link.schedule.result(false, Instant::from_millis(4_750), now);
        link.schedule.result(true, now, now);
        t.list.push(link);
        let ping =
            TrackerKind::Ping { targets: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))], count: 1, reliability: 1 };
        let mut ping = Runtime::new(0, 1, "wan", &cfg(ping, 1, 1));
        // One failure of two: no change yet.
        ping.schedule = Schedule::new(Duration::from_millis(100), 1, 2);
        ping.schedule.result(false, now, now);
        let mut p = Ping::new(vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))], 1, 1, 7);
        p.last_answered = Some(0);
        p.error = Some("no route\tto host".into());
        ping.probe = Box::new(p);
        t.list.push(ping);
        t.list.push(Runtime::new(0, 2, "wan", &cfg(TrackerKind::External, 1, 1)));
        t.list.push(Runtime::new(0, 3, "wan", &cfg(TrackerKind::Script { argv: vec!["/bin/true".into()] }, 1, 1)));
        t.list.push(Runtime::new(0, 5, "wan", &cfg(TrackerKind::Arping { target: None }, 1, 1)));
        (t, crate::engine::Status::samples(), now)
    }

    #[test]
    fn only_changes_reach_the_engine() {
        let mut rt = Runtime::new(0, 2, "wan", &cfg(TrackerKind::External, 2, 3));
        let mut v = VecDeque::new();
        let at = |n: u64| Instant::from_millis(100 * n);
        for (n, ok) in [(0, true), (1, true), (2, true), (3, false), (4, false), (5, false), (6, false)] {
            let change = rt.schedule.result(ok, at(n), at(n));
            rt.changed(change, &mut v);
        }
        assert_eq!(Vec::from(v), [Verdict { group: 0, index: 2, up: true }, Verdict { group: 0, index: 2, up: false }]);
    }

    #[test]
    fn tokens_of_trackers_never_meet_group_tokens() {
        // 255 groups of 16 tokens from 16 end below the first tracker token.
        const { assert!(16 + 255 * 16 <= TOKEN_BASE) };
        assert_eq!(token(0), TOKEN_BASE);
        assert_eq!(token(3), TOKEN_BASE + 6);
    }

    #[test]
    fn link_changes_wake_only_link_trackers_on_that_device() {
        let mut t = Trackers { list: Vec::new(), shared: Shared::default(), stopped: false };
        t.list.push(Runtime::new(0, 0, "wan", &cfg(TrackerKind::Link { device: "wan".into() }, 1, 1)));
        let ping =
            TrackerKind::Ping { targets: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))], count: 1, reliability: 1 };
        t.list.push(Runtime::new(0, 1, "wan", &cfg(ping, 1, 1)));
        let now = Instant::from_millis(1_000);
        for rt in &mut t.list {
            rt.start(now);
            rt.schedule.wait();
        }
        t.on_link("lan", false, now);
        assert_eq!(t.list[0].schedule.poll_timeout(), None);
        t.on_link("wan", true, now);
        assert_eq!(t.list[0].schedule.poll_timeout(), Some(now));
        assert_eq!(t.list[1].schedule.poll_timeout(), None);
        t.list[0].schedule.wait();
        t.on_link("wan", true, now);
        assert_eq!(t.list[0].schedule.poll_timeout(), None, "the same carrier again is no change");
        assert_eq!(t.deadline(), None);
    }

    #[test]
    fn external_verdicts_are_final_and_checked() {
        let mut t = Trackers { list: Vec::new(), shared: Shared::default(), stopped: false };
        let mut e = cfg(TrackerKind::External, 3, 3);
        e.name = "mwan".into();
        t.list.push(Runtime::new(0, 0, "wan", &cfg(TrackerKind::Link { device: "wan".into() }, 1, 1)));
        t.list.push(Runtime::new(0, 1, "wan", &e));
        let now = Instant::from_millis(1_000);
        assert_eq!(t.external("mwan", false, now), Ok(()));
        assert_eq!(t.poll_verdict(), Some(Verdict { group: 0, index: 1, up: false }), "no rise/fall: at once");
        assert_eq!(t.external("mwan", false, now), Ok(()));
        assert!(t.poll_verdict().is_some(), "repeated: the engine may have forgotten it");
        assert!(t.external("t", true, now).unwrap_err().contains("not external"));
        assert!(t.external("nope", true, now).unwrap_err().contains("no tracker"));
        let mut j = json::Writer::new();
        j.open('[');
        for i in 0..3 {
            j.open('{');
            t.status(0, i, now, &mut j);
            j.close('}');
        }
        j.close(']');
        let entries: serde_json::Value = serde_json::from_str(&j.finish()).unwrap();
        assert_eq!(entries[2], serde_json::json!({}), "no such tracker: the engine's entry only");
        assert_eq!(entries[1]["type"], "external");
        assert_eq!(entries[1]["last"], "fail");
        assert_eq!(entries[1]["change"]["to"], "down");
        assert_eq!(entries[0]["device"], "wan");
    }
}
