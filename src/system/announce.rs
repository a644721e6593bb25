//! Announcements a new active sends so that neighbours move to it.
//!
//! On the WAN: a gratuitous ARP for the leased address from the shared MAC
//! (switches learn the new port, the ISP gateway refreshes its entry) and an
//! ARP request from the leased address to the ISP gateway, the "nudge",
//! because some ISP gateways ignore gratuitous ARP but learn from requests.
//! On the LAN: gratuitous ARP for each IPv4 gateway address and an
//! unsolicited neighbour advertisement for each IPv6 one, from the LAN MAC.
//!
//! The frames are built in `wire::arp` and `wire::icmp`; this decides
//! which to send and pushes them through a send-only `PacketSocket` on the
//! right interface.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::packet::PacketSocket;
use crate::wire::arp;
use crate::wire::icmp::NeighbourAdvert;
use crate::wire::{Lease4, Mac};

/// Sends every frame even when one fails; returns the first error.
fn send_all(sock: &PacketSocket, frames: impl IntoIterator<Item = Vec<u8>>) -> io::Result<()> {
    let mut first = Ok(());
    for f in frames {
        let sent = sock.send(&f);
        if first.is_ok() {
            first = sent;
        }
    }
    first
}

/// The ARP request from the leased address to the ISP gateway, if the lease
/// names one.
pub fn gateway_nudge(shared_mac: Mac, lease: &Lease4) -> Option<Vec<u8>> {
    let g = lease.gateway;
    (!g.is_unspecified() && !g.is_broadcast() && g != lease.address)
        .then(|| arp::Repr::request(shared_mac, lease.address, g).frame())
}

/// On the WAN, from the shared MAC: gratuitous ARP for the leased address,
/// then the gateway nudge. `sock` is a sender on the WAN device.
pub fn announce_wan(sock: &PacketSocket, shared_mac: Mac, lease: &Lease4) -> io::Result<()> {
    let garp = arp::Repr::gratuitous(shared_mac, lease.address).frame();
    send_all(sock, std::iter::once(garp).chain(gateway_nudge(shared_mac, lease)))
}

/// Only the gateway nudge; sent periodically while active.
pub fn nudge_gateway(sock: &PacketSocket, shared_mac: Mac, lease: &Lease4) -> io::Result<()> {
    send_all(sock, gateway_nudge(shared_mac, lease))
}

/// On the LAN, from the LAN interface's MAC: gratuitous ARP for each IPv4
/// gateway address and an unsolicited router NA for each IPv6 one.
pub fn announce_lan(sock: &PacketSocket, lan_mac: Mac, v4: &[Ipv4Addr], v6: &[Ipv6Addr]) -> io::Result<()> {
    let arps = v4.iter().map(|&a| arp::Repr::gratuitous(lan_mac, a).frame());
    let nas = v6
        .iter()
        .filter(|a| !a.is_multicast() && !a.is_unspecified())
        .map(|&target| NeighbourAdvert { target, mac: lan_mac, router: true }.frame());
    send_all(sock, arps.chain(nas))
}

#[cfg(test)]
mod tests {
    use super::super::packet::PacketType;
    use super::*;
    use crate::system::testnet::{Netns, veth};
    use std::time::{Duration, Instant};

    const MAC: Mac = Mac([0x02, 0x00, 0x5e, 0x00, 0x53, 0x01]);

    #[test]
    fn nudge_needs_a_gateway() {
        let mut lease = Lease4 {
            address: Ipv4Addr::new(203, 0, 113, 10),
            prefix_len: 24,
            gateway: Ipv4Addr::UNSPECIFIED,
            server_id: Ipv4Addr::new(203, 0, 113, 1),
            lease_time: 120,
            valid_left: 120,
            renew_left: 60,
            rebind_left: 105,
            dns: vec![],
        };
        assert_eq!(gateway_nudge(MAC, &lease), None);
        lease.gateway = lease.address;
        assert_eq!(gateway_nudge(MAC, &lease), None);
        lease.gateway = Ipv4Addr::new(203, 0, 113, 1);
        assert_eq!(gateway_nudge(MAC, &lease), Some(arp::Repr::request(MAC, lease.address, lease.gateway).frame()));
    }

    fn neigh(ns: &Netns, addr: &str) -> String {
        String::from_utf8_lossy(&ns.exec(["ip", "neigh", "show", addr]).stdout).into_owned()
    }

    fn wait_for(mut ok: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// A peer's stale neighbour entries for the gateway addresses move to
    /// the announcing MAC; a receiver sees the frames as broadcast.
    #[test]
    fn announcements_move_peer_neighbour_entries() {
        let r = Netns::new("ar");
        let c = Netns::new("ac");
        veth(&r, "lan0", &c, "eth0");
        r.exec(["ip", "link", "set", "lan0", "address", &MAC.to_string()]);
        c.exec(["ip", "addr", "add", "192.0.2.2/24", "dev", "eth0"]);
        c.exec(["ip", "addr", "add", "2001:db8::2/64", "dev", "eth0", "nodad"]);
        let old = "02:00:5e:00:53:99";
        for a in ["192.0.2.1", "2001:db8::1"] {
            c.exec(["ip", "neigh", "replace", a, "lladdr", old, "dev", "eth0", "nud", "stale"]);
            assert!(neigh(&c, a).contains(old));
        }
        let (ri, ci) = (r.ifindex("lan0"), c.ifindex("eth0"));
        let capture = c.enter(|| PacketSocket::open(ci, 0x0806).unwrap());
        let sender = r.enter(|| PacketSocket::sender(ri).unwrap());

        announce_lan(&sender, MAC, &[Ipv4Addr::new(192, 0, 2, 1)], &["2001:db8::1".parse().unwrap()]).unwrap();

        let mac = MAC.to_string();
        assert!(wait_for(|| neigh(&c, "192.0.2.1").contains(&mac)), "ARP entry not moved: {}", neigh(&c, "192.0.2.1"));
        assert!(
            wait_for(|| neigh(&c, "2001:db8::1").contains(&mac)),
            "NDP entry not moved: {}",
            neigh(&c, "2001:db8::1")
        );
        let mut buf = [0u8; 128];
        let mut got = None;
        assert!(wait_for(|| {
            got = capture.recv(&mut buf).unwrap();
            got.is_some()
        }));
        assert_eq!(got, Some((60, PacketType::Broadcast)));
        assert_eq!(buf[..60], arp::Repr::gratuitous(MAC, Ipv4Addr::new(192, 0, 2, 1)).frame());
    }
}
