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

use pnet_packet::arp::{ArpHardwareTypes, ArpOperation, ArpOperations, MutableArpPacket};
use pnet_packet::ethernet::{EtherType, EtherTypes, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{MutableNeighborAdvertPacket, NdpOption, NdpOptionTypes, NeighborAdvertFlags};
use pnet_packet::icmpv6::{Icmpv6Code, Icmpv6Packet, Icmpv6Types, checksum};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::MutableIpv6Packet;

use super::packet::PacketSocket;
use crate::wire::{ETHERNET_HEADER_LEN, Lease4, MIN_FRAME_LEN, Mac};

const ARP_LEN: usize = 28;
const IPV6_HEADER_LEN: usize = 40;
/// Neighbour advertisement (24) plus one target link-layer option (8).
const NA_LEN: usize = 32;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Writes the Ethernet header into a zeroed buffer of `MIN_FRAME_LEN` or
/// `ETHERNET_HEADER_LEN + payload_len`, whichever is larger.
fn ethernet(dst: Mac, src: Mac, ethertype: EtherType, payload_len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; MIN_FRAME_LEN.max(ETHERNET_HEADER_LEN.saturating_add(payload_len))];
    if let Some(mut eth) = MutableEthernetPacket::new(&mut buf) {
        eth.set_destination(dst.0.into());
        eth.set_source(src.0.into());
        eth.set_ethertype(ethertype);
    }
    buf
}

fn arp(op: ArpOperation, mac: Mac, sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut buf = ethernet(Mac([0xff; 6]), mac, EtherTypes::Arp, ARP_LEN);
    if let Some(mut a) = buf.get_mut(ETHERNET_HEADER_LEN..).and_then(MutableArpPacket::new) {
        a.set_hardware_type(ArpHardwareTypes::Ethernet);
        a.set_protocol_type(EtherTypes::Ipv4);
        a.set_hw_addr_len(6);
        a.set_proto_addr_len(4);
        a.set_operation(op);
        a.set_sender_hw_addr(mac.0.into());
        a.set_sender_proto_addr(sender);
        a.set_target_hw_addr([0u8; 6].into());
        a.set_target_proto_addr(target);
    }
    buf
}

/// Gratuitous ARP: a broadcast ARP request whose sender and target are both
/// `addr`, from `mac`. Neighbours that know `addr` move it to `mac`.
pub fn gratuitous_arp(mac: Mac, addr: Ipv4Addr) -> Vec<u8> {
    arp(ArpOperations::Request, mac, addr, addr)
}

/// A broadcast ARP request from `sender` (at `mac`) asking for `target`.
pub fn arp_request(mac: Mac, sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    arp(ArpOperations::Request, mac, sender, target)
}

/// Unsolicited neighbour advertisement for `target` at `mac`, to all nodes,
/// with the Override flag so existing entries change. `router` sets the
/// Router flag: it must be set for a gateway, because a receiver that sees
/// it cleared removes the sender from its default routers (RFC 4861 7.2.5).
pub fn unsolicited_na(mac: Mac, target: Ipv6Addr, router: bool) -> Vec<u8> {
    let mut buf = ethernet(Mac([0x33, 0x33, 0, 0, 0, 1]), mac, EtherTypes::Ipv6, IPV6_HEADER_LEN + NA_LEN);
    let ip_start = ETHERNET_HEADER_LEN;
    let na_start = ip_start + IPV6_HEADER_LEN;
    if let Some(mut ip) = buf.get_mut(ip_start..na_start).and_then(MutableIpv6Packet::new) {
        ip.set_version(6);
        ip.set_payload_length(NA_LEN as u16);
        ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
        // Receivers drop neighbour discovery that crossed a router.
        ip.set_hop_limit(255);
        ip.set_source(target);
        ip.set_destination(ALL_NODES);
    }
    if let Some(na_buf) = buf.get_mut(na_start..na_start + NA_LEN) {
        if let Some(mut na) = MutableNeighborAdvertPacket::new(na_buf) {
            na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
            na.set_icmpv6_code(Icmpv6Code(0));
            let r = if router { NeighborAdvertFlags::Router } else { 0 };
            na.set_flags(r | NeighborAdvertFlags::Override);
            na.set_target_addr(target);
            na.set_options(&[NdpOption { option_type: NdpOptionTypes::TargetLLAddr, length: 1, data: mac.0.to_vec() }]);
        }
        let sum = Icmpv6Packet::new(na_buf).map(|p| checksum(&p, &target, &ALL_NODES));
        if let (Some(sum), Some(mut na)) = (sum, MutableNeighborAdvertPacket::new(na_buf)) {
            na.set_checksum(sum);
        }
    }
    buf
}

/// Sends every frame even when one fails; returns the first error.
fn send_all(sock: &PacketSocket, frames: impl IntoIterator<Item = Vec<u8>>) -> io::Result<()> {
    let mut first = Ok(());
    for f in frames {
        if let Err(e) = sock.send(&f)
            && first.is_ok()
        {
            first = Err(e);
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
