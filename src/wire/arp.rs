//! ARP for IPv4 over Ethernet (RFC 826): the requests a new active sends
//! (gratuitous ARP, the gateway nudge) and the replies an arping tracker
//! waits for.

use core::fmt;
use std::net::Ipv4Addr;

use super::ethernet::{EthernetFrame, EthernetRepr, ethertype};
use super::{Error, Mac, be16};

mod field {
    use core::ops::Range;
    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: Range<usize> = 14..18;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: Range<usize> = 24..28;
}

/// An ARP packet for IPv4 over Ethernet.
pub const PACKET_LEN: usize = field::TPA.end;
const HTYPE_ETHERNET: u16 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Request = 1,
    Reply = 2,
}

/// A checked view over an ARP packet (the Ethernet payload).
#[derive(Debug)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Refuses a buffer shorter than an Ethernet/IPv4 ARP packet.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        if buffer.as_ref().len() < PACKET_LEN {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    pub fn hardware_type(&self) -> u16 {
        be16(self.b(), field::HTYPE.start)
    }
    pub fn protocol_type(&self) -> u16 {
        be16(self.b(), field::PTYPE.start)
    }
    pub fn hardware_len(&self) -> u8 {
        self.b()[field::HLEN]
    }
    pub fn protocol_len(&self) -> u8 {
        self.b()[field::PLEN]
    }
    pub fn operation(&self) -> u16 {
        be16(self.b(), field::OPER.start)
    }
    fn mac(&self, r: core::ops::Range<usize>) -> Mac {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.b()[r]);
        Mac(m)
    }
    fn ip(&self, r: core::ops::Range<usize>) -> Ipv4Addr {
        let b = &self.b()[r];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    pub fn sender_mac(&self) -> Mac {
        self.mac(field::SHA)
    }
    pub fn sender_ip(&self) -> Ipv4Addr {
        self.ip(field::SPA)
    }
    pub fn target_mac(&self) -> Mac {
        self.mac(field::THA)
    }
    pub fn target_ip(&self) -> Ipv4Addr {
        self.ip(field::TPA)
    }
}

/// An ARP request or reply for IPv4 over Ethernet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub operation: Operation,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

impl Repr {
    /// A request from `sender` (at `mac`) asking who has `target`.
    pub fn request(mac: Mac, sender: Ipv4Addr, target: Ipv4Addr) -> Repr {
        Repr {
            operation: Operation::Request,
            sender_mac: mac,
            sender_ip: sender,
            target_mac: Mac::default(),
            target_ip: target,
        }
    }

    /// Gratuitous ARP: a request whose sender and target are both `addr`.
    /// Neighbours that know `addr` move it to `mac`.
    pub fn gratuitous(mac: Mac, addr: Ipv4Addr) -> Repr {
        Repr::request(mac, addr, addr)
    }

    /// `None` for anything but IPv4 over Ethernet, or an unknown operation.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Option<Repr> {
        let ethernet_ipv4 = p.hardware_type() == HTYPE_ETHERNET
            && p.protocol_type() == ethertype::IPV4
            && p.hardware_len() == 6
            && p.protocol_len() == 4;
        let operation = match p.operation() {
            1 => Operation::Request,
            2 => Operation::Reply,
            _ => return None,
        };
        ethernet_ipv4.then(|| Repr {
            operation,
            sender_mac: p.sender_mac(),
            sender_ip: p.sender_ip(),
            target_mac: p.target_mac(),
            target_ip: p.target_ip(),
        })
    }

    /// Appends the packet to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + PACKET_LEN, 0);
        let b = &mut out[start..];
        b[field::HTYPE].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        b[field::PTYPE].copy_from_slice(&ethertype::IPV4.to_be_bytes());
        b[field::HLEN] = 6;
        b[field::PLEN] = 4;
        b[field::OPER].copy_from_slice(&(self.operation as u16).to_be_bytes());
        b[field::SHA].copy_from_slice(&self.sender_mac.0);
        b[field::SPA].copy_from_slice(&self.sender_ip.octets());
        b[field::THA].copy_from_slice(&self.target_mac.0);
        b[field::TPA].copy_from_slice(&self.target_ip.octets());
    }

    /// The whole Ethernet frame from the sender's MAC: a request is
    /// broadcast, a reply goes to the target.
    pub fn frame(&self) -> Vec<u8> {
        let dst = match self.operation {
            Operation::Request => Mac::BROADCAST,
            Operation::Reply => self.target_mac,
        };
        EthernetRepr { dst, src: self.sender_mac, ethertype: ethertype::ARP }.frame(|out| self.emit(out))
    }

    /// The ARP packet a whole Ethernet frame carries, if it carries one.
    pub fn from_frame(frame: &[u8]) -> Option<Repr> {
        let eth = EthernetFrame::new_checked(frame).ok()?;
        if eth.ethertype() != ethertype::ARP {
            return None;
        }
        Repr::parse(&Packet::new_checked(eth.payload()).ok()?)
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ARP {:?} {}/{} -> {}/{}",
            self.operation, self.sender_mac, self.sender_ip, self.target_mac, self.target_ip
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = Mac([0x02, 0x00, 0x5e, 0x00, 0x53, 0x01]);
    const ME: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
    const GW: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);

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
        assert_eq!(Repr::gratuitous(MAC, ME).frame(), GARP);
    }

    #[test]
    fn request_bytes_and_parse_back() {
        let mut want = GARP;
        want[38..42].copy_from_slice(&[203, 0, 113, 1]);
        let r = Repr::request(MAC, ME, GW);
        assert_eq!(r.frame(), want);
        assert_eq!(Repr::from_frame(&want), Some(r));
        let p = Packet::new_checked(&want[14..]).unwrap();
        assert_eq!((p.operation(), p.sender_ip(), p.target_ip(), p.sender_mac()), (1, ME, GW, MAC));
    }

    #[test]
    fn a_reply_names_its_sender_and_goes_to_its_target() {
        let reply = Repr {
            operation: Operation::Reply,
            sender_mac: Mac([2, 0, 0, 0, 0, 9]),
            sender_ip: GW,
            target_mac: MAC,
            target_ip: ME,
        };
        let f = reply.frame();
        assert_eq!(f[..6], MAC.0);
        assert_eq!(Repr::from_frame(&f), Some(reply));
    }

    #[test]
    fn other_packets_are_refused() {
        let f = Repr::request(MAC, GW, ME).frame();
        for n in 0..14 + PACKET_LEN {
            assert_eq!(Repr::from_frame(&f[..n]), None, "truncated to {n}");
        }
        let mut not_arp = f.clone();
        not_arp[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(Repr::from_frame(&not_arp), None, "not ARP");
        let mut v6 = f.clone();
        v6[16..18].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(Repr::from_frame(&v6), None, "not IPv4 over Ethernet");
        let mut op = f.clone();
        op[21] = 3;
        assert_eq!(Repr::from_frame(&op), None, "an operation ARP does not have");
    }
}
