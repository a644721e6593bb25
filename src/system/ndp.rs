//! Router discovery, both sides of the active router.
//!
//! On the WAN, `Routers` hears the ISP's router advertisements: their
//! source is the IPv6 default gateway the group carries in its hellos (the
//! kernel ignores them on a router, `forwarding` being on, and odhcp6c,
//! which reads them on OpenWrt, does not run). It can also solicit one, so
//! a router that obtains a binding does not wait for the next periodic
//! advertisement.
//!
//! On the LAN, `Solicits` hears the hosts' router solicitations, which the
//! active answers with a router advertisement from the group's link-local
//! gateway address (built in `wire::icmp`, sent like the neighbour
//! advertisements of `announce`).
//!
//! Both are raw ICMPv6 sockets that let one message type through; the
//! kernel checks the checksums and fills in the solicitation's. A fenced
//! standby receives nothing on the WAN: the netdev fence drops it first.

use std::io;
use std::mem;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::libc;
use nix::sys::socket::{self, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn6, sockopt};

use crate::wire::icmp::{
    ROUTER_ADVERTISEMENT, ROUTER_SOLICITATION, RouterAdvert, is_router_solicitation, router_solicitation,
};

/// `ICMP6_FILTER` (netinet/icmp6.h); the libc crate does not name it.
const ICMP6_FILTER: libc::c_int = 1;
const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

fn set_raw<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` is a valid, initialised T of the size passed.
    let r = unsafe {
        libc::setsockopt(fd, level, name, (value as *const T).cast(), mem::size_of::<T>() as libc::socklen_t)
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// A non-blocking raw ICMPv6 socket that passes only `icmp_type` up.
fn open(icmp_type: u8) -> io::Result<OwnedFd> {
    let fd = socket::socket(
        AddressFamily::Inet6,
        SockType::Raw,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        SockProtocol::IcmpV6,
    )?;
    // Linux: a set bit blocks that type.
    let mut block = [u32::MAX; 8];
    block[usize::from(icmp_type >> 5)] &= !(1u32 << (icmp_type & 31));
    set_raw(fd.as_raw_fd(), libc::IPPROTO_ICMPV6, ICMP6_FILTER, &block)?;
    Ok(fd)
}

/// Reads every waiting message; `f` gets each one's source and bytes.
fn drain(fd: &OwnedFd, mut f: impl FnMut(SocketAddrV6, &[u8])) -> io::Result<()> {
    let mut buf = [0u8; 1500];
    loop {
        match socket::recvfrom::<SockaddrIn6>(fd.as_raw_fd(), &mut buf) {
            Ok((n, Some(from))) => f(SocketAddrV6::from(from), buf.get(..n).unwrap_or(&[])),
            Ok((_, None)) => {}
            Err(nix::errno::Errno::EAGAIN) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Router advertisements on the WAN device, and solicitations sent there.
#[derive(Debug)]
pub struct Routers {
    fd: OwnedFd,
    ifindex: u32,
}

impl Routers {
    pub fn open(ifname: &str, ifindex: u32) -> io::Result<Routers> {
        let fd = open(ROUTER_ADVERTISEMENT)?;
        socket::setsockopt(&fd, sockopt::BindToDevice, &std::ffi::OsString::from(ifname))?;
        // RFC 4861 §4.1: a solicitation leaves with hop limit 255.
        set_raw(fd.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, &255 as &libc::c_int)?;
        Ok(Routers { fd, ifindex })
    }

    /// A router solicitation to all routers on the WAN; `false` when it
    /// cannot go yet: the WAN's link-local address is still tentative
    /// (EADDRNOTAVAIL, for a second or two after the link came up).
    pub fn solicit(&self) -> io::Result<bool> {
        let to = SockaddrIn6::from(SocketAddrV6::new(ALL_ROUTERS, 0, 0, self.ifindex));
        match socket::sendto(self.fd.as_raw_fd(), &router_solicitation(), &to, MsgFlags::empty()) {
            Ok(_) => Ok(true),
            Err(nix::errno::Errno::EADDRNOTAVAIL) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Every advertisement waiting: its (link-local) source and router
    /// lifetime, in arrival order. Advertisements from an address that is
    /// not link-local are not valid (RFC 4861 §6.1.2) and left out.
    pub fn drain(&self) -> io::Result<Vec<(Ipv6Addr, u16)>> {
        let mut out = Vec::new();
        drain(&self.fd, |from, m| {
            let link_local = from.ip().segments()[0] & 0xffc0 == 0xfe80;
            if let Some(lifetime) = RouterAdvert::parse_lifetime(m).filter(|_| link_local) {
                out.push((*from.ip(), lifetime));
            }
        })?;
        Ok(out)
    }
}

impl AsRawFd for Routers {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Router solicitations from the hosts on the LAN devices.
#[derive(Debug)]
pub struct Solicits {
    fd: OwnedFd,
    ifindexes: Vec<u32>,
}

impl Solicits {
    /// Hears solicitations on the devices `ifindexes` (joining all-routers
    /// there, which a router with forwarding on has joined anyway).
    pub fn open(ifindexes: Vec<u32>) -> io::Result<Solicits> {
        let fd = open(ROUTER_SOLICITATION)?;
        for &i in &ifindexes {
            let mreq = libc::ipv6_mreq {
                ipv6mr_multiaddr: libc::in6_addr { s6_addr: ALL_ROUTERS.octets() },
                ipv6mr_interface: i,
            };
            set_raw(fd.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_ADD_MEMBERSHIP, &mreq)?;
        }
        Ok(Solicits { fd, ifindexes })
    }

    /// Whether a solicitation came in on one of the devices since the last
    /// call (reads everything waiting). A solicitation from the
    /// unspecified address carries no interface: it counts.
    pub fn drain(&self) -> io::Result<bool> {
        let mut any = false;
        drain(&self.fd, |from, m| {
            let here = from.scope_id() == 0 || self.ifindexes.contains(&from.scope_id());
            any |= here && is_router_solicitation(m);
        })?;
        Ok(any)
    }
}

impl AsRawFd for Solicits {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::packet::PacketSocket;
    use crate::system::testnet::{Netns, veth};
    use crate::wire::Mac;
    use crate::wire::icmp::AdvertisedPrefix;
    use std::time::{Duration, Instant};

    fn wait<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Some(t) = f() {
                return Some(t);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// A router's advertisement reaches `Routers` with its link-local
    /// source; a host's solicitation reaches `Solicits`; and a plain Linux
    /// host takes an advertisement built by `wire::icmp` from a link-local
    /// gateway address: default route via that address, a SLAAC address
    /// in the prefix, the neighbour entry at the advertised MAC.
    #[test]
    fn advertisements_and_solicitations_on_a_link() {
        let r = Netns::new("ndr");
        let h = Netns::new("ndh");
        veth(&r, "lan0", &h, "eth0");
        r.exec(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
        for (ns, dev) in [(&r, "lan0"), (&h, "eth0")] {
            let cmd = format!("ip -6 addr show dev {dev} scope link");
            assert!(wait(|| (!ns.ok(&cmd).contains("tentative")).then_some(())).is_some(), "DAD on {dev}");
        }
        let (ri, hi) = (r.ifindex("lan0"), h.ifindex("eth0"));
        let solicits = r.enter(|| Solicits::open(vec![ri]).unwrap());
        let routers = h.enter(|| Routers::open("eth0", hi).unwrap());

        // The host solicits (as a host does when its link comes up).
        assert!(routers.solicit().unwrap());
        assert_eq!(wait(|| solicits.drain().unwrap().then_some(true)), Some(true), "no solicitation heard");

        let mac = Mac::parse(r.ok("cat /sys/class/net/lan0/address").trim()).unwrap();
        let gw: Ipv6Addr = "fe80::1".parse().unwrap();
        r.exec(["ip", "addr", "add", "fe80::1/64", "dev", "lan0", "nodad"]);
        let ra = RouterAdvert {
            source: gw,
            mac,
            lifetime: 1800,
            prefixes: vec![AdvertisedPrefix {
                prefix: "2001:db8:100::".parse().unwrap(),
                len: 64,
                preferred: 3000,
                valid: 4000,
            }],
        };
        let sender = r.enter(|| PacketSocket::sender(ri).unwrap());
        sender.send(&ra.frame()).unwrap();
        let heard = wait(|| routers.drain().unwrap().into_iter().next());
        assert_eq!(heard, Some((gw, 1800)));
        let route = wait(|| {
            let out = h.ok("ip -6 route show default");
            out.contains("via fe80::1 dev eth0").then_some(out)
        });
        assert!(route.is_some(), "no default route via fe80::1: {}", h.ok("ip -6 route"));
        assert!(
            wait(|| h.ok("ip -6 addr show dev eth0 scope global").contains("2001:db8:100:0:").then_some(())).is_some(),
            "no SLAAC address: {}",
            h.ok("ip -6 addr")
        );
        assert!(h.ok("ip -6 neigh show fe80::1 dev eth0").contains(&mac.to_string()), "{}", h.ok("ip -6 neigh"));
    }
}
