//! The vwrp PDU: a 24-byte header, TLVs, and an optional auth trailer.

use core::fmt;

use super::tlv::{SpareLists, Tlvs};
use super::{Error, EthernetRepr, Keyring, Mac, TAG_LEN, TRAILER_LEN, be16, be32};

/// Version 2 binds every tag to the frame's destination (§3.1); version 1
/// (vwrp 0.1 before that) is refused as any other.
pub const VERSION: u8 = 2;
pub const HEADER_LEN: usize = 24;
/// Where the group byte sits in the PDU: a socket filter reads it.
pub const GROUP_OFFSET: usize = field::GROUP;
/// Where the flags sit in the PDU: the fence's egress rule reads them.
pub const FLAGS_OFFSET: usize = field::FLAGS;

mod field {
    use core::ops::Range;
    pub const VERSION: usize = 0;
    pub const TYPE: usize = 1;
    pub const GROUP: usize = 2;
    pub const STATE: usize = 3;
    pub const ROUTER_ID: Range<usize> = 4..8;
    pub const PRIORITY: usize = 8;
    pub const EFFECTIVE: usize = 9;
    pub const FLAGS: usize = 10;
    pub const MULTIPLIER: usize = 11;
    pub const HELLO: Range<usize> = 12..14;
    pub const TLV_LEN: Range<usize> = 14..16;
    pub const EPOCH: Range<usize> = 16..20;
    pub const SEQ: Range<usize> = 20..24;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageType {
    /// Periodic state announcement.
    Hello = 1,
    /// Active → target: prepare to take over.
    Offer = 2,
    /// Target → active: prepared, my WAN is open.
    Ready = 3,
    /// Old active → target: my WAN is closed.
    Done = 4,
    /// Sender leaves the group now; if it was active, take over at once.
    Release = 5,
}

impl MessageType {
    fn from_u8(v: u8) -> Result<Self, Error> {
        Ok(match v {
            1 => MessageType::Hello,
            2 => MessageType::Offer,
            3 => MessageType::Ready,
            4 => MessageType::Done,
            5 => MessageType::Release,
            t => return Err(Error::UnknownType(t)),
        })
    }
}

/// The sender's state as carried on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WireState {
    Init = 0,
    Standby = 1,
    TakingOver = 2,
    Active = 3,
    HandingOver = 4,
    Fault = 5,
}

impl WireState {
    fn from_u8(v: u8) -> Result<Self, Error> {
        Ok(match v {
            0 => WireState::Init,
            1 => WireState::Standby,
            2 => WireState::TakingOver,
            3 => WireState::Active,
            4 => WireState::HandingOver,
            5 => WireState::Fault,
            s => return Err(Error::BadState(s)),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WireState::Init => "init",
            WireState::Standby => "standby",
            WireState::TakingOver => "taking-over",
            WireState::Active => "active",
            WireState::HandingOver => "handing-over",
            WireState::Fault => "fault",
        }
    }

    /// Forwarding, or about to stop forwarding: both hold the WAN.
    pub fn holds_wan(self) -> bool {
        matches!(self, WireState::Active | WireState::HandingOver)
    }
}

/// Header flag bits. Bits not defined here are sent as 0 and ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(pub u8);

impl Flags {
    /// An authentication trailer follows the TLVs.
    pub const AUTH: u8 = 0x01;
    /// Sender has a better claim than the active and its preempt delay ran out.
    pub const WANT_PREEMPT: u8 = 0x02;
    /// The operator asked the sender to become active.
    pub const WANT_STEP_UP: u8 = 0x04;
    /// Frame was sent on the WAN path (from the shared MAC).
    pub const WAN: u8 = 0x08;
    /// Sender holds the WAN but must leave the active role: it cannot
    /// serve (its LAN lost, a fatal tracker down). A standby that hears it
    /// only on the WAN takes over (docs/PROTOCOL.md §6.8).
    pub const LEAVING: u8 = 0x10;
    /// Sender's WAN was open (it held the forwarding permission) when it
    /// built the frame. Informational for receivers; the sender's own
    /// fence renews the permission from the WAN frames that carry it.
    pub const FORWARDING: u8 = 0x20;
    const KNOWN: u8 = 0x3f;

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

/// A checked view over a vwrp PDU (the Ethernet payload).
#[derive(Debug)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Refuses buffers shorter than the header and the declared TLV area
    /// and trailer, so that no accessor can run out of bounds.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let p = Packet { buffer };
        if p.body_len() + if p.flags().has(Flags::AUTH) { TRAILER_LEN } else { 0 } > p.buffer.as_ref().len() {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    pub fn version(&self) -> u8 {
        self.b()[field::VERSION]
    }
    pub fn msg_type(&self) -> u8 {
        self.b()[field::TYPE]
    }
    pub fn group(&self) -> u8 {
        self.b()[field::GROUP]
    }
    pub fn state(&self) -> u8 {
        self.b()[field::STATE]
    }
    pub fn router_id(&self) -> u32 {
        be32(self.b(), field::ROUTER_ID.start)
    }
    pub fn priority(&self) -> u8 {
        self.b()[field::PRIORITY]
    }
    pub fn effective_priority(&self) -> u8 {
        self.b()[field::EFFECTIVE]
    }
    pub fn flags(&self) -> Flags {
        Flags(self.b()[field::FLAGS])
    }
    pub fn dead_multiplier(&self) -> u8 {
        self.b()[field::MULTIPLIER]
    }
    pub fn hello_interval(&self) -> u16 {
        be16(self.b(), field::HELLO.start)
    }
    pub fn tlv_len(&self) -> u16 {
        be16(self.b(), field::TLV_LEN.start)
    }
    pub fn epoch(&self) -> u32 {
        be32(self.b(), field::EPOCH.start)
    }
    pub fn seq(&self) -> u32 {
        be32(self.b(), field::SEQ.start)
    }
    /// Header plus TLVs: what the tag covers (with the key id).
    fn body_len(&self) -> usize {
        HEADER_LEN + usize::from(self.tlv_len())
    }
    pub fn tlvs(&self) -> &[u8] {
        self.b().get(HEADER_LEN..self.body_len()).unwrap_or(&[])
    }
    fn covered(&self) -> &[u8] {
        self.b().get(..self.body_len()).unwrap_or(&[])
    }
    /// Key id and tag, when the AUTH flag is set.
    pub fn trailer(&self) -> Option<(u8, &[u8])> {
        if !self.flags().has(Flags::AUTH) {
            return None;
        }
        let t = self.b().get(self.body_len()..self.body_len() + TRAILER_LEN)?;
        Some((t[0], &t[1..]))
    }
}

/// A parsed, authenticated vwrp message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub kind: MessageType,
    pub group: u8,
    pub state: WireState,
    pub router_id: u32,
    pub priority: u8,
    pub effective_priority: u8,
    /// WANT_PREEMPT, WANT_STEP_UP, WAN, LEAVING and FORWARDING; AUTH is set by `emit`.
    pub flags: Flags,
    pub dead_multiplier: u8,
    /// Milliseconds between hellos on the path this frame was sent on.
    pub hello_interval: u16,
    pub epoch: u32,
    pub seq: u32,
    pub tlvs: Tlvs,
}

impl Message {
    /// Checks version, trailer and tag (against `keys`, over `dst`, the
    /// Ethernet destination the frame arrived with) and decodes. Replay is
    /// checked afterwards by the receiver's `ReplayGuard`.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>, dst: Mac, keys: &Keyring) -> Result<Message, Error> {
        Message::parse_reusing(p, dst, keys, &mut SpareLists::default())
    }

    /// `parse`, its lists taken from `spare` (see `Tlvs::parse_reusing`).
    pub fn parse_reusing<T: AsRef<[u8]>>(
        p: &Packet<T>,
        dst: Mac,
        keys: &Keyring,
        spare: &mut SpareLists,
    ) -> Result<Message, Error> {
        if p.version() != VERSION {
            return Err(Error::UnknownVersion(p.version()));
        }
        match (p.trailer(), keys.is_empty()) {
            (None, true) => {}
            (None, false) => return Err(Error::Unauthenticated),
            (Some((id, tag)), _) => {
                let key = keys.get(id).ok_or(Error::UnknownKey(id))?;
                if !key.verify(dst, p.covered(), tag) {
                    return Err(Error::BadTag);
                }
            }
        }
        let kind = MessageType::from_u8(p.msg_type())?;
        let state = WireState::from_u8(p.state())?;
        check_fields(p.router_id(), p.effective_priority(), p.dead_multiplier(), p.hello_interval(), p.seq())?;
        Ok(Message {
            kind,
            group: p.group(),
            state,
            router_id: p.router_id(),
            priority: p.priority(),
            effective_priority: p.effective_priority(),
            flags: Flags(p.flags().0 & Flags::KNOWN & !Flags::AUTH),
            dead_multiplier: p.dead_multiplier(),
            hello_interval: p.hello_interval(),
            epoch: p.epoch(),
            seq: p.seq(),
            tlvs: Tlvs::parse_reusing(p.tlvs(), spare)?,
        })
    }

    /// Appends the PDU to `out`, signed with the keyring's signing key if
    /// it has one, for the receiver `dst` (the Ethernet destination). What
    /// every receiver would refuse is refused here, and `out` is then left
    /// unchanged.
    pub fn emit(&self, dst: Mac, keys: &Keyring, out: &mut Vec<u8>) -> Result<(), Error> {
        check_fields(self.router_id, self.effective_priority, self.dead_multiplier, self.hello_interval, self.seq)?;
        let start = out.len();
        let key = keys.signing_key();
        let flags = (self.flags.0 & Flags::KNOWN & !Flags::AUTH) | if key.is_some() { Flags::AUTH } else { 0 };
        out.resize(start + HEADER_LEN, 0);
        let h = &mut out[start..];
        h[field::VERSION] = VERSION;
        h[field::TYPE] = self.kind as u8;
        h[field::GROUP] = self.group;
        h[field::STATE] = self.state as u8;
        h[field::ROUTER_ID].copy_from_slice(&self.router_id.to_be_bytes());
        h[field::PRIORITY] = self.priority;
        h[field::EFFECTIVE] = self.effective_priority;
        h[field::FLAGS] = flags;
        h[field::MULTIPLIER] = self.dead_multiplier;
        h[field::HELLO].copy_from_slice(&self.hello_interval.to_be_bytes());
        // TLV_LEN is filled in once the TLVs are written.
        h[field::EPOCH].copy_from_slice(&self.epoch.to_be_bytes());
        h[field::SEQ].copy_from_slice(&self.seq.to_be_bytes());
        let tlv_start = out.len();
        if let Err(e) = self.tlvs.emit(out) {
            out.truncate(start);
            return Err(e);
        }
        let Ok(tlv_len) = u16::try_from(out.len() - tlv_start) else {
            out.truncate(start);
            return Err(Error::BadField("TLV length"));
        };
        out[start + field::TLV_LEN.start..start + field::TLV_LEN.end].copy_from_slice(&tlv_len.to_be_bytes());
        if let Some(k) = key {
            let tag = k.tag(dst, &out[start..]);
            out.push(k.id);
            out.extend_from_slice(&tag);
        }
        debug_assert!(out.len() - start >= HEADER_LEN && TAG_LEN == 32);
        Ok(())
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} group {} router {:#x} {} prio {}/{} hello {}ms x{} epoch {:#x} seq {}",
            self.kind,
            self.group,
            self.router_id,
            self.state.as_str(),
            self.priority,
            self.effective_priority,
            self.hello_interval,
            self.dead_multiplier,
            self.epoch,
            self.seq
        )?;
        if let Some(h) = &self.tlvs.handover {
            write!(f, " handover {:#x}->{:#x} ({})", h.id, h.target, h.reason.as_str())?;
        }
        if let Some(l) = &self.tlvs.lease4 {
            write!(f, " lease {}/{} {}s left", l.address, l.prefix_len, l.valid_left)?;
        }
        Ok(())
    }
}

/// The header fields a receiver refuses (§2.8 step 9): a router id,
/// multiplier, hello interval or sequence number of 0, and effective
/// priority 255, which would beat every router a configuration can make.
fn check_fields(router_id: u32, effective: u8, multiplier: u8, hello: u16, seq: u32) -> Result<(), Error> {
    let bad = [
        (router_id == 0, "router id"),
        (effective == u8::MAX, "effective priority"),
        (multiplier == 0, "dead multiplier"),
        (hello == 0, "hello interval"),
        (seq == 0, "sequence"),
    ];
    match bad.iter().find(|(b, _)| *b) {
        Some((_, name)) => Err(Error::BadField(name)),
        None => Ok(()),
    }
}

/// Builds a whole Ethernet frame: header, PDU, zero padding to 60 bytes.
pub fn frame(dst: Mac, src: Mac, ethertype: u16, msg: &Message, keys: &Keyring) -> Result<Vec<u8>, Error> {
    EthernetRepr { dst, src, ethertype }.emit(|out| msg.emit(dst, keys, out))
}

/// `frame` into `out`, which it empties first.
pub fn frame_into(
    out: &mut Vec<u8>,
    dst: Mac,
    src: Mac,
    ethertype: u16,
    msg: &Message,
    keys: &Keyring,
) -> Result<(), Error> {
    EthernetRepr { dst, src, ethertype }.emit_into(out, |out| msg.emit(dst, keys, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MULTICAST_MAC;

    fn hello() -> Message {
        Message {
            kind: MessageType::Hello,
            group: 1,
            state: WireState::Standby,
            router_id: 7,
            priority: 100,
            effective_priority: 100,
            flags: Flags::default(),
            dead_multiplier: 3,
            hello_interval: 100,
            epoch: 1,
            seq: 1,
            tlvs: Tlvs::default(),
        }
    }

    /// A sender must not build what every receiver refuses, and a refused
    /// emit leaves the buffer as it was.
    #[test]
    fn zero_fields_refused_on_emit() {
        let cases = [
            (Message { router_id: 0, ..hello() }, "router id"),
            (Message { effective_priority: 255, ..hello() }, "effective priority"),
            (Message { hello_interval: 0, ..hello() }, "hello interval"),
            (Message { dead_multiplier: 0, ..hello() }, "dead multiplier"),
            (Message { seq: 0, ..hello() }, "sequence"),
        ];
        for (m, field) in cases {
            let mut out = vec![0xaa, 0xbb];
            assert_eq!(m.emit(MULTICAST_MAC, &Keyring::default(), &mut out), Err(Error::BadField(field)));
            assert_eq!(out, [0xaa, 0xbb]);
        }
        let mut out = vec![0xaa];
        let bad = Message { tlvs: Tlvs { client_id: Some(vec![]), ..Tlvs::default() }, ..hello() };
        assert_eq!(bad.emit(MULTICAST_MAC, &Keyring::default(), &mut out), Err(Error::BadTlv(2)));
        assert_eq!(out, [0xaa]);
        assert!(hello().emit(MULTICAST_MAC, &Keyring::default(), &mut out).is_ok());
        assert_eq!(out.len(), 1 + HEADER_LEN);
    }
}
