//! ICMP and ICMPv6 echo for ping trackers: the messages (pure, checked
//! parsing) and a raw socket per address family.
//!
//! Raw sockets, not "ping sockets": those need `net.ipv4.ping_group_range`,
//! which is closed to everyone, root included, by default. A raw socket
//! sees every echo reply that reaches the host, so replies are matched by
//! identifier, sequence number and source.

use std::ffi::OsString;
use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::libc;
use nix::sys::socket::{
    self, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn, SockaddrIn6, SockaddrStorage, sockopt,
};

const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
/// Type, code, checksum, identifier, sequence number.
const HEADER_LEN: usize = 8;
/// Names the sender to anyone capturing the WAN.
const PAYLOAD: &[u8; 16] = b"vwrp tracker\0\0\0\0";
const IPV4_MIN_HEADER: usize = 20;
const PROTO_ICMP: u8 = 1;

/// One echo request or reply: who asked (identifier) and which request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Echo {
    pub ident: u16,
    pub seq: u16,
}

/// The Internet checksum (RFC 1071): ones' complement of the ones'
/// complement sum of 16-bit words, an odd last byte padded with zero.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        let word = u32::from(u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]));
        sum += word;
        // End-around carry at every step: the sum never leaves 17 bits.
        if sum > 0xffff {
            sum = (sum & 0xffff) + 1;
        }
    }
    !(sum as u16)
}

impl Echo {
    /// An echo request. ICMPv6's checksum covers a pseudo-header with
    /// addresses only the kernel knows: raw ICMPv6 sockets fill it in.
    pub fn request(&self, v6: bool) -> Vec<u8> {
        let mut m = vec![0u8; HEADER_LEN + PAYLOAD.len()];
        m[0] = if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 };
        m[4..6].copy_from_slice(&self.ident.to_be_bytes());
        m[6..8].copy_from_slice(&self.seq.to_be_bytes());
        m[HEADER_LEN..].copy_from_slice(PAYLOAD);
        if !v6 {
            let c = checksum(&m);
            m[2..4].copy_from_slice(&c.to_be_bytes());
        }
        m
    }

    /// An ICMP message that is an echo reply of the given type.
    fn parse_reply(m: &[u8], reply_type: u8) -> Option<Echo> {
        let h = m.get(..HEADER_LEN)?;
        (h[0] == reply_type && h[1] == 0)
            .then(|| Echo { ident: u16::from_be_bytes([h[4], h[5]]), seq: u16::from_be_bytes([h[6], h[7]]) })
    }

    /// What a raw IPv4 socket reads: the IP header, then ICMP. The
    /// source and the echo reply, if that is what it is, with a valid
    /// checksum and not a fragment.
    pub fn parse_reply_v4(packet: &[u8]) -> Option<(Ipv4Addr, Echo)> {
        let ip = packet.get(..IPV4_MIN_HEADER)?;
        let header_len = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let fragmented = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0;
        if ip[0] >> 4 != 4 || header_len < IPV4_MIN_HEADER || ip[9] != PROTO_ICMP || fragmented {
            return None;
        }
        let icmp = packet.get(header_len..total)?;
        if checksum(icmp) != 0 {
            return None;
        }
        let source = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        Some((source, Self::parse_reply(icmp, ECHO_REPLY_V4)?))
    }

    /// What a raw ICMPv6 socket reads: the ICMPv6 message alone (the
    /// kernel has checked its checksum).
    pub fn parse_reply_v6(message: &[u8]) -> Option<Echo> {
        Self::parse_reply(message, ECHO_REPLY_V6)
    }
}

/// A non-blocking raw ICMP (or ICMPv6) socket that passes only echo
/// replies up, optionally bound to one device.
#[derive(Debug)]
pub struct EchoSocket {
    fd: OwnedFd,
    v6: bool,
    /// For link-local IPv6 targets: the scope of the bound device.
    scope: u32,
}

/// `ICMP_FILTER` (linux/icmp.h) and `ICMP6_FILTER` (netinet/icmp6.h);
/// the libc crate does not name them.
const ICMP_FILTER: libc::c_int = 1;
const ICMP6_FILTER: libc::c_int = 1;

fn set_raw<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` is a valid, initialised T of the size passed.
    let r = unsafe {
        libc::setsockopt(fd, level, name, (value as *const T).cast(), mem::size_of::<T>() as libc::socklen_t)
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

impl EchoSocket {
    /// `device`: send and receive through that device only (the WAN),
    /// whatever the routing table says; `scope` is its interface index.
    pub fn open(v6: bool, device: Option<(&str, u32)>) -> io::Result<EchoSocket> {
        let (family, proto) =
            if v6 { (AddressFamily::Inet6, SockProtocol::IcmpV6) } else { (AddressFamily::Inet, SockProtocol::Icmp) };
        let fd = socket::socket(family, SockType::Raw, SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC, proto)?;
        if let Some((name, _)) = device {
            socket::setsockopt(&fd, sockopt::BindToDevice, &OsString::from(name))?;
        }
        // Only echo replies wake the loop: a busy WAN carries much ICMP.
        // Without the filter replies are still matched, so failure is harmless.
        let filtered = if v6 {
            // Linux: a set bit blocks that type.
            let mut block = [u32::MAX; 8];
            block[usize::from(ECHO_REPLY_V6 >> 5)] &= !(1u32 << (ECHO_REPLY_V6 & 31));
            set_raw(fd.as_raw_fd(), libc::IPPROTO_ICMPV6, ICMP6_FILTER, &block)
        } else {
            set_raw(fd.as_raw_fd(), libc::SOL_RAW, ICMP_FILTER, &!(1u32 << ECHO_REPLY_V4))
        };
        if let Err(e) = filtered {
            log::debug!("ICMP filter: {e}");
        }
        Ok(EchoSocket { fd, v6, scope: device.map_or(0, |(_, i)| i) })
    }

    /// Sends one echo request to `to`, which must be of this socket's family.
    pub fn send(&self, to: IpAddr, echo: Echo) -> io::Result<()> {
        let m = echo.request(self.v6);
        let sent = match to {
            IpAddr::V4(a) if !self.v6 => {
                socket::sendto(self.fd.as_raw_fd(), &m, &SockaddrIn::from(SocketAddrV4::new(a, 0)), MsgFlags::empty())
            }
            IpAddr::V6(a) if self.v6 => {
                let link_local = a.segments()[0] & 0xffc0 == 0xfe80;
                let scope = if link_local { self.scope } else { 0 };
                let sa = SockaddrIn6::from(SocketAddrV6::new(a, 0, 0, scope));
                socket::sendto(self.fd.as_raw_fd(), &m, &sa, MsgFlags::empty())
            }
            _ => return Err(io::Error::new(io::ErrorKind::InvalidInput, "address family mismatch")),
        };
        match sent {
            Ok(n) if n == m.len() => Ok(()),
            Ok(_) => Err(io::Error::new(io::ErrorKind::WriteZero, "short ICMP write")),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads every waiting packet; calls `f` with each echo reply's
    /// source and contents. Anything else is dropped.
    pub fn drain(&self, mut f: impl FnMut(IpAddr, Echo)) -> io::Result<()> {
        let mut buf = [0u8; 1500];
        loop {
            match socket::recvfrom::<SockaddrStorage>(self.fd.as_raw_fd(), &mut buf) {
                Ok((n, from)) => {
                    let packet = buf.get(..n).unwrap_or(&buf);
                    if self.v6 {
                        let source = from.as_ref().and_then(|s| s.as_sockaddr_in6()).map(|s| s.ip());
                        if let (Some(source), Some(echo)) = (source, Echo::parse_reply_v6(packet)) {
                            f(IpAddr::V6(source), echo);
                        }
                    } else if let Some((source, echo)) = Echo::parse_reply_v4(packet) {
                        f(IpAddr::V4(source), echo);
                    }
                }
                Err(nix::errno::Errno::EAGAIN) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl AsRawFd for EchoSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    /// RFC 1071 §3's worked example: words 0001 f203 f4f5 f6f7 sum to
    /// 0x220d, folded 0xddf2; the checksum is its complement.
    #[test]
    fn checksum_matches_rfc1071_example() {
        assert_eq!(checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), !0xddf2);
        // An odd byte is padded with zero on the right.
        assert_eq!(checksum(&[0x01]), !0x0100);
        assert_eq!(checksum(&[]), 0xffff);
    }

    #[test]
    fn echo_request_v4_bytes() {
        let m = Echo { ident: 0x1234, seq: 0x0102 }.request(false);
        assert_eq!(m.len(), 24);
        assert_eq!(&m[..8], &[8, 0, 0xa0, 0x2e, 0x12, 0x34, 0x01, 0x02]);
        assert_eq!(&m[8..], PAYLOAD);
        assert_eq!(checksum(&m), 0, "a message with its checksum sums to zero");
    }

    #[test]
    fn echo_request_v6_leaves_checksum_to_kernel() {
        let m = Echo { ident: 7, seq: 9 }.request(true);
        assert_eq!(&m[..8], &[128, 0, 0, 0, 0, 7, 0, 9]);
    }

    /// An IPv4 packet carrying `icmp` from `src`, with `options` bytes of
    /// IP options.
    fn ipv4(src: [u8; 4], icmp: &[u8], options: usize) -> Vec<u8> {
        let hl = 20 + options;
        let total = (hl + icmp.len()) as u16;
        let mut p = vec![0x40 | (hl / 4) as u8, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x40, 0, 64, PROTO_ICMP, 0, 0]);
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
        let c = checksum(&m);
        m[2..4].copy_from_slice(&c.to_be_bytes());
        m
    }

    #[test]
    fn parses_v4_echo_reply_with_and_without_ip_options() {
        for options in [0, 8] {
            let p = ipv4([192, 0, 2, 10], &reply_v4(0xbeef, 3), options);
            assert_eq!(
                Echo::parse_reply_v4(&p),
                Some((Ipv4Addr::new(192, 0, 2, 10), Echo { ident: 0xbeef, seq: 3 })),
                "options {options}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_valid_v4_echo_reply() {
        let good = ipv4([192, 0, 2, 10], &reply_v4(1, 1), 0);
        let mut bad_sum = good.clone();
        bad_sum[30] ^= 0xff;
        assert_eq!(Echo::parse_reply_v4(&bad_sum), None, "payload changed, checksum not");
        let request = ipv4([192, 0, 2, 10], &Echo { ident: 1, seq: 1 }.request(false), 0);
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

    /// Through the kernel, on loopback (needs root): the request goes out,
    /// the kernel answers, the reply is matched.
    fn loopback_round_trip(v6: bool, to: IpAddr) {
        let s = EchoSocket::open(v6, Some(("lo", 1))).expect("raw ICMP socket (root)");
        let echo = Echo { ident: std::process::id() as u16, seq: 42 };
        s.send(to, echo).expect("send");
        let mut got = None;
        for _ in 0..200 {
            s.drain(|from, e| {
                if e == echo {
                    got = Some(from);
                }
            })
            .expect("drain");
            if got.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(got, Some(to));
        assert!(
            s.send(if v6 { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { IpAddr::V6(Ipv6Addr::LOCALHOST) }, echo).is_err()
        );
    }

    #[test]
    fn echo_over_loopback_v4() {
        loopback_round_trip(false, IpAddr::V4(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn echo_over_loopback_v6() {
        loopback_round_trip(true, IpAddr::V6(Ipv6Addr::LOCALHOST));
    }
}
