//! Ethernet II header: the only framing vwrp uses.

use core::fmt;

use super::{Error, be16};

pub const ETHERNET_HEADER_LEN: usize = 14;

/// A 48-bit MAC address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
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

    fn mac_at(&self, at: usize) -> Mac {
        let mut m = [0u8; 6];
        if let Some(s) = self.buffer.as_ref().get(at..at + 6) {
            m.copy_from_slice(s);
        }
        Mac(m)
    }

    pub fn dst(&self) -> Mac {
        self.mac_at(0)
    }

    pub fn src(&self) -> Mac {
        self.mac_at(6)
    }

    pub fn ethertype(&self) -> u16 {
        be16(self.buffer.as_ref(), 12)
    }

    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(ETHERNET_HEADER_LEN..).unwrap_or(&[])
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
    fn short_frame_refused() {
        assert_eq!(EthernetFrame::new_checked(&[0u8; 13][..]).unwrap_err(), Error::Truncated);
        let f = EthernetFrame::new_checked(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x88, 0xb5][..]).unwrap();
        assert_eq!(f.ethertype(), 0x88b5);
        assert_eq!(f.src(), Mac([7, 8, 9, 10, 11, 12]));
        assert!(f.payload().is_empty());
    }
}
