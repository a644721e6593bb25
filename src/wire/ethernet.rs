//! Ethernet II: the only framing vwrp uses, for its own frames and for
//! the ARP and neighbour advertisements it sends.

use core::fmt;

use super::{Error, be16};

pub const ETHERNET_HEADER_LEN: usize = 14;

/// Ethernet's minimum frame size without FCS; shorter frames are padded.
pub const MIN_FRAME_LEN: usize = 60;

/// The EtherTypes vwrp builds frames of, besides its own (configurable).
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const IPV6: u16 = 0x86dd;
}

mod field {
    use core::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
}

/// A 48-bit MAC address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    pub const BROADCAST: Mac = Mac([0xff; 6]);

    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    pub fn parse(s: &str) -> Option<Mac> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for b in out.iter_mut() {
            let p = parts.next()?;
            if p.len() != 2 {
                return None;
            }
            *b = u8::from_str_radix(p, 16).ok()?;
        }
        parts.next().is_none().then_some(Mac(out))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

/// A checked view over an Ethernet II frame.
#[derive(Debug)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        if buffer.as_ref().len() < ETHERNET_HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(EthernetFrame { buffer })
    }

    fn mac_at(&self, at: core::ops::Range<usize>) -> Mac {
        let mut m = [0u8; 6];
        if let Some(s) = self.buffer.as_ref().get(at) {
            m.copy_from_slice(s);
        }
        Mac(m)
    }

    pub fn dst(&self) -> Mac {
        self.mac_at(field::DST)
    }

    pub fn src(&self) -> Mac {
        self.mac_at(field::SRC)
    }

    pub fn ethertype(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ETHERTYPE.start)
    }

    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(ETHERNET_HEADER_LEN..).unwrap_or(&[])
    }
}

/// An Ethernet II header, to build frames with: every frame vwrp sends
/// goes through `emit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetRepr {
    pub dst: Mac,
    pub src: Mac,
    pub ethertype: u16,
}

impl EthernetRepr {
    /// The whole frame: this header, the payload `payload` appends, and
    /// zero padding up to the Ethernet minimum. The payload's error, if
    /// any, is the result.
    pub fn emit<E>(&self, payload: impl FnOnce(&mut Vec<u8>) -> Result<(), E>) -> Result<Vec<u8>, E> {
        let mut out = Vec::with_capacity(128);
        self.emit_into(&mut out, payload)?;
        Ok(out)
    }

    /// `emit` into `out` (emptied first), so a buffer can serve frame after
    /// frame without an allocation each.
    pub fn emit_into<E>(
        &self,
        out: &mut Vec<u8>,
        payload: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        out.clear();
        out.extend_from_slice(&self.dst.0);
        out.extend_from_slice(&self.src.0);
        out.extend_from_slice(&self.ethertype.to_be_bytes());
        payload(out)?;
        if out.len() < MIN_FRAME_LEN {
            out.resize(MIN_FRAME_LEN, 0);
        }
        Ok(())
    }

    /// `emit` for a payload that cannot fail.
    pub fn frame(&self, payload: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let built: Result<Vec<u8>, core::convert::Infallible> = self.emit(|out| {
            payload(out);
            Ok(())
        });
        match built {
            Ok(f) => f,
        }
    }
}

impl<T: AsRef<[u8]>> fmt::Display for EthernetFrame<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} > {} type {:#06x} len {}", self.src(), self.dst(), self.ethertype(), self.payload().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parse_and_display() {
        let m = Mac::parse("02:00:5e:10:20:ff").unwrap();
        assert_eq!(m.to_string(), "02:00:5e:10:20:ff");
        assert_eq!(Mac::parse("02-00-5E-10-20-FF"), Some(m));
        assert!(Mac::parse("02:00:5e:10:20").is_none());
        assert!(Mac::parse("02:00:5e:10:20:ff:00").is_none());
        assert!(Mac::parse("02:00:5e:10:20:f").is_none());
        assert!(!m.is_multicast());
        assert!(super::super::MULTICAST_MAC.is_multicast());
    }

    #[test]
    fn emit_pads_to_the_minimum_and_parses_back() {
        let h = EthernetRepr { dst: Mac::BROADCAST, src: Mac([2, 0, 0, 0, 0, 1]), ethertype: ethertype::ARP };
        let f = h.frame(|out| out.extend_from_slice(&[0xaa; 3]));
        assert_eq!(f.len(), MIN_FRAME_LEN);
        assert_eq!(f[..17], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06, 0xaa, 0xaa, 0xaa]);
        assert!(f[17..].iter().all(|&b| b == 0));
        let v = EthernetFrame::new_checked(&f[..]).unwrap();
        assert_eq!((v.dst(), v.src(), v.ethertype()), (h.dst, h.src, h.ethertype));
        let long = h.frame(|out| out.extend_from_slice(&[1; 100]));
        assert_eq!(long.len(), ETHERNET_HEADER_LEN + 100, "no padding past the minimum");
        assert_eq!(h.emit(|_| Err("refused")), Err("refused"));
    }

    #[test]
    fn short_frame_refused() {
        assert_eq!(EthernetFrame::new_checked(&[0u8; 13][..]).unwrap_err(), Error::Truncated);
        let f = EthernetFrame::new_checked(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x88, 0xb5][..]).unwrap();
        assert_eq!(f.ethertype(), 0x88b5);
        assert_eq!(f.src(), Mac([7, 8, 9, 10, 11, 12]));
        assert!(f.payload().is_empty());
    }
}
