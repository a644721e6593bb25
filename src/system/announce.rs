//! Announcements a new active sends so that neighbours move to it.
//!
//! On the WAN: a gratuitous ARP for the leased address from the shared MAC
//! (switches learn the new port, the ISP gateway refreshes its entry) and an
//! ARP request from the leased address to the ISP gateway, the "nudge",
//! because some ISP gateways ignore gratuitous ARP but learn from requests.
//! On the LAN: gratuitous ARP for each IPv4 gateway address and an
//! unsolicited neighbour advertisement for each IPv6 one, from the LAN MAC.
//!
//! The builders are pure and return whole Ethernet frames, padded to the
//! Ethernet minimum; the senders push them through a send-only
//! `PacketSocket` on the right interface.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::packet::PacketSocket;
use crate::wire::{ETHERNET_HEADER_LEN, Lease4, MIN_FRAME_LEN, Mac};

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const BROADCAST: Mac = Mac([0xff; 6]);
/// Ethernet multicast for ff02::1 (RFC 2464 7).
const ALL_NODES_MAC: Mac = Mac([0x33, 0x33, 0, 0, 0, 1]);
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ICMPV6: u8 = 58;
const NEIGHBOUR_ADVERTISEMENT: u8 = 136;
const NA_ROUTER: u8 = 0x80;
const NA_OVERRIDE: u8 = 0x20;
const OPTION_TARGET_LL_ADDR: u8 = 2;
/// Neighbour advertisement (24) plus one target link-layer option (8).
const NA_LEN: u16 = 32;

/// An Ethernet frame around `payload`, zero-padded to the Ethernet minimum.
fn ethernet(dst: Mac, src: Mac, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(MIN_FRAME_LEN.max(ETHERNET_HEADER_LEN.saturating_add(payload.len())));
    buf.extend_from_slice(&dst.0);
    buf.extend_from_slice(&src.0);
    buf.extend_from_slice(&ethertype.to_be_bytes());
    buf.extend_from_slice(payload);
    buf.resize(buf.len().max(MIN_FRAME_LEN), 0);
    buf
}

/// A broadcast ARP request (RFC 826) for IPv4 over Ethernet.
fn arp_request_frame(mac: Mac, sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut a = Vec::with_capacity(28);
    // Hardware Ethernet, protocol IPv4, address lengths 6 and 4, request.
    a.extend_from_slice(&[0, 1]);
    a.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    a.extend_from_slice(&[6, 4, 0, 1]);
    a.extend_from_slice(&mac.0);
    a.extend_from_slice(&sender.octets());
    a.extend_from_slice(&[0; 6]);
    a.extend_from_slice(&target.octets());
    ethernet(BROADCAST, mac, ETHERTYPE_ARP, &a)
}

/// Gratuitous ARP: a broadcast ARP request whose sender and target are both
/// `addr`, from `mac`. Neighbours that know `addr` move it to `mac`.
pub fn gratuitous_arp(mac: Mac, addr: Ipv4Addr) -> Vec<u8> {
    arp_request_frame(mac, addr, addr)
}

/// A broadcast ARP request from `sender` (at `mac`) asking for `target`.
pub fn arp_request(mac: Mac, sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    arp_request_frame(mac, sender, target)
}

/// The ICMPv6 checksum (RFC 4443 2.3): one's complement of the one's-
/// complement sum over the pseudo-header and the message.
fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    let len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
    let mut pseudo = Vec::with_capacity(40);
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&len.to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, ICMPV6]);
    let words = pseudo.chunks(2).chain(msg.chunks(2));
    // Folding after every word keeps the sum below 0x10001: no overflow.
    let sum = words.fold(0u32, |sum, w| {
        let word = u32::from(u16::from_be_bytes([w.first().copied().unwrap_or(0), w.get(1).copied().unwrap_or(0)]));
        let s = sum.saturating_add(word);
        (s & 0xffff).saturating_add(s >> 16)
    });
    !u16::try_from(sum & 0xffff).unwrap_or(0)
}

/// Unsolicited neighbour advertisement for `target` at `mac`, to all nodes,
/// with the Override flag so existing entries change. `router` sets the
/// Router flag: it must be set for a gateway, because a receiver that sees
/// it cleared removes the sender from its default routers (RFC 4861 7.2.5).
pub fn unsolicited_na(mac: Mac, target: Ipv6Addr, router: bool) -> Vec<u8> {
    let mut na = Vec::with_capacity(usize::from(NA_LEN));
    na.extend_from_slice(&[NEIGHBOUR_ADVERTISEMENT, 0, 0, 0]);
    na.extend_from_slice(&[if router { NA_ROUTER | NA_OVERRIDE } else { NA_OVERRIDE }, 0, 0, 0]);
    na.extend_from_slice(&target.octets());
    // One option, 1 × 8 bytes long.
    na.extend_from_slice(&[OPTION_TARGET_LL_ADDR, 1]);
    na.extend_from_slice(&mac.0);
    let sum = icmpv6_checksum(target, ALL_NODES, &na).to_be_bytes();
    if let Some(c) = na.get_mut(2..4) {
        c.copy_from_slice(&sum);
    }
    let mut ip = Vec::with_capacity(usize::from(NA_LEN).saturating_add(40));
    ip.extend_from_slice(&[0x60, 0, 0, 0]);
    ip.extend_from_slice(&NA_LEN.to_be_bytes());
    // Receivers drop neighbour discovery that crossed a router: hop limit 255.
    ip.extend_from_slice(&[ICMPV6, 255]);
    ip.extend_from_slice(&target.octets());
    ip.extend_from_slice(&ALL_NODES.octets());
    ip.extend_from_slice(&na);
    ethernet(ALL_NODES_MAC, mac, ETHERTYPE_IPV6, &ip)
}

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
    (!g.is_unspecified() && !g.is_broadcast() && g != lease.address).then(|| arp_request(shared_mac, lease.address, g))
}

/// On the WAN, from the shared MAC: gratuitous ARP for the leased address,
/// then the gateway nudge. `sock` is a sender on the WAN device.
pub fn announce_wan(sock: &PacketSocket, shared_mac: Mac, lease: &Lease4) -> io::Result<()> {
    send_all(sock, std::iter::once(gratuitous_arp(shared_mac, lease.address)).chain(gateway_nudge(shared_mac, lease)))
}

/// Only the gateway nudge; sent periodically while active.
pub fn nudge_gateway(sock: &PacketSocket, shared_mac: Mac, lease: &Lease4) -> io::Result<()> {
    send_all(sock, gateway_nudge(shared_mac, lease))
}

/// On the LAN, from the LAN interface's MAC: gratuitous ARP for each IPv4
/// gateway address and an unsolicited router NA for each IPv6 one.
pub fn announce_lan(sock: &PacketSocket, lan_mac: Mac, v4: &[Ipv4Addr], v6: &[Ipv6Addr]) -> io::Result<()> {
    let arps = v4.iter().map(|&a| gratuitous_arp(lan_mac, a));
    let nas = v6.iter().filter(|a| !a.is_multicast() && !a.is_unspecified()).map(|&a| unsolicited_na(lan_mac, a, true));
    send_all(sock, arps.chain(nas))
}

#[cfg(test)]
mod tests {
    use super::super::packet::PacketType;
    use super::super::packet::testns::{Netns, veth};
    use super::*;
    use std::time::{Duration, Instant};

    const MAC: Mac = Mac([0x02, 0x00, 0x5e, 0x00, 0x53, 0x01]);

    #[rustfmt::skip]
    const GARP: [u8; 60] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
        0x02, 0x00, 0x5e, 0x00, 0x53, 0x01, 203, 0, 113, 10,
        0, 0, 0, 0, 0, 0, 203, 0, 113, 10,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    #[test]
    fn gratuitous_arp_bytes() {
        assert_eq!(gratuitous_arp(MAC, Ipv4Addr::new(203, 0, 113, 10)), GARP);
    }

    #[test]
    fn nudge_bytes() {
        let mut want = GARP;
        want[38..42].copy_from_slice(&[203, 0, 113, 1]);
        assert_eq!(arp_request(MAC, Ipv4Addr::new(203, 0, 113, 10), Ipv4Addr::new(203, 0, 113, 1)), want);
    }

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
        assert_eq!(gateway_nudge(MAC, &lease), Some(arp_request(MAC, lease.address, lease.gateway)));
    }

    #[test]
    fn unsolicited_na_bytes() {
        let target: Ipv6Addr = "2001:db8::1".parse().unwrap();
        #[rustfmt::skip]
        let want: [u8; 86] = [
            0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x86, 0xdd,
            0x60, 0, 0, 0, 0x00, 0x20, 58, 255,
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
            0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
            136, 0, 0xc8, 0x29, 0xa0, 0, 0, 0,
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
            2, 1, 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01,
        ];
        let na = unsolicited_na(MAC, target, true);
        assert_eq!(na, want);
        // Independent check: the one's-complement sum over the pseudo
        // header and the ICMPv6 message, checksum included, is all ones.
        let mut words: Vec<u8> = Vec::new();
        words.extend_from_slice(&na[22..54]);
        words.extend_from_slice(&[0, 0, 0, 32, 0, 0, 0, 58]);
        words.extend_from_slice(&na[54..]);
        let mut sum: u32 = words.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assert_eq!(sum, 0xffff);
        // Without the Router flag only the flags and checksum change.
        let host = unsolicited_na(MAC, target, false);
        assert_eq!(host[58], 0x20);
        assert_eq!(host[..56], na[..56]);
    }

    fn neigh(ns: &Netns, addr: &str) -> String {
        String::from_utf8_lossy(&ns.exec(&["ip", "neigh", "show", addr]).stdout).into_owned()
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
        r.exec(&["ip", "link", "set", "lan0", "address", &MAC.to_string()]);
        c.exec(&["ip", "addr", "add", "192.0.2.2/24", "dev", "eth0"]);
        c.exec(&["ip", "addr", "add", "2001:db8::2/64", "dev", "eth0", "nodad"]);
        let old = "02:00:5e:00:53:99";
        for a in ["192.0.2.1", "2001:db8::1"] {
            c.exec(&["ip", "neigh", "replace", a, "lladdr", old, "dev", "eth0", "nud", "stale"]);
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
        assert_eq!(buf[..60], gratuitous_arp(MAC, Ipv4Addr::new(192, 0, 2, 1)));
    }
}
