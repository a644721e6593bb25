//! The ICMP and ICMPv6 messages vwrp sends: echo requests for ping
//! trackers (and the replies they wait for), the unsolicited neighbour
//! advertisement a new active sends for each IPv6 address it takes over,
//! the router advertisement the active sends on the LAN from its
//! link-local gateway address, and the router solicitation it sends on the
//! WAN (and the advertisements it reads there).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::ethernet::{EthernetRepr, ethertype};
use super::{Mac, be16, checksum};

/// The fields every ICMP and ICMPv6 message starts with, and an echo's.
mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const SEQ: Range<usize> = 6..8;
    pub const ECHO_DATA: usize = 8;
}

/// The IPv4 header, as far as a raw socket's reader needs it.
mod ipv4 {
    use core::ops::Range;
    pub const VERSION_IHL: usize = 0;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const FLAGS_FRAGMENT: Range<usize> = 6..8;
    pub const PROTOCOL: usize = 9;
    pub const SRC: Range<usize> = 12..16;
    pub const MIN_HEADER: usize = 20;
    pub const PROTO_ICMP: u8 = 1;
}

/// The IPv6 header (RFC 8200 §3).
mod ipv6 {
    use core::ops::Range;
    pub const VERSION: usize = 0;
    pub const PAYLOAD_LEN: Range<usize> = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
    pub const HEADER_LEN: usize = 40;
    pub const PROTO_ICMPV6: u8 = 58;
}

/// A neighbour advertisement with one option (RFC 4861 §4.4).
mod na {
    use core::ops::Range;
    pub const FLAGS: usize = 4;
    pub const TARGET: Range<usize> = 8..24;
    pub const OPTION_TYPE: usize = 24;
    pub const OPTION_LEN: usize = 25;
    pub const OPTION_MAC: Range<usize> = 26..32;
    pub const LEN: usize = 32;
}

/// A router advertisement (RFC 4861 §4.2) and its options.
mod ra {
    use core::ops::Range;
    pub const HOP_LIMIT: usize = 4;
    pub const LIFETIME: Range<usize> = 6..8;
    pub const LEN: usize = 16;
    /// Source link-layer address option: type, length, MAC.
    pub const SLLAO_LEN: usize = 8;
    /// Prefix information option (§4.6.2), from its start.
    pub const PIO_PREFIX_LEN: usize = 2;
    pub const PIO_FLAGS: usize = 3;
    pub const PIO_VALID: Range<usize> = 4..8;
    pub const PIO_PREFERRED: Range<usize> = 8..12;
    pub const PIO_PREFIX: Range<usize> = 16..32;
    pub const PIO_LEN: usize = 32;
}

const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
pub const ROUTER_SOLICITATION: u8 = 133;
pub const ROUTER_ADVERTISEMENT: u8 = 134;
const NEIGHBOUR_ADVERTISEMENT: u8 = 136;
const OPTION_SOURCE_LL_ADDR: u8 = 1;
const OPTION_PREFIX_INFO: u8 = 3;
/// On-link and autonomous (SLAAC): the prefix numbers the link.
const PIO_ON_LINK_AUTONOMOUS: u8 = 0xc0;
/// The hop limit hosts are told to use (RFC 4861's "unspecified" is 0).
const ADVERTISED_HOP_LIMIT: u8 = 64;
const NA_ROUTER: u8 = 0x80;
const NA_OVERRIDE: u8 = 0x20;
const OPTION_TARGET_LL_ADDR: u8 = 2;
/// Names the sender to anyone capturing the WAN.
const PAYLOAD: &[u8; 16] = b"vwrp tracker\0\0\0\0";
/// Ethernet multicast for ff02::1 (RFC 2464 §7).
const ALL_NODES_MAC: Mac = Mac([0x33, 0x33, 0, 0, 0, 1]);
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// One echo request or reply: who asked (identifier) and which request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Echo {
    pub ident: u16,
    pub seq: u16,
}

impl Echo {
    /// An echo request. ICMPv6's checksum covers a pseudo-header with
    /// addresses only the kernel knows: raw ICMPv6 sockets fill it in.
    pub fn request(&self, v6: bool) -> Vec<u8> {
        let mut m = vec![0u8; field::ECHO_DATA + PAYLOAD.len()];
        m[field::TYPE] = if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 };
        m[field::IDENT].copy_from_slice(&self.ident.to_be_bytes());
        m[field::SEQ].copy_from_slice(&self.seq.to_be_bytes());
        m[field::ECHO_DATA..].copy_from_slice(PAYLOAD);
        if !v6 {
            let c = checksum::of(&m);
            m[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
        }
        m
    }

    /// An ICMP message that is an echo reply of the given type.
    fn parse_reply(m: &[u8], reply_type: u8) -> Option<Echo> {
        let h = m.get(..field::ECHO_DATA)?;
        (h[field::TYPE] == reply_type && h[field::CODE] == 0)
            .then(|| Echo { ident: be16(h, field::IDENT.start), seq: be16(h, field::SEQ.start) })
    }

    /// What a raw IPv4 socket reads: the IP header, then ICMP. The
    /// source and the echo reply, if that is what it is, with a valid
    /// checksum and not a fragment.
    pub fn parse_reply_v4(packet: &[u8]) -> Option<(Ipv4Addr, Echo)> {
        let ip = packet.get(..ipv4::MIN_HEADER)?;
        let header_len = usize::from(ip[ipv4::VERSION_IHL] & 0x0f) * 4;
        let total = usize::from(be16(ip, ipv4::TOTAL_LEN.start));
        let fragmented = be16(ip, ipv4::FLAGS_FRAGMENT.start) & 0x3fff != 0;
        if ip[ipv4::VERSION_IHL] >> 4 != 4
            || header_len < ipv4::MIN_HEADER
            || ip[ipv4::PROTOCOL] != ipv4::PROTO_ICMP
            || fragmented
        {
            return None;
        }
        let icmp = packet.get(header_len..total)?;
        if checksum::of(icmp) != 0 {
            return None;
        }
        let s = &ip[ipv4::SRC];
        Some((Ipv4Addr::new(s[0], s[1], s[2], s[3]), Self::parse_reply(icmp, ECHO_REPLY_V4)?))
    }

    /// What a raw ICMPv6 socket reads: the ICMPv6 message alone (the
    /// kernel has checked its checksum).
    pub fn parse_reply_v6(message: &[u8]) -> Option<Echo> {
        Self::parse_reply(message, ECHO_REPLY_V6)
    }
}

/// An unsolicited neighbour advertisement for `target` at `mac`, to all
/// nodes, with the Override flag so that existing entries change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighbourAdvert {
    pub target: Ipv6Addr,
    pub mac: Mac,
    /// The Router flag: it must be set for a gateway, because a receiver
    /// that sees it cleared removes the sender from its default routers
    /// (RFC 4861 §7.2.5).
    pub router: bool,
}

impl NeighbourAdvert {
    /// The whole Ethernet frame: IPv6 header, then the advertisement.
    pub fn frame(&self) -> Vec<u8> {
        let mut m = [0u8; na::LEN];
        m[field::TYPE] = NEIGHBOUR_ADVERTISEMENT;
        m[na::FLAGS] = if self.router { NA_ROUTER | NA_OVERRIDE } else { NA_OVERRIDE };
        m[na::TARGET].copy_from_slice(&self.target.octets());
        m[na::OPTION_TYPE] = OPTION_TARGET_LL_ADDR;
        // The option's length in units of 8 bytes.
        m[na::OPTION_LEN] = 1;
        m[na::OPTION_MAC].copy_from_slice(&self.mac.0);
        nd_frame(self.mac, self.target, &mut m)
    }
}

/// Neighbour discovery to all nodes from `src` at `mac`: the IPv6 header,
/// then `message` with its checksum over the pseudo-header (RFC 4443
/// §2.3) filled in.
fn nd_frame(mac: Mac, src: Ipv6Addr, message: &mut [u8]) -> Vec<u8> {
    let len = message.len() as u16;
    let mut ip = [0u8; ipv6::HEADER_LEN];
    ip[ipv6::VERSION] = 0x60;
    ip[ipv6::PAYLOAD_LEN].copy_from_slice(&len.to_be_bytes());
    ip[ipv6::NEXT_HEADER] = ipv6::PROTO_ICMPV6;
    // Receivers drop neighbour discovery that crossed a router: hop limit 255.
    ip[ipv6::HOP_LIMIT] = 255;
    ip[ipv6::SRC].copy_from_slice(&src.octets());
    ip[ipv6::DST].copy_from_slice(&ALL_NODES.octets());
    // Pseudo-header: source, destination, length, next header.
    let pseudo = [&ip[ipv6::SRC.start..ipv6::DST.end], &u32::from(len).to_be_bytes(), &[0, 0, 0, ipv6::PROTO_ICMPV6]];
    let sum = pseudo.iter().fold(0, |s, part| checksum::add(s, part));
    message[field::CHECKSUM].fill(0);
    let c = !checksum::add(sum, message);
    message[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    EthernetRepr { dst: ALL_NODES_MAC, src: mac, ethertype: ethertype::IPV6 }.frame(|out| {
        out.extend_from_slice(&ip);
        out.extend_from_slice(message);
    })
}

/// One prefix a router advertisement numbers the link with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdvertisedPrefix {
    pub prefix: Ipv6Addr,
    pub len: u8,
    pub preferred: u32,
    pub valid: u32,
}

/// A router advertisement to all nodes from a link-local `source`: "I am
/// a default router for `lifetime` seconds, at `mac`, and these prefixes
/// are on this link, for SLAAC". No M or O flag: no DHCPv6 on the link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterAdvert {
    pub source: Ipv6Addr,
    pub mac: Mac,
    pub lifetime: u16,
    pub prefixes: Vec<AdvertisedPrefix>,
}

impl RouterAdvert {
    pub fn frame(&self) -> Vec<u8> {
        let mut m = vec![0u8; ra::LEN + ra::SLLAO_LEN];
        m[field::TYPE] = ROUTER_ADVERTISEMENT;
        m[ra::HOP_LIMIT] = ADVERTISED_HOP_LIMIT;
        m[ra::LIFETIME].copy_from_slice(&self.lifetime.to_be_bytes());
        m[ra::LEN] = OPTION_SOURCE_LL_ADDR;
        m[ra::LEN + 1] = 1;
        m[ra::LEN + 2..].copy_from_slice(&self.mac.0);
        for p in &self.prefixes {
            let mut o = [0u8; ra::PIO_LEN];
            o[0] = OPTION_PREFIX_INFO;
            o[1] = (ra::PIO_LEN / 8) as u8;
            o[ra::PIO_PREFIX_LEN] = p.len;
            o[ra::PIO_FLAGS] = PIO_ON_LINK_AUTONOMOUS;
            o[ra::PIO_VALID].copy_from_slice(&p.valid.to_be_bytes());
            o[ra::PIO_PREFERRED].copy_from_slice(&p.preferred.min(p.valid).to_be_bytes());
            o[ra::PIO_PREFIX].copy_from_slice(&p.prefix.octets());
            m.extend_from_slice(&o);
        }
        nd_frame(self.mac, self.source, &mut m)
    }

    /// The router lifetime of a router advertisement as a raw ICMPv6
    /// socket reads it (the message alone; the kernel checked the
    /// checksum), or `None` for anything else.
    pub fn parse_lifetime(message: &[u8]) -> Option<u16> {
        let h = message.get(..ra::LEN)?;
        (h[field::TYPE] == ROUTER_ADVERTISEMENT && h[field::CODE] == 0).then(|| be16(h, ra::LIFETIME.start))
    }
}

/// A router solicitation for a raw ICMPv6 socket, which fills in the
/// checksum (RFC 4861 §4.1; no options: the answer may be multicast).
pub fn router_solicitation() -> [u8; 8] {
    [ROUTER_SOLICITATION, 0, 0, 0, 0, 0, 0, 0]
}

/// Whether a raw ICMPv6 socket's message is a router solicitation.
pub fn is_router_solicitation(message: &[u8]) -> bool {
    matches!(message, [ROUTER_SOLICITATION, 0, _, _, _, _, _, _, ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = Mac([0x02, 0x00, 0x5e, 0x00, 0x53, 0x01]);

    #[test]
    fn echo_request_v4_bytes() {
        let m = Echo { ident: 0x1234, seq: 0x0102 }.request(false);
        assert_eq!(m.len(), 24);
        assert_eq!(&m[..8], &[8, 0, 0xa0, 0x2e, 0x12, 0x34, 0x01, 0x02]);
        assert_eq!(&m[8..], PAYLOAD);
        assert_eq!(checksum::of(&m), 0, "a message with its checksum sums to zero");
    }

    #[test]
    fn echo_request_v6_leaves_checksum_to_kernel() {
        let m = Echo { ident: 7, seq: 9 }.request(true);
        assert_eq!(&m[..8], &[128, 0, 0, 0, 0, 7, 0, 9]);
    }

    /// An IPv4 packet carrying `icmp` from `src`, with `options` bytes of
    /// IP options.
    fn packet_v4(src: [u8; 4], icmp: &[u8], options: usize) -> Vec<u8> {
        let hl = 20 + options;
        let total = (hl + icmp.len()) as u16;
        let mut p = vec![0x40 | (hl / 4) as u8, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x40, 0, 64, ipv4::PROTO_ICMP, 0, 0]);
        p.extend_from_slice(&src);
        p.extend_from_slice(&[203, 0, 113, 10]);
        p.extend(std::iter::repeat_n(1u8, options));
        p.extend_from_slice(icmp);
        p
    }

    fn reply_v4(ident: u16, seq: u16) -> Vec<u8> {
        let mut m = Echo { ident, seq }.request(false);
        m[0] = ECHO_REPLY_V4;
        m[2..4].fill(0);
        let c = checksum::of(&m);
        m[2..4].copy_from_slice(&c.to_be_bytes());
        m
    }

    #[test]
    fn parses_v4_echo_reply_with_and_without_ip_options() {
        for options in [0, 8] {
            let p = packet_v4([192, 0, 2, 10], &reply_v4(0xbeef, 3), options);
            assert_eq!(
                Echo::parse_reply_v4(&p),
                Some((Ipv4Addr::new(192, 0, 2, 10), Echo { ident: 0xbeef, seq: 3 })),
                "options {options}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_valid_v4_echo_reply() {
        let good = packet_v4([192, 0, 2, 10], &reply_v4(1, 1), 0);
        let mut bad_sum = good.clone();
        bad_sum[30] ^= 0xff;
        assert_eq!(Echo::parse_reply_v4(&bad_sum), None, "payload changed, checksum not");
        let request = packet_v4([192, 0, 2, 10], &Echo { ident: 1, seq: 1 }.request(false), 0);
        assert_eq!(Echo::parse_reply_v4(&request), None, "a request is no reply");
        let mut fragment = good.clone();
        fragment[6] |= 0x20;
        assert_eq!(Echo::parse_reply_v4(&fragment), None, "more fragments");
        let mut not_icmp = good.clone();
        not_icmp[9] = 17;
        assert_eq!(Echo::parse_reply_v4(&not_icmp), None);
        let mut long_total = good.clone();
        long_total[3] = long_total[3].wrapping_add(1);
        assert_eq!(Echo::parse_reply_v4(&long_total), None, "total length past the buffer");
        let mut short_header = good.clone();
        short_header[0] = 0x44;
        assert_eq!(Echo::parse_reply_v4(&short_header), None);
        for n in 0..good.len() {
            assert_eq!(Echo::parse_reply_v4(&good[..n]), None, "truncated to {n}");
        }
    }

    #[test]
    fn parses_v6_echo_reply() {
        let mut m = Echo { ident: 5, seq: 6 }.request(true);
        assert_eq!(Echo::parse_reply_v6(&m), None, "a request");
        m[0] = ECHO_REPLY_V6;
        assert_eq!(Echo::parse_reply_v6(&m), Some(Echo { ident: 5, seq: 6 }));
        assert_eq!(Echo::parse_reply_v6(&m[..7]), None);
        m[1] = 1;
        assert_eq!(Echo::parse_reply_v6(&m), None, "code must be 0");
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
        let na = NeighbourAdvert { target, mac: MAC, router: true }.frame();
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
        let host = NeighbourAdvert { target, mac: MAC, router: false }.frame();
        assert_eq!(host[58], 0x20);
        assert_eq!(host[..56], na[..56]);
    }

    /// One's-complement sum over the pseudo-header and the message of an
    /// ICMPv6 frame: all ones when its checksum is right.
    fn icmpv6_sum(frame: &[u8]) -> u32 {
        let mut words: Vec<u8> = Vec::new();
        words.extend_from_slice(&frame[22..54]);
        words.extend_from_slice(&(frame.len() as u32 - 54).to_be_bytes());
        words.extend_from_slice(&[0, 0, 0, 58]);
        words.extend_from_slice(&frame[54..]);
        if words.len() % 2 == 1 {
            words.push(0);
        }
        let mut sum: u32 = words.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum
    }

    #[test]
    fn router_advert_bytes() {
        let ra = RouterAdvert {
            source: "fe80::1".parse().unwrap(),
            mac: MAC,
            lifetime: 1800,
            prefixes: vec![AdvertisedPrefix {
                prefix: "2001:db8:100::".parse().unwrap(),
                len: 64,
                preferred: 3000,
                valid: 4000,
            }],
        };
        #[rustfmt::skip]
        let want: [u8; 110] = [
            0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x86, 0xdd,
            0x60, 0, 0, 0, 0x00, 0x38, 58, 255,
            0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
            0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
            134, 0, 0xf3, 0x26, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0,
            1, 1, 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01,
            3, 4, 64, 0xc0, 0, 0, 0x0f, 0xa0, 0, 0, 0x0b, 0xb8, 0, 0, 0, 0,
            0x20, 0x01, 0x0d, 0xb8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let f = ra.frame();
        assert_eq!(icmpv6_sum(&f), 0xffff, "checksum");
        assert_eq!(f, want);
        assert_eq!(RouterAdvert::parse_lifetime(&f[54..]), Some(1800));
        // No prefix: the header and the source link-layer address only.
        let bare = RouterAdvert { prefixes: vec![], ..ra }.frame();
        assert_eq!(bare.len(), 54 + 24);
        assert_eq!(icmpv6_sum(&bare), 0xffff);
        // A preferred lifetime above the valid one is cut down to it.
        let odd = RouterAdvert {
            prefixes: vec![AdvertisedPrefix { prefix: Ipv6Addr::UNSPECIFIED, len: 64, preferred: 9, valid: 5 }],
            ..RouterAdvert { source: Ipv6Addr::LOCALHOST, mac: MAC, lifetime: 0, prefixes: vec![] }
        }
        .frame();
        assert_eq!(odd[86..90], [0, 0, 0, 5]);
    }

    #[test]
    fn router_solicitations_and_lifetimes() {
        let rs = router_solicitation();
        assert!(is_router_solicitation(&rs));
        assert!(!is_router_solicitation(&rs[..7]));
        assert_eq!(RouterAdvert::parse_lifetime(&rs), None);
        let mut ra = [0u8; 16];
        ra[0] = 134;
        ra[6..8].copy_from_slice(&600u16.to_be_bytes());
        assert_eq!(RouterAdvert::parse_lifetime(&ra), Some(600));
        assert_eq!(RouterAdvert::parse_lifetime(&ra[..15]), None);
        ra[1] = 1;
        assert_eq!(RouterAdvert::parse_lifetime(&ra), None, "code must be 0");
    }
}
