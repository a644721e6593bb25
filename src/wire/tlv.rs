//! TLVs: type (1 byte), length (1 byte), value. Unknown types are skipped.
//!
//! Each TLV type is one module below: its type number, the layout of its
//! value (named byte ranges) and its parse and emit, side by side. `CODECS`
//! lists them in type order, which is the order they are sent in; `Tlvs`
//! holds what they decode. Adding a TLV is a change to this file: a module,
//! its line in `CODECS` and its field in `Tlvs` (then docs/PROTOCOL.md and a
//! test vector in `vectors`).

use core::ops::Range;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Error, be16, be32};

/// The active router's DHCPv4 lease. Times are seconds left at the moment
/// the frame was built, so no clock synchronisation is needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease4 {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Ipv4Addr,
    pub server_id: Ipv4Addr,
    /// The lease time the server granted (option 51).
    pub lease_time: u32,
    pub valid_left: u32,
    pub renew_left: u32,
    pub rebind_left: u32,
    pub dns: Vec<Ipv4Addr>,
}

/// One IPv6 address (IA_NA) or delegated prefix (IA_PD) with lifetimes left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ia6 {
    pub address: Ipv6Addr,
    pub prefix_len: u8,
    pub preferred_left: u32,
    pub valid_left: u32,
}

/// Everything the active knows of its DHCPv6 state.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Lease6 {
    pub addresses: Vec<Ia6>,
    pub prefixes: Vec<Ia6>,
    pub dns: Vec<Ipv6Addr>,
    pub gateway: Option<Ipv6Addr>,
    /// IAID and DUID, so that every router is the same DHCPv6 client.
    pub duid: Option<(u32, Vec<u8>)>,
    /// The server that granted the binding and when to renew it, so that
    /// a new active renews with it rather than rebinding.
    pub server: Option<Server6>,
}

/// The DHCPv6 server of a binding and its renewal times, seconds left.
#[derive(Debug, PartialEq, Eq)]
pub struct Server6 {
    /// The Server Identifier option's DUID.
    pub duid: Vec<u8>,
    /// Until T1: then RENEW to this server.
    pub renew_left: u32,
    /// Until T2: then REBIND to any server.
    pub rebind_left: u32,
}

impl Lease6 {
    pub fn is_empty(&self) -> bool {
        self == &Lease6::default()
    }
}

/// By hand for `clone_from`, which refills `self`'s lists rather than
/// allocating new ones (a derived one would): every hello of the active
/// carries the binding, and the hello path allocates nothing.
impl Clone for Lease6 {
    fn clone(&self) -> Self {
        Lease6 {
            addresses: self.addresses.clone(),
            prefixes: self.prefixes.clone(),
            dns: self.dns.clone(),
            gateway: self.gateway,
            duid: self.duid.clone(),
            server: self.server.clone(),
        }
    }

    fn clone_from(&mut self, src: &Self) {
        self.addresses.clone_from(&src.addresses);
        self.prefixes.clone_from(&src.prefixes);
        self.dns.clone_from(&src.dns);
        self.gateway = src.gateway;
        match (&mut self.duid, &src.duid) {
            (Some((iaid, duid)), Some((i, d))) => {
                *iaid = *i;
                duid.clone_from(d);
            }
            (dst, src) => *dst = src.clone(),
        }
        // Option's clone_from calls Server6's when both are there.
        self.server.clone_from(&src.server);
    }
}

/// By hand for `clone_from`, as `Lease6`.
impl Clone for Server6 {
    fn clone(&self) -> Self {
        Server6 { duid: self.duid.clone(), renew_left: self.renew_left, rebind_left: self.rebind_left }
    }

    fn clone_from(&mut self, src: &Self) {
        self.duid.clone_from(&src.duid);
        (self.renew_left, self.rebind_left) = (src.renew_left, src.rebind_left);
    }
}

/// The sender's trackers, summed up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackerSummary {
    pub total: u8,
    pub up: u8,
    pub down: u8,
    pub unknown: u8,
    /// Sum of the weights of failed trackers, capped at 255.
    pub penalty: u8,
    /// A fatal tracker is down.
    pub fatal: bool,
    /// Seconds left of the anti-flap hold after a tracker-driven handover.
    pub hold_left: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandoverReason {
    Operator = 1,
    Preempt = 2,
    Tracker = 3,
    Shutdown = 4,
}

impl HandoverReason {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => HandoverReason::Operator,
            2 => HandoverReason::Preempt,
            3 => HandoverReason::Tracker,
            4 => HandoverReason::Shutdown,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HandoverReason::Operator => "operator",
            HandoverReason::Preempt => "preempt",
            HandoverReason::Tracker => "tracker",
            HandoverReason::Shutdown => "shutdown",
        }
    }
}

/// Names the two ends of one make-before-break handover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handover {
    pub target: u32,
    pub id: u32,
    pub reason: HandoverReason,
}

/// The TLV area, decoded. Single-valued TLVs may appear once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tlvs {
    pub lease4: Option<Lease4>,
    pub client_id: Option<Vec<u8>>,
    pub lease6: Lease6,
    pub trackers: Option<TrackerSummary>,
    pub handover: Option<Handover>,
}

/// The lists decoded TLV areas leave behind once handled, for the next
/// parse to refill rather than allocate anew: a standby parses every
/// hello of the active, lease and binding included. `keep` takes an
/// area's lists back; `Tlvs::parse_reusing` takes what it needs from here.
#[derive(Debug, Default)]
pub struct SpareLists {
    dns4: Vec<Ipv4Addr>,
    client_id: Vec<u8>,
    addresses: Vec<Ia6>,
    prefixes: Vec<Ia6>,
    dns6: Vec<Ipv6Addr>,
    duid: Vec<u8>,
    server_duid: Vec<u8>,
}

impl SpareLists {
    /// Keeps the lists of `t`, a decoded area no longer needed (those it
    /// does not carry stay as they were).
    pub fn keep(&mut self, t: Tlvs) {
        if let Some(l) = t.lease4 {
            keep(&mut self.dns4, l.dns);
        }
        if let Some(c) = t.client_id {
            keep(&mut self.client_id, c);
        }
        let l = t.lease6;
        keep(&mut self.addresses, l.addresses);
        keep(&mut self.prefixes, l.prefixes);
        keep(&mut self.dns6, l.dns);
        if let Some((_, d)) = l.duid {
            keep(&mut self.duid, d);
        }
        if let Some(s) = l.server {
            keep(&mut self.server_duid, s.duid);
        }
    }
}

/// `list` as the spare one, unless that already holds room.
fn keep<T>(spare: &mut Vec<T>, list: Vec<T>) {
    if spare.capacity() == 0 {
        *spare = list;
    }
}

/// A spare list, emptied: what a codec fills.
fn take<T>(spare: &mut Vec<T>) -> Vec<T> {
    let mut list = core::mem::take(spare);
    list.clear();
    list
}

/// Reads a value into its place in `Tlvs` (its lists taken from the
/// spare ones); `Err` for a malformed or repeated one.
type Parse = fn(&[u8], &mut Tlvs, &mut SpareLists) -> Result<(), Error>;
/// Appends whole TLVs (type, length, value) for what `Tlvs` holds of this
/// type, or nothing.
type Emit = fn(&Tlvs, &mut Vec<u8>) -> Result<(), Error>;

/// Every TLV type this implementation knows, in type order.
const CODECS: [(u8, Parse, Emit); 10] = [
    (lease4::KIND, lease4::parse, lease4::emit),
    (client_id::KIND, client_id::parse, client_id::emit),
    (ipv6_address::KIND, ipv6_address::parse, ipv6_address::emit),
    (ipv6_prefix::KIND, ipv6_prefix::parse, ipv6_prefix::emit),
    (ipv6_dns::KIND, ipv6_dns::parse, ipv6_dns::emit),
    (ipv6_gateway::KIND, ipv6_gateway::parse, ipv6_gateway::emit),
    (dhcpv6_duid::KIND, dhcpv6_duid::parse, dhcpv6_duid::emit),
    (trackers::KIND, trackers::parse, trackers::emit),
    (handover::KIND, handover::parse, handover::emit),
    (dhcpv6_server::KIND, dhcpv6_server::parse, dhcpv6_server::emit),
];

impl Tlvs {
    /// Decodes a TLV area. `area` is exactly the TLV bytes of the message.
    pub fn parse(area: &[u8]) -> Result<Tlvs, Error> {
        Tlvs::parse_reusing(area, &mut SpareLists::default())
    }

    /// `parse`, its lists taken from `spare` rather than allocated anew:
    /// what a standby does with every hello of the active. On an error
    /// they go back there.
    pub fn parse_reusing(area: &[u8], spare: &mut SpareLists) -> Result<Tlvs, Error> {
        let mut out = Tlvs::default();
        match Tlvs::parse_into(area, &mut out, spare) {
            Ok(()) => Ok(out),
            Err(e) => {
                spare.keep(out);
                Err(e)
            }
        }
    }

    fn parse_into(area: &[u8], out: &mut Tlvs, spare: &mut SpareLists) -> Result<(), Error> {
        // The repeated TLVs append to these.
        let l = &mut out.lease6;
        (l.addresses, l.prefixes, l.dns) =
            (take(&mut spare.addresses), take(&mut spare.prefixes), take(&mut spare.dns6));
        let mut rest = area;
        while !rest.is_empty() {
            let (t, len) = match rest {
                [t, len, ..] => (*t, usize::from(*len)),
                [t] => return Err(Error::BadTlv(*t)),
                [] => break,
            };
            let v = rest.get(2..2 + len).ok_or(Error::BadTlv(t))?;
            rest = &rest[2 + len..];
            // Unknown TLVs are skipped: that is how the protocol grows.
            if let Some((_, parse, _)) = CODECS.iter().find(|(kind, _, _)| *kind == t) {
                parse(v, out, spare)?;
            }
        }
        Ok(())
    }

    /// Appends the encoded TLVs to `out`, in type order. Fails when a
    /// value does not fit its 255-byte length field or is one `parse`
    /// refuses (empty client id or DUID, prefix length out of range); `out`
    /// may then hold part of the TLVs.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        CODECS.iter().try_for_each(|(_, _, emit)| emit(self, out))
    }
}

// ---- helpers shared by the codecs ------------------------------------------

fn ip4(v: &[u8], r: Range<usize>) -> Ipv4Addr {
    Ipv4Addr::from(be32(v, r.start))
}

fn ip6(v: &[u8], r: Range<usize>) -> Ipv6Addr {
    let mut a = [0u8; 16];
    if let Some(s) = v.get(r) {
        a.copy_from_slice(s);
    }
    Ipv6Addr::from(a)
}

fn set_once<T>(slot: &mut Option<T>, value: T, t: u8) -> Result<(), Error> {
    if slot.is_some() {
        return Err(Error::DuplicateTlv(t));
    }
    *slot = Some(value);
    Ok(())
}

/// Appends one TLV of type `t`: what `value` writes, under its length.
fn put(out: &mut Vec<u8>, t: u8, value: impl FnOnce(&mut Vec<u8>)) -> Result<(), Error> {
    let start = out.len();
    out.extend_from_slice(&[t, 0]);
    value(out);
    let len = u8::try_from(out.len() - start - 2).map_err(|_| Error::BadTlv(t))?;
    out[start + 1] = len;
    Ok(())
}

/// Appends `len` zero bytes to `out` and returns them, to be filled in by
/// field.
fn fixed(out: &mut Vec<u8>, len: usize) -> &mut [u8] {
    let start = out.len();
    out.resize(start + len, 0);
    &mut out[start..]
}

// ---- the TLV types ---------------------------------------------------------

/// 1: the active's DHCPv4 lease, DNS servers after the fixed part.
mod lease4 {
    use super::*;

    pub const KIND: u8 = 1;
    mod field {
        use core::ops::Range;
        pub const ADDRESS: Range<usize> = 0..4;
        pub const PREFIX_LEN: usize = 4;
        pub const GATEWAY: Range<usize> = 6..10;
        pub const SERVER_ID: Range<usize> = 10..14;
        pub const LEASE_TIME: Range<usize> = 14..18;
        pub const VALID_LEFT: Range<usize> = 18..22;
        pub const RENEW_LEFT: Range<usize> = 22..26;
        pub const REBIND_LEFT: Range<usize> = 26..30;
        /// Four bytes per server from here to the end.
        pub const DNS: usize = 30;
    }

    pub fn parse(v: &[u8], t: &mut Tlvs, spare: &mut SpareLists) -> Result<(), Error> {
        if v.len() < field::DNS || (v.len() - field::DNS) % 4 != 0 || v[field::PREFIX_LEN] > 32 {
            return Err(Error::BadTlv(KIND));
        }
        let mut dns = take(&mut spare.dns4);
        dns.extend(v[field::DNS..].chunks_exact(4).map(|c| ip4(c, 0..4)));
        let lease = Lease4 {
            address: ip4(v, field::ADDRESS),
            prefix_len: v[field::PREFIX_LEN],
            gateway: ip4(v, field::GATEWAY),
            server_id: ip4(v, field::SERVER_ID),
            lease_time: be32(v, field::LEASE_TIME.start),
            valid_left: be32(v, field::VALID_LEFT.start),
            renew_left: be32(v, field::RENEW_LEFT.start),
            rebind_left: be32(v, field::REBIND_LEFT.start),
            dns,
        };
        set_once(&mut t.lease4, lease, KIND)
    }

    pub fn emit(t: &Tlvs, out: &mut Vec<u8>) -> Result<(), Error> {
        let Some(l) = &t.lease4 else { return Ok(()) };
        if l.prefix_len > 32 {
            return Err(Error::BadTlv(KIND));
        }
        put(out, KIND, |out| {
            let v = fixed(out, field::DNS);
            v[field::ADDRESS].copy_from_slice(&l.address.octets());
            v[field::PREFIX_LEN] = l.prefix_len;
            v[field::GATEWAY].copy_from_slice(&l.gateway.octets());
            v[field::SERVER_ID].copy_from_slice(&l.server_id.octets());
            v[field::LEASE_TIME].copy_from_slice(&l.lease_time.to_be_bytes());
            v[field::VALID_LEFT].copy_from_slice(&l.valid_left.to_be_bytes());
            v[field::RENEW_LEFT].copy_from_slice(&l.renew_left.to_be_bytes());
            v[field::REBIND_LEFT].copy_from_slice(&l.rebind_left.to_be_bytes());
            for d in &l.dns {
                out.extend_from_slice(&d.octets());
            }
        })
    }
}

/// 2: the DHCPv4 client id (option 61) the group uses, as bytes.
mod client_id {
    use super::*;

    pub const KIND: u8 = 2;

    pub fn parse(v: &[u8], t: &mut Tlvs, spare: &mut SpareLists) -> Result<(), Error> {
        if v.is_empty() {
            return Err(Error::BadTlv(KIND));
        }
        let mut id = take(&mut spare.client_id);
        id.extend_from_slice(v);
        set_once(&mut t.client_id, id, KIND)
    }

    pub fn emit(t: &Tlvs, out: &mut Vec<u8>) -> Result<(), Error> {
        let Some(c) = &t.client_id else { return Ok(()) };
        if c.is_empty() {
            return Err(Error::BadTlv(KIND));
        }
        put(out, KIND, |out| out.extend_from_slice(c))
    }
}

/// The layout both IPv6 address (3) and prefix (4) TLVs share; each may
/// be repeated.
mod ia6 {
    use super::*;

    mod field {
        use core::ops::Range;
        pub const ADDRESS: Range<usize> = 0..16;
        pub const PREFIX_LEN: usize = 16;
        pub const PREFERRED_LEFT: Range<usize> = 18..22;
        pub const VALID_LEFT: Range<usize> = 22..26;
        pub const LEN: usize = 26;
    }

    pub fn parse(v: &[u8], kind: u8) -> Result<Ia6, Error> {
        if v.len() != field::LEN || v[field::PREFIX_LEN] > 128 {
            return Err(Error::BadTlv(kind));
        }
        Ok(Ia6 {
            address: ip6(v, field::ADDRESS),
            prefix_len: v[field::PREFIX_LEN],
            preferred_left: be32(v, field::PREFERRED_LEFT.start),
            valid_left: be32(v, field::VALID_LEFT.start),
        })
    }

    pub fn emit(list: &[Ia6], kind: u8, out: &mut Vec<u8>) -> Result<(), Error> {
        for i in list {
            if i.prefix_len > 128 {
                return Err(Error::BadTlv(kind));
            }
            put(out, kind, |out| {
                let v = fixed(out, field::LEN);
                v[field::ADDRESS].copy_from_slice(&i.address.octets());
                v[field::PREFIX_LEN] = i.prefix_len;
                v[field::PREFERRED_LEFT].copy_from_slice(&i.preferred_left.to_be_bytes());
                v[field::VALID_LEFT].copy_from_slice(&i.valid_left.to_be_bytes());
            })?;
        }
        Ok(())
    }
}

/// 3: one IA_NA address.
mod ipv6_address {
    use super::*;

    pub const KIND: u8 = 3;

    pub fn parse(v: &[u8], t: &mut Tlvs, _: &mut SpareLists) -> Result<(), Error> {
        t.lease6.addresses.push(ia6::parse(v, KIND)?);
        Ok(())
    }

    pub fn emit(t: &Tlvs, out: &mut Vec<u8>) -> Result<(), Error> {
        ia6::emit(&t.lease6.addresses, KIND, out)
    }
}

/// 4: one delegated prefix (IA_PD).
mod ipv6_prefix {
    use super::*;

    pub const KIND: u8 = 4;

    pub fn parse(v: &[u8], t: &mut Tlvs, _: &mut SpareLists) -> Result<(), Error> {
        t.lease6.prefixes.push(ia6::parse(v, KIND)?);
        Ok(())
    }

    pub fn emit(t: &Tlvs, out: &mut Vec<u8>) -> Result<(), Error> {
        ia6::emit(&t.lease6.prefixes, KIND, out)
    }
}

/// 5: the IPv6 DNS servers, 16 bytes each.
mod ipv6_dns {
    use super::*;

    pub const KIND: u8 = 5;

    pub fn parse(v: &[u8], t: &mut Tlvs, _: &mut SpareLists) -> Result<(), Error> {
        if !t.lease6.dns.is_empty() {
            return Err(Error::DuplicateTlv(KIND));
        }
        if v.is_empty() || v.len() % 16 != 0 {
            return Err(Error::BadTlv(KIND));
        }
        t.lease6.dns.extend(v.chunks_exact(16).map(|c| ip6(c, 0..16)));
        Ok(())
    }

    pub fn emit(t: &Tlvs, out: &mut Vec<u8>) -> Result<(), Error> {
        if t.lease6.dns.is_empty() {
            return Ok(());
        }
        put(out, KIND, |out| {
            for d in &t.lease6.dns {
                out.extend_from_slice(&d.octets());
            }
        })
    }
}

/// 6: the IPv6 default gateway.
mod ipv6_gateway {
    use super::*;

    pub const KIND: u8 = 6;

    pub fn parse(v: &[u8], t: &mut Tlvs, _: &mut SpareLists) -> Result<(), Error> {
        if v.len() != 16 {
            return Err(Error::BadTlv(KIND));
        }
        set_once(&mut t.lease6.gateway, ip6(v, 0..16), KIND)
    }

    pub fn emit(t: &Tlvs, out: &mut Vec<u8>) -> Result<(), Error> {
        let Some(g) = &t.lease6.gateway else { return Ok(()) };
        put(out, KIND, |out| out.extend_from_slice(&g.octets()))
    }
}

/// 7: the DHCPv6 IAID, then the DUID.
mod dhcpv6_duid {
    use super::*;

    pub const KIND: u8 = 7;
    mod field {
        use core::ops::Range;
        pub const IAID: Range<usize> = 0..4;
        /// The DUID from here to the end, at least one byte.
        pub const DUID: usize = 4;
    }

    pub fn parse(v: &[u8], t: &mut Tlvs, spare: &mut SpareLists) -> Result<(), Error> {
        if v.len() <= field::DUID {
            return Err(Error::BadTlv(KIND));
        }
        let mut duid = take(&mut spare.duid);
        duid.extend_from_slice(&v[field::DUID..]);
        set_once(&mut t.lease6.duid, (be32(v, field::IAID.start), duid), KIND)
    }

    pub fn emit(t: &Tlvs, out: &mut Vec<u8>) -> Result<(), Error> {
        let Some((iaid, duid)) = &t.lease6.duid else { return Ok(()) };
        if duid.is_empty() {
            return Err(Error::BadTlv(KIND));
        }
        put(out, KIND, |out| {
            fixed(out, field::DUID)[field::IAID].copy_from_slice(&iaid.to_be_bytes());
            out.extend_from_slice(duid);
        })
    }
}

/// 8: the sender's trackers, summed up.
mod trackers {
    use super::*;

    pub const KIND: u8 = 8;
    mod field {
        use core::ops::Range;
        pub const TOTAL: usize = 0;
        pub const UP: usize = 1;
        pub const DOWN: usize = 2;
        pub const UNKNOWN: usize = 3;
        pub const PENALTY: usize = 4;
        /// Bit 0: a fatal tracker is down. Other bits are ignored: room to grow.
        pub const FLAGS: usize = 5;
        pub const HOLD_LEFT: Range<usize> = 6..8;
        pub const LEN: usize = 8;
    }
    const FATAL: u8 = 1;

    pub fn parse(v: &[u8], t: &mut Tlvs, _: &mut SpareLists) -> Result<(), Error> {
        if v.len() != field::LEN {
            return Err(Error::BadTlv(KIND));
        }
        let s = TrackerSummary {
            total: v[field::TOTAL],
            up: v[field::UP],
            down: v[field::DOWN],
            unknown: v[field::UNKNOWN],
            penalty: v[field::PENALTY],
            fatal: v[field::FLAGS] & FATAL == FATAL,
            hold_left: be16(v, field::HOLD_LEFT.start),
        };
        set_once(&mut t.trackers, s, KIND)
    }

    pub fn emit(t: &Tlvs, out: &mut Vec<u8>) -> Result<(), Error> {
        let Some(s) = &t.trackers else { return Ok(()) };
        put(out, KIND, |out| {
            let v = fixed(out, field::LEN);
            v[field::TOTAL] = s.total;
            v[field::UP] = s.up;
            v[field::DOWN] = s.down;
            v[field::UNKNOWN] = s.unknown;
            v[field::PENALTY] = s.penalty;
            v[field::FLAGS] = if s.fatal { FATAL } else { 0 };
            v[field::HOLD_LEFT].copy_from_slice(&s.hold_left.to_be_bytes());
        })
    }
}

/// 9: the two ends of a handover and why it happens.
mod handover {
    use super::*;

    pub const KIND: u8 = 9;
    mod field {
        use core::ops::Range;
        pub const TARGET: Range<usize> = 0..4;
        pub const ID: Range<usize> = 4..8;
        pub const REASON: usize = 8;
        pub const LEN: usize = 9;
    }

    pub fn parse(v: &[u8], t: &mut Tlvs, _: &mut SpareLists) -> Result<(), Error> {
        if v.len() != field::LEN {
            return Err(Error::BadTlv(KIND));
        }
        let reason = HandoverReason::from_u8(v[field::REASON]).ok_or(Error::BadTlv(KIND))?;
        let h = Handover { target: be32(v, field::TARGET.start), id: be32(v, field::ID.start), reason };
        set_once(&mut t.handover, h, KIND)
    }

    pub fn emit(t: &Tlvs, out: &mut Vec<u8>) -> Result<(), Error> {
        let Some(h) = &t.handover else { return Ok(()) };
        put(out, KIND, |out| {
            let v = fixed(out, field::LEN);
            v[field::TARGET].copy_from_slice(&h.target.to_be_bytes());
            v[field::ID].copy_from_slice(&h.id.to_be_bytes());
            v[field::REASON] = h.reason as u8;
        })
    }
}

/// 10: the DHCPv6 server of the binding and its renewal times.
mod dhcpv6_server {
    use super::*;

    pub const KIND: u8 = 10;
    mod field {
        use core::ops::Range;
        pub const RENEW_LEFT: Range<usize> = 0..4;
        pub const REBIND_LEFT: Range<usize> = 4..8;
        /// The server's DUID from here to the end, at least one byte.
        pub const DUID: usize = 8;
    }

    pub fn parse(v: &[u8], t: &mut Tlvs, spare: &mut SpareLists) -> Result<(), Error> {
        if v.len() <= field::DUID {
            return Err(Error::BadTlv(KIND));
        }
        let mut duid = take(&mut spare.server_duid);
        duid.extend_from_slice(&v[field::DUID..]);
        let s = Server6 {
            duid,
            renew_left: be32(v, field::RENEW_LEFT.start),
            rebind_left: be32(v, field::REBIND_LEFT.start),
        };
        set_once(&mut t.lease6.server, s, KIND)
    }

    pub fn emit(t: &Tlvs, out: &mut Vec<u8>) -> Result<(), Error> {
        let Some(s) = &t.lease6.server else { return Ok(()) };
        if s.duid.is_empty() {
            return Err(Error::BadTlv(KIND));
        }
        put(out, KIND, |out| {
            let v = fixed(out, field::DUID);
            v[field::RENEW_LEFT].copy_from_slice(&s.renew_left.to_be_bytes());
            v[field::REBIND_LEFT].copy_from_slice(&s.rebind_left.to_be_bytes());
            out.extend_from_slice(&s.duid);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Emitting walks `CODECS`: its order is the order on the wire, and
    /// each type is parsed by exactly one codec.
    #[test]
    fn codecs_in_type_order_once_each() {
        assert!(CODECS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn unknown_tlv_is_skipped() {
        let area = [200, 3, 1, 2, 3, client_id::KIND, 2, 0xab, 0xcd];
        let t = Tlvs::parse(&area).unwrap();
        assert_eq!(t.client_id, Some(vec![0xab, 0xcd]));
    }

    #[test]
    fn truncated_tlv_is_an_error() {
        assert_eq!(Tlvs::parse(&[client_id::KIND, 5, 1, 2]), Err(Error::BadTlv(client_id::KIND)));
        assert_eq!(Tlvs::parse(&[77]), Err(Error::BadTlv(77)));
    }

    #[test]
    fn duplicate_single_tlv_is_an_error() {
        let area = [client_id::KIND, 1, 1, client_id::KIND, 1, 2];
        assert_eq!(Tlvs::parse(&area), Err(Error::DuplicateTlv(client_id::KIND)));
    }

    #[test]
    fn wrong_sizes_are_errors() {
        assert_eq!(Tlvs::parse(&[handover::KIND, 1, 0]), Err(Error::BadTlv(handover::KIND)));
        let mut h = vec![handover::KIND, 9, 0, 0, 0, 1, 0, 0, 0, 1, 9];
        assert_eq!(Tlvs::parse(&h), Err(Error::BadTlv(handover::KIND)));
        h[10] = 1;
        assert!(Tlvs::parse(&h).is_ok());
        assert_eq!(Tlvs::parse(&[lease4::KIND, 31]).unwrap_err(), Error::BadTlv(lease4::KIND));
    }

    #[test]
    fn oversized_client_id_refused_on_emit() {
        let t = Tlvs { client_id: Some(vec![0; 256]), ..Default::default() };
        assert_eq!(t.emit(&mut Vec::new()), Err(Error::BadTlv(client_id::KIND)));
    }

    /// A sender must not build what every receiver refuses.
    #[test]
    fn values_parse_refuses_are_refused_on_emit() {
        let ia = Ia6 { address: Ipv6Addr::LOCALHOST, prefix_len: 129, preferred_left: 1, valid_left: 1 };
        let lease4 = Lease4 {
            address: Ipv4Addr::new(203, 0, 113, 10),
            prefix_len: 33,
            gateway: Ipv4Addr::new(203, 0, 113, 1),
            server_id: Ipv4Addr::new(203, 0, 113, 1),
            lease_time: 60,
            valid_left: 60,
            renew_left: 30,
            rebind_left: 50,
            dns: vec![],
        };
        let cases = [
            (Tlvs { client_id: Some(vec![]), ..Default::default() }, client_id::KIND),
            (Tlvs { lease4: Some(lease4), ..Default::default() }, lease4::KIND),
            (
                Tlvs { lease6: Lease6 { addresses: vec![ia], ..Default::default() }, ..Default::default() },
                ipv6_address::KIND,
            ),
            (
                Tlvs { lease6: Lease6 { prefixes: vec![ia], ..Default::default() }, ..Default::default() },
                ipv6_prefix::KIND,
            ),
            (
                Tlvs { lease6: Lease6 { duid: Some((1, vec![])), ..Default::default() }, ..Default::default() },
                dhcpv6_duid::KIND,
            ),
            (
                Tlvs {
                    lease6: Lease6 {
                        server: Some(Server6 { duid: vec![], renew_left: 1, rebind_left: 2 }),
                        ..Default::default()
                    },
                    ..Default::default()
                },
                dhcpv6_server::KIND,
            ),
        ];
        for (t, k) in cases {
            assert_eq!(t.emit(&mut Vec::new()), Err(Error::BadTlv(k)));
        }
    }
}
