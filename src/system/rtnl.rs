//! rtnetlink: link lookups, addresses, default routes (IPv4 and IPv6),
//! the unreachable route of a delegated prefix, and a monitor of link
//! carrier and ties (bridge ports, stacked devices) for the event loop.
//!
//! Each request opens its own short-lived socket: these run at start-up and
//! on a handover, not per hello, and a fresh socket can never see a stale
//! reply.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};

use nix::errno::Errno;
use nix::libc;

use super::netlink::{
    F_ACK, F_CREATE, F_DUMP, F_DUMP_INTR, F_REPLACE, F_REQUEST, Malformed, Message, Messages, NLMSG_DONE, NLMSG_ERROR,
    Protocol, Request, Socket, is_errno,
};

const IFINFOMSG_LEN: usize = 16;
const IFNAME_MAX: usize = 15;
/// `RTNH_F_ONLINK` (rtnetlink.h), missing from libc.
const RTNH_F_ONLINK: u32 = 4;
/// More default routes than this on one device would be a loop, not a table.
const MAX_DEFAULT_ROUTES: usize = 16;

/// `struct ifinfomsg` for a request about one link (0: by name).
fn ifinfomsg(index: u32) -> [u8; IFINFOMSG_LEN] {
    let mut h = [0u8; IFINFOMSG_LEN];
    h[0] = libc::AF_UNSPEC as u8;
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    h
}

/// What the kernel says about one link.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Link {
    family: u8,
    index: u32,
    flags: u32,
    name: String,
    mac: Option<[u8; 6]>,
    operstate: Option<u8>,
    /// The device it is a port of (bridge, bond).
    master: Option<u32>,
    /// The device it is stacked on (VLAN, macvlan, DSA port), in this
    /// namespace; a veth's peer is no lower device.
    lower: Option<u32>,
}

fn u32_attr(v: &[u8]) -> Option<u32> {
    v.try_into().ok().map(u32::from_ne_bytes)
}

impl Link {
    fn parse(msg: &Message<'_>) -> Result<Link, Malformed> {
        let (header, attrs) = msg.split(IFINFOMSG_LEN)?;
        let word = |at: usize| -> Result<u32, Malformed> {
            let bytes = header.get(at..at.saturating_add(4)).ok_or(Malformed)?;
            Ok(u32::from_ne_bytes(bytes.try_into().map_err(|_| Malformed)?))
        };
        let mut link = Link {
            family: header.first().copied().ok_or(Malformed)?,
            index: word(4)?,
            flags: word(8)?,
            name: String::new(),
            mac: None,
            operstate: None,
            master: None,
            lower: None,
        };
        let (mut other_netns, mut veth) = (false, false);
        for attr in attrs {
            let attr = attr?;
            match attr.kind {
                libc::IFLA_IFNAME => link.name = attr.string().ok_or(Malformed)?.to_owned(),
                libc::IFLA_ADDRESS => link.mac = attr.value.try_into().ok(),
                libc::IFLA_OPERSTATE => link.operstate = attr.u8(),
                libc::IFLA_MASTER => link.master = u32_attr(attr.value).filter(|&m| m != 0),
                libc::IFLA_LINK => link.lower = u32_attr(attr.value).filter(|&l| l != 0 && l != link.index),
                libc::IFLA_LINK_NETNSID => other_netns = true,
                libc::IFLA_LINKINFO => {
                    for info in attr.attrs() {
                        let info = info?;
                        veth |= info.kind == libc::IFLA_INFO_KIND && info.string() == Some("veth");
                    }
                }
                _ => {}
            }
        }
        if other_netns || veth {
            link.lower = None;
        }
        Ok(link)
    }

    /// Usable for traffic: administratively up, lower layer up, and not
    /// held back by the operational state (e.g. dormant for 802.1X).
    fn carrier(&self) -> bool {
        let up = libc::IFF_UP as u32 | libc::IFF_LOWER_UP as u32;
        let oper_ok = match self.operstate {
            None => true,
            Some(s) => s == libc::IF_OPER_UP as u8 || s == libc::IF_OPER_UNKNOWN as u8,
        };
        self.flags & up == up && oper_ok
    }
}

/// Asks for one link, by index or (index 0) by name.
fn get_link(index: u32, name: Option<&str>) -> io::Result<Link> {
    let mut req = Request::new();
    req.message(libc::RTM_GETLINK, F_REQUEST | F_ACK).header(&ifinfomsg(index));
    if let Some(name) = name {
        req.attr_str(libc::IFLA_IFNAME, name);
    }
    let mut link = None;
    Socket::open(Protocol::Route, 0)?.request(&mut req, &mut |msg| {
        if msg.kind == libc::RTM_NEWLINK {
            link = Some(Link::parse(msg)?);
        }
        Ok(())
    })?;
    link.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no link in reply"))
}

/// The index of the link called `name` (`ENODEV` when there is none).
pub fn ifindex(name: &str) -> io::Result<u32> {
    if name.is_empty() || name.len() > IFNAME_MAX {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad interface name"));
    }
    Ok(get_link(0, Some(name))?.index)
}

/// The link called `name` as the monitor would report it, or `None` when
/// there is none.
pub fn link_state(name: &str) -> io::Result<Option<LinkState>> {
    if name.is_empty() || name.len() > IFNAME_MAX {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad interface name"));
    }
    match get_link(0, Some(name)) {
        Ok(link) => Ok(Some(LinkState::of(link, true))),
        Err(e) if is_errno(&e, Errno::ENODEV) => Ok(None),
        Err(e) => Err(e),
    }
}

/// How a link hangs together with others: the device it is a port of
/// (bridge, bond) and the one it is stacked on (VLAN, macvlan, DSA port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tie {
    pub index: u32,
    pub name: String,
    pub master: Option<u32>,
    /// IFLA_LINK in this namespace; a veth's peer is no lower device.
    pub lower: Option<u32>,
}

impl Tie {
    fn of(link: &Link) -> Tie {
        Tie { index: link.index, name: link.name.clone(), master: link.master, lower: link.lower }
    }
}

/// Every link of this namespace, with its ties.
pub fn ties() -> io::Result<Vec<Tie>> {
    let mut socket = Socket::open(Protocol::Route, 0)?;
    // A dump disturbed by a change is asked for again.
    for _ in 0..3 {
        let mut req = Request::new();
        req.message(libc::RTM_GETLINK, F_REQUEST | F_DUMP).header(&ifinfomsg(0));
        let seq = socket.send(&mut req)?;
        let (mut out, mut interrupted) = (Vec::new(), false);
        'dump: loop {
            for msg in socket.receive()? {
                let msg = msg?;
                if msg.seq != seq {
                    continue;
                }
                interrupted |= msg.flags & F_DUMP_INTR != 0;
                match msg.kind {
                    libc::RTM_NEWLINK => out.push(Tie::of(&Link::parse(&msg)?)),
                    NLMSG_DONE => break 'dump,
                    NLMSG_ERROR => {
                        let code = msg.error_code()?;
                        return Err(io::Error::from_raw_os_error(code.saturating_neg()));
                    }
                    _ => {}
                }
            }
        }
        if !interrupted {
            return Ok(out);
        }
    }
    Err(io::Error::other("the link dump kept being interrupted"))
}

/// How link `control` stands to link `wan`, if its frames could reach the
/// WAN's wire or the WAN's frames its: `None` when they are apart.
pub fn wan_tie(ties: &[Tie], wan: u32, control: u32) -> Option<&'static str> {
    // The devices below `top`: its ports and what it is stacked on, down
    // to the hardware.
    let below = |top: u32| {
        let mut seen = vec![top];
        let mut i = 0;
        while let Some(&d) = seen.get(i) {
            let lower = ties.iter().find(|t| t.index == d).and_then(|t| t.lower);
            for t in ties {
                let under = t.master == Some(d) || lower == Some(t.index);
                if under && !seen.contains(&t.index) {
                    seen.push(t.index);
                }
            }
            i += 1;
        }
        seen
    };
    if control == wan {
        Some("is")
    } else if below(control).contains(&wan) {
        Some("is a bridge, bond or VLAN over")
    } else if below(wan).contains(&control) {
        Some("is a port of, or the device under,")
    } else {
        None
    }
}

/// `struct ifaddrmsg` and the address attributes shared by add and delete.
fn address_request(kind: u16, flags: u16, ifindex: u32, addr: IpAddr, prefix_len: u8) -> io::Result<Request> {
    let (family, max_len) = match addr {
        IpAddr::V4(_) => (libc::AF_INET as u8, 32),
        IpAddr::V6(_) => (libc::AF_INET6 as u8, 128),
    };
    if prefix_len > max_len {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "prefix length out of range"));
    }
    // The shared address is fenced on every standby, so duplicate address
    // detection could find nothing and would only hold the address
    // tentative (unusable) for a second after a handover.
    let ifa_flags = match addr {
        IpAddr::V4(_) => 0,
        IpAddr::V6(_) => libc::IFA_F_NODAD as u8,
    };
    let mut header = [0u8; 8];
    header[0] = family;
    header[1] = prefix_len;
    header[2] = ifa_flags;
    header[3] = libc::RT_SCOPE_UNIVERSE;
    header[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    let bytes: Vec<u8> = match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    let mut req = Request::new();
    req.message(kind, F_REQUEST | F_ACK | flags)
        .header(&header)
        .attr(libc::IFA_LOCAL, &bytes)
        .attr(libc::IFA_ADDRESS, &bytes);
    if let IpAddr::V4(a) = addr {
        // What `ip addr add … brd +` and netifd set: the subnet broadcast.
        if prefix_len <= 30 {
            let host_mask = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
            let brd = Ipv4Addr::from(u32::from(a) | host_mask);
            req.attr(libc::IFA_BROADCAST, &brd.octets());
        }
    }
    Ok(req)
}

/// Puts `addr/prefix_len` on link `ifindex`, permanently: an existing copy
/// (say one udhcpc added with a lifetime) is replaced by one without a
/// lifetime, so that it never runs out while this router is active.
pub fn add_address(ifindex: u32, addr: IpAddr, prefix_len: u8) -> io::Result<()> {
    let mut req = address_request(libc::RTM_NEWADDR, F_CREATE | F_REPLACE, ifindex, addr, prefix_len)?;
    Socket::open(Protocol::Route, 0)?.request_ack(&mut req)
}

/// Removes `addr/prefix_len` from link `ifindex`; absent already is fine,
/// and so is a link being deleted or gone (index 0: its addresses went
/// with it).
pub fn del_address(ifindex: u32, addr: IpAddr, prefix_len: u8) -> io::Result<()> {
    if ifindex == 0 {
        return Ok(());
    }
    let mut req = address_request(libc::RTM_DELADDR, 0, ifindex, addr, prefix_len)?;
    match Socket::open(Protocol::Route, 0)?.request_ack(&mut req) {
        Err(e) if [Errno::ENOENT, Errno::EADDRNOTAVAIL, Errno::ENODEV].iter().any(|&n| is_errno(&e, n)) => Ok(()),
        other => other,
    }
}

/// `struct rtmsg` for a route in the main table.
fn rtmsg(v6: bool, dst_len: u8, protocol: u8, scope: u8, kind: u8, flags: u32) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[0] = if v6 { libc::AF_INET6 } else { libc::AF_INET } as u8;
    h[1] = dst_len;
    // src_len and tos stay 0.
    h[4] = libc::RT_TABLE_MAIN;
    h[5] = protocol;
    h[6] = scope;
    h[7] = kind;
    h[8..12].copy_from_slice(&flags.to_ne_bytes());
    h
}

/// Makes the default route of `gateway`'s family (main table, metric 0,
/// which IPv6 counts as 1024) go via `gateway` on link `ifindex`, like
/// `ip route replace default via GW dev DEV onlink`. Onlink, because a
/// DHCP gateway may lie outside the leased subnet and because it must not
/// depend on the address being installed first. (An IPv6 gateway is a
/// link-local address: on-link anyway.)
pub fn replace_default_route(ifindex: u32, gateway: IpAddr) -> io::Result<()> {
    let (v6, octets) = match gateway {
        IpAddr::V4(g) => (false, g.octets().to_vec()),
        IpAddr::V6(g) => (true, g.octets().to_vec()),
    };
    let mut req = Request::new();
    req.message(libc::RTM_NEWROUTE, F_REQUEST | F_ACK | F_CREATE | F_REPLACE)
        .header(&rtmsg(v6, 0, libc::RTPROT_STATIC, libc::RT_SCOPE_UNIVERSE, libc::RTN_UNICAST, RTNH_F_ONLINK))
        .attr(libc::RTA_GATEWAY, &octets)
        .attr_u32_ne(libc::RTA_OIF, ifindex);
    Socket::open(Protocol::Route, 0)?.request_ack(&mut req)
}

/// Removes every default route of the family (IPv6 if `v6`) through link
/// `ifindex` in the main table; none is fine. Index 0 (a device that is
/// gone took its routes with it) removes nothing: to the kernel it would
/// mean any device's.
pub fn del_default_route(ifindex: u32, v6: bool) -> io::Result<()> {
    if ifindex == 0 {
        return Ok(());
    }
    let mut socket = Socket::open(Protocol::Route, 0)?;
    for _ in 0..MAX_DEFAULT_ROUTES {
        let mut req = Request::new();
        // Scope "nowhere", type and protocol 0: match any such route.
        req.message(libc::RTM_DELROUTE, F_REQUEST | F_ACK)
            .header(&rtmsg(v6, 0, 0, libc::RT_SCOPE_NOWHERE, libc::RTN_UNSPEC, 0))
            .attr_u32_ne(libc::RTA_OIF, ifindex);
        match socket.request_ack(&mut req) {
            Ok(()) => {}
            Err(e) if is_errno(&e, Errno::ESRCH) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many default routes to delete"))
}

/// Adds (or, `present` false, removes) an unreachable route for a
/// delegated prefix, as netifd does: packets to the parts of it that no
/// LAN uses are refused here instead of looping between us and the ISP.
pub fn set_unreachable(prefix: Ipv6Addr, len: u8, present: bool) -> io::Result<()> {
    let mut req = Request::new();
    let (kind, flags) = if present { (libc::RTM_NEWROUTE, F_CREATE | F_REPLACE) } else { (libc::RTM_DELROUTE, 0) };
    req.message(kind, F_REQUEST | F_ACK | flags)
        .header(&rtmsg(true, len.min(128), libc::RTPROT_STATIC, libc::RT_SCOPE_UNIVERSE, libc::RTN_UNREACHABLE, 0))
        .attr(libc::RTA_DST, &prefix.octets());
    match Socket::open(Protocol::Route, 0)?.request_ack(&mut req) {
        Err(e) if !present && is_errno(&e, Errno::ESRCH) => Ok(()),
        other => other,
    }
}

/// One link's state, from an event or a dump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkState {
    pub index: u32,
    pub name: String,
    /// False when the link was deleted (`RTM_DELLINK`).
    pub exists: bool,
    /// Up with a working lower layer (`IFF_UP`, `IFF_LOWER_UP`, operstate
    /// up or unknown). A deleted link reports false.
    pub carrier: bool,
    pub mac: Option<[u8; 6]>,
    /// The device it is a port of, and the one it is stacked on ([`Tie`]).
    pub master: Option<u32>,
    pub lower: Option<u32>,
}

impl LinkState {
    fn of(link: Link, exists: bool) -> LinkState {
        LinkState {
            index: link.index,
            exists,
            carrier: exists && link.carrier(),
            mac: link.mac,
            master: link.master,
            lower: link.lower,
            name: link.name,
        }
    }
}

/// Every link's ties as the link monitor heard them, kept from its events
/// and dumps: what a control link stands in is known at each event without
/// asking the kernel again.
#[derive(Debug, Default)]
pub struct TieTable {
    links: Vec<Tie>,
    /// While a dump runs: the links heard of since it began.
    fresh: Option<Vec<u32>>,
}

impl TieTable {
    pub fn ties(&self) -> &[Tie] {
        &self.links
    }

    /// Takes in one link's state, from an event or a dump.
    pub fn learn(&mut self, s: &LinkState) {
        self.links.retain(|t| t.index != s.index);
        if s.exists {
            self.links.push(Tie { index: s.index, name: s.name.clone(), master: s.master, lower: s.lower });
            if let Some(fresh) = &mut self.fresh {
                fresh.push(s.index);
            }
        }
    }

    fn dump_started(&mut self) {
        self.fresh = Some(Vec::new());
    }

    /// A dump ended. A complete one names every link: one neither in it
    /// nor heard of since it began was deleted while events were lost.
    fn dump_ended(&mut self, complete: bool) {
        if let (Some(fresh), true) = (self.fresh.take(), complete) {
            self.links.retain(|t| fresh.contains(&t.index));
        }
    }
}

/// Link changes as they happen, for the event loop: non-blocking, register
/// its fd for readability and call [`LinkMonitor::read_events`].
#[derive(Debug)]
pub struct LinkMonitor {
    socket: Socket,
    /// A dump is running; the kernel refuses a second one meanwhile.
    dumping: bool,
    /// Another dump is wanted once the running one ends.
    redump: bool,
    /// The running dump was disturbed by changes.
    interrupted: bool,
    ties: TieTable,
}

/// Room for bursts of events (many links flapping at once).
const MONITOR_BUFFER: usize = 256 * 1024;

impl LinkMonitor {
    pub fn open() -> io::Result<LinkMonitor> {
        let socket = Socket::open(Protocol::Route, libc::RTMGRP_LINK as u32)?;
        socket.set_nonblocking(true)?;
        socket.set_receive_buffer(MONITOR_BUFFER)?;
        Ok(LinkMonitor { socket, dumping: false, redump: false, interrupted: false, ties: TieTable::default() })
    }

    /// Asks for the state of every link; the answers come through
    /// [`LinkMonitor::read_events`] like events do.
    pub fn dump(&mut self) -> io::Result<()> {
        if self.dumping {
            self.redump = true;
            return Ok(());
        }
        let mut req = Request::new();
        req.message(libc::RTM_GETLINK, F_REQUEST | F_DUMP).header(&ifinfomsg(0));
        self.socket.send(&mut req)?;
        self.dumping = true;
        self.redump = false;
        self.interrupted = false;
        self.ties.dump_started();
        Ok(())
    }

    /// Every link's ties, as of the events read so far.
    pub fn ties(&self) -> &[Tie] {
        self.ties.ties()
    }

    /// Drains everything queued, in order. When the kernel reports that it
    /// dropped events (`ENOBUFS`), or a dump was disturbed by changes, a new
    /// dump is requested so that the caller still ends up with every link's
    /// current state.
    pub fn read_events(&mut self) -> io::Result<Vec<LinkState>> {
        let mut events = Vec::new();
        loop {
            let mut dump_done = false;
            match self.socket.receive() {
                Ok(messages) => {
                    let d = link_datagram(messages)?;
                    for link in &d.links {
                        self.ties.learn(link);
                    }
                    events.extend(d.links);
                    self.redump |= d.dump_interrupted;
                    self.interrupted |= d.dump_interrupted;
                    dump_done = d.dump_done;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(events),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_errno(&e, Errno::ENOBUFS) => self.redump = true,
                Err(e) => return Err(e),
            }
            if dump_done {
                self.dumping = false;
                self.ties.dump_ended(!self.interrupted);
            }
            if self.redump && !self.dumping {
                self.dump()?;
            }
        }
    }
}

/// What one datagram of the link monitor's socket says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkDatagram {
    pub links: Vec<LinkState>,
    /// A dump was disturbed by changes: it must be asked for again.
    pub dump_interrupted: bool,
    /// A dump ended (with DONE, or with an error when it could not start).
    pub dump_done: bool,
}

/// Reads one datagram of link events or dump replies; the kernel's bytes,
/// checked before use (the fuzz target `netlink` feeds it any).
pub fn link_datagram(messages: Messages<'_>) -> Result<LinkDatagram, Malformed> {
    let mut d = LinkDatagram::default();
    for msg in messages {
        let msg = msg?;
        if msg.flags & F_DUMP_INTR != 0 {
            d.dump_interrupted = true;
        }
        match msg.kind {
            libc::RTM_NEWLINK | libc::RTM_DELLINK => {
                let link = Link::parse(&msg)?;
                // Bridge port notices repeat the link's own.
                if link.family == libc::AF_BRIDGE as u8 {
                    continue;
                }
                d.links.push(LinkState::of(link, msg.kind == libc::RTM_NEWLINK));
            }
            NLMSG_DONE | NLMSG_ERROR => d.dump_done = true,
            _ => {}
        }
    }
    Ok(d)
}

impl AsRawFd for LinkMonitor {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::testnet::{Netns, veth};
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};
    use std::time::{Duration, Instant};

    fn pair(tag: &str) -> (Netns, Netns, u32) {
        let a = Netns::new(&format!("{tag}a"));
        let b = Netns::new(&format!("{tag}b"));
        veth(&a, "wa", &b, "wb");
        a.ok("ip addr add 198.51.100.1/24 dev wa");
        b.ok("ip addr add 198.51.100.2/24 dev wb");
        let wa = a.ifindex("wa");
        (a, b, wa)
    }

    #[test]
    fn looks_up_links() {
        let (a, _b, wa) = pair("lk");
        let out = a.ok("ip -o link show dev wa");
        let mac_text = out.split("link/ether ").nth(1).unwrap().split(' ').next().unwrap();
        a.enter(|| {
            assert_eq!(ifindex("wa").unwrap(), wa);
            assert!(is_errno(&ifindex("nosuch0").unwrap_err(), Errno::ENODEV));
            let state = link_state("wa").unwrap().unwrap();
            assert_eq!((state.index, state.exists, state.name.as_str()), (wa, true, "wa"));
            assert_eq!(link_state("nosuch0").unwrap(), None);
            assert_eq!(ifindex("waaaaaaaaaaaaaaa").unwrap_err().kind(), io::ErrorKind::InvalidInput);
            let text: Vec<String> = state.mac.unwrap().iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(text.join(":"), mac_text);
        });
    }

    /// A control link that is a bridge or a port of the WAN is found on the
    /// kernel's own links; a veth's peer and a separate device are apart.
    /// (This kernel has bridges and veths; VLANs are the pure test's.)
    #[test]
    fn ties_find_the_bridge_of_the_wan() {
        let (a, _b, _wa) = pair("ti");
        a.ok("ip link add br0 type bridge");
        a.ok("ip link set wa master br0");
        a.ok("ip link add lan0 type veth peer name lan1");
        let ties = a.enter(ties).unwrap();
        let at = |n: &str| ties.iter().find(|t| t.name == n).unwrap_or_else(|| panic!("{n}: {ties:?}")).index;
        let tie = |wan: &str, control: &str| wan_tie(&ties, at(wan), at(control));
        assert_eq!(tie("wa", "wa"), Some("is"));
        assert_eq!(tie("wa", "br0"), Some("is a bridge, bond or VLAN over"));
        assert_eq!(tie("br0", "wa"), Some("is a port of, or the device under,"));
        assert_eq!(tie("wa", "lan0"), None);
        assert_eq!(tie("br0", "lan0"), None);
        // A veth's peer, here or in another namespace, is no lower device.
        assert_eq!(tie("lan0", "lan1"), None);
        assert!(ties.iter().all(|t| t.lower.is_none()), "{ties:?}");
    }

    /// Stacks as a router has them: a DSA switch (wan@eth0, lan1@eth0 in
    /// br-lan), a VLAN on the WAN port and a bridge over that VLAN.
    #[test]
    fn wan_ties_follow_ports_and_stacked_devices() {
        let t = |index, name: &str, master, lower| Tie { index, name: name.into(), master, lower };
        let ties = [
            t(2, "eth0", None, None),
            t(3, "wan", None, Some(2)),
            t(4, "lan1", Some(6), Some(2)),
            t(5, "wan.10", Some(7), Some(3)),
            t(6, "br-lan", None, None),
            t(7, "br-wan10", None, None),
        ];
        assert_eq!(wan_tie(&ties, 3, 6), None, "br-lan and the WAN share only the conduit");
        assert_eq!(wan_tie(&ties, 3, 5), Some("is a bridge, bond or VLAN over"));
        assert_eq!(wan_tie(&ties, 3, 7), Some("is a bridge, bond or VLAN over"));
        assert_eq!(wan_tie(&ties, 3, 2), Some("is a port of, or the device under,"));
        assert_eq!(wan_tie(&ties, 7, 3), Some("is a port of, or the device under,"));
        assert_eq!(wan_tie(&ties, 6, 4), Some("is a port of, or the device under,"));
        assert_eq!(wan_tie(&ties, 6, 2), Some("is a port of, or the device under,"));
        assert_eq!(wan_tie(&ties, 3, 4), None);
    }

    fn state(index: u32, name: &str, exists: bool, master: Option<u32>, lower: Option<u32>) -> LinkState {
        LinkState { index, name: name.into(), exists, carrier: exists, mac: None, master, lower }
    }

    /// The table follows events: a port joins, a device is re-created with
    /// another index, one is deleted; a complete dump drops what was
    /// deleted while events were lost, an interrupted one drops nothing.
    #[test]
    fn the_tie_table_follows_events_and_dumps() {
        let mut t = TieTable::default();
        let wan = |t: &TieTable| wan_tie(t.ties(), 3, 6);
        t.learn(&state(3, "wan", true, None, None));
        t.learn(&state(6, "br-lan", true, None, None));
        assert_eq!(wan(&t), None);
        t.learn(&state(3, "wan", true, Some(6), None));
        assert_eq!(wan(&t), Some("is a bridge, bond or VLAN over"));
        t.learn(&state(3, "wan", true, None, None));
        assert_eq!(wan(&t), None);
        // A VLAN over the WAN joins the bridge; deleted, it unties it.
        t.learn(&state(8, "wan.5", true, Some(6), Some(3)));
        assert_eq!(wan(&t), Some("is a bridge, bond or VLAN over"));
        t.learn(&state(8, "wan.5", false, None, None));
        assert_eq!(wan(&t), None);
        assert_eq!(t.ties().len(), 2);

        // Events lost (ENOBUFS): the VLAN's deletion was missed.
        t.learn(&state(9, "wan.7", true, Some(6), Some(3)));
        t.dump_started();
        t.learn(&state(3, "wan", true, None, None));
        t.learn(&state(6, "br-lan", true, None, None));
        t.dump_ended(false);
        assert_eq!(wan(&t), Some("is a bridge, bond or VLAN over"), "an interrupted dump sweeps nothing");
        t.dump_started();
        t.learn(&state(3, "wan", true, None, None));
        // An event while the dump runs: a link created after the dump
        // passed its place.
        t.learn(&state(10, "lan2", true, Some(6), None));
        t.learn(&state(6, "br-lan", true, None, None));
        t.dump_ended(true);
        assert_eq!(wan(&t), None);
        let mut left: Vec<u32> = t.ties().iter().map(|x| x.index).collect();
        left.sort_unstable();
        assert_eq!(left, [3, 6, 10]);
    }

    /// The monitor's table follows a port joining and leaving a bridge at
    /// run time, and a bridge deleted, from the kernel's events alone.
    #[test]
    fn monitor_keeps_the_ties_from_events() {
        let (a, _b, wa) = pair("mt");
        a.ok("ip link add br0 type bridge");
        let br = a.ifindex("br0");
        let mut monitor = a.enter(LinkMonitor::open).unwrap();
        let mut poll = Poll::new().unwrap();
        let fd = monitor.as_raw_fd();
        poll.registry().register(&mut SourceFd(&fd), Token(0), Interest::READABLE).unwrap();
        monitor.dump().unwrap();
        wait_until(&mut monitor, &mut poll, |s| s.index == br);
        assert_eq!(wan_tie(monitor.ties(), wa, br), None);

        a.ok("ip link set wa master br0");
        wait_until(&mut monitor, &mut poll, |s| s.index == wa && s.master == Some(br));
        assert_eq!(wan_tie(monitor.ties(), wa, br), Some("is a bridge, bond or VLAN over"));
        a.ok("ip link set wa nomaster");
        wait_until(&mut monitor, &mut poll, |s| s.index == wa && s.master.is_none());
        assert_eq!(wan_tie(monitor.ties(), wa, br), None);
        assert!(monitor.ties().iter().any(|t| t.index == wa), "{:?}", monitor.ties());

        a.ok("ip link set wa master br0");
        wait_until(&mut monitor, &mut poll, |s| s.index == wa && s.master == Some(br));
        a.ok("ip link del br0");
        wait_until(&mut monitor, &mut poll, |s| s.index == br && !s.exists);
        assert!(monitor.ties().iter().all(|t| t.index != br), "{:?}", monitor.ties());
        // The port's own event says it left (read with the deletion or
        // just after it).
        let port = |m: &LinkMonitor| m.ties().iter().find(|t| t.index == wa).map(|t| t.master);
        if port(&monitor) != Some(None) {
            wait_until(&mut monitor, &mut poll, |s| s.index == wa && s.master.is_none());
        }
        assert_eq!(port(&monitor), Some(None));
    }

    #[test]
    fn adds_and_deletes_addresses() {
        let (a, _b, wa) = pair("ad");
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        let leased: IpAddr = "192.0.2.8".parse().unwrap();
        let v6: IpAddr = "2001:db8:5::7".parse().unwrap();
        // An address with a lifetime, as a DHCP client would leave it.
        a.ok("ip addr add 192.0.2.8/24 brd + dev wa valid_lft 100 preferred_lft 100");
        a.enter(|| {
            add_address(wa, v4, 24).unwrap();
            add_address(wa, leased, 24).unwrap();
            add_address(wa, v6, 64).unwrap();
            add_address(wa, v4, 24).unwrap(); // again: replaced, not an error
        });
        let v4_out = a.ok("ip -4 -o addr show dev wa");
        let line = |addr: &str| v4_out.lines().find(|l| l.contains(addr)).unwrap_or("").to_owned();
        assert!(line("203.0.113.7/24").contains("brd 203.0.113.255 scope global"), "{v4_out}");
        assert!(line("203.0.113.7/24").contains("valid_lft forever"), "{v4_out}");
        assert!(line("192.0.2.8/24").contains("valid_lft forever"), "lifetime kept: {v4_out}");
        let v6_out = a.ok("ip -6 -o addr show dev wa");
        let v6_line = v6_out.lines().find(|l| l.contains("2001:db8:5::7/64")).unwrap_or("");
        assert!(v6_line.contains("scope global nodad"), "{v6_out}");
        assert!(!v6_line.contains("tentative"), "{v6_out}");

        a.enter(|| {
            for (addr, len) in [(v4, 24), (leased, 24), (v6, 64)] {
                del_address(wa, addr, len).unwrap();
                del_address(wa, addr, len).unwrap(); // gone already: fine
            }
            assert_eq!(add_address(wa, v4, 33).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        });
        let out = a.ok("ip addr show dev wa");
        for gone in ["203.0.113.7", "192.0.2.8", "2001:db8:5::7"] {
            assert!(!out.contains(gone), "{gone} still there: {out}");
        }
        // The test bed's own address is untouched.
        assert!(out.contains("198.51.100.1/24"));
    }

    #[test]
    fn replaces_and_deletes_default_route() {
        let (a, _b, wa) = pair("rt");
        let default = || a.ok("ip -4 route show default");
        let v4 = |s: &str| IpAddr::V4(s.parse().unwrap());
        a.enter(|| replace_default_route(wa, v4("198.51.100.2"))).unwrap();
        assert!(default().contains("default via 198.51.100.2 dev wa proto static onlink"), "{}", default());
        a.enter(|| replace_default_route(wa, v4("198.51.100.3"))).unwrap();
        assert_eq!(default().lines().count(), 1, "{}", default());
        assert!(default().contains("default via 198.51.100.3 dev wa"));
        // A gateway outside the subnet works too.
        a.enter(|| replace_default_route(wa, v4("192.0.2.1"))).unwrap();
        assert!(default().contains("default via 192.0.2.1 dev wa"));

        // IPv6 beside it, via a link-local gateway; each family's delete
        // leaves the other alone.
        let default6 = || a.ok("ip -6 route show default");
        a.enter(|| replace_default_route(wa, IpAddr::V6("fe80::1".parse().unwrap()))).unwrap();
        assert!(default6().contains("default via fe80::1 dev wa proto static"), "{}", default6());
        a.enter(|| replace_default_route(wa, IpAddr::V6("fe80::2".parse().unwrap()))).unwrap();
        assert_eq!(default6().lines().count(), 1, "{}", default6());

        a.ok("ip route add default via 198.51.100.9 dev wa metric 50");
        a.enter(|| del_default_route(wa, false)).unwrap();
        assert_eq!(default(), "");
        assert!(default6().contains("via fe80::2"), "{}", default6());
        a.enter(|| del_default_route(wa, false)).unwrap();
        // A gone device's index, 0, is no device: to the kernel it would
        // match any, and delete this route of another.
        a.ok("ip route add default via 198.51.100.9 dev wa");
        a.enter(|| del_default_route(0, false)).unwrap();
        a.enter(|| del_default_route(0, true)).unwrap();
        assert!(default().contains("via 198.51.100.9"), "{}", default());
        assert!(default6().contains("via fe80::2"), "{}", default6());
        a.enter(|| del_default_route(wa, false)).unwrap();
        a.enter(|| del_default_route(wa, true)).unwrap();
        assert_eq!(default6(), "");
    }

    #[test]
    fn unreachable_route_of_a_prefix() {
        let (a, _b, _) = pair("ur");
        let prefix: Ipv6Addr = "2001:db8:100::".parse().unwrap();
        let routes = || a.ok("ip -6 route show type unreachable");
        a.enter(|| set_unreachable(prefix, 56, true)).unwrap();
        a.enter(|| set_unreachable(prefix, 56, true)).unwrap();
        assert_eq!(routes().trim(), "unreachable 2001:db8:100::/56 dev lo proto static metric 1024 pref medium");
        a.enter(|| set_unreachable(prefix, 56, false)).unwrap();
        a.enter(|| set_unreachable(prefix, 56, false)).unwrap();
        assert_eq!(routes(), "");
    }

    /// Reads monitor events until one for `index` with this carrier shows up.
    fn wait_for(monitor: &mut LinkMonitor, poll: &mut Poll, index: u32, carrier: bool) -> LinkState {
        wait_until(monitor, poll, |s| s.index == index && s.carrier == carrier)
    }

    /// Reads monitor events until one satisfies `want`.
    fn wait_until(monitor: &mut LinkMonitor, poll: &mut Poll, want: impl Fn(&LinkState) -> bool) -> LinkState {
        let mut events = Events::with_capacity(4);
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            if let Some(state) = monitor.read_events().unwrap().into_iter().find(&want) {
                return state;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no such link event");
            match poll.poll(&mut events, Some(left)) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => other.unwrap(),
            }
        }
    }

    #[test]
    fn monitor_reports_carrier() {
        let (a, b, wa) = pair("mo");
        let mut monitor = a.enter(LinkMonitor::open).unwrap();
        let mut poll = Poll::new().unwrap();
        let fd = monitor.as_raw_fd();
        poll.registry().register(&mut SourceFd(&fd), Token(0), Interest::READABLE).unwrap();

        monitor.dump().unwrap();
        monitor.dump().unwrap(); // while one runs: queued, not refused
        let state = wait_for(&mut monitor, &mut poll, wa, true);
        assert_eq!(state.name, "wa");
        assert!(state.exists);
        let mac = a.ok("cat /sys/class/net/wa/address");
        let text: Vec<String> = state.mac.unwrap().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(text.join(":"), mac.trim());

        b.ok("ip link set wb down");
        wait_for(&mut monitor, &mut poll, wa, false);
        b.ok("ip link set wb up");
        wait_for(&mut monitor, &mut poll, wa, true);
        a.ok("ip link del wa");
        let gone = wait_until(&mut monitor, &mut poll, |s| s.index == wa && !s.exists);
        assert_eq!((gone.name.as_str(), gone.carrier), ("wa", false));
    }
}
