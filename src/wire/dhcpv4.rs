//! DHCPv4 (RFC 2131, options RFC 2132): the messages a renewing client
//! sends and reads. vwrp never runs a whole DHCP client: busybox udhcpc
//! obtains leases; this is what `system::renewer::Renewer` needs to confirm
//! one in place (RENEWING and REBINDING, RFC 2131 §4.4.5) or to ask for a
//! lease kept from before a restart back (INIT-REBOOT, §4.3.2), the latter
//! as whole frames: a client without an address sends from 0.0.0.0.

use std::net::Ipv4Addr;

use super::{Lease4, Mac};

pub const SERVER_PORT: u16 = 67;
pub const CLIENT_PORT: u16 = 68;

/// A contiguous netmask as a prefix length.
pub fn mask_prefix(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    let p = m.leading_ones();
    (m.checked_shl(p).unwrap_or(0) == 0).then_some(p as u8)
}

/// T1 and T2 as RFC 2131 §4.4.5 defaults them (0.5 and 0.875 of the lease),
/// kept in order: T1 <= T2 <= lease.
pub fn timers(lease: u32, t1: Option<u32>, t2: Option<u32>) -> (u32, u32) {
    let t2 = t2.unwrap_or(u32::try_from(u64::from(lease) * 7 / 8).unwrap_or(lease)).min(lease);
    let t1 = t1.unwrap_or(lease / 2).min(t2);
    (t1, t2)
}

mod field {
    use core::ops::Range;
    pub const OP: usize = 0;
    pub const HTYPE: usize = 1;
    pub const HLEN: usize = 2;
    pub const XID: Range<usize> = 4..8;
    pub const FLAGS: Range<usize> = 10..12;
    pub const CIADDR: Range<usize> = 12..16;
    pub const YIADDR: Range<usize> = 16..20;
    pub const CHADDR: Range<usize> = 28..34;
    pub const COOKIE: Range<usize> = 236..240;
    pub const OPTIONS: usize = 240;
}

pub mod opt {
    pub const PAD: u8 = 0;
    pub const SUBNET_MASK: u8 = 1;
    pub const REQUESTED_ADDRESS: u8 = 50;
    pub const ROUTER: u8 = 3;
    pub const DNS: u8 = 6;
    pub const LEASE_TIME: u8 = 51;
    pub const MESSAGE_TYPE: u8 = 53;
    pub const SERVER_ID: u8 = 54;
    pub const PARAMETER_LIST: u8 = 55;
    pub const RENEWAL_TIME: u8 = 58;
    pub const REBINDING_TIME: u8 = 59;
    pub const CLIENT_ID: u8 = 61;
    pub const END: u8 = 255;
}

pub mod msg {
    pub const REQUEST: u8 = 3;
    pub const ACK: u8 = 5;
    pub const NAK: u8 = 6;
}

pub const BOOTREQUEST: u8 = 1;
pub const BOOTREPLY: u8 = 2;
const COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Some servers and relays drop BOOTP messages shorter than this.
const MIN_LEN: usize = 300;
/// Options a renewing client asks for again.
const REQUESTED: [u8; 7] =
    [opt::SUBNET_MASK, opt::ROUTER, opt::DNS, opt::LEASE_TIME, opt::SERVER_ID, opt::RENEWAL_TIME, opt::REBINDING_TIME];

/// A RENEWING/REBINDING DHCPREQUEST: `ciaddr` set, no requested-address
/// (50) or server-id (54) option, client id (61) when given. `None` when the
/// client id does not fit an option (over 255 bytes).
pub fn build_request(xid: u32, mac: Mac, ciaddr: Ipv4Addr, client_id: &[u8]) -> Option<Vec<u8>> {
    request(xid, mac, ciaddr, None, client_id)
}

/// An INIT-REBOOT DHCPREQUEST (RFC 2131 §4.3.2): `ciaddr` 0, the address
/// asked back in option 50, no server id (54), and the BROADCAST flag: a
/// client without an address cannot receive a unicast answer. `None` when
/// the client id does not fit an option.
pub fn build_init_reboot(xid: u32, mac: Mac, requested: Ipv4Addr, client_id: &[u8]) -> Option<Vec<u8>> {
    request(xid, mac, Ipv4Addr::UNSPECIFIED, Some(requested), client_id)
}

/// The flag that asks the server to broadcast its answer (RFC 2131 §2).
const BROADCAST_FLAG: u16 = 0x8000;

fn request(xid: u32, mac: Mac, ciaddr: Ipv4Addr, requested: Option<Ipv4Addr>, client_id: &[u8]) -> Option<Vec<u8>> {
    let mut b = vec![0u8; field::OPTIONS];
    b[field::OP] = BOOTREQUEST;
    b[field::HTYPE] = 1;
    b[field::HLEN] = 6;
    b[field::XID].copy_from_slice(&xid.to_be_bytes());
    b[field::CIADDR].copy_from_slice(&ciaddr.octets());
    b[field::CHADDR].copy_from_slice(&mac.0);
    b[field::COOKIE].copy_from_slice(&COOKIE);
    b.extend_from_slice(&[opt::MESSAGE_TYPE, 1, msg::REQUEST]);
    if let Some(r) = requested {
        b[field::FLAGS].copy_from_slice(&BROADCAST_FLAG.to_be_bytes());
        b.extend_from_slice(&[opt::REQUESTED_ADDRESS, 4]);
        b.extend_from_slice(&r.octets());
    }
    if !client_id.is_empty() {
        b.extend_from_slice(&[opt::CLIENT_ID, u8::try_from(client_id.len()).ok()?]);
        b.extend_from_slice(client_id);
    }
    b.extend_from_slice(&[opt::PARAMETER_LIST, REQUESTED.len() as u8]);
    b.extend_from_slice(&REQUESTED);
    b.push(opt::END);
    if b.len() < MIN_LEN {
        b.resize(MIN_LEN, opt::PAD);
    }
    Some(b)
}

/// The IPv4 and UDP headers of a client's broadcast (RFC 791, RFC 768).
mod udp4 {
    use core::ops::Range;
    pub const IP_LEN: usize = 20;
    pub const UDP_LEN: usize = 8;
    pub const VERSION_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const FLAGS_FRAGMENT: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
    /// In the UDP header.
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const UDP_CHECKSUM: Range<usize> = 6..8;
    pub const PROTO_UDP: u8 = 17;
}

/// `message` (a client's DHCP message) as the whole Ethernet frame a
/// client without an address sends: from `mac` to every station, IPv4
/// from 0.0.0.0 to 255.255.255.255, UDP from port 68 to 67 (RFC 2131 §4.1).
pub fn client_broadcast_frame(mac: Mac, message: &[u8]) -> Vec<u8> {
    use super::checksum;
    use super::ethernet::{EthernetRepr, ethertype};
    let udp_len = udp4::UDP_LEN + message.len();
    let total = u16::try_from(udp4::IP_LEN + udp_len).unwrap_or(u16::MAX);
    let mut ip = [0u8; udp4::IP_LEN];
    ip[udp4::VERSION_IHL] = 0x45;
    // Low delay, as udhcpc sends it.
    ip[udp4::TOS] = 0x10;
    ip[udp4::TOTAL_LEN].copy_from_slice(&total.to_be_bytes());
    ip[udp4::TTL] = 64;
    ip[udp4::PROTOCOL] = udp4::PROTO_UDP;
    ip[udp4::DST].copy_from_slice(&Ipv4Addr::BROADCAST.octets());
    let c = checksum::of(&ip);
    ip[udp4::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    let udp_len16 = u16::try_from(udp_len).unwrap_or(u16::MAX);
    let mut udp = [0u8; udp4::UDP_LEN];
    udp[udp4::SRC_PORT].copy_from_slice(&CLIENT_PORT.to_be_bytes());
    udp[udp4::DST_PORT].copy_from_slice(&SERVER_PORT.to_be_bytes());
    udp[udp4::LENGTH].copy_from_slice(&udp_len16.to_be_bytes());
    // Over the pseudo-header: source, destination, protocol, length.
    let pseudo = [&ip[udp4::SRC.start..udp4::DST.end], &[0, udp4::PROTO_UDP], &udp_len16.to_be_bytes()[..]];
    let sum = pseudo.iter().fold(0, |s, part| checksum::add(s, part));
    let sum = checksum::add(checksum::add(sum, &udp), message);
    // A computed 0 is sent as all ones (RFC 768).
    let c = match !sum {
        0 => 0xffff,
        c => c,
    };
    udp[udp4::UDP_CHECKSUM].copy_from_slice(&c.to_be_bytes());
    EthernetRepr { dst: Mac::BROADCAST, src: mac, ethertype: ethertype::IPV4 }.frame(|out| {
        out.extend_from_slice(&ip);
        out.extend_from_slice(&udp);
        out.extend_from_slice(message);
    })
}

/// The DHCP message of an IPv4 frame (Ethernet header included) carrying
/// UDP from the server port to the client port, unfragmented; `None` for
/// any other frame.
pub fn server_message(frame: &[u8]) -> Option<&[u8]> {
    use super::ethernet::{ETHERNET_HEADER_LEN, ethertype};
    if frame.get(12..14) != Some(&ethertype::IPV4.to_be_bytes()[..]) {
        return None;
    }
    let ip = frame.get(ETHERNET_HEADER_LEN..)?;
    let first = *ip.first()?;
    let header_len = usize::from(first & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes(ip.get(udp4::TOTAL_LEN)?.try_into().ok()?));
    let fragmented = u16::from_be_bytes(ip.get(udp4::FLAGS_FRAGMENT)?.try_into().ok()?) & 0x3fff != 0;
    if first >> 4 != 4
        || header_len < udp4::IP_LEN
        || total < header_len
        || fragmented
        || *ip.get(udp4::PROTOCOL)? != udp4::PROTO_UDP
    {
        return None;
    }
    let udp = ip.get(header_len..total)?;
    let port = |r: core::ops::Range<usize>| udp.get(r).and_then(|b| b.try_into().ok()).map(u16::from_be_bytes);
    if port(udp4::SRC_PORT)? != SERVER_PORT || port(udp4::DST_PORT)? != CLIENT_PORT {
        return None;
    }
    let len = usize::from(port(udp4::LENGTH)?);
    udp.get(udp4::UDP_LEN..len)
}

/// Why a datagram is not a DHCP message we can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Shorter than the fixed header, or an option runs past the end.
    Truncated,
    BadCookie,
    /// Not Ethernet hardware addresses (htype 1, hlen 6).
    NotEthernet,
    /// No option 53, or one of the wrong size.
    NoMessageType,
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ParseError::Truncated => "truncated DHCP message",
            ParseError::BadCookie => "no DHCP magic cookie",
            ParseError::NotEthernet => "not an Ethernet DHCP message",
            ParseError::NoMessageType => "no DHCP message type",
        })
    }
}

impl std::error::Error for ParseError {}

/// The parts of a DHCP message a renewing client looks at. Options of the
/// wrong size are treated as absent; the option-overload fields (sname,
/// file) are not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub op: u8,
    pub xid: u32,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub chaddr: Mac,
    pub message_type: u8,
    pub subnet_mask: Option<Ipv4Addr>,
    pub routers: Vec<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
    pub lease_time: Option<u32>,
    pub server_id: Option<Ipv4Addr>,
    pub renewal_time: Option<u32>,
    pub rebinding_time: Option<u32>,
}

fn u32_at(b: &[u8], r: core::ops::Range<usize>) -> u32 {
    b.get(r).and_then(|s| <[u8; 4]>::try_from(s).ok()).map_or(0, u32::from_be_bytes)
}

fn opt_u32(v: Option<&Vec<u8>>) -> Option<u32> {
    v.and_then(|v| <[u8; 4]>::try_from(v.as_slice()).ok()).map(u32::from_be_bytes)
}

fn opt_ip(v: Option<&Vec<u8>>) -> Option<Ipv4Addr> {
    opt_u32(v).map(Ipv4Addr::from)
}

fn opt_ips(v: Option<&Vec<u8>>) -> Vec<Ipv4Addr> {
    match v {
        Some(v) if v.len() % 4 == 0 => v.chunks_exact(4).map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3])).collect(),
        _ => Vec::new(),
    }
}

impl Message {
    pub fn parse(b: &[u8]) -> Result<Message, ParseError> {
        if b.len() < field::OPTIONS {
            return Err(ParseError::Truncated);
        }
        if b.get(field::COOKIE) != Some(&COOKIE[..]) {
            return Err(ParseError::BadCookie);
        }
        if b[field::HTYPE] != 1 || b[field::HLEN] != 6 {
            return Err(ParseError::NotEthernet);
        }
        // Only the options used below are kept; a repeated option is
        // concatenated (RFC 3396).
        const KEPT: [u8; 8] = [
            opt::SUBNET_MASK,
            opt::ROUTER,
            opt::DNS,
            opt::LEASE_TIME,
            opt::MESSAGE_TYPE,
            opt::SERVER_ID,
            opt::RENEWAL_TIME,
            opt::REBINDING_TIME,
        ];
        let mut opts: Vec<(u8, Vec<u8>)> = Vec::new();
        let mut rest = b.get(field::OPTIONS..).unwrap_or(&[]);
        loop {
            match rest {
                [] | [opt::END, ..] => break,
                [opt::PAD, tail @ ..] => rest = tail,
                [code, len, tail @ ..] => {
                    let (data, tail) = tail.split_at_checked(usize::from(*len)).ok_or(ParseError::Truncated)?;
                    if KEPT.contains(code) {
                        match opts.iter_mut().find(|(c, _)| c == code) {
                            Some((_, v)) => v.extend_from_slice(data),
                            None => opts.push((*code, data.to_vec())),
                        }
                    }
                    rest = tail;
                }
                [_] => return Err(ParseError::Truncated),
            }
        }
        let get = |code: u8| opts.iter().find(|(c, _)| *c == code).map(|(_, v)| v);
        let message_type = match get(opt::MESSAGE_TYPE).map(Vec::as_slice) {
            Some(&[t]) => t,
            _ => return Err(ParseError::NoMessageType),
        };
        let mut chaddr = [0u8; 6];
        chaddr.copy_from_slice(&b[field::CHADDR]);
        Ok(Message {
            op: b[field::OP],
            xid: u32_at(b, field::XID),
            ciaddr: Ipv4Addr::from(u32_at(b, field::CIADDR)),
            yiaddr: Ipv4Addr::from(u32_at(b, field::YIADDR)),
            chaddr: Mac(chaddr),
            message_type,
            subnet_mask: opt_ip(get(opt::SUBNET_MASK)),
            routers: opt_ips(get(opt::ROUTER)),
            dns: opt_ips(get(opt::DNS)),
            lease_time: opt_u32(get(opt::LEASE_TIME)),
            server_id: opt_ip(get(opt::SERVER_ID)),
            renewal_time: opt_u32(get(opt::RENEWAL_TIME)),
            rebinding_time: opt_u32(get(opt::REBINDING_TIME)),
        })
    }

    /// The lease a DHCPACK grants, received just now. Whatever the ACK
    /// leaves out (mask, router, DNS, server id) is kept from `old`. `None`
    /// for anything but an ACK with a lease time.
    pub fn lease(&self, old: &Lease4) -> Option<Lease4> {
        if self.message_type != msg::ACK {
            return None;
        }
        let lease_time = self.lease_time?;
        let (renew, rebind) = timers(lease_time, self.renewal_time, self.rebinding_time);
        Some(Lease4 {
            address: self.yiaddr,
            prefix_len: self.subnet_mask.and_then(mask_prefix).unwrap_or(old.prefix_len),
            gateway: self.routers.first().copied().unwrap_or(old.gateway),
            server_id: self.server_id.unwrap_or(old.server_id),
            lease_time,
            valid_left: lease_time,
            renew_left: renew,
            rebind_left: rebind,
            dns: if self.dns.is_empty() { old.dns.clone() } else { self.dns.clone() },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAC: Mac = Mac([0x02, 0x00, 0x5e, 0x00, 0x53, 0x01]);

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// The lease dnsmasq 2.90 grants in the namespace tests.
    fn expected_lease() -> Lease4 {
        Lease4 {
            address: ip("203.0.113.10"),
            prefix_len: 24,
            gateway: ip("203.0.113.1"),
            server_id: ip("203.0.113.1"),
            lease_time: 120,
            valid_left: 120,
            renew_left: 60,
            rebind_left: 105,
            dns: vec![ip("203.0.113.53"), ip("203.0.113.54")],
        }
    }

    /// The client id busybox udhcpc sends: hardware type 1 and the MAC.
    fn client_id() -> Vec<u8> {
        let mut id = vec![1];
        id.extend_from_slice(&MAC.0);
        id
    }

    fn fixed_header(op: u8, xid: u32, ciaddr: [u8; 4], yiaddr: [u8; 4]) -> Vec<u8> {
        let mut b = vec![op, 1, 6, 0];
        b.extend_from_slice(&xid.to_be_bytes());
        b.extend_from_slice(&[0; 4]); // secs, flags
        b.extend_from_slice(&ciaddr);
        b.extend_from_slice(&yiaddr);
        b.extend_from_slice(&[0; 8]); // siaddr, giaddr
        b.extend_from_slice(&MAC.0);
        b.extend_from_slice(&[0; 10 + 64 + 128]); // chaddr padding, sname, file
        b.extend_from_slice(&[0x63, 0x82, 0x53, 0x63]);
        b
    }

    #[test]
    fn request_bytes() {
        let mut want = fixed_header(1, 0x1234_5678, [203, 0, 113, 10], [0; 4]);
        #[rustfmt::skip]
        want.extend_from_slice(&[
            53, 1, 3,
            61, 7, 1, 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01,
            55, 7, 1, 3, 6, 51, 54, 58, 59,
            255,
        ]);
        want.resize(300, 0);
        let got = build_request(0x1234_5678, MAC, ip("203.0.113.10"), &client_id()).unwrap();
        assert_eq!(got, want);
        // No client id: no option 61; still no option 50 or 54.
        let bare = build_request(1, MAC, ip("203.0.113.10"), &[]).unwrap();
        assert_eq!(bare[240..255], [53, 1, 3, 55, 7, 1, 3, 6, 51, 54, 58, 59, 255, 0, 0]);
        assert_eq!(build_request(1, MAC, ip("203.0.113.10"), &[7; 256]), None);
        assert_eq!(build_request(1, MAC, ip("203.0.113.10"), &[7; 255]).unwrap().len(), 240 + 3 + 257 + 9 + 1);
    }

    /// INIT-REBOOT (RFC 2131 §4.3.2): ciaddr 0, option 50 with the address,
    /// no option 54, the BROADCAST flag.
    #[test]
    fn init_reboot_bytes() {
        let mut want = fixed_header(1, 0x1234_5678, [0; 4], [0; 4]);
        want[10] = 0x80;
        #[rustfmt::skip]
        want.extend_from_slice(&[
            53, 1, 3,
            50, 4, 203, 0, 113, 10,
            61, 7, 1, 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01,
            55, 7, 1, 3, 6, 51, 54, 58, 59,
            255,
        ]);
        want.resize(300, 0);
        assert_eq!(build_init_reboot(0x1234_5678, MAC, ip("203.0.113.10"), &client_id()).unwrap(), want);
        assert_eq!(build_init_reboot(1, MAC, ip("203.0.113.10"), &[7; 256]), None);
    }

    /// The broadcast frame: 0.0.0.0:68 to 255.255.255.255:67 from the MAC,
    /// both checksums right; read back as a server's would be refused
    /// (wrong ports), a server's own answer read.
    #[test]
    fn client_broadcast_frame_bytes() {
        use crate::wire::checksum;
        let message = build_init_reboot(9, MAC, ip("203.0.113.10"), &client_id()).unwrap();
        let f = client_broadcast_frame(MAC, &message);
        assert_eq!(f.len(), 14 + 20 + 8 + 300);
        assert_eq!(&f[..14], &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x08, 0x00]);
        #[rustfmt::skip]
        assert_eq!(&f[14..34], &[
            0x45, 0x10, 0x01, 0x48, 0, 0, 0, 0, 64, 17, 0x79, 0x96,
            0, 0, 0, 0, 255, 255, 255, 255,
        ]);
        assert_eq!(checksum::of(&f[14..34]), 0, "the IP header sums to zero");
        assert_eq!(&f[34..40], &[0, 68, 0, 67, 0x01, 0x34]);
        let mut pseudo = vec![0, 0, 0, 0, 255, 255, 255, 255, 0, 17, 0x01, 0x34];
        pseudo.extend_from_slice(&f[34..]);
        assert_eq!(checksum::of(&pseudo), 0, "the UDP checksum covers the pseudo-header");
        assert_eq!(&f[42..], &message[..]);
        assert_eq!(server_message(&f), None, "a client's frame is no server's answer");
        // A server's answer: the same headers, ports swapped.
        let mut answer = f.clone();
        answer[34..38].copy_from_slice(&[0, 67, 0, 68]);
        assert_eq!(server_message(&answer), Some(&message[..]));
        // Fragmented, not UDP, truncated: none.
        let mut frag = answer.clone();
        frag[20] = 0x20;
        assert_eq!(server_message(&frag), None);
        let mut tcp = answer.clone();
        tcp[23] = 6;
        assert_eq!(server_message(&tcp), None);
        assert_eq!(server_message(&answer[..40]), None);
    }

    /// A DHCPACK as dnsmasq 2.90 sends it in answer to a renewal.
    fn ack_bytes() -> Vec<u8> {
        let mut b = fixed_header(2, 0xdead_beef, [203, 0, 113, 10], [203, 0, 113, 10]);
        #[rustfmt::skip]
        b.extend_from_slice(&[
            53, 1, 5,
            54, 4, 203, 0, 113, 1,
            51, 4, 0, 0, 0, 120,
            58, 4, 0, 0, 0, 60,
            59, 4, 0, 0, 0, 105,
            1, 4, 255, 255, 255, 0,
            28, 4, 203, 0, 113, 255,
            3, 4, 203, 0, 113, 1,
            6, 8, 203, 0, 113, 53, 203, 0, 113, 54,
            255,
        ]);
        b.resize(300, 0);
        b
    }

    #[test]
    fn ack_parsed() {
        let m = Message::parse(&ack_bytes()).unwrap();
        assert_eq!(
            m,
            Message {
                op: 2,
                xid: 0xdead_beef,
                ciaddr: ip("203.0.113.10"),
                yiaddr: ip("203.0.113.10"),
                chaddr: MAC,
                message_type: msg::ACK,
                subnet_mask: Some(ip("255.255.255.0")),
                routers: vec![ip("203.0.113.1")],
                dns: vec![ip("203.0.113.53"), ip("203.0.113.54")],
                lease_time: Some(120),
                server_id: Some(ip("203.0.113.1")),
                renewal_time: Some(60),
                rebinding_time: Some(105),
            }
        );
        let old = Lease4 { valid_left: 3, renew_left: 0, rebind_left: 0, dns: vec![], ..expected_lease() };
        assert_eq!(m.lease(&old), Some(expected_lease()));
    }

    #[test]
    fn ack_without_options_keeps_the_old_ones() {
        let mut b = fixed_header(2, 7, [0; 4], [203, 0, 113, 10]);
        b.extend_from_slice(&[53, 1, 5, 51, 4, 0, 0, 0, 80, 255]);
        let m = Message::parse(&b).unwrap();
        let old = expected_lease();
        let l = m.lease(&old).unwrap();
        assert_eq!((l.prefix_len, l.gateway, l.server_id, &l.dns), (24, old.gateway, old.server_id, &old.dns));
        assert_eq!((l.lease_time, l.valid_left, l.renew_left, l.rebind_left), (80, 80, 40, 70));
        // No lease time: no lease.
        let mut b = fixed_header(2, 7, [0; 4], [203, 0, 113, 10]);
        b.extend_from_slice(&[53, 1, 5, 255]);
        assert_eq!(Message::parse(&b).unwrap().lease(&old), None);
    }

    #[test]
    fn nak_parsed() {
        let mut b = fixed_header(2, 9, [0; 4], [0; 4]);
        b.extend_from_slice(&[53, 1, 6, 54, 4, 203, 0, 113, 1, 56, 15]);
        b.extend_from_slice(b"lease not found");
        b.push(255);
        let m = Message::parse(&b).unwrap();
        assert_eq!((m.message_type, m.server_id, m.lease_time), (msg::NAK, Some(ip("203.0.113.1")), None));
        assert_eq!(m.lease(&expected_lease()), None);
    }

    #[test]
    fn split_options_are_concatenated_and_bad_sizes_ignored() {
        let mut b = fixed_header(2, 7, [0; 4], [203, 0, 113, 10]);
        #[rustfmt::skip]
        b.extend_from_slice(&[
            0, 0, 6, 4, 192, 0, 2, 1, 53, 1, 5, 6, 4, 192, 0, 2, 2,
            1, 3, 255, 255, 255, 51, 2, 0, 1, 3, 5, 1, 2, 3, 4, 5,
        ]); // no end option: tolerated
        let m = Message::parse(&b).unwrap();
        assert_eq!(m.dns, vec![ip("192.0.2.1"), ip("192.0.2.2")]);
        assert_eq!((m.subnet_mask, m.lease_time), (None, None));
        assert!(m.routers.is_empty());
    }

    #[test]
    fn malformed_messages_refused() {
        let ack = ack_bytes();
        assert_eq!(Message::parse(&ack[..239]), Err(ParseError::Truncated));
        let mut b = ack.clone();
        b[236] = 0;
        assert_eq!(Message::parse(&b), Err(ParseError::BadCookie));
        let mut b = ack.clone();
        b[2] = 16;
        assert_eq!(Message::parse(&b), Err(ParseError::NotEthernet));
        let mut b = fixed_header(2, 7, [0; 4], [0; 4]);
        b.extend_from_slice(&[51, 4, 0, 0, 0, 80, 255]);
        assert_eq!(Message::parse(&b), Err(ParseError::NoMessageType));
        b.truncate(240);
        b.extend_from_slice(&[53, 2, 5, 5, 255]);
        assert_eq!(Message::parse(&b), Err(ParseError::NoMessageType));
        b.truncate(240);
        b.extend_from_slice(&[53, 1, 5, 6, 8, 1, 2, 3]);
        assert_eq!(Message::parse(&b), Err(ParseError::Truncated));
        b.truncate(243);
        b.push(6);
        assert_eq!(Message::parse(&b), Err(ParseError::Truncated));
    }

    #[test]
    fn masks() {
        assert_eq!(mask_prefix(ip("0.0.0.0")), Some(0));
        assert_eq!(mask_prefix(ip("255.255.255.255")), Some(32));
        assert_eq!(mask_prefix(ip("255.255.255.128")), Some(25));
        assert_eq!(mask_prefix(ip("255.255.255.1")), None);
        assert_eq!(mask_prefix(ip("0.0.0.255")), None);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Message::parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_any_options(opts in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut b = fixed_header(2, 7, [0; 4], [203, 0, 113, 10]);
            b.extend_from_slice(&opts);
            if let Ok(m) = Message::parse(&b) {
                let _ = m.lease(&expected_lease());
            }
        }

        #[test]
        fn request_round_trips(xid in any::<u32>(), mac in any::<[u8; 6]>(), ciaddr in any::<u32>(),
                               id in proptest::collection::vec(any::<u8>(), 0..300)) {
            let r = build_request(xid, Mac(mac), Ipv4Addr::from(ciaddr), &id);
            prop_assert_eq!(r.is_some(), id.len() <= 255);
            if let Some(r) = r {
                let m = Message::parse(&r).unwrap();
                prop_assert_eq!((m.op, m.xid, m.ciaddr, m.chaddr, m.message_type),
                                (BOOTREQUEST, xid, Ipv4Addr::from(ciaddr), Mac(mac), msg::REQUEST));
            }
        }
    }
}
