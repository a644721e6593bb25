//! ICMP and ICMPv6 echo for ping trackers: a raw socket per address
//! family (the messages are `wire::icmp::Echo`).
//!
//! Raw sockets, not "ping sockets": those need `net.ipv4.ping_group_range`,
//! which is closed to everyone, root included, by default. A raw socket
//! sees every echo reply that reaches the host, so replies are matched by
//! identifier, sequence number and source.

use std::ffi::OsString;
use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::libc;
use nix::sys::socket::{
    self, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn, SockaddrIn6, SockaddrStorage, sockopt,
};

use crate::wire::icmp::Echo;

/// The ICMP types the filters let through.
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REPLY_V6: u8 = 129;

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
            crate::logging::debug!("ICMP filter: {e}");
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
    use std::net::{Ipv4Addr, Ipv6Addr};

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
