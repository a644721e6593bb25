//! The event loop: one thread, mio. Sockets, signals, control clients and
//! child processes in; the engines decide; `group` carries it out. Idle
//! means asleep until the next deadline, at most a second. Nothing on the
//! loop waits for long (docs/ARCHITECTURE.md, "What may block"), and a
//! watchdog ends the process if the loop ever stops turning.

mod clients;
mod conntrack;
mod group;
mod listener;
mod status;
mod trackers;
mod watchdog;

use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mio::net::UnixListener;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::config::{self, Config};
use crate::control::{self, Request};
use crate::engine::{Command, permit_timeout};
use crate::json;
use crate::system::hooks::Hooks;
use crate::system::nft::{self, Fence, FenceWatch, Wan};
use crate::system::process::{self, Child};
use crate::system::rtnl::LinkMonitor;
use crate::system::{netifd, odhcp6c, realtime, udhcpc};
use crate::time::{Instant, millis, times};
use crate::wire::Mac;
use clients::Clients;
use conntrack::{Conntrack, Roles};
pub use group::share_dir;
use group::{Group, RENEWER, RENEWER6, ROUTERS, SOLICITS, TOKENS_PER_GROUP};
use trackers::Trackers;
pub use watchdog::EXIT_STALLED;
use watchdog::Watchdog;

const SIGNALS: Token = Token(0);
const CONTROL: Token = Token(1);
const LINKS: Token = Token(2);
const NFT_EVENTS: Token = Token(3);
/// Safety net for nftables notifications lost to a full socket buffer:
/// the ruleset's generation, and the whole fence when it moved.
const FENCE_RECHECK: Duration = Duration::from_secs(1);
/// The whole fence at least this often, whatever the generation says: a
/// device deleted with its chains (before Linux 6.16) does not move it,
/// and its link event may have been lost too.
const FENCE_FULL_CHECK: Duration = Duration::from_secs(10);
const GROUP_BASE: usize = 16;

/// The daemon's one clock: the system's monotonic clock as the engine's
/// instants. Everything with a deadline (the engines, the trackers, the
/// hooks, the loop's own rechecks) is handed `now` from here; nothing else
/// reads a clock (src/time.rs tests that).
pub(crate) struct Clock(std::time::Instant, u64);

impl Clock {
    pub(crate) fn start() -> Clock {
        // The same clock as std's Instant, read as a number: microseconds
        // since boot, for what must outlive this process (a kept lease).
        // SAFETY: clock_gettime only writes the timespec it is given.
        let mut ts = nix::libc::timespec { tv_sec: 0, tv_nsec: 0 };
        unsafe { nix::libc::clock_gettime(nix::libc::CLOCK_MONOTONIC, &mut ts) };
        let boot_us = u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0) / 1000;
        Clock(std::time::Instant::now(), boot_us)
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.0.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    /// Microseconds since boot at this clock's `Instant::ZERO`: one of its
    /// instants `t` is `boot_us() + t` on the system's monotonic clock.
    pub(crate) fn boot_us(&self) -> u64 {
        self.1
    }
    /// A deadline of std's clock (`system::process`'s) on this one.
    fn of_std(&self, t: std::time::Instant) -> Instant {
        Instant::from_micros(u64::try_from(t.saturating_duration_since(self.0).as_micros()).unwrap_or(u64::MAX))
    }

    /// One of this clock's instants on std's, for `system::process`.
    fn to_std(&self, t: Instant) -> std::time::Instant {
        self.0 + Duration::from_micros(t.as_micros())
    }
}

pub struct Daemon {
    poll: Poll,
    clock: Clock,
    path: PathBuf,
    config: Config,
    groups: Vec<Group>,
    fence: Fence,
    links: LinkMonitor,
    trackers: Trackers,
    listener: UnixListener,
    clients: Clients,
    signals: SignalFd,
    hooks: Hooks,
    fence_watch: FenceWatch,
    next_fence_check: Instant,
    /// The ruleset generation the last whole check began at, and when the
    /// next whole check is due regardless.
    fence_checked: Option<(u32, Instant)>,
    shutdown_deadline: Option<Instant>,
    /// Armed while the loop runs.
    watchdog: Option<Watchdog>,
    /// conntrackd, while a group syncs connection tracking.
    conntrack: Option<Conntrack>,
    /// Hello sockets (by token) whose frames were not all read in the last
    /// turn (`RECV_BUDGET`): read again in the next, which does not sleep.
    /// Their readiness is edge-triggered, so it would not say so again.
    backlog: Vec<usize>,
    /// The sockets read in this turn; kept so that a turn allocates nothing.
    readable: Vec<usize>,
    /// `vwrp netifd-guard`, with `dhcp 'netifd'`: tells netifd the link
    /// is down if this process dies without saying so itself.
    netifd_guard: Option<Child>,
}

/// Starts `vwrp netifd-guard` when a group hands its lease to netifd.
fn start_netifd_guard(c: &Config, path: &Path) -> Option<Child> {
    if !c.groups.iter().any(|g| g.dhcp == config::DhcpMode::Netifd) {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    let mut cmd = process::Command::new(exe);
    cmd.arg("-c").arg(path).arg("netifd-guard").stdout(process::Stdio::Null);
    match process::spawn_watching(&cmd) {
        Ok(c) => Some(c),
        Err(e) => {
            crate::logging::warn!("netifd guard: {e}: a crash would leave netifd's view of the WAN up");
            None
        }
    }
}

/// Holds the signals the daemon handles for its signalfd. Call it first
/// thing: a reload (SIGHUP) right after procd started us must not end us.
pub fn block_signals() -> io::Result<SigSet> {
    let mut mask = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGCHLD, Signal::SIGXCPU] {
        mask.add(s);
    }
    mask.thread_block()?;
    Ok(mask)
}

/// What the fence covers: every group's WAN device, with the EtherType and
/// shared MAC of its WAN frames and its permit timeout.
pub fn wan_devices(c: &Config) -> Vec<Wan> {
    c.groups
        .iter()
        .map(|g| {
            let permit = permit_timeout(g.hello_interval, g.dead_multiplier);
            Wan::new(&g.wan_device, g.ethertype, Mac(g.shared_mac), permit)
        })
        .collect()
}

/// Real-time scheduling at `priority`, or (0) normal scheduling. A kernel
/// that refuses only costs the protection: the daemon runs on.
fn set_realtime(priority: u8) {
    if priority == 0 {
        match realtime::leave() {
            Ok(()) => crate::logging::info!("real-time scheduling off (realtime_priority 0)"),
            Err(e) => crate::logging::warn!("normal scheduling: {e}"),
        }
        return;
    }
    match realtime::enter(priority) {
        Ok(e) if e.locked => crate::logging::info!("real-time scheduling: SCHED_RR priority {priority}, memory locked"),
        Ok(_) => crate::logging::warn!(
            "real-time scheduling: SCHED_RR priority {priority}; memory NOT locked (not permitted)"
        ),
        Err(e) => crate::logging::warn!("real-time scheduling refused ({e}): a busy router may starve the daemon"),
    }
}

/// The longest dead interval of any group, its skew included (the skew is
/// under a hello): (multiplier + 1) × hello.
fn dead_bound(c: &Config) -> Duration {
    let bound = |g: &config::Group| times(g.hello_interval, u32::from(g.dead_multiplier) + 1);
    c.groups.iter().map(bound).max().unwrap_or_default()
}

impl Daemon {
    /// Reads the configuration, closes every WAN, opens every socket.
    /// The error says what failed, for the operator.
    pub fn new(path: &Path) -> Result<Daemon, String> {
        let mask = block_signals().map_err(|e| e.to_string())?;
        let config = config::load(path).map_err(|e| e.to_string())?;
        if config.groups.is_empty() {
            return Err(format!("{}: no enabled group", path.display()));
        }
        // Fail closed: the fence is in place before anything else. Its
        // socket owns one of its tables for as long as the daemon lives.
        let mut fence = Fence::open().map_err(|e| format!("nftables: {e}"))?;
        let devs = wan_devices(&config);
        fence.install(&devs).map_err(|e| {
            if e.raw_os_error() == Some(nix::libc::EPERM) {
                format!("{}: another vwrp daemon is running (it owns table netdev vwrp_owned)", path.display())
            } else {
                format!("installing the nftables fence: {e}")
            }
        })?;
        Daemon::open(path, config, fence, &mask).map_err(|e| e.to_string())
    }

    fn open(path: &Path, config: Config, fence: Fence, mask: &SigSet) -> io::Result<Daemon> {
        let clock = Clock::start();
        let poll = Poll::new()?;
        let now = clock.now();
        let mut groups = Vec::new();
        for (i, g) in config.groups.iter().enumerate() {
            let mut grp = Group::open(g, &config.globals, clock.boot_us(), now)
                .map_err(|e| io::Error::new(e.kind(), format!("group {}: {e}", g.name)))?;
            grp.register(poll.registry(), GROUP_BASE + i * TOKENS_PER_GROUP)?;
            groups.push(grp);
        }
        let signals = SignalFd::with_flags(mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        poll.registry().register(&mut SourceFd(&signals.as_raw_fd()), SIGNALS, Interest::READABLE)?;
        let mut listener = listener::open(&config.globals.control_socket)?;
        poll.registry().register(&mut listener, CONTROL, Interest::READABLE)?;
        let mut links = LinkMonitor::open()?;
        links.dump()?;
        poll.registry().register(&mut SourceFd(&links.as_raw_fd()), LINKS, Interest::READABLE)?;
        let fence_watch = FenceWatch::open()?;
        poll.registry().register(&mut SourceFd(&fence_watch.as_raw_fd()), NFT_EVENTS, Interest::READABLE)?;
        let hooks = Hooks::new(&config.globals.hook_dir, config.globals.hook_timeout);
        let trackers = Trackers::new(&config);
        let conntrack = Conntrack::new(&config, now);
        let netifd_guard = start_netifd_guard(&config, path);
        Ok(Daemon {
            poll,
            clock,
            path: path.to_path_buf(),
            config,
            groups,
            fence,
            links,
            trackers,
            listener,
            clients: Clients::default(),
            signals,
            hooks,
            fence_watch,
            next_fence_check: now,
            fence_checked: None,
            shutdown_deadline: None,
            watchdog: None,
            conntrack,
            backlog: Vec::new(),
            readable: Vec::new(),
            netifd_guard,
        })
    }

    /// Runs until SIGTERM has been carried out, then ends every child
    /// still running and removes the control socket.
    pub fn run(&mut self) -> io::Result<()> {
        for g in &self.config.groups {
            crate::logging::info!("group {}: started on WAN {} (fence installed, WAN closed)", g.name, g.wan_device);
        }
        for w in config::warnings(&self.config) {
            crate::logging::warn!("{w}");
        }
        set_realtime(self.config.globals.realtime_priority);
        let r = Watchdog::start(dead_bound(&self.config), self.clock.now()).and_then(|w| {
            crate::logging::info!("stall watchdog: {} ms", millis(w.bound()));
            self.watchdog = Some(w);
            self.turn()
        });
        self.finish();
        r
    }

    fn turn(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(64);
        loop {
            if let Some(w) = &mut self.watchdog {
                w.feed(self.clock.now());
            }
            let timeout = if self.backlog.is_empty() {
                self.next_deadline().map(|t| t.since(self.clock.now()))
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            // The hellos due go out before anything is read: a flood of
            // frames cannot delay them (docs/ARCHITECTURE.md).
            self.send_due_hellos();
            // Then frames, before the other timers: a process that was
            // stopped reads what its peers said before its own timers run
            // (docs/PROTOCOL.md §6).
            let mut readable = std::mem::take(&mut self.readable);
            readable.clear();
            readable.append(&mut self.backlog);
            for ev in events.iter() {
                match ev.token() {
                    SIGNALS => self.on_signals(),
                    CONTROL => self.clients.accept(&self.listener, self.poll.registry(), self.clock.now()),
                    LINKS => self.on_links(),
                    NFT_EVENTS if self.fence_watch.deletions() => self.check_fence(),
                    Token(t) if t >= clients::TOKEN_BASE => self.on_client(t),
                    Token(t) if t >= trackers::TOKEN_BASE => self.trackers.readable(t),
                    Token(t) if t >= GROUP_BASE && !readable.contains(&t) => readable.push(t),
                    _ => {}
                }
            }
            for &t in &readable {
                let gi = (t - GROUP_BASE) / TOKENS_PER_GROUP;
                let sub = (t - GROUP_BASE) % TOKENS_PER_GROUP;
                let now = self.clock.now();
                if let Some(g) = self.groups.get_mut(gi) {
                    match sub {
                        RENEWER => g.renewer_readable(now),
                        RENEWER6 => g.dhcp6_readable(now),
                        ROUTERS => g.routers_readable(now),
                        SOLICITS => g.solicits_readable(now),
                        _ => {
                            if g.receive(sub, now) {
                                self.backlog.push(t);
                            }
                        }
                    }
                }
                self.execute(gi);
            }
            self.readable = readable;
            self.on_timers();
            self.run_trackers();
            let handed_over = self.groups.iter().all(|g| g.exited);
            if handed_over && self.hooks.idle() {
                crate::logging::info!("all groups handed over or released: exiting");
                return Ok(());
            }
            if self.shutdown_deadline.is_some_and(|d| self.clock.now() >= d) {
                if !handed_over {
                    crate::logging::warn!("shutdown did not complete in time: exiting with the WAN closed");
                    for g in self.groups.iter_mut().filter(|g| g.wan.ifindex != 0) {
                        let _ = self.fence.close(g.wan.ifindex);
                        g.withdraw_lease();
                    }
                }
                return Ok(());
            }
        }
    }

    /// On the way out: hooks not run yet are dropped, every child still
    /// running is ended (its process group killed), the owned table given
    /// up, the control socket file removed.
    fn finish(&mut self) {
        self.hooks.stop();
        for g in &mut self.groups {
            g.stop_children();
        }
        self.trackers.stop_all(self.poll.registry());
        self.watchdog = None;
        if let Some(c) = &mut self.conntrack {
            c.stop(self.clock.now());
        }
        // A clean exit told netifd itself: the guard goes with the rest.
        self.netifd_guard = None;
        // Expected on the way out (a udhcpc still asking, a script
        // tracker's run): not a warning. Hooks cut short warn themselves.
        let killed = process::kill_all();
        if killed > 0 {
            crate::logging::info!("exiting: {killed} child process group(s) killed");
        }
        // The owned table before the socket: a waiter that sees the socket
        // gone may start the next daemon, which must find the table free.
        if let Err(e) = self.fence.release() {
            crate::logging::warn!("exiting: releasing table netdev {}: {e}", nft::OWNED_TABLE);
        }
        listener::remove(&self.config.globals.control_socket);
    }

    fn execute(&mut self, gi: usize) {
        let now = self.clock.now();
        let reg = self.poll.registry();
        let sibling = self
            .groups
            .iter()
            .enumerate()
            .any(|(i, g)| i != gi && g.cfg.conntrack_sync && g.engine.state().holds_wan());
        if let Some(g) = self.groups.get_mut(gi) {
            g.sibling_holds_wan = sibling;
            g.execute(now, &mut self.fence, &mut self.hooks, reg, GROUP_BASE + gi * TOKENS_PER_GROUP);
            if std::mem::take(&mut g.fence_lost) {
                // A refresh found the table gone: restore it now.
                self.next_fence_check = self.clock.now();
                self.check_fence();
            }
        }
    }

    /// Each group's hellos (and the permit refresh) due now, sent.
    fn send_due_hellos(&mut self) {
        for gi in 0..self.groups.len() {
            let now = self.clock.now();
            self.groups[gi].engine.handle_hellos_due(now);
            self.execute(gi);
        }
    }

    /// This router's roles in the groups that sync connection tracking,
    /// for what conntrackd asks of the others.
    fn conntrack_roles(&self) -> Roles {
        let mut roles = Roles::default();
        for g in self.groups.iter().filter(|g| g.cfg.conntrack_sync) {
            if g.engine.state().holds_wan() {
                roles.active = true;
            } else {
                roles.standby = true;
            }
        }
        roles
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut t = Some(self.next_fence_check);
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        for g in self.groups.iter().filter(|g| !g.dormant()) {
            consider(g.engine.poll_timeout());
        }
        consider(self.hooks.deadline());
        consider(self.trackers.deadline());
        consider(self.shutdown_deadline);
        consider(self.clients.deadline());
        consider(process::deadline().map(|d| self.clock.of_std(d)));
        consider(self.conntrack.as_ref().and_then(Conntrack::deadline));
        t
    }

    fn on_timers(&mut self) {
        let now = self.clock.now();
        for gi in 0..self.groups.len() {
            let g = &mut self.groups[gi];
            if !g.dormant() && g.engine.poll_timeout().is_some_and(|t| t <= now) {
                g.engine.handle_timeout(now);
            }
            self.execute(gi);
        }
        self.hooks.poll(now);
        let now = self.clock.now();
        self.clients.expire(now, self.poll.registry());
        process::reap(self.clock.to_std(now));
        let roles = self.conntrack_roles();
        if let Some(c) = &mut self.conntrack {
            c.poll(now, roles);
        }
        if now >= self.next_fence_check {
            self.recheck_fence(now);
        }
    }

    /// The periodic check: the whole fence only if the ruleset changed
    /// since the last whole check (ours or anyone's transactions; the
    /// kernel's own renewals of the permit do not count) or it is due.
    /// The whole check is three netlink dumps (120 µs on the test VM,
    /// once a second on every router: as much as a hello interval's work
    /// at a 100 ms hello); the generation is one small request.
    fn recheck_fence(&mut self, now: Instant) {
        let current = self.fence.generation().ok();
        match (self.fence_checked, current) {
            (Some((checked, full_at)), Some(current)) if checked == current && now < full_at => {
                self.next_fence_check = now.plus(FENCE_RECHECK);
            }
            _ => self.check_fence(),
        }
    }

    /// `nft flush ruleset` or `fw4 flush` removed the shared table, or a
    /// re-created WAN device lost its chains (before Linux 6.16): put back
    /// what is missing, closed, and let an open WAN refresh its permission
    /// at once. Called when nftables announces a deletion, when a WAN
    /// device moves, and when the periodic check finds the ruleset changed
    /// (an announcement may have been lost) or every 10 s.
    /// The owned table kept the WAN closed meanwhile. In the loop: a few
    /// netlink messages.
    fn check_fence(&mut self) {
        let now = self.clock.now();
        self.next_fence_check = now.plus(FENCE_RECHECK);
        // Read before the survey: a change made during it, or a repair
        // below, moves the generation and brings the next whole check.
        self.fence_checked = self.fence.generation().ok().map(|g| (g, now.plus(FENCE_FULL_CHECK)));
        let devs = wan_devices(&self.config);
        match self.fence.ensure(&devs) {
            Ok(r) if r.any() => {
                if r.emptied {
                    crate::logging::warn!("nftables table netdev vwrp disappeared (flush?): restored");
                } else {
                    crate::logging::info!("nftables fence: chains of a re-created WAN device restored");
                }
                let now = self.clock.now();
                for gi in 0..self.groups.len() {
                    if !self.groups[gi].dormant() {
                        self.groups[gi].engine.handle_fence_restored(now);
                    }
                    self.execute(gi);
                }
            }
            Ok(_) => {}
            // A dump disturbed by a change: the next check will do.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                (self.next_fence_check, self.fence_checked) = (self.clock.now(), None);
            }
            Err(e) => {
                self.fence_checked = None;
                crate::logging::warn!("checking the fence: {e}");
            }
        }
    }

    fn on_signals(&mut self) {
        while let Ok(Some(info)) = self.signals.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGTERM) | Ok(Signal::SIGINT) => self.shutdown(),
                Ok(Signal::SIGHUP) => self.reload(),
                Ok(Signal::SIGXCPU) => {
                    crate::logging::error!(
                        "the event loop used {} ms of CPU without sleeping: back to normal scheduling",
                        millis(realtime::RT_BUDGET)
                    );
                    if let Err(e) = realtime::leave() {
                        crate::logging::error!("leaving real-time scheduling: {e}");
                    }
                }
                Ok(Signal::SIGCHLD) => {
                    let now = self.clock.now();
                    for gi in 0..self.groups.len() {
                        self.groups[gi].reap(now);
                        self.execute(gi);
                    }
                    self.hooks.poll(now);
                    let roles = self.conntrack_roles();
                    if let Some(c) = &mut self.conntrack {
                        c.poll(now, roles);
                    }
                    let guard_end = match self.netifd_guard.as_mut().map(Child::try_wait) {
                        None | Some(Ok(None)) => None,
                        Some(Ok(Some(s))) => Some(s.to_string()),
                        Some(Err(e)) => Some(e.to_string()),
                    };
                    if let Some(how) = guard_end {
                        crate::logging::warn!(
                            "netifd guard ended ({how}): a crash would leave netifd's view of the WAN up"
                        );
                        self.netifd_guard = None;
                    }
                    // Script trackers are read by `run_trackers`.
                    process::reap(self.clock.to_std(now));
                }
                _ => {}
            }
        }
    }

    /// SIGTERM: hand over if active, say goodbye, run the hooks, then
    /// exit; whatever happens, at the latest when the longest handover may
    /// end: (multiplier + 1) × hello + prepare_timeout (1 s by default).
    /// DHCP clients are stopped, not waited for.
    fn shutdown(&mut self) {
        if self.shutdown_deadline.is_some() {
            return;
        }
        crate::logging::info!("terminating: handing over");
        let now = self.clock.now();
        let mut longest = Duration::ZERO;
        for gi in 0..self.groups.len() {
            let g = &mut self.groups[gi];
            if g.dormant() {
                // Never started: nothing to hand over.
                g.exited = true;
                continue;
            }
            longest = longest.max(g.engine.settings().handover_timeout());
            let _ = g.engine.handle_command(now, Command::Shutdown);
            g.stop_children();
            self.execute(gi);
        }
        self.trackers.stop_all(self.poll.registry());
        self.shutdown_deadline = Some(self.clock.now().plus(longest));
    }

    /// SIGHUP: a bad file is refused and the running configuration kept;
    /// so is one that changes what only a restart applies (each such
    /// option named); a good one is applied without losing state.
    fn reload(&mut self) {
        let new = match config::load(&self.path) {
            Ok(c) => c,
            Err(e) => {
                crate::logging::error!("reload refused, keeping the running configuration: {e}");
                return;
            }
        };
        let restart = self.config.restart_needed(&new);
        if !restart.is_empty() {
            crate::logging::error!(
                "reload refused, keeping the running configuration: {} changed, which only a restart applies \
                 (/etc/init.d/vwrp restart)",
                restart.join(", ")
            );
            return;
        }
        // The kernel renews the permit with the timeout its rules carry,
        // and passes the WAN frames from the shared MAC they name: they
        // follow a new hello interval, multiplier or shared MAC before the
        // engines count on it.
        let running = wan_devices(&self.config);
        let changed: Vec<Wan> = wan_devices(&new).into_iter().filter(|w| !running.contains(w)).collect();
        if let Err(e) = self.fence.rewrite(&changed) {
            crate::logging::error!("reload refused, keeping the running configuration: the fence's rules: {e}");
            return;
        }
        let now = self.clock.now();
        let mut woke = Vec::new();
        for (gi, n) in new.groups.iter().enumerate() {
            // A socket filter that cannot be set (the restart-only
            // options were checked above).
            match self.groups[gi].reconfigure(n, now) {
                Ok(w) => {
                    if w {
                        woke.push(gi);
                    }
                }
                Err(e) => {
                    crate::logging::error!("group {}: reload refused: {e}", n.name);
                    // The groups from this one on keep their settings.
                    let _ = self.fence.rewrite(running.get(gi..).unwrap_or_default());
                    return;
                }
            }
            self.execute(gi);
        }
        self.hooks.set(&new.globals.hook_dir, new.globals.hook_timeout);
        if new.globals.realtime_priority != self.config.globals.realtime_priority {
            set_realtime(new.globals.realtime_priority);
        }
        log::set_max_level(new.globals.log_level);
        self.trackers.reconfigure(&new, self.poll.registry());
        for gi in woke {
            self.trackers.replay(gi);
        }
        if let Some(w) = &mut self.watchdog {
            w.set_bound(dead_bound(&new), self.clock.now());
        }
        match &mut self.conntrack {
            Some(c) => {
                if !c.reconfigure(&new, now) {
                    c.stop(now);
                    self.conntrack = None;
                    crate::logging::info!("conntrackd stopped: no group syncs connection tracking any more");
                }
            }
            None => self.conntrack = Conntrack::new(&new, now),
        }
        self.config = new;
        let _ = self.links.dump();
        crate::logging::info!("configuration reloaded");
    }

    /// Link events: each group follows its devices by name; a WAN device
    /// that moved has the fence follow it (chains on the new device before
    /// anything else, the permission moved to the new index).
    fn on_links(&mut self) {
        let events = match self.links.read_events() {
            Ok(e) => e,
            Err(e) => {
                crate::logging::warn!("link events: {e}");
                return;
            }
        };
        for ev in events {
            let now = self.clock.now();
            let mut moved = Vec::new();
            for gi in 0..self.groups.len() {
                let base = GROUP_BASE + gi * TOKENS_PER_GROUP;
                let f = self.groups[gi].follow(&ev, self.links.ties(), now, self.poll.registry(), base);
                if let Some(old) = f.wan_moved {
                    moved.push((gi, old));
                }
                if f.woke {
                    self.trackers.replay(gi);
                }
            }
            if !moved.is_empty() {
                self.check_fence();
                for (gi, old) in moved {
                    if old != 0 && old != self.groups[gi].wan.ifindex {
                        let _ = self.fence.close(old);
                    }
                    if !self.groups[gi].dormant() {
                        self.groups[gi].engine.handle_fence_restored(now);
                    }
                }
            }
            self.trackers.on_link(&ev.name, ev.carrier, now);
        }
        for gi in 0..self.groups.len() {
            self.execute(gi);
        }
    }

    /// A control client's event: a complete request is answered.
    fn on_client(&mut self, t: usize) {
        if let Some((slot, request)) = self.clients.ready(t, self.poll.registry()) {
            let reply = self.serve(&String::from_utf8_lossy(&request));
            self.clients.reply(slot, reply, self.poll.registry());
        }
    }

    /// The reply to one request line, as JSON.
    fn serve(&mut self, line: &str) -> Vec<u8> {
        #[cfg(feature = "test-stall")]
        if test_stall(line) {
            return br#"{"ok":true}"#.to_vec();
        }
        let req = match Request::parse(line) {
            Ok(r) => r,
            Err(e) => return control::error_json(&format!("bad request: {e}")).into_bytes(),
        };
        let now = self.clock.now();
        let r = match req {
            Request::Status => return self.status(now),
            Request::StepUp { group } => self.command(group.as_deref(), now, Command::StepUp),
            Request::StepDown { group } => self.command(group.as_deref(), now, Command::StepDown),
            Request::SetPriority { priority, group } => {
                self.command(group.as_deref(), now, Command::SetPriority(priority))
            }
            Request::Lease { device, env } => self.lease_event(&device, &env, now),
            Request::Lease6 { device, env } => self.lease6_event(&device, &env, now),
            Request::Netifd { device, interface } => self.netifd_setup(&device, &interface),
            Request::Tracker { name, up } => self.external_tracker(&name, up),
            // The socket's parser refuses it: rpcd's plugin and the CLI make keys.
            Request::Genkey { .. } => Err("bad request: unknown cmd 'genkey'".into()),
        };
        match r {
            Ok(()) => br#"{"ok":true}"#.to_vec(),
            Err(e) => control::error_json(&e).into_bytes(),
        }
    }

    fn find_group(&self, name: Option<&str>) -> Result<usize, String> {
        match name {
            Some(n) => self.groups.iter().position(|g| g.cfg.name == n).ok_or_else(|| format!("no group {n}")),
            None if self.groups.len() == 1 => Ok(0),
            None => Err("several groups: name one".into()),
        }
    }

    /// A group that can take commands and lease events: one whose engine
    /// runs.
    fn running(&self, gi: usize) -> Result<usize, String> {
        match self.groups[gi].waiting_for() {
            Some(why) => Err(format!("group {}: {why}", self.groups[gi].cfg.name)),
            None => Ok(gi),
        }
    }

    fn command(&mut self, group: Option<&str>, now: Instant, c: Command) -> Result<(), String> {
        let gi = self.running(self.find_group(group)?)?;
        let r = self.groups[gi].engine.handle_command(now, c).map_err(str::to_string);
        crate::logging::info!(
            "group {}: operator {c}: {}",
            self.groups[gi].cfg.name,
            r.as_ref().err().map_or("ok", |e| e.as_str())
        );
        self.execute(gi);
        r
    }

    fn lease_event(&mut self, device: &str, env: &[(String, String)], now: Instant) -> Result<(), String> {
        let gi = self
            .groups
            .iter()
            .position(|g| g.cfg.wan_device == device)
            .ok_or_else(|| format!("no group on {device}"))?;
        let gi = self.running(gi)?;
        let (lease, client_id) =
            udhcpc::lease_from_udhcpc_env(|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))?;
        crate::logging::info!(
            "group {}: DHCP bound {} for {} s",
            self.groups[gi].cfg.name,
            lease.address,
            lease.valid_left
        );
        self.groups[gi].engine.handle_lease(now, lease, client_id);
        self.execute(gi);
        Ok(())
    }

    fn lease6_event(&mut self, device: &str, env: &[(String, String)], now: Instant) -> Result<(), String> {
        let gi = self.running(self.group_on(device)?)?;
        let lease6 = odhcp6c::lease6_from_odhcp6c_env(|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))?;
        crate::logging::info!(
            "group {}: DHCPv6 {} address(es), {} prefix(es)",
            self.groups[gi].cfg.name,
            lease6.addresses.len(),
            lease6.prefixes.len()
        );
        self.groups[gi].engine.handle_lease6(now, lease6);
        self.execute(gi);
        Ok(())
    }

    fn netifd_setup(&mut self, device: &str, interface: &str) -> Result<(), String> {
        if !netifd::valid_interface(interface) {
            return Err(format!("bad netifd interface name {interface:?}"));
        }
        self.config.netifd_group(device)?;
        let gi = self.group_on(device)?;
        let now = self.clock.now();
        self.groups[gi].netifd_setup(interface, &mut self.hooks, now);
        crate::logging::info!("group {}: netifd interface {interface} serves {device}", self.groups[gi].cfg.name);
        Ok(())
    }

    fn group_on(&self, device: &str) -> Result<usize, String> {
        self.groups.iter().position(|g| g.cfg.wan_device == device).ok_or_else(|| format!("no group on {device}"))
    }

    fn external_tracker(&mut self, name: &str, up: bool) -> Result<(), String> {
        self.trackers.external(name, up, self.clock.now())?;
        self.apply_verdicts();
        Ok(())
    }

    /// Trackers' turn: finish and start rounds, give changes to the
    /// engines, then start or stop WAN-only trackers as the WAN moved.
    fn run_trackers(&mut self) {
        let now = self.clock.now();
        self.trackers.advance(now, &self.groups, self.poll.registry());
        self.apply_verdicts();
        self.trackers.sync(now, &self.groups, self.poll.registry());
    }

    fn apply_verdicts(&mut self) {
        while let Some(v) = self.trackers.poll_verdict() {
            let now = self.clock.now();
            // A dormant group hears them all when it starts (`replay`).
            if let Some(g) = self.groups.get_mut(v.group).filter(|g| !g.dormant()) {
                g.engine.handle_tracker(now, v.index, v.up);
            }
            self.execute(v.group);
        }
    }

    fn status(&self, now: Instant) -> Vec<u8> {
        let mut j = json::Writer::new();
        j.open('{').key("groups").open('[');
        for (gi, g) in self.groups.iter().enumerate() {
            let control = g.control_links();
            let mut run = |i, j: &mut json::Writer| self.trackers.status(gi, i, now, j);
            let mut conntrack = |j: &mut json::Writer| match self.conntrack.as_ref().filter(|_| g.cfg.conntrack_sync) {
                Some(c) => {
                    j.open('{');
                    c.status(j);
                    g.commit_status(now, j);
                    j.close('}');
                }
                None => {
                    j.null();
                }
            };
            let mut st = g.engine.status(now);
            if let Some(why) = g.waiting_for() {
                st.reason = why;
            }
            status::group(&mut j, &g.cfg.name, &g.wan.name, &control, &st, &mut run, &mut conntrack);
        }
        j.close(']').close('}');
        j.finish().into_bytes()
    }
}

/// Test builds only (`cargo test --features test-stall`; the release and
/// router builds never have it): `{"cmd":"test_stall","ms":N}` holds the
/// loop for N ms, as a system call that hangs would, so that a test can
/// see the stall watchdog act.
#[cfg(feature = "test-stall")]
fn test_stall(line: &str) -> bool {
    let Ok(v) = crate::json::parse(line) else { return false };
    if v.get("cmd").and_then(crate::json::Value::as_str) != Some("test_stall") {
        return false;
    }
    let ms = v.get("ms").and_then(crate::json::Value::as_u64).unwrap_or(0);
    crate::logging::warn!("test_stall: holding the event loop for {ms} ms");
    std::thread::sleep(Duration::from_millis(ms));
    true
}
