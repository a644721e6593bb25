//! TLVs: type (1 byte), length (1 byte), value. Unknown types are skipped.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Error, be16, be32};

pub(crate) mod kind {
    pub const IPV4_LEASE: u8 = 1;
    pub const CLIENT_ID: u8 = 2;
    pub const IPV6_ADDRESS: u8 = 3;
    pub const IPV6_PREFIX: u8 = 4;
    pub const IPV6_DNS: u8 = 5;
    pub const IPV6_GATEWAY: u8 = 6;
    pub const DHCPV6_DUID: u8 = 7;
    pub const TRACKERS: u8 = 8;
    pub const HANDOVER: u8 = 9;
}

const LEASE4_FIXED: usize = 30;
const IA6_LEN: usize = 26;
const TRACKERS_LEN: usize = 8;
const HANDOVER_LEN: usize = 9;

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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lease6 {
    pub addresses: Vec<Ia6>,
    pub prefixes: Vec<Ia6>,
    pub dns: Vec<Ipv6Addr>,
    pub gateway: Option<Ipv6Addr>,
    /// IAID and DUID, so that every router is the same DHCPv6 client.
    pub duid: Option<(u32, Vec<u8>)>,
}

impl Lease6 {
    pub fn is_empty(&self) -> bool {
        self == &Lease6::default()
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

fn ip4(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::from(be32(b, at))
}

fn ip6(b: &[u8], at: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    if let Some(s) = b.get(at..at + 16) {
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

fn parse_ia6(v: &[u8], t: u8) -> Result<Ia6, Error> {
    if v.len() != IA6_LEN || v[16] > 128 {
        return Err(Error::BadTlv(t));
    }
    Ok(Ia6 { address: ip6(v, 0), prefix_len: v[16], preferred_left: be32(v, 18), valid_left: be32(v, 22) })
}

impl Tlvs {
    /// Decodes a TLV area. `area` is exactly the TLV bytes of the message.
    pub fn parse(area: &[u8]) -> Result<Tlvs, Error> {
        let mut out = Tlvs::default();
        let mut rest = area;
        while !rest.is_empty() {
            let (t, len) = match rest {
                [t, len, ..] => (*t, usize::from(*len)),
                [t] => return Err(Error::BadTlv(*t)),
                [] => break,
            };
            let v = rest.get(2..2 + len).ok_or(Error::BadTlv(t))?;
            rest = &rest[2 + len..];
            match t {
                kind::IPV4_LEASE => {
                    if v.len() < LEASE4_FIXED || (v.len() - LEASE4_FIXED) % 4 != 0 || v[4] > 32 {
                        return Err(Error::BadTlv(t));
                    }
                    let lease = Lease4 {
                        address: ip4(v, 0),
                        prefix_len: v[4],
                        gateway: ip4(v, 6),
                        server_id: ip4(v, 10),
                        lease_time: be32(v, 14),
                        valid_left: be32(v, 18),
                        renew_left: be32(v, 22),
                        rebind_left: be32(v, 26),
                        dns: v[LEASE4_FIXED..].chunks_exact(4).map(|c| ip4(c, 0)).collect(),
                    };
                    set_once(&mut out.lease4, lease, t)?;
                }
                kind::CLIENT_ID => {
                    if v.is_empty() {
                        return Err(Error::BadTlv(t));
                    }
                    set_once(&mut out.client_id, v.to_vec(), t)?;
                }
                kind::IPV6_ADDRESS => out.lease6.addresses.push(parse_ia6(v, t)?),
                kind::IPV6_PREFIX => out.lease6.prefixes.push(parse_ia6(v, t)?),
                kind::IPV6_DNS => {
                    if v.is_empty() || v.len() % 16 != 0 || !out.lease6.dns.is_empty() {
                        return Err(if out.lease6.dns.is_empty() { Error::BadTlv(t) } else { Error::DuplicateTlv(t) });
                    }
                    out.lease6.dns = v.chunks_exact(16).map(|c| ip6(c, 0)).collect();
                }
                kind::IPV6_GATEWAY => {
                    if v.len() != 16 {
                        return Err(Error::BadTlv(t));
                    }
                    set_once(&mut out.lease6.gateway, ip6(v, 0), t)?;
                }
                kind::DHCPV6_DUID => {
                    if v.len() < 5 {
                        return Err(Error::BadTlv(t));
                    }
                    set_once(&mut out.lease6.duid, (be32(v, 0), v[4..].to_vec()), t)?;
                }
                kind::TRACKERS => {
                    // Flag bits other than "fatal" are ignored: room to grow.
                    if v.len() != TRACKERS_LEN {
                        return Err(Error::BadTlv(t));
                    }
                    let s = TrackerSummary {
                        total: v[0],
                        up: v[1],
                        down: v[2],
                        unknown: v[3],
                        penalty: v[4],
                        fatal: v[5] & 1 == 1,
                        hold_left: be16(v, 6),
                    };
                    set_once(&mut out.trackers, s, t)?;
                }
                kind::HANDOVER => {
                    if v.len() != HANDOVER_LEN {
                        return Err(Error::BadTlv(t));
                    }
                    let reason = HandoverReason::from_u8(v[8]).ok_or(Error::BadTlv(t))?;
                    let h = Handover { target: be32(v, 0), id: be32(v, 4), reason };
                    set_once(&mut out.handover, h, t)?;
                }
                // Unknown TLVs are skipped: that is how the protocol grows.
                _ => {}
            }
        }
        Ok(out)
    }

    /// Appends the encoded TLVs to `out`, in type order. Fails when a
    /// value does not fit its 255-byte length field or is one `parse`
    /// refuses (empty client id or DUID, prefix length out of range); `out`
    /// may then hold part of the TLVs.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        fn put(out: &mut Vec<u8>, t: u8, value: &[u8]) -> Result<(), Error> {
            let len = u8::try_from(value.len()).map_err(|_| Error::BadTlv(t))?;
            out.push(t);
            out.push(len);
            out.extend_from_slice(value);
            Ok(())
        }
        fn ia6(i: &Ia6) -> Vec<u8> {
            let mut v = Vec::with_capacity(IA6_LEN);
            v.extend_from_slice(&i.address.octets());
            v.push(i.prefix_len);
            v.push(0);
            v.extend_from_slice(&i.preferred_left.to_be_bytes());
            v.extend_from_slice(&i.valid_left.to_be_bytes());
            v
        }
        if let Some(l) = &self.lease4 {
            if l.prefix_len > 32 {
                return Err(Error::BadTlv(kind::IPV4_LEASE));
            }
            let mut v = Vec::with_capacity(LEASE4_FIXED + 4 * l.dns.len());
            v.extend_from_slice(&l.address.octets());
            v.push(l.prefix_len);
            v.push(0);
            v.extend_from_slice(&l.gateway.octets());
            v.extend_from_slice(&l.server_id.octets());
            for x in [l.lease_time, l.valid_left, l.renew_left, l.rebind_left] {
                v.extend_from_slice(&x.to_be_bytes());
            }
            for d in &l.dns {
                v.extend_from_slice(&d.octets());
            }
            put(out, kind::IPV4_LEASE, &v)?;
        }
        if let Some(c) = &self.client_id {
            if c.is_empty() {
                return Err(Error::BadTlv(kind::CLIENT_ID));
            }
            put(out, kind::CLIENT_ID, c)?;
        }
        for (t, list) in [(kind::IPV6_ADDRESS, &self.lease6.addresses), (kind::IPV6_PREFIX, &self.lease6.prefixes)] {
            for i in list {
                if i.prefix_len > 128 {
                    return Err(Error::BadTlv(t));
                }
                put(out, t, &ia6(i))?;
            }
        }
        if !self.lease6.dns.is_empty() {
            let v: Vec<u8> = self.lease6.dns.iter().flat_map(|d| d.octets()).collect();
            put(out, kind::IPV6_DNS, &v)?;
        }
        if let Some(g) = &self.lease6.gateway {
            put(out, kind::IPV6_GATEWAY, &g.octets())?;
        }
        if let Some((iaid, duid)) = &self.lease6.duid {
            if duid.is_empty() {
                return Err(Error::BadTlv(kind::DHCPV6_DUID));
            }
            let mut v = iaid.to_be_bytes().to_vec();
            v.extend_from_slice(duid);
            put(out, kind::DHCPV6_DUID, &v)?;
        }
        if let Some(s) = &self.trackers {
            let mut v = vec![s.total, s.up, s.down, s.unknown, s.penalty, u8::from(s.fatal)];
            v.extend_from_slice(&s.hold_left.to_be_bytes());
            put(out, kind::TRACKERS, &v)?;
        }
        if let Some(h) = &self.handover {
            let mut v = h.target.to_be_bytes().to_vec();
            v.extend_from_slice(&h.id.to_be_bytes());
            v.push(h.reason as u8);
            put(out, kind::HANDOVER, &v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_tlv_is_skipped() {
        let area = [200, 3, 1, 2, 3, kind::CLIENT_ID, 2, 0xab, 0xcd];
        let t = Tlvs::parse(&area).unwrap();
        assert_eq!(t.client_id, Some(vec![0xab, 0xcd]));
    }

    #[test]
    fn truncated_tlv_is_an_error() {
        assert_eq!(Tlvs::parse(&[kind::CLIENT_ID, 5, 1, 2]), Err(Error::BadTlv(kind::CLIENT_ID)));
        assert_eq!(Tlvs::parse(&[77]), Err(Error::BadTlv(77)));
    }

    #[test]
    fn duplicate_single_tlv_is_an_error() {
        let area = [kind::CLIENT_ID, 1, 1, kind::CLIENT_ID, 1, 2];
        assert_eq!(Tlvs::parse(&area), Err(Error::DuplicateTlv(kind::CLIENT_ID)));
    }

    #[test]
    fn wrong_sizes_are_errors() {
        assert_eq!(Tlvs::parse(&[kind::HANDOVER, 1, 0]), Err(Error::BadTlv(kind::HANDOVER)));
        let mut h = vec![kind::HANDOVER, 9, 0, 0, 0, 1, 0, 0, 0, 1, 9];
        assert_eq!(Tlvs::parse(&h), Err(Error::BadTlv(kind::HANDOVER)));
        h[10] = 1;
        assert!(Tlvs::parse(&h).is_ok());
        assert_eq!(Tlvs::parse(&[kind::IPV4_LEASE, 31]).unwrap_err(), Error::BadTlv(kind::IPV4_LEASE));
    }

    #[test]
    fn oversized_client_id_refused_on_emit() {
        let t = Tlvs { client_id: Some(vec![0; 256]), ..Default::default() };
        assert_eq!(t.emit(&mut Vec::new()), Err(Error::BadTlv(kind::CLIENT_ID)));
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
            (Tlvs { client_id: Some(vec![]), ..Default::default() }, kind::CLIENT_ID),
            (Tlvs { lease4: Some(lease4), ..Default::default() }, kind::IPV4_LEASE),
            (
                Tlvs { lease6: Lease6 { addresses: vec![ia], ..Default::default() }, ..Default::default() },
                kind::IPV6_ADDRESS,
            ),
            (
                Tlvs { lease6: Lease6 { prefixes: vec![ia], ..Default::default() }, ..Default::default() },
                kind::IPV6_PREFIX,
            ),
            (
                Tlvs { lease6: Lease6 { duid: Some((1, vec![])), ..Default::default() }, ..Default::default() },
                kind::DHCPV6_DUID,
            ),
        ];
        for (t, k) in cases {
            assert_eq!(t.emit(&mut Vec::new()), Err(Error::BadTlv(k)));
        }
    }
}
