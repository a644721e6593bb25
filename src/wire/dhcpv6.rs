//! DHCPv6 (RFC 8415): the messages of the one client a group is on the
//! WAN. `system::dhcp6::Client6` sends them and reads the answers: SOLICIT
//! and REQUEST only while no binding is known, RENEW and REBIND to confirm
//! a binding taken over (§18.2.4, §18.2.5); never RELEASE or DECLINE, so
//! neither is built here.
//!
//! Every message asks for one IA_NA and one IA_PD with the same IAID (the
//! two option types number their IAs apart, §21.4 and §21.21).

use std::net::Ipv6Addr;

use super::{Ia6, Lease6, Server6};

pub const CLIENT_PORT: u16 = 546;
pub const SERVER_PORT: u16 = 547;
/// All_DHCP_Relay_Agents_and_Servers: where a client sends (§7.1).
pub const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

pub mod msg {
    pub const SOLICIT: u8 = 1;
    pub const ADVERTISE: u8 = 2;
    pub const REQUEST: u8 = 3;
    pub const RENEW: u8 = 5;
    pub const REBIND: u8 = 6;
    pub const REPLY: u8 = 7;
}

pub mod opt {
    pub const CLIENT_ID: u16 = 1;
    pub const SERVER_ID: u16 = 2;
    pub const IA_NA: u16 = 3;
    pub const IA_ADDR: u16 = 5;
    pub const ORO: u16 = 6;
    pub const PREFERENCE: u16 = 7;
    pub const ELAPSED_TIME: u16 = 8;
    pub const STATUS_CODE: u16 = 13;
    pub const DNS_SERVERS: u16 = 23;
    pub const IA_PD: u16 = 25;
    pub const IA_PREFIX: u16 = 26;
    pub const SOL_MAX_RT: u16 = 82;
}

/// Status codes (§21.13) the client acts on.
pub mod status {
    pub const SUCCESS: u16 = 0;
    pub const NO_BINDING: u16 = 3;
}

/// Options a client asks for in every message: DNS servers, and
/// SOL_MAX_RT, which §21.24 requires a SOLICIT to ask for.
const REQUESTED: [u16; 2] = [opt::DNS_SERVERS, opt::SOL_MAX_RT];

/// The IA fields, after the option header (§21.4, §21.21).
mod ia {
    use core::ops::Range;
    pub const IAID: Range<usize> = 0..4;
    pub const T1: Range<usize> = 4..8;
    pub const T2: Range<usize> = 8..12;
    pub const OPTIONS: usize = 12;
}

/// An IA Address option's value (§21.6).
mod ia_addr {
    use core::ops::Range;
    pub const ADDRESS: Range<usize> = 0..16;
    pub const PREFERRED: Range<usize> = 16..20;
    pub const VALID: Range<usize> = 20..24;
    pub const OPTIONS: usize = 24;
}

/// An IA Prefix option's value (§21.22).
mod ia_prefix {
    use core::ops::Range;
    pub const PREFERRED: Range<usize> = 0..4;
    pub const VALID: Range<usize> = 4..8;
    pub const PREFIX_LEN: usize = 8;
    pub const PREFIX: Range<usize> = 9..25;
    pub const OPTIONS: usize = 25;
}

/// The message header: type, then a 24-bit transaction id (§8).
const HEADER_LEN: usize = 4;
const OPTION_HEADER_LEN: usize = 4;

/// What a client message says. The addresses and prefixes are hints
/// (SOLICIT) or the binding being confirmed; their lifetimes are sent as
/// 0 (§21.6, §21.22).
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub kind: u8,
    /// Only the low 24 bits are sent.
    pub xid: u32,
    pub client: &'a [u8],
    /// REQUEST and RENEW name the server (§18.2.2, §18.2.4).
    pub server: Option<&'a [u8]>,
    pub iaid: u32,
    pub addresses: &'a [Ia6],
    pub prefixes: &'a [Ia6],
}

fn option(out: &mut Vec<u8>, code: u16, value: impl FnOnce(&mut Vec<u8>)) -> Option<()> {
    let start = out.len();
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    value(out);
    let len = u16::try_from(out.len() - start - OPTION_HEADER_LEN).ok()?;
    out[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
    Some(())
}

fn ia_header(out: &mut Vec<u8>, iaid: u32) {
    out.extend_from_slice(&iaid.to_be_bytes());
    // T1 and T2 0: the server chooses (§18.2).
    out.extend_from_slice(&[0; 8]);
}

impl Request<'_> {
    /// The whole UDP payload. `None` when a DUID does not fit an option
    /// (§11.1: at most 130 bytes).
    pub fn build(&self) -> Option<Vec<u8>> {
        if self.client.is_empty() || self.client.len() > 130 || self.server.is_some_and(|s| s.len() > 130) {
            return None;
        }
        let mut b = vec![self.kind];
        b.extend_from_slice(&self.xid.to_be_bytes()[1..]);
        option(&mut b, opt::CLIENT_ID, |b| b.extend_from_slice(self.client))?;
        if let Some(s) = self.server {
            option(&mut b, opt::SERVER_ID, |b| b.extend_from_slice(s))?;
        }
        // The first transmission: elapsed time 0 (§21.9).
        option(&mut b, opt::ELAPSED_TIME, |b| b.extend_from_slice(&[0, 0]))?;
        option(&mut b, opt::ORO, |b| REQUESTED.iter().for_each(|o| b.extend_from_slice(&o.to_be_bytes())))?;
        option(&mut b, opt::IA_NA, |b| {
            ia_header(b, self.iaid);
            for a in self.addresses {
                let _ = option(b, opt::IA_ADDR, |b| {
                    b.extend_from_slice(&a.address.octets());
                    b.extend_from_slice(&[0; 8]);
                });
            }
        })?;
        option(&mut b, opt::IA_PD, |b| {
            ia_header(b, self.iaid);
            for p in self.prefixes {
                let _ = option(b, opt::IA_PREFIX, |b| {
                    b.extend_from_slice(&[0; 8]);
                    b.push(p.prefix_len);
                    b.extend_from_slice(&p.address.octets());
                });
            }
        })?;
        Some(b)
    }
}

/// Why a datagram is not a DHCPv6 message we can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Shorter than its header, or an option runs past its container.
    Truncated,
    /// A known option whose value has the wrong size.
    BadOption(u16),
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ParseError::Truncated => f.write_str("truncated DHCPv6 message"),
            ParseError::BadOption(o) => write!(f, "malformed DHCPv6 option {o}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Walks the options in `b`: (code, value) in order.
fn options(mut b: &[u8]) -> Result<Vec<(u16, &[u8])>, ParseError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let h = b.get(..OPTION_HEADER_LEN).ok_or(ParseError::Truncated)?;
        let code = u16::from_be_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let end = OPTION_HEADER_LEN.checked_add(len).ok_or(ParseError::Truncated)?;
        out.push((code, b.get(OPTION_HEADER_LEN..end).ok_or(ParseError::Truncated)?));
        b = &b[end..];
    }
    Ok(out)
}

fn u32_at(v: &[u8], r: core::ops::Range<usize>) -> u32 {
    v.get(r).and_then(|s| <[u8; 4]>::try_from(s).ok()).map_or(0, u32::from_be_bytes)
}

fn ip6_at(v: &[u8], r: core::ops::Range<usize>) -> Ipv6Addr {
    v.get(r).and_then(|s| <[u8; 16]>::try_from(s).ok()).map_or(Ipv6Addr::UNSPECIFIED, Ipv6Addr::from)
}

/// The status code in a list of options; none means success (§21.13).
fn status_of(opts: &[(u16, &[u8])]) -> Result<u16, ParseError> {
    match opts.iter().find(|(c, _)| *c == opt::STATUS_CODE) {
        None => Ok(status::SUCCESS),
        Some((_, v)) if v.len() >= 2 => Ok(u16::from_be_bytes([v[0], v[1]])),
        Some(_) => Err(ParseError::BadOption(opt::STATUS_CODE)),
    }
}

/// One IA_NA or IA_PD of a server's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ia {
    pub iaid: u32,
    pub t1: u32,
    pub t2: u32,
    /// The IA's status code (Success when absent).
    pub status: u16,
    /// Addresses (length 128) or prefixes with a valid lifetime; the ones
    /// the server withdraws (valid 0) are left out.
    pub entries: Vec<Ia6>,
}

impl Ia {
    fn parse(v: &[u8], code: u16) -> Result<Ia, ParseError> {
        let sub = options(v.get(ia::OPTIONS..).ok_or(ParseError::BadOption(code))?)?;
        let mut entries = Vec::new();
        for (c, e) in &sub {
            let entry = match (code, *c) {
                (opt::IA_NA, opt::IA_ADDR) => {
                    let nested = options(e.get(ia_addr::OPTIONS..).ok_or(ParseError::BadOption(*c))?)?;
                    Ia6 {
                        address: ip6_at(e, ia_addr::ADDRESS),
                        prefix_len: 128,
                        preferred_left: u32_at(e, ia_addr::PREFERRED),
                        valid_left: u32_at(e, ia_addr::VALID),
                    }
                    .with_status(status_of(&nested)?)
                }
                (opt::IA_PD, opt::IA_PREFIX) => {
                    let nested = options(e.get(ia_prefix::OPTIONS..).ok_or(ParseError::BadOption(*c))?)?;
                    let len = e[ia_prefix::PREFIX_LEN];
                    if len > 128 {
                        return Err(ParseError::BadOption(*c));
                    }
                    Ia6 {
                        address: ip6_at(e, ia_prefix::PREFIX),
                        prefix_len: len,
                        preferred_left: u32_at(e, ia_prefix::PREFERRED),
                        valid_left: u32_at(e, ia_prefix::VALID),
                    }
                    .with_status(status_of(&nested)?)
                }
                _ => None,
            };
            // §18.2.10.1: a preferred lifetime above the valid one: ignored.
            entries.extend(entry.filter(|e| e.valid_left > 0 && e.preferred_left <= e.valid_left));
        }
        Ok(Ia {
            iaid: u32_at(v, ia::IAID),
            t1: u32_at(v, ia::T1),
            t2: u32_at(v, ia::T2),
            status: status_of(&sub)?,
            entries,
        })
    }
}

impl Ia6 {
    /// Itself, unless its own status code says it failed.
    fn with_status(self, status: u16) -> Option<Ia6> {
        (status == status::SUCCESS).then_some(self)
    }
}

/// The parts of a server's message (ADVERTISE, REPLY) a client looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub kind: u8,
    pub xid: u32,
    pub client: Option<Vec<u8>>,
    pub server: Option<Vec<u8>>,
    /// The message's own status code (Success when absent).
    pub status: u16,
    pub preference: u8,
    pub dns: Vec<Ipv6Addr>,
    pub ia_na: Option<Ia>,
    pub ia_pd: Option<Ia>,
}

/// How a REPLY answers the binding a client asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The addresses and prefixes granted, times counted from now.
    Bound(Lease6),
    /// The server knows no binding for us (NoBinding, or nothing left):
    /// the client must solicit.
    Lost,
    /// Not an answer to act on (an error status): keep waiting.
    Ignore,
}

impl Reply {
    pub fn parse(b: &[u8]) -> Result<Reply, ParseError> {
        let h = b.get(..HEADER_LEN).ok_or(ParseError::Truncated)?;
        let opts = options(&b[HEADER_LEN..])?;
        let mut r = Reply {
            kind: h[0],
            xid: u32::from_be_bytes([0, h[1], h[2], h[3]]),
            client: None,
            server: None,
            status: status_of(&opts)?,
            preference: 0,
            dns: Vec::new(),
            ia_na: None,
            ia_pd: None,
        };
        for (code, v) in opts {
            match code {
                opt::CLIENT_ID => r.client = Some(v.to_vec()),
                opt::SERVER_ID => r.server = Some(v.to_vec()),
                opt::PREFERENCE => r.preference = *v.first().ok_or(ParseError::BadOption(code))?,
                opt::DNS_SERVERS if v.len() % 16 == 0 => {
                    r.dns = v.chunks_exact(16).map(|c| ip6_at(c, 0..16)).collect();
                }
                opt::DNS_SERVERS => return Err(ParseError::BadOption(code)),
                // The first IA of each type: we ask for one.
                opt::IA_NA if r.ia_na.is_none() => r.ia_na = Some(Ia::parse(v, code)?),
                opt::IA_PD if r.ia_pd.is_none() => r.ia_pd = Some(Ia::parse(v, code)?),
                _ => {}
            }
        }
        Ok(r)
    }

    /// What this REPLY means for the binding of IAID `iaid`.
    pub fn answer(&self, iaid: u32) -> Answer {
        if self.status != status::SUCCESS {
            return Answer::Ignore;
        }
        let ours = |ia: &Option<Ia>| ia.as_ref().filter(|ia| ia.iaid == iaid).cloned();
        let (na, pd) = (ours(&self.ia_na), ours(&self.ia_pd));
        if [&na, &pd].iter().any(|ia| ia.as_ref().is_some_and(|ia| ia.status == status::NO_BINDING)) {
            return Answer::Lost;
        }
        let entries = |ia: &Option<Ia>| ia.as_ref().map(|ia| ia.entries.clone()).unwrap_or_default();
        let (addresses, prefixes) = (entries(&na), entries(&pd));
        let Some(min_preferred) = addresses.iter().chain(&prefixes).map(|e| e.preferred_left).min() else {
            return Answer::Lost;
        };
        // §14.2: T1 and T2 of 0 leave the times to the client: 0.5 and
        // 0.8 of the shortest preferred lifetime. Several IAs: the earliest.
        let t = |pick: fn(&Ia) -> u32, share: u32| {
            [&na, &pd]
                .iter()
                .filter_map(|ia| ia.as_ref().filter(|ia| !ia.entries.is_empty()).map(pick))
                .filter(|t| *t > 0)
                .min()
                .unwrap_or(u32::try_from(u64::from(min_preferred) * u64::from(share) / 10).unwrap_or(u32::MAX))
        };
        let renew_left = t(|ia| ia.t1, 5);
        let rebind_left = t(|ia| ia.t2, 8).max(renew_left);
        Answer::Bound(Lease6 {
            addresses,
            prefixes,
            dns: self.dns.clone(),
            gateway: None,
            duid: None,
            server: self.server.clone().map(|duid| Server6 { duid, renew_left, rebind_left }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// DUID-LL (type 3, hardware type 1) of the bed's shared MAC.
    const CLIENT: [u8; 10] = [0, 3, 0, 1, 0x02, 0x76, 0x77, 0x72, 0x70, 0x01];
    const SERVER: [u8; 10] = [0, 3, 0, 1, 0x02, 0, 0, 0, 0, 0x01];

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn binding() -> (Vec<Ia6>, Vec<Ia6>) {
        (
            vec![Ia6 { address: a("2001:db8:0:1::10"), prefix_len: 128, preferred_left: 3000, valid_left: 4000 }],
            vec![Ia6 { address: a("2001:db8:100::"), prefix_len: 56, preferred_left: 3000, valid_left: 4000 }],
        )
    }

    #[test]
    fn solicit_bytes() {
        let r = Request {
            kind: msg::SOLICIT,
            xid: 0xff12_3456,
            client: &CLIENT,
            server: None,
            iaid: 1,
            addresses: &[],
            prefixes: &[],
        };
        #[rustfmt::skip]
        let want = [
            1, 0x12, 0x34, 0x56,
            0, 1, 0, 10, 0, 3, 0, 1, 0x02, 0x76, 0x77, 0x72, 0x70, 0x01,
            0, 8, 0, 2, 0, 0,
            0, 6, 0, 4, 0, 23, 0, 82,
            0, 3, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 25, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(r.build().unwrap(), want);
    }

    #[test]
    fn renew_names_the_server_and_the_binding_with_lifetimes_zero() {
        let (na, pd) = binding();
        let r = Request {
            kind: msg::RENEW,
            xid: 7,
            client: &CLIENT,
            server: Some(&SERVER),
            iaid: 1,
            addresses: &na,
            prefixes: &pd,
        };
        #[rustfmt::skip]
        let want = [
            5, 0, 0, 7,
            0, 1, 0, 10, 0, 3, 0, 1, 0x02, 0x76, 0x77, 0x72, 0x70, 0x01,
            0, 2, 0, 10, 0, 3, 0, 1, 0x02, 0, 0, 0, 0, 0x01,
            0, 8, 0, 2, 0, 0,
            0, 6, 0, 4, 0, 23, 0, 82,
            0, 3, 0, 40, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
              0, 5, 0, 24, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x10,
                0, 0, 0, 0, 0, 0, 0, 0,
            0, 25, 0, 41, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
              0, 26, 0, 25, 0, 0, 0, 0, 0, 0, 0, 0, 56,
                0x20, 0x01, 0x0d, 0xb8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(r.build().unwrap(), want);
        let rebind = Request { kind: msg::REBIND, server: None, ..r }.build().unwrap();
        assert_eq!(rebind[0], msg::REBIND);
        assert_eq!(rebind.len(), want.len() - 14, "no server id");
        assert!(Request { client: &[], ..r }.build().is_none());
        assert!(Request { client: &[1; 131], ..r }.build().is_none());
    }

    /// A REPLY as Kea 2.2 sends it: server id, client id, IA_NA with one
    /// address, IA_PD with one prefix, DNS.
    fn reply_bytes(t1: u32, t2: u32) -> Vec<u8> {
        let mut b = vec![7, 0x12, 0x34, 0x56];
        b.extend_from_slice(&[0, 2, 0, 10]);
        b.extend_from_slice(&SERVER);
        b.extend_from_slice(&[0, 1, 0, 10]);
        b.extend_from_slice(&CLIENT);
        b.extend_from_slice(&[0, 3, 0, 40, 0, 0, 0, 1]);
        b.extend_from_slice(&t1.to_be_bytes());
        b.extend_from_slice(&t2.to_be_bytes());
        b.extend_from_slice(&[0, 5, 0, 24]);
        b.extend_from_slice(&a("2001:db8:0:1::10").octets());
        b.extend_from_slice(&3000u32.to_be_bytes());
        b.extend_from_slice(&4000u32.to_be_bytes());
        b.extend_from_slice(&[0, 25, 0, 41, 0, 0, 0, 1]);
        b.extend_from_slice(&t1.to_be_bytes());
        b.extend_from_slice(&t2.to_be_bytes());
        b.extend_from_slice(&[0, 26, 0, 25]);
        b.extend_from_slice(&3000u32.to_be_bytes());
        b.extend_from_slice(&4000u32.to_be_bytes());
        b.push(56);
        b.extend_from_slice(&a("2001:db8:100::").octets());
        b.extend_from_slice(&[0, 23, 0, 16]);
        b.extend_from_slice(&a("2001:db8:ffff::53").octets());
        b
    }

    #[test]
    fn reply_parsed_into_a_binding() {
        let r = Reply::parse(&reply_bytes(1000, 2000)).unwrap();
        assert_eq!((r.kind, r.xid, r.status), (msg::REPLY, 0x12_3456, status::SUCCESS));
        assert_eq!((r.client.as_deref(), r.server.as_deref()), (Some(&CLIENT[..]), Some(&SERVER[..])));
        let (na, pd) = binding();
        let want = Lease6 {
            addresses: na,
            prefixes: pd,
            dns: vec![a("2001:db8:ffff::53")],
            gateway: None,
            duid: None,
            server: Some(Server6 { duid: SERVER.to_vec(), renew_left: 1000, rebind_left: 2000 }),
        };
        assert_eq!(r.answer(1), Answer::Bound(want));
        // Another IAID's binding is none of ours.
        assert_eq!(r.answer(2), Answer::Lost);
    }

    #[test]
    fn zero_timers_are_the_clients_to_choose() {
        let r = Reply::parse(&reply_bytes(0, 0)).unwrap();
        let Answer::Bound(l) = r.answer(1) else { panic!() };
        let s = l.server.unwrap();
        assert_eq!((s.renew_left, s.rebind_left), (1500, 2400));
    }

    #[test]
    fn status_codes() {
        // NoBinding in the IA_NA (RENEW for a binding the server lost).
        let mut b = vec![7, 0, 0, 1, 0, 3, 0, 18, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&[0, 13, 0, 2, 0, 3]);
        assert_eq!(Reply::parse(&b).unwrap().answer(1), Answer::Lost);
        // A message-level error: not an answer.
        let b = [7, 0, 0, 1, 0, 13, 0, 4, 0, 1, b'n', b'o'];
        assert_eq!(Reply::parse(&b).unwrap().answer(1), Answer::Ignore);
        // An address whose own status failed, or whose valid lifetime is
        // 0 (withdrawn), or preferred above valid, is not granted.
        let mut b = vec![7, 0, 0, 1, 0, 3, 0, 40, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 24];
        b.extend_from_slice(&a("2001:db8::1").octets());
        b.extend_from_slice(&[0, 0, 0, 5, 0, 0, 0, 0]);
        assert_eq!(Reply::parse(&b).unwrap().answer(1), Answer::Lost);
        let n = b.len();
        b[n - 1] = 4;
        assert_eq!(Reply::parse(&b).unwrap().answer(1), Answer::Lost, "preferred 5 above valid 4");
    }

    #[test]
    fn malformed_messages_refused() {
        let good = reply_bytes(1, 2);
        assert_eq!(Reply::parse(&good[..3]), Err(ParseError::Truncated));
        assert_eq!(Reply::parse(&good[..good.len() - 1]), Err(ParseError::Truncated));
        let mut bad_dns = good.clone();
        let n = bad_dns.len();
        bad_dns[n - 17] = 15;
        bad_dns.pop();
        assert_eq!(Reply::parse(&bad_dns), Err(ParseError::BadOption(opt::DNS_SERVERS)));
        let short_ia = [7, 0, 0, 1, 0, 3, 0, 4, 0, 0, 0, 1];
        assert_eq!(Reply::parse(&short_ia), Err(ParseError::BadOption(opt::IA_NA)));
        let mut long_prefix = good.clone();
        let at = long_prefix.iter().position(|&x| x == 56).unwrap();
        long_prefix[at] = 129;
        assert_eq!(Reply::parse(&long_prefix), Err(ParseError::BadOption(opt::IA_PREFIX)));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(r) = Reply::parse(&bytes) {
                let _ = r.answer(1);
            }
        }

        #[test]
        fn requests_parse_back(xid in any::<u32>(), iaid in any::<u32>(), kind in 1u8..8,
                               client in proptest::collection::vec(any::<u8>(), 1..131)) {
            let (na, pd) = binding();
            let b = Request { kind, xid, client: &client, server: None, iaid, addresses: &na, prefixes: &pd }
                .build()
                .unwrap();
            let r = Reply::parse(&b).unwrap();
            prop_assert_eq!((r.kind, r.xid, r.client.as_deref()), (kind, xid & 0xff_ffff, Some(&client[..])));
            let (n, p) = (r.ia_na.unwrap(), r.ia_pd.unwrap());
            prop_assert_eq!((n.iaid, p.iaid, n.entries.len(), p.entries.len()), (iaid, iaid, 0, 0));
        }
    }
}
