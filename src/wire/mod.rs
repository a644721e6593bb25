//! Every packet format vwrp reads or writes, one file each: its own PDU
//! (`message`, `tlv`, `auth`; specified byte by byte in docs/PROTOCOL.md),
//! and the standard ones it speaks: `ethernet`, `arp`, `icmp` (echo,
//! neighbour discovery: NA, RA, RS), `dhcpv4`, `dhcpv6`, with one internet
//! `checksum`.
//!
//! Two layers per format, in the style of smoltcp: a checked zero-copy view
//! over a byte buffer, and a plain parsed representation with `parse` and
//! `emit`; every field is a named byte range. Nothing in here panics or
//! reads out of bounds on any input, and nothing does I/O.

pub mod arp;
mod auth;
pub mod checksum;
pub mod dhcpv4;
pub mod dhcpv6;
mod ethernet;
pub mod icmp;
mod message;
mod tlv;
#[cfg(test)]
mod vectors;

pub use auth::{Key, Keyring, ReplayGuard, TAG_LEN, TRAILER_LEN};
pub use ethernet::{ETHERNET_HEADER_LEN, EthernetFrame, EthernetRepr, MIN_FRAME_LEN, Mac, ethertype};
pub use message::{
    FLAGS_OFFSET, Flags, GROUP_OFFSET, HEADER_LEN, Message, MessageType, Packet, VERSION, WireState, frame, frame_into,
};
pub use tlv::{Handover, HandoverReason, Ia6, Lease4, Lease6, Server6, SpareLists, Tlvs, TrackerSummary};

use core::fmt;

/// Default EtherType (IEEE 802 "Local Experimental EtherType 1"); configurable.
pub const DEFAULT_ETHERTYPE: u16 = 0x88B5;

/// Destination of multicast hellos: locally administered, group bit set,
/// ASCII "VWRP" in the middle. Bridges flood it; nobody else owns it.
pub const MULTICAST_MAC: Mac = Mac([0x03, 0x56, 0x57, 0x52, 0x50, 0x00]);

/// Why a frame was refused. Every variant is counted by the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than its header or its declared lengths.
    Truncated,
    /// A version this implementation does not speak.
    UnknownVersion(u8),
    /// A message type this implementation does not know.
    UnknownType(u8),
    /// A state byte out of range.
    BadState(u8),
    /// A TLV whose length runs past the TLV area, or whose value has the
    /// wrong size for its type.
    BadTlv(u8),
    /// The same single-valued TLV twice.
    DuplicateTlv(u8),
    /// Authentication is configured but the frame carries no trailer.
    Unauthenticated,
    /// The frame carries a trailer but no key with its id is configured.
    UnknownKey(u8),
    /// The HMAC does not match.
    BadTag,
    /// Sequence number already seen or too old for this sender and epoch.
    Replayed,
    /// A field value the protocol forbids (zero router id, zero interval…).
    BadField(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => write!(f, "truncated frame"),
            Error::UnknownVersion(v) => write!(f, "unknown version {v}"),
            Error::UnknownType(t) => write!(f, "unknown message type {t}"),
            Error::BadState(s) => write!(f, "bad state {s}"),
            Error::BadTlv(t) => write!(f, "malformed TLV type {t}"),
            Error::DuplicateTlv(t) => write!(f, "duplicate TLV type {t}"),
            Error::Unauthenticated => write!(f, "missing authentication trailer"),
            Error::UnknownKey(k) => write!(f, "unknown key id {k}"),
            Error::BadTag => write!(f, "bad authentication tag"),
            Error::Replayed => write!(f, "replayed or stale sequence number"),
            Error::BadField(name) => write!(f, "bad value in field {name}"),
        }
    }
}

impl std::error::Error for Error {}

/// Reads a big-endian u16/u32 from a slice that the caller has already
/// bounds-checked; returns 0 rather than panicking if it was not.
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at.wrapping_add(2)) {
        Some(&[x, y]) => u16::from_be_bytes([x, y]),
        _ => 0,
    }
}

pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at.wrapping_add(4)) {
        Some(&[a, b2, c, d]) => u32::from_be_bytes([a, b2, c, d]),
        _ => 0,
    }
}
