//! Link-layer I/O: AF_PACKET sockets on one interface.
//!
//! A receiving socket is bound to ONE EtherType, never ETH_P_ALL: packet
//! taps run before the nftables ingress hook, so an ETH_P_ALL socket on a
//! fenced standby would see frames the fence then drops. A send-only socket
//! (protocol 0) receives nothing at all; it carries ARP and neighbour
//! advertisements, whose EtherType it reads from each frame.

use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::libc;

use crate::wire::Mac;

/// What the kernel says about a received frame (`sll_pkttype`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketType {
    /// Addressed to this interface's MAC.
    Host,
    Broadcast,
    Multicast,
    /// Unicast to another MAC (promiscuous port, bridge member, veth).
    OtherHost,
    /// A frame this host sent, looped back to the tap; drop it.
    Outgoing,
    Other(u8),
}

impl PacketType {
    fn from_raw(t: u8) -> Self {
        match t {
            libc::PACKET_HOST => PacketType::Host,
            libc::PACKET_BROADCAST => PacketType::Broadcast,
            libc::PACKET_MULTICAST => PacketType::Multicast,
            libc::PACKET_OTHERHOST => PacketType::OtherHost,
            libc::PACKET_OUTGOING => PacketType::Outgoing,
            other => PacketType::Other(other),
        }
    }
}

/// A non-blocking AF_PACKET/SOCK_RAW socket on one interface. Frames sent
/// and received include the Ethernet header.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: i32,
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

fn ifindex_c(ifindex: u32) -> io::Result<i32> {
    i32::try_from(ifindex)
        .ok()
        .filter(|&i| i > 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad interface index"))
}

fn sockaddr_ll(ifindex: i32, protocol_be: u16) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as libc::c_ushort;
    sll.sll_protocol = protocol_be;
    sll.sll_ifindex = ifindex;
    sll
}

const SLL_LEN: libc::socklen_t = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;

impl PacketSocket {
    /// A socket that receives (and may send) frames of `ethertype` on
    /// interface `ifindex` only.
    pub fn open(ifindex: u32, ethertype: u16) -> io::Result<Self> {
        // Protocol 0 at creation, the EtherType only at bind: otherwise the
        // socket would briefly receive that EtherType from every interface.
        Self::bound(ifindex, ethertype.to_be())
    }

    /// A send-only socket on `ifindex`: for ARP and IPv6 neighbour
    /// advertisements. It receives nothing.
    pub fn sender(ifindex: u32) -> io::Result<Self> {
        Self::bound(ifindex, 0)
    }

    fn bound(ifindex: u32, protocol_be: u16) -> io::Result<Self> {
        let ifindex = ifindex_c(ifindex)?;
        // SAFETY: plain syscall; the result is checked before use.
        let raw = cvt(unsafe {
            libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0)
        })?;
        // SAFETY: `raw` is a freshly created descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let sll = sockaddr_ll(ifindex, protocol_be);
        // SAFETY: `sll` is a valid sockaddr_ll of SLL_LEN bytes.
        cvt(unsafe { libc::bind(fd.as_raw_fd(), (&sll as *const libc::sockaddr_ll).cast(), SLL_LEN) })?;
        Ok(PacketSocket { fd, ifindex })
    }

    /// Makes the interface accept frames sent to multicast `group`
    /// (PACKET_ADD_MEMBERSHIP). The kernel drops the membership when the
    /// socket closes.
    pub fn join_multicast(&self, group: Mac) -> io::Result<()> {
        let mut address = [0u8; 8];
        address[..6].copy_from_slice(&group.0);
        let mreq = libc::packet_mreq {
            mr_ifindex: self.ifindex,
            mr_type: libc::PACKET_MR_MULTICAST as libc::c_ushort,
            mr_alen: 6,
            mr_address: address,
        };
        // SAFETY: `mreq` is a valid packet_mreq for the stated length.
        cvt(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_ADD_MEMBERSHIP,
                (&mreq as *const libc::packet_mreq).cast(),
                mem::size_of::<libc::packet_mreq>() as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex.unsigned_abs()
    }

    /// Sends one complete Ethernet frame. A fenced interface refuses it
    /// (ENOBUFS from the egress hook); that is reported, never retried.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        let ethertype = match frame.get(12..14) {
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => return Err(io::Error::new(io::ErrorKind::InvalidInput, "frame shorter than an Ethernet header")),
        };
        let mut sll = sockaddr_ll(self.ifindex, ethertype.to_be());
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&frame[..6]);
        loop {
            // SAFETY: `frame` and `sll` are valid for the lengths given.
            let n = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    frame.as_ptr().cast(),
                    frame.len(),
                    0,
                    (&sll as *const libc::sockaddr_ll).cast(),
                    SLL_LEN,
                )
            };
            if n >= 0 {
                return if n.unsigned_abs() == frame.len() {
                    Ok(())
                } else {
                    Err(io::Error::new(io::ErrorKind::WriteZero, "short packet write"))
                };
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Receives one frame into `buf`: its length (cut to `buf`'s size) and
    /// how it arrived. `Ok(None)` when nothing is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, PacketType)>> {
        loop {
            let mut sll = sockaddr_ll(0, 0);
            let mut len = SLL_LEN;
            // SAFETY: `buf` and `sll` are valid writable buffers of the
            // lengths given; the kernel writes at most that much.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    (&mut sll as *mut libc::sockaddr_ll).cast(),
                    &mut len,
                )
            };
            if n >= 0 {
                return Ok(Some((n.unsigned_abs().min(buf.len()), PacketType::from_raw(sll.sll_pkttype))));
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => return Ok(None),
                io::ErrorKind::Interrupted => continue,
                _ => return Err(e),
            }
        }
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::testnet::{Netns, veth};
    use crate::wire::{EthernetRepr, MULTICAST_MAC};
    use std::time::{Duration, Instant};

    const A_MAC: Mac = Mac([0x02, 0, 0x5e, 0, 0x53, 0x0a]);
    const B_MAC: Mac = Mac([0x02, 0, 0x5e, 0, 0x53, 0x0b]);

    fn frame(dst: Mac, src: Mac, ethertype: u16, fill: u8) -> Vec<u8> {
        EthernetRepr { dst, src, ethertype }.frame(|f| f.resize(60, fill))
    }

    /// Polls a non-blocking socket for up to one second.
    fn recv_wait(s: &PacketSocket, buf: &mut [u8]) -> Option<(usize, PacketType)> {
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            if let Some(r) = s.recv(buf).unwrap() {
                return Some(r);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    #[test]
    fn bad_ifindex_refused() {
        assert_eq!(PacketSocket::open(0, 0x88b5).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert_eq!(PacketSocket::sender(u32::MAX).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn one_ethertype_one_interface_with_packet_types() {
        let a = Netns::new("pa");
        let b = Netns::new("pb");
        veth(&a, "a0", &b, "b0");
        // A second link in b: frames on it must not reach the b0 socket.
        veth(&a, "a1", &b, "b1");
        b.exec(["ip", "link", "set", "b0", "address", &B_MAC.to_string()]);
        let (ai, ai1, bi) = (a.ifindex("a0"), a.ifindex("a1"), b.ifindex("b0"));

        let rx = b.enter(|| PacketSocket::open(bi, 0x88b5).unwrap());
        rx.join_multicast(MULTICAST_MAC).unwrap();
        let maddr = b.exec(["ip", "maddr", "show", "dev", "b0"]);
        assert!(String::from_utf8_lossy(&maddr.stdout).contains("link  03:56:57:52:50:00"), "membership missing");

        let tx = a.enter(|| PacketSocket::open(ai, 0x88b5).unwrap());
        let tx1 = a.enter(|| PacketSocket::sender(ai1).unwrap());
        let mut buf = [0u8; 2048];

        tx.send(&frame(MULTICAST_MAC, A_MAC, 0x88b5, 1)).unwrap();
        assert_eq!(recv_wait(&rx, &mut buf), Some((60, PacketType::Multicast)));
        assert_eq!(buf[14], 1);
        tx.send(&frame(B_MAC, A_MAC, 0x88b5, 2)).unwrap();
        assert_eq!(recv_wait(&rx, &mut buf), Some((60, PacketType::Host)));
        tx.send(&frame(Mac([2, 0, 0, 0, 0, 9]), A_MAC, 0x88b5, 3)).unwrap();
        assert_eq!(recv_wait(&rx, &mut buf), Some((60, PacketType::OtherHost)));
        tx.send(&frame(Mac([0xff; 6]), A_MAC, 0x88b5, 4)).unwrap();
        assert_eq!(recv_wait(&rx, &mut buf), Some((60, PacketType::Broadcast)));

        // Another EtherType, or the right one on another link: not seen.
        tx.send(&frame(B_MAC, A_MAC, 0x88b6, 5)).unwrap();
        tx1.send(&frame(B_MAC, A_MAC, 0x88b5, 6)).unwrap();
        assert_eq!(recv_wait(&rx, &mut buf), None);
        // The send-only socket receives nothing, even its own EtherType.
        let sender_b = b.enter(|| PacketSocket::sender(bi).unwrap());
        tx.send(&frame(B_MAC, A_MAC, 0x0806, 7)).unwrap();
        assert_eq!(recv_wait(&sender_b, &mut buf), None);

        // A truncated read reports what fits.
        tx.send(&frame(B_MAC, A_MAC, 0x88b5, 8)).unwrap();
        let mut small = [0u8; 20];
        assert_eq!(recv_wait(&rx, &mut small), Some((20, PacketType::Host)));
        assert_eq!(tx.send(&[0u8; 13]).unwrap_err().kind(), io::ErrorKind::InvalidInput);

        drop(rx);
        let maddr = b.exec(["ip", "maddr", "show", "dev", "b0"]);
        assert!(!String::from_utf8_lossy(&maddr.stdout).contains("03:56:57:52:50:00"), "membership outlived socket");
    }
}
