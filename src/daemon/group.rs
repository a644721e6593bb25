//! One group at run time: its engine, its sockets, and the execution of
//! the engine's actions against the system.
//!
//! Its devices (WAN, control links, the devices of the LAN gateway
//! addresses) are followed by name through the link monitor: a device may
//! not exist yet when the daemon starts (OpenWrt's netifd creates br-lan
//! after vwrp has started), and may be deleted and re-created with another
//! index (on every `/etc/init.d/network restart`). Its sockets are open
//! only while it exists, and are opened again on the new device.

use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use crate::config;
use crate::daemon::status::ControlLink;
use crate::engine::{
    Action, Binding6, Engine, Exchange6, Path, REFUSAL_LOG_INTERVAL, Settings, State, TrackerSpec, Weight,
};
use crate::json;
use crate::system::announce;
use crate::system::conntrackd::{self, Paths};
use crate::system::dhcp6::{Client6, Identity, Outcome6};
use crate::system::hooks::{Hooks, Job};
use crate::system::ndp::{Routers, Solicits};
use crate::system::nft::Fence;
use crate::system::packet::{Filter, PacketSocket, PacketType};
use crate::system::process::{self, Child, Command, Stdio};
use crate::system::renewer::{RenewOutcome, Renewer};
use crate::system::rtnl::{LinkState, Tie};
use crate::system::stored_lease::{self, Stored};
use crate::system::{ipv6, netifd, random, rtnl, wan};
use crate::time::{Instant, millis};
use crate::wire::dhcpv6::msg;
use crate::wire::icmp::{AdvertisedPrefix, RouterAdvert};
use crate::wire::{self, Flags, Key, Keyring, Lease4, Lease6, MULTICAST_MAC, Mac};

/// How the daemon finds its helper scripts (udhcpc event script).
pub fn share_dir() -> std::path::PathBuf {
    std::env::var_os("VWRP_SHARE_DIR").map_or_else(|| "/usr/share/vwrp".into(), Into::into)
}

/// A device followed by name, and its socket while it exists.
pub struct Link {
    pub name: String,
    /// 0 while the device does not exist.
    pub ifindex: u32,
    /// Its address, kept from when it last existed.
    pub mac: Mac,
    pub carrier: bool,
    pub sock: Option<PacketSocket>,
    /// A control link tied to the WAN device (a bridge over it, a port of
    /// it…): how, while it is. Nothing is sent on it then, and the engine
    /// counts it as down; what still arrives on it is read.
    pub tie: Option<&'static str>,
}

/// What a link event did to a [`Link`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    None,
    /// A device of that name exists now (first seen, or re-created with
    /// another index): bind to it. Holds the index it had (0 if none).
    Appeared(u32),
    /// The device was deleted or renamed away. Holds its old index.
    Gone(u32),
    /// Carrier or address of the bound device changed; `mac`: the address.
    Changed {
        mac: bool,
    },
}

impl Link {
    fn new(name: &str) -> Link {
        Link { name: name.to_string(), ifindex: 0, mac: Mac::default(), carrier: false, sock: None, tie: None }
    }

    /// Carries hellos: carrier, and not tied to the WAN device.
    fn up(&self) -> bool {
        self.carrier && self.tie.is_none()
    }

    /// Takes in a link event; a device that went has its socket closed
    /// (deregistered first).
    fn observe(&mut self, ev: &LinkState, reg: &Registry) -> Change {
        let named = ev.exists && ev.name == self.name;
        if self.ifindex != 0 && ev.index == self.ifindex {
            if !named {
                let old = self.ifindex;
                self.unbind(reg);
                return Change::Gone(old);
            }
            let mac = ev.mac.map(Mac);
            let mac_changed = mac.is_some_and(|m| m != self.mac);
            self.mac = mac.unwrap_or(self.mac);
            let changed = mac_changed || ev.carrier != self.carrier;
            self.carrier = ev.carrier;
            return if changed { Change::Changed { mac: mac_changed } } else { Change::None };
        }
        if named {
            let old = self.ifindex;
            self.unbind(reg);
            self.ifindex = ev.index;
            self.carrier = ev.carrier;
            self.mac = ev.mac.map(Mac).unwrap_or(self.mac);
            return Change::Appeared(old);
        }
        Change::None
    }

    fn unbind(&mut self, reg: &Registry) {
        if let Some(s) = self.sock.take() {
            let _ = reg.deregister(&mut SourceFd(&s.as_raw_fd()));
        }
        self.ifindex = 0;
        self.carrier = false;
    }

    /// Opens the hello socket on the bound device and registers it. Its
    /// filter lets in the group's frames addressed to this router (`own`,
    /// the WAN's shared MAC, or the device's MAC) or to every router; the
    /// kernel drops the rest (`Filter::vwrp`).
    fn open_hello(&mut self, cfg: &config::Group, own: Option<Mac>, reg: &Registry, token: Token) -> io::Result<()> {
        let filter = Filter::vwrp(cfg.group_id, own.unwrap_or(self.mac));
        let sock = PacketSocket::open_filtered(self.ifindex, cfg.ethertype, &filter)?;
        if own.is_some() {
            // The WAN's: the fence lets out only frames with this mark.
            sock.set_mark(crate::system::nft::OWN_FRAME_MARK)?;
        }
        sock.join_multicast(MULTICAST_MAC)?;
        reg.register(&mut SourceFd(&sock.as_raw_fd()), token, Interest::READABLE)?;
        self.sock = Some(sock);
        Ok(())
    }
}

/// The router lifetime the active advertises on the LAN, seconds: well
/// above the advertisement interval (RFC 4861 §6.2.1 asks 3 times).
const ROUTER_LIFETIME: u16 = 1800;

/// A LAN gateway address and the device it lives on (a send-only socket
/// for its announcements and router advertisements).
struct LanGateway {
    /// Router advertisements go out from this address (link-local IPv6).
    advertises: bool,
    address: IpAddr,
    prefix_len: u8,
    dev: Link,
}

/// What a link event changed that the daemon must follow up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Followed {
    /// The WAN device appeared, went, or came back with another index
    /// (the index it had: 0 if none): the fence must follow it.
    pub wan_moved: Option<u32>,
    /// The router id became known and the engine started: it must hear
    /// the trackers' verdicts.
    pub woke: bool,
}

pub struct Group {
    pub cfg: config::Group,
    /// Runs once the router id is known ([`Group::dormant`]).
    pub engine: Engine,
    /// Configured, or derived from the first control device's MAC; `None`
    /// until that device exists.
    router_id: Option<u32>,
    pub wan: Link,
    /// ARP and NA frames on the WAN (a second socket: other EtherType).
    wan_arp: Option<PacketSocket>,
    pub control: Vec<Link>,
    lan: Vec<LanGateway>,
    /// The LAN gateway addresses are ours (between `Announce` and
    /// `DropLanGateway`): a re-created device gets them back.
    lan_held: bool,
    /// The lease configured on the WAN, if any.
    pub applied: Option<Lease4>,
    /// The DHCPv6 binding configured (WAN and LAN), and when.
    applied6: Option<(Lease6, Instant)>,
    /// The renewal in flight; the engine times its retransmissions.
    renewer: Option<Renewer>,
    /// The DHCPv6 exchange in flight; the engine times it too.
    dhcp6: Option<Client6>,
    /// The ISP's router advertisements (with the DHCPv6 client).
    routers: Option<Routers>,
    /// The exchange in flight owes a router solicitation that could not
    /// go yet (no usable link-local address): it goes with a retransmission.
    solicit_due: bool,
    /// The LAN hosts' router solicitations (with a link-local gateway).
    solicits: Option<Solicits>,
    udhcpc: Option<Child>,
    /// The conntrack commit of a takeover, while it runs.
    commit: Option<Commit>,
    /// How the last commit went, for status.
    last_commit: Option<CommitOutcome>,
    prepared_now: bool,
    pub exited: bool,
    /// A permit refresh found the nftables table gone.
    pub fence_lost: bool,
    /// The permission was put in the kernel (and not withdrawn since):
    /// a refresh is then a renewal, which a FORWARDING frame on the WAN
    /// does in the kernel (system/nft.rs).
    permit_open: bool,
    /// A renewal the engine asked for in this batch of actions and no
    /// FORWARDING frame has done yet: over nfnetlink at its end.
    renewal_due: Option<Duration>,
    /// The control socket, for the DHCP client's event script.
    socket: std::path::PathBuf,
    /// `dhcp 'netifd'`: the netifd interface that owns the lease while
    /// this router holds the WAN, once its proto handler named it.
    netifd: Option<String>,
    /// Where the proto handler names it (system::netifd), and where the
    /// lease is kept for a restart (system::stored_lease).
    state_dir: std::path::PathBuf,
    /// Microseconds since boot at `Instant::ZERO`.
    boot_us: u64,
    /// Another group of this router that syncs connections holds its
    /// WAN: conntrackd's caches stay as they are when this one leaves.
    pub sibling_holds_wan: bool,
}

/// `conntrackd -c` running for a takeover.
struct Commit {
    child: Child,
    started: Instant,
    /// The engine's count of prepare timeouts when it started: one more
    /// means the takeover went on without it.
    timeouts: u64,
}

/// The last commit: `ok`, `failed`, `timeout` (the WAN opened without
/// it) or `running`; how long it took once it ended.
struct CommitOutcome {
    started: Instant,
    result: &'static str,
    took: Option<std::time::Duration>,
    error: Option<String>,
}

/// Per group: token base + 0 is the WAN socket, + 1.. the control
/// links, + RENEWER the DHCP renewal socket, + RENEWER6 the DHCPv6
/// client's, + ROUTERS and SOLICITS router discovery's.
pub const TOKENS_PER_GROUP: usize = 32;
pub const RENEWER: usize = 31;
pub const RENEWER6: usize = 30;
pub const ROUTERS: usize = 29;
pub const SOLICITS: usize = 28;

fn derive_router_id(mac: Mac) -> u32 {
    u32::from_be_bytes([mac.0[2], mac.0[3], mac.0[4], mac.0[5]]).max(1)
}

/// The engine's view of a configured group.
pub fn settings(g: &config::Group, router_id: u32, control_macs: Vec<Mac>) -> Settings {
    let shared = Mac(g.shared_mac);
    let mut client_id = vec![1];
    client_id.extend_from_slice(&shared.0);
    // DUID-LL (RFC 8415 §11.4): type 3, hardware type 1, the shared MAC.
    let mut duid = vec![0, 3, 0, 1];
    duid.extend_from_slice(&shared.0);
    Settings {
        group: g.group_id,
        router_id,
        priority: g.priority,
        preempt: g.preempt,
        preempt_delay: g.preempt_delay,
        hello_interval: g.hello_interval,
        wan_hello_interval: g.wan_hello_interval,
        dead_multiplier: g.dead_multiplier,
        ethertype: g.ethertype,
        shared_mac: shared,
        control_macs,
        keys: Keyring::new(g.keys.iter().map(|(id, s)| Key::new(*id, s)).collect()),
        hold_period: g.hold_period,
        nudge_interval: g.nudge_interval,
        lan_announce_interval: g.lan_announce_interval,
        prepare_timeout: g.prepare_timeout,
        client_id: g.dhcp_client_id.clone().unwrap_or(client_id),
        dhcpv6: g.dhcpv6 && matches!(g.dhcp, config::DhcpMode::Udhcpc | config::DhcpMode::Netifd),
        duid: g.dhcpv6_duid.clone().unwrap_or(duid),
        router_advert: g.lan_gateways.iter().any(advertises),
        trackers: g
            .trackers
            .iter()
            .map(|t| TrackerSpec {
                name: t.name.clone(),
                weight: match t.weight {
                    config::Weight::Fatal => Weight::Fatal,
                    config::Weight::Penalty(w) => Weight::Penalty(w),
                },
                wan_only: t.wan_only,
            })
            .collect(),
    }
}

/// A device followed by name, bound if it exists now.
fn lookup(name: &str) -> io::Result<Link> {
    let mut link = Link::new(name);
    if let Some(st) = rtnl::link_state(name).map_err(|e| io::Error::new(e.kind(), format!("{name}: {e}")))? {
        link.ifindex = st.index;
        link.carrier = st.carrier;
        link.mac = st.mac.map(Mac).unwrap_or_default();
    }
    Ok(link)
}

/// A link-local IPv6 LAN gateway address is the LAN's IPv6 default
/// router: the active advertises itself from it.
fn advertises(gw: &config::LanGateway) -> bool {
    matches!(gw.address, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
}

/// Frames read from one socket in one turn of the loop, at most: a flood
/// on one link cannot hold the loop (the rest is read in the next turns,
/// after the hellos due and the timers).
pub const RECV_BUDGET: usize = 64;

impl Group {
    /// Opens the group's sockets on the devices that exist (the others are
    /// bound when they appear, [`Group::follow`]) and starts its engine,
    /// with the lease kept from before a restart if there is one, unless
    /// its router id waits for a device. `boot_us`: microseconds since
    /// boot at `Instant::ZERO` (the daemon's Clock).
    pub fn open(cfg: &config::Group, globals: &config::Globals, boot_us: u64, now: Instant) -> io::Result<Group> {
        let (socket, state_dir) = (&globals.control_socket, &globals.state_dir);
        let wan = lookup(&cfg.wan_device)?;
        let control = cfg.control.iter().map(|c| lookup(c)).collect::<io::Result<Vec<_>>>()?;
        // A standby's hellos must never reach the WAN (the config refuses
        // the WAN device by name; its bridges, ports and VLANs show here).
        // A tie already there is taken as one made at run time (retie,
        // below): the link carries nothing until untied.
        let ties = rtnl::ties()?;
        let mut lan = Vec::new();
        for gw in &cfg.lan_gateways {
            let dev = lookup(&gw.device)?;
            // A daemon that starts holds no LAN gateway address: one that
            // died while active may have left one, which would answer for
            // the gateway from a router that does not forward.
            let prefix_len = gw.prefix_len;
            if dev.ifindex != 0 {
                if let Err(e) = rtnl::del_address(dev.ifindex, gw.address, prefix_len) {
                    crate::logging::warn!(
                        "group {}: removing {}/{prefix_len} from {}: {e}",
                        cfg.name,
                        gw.address,
                        gw.device
                    );
                }
            }
            lan.push(LanGateway { advertises: advertises(gw), address: gw.address, prefix_len, dev });
        }
        let router_id =
            cfg.router_id.or_else(|| control.first().filter(|l| l.ifindex != 0).map(|l| derive_router_id(l.mac)));
        let macs = control.iter().map(|l| l.mac).collect();
        let engine = Engine::new(settings(cfg, router_id.unwrap_or_default(), macs), random::u32(), now);
        for l in std::iter::once(&wan).chain(&control).chain(lan.iter().map(|g| &g.dev)) {
            if l.ifindex == 0 {
                crate::logging::warn!("group {}: device {} does not exist (yet): waiting for it", cfg.name, l.name);
            }
        }
        let mut g = Group {
            cfg: cfg.clone(),
            engine,
            router_id,
            wan,
            wan_arp: None,
            control,
            lan,
            lan_held: false,
            applied: None,
            applied6: None,
            renewer: None,
            dhcp6: None,
            routers: None,
            solicit_due: false,
            solicits: None,
            udhcpc: None,
            commit: None,
            last_commit: None,
            prepared_now: false,
            exited: false,
            fence_lost: false,
            permit_open: false,
            renewal_due: None,
            socket: socket.to_path_buf(),
            netifd: None,
            state_dir: state_dir.to_path_buf(),
            boot_us,
            sibling_holds_wan: false,
        };
        for gw in &mut g.lan {
            if gw.dev.ifindex != 0 {
                gw.dev.sock = Some(PacketSocket::sender(gw.dev.ifindex)?);
            }
        }
        if g.wan.ifindex != 0 {
            g.wan_arp = Some(PacketSocket::sender(g.wan.ifindex)?);
        }
        for i in 0..g.control.len() {
            g.retie(i, &ties);
        }
        g.open_routers()?;
        g.open_solicits()?;
        match router_id {
            Some(id) => g.start_engine(id, now),
            None => crate::logging::warn!(
                "group {}: its router id derives from {}'s MAC: the group takes part once that device exists",
                cfg.name,
                cfg.control.first().map_or("?", String::as_str)
            ),
        }
        Ok(g)
    }

    /// Starts the engine with router id `id`: the lease kept from before a
    /// restart, if any, and the WAN's carrier.
    fn start_engine(&mut self, id: u32, now: Instant) {
        let cfg = &self.cfg;
        self.router_id = Some(id);
        let macs = self.control.iter().map(|l| l.mac).collect();
        self.engine = Engine::new(settings(cfg, id, macs), random::u32(), now);
        match stored_lease::read(&self.state_dir, &cfg.wan_device) {
            Ok(Some(kept)) => {
                let lease = kept.at(self.boot_us.saturating_add(now.as_micros()));
                crate::logging::info!(
                    "group {}: lease {} kept from before the restart, {} s left",
                    cfg.name,
                    lease.address,
                    lease.valid_left
                );
                self.engine.handle_kept_lease(now, lease, kept.client_id);
            }
            Ok(None) => {}
            Err(e) => crate::logging::warn!("group {}: the lease kept for a restart: {e}", cfg.name),
        }
        self.engine.handle_wan_link(now, self.wan.ifindex != 0 && self.wan.carrier);
        for (i, l) in self.control.iter().enumerate() {
            self.engine.handle_control_tied(i, l.tie.is_some());
            if !l.up() {
                self.engine.handle_control_link(now, i, false);
            }
        }
        if !self.lan.is_empty() {
            self.tell_lan(now, false);
        }
    }

    /// The engine hears that the LAN is lost (no LAN gateway device has
    /// carrier) or, when `back`, that it works again.
    fn tell_lan(&mut self, now: Instant, back: bool) {
        if self.lan.iter().all(|gw| !gw.dev.carrier) {
            crate::logging::warn!(
                "group {}: every LAN gateway device lost carrier: this router cannot serve",
                self.cfg.name
            );
            self.engine.handle_lan_link(now, false);
        } else if back {
            self.engine.handle_lan_link(now, true);
        }
    }

    /// Waiting for the device its router id derives from: nothing reaches
    /// the engine, which has not started.
    pub fn dormant(&self) -> bool {
        self.router_id.is_none()
    }

    /// Its control links for status.
    pub fn control_links(&self) -> Vec<ControlLink<'_>> {
        let wan = &self.wan.name;
        self.control
            .iter()
            .map(|c| {
                let state = match c {
                    c if c.ifindex == 0 => "missing",
                    Link { tie: Some(_), .. } => "tied",
                    c if !c.carrier => "down",
                    _ => "up",
                };
                let tie = c.tie.map(|how| format!("{} {how} the WAN device {wan}", c.name));
                ControlLink { device: &c.name, state, tie }
            })
            .collect()
    }

    /// Why it is dormant, for status.
    pub fn waiting_for(&self) -> Option<String> {
        self.dormant().then(|| {
            let dev = self.cfg.control.first().map_or("?", String::as_str);
            format!("waiting for {dev} to exist: the router id derives from its MAC")
        })
    }

    /// Opens the sockets of the devices that exist, on the loop's poll.
    pub fn register(&mut self, reg: &Registry, base: usize) -> io::Result<()> {
        // On the WAN every router has the shared MAC.
        if self.wan.ifindex != 0 {
            self.wan.open_hello(&self.cfg, Some(Mac(self.cfg.shared_mac)), reg, Token(base))?;
        }
        for (i, c) in self.control.iter_mut().enumerate() {
            if c.ifindex != 0 {
                c.open_hello(&self.cfg, None, reg, Token(base + 1 + i))?;
            }
        }
        if let Some(r) = &self.routers {
            reg.register(&mut SourceFd(&r.as_raw_fd()), Token(base + ROUTERS), Interest::READABLE)?;
        }
        if let Some(s) = &self.solicits {
            reg.register(&mut SourceFd(&s.as_raw_fd()), Token(base + SOLICITS), Interest::READABLE)?;
        }
        Ok(())
    }

    /// A link event (or a line of a link dump), with every link's ties as
    /// of it. Rebinds what moved, tells the engine what it must know (WAN
    /// carrier, a control link down or back, tied to the WAN or no longer),
    /// gives back the LAN gateway addresses a re-created device lost.
    pub fn follow(&mut self, ev: &LinkState, ties: &[Tie], now: Instant, reg: &Registry, base: usize) -> Followed {
        let mut done = Followed::default();
        let name = self.cfg.name.clone();
        match self.wan.observe(ev, reg) {
            Change::Appeared(old) => {
                crate::logging::info!(
                    "group {name}: WAN device {} is there (index {})",
                    self.wan.name,
                    self.wan.ifindex
                );
                self.wan_arp = None;
                let shared = Some(Mac(self.cfg.shared_mac));
                let opened = self.wan.open_hello(&self.cfg, shared, reg, Token(base)).and_then(|()| {
                    self.wan_arp = Some(PacketSocket::sender(self.wan.ifindex)?);
                    Ok(())
                });
                if let Err(e) = opened {
                    crate::logging::error!("group {name}: WAN device {}: {e}", self.wan.name);
                }
                // A re-created device lost the lease's address and route.
                // They go back only while this router holds the WAN. A
                // stepped-down router kept them as they were (§7.1), but
                // they went with the old device, and its next takeover
                // applies the lease as every takeover does; meanwhile the
                // new device is down (up once fenced), refusing routes.
                if !self.holding() {
                    self.applied = None;
                } else if let Some(l) = &self.applied {
                    if let Err(e) = wan::apply(&self.wan_dev(), l, None) {
                        crate::logging::warn!("group {name}: lease on the new {}: {e}", self.wan.name);
                    }
                }
                self.reopen_routers(reg, base);
                self.reapply6();
                done.wan_moved = Some(old);
                self.permit_open = false;
                if !self.dormant() {
                    self.engine.handle_wan_link(now, self.wan.carrier);
                }
            }
            Change::Gone(old) => {
                crate::logging::warn!(
                    "group {name}: WAN device {} is gone: the WAN is down until it comes back",
                    self.wan.name
                );
                self.wan_arp = None;
                self.reopen_routers(reg, base);
                done.wan_moved = Some(old);
                self.permit_open = false;
                if !self.dormant() {
                    self.engine.handle_wan_link(now, false);
                }
            }
            Change::Changed { .. } if !self.dormant() => self.engine.handle_wan_link(now, self.wan.carrier),
            _ => {}
        }
        for i in 0..self.control.len() {
            let link = &mut self.control[i];
            let was_up = link.up();
            let change = link.observe(ev, reg);
            let mac_changed = match change {
                Change::Appeared(_) => {
                    crate::logging::info!(
                        "group {name}: control device {} is there (index {})",
                        link.name,
                        link.ifindex
                    );
                    if let Err(e) = link.open_hello(&self.cfg, None, reg, Token(base + 1 + i)) {
                        crate::logging::error!("group {name}: control device {}: {e}", link.name);
                    }
                    true
                }
                Change::Gone(_) => {
                    crate::logging::warn!(
                        "group {name}: control device {} is gone: waiting for it to come back",
                        link.name
                    );
                    false
                }
                Change::Changed { mac } => {
                    // Frames to the new address must pass the filter.
                    if let (true, Some(sock)) = (mac, &link.sock) {
                        if let Err(e) = sock.set_filter(&Filter::vwrp(self.cfg.group_id, link.mac)) {
                            crate::logging::error!("group {name}: control device {}: socket filter: {e}", link.name);
                        }
                    }
                    mac
                }
                Change::None => false,
            };
            // Any link's event may tie it to the WAN or untie it (a port
            // added to its bridge, a VLAN created), or the WAN moved.
            self.retie(i, ties);
            let up = self.control[i].up();
            if self.dormant() && i == 0 && self.control[0].ifindex != 0 {
                self.wake(now);
                done.woke = true;
            } else if mac_changed && !self.dormant() {
                let s = settings(&self.cfg, self.engine.router_id(), self.control.iter().map(|l| l.mac).collect());
                self.engine.reconfigure(now, s);
            }
            // Down (gone, no carrier, tied), or back: a device re-created
            // with carrier counts as back even if its event was missed.
            let back = up && (!was_up || matches!(change, Change::Appeared(_)));
            if (back || (was_up && !up)) && !self.dormant() {
                self.engine.handle_control_link(now, i, up);
            }
        }
        // The LAN as a whole: lost when every device carrying a LAN
        // gateway address lost carrier (or is gone), back as soon as one
        // has it again (the engine re-announces the gateway then).
        let (mut lan_changed, mut lan_back, mut ra_moved) = (false, false, false);
        for gw in &mut self.lan {
            let was_up = gw.dev.carrier;
            let change = gw.dev.observe(ev, reg);
            ra_moved |= gw.advertises && matches!(change, Change::Appeared(_) | Change::Gone(_));
            if let Change::Appeared(_) = change {
                match PacketSocket::sender(gw.dev.ifindex) {
                    Ok(s) => gw.dev.sock = Some(s),
                    Err(e) => crate::logging::error!("group {name}: LAN device {}: {e}", gw.dev.name),
                }
                if self.lan_held {
                    // A re-created device lost the address: now; its
                    // announcement once it has carrier.
                    crate::logging::info!("group {name}: LAN gateway {} back on {}", gw.address, gw.dev.name);
                    if let Err(e) = rtnl::add_address(gw.dev.ifindex, gw.address, gw.prefix_len) {
                        crate::logging::warn!("group {name}: LAN gateway {}: {e}", gw.address);
                    }
                }
            }
            lan_changed |= gw.dev.carrier != was_up;
            lan_back |= gw.dev.carrier && !was_up;
        }
        if ra_moved {
            self.reopen_solicits(reg, base);
            self.reapply6();
        }
        if lan_changed && !self.dormant() {
            self.tell_lan(now, lan_back);
        }
        done
    }

    /// Whether control link `i` is tied to the WAN device now; says so
    /// once when that changes. A standby's hellos on it would reach the
    /// WAN, so nothing is sent on it while it is (DESIGN.md §2).
    fn retie(&mut self, i: usize, ties: &[Tie]) {
        let (wan, c) = (&self.wan, &mut self.control[i]);
        let tie = (wan.ifindex != 0 && c.ifindex != 0).then(|| rtnl::wan_tie(ties, wan.ifindex, c.ifindex)).flatten();
        match (c.tie, tie) {
            (None, Some(how)) => crate::logging::error!(
                "group {}: control link '{}' {how} the WAN device '{}': nothing is sent on it while it is, \
                 or a standby's hellos would reach the WAN",
                self.cfg.name,
                c.name,
                wan.name
            ),
            (Some(_), None) if c.ifindex != 0 => crate::logging::info!(
                "group {}: control link '{}' is no longer tied to the WAN device '{}': hellos on it again",
                self.cfg.name,
                c.name,
                wan.name
            ),
            _ => {}
        }
        c.tie = tie;
        self.engine.handle_control_tied(i, tie.is_some());
    }

    /// Router discovery on the WAN, with the DHCPv6 client, while the WAN
    /// device exists (not registered yet).
    fn open_routers(&mut self) -> io::Result<()> {
        self.routers = None;
        if self.engine.settings().dhcpv6 && self.wan.ifindex != 0 {
            self.routers = Some(Routers::open(&self.wan.name, self.wan.ifindex)?);
        }
        Ok(())
    }

    /// The LAN hosts' solicitations on the advertising LAN devices that
    /// exist (not registered yet).
    fn open_solicits(&mut self) -> io::Result<()> {
        self.solicits = None;
        let devices: Vec<u32> = self.ra_devices().into_iter().filter(|&i| i != 0).collect();
        if !devices.is_empty() {
            self.solicits = Some(Solicits::open(devices)?);
        }
        Ok(())
    }

    /// The WAN device came or went: router discovery on the new one.
    fn reopen_routers(&mut self, reg: &Registry, base: usize) {
        if let Some(r) = self.routers.take() {
            let _ = reg.deregister(&mut SourceFd(&r.as_raw_fd()));
        }
        let opened = self.open_routers().and_then(|()| match &self.routers {
            Some(r) => reg.register(&mut SourceFd(&r.as_raw_fd()), Token(base + ROUTERS), Interest::READABLE),
            None => Ok(()),
        });
        if let Err(e) = opened {
            crate::logging::error!("group {}: router advertisements on {}: {e}", self.cfg.name, self.wan.name);
        }
    }

    /// An advertising LAN device came or went: solicitations on the ones
    /// there now.
    fn reopen_solicits(&mut self, reg: &Registry, base: usize) {
        if let Some(s) = self.solicits.take() {
            let _ = reg.deregister(&mut SourceFd(&s.as_raw_fd()));
        }
        let opened = self.open_solicits().and_then(|()| match &self.solicits {
            Some(s) => reg.register(&mut SourceFd(&s.as_raw_fd()), Token(base + SOLICITS), Interest::READABLE),
            None => Ok(()),
        });
        if let Err(e) = opened {
            crate::logging::error!("group {}: router solicitations: {e}", self.cfg.name);
        }
    }

    /// A re-created device lost the IPv6 binding's addresses and routes:
    /// they go back while the binding is ours (idempotent).
    fn reapply6(&self) {
        if let (Some((l, _)), true) = (&self.applied6, self.wan.ifindex != 0) {
            if let Err(e) = ipv6::apply(self.wan.ifindex, &self.ra_devices(), l, None) {
                crate::logging::warn!("group {}: IPv6 binding on the re-created device: {e}", self.cfg.name);
            }
        }
    }

    /// The first control device exists: the router id is its MAC's, and
    /// the engine starts now, listening for a dead interval as at start-up.
    fn wake(&mut self, now: Instant) {
        let id = derive_router_id(self.control[0].mac);
        crate::logging::info!(
            "group {}: router id {id:#x} from {}'s MAC: starting",
            self.cfg.name,
            self.control[0].name
        );
        self.start_engine(id, now);
    }

    /// Reads the frames pending on a socket, at most `RECV_BUDGET`, and
    /// feeds the engine. True when the budget ran out: more may wait.
    pub fn receive(&mut self, idx: usize, now: Instant) -> bool {
        let mut buf = [0u8; 2048];
        for _ in 0..RECV_BUDGET {
            let (sock, path) = match idx {
                0 => (&self.wan.sock, Path::Wan),
                i => match self.control.get(i - 1) {
                    Some(l) => (&l.sock, Path::Control((i - 1) as u8)),
                    None => return false,
                },
            };
            let Some(sock) = sock else { return false };
            match sock.recv(&mut buf) {
                // Our own frames looped back by the kernel.
                Ok(Some((_, PacketType::Outgoing))) => {}
                // Read and dropped: the engine has not started.
                Ok(Some(_)) if self.router_id.is_none() => {}
                Ok(Some((n, _))) => self.engine.handle_frame(now, path, &buf[..n.min(buf.len())]),
                Ok(None) => return false,
                // A link that is down says so once; carrier events tell the engine.
                Err(e) if e.raw_os_error() == Some(nix::libc::ENETDOWN) => return false,
                Err(e) => {
                    crate::logging::warn!("group {}: receive on {path}: {e}", self.cfg.name);
                    return false;
                }
            }
        }
        true
    }

    /// A DHCP answer to our renewal.
    pub fn renewer_readable(&mut self, now: Instant) {
        let Some(r) = &mut self.renewer else { return };
        match r.on_readable() {
            Some(RenewOutcome::Ack(lease)) => {
                crate::logging::info!(
                    "group {}: lease {} renewed, {} s",
                    self.cfg.name,
                    lease.address,
                    lease.valid_left
                );
                self.renewer = None;
                self.engine.handle_lease(now, lease, None);
            }
            Some(RenewOutcome::Nak) => {
                crate::logging::warn!("group {}: DHCP server refused lease renewal (NAK)", self.cfg.name);
                self.renewer = None;
                self.engine.handle_lease_lost(now);
            }
            None => {}
        }
    }

    /// A DHCPv6 answer to our exchange.
    pub fn dhcp6_readable(&mut self, now: Instant) {
        let Some(c) = &mut self.dhcp6 else { return };
        match c.on_readable() {
            Some(Outcome6::Bound(l)) => {
                let what = |v: &[crate::wire::Ia6]| {
                    v.iter().map(|i| format!(" {}/{}", i.address, i.prefix_len)).collect::<String>()
                };
                crate::logging::info!(
                    "group {}: DHCPv6 binding{}{}",
                    self.cfg.name,
                    what(&l.addresses),
                    what(&l.prefixes)
                );
                self.dhcp6 = None;
                self.engine.handle_lease6(now, l);
            }
            Some(Outcome6::Lost) => {
                crate::logging::warn!("group {}: DHCPv6 server has no binding for us", self.cfg.name);
                self.dhcp6 = None;
                self.engine.handle_lease6_lost(now);
            }
            None => {}
        }
    }

    /// The ISP's router advertisements on the WAN.
    pub fn routers_readable(&mut self, now: Instant) {
        let Some(r) = &self.routers else { return };
        match r.drain() {
            Ok(heard) => {
                for (router, lifetime) in heard {
                    self.engine.handle_gateway6(now, router, lifetime);
                }
            }
            Err(e) => crate::logging::warn!("group {}: router advertisements: {e}", self.cfg.name),
        }
    }

    /// Router solicitations from the LAN.
    pub fn solicits_readable(&mut self, now: Instant) {
        let Some(s) = &self.solicits else { return };
        match s.drain() {
            Ok(true) => self.engine.handle_router_solicit(now),
            Ok(false) => {}
            Err(e) => crate::logging::warn!("group {}: router solicitations: {e}", self.cfg.name),
        }
    }

    /// Children of this group (udhcpc, conntrack commit) that finished.
    pub fn reap(&mut self, now: Instant) {
        if let Some(c) = &mut self.commit {
            let error = match c.child.try_wait() {
                Ok(None) => return self.reap_udhcpc(),
                Ok(Some(status)) if status.success() => None,
                Ok(Some(status)) => Some(format!("conntrackd -c: {status}")),
                Err(e) => Some(format!("conntrackd -c: {e}")),
            };
            let took = now.since(c.started);
            let late = self.last_commit.as_ref().is_some_and(|o| o.result == "timeout");
            let result = match &error {
                _ if late => "timeout",
                None => "ok",
                Some(_) => "failed",
            };
            // A failed commit took over without the synced connections; a
            // late one, past the takeover, still loaded them.
            crate::logging::emit(
                if result == "failed" { log::Level::Warn } else { log::Level::Info },
                module_path!(),
                format_args!(
                    "group {}: conntrack commit {result} after {} ms{}",
                    self.cfg.name,
                    millis(took),
                    error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
                ),
            );
            self.last_commit = Some(CommitOutcome { started: c.started, result, took: Some(took), error });
            self.commit = None;
            self.engine.handle_prepared(now);
        }
        self.reap_udhcpc();
    }

    fn reap_udhcpc(&mut self) {
        match self.udhcpc.as_mut().map(Child::try_wait) {
            None | Some(Ok(None)) => return,
            // Its program could not be executed (found, but not runnable).
            Some(Err(e)) => crate::logging::warn!("group {}: udhcpc: {e}", self.cfg.name),
            Some(Ok(Some(_))) => {}
        }
        self.udhcpc = None;
    }

    /// Carries out the engine's actions in order.
    pub fn execute(&mut self, now: Instant, fence: &mut Fence, hooks: &mut Hooks, reg: &Registry, base: usize) {
        loop {
            while let Some(a) = self.engine.poll_action() {
                let what = doing(&a);
                if let Err(e) = self.act(a, now, fence, hooks, reg, base) {
                    crate::logging::warn!("group {}: {what}: {e}", self.cfg.name);
                }
            }
            if !std::mem::take(&mut self.prepared_now) {
                break;
            }
            self.engine.handle_prepared(now);
        }
        if let Some(timeout) = self.renewal_due.take() {
            if let Err(e) = self.refresh(fence, timeout) {
                crate::logging::warn!("group {}: renewing the WAN permit: {e}", self.cfg.name);
            }
        }
        self.check_commit_overran();
    }

    /// The permission put in the kernel (or renewed) over nfnetlink.
    fn refresh(&mut self, fence: &mut Fence, timeout: Duration) -> io::Result<()> {
        match fence.refresh(self.wan.ifindex, timeout) {
            Ok(()) => {
                self.permit_open = true;
                Ok(())
            }
            Err(e) => {
                self.fence_lost = e.kind() == io::ErrorKind::NotFound;
                Err(e)
            }
        }
    }

    /// The engine gave up waiting for the commit (`prepare_timeout`) and
    /// opened the WAN: forwarding comes first. The commit goes on; what it
    /// still puts in the kernel helps the connections that are not dead yet.
    fn check_commit_overran(&mut self) {
        let Some(c) = &self.commit else { return };
        if self.engine.counters().prepare_timeouts <= c.timeouts
            || self.last_commit.as_ref().is_some_and(|o| o.result == "timeout")
        {
            return;
        }
        let why = format!("not done within prepare_timeout ({} ms)", millis(self.engine.settings().prepare_timeout));
        crate::logging::warn!("group {}: conntrack commit {why}: took the WAN without it", self.cfg.name);
        self.last_commit = Some(CommitOutcome { started: c.started, result: "timeout", took: None, error: Some(why) });
    }

    fn act(
        &mut self,
        a: Action,
        now: Instant,
        fence: &mut Fence,
        hooks: &mut Hooks,
        reg: &Registry,
        base: usize,
    ) -> io::Result<()> {
        let name = &self.cfg.name;
        match a {
            Action::Send { path, frame } => {
                let sock = match path {
                    Path::Wan => &self.wan.sock,
                    // Tied to the WAN device: not a frame on it.
                    Path::Control(i) => match self.control.get(usize::from(i)) {
                        Some(l) if l.tie.is_none() => &l.sock,
                        _ => &None,
                    },
                };
                // A link that is down refuses frames, one that does not
                // exist has no socket; the engine copes.
                match sock.as_ref().map(|s| s.send(&frame)) {
                    Some(Err(e)) => crate::logging::debug!("group {name}: send on {path}: {e}"),
                    // It passed the egress chain, which renewed the permit.
                    Some(Ok(_)) if path == Path::Wan && forwarding(&frame) => self.renewal_due = None,
                    _ => {}
                }
                self.engine.recycle(frame);
            }
            // No WAN device, nothing to let through (the fence closed the
            // old index when it went).
            Action::RefreshPermit { .. } | Action::CloseWan if self.wan.ifindex == 0 => {}
            // Opening is at once: what follows may be announcements on
            // the WAN. A renewal waits for the hello round's WAN frame.
            Action::RefreshPermit { timeout } if self.permit_open => self.renewal_due = Some(timeout),
            Action::RefreshPermit { timeout } => self.refresh(fence, timeout)?,
            Action::CloseWan => {
                (self.permit_open, self.renewal_due) = (false, None);
                fence.close(self.wan.ifindex)?
            }
            Action::Prepare => {
                if self.cfg.conntrack_sync {
                    // The other routers' connections into this kernel
                    // before the WAN opens: their next packets find them.
                    let mut cmd = conntrackd::command(&self.paths(), &["-c"]);
                    let timeouts = self.engine.counters().prepare_timeouts;
                    match process::spawn(cmd.stdout(Stdio::Null)) {
                        Ok(child) => {
                            self.commit = Some(Commit { child, started: now, timeouts });
                            self.last_commit =
                                Some(CommitOutcome { started: now, result: "running", took: None, error: None });
                        }
                        Err(e) => {
                            let why = format!("conntrackd -c: {e}");
                            crate::logging::warn!("group {name}: {why}: taking over without the synced connections");
                            self.last_commit =
                                Some(CommitOutcome { started: now, result: "failed", took: None, error: Some(why) });
                            self.prepared_now = true;
                        }
                    }
                } else {
                    self.prepared_now = true;
                }
            }
            Action::ApplyLease { lease } => {
                // At once, whoever owns the address later: forwarding
                // never waits for netifd.
                wan::apply(&self.wan_dev(), &lease, self.applied.as_ref())?;
                crate::logging::info!(
                    "group {name}: using lease {}/{} via {}, {} s left",
                    lease.address,
                    lease.prefix_len,
                    lease.gateway,
                    lease.valid_left
                );
                self.applied = Some(lease);
                self.write_resolv()?;
                self.netifd_sync(hooks, now);
            }
            Action::WithdrawLease => {
                if let Some(l) = self.applied.take() {
                    wan::withdraw(&self.wan_dev(), &l)?;
                }
                self.netifd_sync(hooks, now);
            }
            Action::ApplyLease6 { lease } => {
                let previous = self.applied6.take().map(|(l, _)| l);
                ipv6::apply(self.wan.ifindex, &self.ra_devices(), &lease, previous.as_ref())?;
                let prefixes: Vec<String> =
                    lease.prefixes.iter().map(|p| format!("{}/{}", p.address, p.prefix_len)).collect();
                crate::logging::info!("group {name}: using IPv6 binding, prefix {}", prefixes.join(" "));
                self.applied6 = Some((lease, now));
                self.write_resolv()?;
                self.netifd_sync(hooks, now);
            }
            Action::WithdrawLease6 { lease } => {
                let applied = self.applied6.take().map(|(l, _)| l);
                ipv6::withdraw(self.wan.ifindex, &self.ra_devices(), applied.as_ref().unwrap_or(&lease))?;
                if applied.is_some() {
                    self.write_resolv()?;
                    self.netifd_sync(hooks, now);
                }
            }
            Action::Announce => {
                let shared = self.engine.settings().shared_mac;
                if let (Some(l), Some(arp)) = (&self.applied, &self.wan_arp) {
                    announce::announce_wan(arp, shared, l)?;
                }
                if let (Some((l, _)), Some(arp)) = (&self.applied6, &self.wan_arp) {
                    let v6: Vec<_> = l.addresses.iter().map(|a| a.address).collect();
                    announce::announce_lan(arp, shared, &[], &v6)?;
                }
                self.lan_held = true;
                self.announce_lan()?;
            }
            Action::AnnounceLan => self.announce_lan()?,
            Action::DropLanGateway => {
                self.lan_held = false;
                for gw in &self.lan {
                    if gw.dev.ifindex != 0 {
                        rtnl::del_address(gw.dev.ifindex, gw.address, gw.prefix_len)?;
                    }
                }
            }
            Action::Nudge => {
                if let (Some(l), Some(arp)) = (&self.applied, &self.wan_arp) {
                    announce::nudge_gateway(arp, self.engine.settings().shared_mac, l)?;
                }
            }
            Action::RenewLease { lease, client_id, rebinding } => {
                if self.runs_dhcp() {
                    let r = Renewer::start(
                        &self.wan.name,
                        self.engine.settings().shared_mac,
                        &lease,
                        &client_id,
                        rebinding,
                    )?;
                    reg.register(&mut SourceFd(&r.as_raw_fd()), Token(base + RENEWER), Interest::READABLE)?;
                    self.renewer = Some(r);
                }
            }
            Action::RebootLease { lease, client_id } => {
                if self.runs_dhcp() {
                    crate::logging::info!(
                        "group {name}: asking the DHCP server for {} again (INIT-REBOOT), {} s left of it",
                        lease.address,
                        lease.valid_left
                    );
                    let mac = self.engine.settings().shared_mac;
                    let r = Renewer::init_reboot(self.wan.ifindex, mac, &lease, &client_id)?;
                    reg.register(&mut SourceFd(&r.as_raw_fd()), Token(base + RENEWER), Interest::READABLE)?;
                    self.renewer = Some(r);
                }
            }
            Action::StoreLease { lease: Some(lease), client_id } => {
                let stamp_us = self.boot_us.saturating_add(now.as_micros());
                stored_lease::write(&self.state_dir, &self.wan.name, &Stored { lease, client_id, stamp_us })?;
            }
            Action::StoreLease { lease: None, .. } => stored_lease::remove(&self.state_dir, &self.wan.name)?,
            Action::RetransmitRenewal => {
                if let Some(Err(e)) = self.renewer.as_ref().map(Renewer::retransmit) {
                    crate::logging::debug!("group {name}: renewal: {e}");
                }
            }
            Action::AbandonRenewal => self.renewer = None,
            Action::Dhcp6 { exchange, lease, iaid, duid } => {
                if self.runs_dhcp() {
                    self.dhcp6 = None;
                    let kind = match exchange {
                        Exchange6::Solicit => msg::SOLICIT,
                        Exchange6::Renew => msg::RENEW,
                        Exchange6::Rebind => msg::REBIND,
                    };
                    let c = Client6::start(&self.wan.name, self.wan.ifindex, kind, &Identity { duid, iaid }, &lease)?;
                    reg.register(&mut SourceFd(&c.as_raw_fd()), Token(base + RENEWER6), Interest::READABLE)?;
                    self.dhcp6 = Some(c);
                    // No default router known yet: ask for one now.
                    self.solicit_due = lease.gateway.is_none();
                    self.solicit_router()?;
                }
            }
            Action::RetransmitDhcp6 => {
                if let Some(Err(e)) = self.dhcp6.as_mut().map(Client6::retransmit) {
                    crate::logging::debug!("group {name}: DHCPv6: {e}");
                }
                if self.dhcp6.is_some() {
                    self.solicit_router()?;
                }
            }
            Action::AbandonDhcp6 => {
                // Past the few seconds a link-local address is tentative.
                if self.dhcp6.take().is_some_and(|c| c.unsent()) {
                    crate::logging::warn!(
                        "group {name}: DHCPv6: gave up, no usable link-local address on {}",
                        self.wan.name
                    );
                }
            }
            Action::AdvertiseRouter => self.advertise_router(now)?,
            Action::AcquireLease { requested, client_id } => {
                if self.runs_dhcp() && self.udhcpc.is_none() {
                    self.udhcpc = Some(self.spawn_udhcpc(requested, &client_id, &self.socket)?);
                }
            }
            Action::StopDhcp => {
                self.renewer = None;
                self.dhcp6 = None;
                if let Some(c) = self.udhcpc.take() {
                    // udhcpc runs without -R: SIGTERM never releases.
                    c.stop();
                }
            }
            Action::RunHooks(state) => {
                if state != State::Active {
                    self.netifd_sync(hooks, now);
                }
                hooks.enqueue(Job { env: self.hook_env(state), event: self.hook_event(state) }, now);
            }
            Action::Transition { from, to, reason } => {
                crate::logging::info!("group {name}: {} -> {}: {reason}", from.as_str(), to.as_str());
                self.conntrack_follow(from, to, hooks, now);
            }
            Action::Refused(r) => {
                let counter = r.reason.counter();
                if r.frames == 1 {
                    crate::logging::warn!(
                        "group {name}: frame refused ({counter}) on {} from {}: {}",
                        r.path,
                        r.src,
                        r.why
                    );
                } else {
                    let secs = REFUSAL_LOG_INTERVAL.as_secs();
                    crate::logging::warn!(
                        "group {name}: {} frames refused ({counter}) on {} in the last {secs} s; the last from {}: {}",
                        r.frames,
                        r.path,
                        r.src,
                        r.why
                    );
                }
            }
            Action::Exit => self.exited = true,
        }
        Ok(())
    }

    /// The devices of the link-local LAN gateways, in configuration order
    /// (0: one that does not exist now).
    fn ra_devices(&self) -> Vec<u32> {
        self.lan.iter().filter(|g| g.advertises).map(|g| g.dev.ifindex).collect()
    }

    /// The DNS servers of the leases in use, both families.
    fn write_resolv(&self) -> io::Result<()> {
        let mut dns: Vec<IpAddr> = self.applied.iter().flat_map(|l| l.dns.iter().map(|&d| IpAddr::V4(d))).collect();
        dns.extend(self.applied6.iter().flat_map(|(l, _)| l.dns.iter().map(|&d| IpAddr::V6(d))));
        let path = &self.cfg.resolv_file;
        wan::write_resolv(path, &dns).map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))
    }

    /// A router advertisement from each link-local LAN gateway: its /64
    /// of every delegated prefix, with the lifetimes left.
    fn advertise_router(&self, now: Instant) -> io::Result<()> {
        let Some((l, at)) = &self.applied6 else { return Ok(()) };
        let l = Binding6 { wire: l.clone(), learned: *at }.at(now);
        for (k, gw) in self.lan.iter().filter(|g| g.advertises).enumerate() {
            let (IpAddr::V6(source), Some(sender)) = (gw.address, &gw.dev.sock) else { continue };
            let prefixes = l
                .prefixes
                .iter()
                .filter_map(|p| {
                    let prefix = ipv6::lan_subnet(p.address, p.prefix_len, k)?;
                    Some(AdvertisedPrefix { prefix, len: 64, preferred: p.preferred_left, valid: p.valid_left })
                })
                .collect();
            let ra = RouterAdvert { source, mac: gw.dev.mac, lifetime: ROUTER_LIFETIME, prefixes };
            sender.send(&ra.frame())?;
        }
        Ok(())
    }

    /// Adds each LAN gateway address (again: a device that went down may
    /// have lost its IPv6 ones) and announces it. A device without carrier
    /// (or not there) is skipped; it is announced when it comes back.
    fn announce_lan(&self) -> io::Result<()> {
        let mut first = Ok(());
        for gw in self.lan.iter().filter(|gw| gw.dev.ifindex != 0 && gw.dev.carrier) {
            let r = rtnl::add_address(gw.dev.ifindex, gw.address, gw.prefix_len).and_then(|()| announce_gateway(gw));
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    fn spawn_udhcpc(
        &self,
        requested: Option<std::net::Ipv4Addr>,
        client_id: &[u8],
        socket: &std::path::Path,
    ) -> io::Result<Child> {
        let script = share_dir().join("udhcpc.script");
        let hex: String = client_id.iter().map(|b| format!("{b:02x}")).collect();
        let mut cmd = Command::new("udhcpc");
        cmd.args(["-f", "-q", "-i", &self.wan.name, "-s"]).arg(&script);
        cmd.args(["-t", "3", "-T", "2", "-A", "3", "-x", &format!("0x3d:{hex}")]);
        if let Some(ip) = requested {
            cmd.args(["-r", &ip.to_string()]);
        }
        if let Ok(exe) = std::env::current_exe() {
            cmd.env("VWRP_BIN", exe);
        }
        cmd.env("VWRP_SOCKET", socket);
        cmd.stdout(Stdio::Null);
        crate::logging::info!("group {}: no valid lease: starting udhcpc on {}", self.cfg.name, self.wan.name);
        process::spawn(&cmd).or_else(|_| {
            // Debian ships udhcpc as a busybox applet only.
            let mut b = Command::new("busybox");
            b.arg("udhcpc").args(cmd.get_args());
            b.envs(cmd.get_envs().iter().cloned());
            process::spawn(b.stdout(Stdio::Null))
        })
    }

    /// vwrp runs the DHCP client itself (netifd only receives the lease).
    fn runs_dhcp(&self) -> bool {
        matches!(self.cfg.dhcp, config::DhcpMode::Udhcpc | config::DhcpMode::Netifd)
    }

    /// netifd's `proto vwrp` handler named the interface that serves this
    /// WAN: from now on it gets the lease while we hold the WAN.
    /// `Config::netifd_group` checked that it uses `dhcp 'netifd'`.
    pub fn netifd_setup(&mut self, interface: &str, hooks: &mut Hooks, now: Instant) {
        self.netifd = Some(interface.to_string());
        self.netifd_sync(hooks, now);
    }

    /// The router solicitation an exchange owes, if the WAN's link-local
    /// address is usable by now (the exchange's message waits for it too,
    /// and says so at debug). One that fails otherwise is not sent again.
    fn solicit_router(&mut self) -> io::Result<()> {
        if let Some(r) = self.routers.as_ref().filter(|_| self.solicit_due) {
            self.solicit_due = false;
            self.solicit_due = !r.solicit()?;
        }
        Ok(())
    }

    /// Whether this router holds the WAN, or is taking it: a taker
    /// applies the lease just before it opens the WAN.
    fn holding(&self) -> bool {
        matches!(self.engine.state(), State::Active | State::HandingOver | State::TakingOver)
    }

    /// Tells netifd the truth: the lease while we hold the WAN and use a
    /// lease, else no link (netifd removes the address and waits).
    fn netifd_sync(&mut self, hooks: &mut Hooks, now: Instant) {
        if self.cfg.dhcp != config::DhcpMode::Netifd {
            return;
        }
        // Named before we started, or while we were starting up.
        if self.netifd.is_none() {
            self.netifd = netifd::read_interface(&self.state_dir, &self.wan.name);
        }
        let Some(iface) = self.netifd.as_deref() else { return };
        let holding = self.holding();
        let v6 = self.applied6.as_ref().map(|(l, at)| Binding6 { wire: l.clone(), learned: *at }.at(now));
        let args = if holding && (self.applied.is_some() || v6.is_some()) {
            netifd::up_args(iface, self.applied.as_ref(), v6.as_ref())
        } else {
            netifd::down_args(iface)
        };
        if !hooks.enqueue_ubus(&args, now) {
            crate::logging::warn!(
                "group {}: dhcp 'netifd' but no ubus CLI: netifd does not learn the lease",
                self.cfg.name
            );
        }
    }

    /// The `vwrp.state` ubus event's data, as JSON.
    fn hook_event(&self, state: State) -> String {
        let mut j = json::Writer::new();
        j.open('{').key("group").str(&self.cfg.name).key("state").str(action_name(state));
        j.key("router_id")
            .str(&format!("{:#x}", self.engine.settings().router_id))
            .key("wan_device")
            .str(&self.wan.name);
        if let Some(l) = &self.applied {
            j.key("wan_address").str(&l.address.to_string());
        }
        j.close('}');
        j.finish()
    }

    fn hook_env(&self, state: State) -> Vec<(String, String)> {
        let s = self.engine.settings();
        let mut env = vec![
            ("ACTION".into(), action_name(state).into()),
            ("GROUP".into(), self.cfg.name.clone()),
            ("ROUTER_ID".into(), format!("{:#x}", s.router_id)),
            ("WAN_DEVICE".into(), self.wan.name.clone()),
        ];
        if let Some(l) = &self.applied {
            env.push(("WAN_ADDRESS".into(), l.address.to_string()));
            env.push(("WAN_GATEWAY".into(), l.gateway.to_string()));
        }
        env
    }

    fn paths(&self) -> Paths {
        Paths::in_dir(&self.state_dir)
    }

    /// conntrackd's caches follow this router's role, as upstream's
    /// primary-backup.sh keeps them, in turn with the hooks (and before
    /// netifd hears of a step-down, which removes the WAN address and with
    /// it the kernel's entries). The kernel's entries are never flushed.
    fn conntrack_follow(&mut self, from: State, to: State, hooks: &mut Hooks, now: Instant) {
        if !self.cfg.conntrack_sync {
            return;
        }
        let requests: &[&[&str]] = if to == State::Active && !from.holds_wan() {
            &conntrackd::BECAME_ACTIVE
        } else if from.holds_wan() && !to.holds_wan() && !self.sibling_holds_wan {
            &conntrackd::LEFT_ACTIVE
        } else {
            return;
        };
        let paths = self.paths();
        for args in requests {
            hooks.enqueue_program(conntrackd::argv(&paths, args), now);
        }
    }

    /// The group's `commit` in status: `null` before the first.
    pub fn commit_status(&self, now: Instant, j: &mut json::Writer) {
        j.key("commit");
        let Some(c) = &self.last_commit else {
            j.null();
            return;
        };
        j.open('{').key("result").str(c.result).key("ago_ms").num(now.millis_since(c.started));
        j.key("took_ms").opt_num(c.took.map(millis)).key("error").opt_str(c.error.as_deref()).close('}');
    }

    fn wan_dev(&self) -> wan::Wan<'_> {
        wan::Wan { ifindex: self.wan.ifindex, name: &self.wan.name }
    }

    /// A shutdown that ran out of time: the WAN closed, withdraws the
    /// address and routes it applied, as the engine's shutdown does.
    pub fn withdraw_lease(&mut self) {
        if let Some(l) = self.applied.take() {
            if let Err(e) = wan::withdraw(&self.wan_dev(), &l) {
                crate::logging::error!("group {}: withdrawing the lease: {e}", self.cfg.name);
            }
        }
    }

    /// Stops DHCP activity without releasing anything, and a conntrack
    /// commit (daemon exit). Never waits: `system::process` finishes them.
    pub fn stop_children(&mut self) {
        self.dhcp6 = None;
        if let Some(c) = self.udhcpc.take() {
            c.stop();
        }
        if let Some(c) = self.commit.take() {
            c.child.stop();
        }
    }

    /// Applies a changed configuration, whose restart-only options
    /// (`config::RESTART_GROUP`) are the running ones; a new group id or
    /// shared MAC re-filters the sockets. True when it woke a dormant group
    /// (a router id configured now).
    pub fn reconfigure(&mut self, cfg: &config::Group, now: Instant) -> Result<bool, String> {
        if cfg.group_id != self.cfg.group_id || cfg.shared_mac != self.cfg.shared_mac {
            // The kernel's filters follow, on the sockets open now (the
            // others get them when their device appears).
            if let Some(sock) = &self.wan.sock {
                let f = Filter::vwrp(cfg.group_id, Mac(cfg.shared_mac));
                sock.set_filter(&f).map_err(|e| format!("{}: socket filter: {e}", self.wan.name))?;
            }
            for l in &self.control {
                if let Some(sock) = &l.sock {
                    let f = Filter::vwrp(cfg.group_id, l.mac);
                    sock.set_filter(&f).map_err(|e| format!("{}: socket filter: {e}", l.name))?;
                }
            }
        }
        self.cfg = cfg.clone();
        let macs: Vec<Mac> = self.control.iter().map(|l| l.mac).collect();
        match (self.router_id, cfg.router_id) {
            // Dormant, and still nothing to take a router id from.
            (None, None) => Ok(false),
            (None, Some(id)) => {
                self.start_engine(id, now);
                Ok(true)
            }
            (Some(current), configured) => {
                let derived =
                    self.control.first().map(|l| l.mac).filter(|m| *m != Mac::default()).map(derive_router_id);
                let id = configured.or(derived).unwrap_or(current);
                self.router_id = Some(id);
                self.engine.reconfigure(now, settings(cfg, id, macs));
                Ok(false)
            }
        }
    }
}

/// Whether a frame of ours says FORWARDING: leaving by the WAN, it
/// renews the permission in the fence's egress chain.
fn forwarding(frame: &[u8]) -> bool {
    frame.get(wire::ETHERNET_HEADER_LEN + wire::FLAGS_OFFSET).is_some_and(|f| Flags(*f).has(Flags::FORWARDING))
}

/// Gratuitous ARP or unsolicited NA for a LAN gateway address, from its
/// device's MAC.
fn announce_gateway(gw: &LanGateway) -> io::Result<()> {
    let Some(sender) = &gw.dev.sock else { return Ok(()) };
    match gw.address {
        IpAddr::V4(a) => announce::announce_lan(sender, gw.dev.mac, &[a], &[]),
        IpAddr::V6(a) => announce::announce_lan(sender, gw.dev.mac, &[], &[a]),
    }
}

/// What hooks and the ubus event call a state: `active`, `fault` or
/// `standby`.
fn action_name(state: State) -> &'static str {
    match state {
        State::Active => "active",
        State::Fault => "fault",
        _ => "standby",
    }
}

/// What an action that failed was doing, for its log line: a bare system
/// error ("No such file or directory") says nothing of what it was.
fn doing(a: &Action) -> &'static str {
    match a {
        Action::Send { .. } => "sending a frame",
        Action::RefreshPermit { .. } => "opening the WAN",
        Action::CloseWan => "closing the WAN",
        Action::Prepare => "preparing to forward",
        Action::ApplyLease { .. } => "applying the lease",
        Action::WithdrawLease => "withdrawing the lease",
        Action::Announce => "announcing the takeover",
        Action::AnnounceLan => "announcing the LAN gateway",
        Action::DropLanGateway => "removing the LAN gateway",
        Action::Nudge => "nudging the ISP's gateway",
        Action::RenewLease { .. } | Action::RetransmitRenewal | Action::AbandonRenewal => "renewing the lease",
        Action::AcquireLease { .. } => "starting udhcpc",
        Action::RebootLease { .. } => "asking for the kept lease back",
        Action::StoreLease { .. } => "keeping the lease for a restart",
        Action::StopDhcp => "stopping DHCP",
        Action::ApplyLease6 { .. } => "applying the IPv6 binding",
        Action::WithdrawLease6 { .. } => "withdrawing the IPv6 binding",
        Action::Dhcp6 { .. } | Action::RetransmitDhcp6 | Action::AbandonDhcp6 => "DHCPv6",
        Action::AdvertiseRouter => "advertising the LAN router",
        Action::RunHooks(_) => "running hooks",
        Action::Transition { .. } => "changing state",
        Action::Refused(_) => "logging refused frames",
        Action::Exit => "exiting",
    }
}
