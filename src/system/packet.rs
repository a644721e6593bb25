//! Link-layer I/O: AF_PACKET sockets on one interface.
//!
//! A receiving socket is bound to ONE EtherType, never ETH_P_ALL: packet
//! taps run before the nftables ingress hook, so an ETH_P_ALL socket on a
//! fenced standby would see frames the fence then drops. A send-only socket
//! (protocol 0) receives nothing at all; it carries ARP and neighbour
//! advertisements, whose EtherType it reads from each frame.
//!
//! A hello socket also carries a classic BPF filter (`Filter::vwrp`): the
//! kernel drops the frames of other groups and those addressed to other
//! routers before they cost a system call, so that a flood of them does
//! not delay the hellos that matter.

use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::libc;

use crate::wire::{ETHERNET_HEADER_LEN, GROUP_OFFSET, MULTICAST_MAC, Mac};

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

// Classic BPF (linux/filter.h): the instruction classes and modes used.
const LD_W_ABS: u16 = 0x20;
const LD_H_ABS: u16 = 0x28;
const LD_B_ABS: u16 = 0x30;
const LD_W_LEN: u16 = 0x80;
const JEQ_K: u16 = 0x15;
const JGE_K: u16 = 0x35;
const RET_K: u16 = 0x06;
/// A filter's verdict: keep this many bytes of the frame (all of it).
const KEEP: u32 = 0x0004_0000;

/// A classic BPF program for a packet socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter(Vec<libc::sock_filter>);

impl Filter {
    /// vwrp's frames of `group` addressed to `own` or to every router:
    /// the others are for another group or another router (a switch
    /// floods unicast while it learns), which docs/PROTOCOL.md §2.8 (steps
    /// 2 and 4) ignores anyway. A frame too short to have a group byte is
    /// let through, so that the receiver counts it as truncated.
    pub fn vwrp(group: u8, own: Mac) -> Filter {
        let word = |m: &Mac| u32::from_be_bytes([m.0[0], m.0[1], m.0[2], m.0[3]]);
        let half = |m: &Mac| u32::from(u16::from_be_bytes([m.0[4], m.0[5]]));
        let group_at = (ETHERNET_HEADER_LEN + GROUP_OFFSET) as u32;
        let ins = |code, k, jt, jf| libc::sock_filter { code, jt, jf, k };
        // A jump skips that many instructions: 11 accepts, 12 drops.
        Filter(vec![
            ins(LD_W_LEN, 0, 0, 0),
            ins(JGE_K, group_at + 1, 0, 9),         // 1: short: accept
            ins(LD_B_ABS, group_at, 0, 0),          // 2
            ins(JEQ_K, u32::from(group), 0, 8),     // 3: another group: drop
            ins(LD_W_ABS, 0, 0, 0),                 // 4: destination
            ins(JEQ_K, word(&MULTICAST_MAC), 0, 2), // 5
            ins(LD_H_ABS, 4, 0, 0),                 // 6
            ins(JEQ_K, half(&MULTICAST_MAC), 3, 4), // 7: multicast: accept
            ins(JEQ_K, word(&own), 0, 3),           // 8
            ins(LD_H_ABS, 4, 0, 0),                 // 9
            ins(JEQ_K, half(&own), 0, 1),           // 10
            ins(RET_K, KEEP, 0, 0),                 // 11: accept
            ins(RET_K, 0, 0, 0),                    // 12: drop
        ])
    }
}

impl PacketSocket {
    /// A socket that receives (and may send) frames of `ethertype` on
    /// interface `ifindex` only.
    pub fn open(ifindex: u32, ethertype: u16) -> io::Result<Self> {
        // Protocol 0 at creation, the EtherType only at bind: otherwise the
        // socket would briefly receive that EtherType from every interface.
        Self::bound(ifindex, ethertype.to_be(), None)
    }

    /// `open`, receiving only what `filter` lets through: the filter is in
    /// place before the first frame can arrive.
    pub fn open_filtered(ifindex: u32, ethertype: u16, filter: &Filter) -> io::Result<Self> {
        Self::bound(ifindex, ethertype.to_be(), Some(filter))
    }

    /// A send-only socket on `ifindex`: for ARP and IPv6 neighbour
    /// advertisements. It receives nothing.
    pub fn sender(ifindex: u32) -> io::Result<Self> {
        Self::bound(ifindex, 0, None)
    }

    fn bound(ifindex: u32, protocol_be: u16, filter: Option<&Filter>) -> io::Result<Self> {
        let ifindex = ifindex_c(ifindex)?;
        // SAFETY: plain syscall; the result is checked before use.
        let raw = cvt(unsafe {
            libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0)
        })?;
        // SAFETY: `raw` is a freshly created descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let sock = PacketSocket { fd, ifindex };
        if let Some(f) = filter {
            sock.set_filter(f)?;
        }
        let sll = sockaddr_ll(ifindex, protocol_be);
        // SAFETY: `sll` is a valid sockaddr_ll of SLL_LEN bytes.
        cvt(unsafe { libc::bind(sock.fd.as_raw_fd(), (&sll as *const libc::sockaddr_ll).cast(), SLL_LEN) })?;
        Ok(sock)
    }

    /// Replaces the socket's filter (SO_ATTACH_FILTER).
    pub fn set_filter(&self, filter: &Filter) -> io::Result<()> {
        let prog = libc::sock_fprog {
            len: u16::try_from(filter.0.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
            filter: filter.0.as_ptr().cast_mut(),
        };
        // SAFETY: `prog` points at `filter`'s instructions, which outlive
        // the call; the kernel copies them.
        cvt(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&prog as *const libc::sock_fprog).cast(),
                mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    /// Marks every frame this socket sends (`SO_MARK`): the fence's
    /// egress rules know the daemon's own WAN frames by it.
    pub fn set_mark(&self, mark: u32) -> io::Result<()> {
        // SAFETY: `mark` is a valid u32 for the stated length.
        cvt(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_MARK,
                (&mark as *const u32).cast(),
                size_of::<u32>() as libc::socklen_t,
            )
        })?;
        Ok(())
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

    /// A vwrp frame of `group`, its group byte at PDU offset 2.
    fn group_frame(dst: Mac, group: u8, fill: u8) -> Vec<u8> {
        let mut f = frame(dst, A_MAC, 0x88b5, fill);
        f[ETHERNET_HEADER_LEN + GROUP_OFFSET] = group;
        f
    }

    /// The kernel drops other groups' frames and those for other routers,
    /// and lets through ours, and what is too short to tell.
    #[test]
    fn the_filter_keeps_our_groups_frames_for_us() {
        let a = Netns::new("fa");
        let b = Netns::new("fb");
        veth(&a, "a0", &b, "b0");
        b.exec(["ip", "link", "set", "b0", "address", &B_MAC.to_string()]);
        let (ai, bi) = (a.ifindex("a0"), b.ifindex("b0"));
        let rx = b.enter(|| PacketSocket::open_filtered(bi, 0x88b5, &Filter::vwrp(7, B_MAC)).unwrap());
        rx.join_multicast(MULTICAST_MAC).unwrap();
        let tx = a.enter(|| PacketSocket::open(ai, 0x88b5).unwrap());
        let other = Mac([2, 0, 0, 0, 0, 9]);
        let sends: [(&str, Vec<u8>, bool); 8] = [
            ("multicast, our group", group_frame(MULTICAST_MAC, 7, 1), true),
            ("to us, our group", group_frame(B_MAC, 7, 2), true),
            ("multicast, another group", group_frame(MULTICAST_MAC, 8, 3), false),
            ("to us, another group", group_frame(B_MAC, 6, 4), false),
            ("to another router, our group", group_frame(other, 7, 5), false),
            ("broadcast, our group", group_frame(Mac::BROADCAST, 7, 6), false),
            ("almost the multicast address", group_frame(Mac([3, 0x56, 0x57, 0x52, 0x50, 1]), 7, 7), false),
            ("too short for a group byte", group_frame(other, 9, 8)[..16].to_vec(), true),
        ];
        let mut buf = [0u8; 2048];
        for (what, f, _) in &sends {
            tx.send(f).unwrap_or_else(|e| panic!("{what}: {e}"));
        }
        let mut got = Vec::new();
        while let Some((n, _)) = recv_wait(&rx, &mut buf) {
            got.push(if n < 60 { 8 } else { buf[20] });
        }
        let want: Vec<u8> =
            sends.iter().filter(|(_, _, pass)| *pass).map(|(_, f, _)| *f.get(20).unwrap_or(&8)).collect();
        assert_eq!(got, want, "frames let through (by their fill byte)");
        // Another filter replaces it: now group 8's frames pass.
        rx.set_filter(&Filter::vwrp(8, B_MAC)).unwrap();
        tx.send(&group_frame(MULTICAST_MAC, 7, 1)).unwrap();
        tx.send(&group_frame(MULTICAST_MAC, 8, 3)).unwrap();
        assert_eq!(recv_wait(&rx, &mut buf).map(|(_, _)| buf[20]), Some(3));
        assert_eq!(recv_wait(&rx, &mut buf), None);
    }
}
