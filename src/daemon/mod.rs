//! The event loop: one thread, mio. Sockets, signals, the control socket
//! and child processes in; the engines decide; `group` carries it out.
//! Idle means asleep until the next engine deadline.

mod group;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use mio::net::UnixListener;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::config::{self, Config};
use crate::control::{MAX_REQUEST, Request};
use crate::json::{self, Value};
use crate::engine::Command;
use crate::system::hooks::Hooks;
use crate::system::nft::{self, Fence};
use crate::system::rtnl::LinkMonitor;
use crate::system::dhcp;
use crate::time::Instant;
use crate::tracker::RiseFall;
pub use group::share_dir;
use group::{Group, RENEWER, TOKENS_PER_GROUP};

const SIGNALS: Token = Token(0);
const CONTROL: Token = Token(1);
const LINKS: Token = Token(2);
const GROUP_BASE: usize = 16;

/// Maps the system's monotonic clock onto the engine's instants.
struct Clock(std::time::Instant);

impl Clock {
    fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.0.elapsed().as_micros()).unwrap_or(u64::MAX))
    }
    fn to_std(&self, t: Instant) -> std::time::Instant {
        self.0 + Duration::from_micros(t.as_micros())
    }
}

/// A link tracker: carrier of a device, straight from rtnetlink events.
struct LinkTracker {
    group: usize,
    index: usize,
    device: String,
    state: RiseFall,
}

pub struct Daemon {
    poll: Poll,
    clock: Clock,
    path: PathBuf,
    config: Config,
    groups: Vec<Group>,
    fence: Fence,
    links: LinkMonitor,
    link_trackers: Vec<LinkTracker>,
    listener: UnixListener,
    signals: SignalFd,
    hooks: Hooks,
    next_fence_check: std::time::Instant,
    shutdown_deadline: Option<std::time::Instant>,
}

fn wan_devices(c: &Config) -> Vec<(String, u16)> {
    c.groups.iter().map(|g| (g.wan_device.clone(), g.ethertype)).collect()
}

fn install_fence(c: &Config) -> io::Result<()> {
    let devs = wan_devices(c);
    let refs: Vec<(&str, u16)> = devs.iter().map(|(d, e)| (d.as_str(), *e)).collect();
    nft::install(&refs)
}

impl Daemon {
    pub fn new(path: &Path) -> anyhow::Result<Daemon> {
        let config = config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
        if config.groups.is_empty() {
            bail!("{}: no enabled group", path.display());
        }
        // Fail closed: the fence is in place before anything else.
        install_fence(&config).context("installing the nftables fence")?;
        let clock = Clock(std::time::Instant::now());
        let poll = Poll::new()?;
        let now = clock.now();
        let mut groups = Vec::new();
        for (i, g) in config.groups.iter().enumerate() {
            let mut grp = Group::open(g, &config.globals.control_socket, now).with_context(|| format!("group {}", g.name))?;
            grp.register(poll.registry(), GROUP_BASE + i * TOKENS_PER_GROUP)?;
            groups.push(grp);
        }
        let mut mask = SigSet::empty();
        for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGCHLD] {
            mask.add(s);
        }
        mask.thread_block()?;
        let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        poll.registry().register(&mut SourceFd(&signals.as_raw_fd()), SIGNALS, Interest::READABLE)?;
        let mut listener = open_control(&config.globals.control_socket)?;
        poll.registry().register(&mut listener, CONTROL, Interest::READABLE)?;
        let mut links = LinkMonitor::open()?;
        links.dump()?;
        poll.registry().register(&mut SourceFd(&links.as_raw_fd()), LINKS, Interest::READABLE)?;
        let hooks = Hooks::new(&config.globals.hook_dir, config.globals.hook_timeout);
        let mut d = Daemon {
            poll,
            clock,
            path: path.to_path_buf(),
            config,
            groups,
            fence: Fence::open()?,
            links,
            link_trackers: Vec::new(),
            listener,
            signals,
            hooks,
            next_fence_check: std::time::Instant::now(),
            shutdown_deadline: None,
        };
        d.setup_trackers();
        Ok(d)
    }

    fn setup_trackers(&mut self) {
        self.link_trackers.clear();
        for (gi, g) in self.config.groups.iter().enumerate() {
            for (ti, t) in g.trackers.iter().enumerate() {
                match &t.kind {
                    config::TrackerKind::Link { device } => self.link_trackers.push(LinkTracker {
                        group: gi,
                        index: ti,
                        device: device.clone(),
                        state: RiseFall::new(1, 1),
                    }),
                    config::TrackerKind::External => {}
                    other => log::warn!("tracker {}: type {other:?} is not supported yet; it stays unknown", t.name),
                }
            }
        }
    }

    pub fn run(&mut self) -> anyhow::Result<()> {
        let mut events = Events::with_capacity(64);
        for g in &self.config.groups {
            log::info!("group {}: started on WAN {} (fence installed, WAN closed)", g.name, g.wan_device);
        }
        loop {
            let timeout = self.next_deadline().map(|t| t.saturating_duration_since(std::time::Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e.into());
            }
            // Frames first: a process that was stopped reads what its
            // peers said before its own timers run (docs/PROTOCOL.md §6).
            for ev in events.iter() {
                match ev.token() {
                    SIGNALS => self.on_signals(),
                    CONTROL => self.accept_control(),
                    LINKS => self.on_links(),
                    Token(t) if t >= GROUP_BASE => {
                        let gi = (t - GROUP_BASE) / TOKENS_PER_GROUP;
                        let sub = (t - GROUP_BASE) % TOKENS_PER_GROUP;
                        let now = self.clock.now();
                        if let Some(g) = self.groups.get_mut(gi) {
                            if sub == RENEWER {
                                g.renewer_readable(now);
                            } else {
                                g.receive(sub, now);
                            }
                        }
                        self.execute(gi);
                    }
                    _ => {}
                }
            }
            self.on_timers();
            if self.groups.iter().all(|g| g.exited) {
                log::info!("all groups handed over or released: exiting");
                return Ok(());
            }
            if self.shutdown_deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                log::warn!("shutdown did not complete in time: exiting with the WAN closed");
                for g in 0..self.groups.len() {
                    let ifindex = self.groups[g].wan.ifindex;
                    let _ = self.fence.close(ifindex);
                }
                return Ok(());
            }
        }
    }

    fn execute(&mut self, gi: usize) {
        let now = self.clock.now();
        let reg = self.poll.registry();
        if let Some(g) = self.groups.get_mut(gi) {
            g.execute(now, &mut self.fence, &mut self.hooks, reg, GROUP_BASE + gi * TOKENS_PER_GROUP);
        }
    }

    fn next_deadline(&self) -> Option<std::time::Instant> {
        let mut t = Some(self.next_fence_check);
        let mut consider = |x: Option<std::time::Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        for g in &self.groups {
            consider(g.engine.poll_timeout().map(|i| self.clock.to_std(i)));
            consider(g.renewer.as_ref().map(|r| r.1));
        }
        consider(self.hooks.deadline());
        consider(self.shutdown_deadline);
        t
    }

    fn on_timers(&mut self) {
        let now = self.clock.now();
        for gi in 0..self.groups.len() {
            let g = &mut self.groups[gi];
            if g.engine.poll_timeout().is_some_and(|t| t <= now) {
                g.engine.handle_timeout(now);
            }
            g.renewer_timeout();
            self.execute(gi);
        }
        self.hooks.poll();
        if std::time::Instant::now() >= self.next_fence_check {
            self.check_fence();
        }
    }

    /// `nft flush ruleset` or `fw4 flush` removed our table: put it back
    /// (closed), and let an active router refresh its permission at once.
    fn check_fence(&mut self) {
        let min_hello = self.config.groups.iter().map(|g| g.hello_interval).min().unwrap_or(Duration::from_secs(1));
        // Twice a hello, so a flushed table is back within one hello.
        self.next_fence_check = std::time::Instant::now() + min_hello / 2;
        match self.fence.table_present() {
            Ok(true) => {}
            Ok(false) => {
                log::warn!("nftables table netdev vwrp disappeared: restoring it");
                if let Err(e) = install_fence(&self.config) {
                    log::error!("restoring the fence: {e}");
                    return;
                }
                let now = self.clock.now();
                for gi in 0..self.groups.len() {
                    self.groups[gi].engine.handle_fence_restored(now);
                    self.execute(gi);
                }
            }
            Err(e) => log::warn!("checking the fence: {e}"),
        }
    }

    fn on_signals(&mut self) {
        while let Ok(Some(info)) = self.signals.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGTERM) | Ok(Signal::SIGINT) => self.shutdown(),
                Ok(Signal::SIGHUP) => self.reload(),
                Ok(Signal::SIGCHLD) => {
                    let now = self.clock.now();
                    for gi in 0..self.groups.len() {
                        self.groups[gi].reap(now);
                        self.execute(gi);
                    }
                    self.hooks.poll();
                }
                _ => {}
            }
        }
    }

    /// SIGTERM: hand over if active, say goodbye, then exit.
    fn shutdown(&mut self) {
        if self.shutdown_deadline.is_some() {
            return;
        }
        log::info!("terminating: handing over");
        let now = self.clock.now();
        let mut longest = Duration::ZERO;
        for gi in 0..self.groups.len() {
            let g = &mut self.groups[gi];
            longest = longest.max(g.engine.settings().handover_timeout());
            let _ = g.engine.handle_command(now, Command::Shutdown);
            g.stop_children();
            self.execute(gi);
        }
        self.shutdown_deadline = Some(std::time::Instant::now() + longest + Duration::from_secs(1));
    }

    /// SIGHUP: a bad file is refused and the running configuration kept;
    /// a good one is applied without losing state.
    fn reload(&mut self) {
        let new = match config::load(&self.path) {
            Ok(c) => c,
            Err(e) => {
                log::error!("reload refused, keeping the running configuration: {e}");
                return;
            }
        };
        let now = self.clock.now();
        let names_same = new.groups.len() == self.groups.len()
            && new.groups.iter().zip(&self.groups).all(|(n, g)| n.name == g.cfg.name);
        if !names_same {
            log::error!("reload refused: groups were added or removed; restart vwrp to apply");
            return;
        }
        for (gi, n) in new.groups.iter().enumerate() {
            if let Err(e) = self.groups[gi].reconfigure(n, now) {
                log::error!("group {}: reload refused: {e}", n.name);
                return;
            }
            self.execute(gi);
        }
        self.hooks.set(&new.globals.hook_dir, new.globals.hook_timeout);
        self.config = new;
        self.setup_trackers();
        let _ = self.links.dump();
        log::info!("configuration reloaded");
    }

    fn on_links(&mut self) {
        let events = match self.links.read_events() {
            Ok(e) => e,
            Err(e) => {
                log::warn!("link events: {e}");
                return;
            }
        };
        let now = self.clock.now();
        for ev in events {
            for gi in 0..self.groups.len() {
                if self.groups[gi].wan.ifindex == ev.index {
                    self.groups[gi].engine.handle_wan_link(now, ev.carrier);
                    self.execute(gi);
                }
            }
            for t in &mut self.link_trackers {
                if t.device == ev.name && let Some(up) = t.state.probe(ev.carrier) {
                    log::info!("tracker {}: link {}", t.device, if up { "up" } else { "down" });
                    self.groups[t.group].engine.handle_tracker(now, t.index, up);
                }
            }
        }
        for gi in 0..self.groups.len() {
            self.execute(gi);
        }
    }

    fn accept_control(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    // A client gets a short, bounded exchange; the loop
                    // never waits on it for long.
                    let std: std::os::unix::net::UnixStream = stream.into();
                    let _ = std.set_nonblocking(false);
                    let _ = std.set_read_timeout(Some(Duration::from_millis(200)));
                    let _ = std.set_write_timeout(Some(Duration::from_millis(200)));
                    let reply = self.serve(&std);
                    let line = format!("{reply}\n");
                    let _ = (&std).write_all(line.as_bytes());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    log::warn!("control socket: {e}");
                    return;
                }
            }
        }
    }

    fn serve(&mut self, s: &std::os::unix::net::UnixStream) -> Value {
        let mut line = String::new();
        if let Err(e) = BufReader::new(s).take(MAX_REQUEST as u64).read_line(&mut line) {
            return Value::object([("error", format!("reading request: {e}").into())]);
        }
        let req = match Request::from_json(&line) {
            Ok(r) => r,
            Err(e) => return Value::object([("error", format!("bad request: {e}").into())]),
        };
        let now = self.clock.now();
        let r = match req {
            Request::Status => return self.status(now),
            Request::StepUp { group } => self.command(group.as_deref(), now, Command::StepUp),
            Request::StepDown { group } => self.command(group.as_deref(), now, Command::StepDown),
            Request::SetPriority { priority, group } => self.command(group.as_deref(), now, Command::SetPriority(priority)),
            Request::Lease { device, env } => self.lease_event(&device, &env, now),
            Request::Tracker { name, up } => self.external_tracker(&name, up, now),
        };
        match r {
            Ok(()) => Value::object([("ok", true.into())]),
            Err(e) => Value::object([("error", e.into())]),
        }
    }

    fn find_group(&self, name: Option<&str>) -> Result<usize, String> {
        match name {
            Some(n) => self.groups.iter().position(|g| g.cfg.name == n).ok_or_else(|| format!("no group {n}")),
            None if self.groups.len() == 1 => Ok(0),
            None => Err("several groups: name one".into()),
        }
    }

    fn command(&mut self, group: Option<&str>, now: Instant, c: Command) -> Result<(), String> {
        let gi = self.find_group(group)?;
        let r = self.groups[gi].engine.handle_command(now, c).map_err(str::to_string);
        log::info!("group {}: operator {c:?}: {}", self.groups[gi].cfg.name, r.as_ref().err().map_or("ok", |e| e.as_str()));
        self.execute(gi);
        r
    }

    fn lease_event(&mut self, device: &str, env: &[(String, String)], now: Instant) -> Result<(), String> {
        let gi = self.groups.iter().position(|g| g.cfg.wan_device == device).ok_or_else(|| format!("no group on {device}"))?;
        let (lease, client_id) =
            dhcp::lease_from_udhcpc_env(|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))?;
        log::info!("group {}: DHCP bound {} for {} s", self.groups[gi].cfg.name, lease.address, lease.valid_left);
        self.groups[gi].engine.handle_lease(now, lease, client_id);
        self.execute(gi);
        Ok(())
    }

    fn external_tracker(&mut self, name: &str, up: bool, now: Instant) -> Result<(), String> {
        for (gi, g) in self.config.groups.iter().enumerate() {
            if let Some(ti) = g.trackers.iter().position(|t| t.name == name) {
                if g.trackers[ti].kind != config::TrackerKind::External {
                    return Err(format!("tracker {name} is not external"));
                }
                self.groups[gi].engine.handle_tracker(now, ti, up);
                self.execute(gi);
                return Ok(());
            }
        }
        Err(format!("no tracker {name}"))
    }

    fn status(&self, now: Instant) -> Value {
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|g| {
                let mut v = json::to_value(&g.engine.status(now)).unwrap_or(Value::Null);
                if let Some(o) = v.as_object_mut() {
                    o.insert("name".into(), g.cfg.name.as_str().into());
                    o.insert("wan_device".into(), g.wan.name.as_str().into());
                    o.insert("control".into(), g.control.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().into());
                }
                v
            })
            .collect();
        Value::object([("groups", Value::Array(groups))])
    }
}

/// The control socket, root only: mode 0600 in a 0700 directory.
fn open_control(path: &Path) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}
