//! Netlink spoken by hand: a socket, a request builder and a checked parser.
//!
//! The daemon needs only a few netlink messages (nftables set elements,
//! addresses, routes, link state), so it builds them itself rather than
//! linking a netlink library. The parser never panics and never reads out
//! of bounds, whatever the bytes: every length is checked before use.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::libc;
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send, setsockopt, socket,
    sockopt,
};
use nix::sys::time::TimeVal;

/// Length of `struct nlmsghdr`.
pub const HEADER_LEN: usize = 16;
/// Length of `struct nlattr`.
const ATTR_HEADER_LEN: usize = 4;

pub const NLMSG_NOOP: u16 = libc::NLMSG_NOOP as u16;
pub const NLMSG_ERROR: u16 = libc::NLMSG_ERROR as u16;
pub const NLMSG_DONE: u16 = libc::NLMSG_DONE as u16;

pub const F_REQUEST: u16 = libc::NLM_F_REQUEST as u16;
pub const F_ACK: u16 = libc::NLM_F_ACK as u16;
pub const F_DUMP: u16 = libc::NLM_F_DUMP as u16;
pub const F_DUMP_INTR: u16 = libc::NLM_F_DUMP_INTR as u16;
pub const F_REPLACE: u16 = libc::NLM_F_REPLACE as u16;
pub const F_CREATE: u16 = libc::NLM_F_CREATE as u16;
pub const F_EXCL: u16 = libc::NLM_F_EXCL as u16;

const NLA_F_NESTED: u16 = libc::NLA_F_NESTED as u16;
const NLA_TYPE_MASK: u16 = libc::NLA_TYPE_MASK as u16;

/// Dumps arrive in skbs of at most 32 KiB; twice that leaves room for
/// a message the kernel sized from an earlier, larger read.
const RECV_BUFFER_LEN: usize = 64 * 1024;
/// A request socket gives up on an ack that never comes, rather than hang
/// the event loop.
const ACK_TIMEOUT: Duration = Duration::from_secs(1);

/// Rounds up to netlink's 4-byte alignment; `None` only near `usize::MAX`.
fn align(n: usize) -> Option<usize> {
    n.checked_add(3).map(|n| n & !3)
}

/// Bytes that do not form valid netlink messages or attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

impl From<Malformed> for io::Error {
    fn from(_: Malformed) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, "malformed netlink message")
    }
}

/// One netlink message: its header fields and the payload that follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub port: u32,
    pub payload: &'a [u8],
}

impl<'a> Message<'a> {
    /// The error code of an `NLMSG_ERROR` or `NLMSG_DONE` message: zero for
    /// an ack, a negative errno otherwise.
    pub fn error_code(&self) -> Result<i32, Malformed> {
        let bytes = self.payload.get(..4).ok_or(Malformed)?;
        Ok(i32::from_ne_bytes(bytes.try_into().map_err(|_| Malformed)?))
    }

    /// Splits the payload into a fixed family header of `len` bytes
    /// (`ifinfomsg`, `nfgenmsg`…) and the attributes after it.
    pub fn split(&self, len: usize) -> Result<(&'a [u8], Attrs<'a>), Malformed> {
        let header = self.payload.get(..len).ok_or(Malformed)?;
        let start = align(len).ok_or(Malformed)?;
        let rest = self.payload.get(start..).unwrap_or(&[]);
        Ok((header, Attrs::new(rest)))
    }
}

/// Iterates over the messages packed in one datagram. Yields one error and
/// stops when a length does not fit.
#[derive(Clone, Debug)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Messages { rest: buf }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let parsed = parse_message(self.rest);
        match parsed {
            Ok((msg, next)) => {
                self.rest = self.rest.get(next..).unwrap_or(&[]);
                Some(Ok(msg))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

fn parse_message(buf: &[u8]) -> Result<(Message<'_>, usize), Malformed> {
    let field = |range: core::ops::Range<usize>| buf.get(range).ok_or(Malformed);
    let len = u32::from_ne_bytes(field(0..4)?.try_into().map_err(|_| Malformed)?);
    let len = usize::try_from(len).map_err(|_| Malformed)?;
    if len < HEADER_LEN {
        return Err(Malformed);
    }
    let msg = Message {
        kind: u16::from_ne_bytes(field(4..6)?.try_into().map_err(|_| Malformed)?),
        flags: u16::from_ne_bytes(field(6..8)?.try_into().map_err(|_| Malformed)?),
        seq: u32::from_ne_bytes(field(8..12)?.try_into().map_err(|_| Malformed)?),
        port: u32::from_ne_bytes(field(12..16)?.try_into().map_err(|_| Malformed)?),
        payload: field(HEADER_LEN..len)?,
    };
    // The last message of a datagram may lack its padding.
    let next = align(len).ok_or(Malformed)?.min(buf.len());
    Ok((msg, next))
}

/// One attribute; `kind` has the nested and byte-order flags masked off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr<'a> {
    pub kind: u16,
    pub nested: bool,
    pub value: &'a [u8],
}

impl<'a> Attr<'a> {
    pub fn u8(&self) -> Option<u8> {
        match self.value {
            [b] => Some(*b),
            _ => None,
        }
    }

    /// A string, up to its terminating NUL if it has one.
    pub fn string(&self) -> Option<&'a str> {
        let end = self.value.iter().position(|&b| b == 0).unwrap_or(self.value.len());
        core::str::from_utf8(self.value.get(..end)?).ok()
    }

    /// The attributes nested inside this one.
    pub fn attrs(&self) -> Attrs<'a> {
        Attrs::new(self.value)
    }
}

/// Iterates over a run of attributes. Yields one error and stops when a
/// length does not fit.
#[derive(Clone, Debug)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Attrs { rest: buf }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let parsed = parse_attr(self.rest);
        match parsed {
            Ok((attr, next)) => {
                self.rest = self.rest.get(next..).unwrap_or(&[]);
                Some(Ok(attr))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

fn parse_attr(buf: &[u8]) -> Result<(Attr<'_>, usize), Malformed> {
    let len = u16::from_ne_bytes(buf.get(0..2).ok_or(Malformed)?.try_into().map_err(|_| Malformed)?);
    let kind = u16::from_ne_bytes(buf.get(2..4).ok_or(Malformed)?.try_into().map_err(|_| Malformed)?);
    let len = usize::from(len);
    if len < ATTR_HEADER_LEN {
        return Err(Malformed);
    }
    let attr = Attr {
        kind: kind & NLA_TYPE_MASK,
        nested: kind & NLA_F_NESTED != 0,
        value: buf.get(ATTR_HEADER_LEN..len).ok_or(Malformed)?,
    };
    let next = align(len).ok_or(Malformed)?.min(buf.len());
    Ok((attr, next))
}

/// Builds one or more netlink messages in one buffer (a batch is several).
/// Sequence numbers are filled in by [`Socket`] when it sends. A value too
/// long for netlink's 16-bit attribute length makes `finish` fail instead of
/// writing a corrupt message.
#[derive(Debug, Default)]
pub struct Request {
    buf: Vec<u8>,
    /// Where each message starts.
    starts: Vec<usize>,
    /// Where each open nested attribute starts.
    nests: Vec<usize>,
    too_long: bool,
}

impl Request {
    pub fn new() -> Self {
        Request::default()
    }

    /// Empties the request and keeps its buffers, for the next one: a
    /// permit refresh every hello then allocates nothing.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.starts.clear();
        self.nests.clear();
        self.too_long = false;
    }

    /// Starts a new message (closing the previous one).
    pub fn message(&mut self, kind: u16, flags: u16) -> &mut Self {
        self.close_message();
        self.starts.push(self.buf.len());
        self.buf.extend_from_slice(&[0; 4]); // length, patched when closed
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&[0; 8]); // sequence and port
        self
    }

    /// Appends the message's fixed family header (`ifinfomsg`, `nfgenmsg`…).
    pub fn header(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self.pad();
        self
    }

    pub fn attr(&mut self, kind: u16, value: &[u8]) -> &mut Self {
        let Some(len) = value.len().checked_add(ATTR_HEADER_LEN).and_then(|n| u16::try_from(n).ok()) else {
            self.too_long = true;
            return self;
        };
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.pad();
        self
    }

    pub fn attr_u32_ne(&mut self, kind: u16, value: u32) -> &mut Self {
        self.attr(kind, &value.to_ne_bytes())
    }

    /// nftables' numbers (verdicts, registers, hooks, flags) are big-endian.
    pub fn attr_u32_be(&mut self, kind: u16, value: u32) -> &mut Self {
        self.attr(kind, &value.to_be_bytes())
    }

    pub fn attr_u64_be(&mut self, kind: u16, value: u64) -> &mut Self {
        self.attr(kind, &value.to_be_bytes())
    }

    /// A NUL-terminated string, as the kernel's `NLA_STRING`/`NLA_NUL_STRING`
    /// policies both accept.
    pub fn attr_str(&mut self, kind: u16, value: &str) -> &mut Self {
        let Some(len) = value.len().checked_add(ATTR_HEADER_LEN + 1).and_then(|n| u16::try_from(n).ok()) else {
            self.too_long = true;
            return self;
        };
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value.as_bytes());
        self.buf.push(0);
        self.pad();
        self
    }

    /// Opens a nested attribute; close it with [`Request::end_nest`].
    pub fn nest(&mut self, kind: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&[0; 2]);
        self.buf.extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }

    pub fn end_nest(&mut self) -> &mut Self {
        if let Some(start) = self.nests.pop() {
            let len = self.buf.len().saturating_sub(start);
            match u16::try_from(len) {
                Ok(len) => patch(&mut self.buf, start, &len.to_ne_bytes()),
                Err(_) => self.too_long = true,
            }
        }
        self
    }

    /// How many messages the request holds.
    fn len(&self) -> usize {
        self.starts.len()
    }

    /// Numbers the messages from `first_seq` and returns the bytes to send.
    fn finish(&mut self, first_seq: u32) -> io::Result<&[u8]> {
        self.close_message();
        if self.too_long || !self.nests.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "netlink request too long or unbalanced"));
        }
        let mut seq = first_seq;
        for &start in &self.starts {
            patch(&mut self.buf, start.saturating_add(8), &seq.to_ne_bytes());
            seq = seq.wrapping_add(1);
        }
        Ok(&self.buf)
    }

    /// Sequence offsets of the messages that asked for an ack, into
    /// `offsets` (emptied first).
    fn acked(&self, offsets: &mut Vec<u32>) {
        offsets.clear();
        for (i, &start) in self.starts.iter().enumerate() {
            let flags = self
                .buf
                .get(start.saturating_add(6)..start.saturating_add(8))
                .and_then(|b| b.try_into().ok())
                .map(u16::from_ne_bytes)
                .unwrap_or(0);
            if flags & F_ACK != 0 {
                offsets.push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
    }

    fn pad(&mut self) {
        let padded = align(self.buf.len()).unwrap_or(self.buf.len());
        self.buf.resize(padded, 0);
    }

    fn close_message(&mut self) {
        if let Some(&start) = self.starts.last() {
            let len = self.buf.len().saturating_sub(start);
            match u32::try_from(len) {
                Ok(len) => patch(&mut self.buf, start, &len.to_ne_bytes()),
                Err(_) => self.too_long = true,
            }
        }
    }
}

/// Overwrites `bytes` at `at` when that range exists (it always does for
/// offsets the builder recorded itself).
fn patch(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = at.checked_add(bytes.len()).and_then(|end| buf.get_mut(at..end)) {
        dst.copy_from_slice(bytes);
    }
}

/// The netlink families the daemon speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// rtnetlink: links, addresses, routes.
    Route,
    /// nfnetlink: nftables.
    Netfilter,
}

/// What a request or dump hands each answer to. A `dyn`, so the loops
/// that read answers exist once, not once per caller (2.2 KB on a router).
pub type OnReply<'a> = &'a mut dyn FnMut(&Message<'_>) -> Result<(), Malformed>;

/// A netlink socket with its own receive buffer and sequence counter.
#[derive(Debug)]
pub struct Socket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
    /// The acks a request still waits for, kept between requests.
    pending: Vec<u32>,
}

impl Socket {
    /// Opens a socket of this protocol, subscribed to the multicast `groups`
    /// bitmask (0 for a plain request socket). It blocks, for at most a
    /// second per receive, until [`Socket::set_nonblocking`] says otherwise.
    pub fn open(protocol: Protocol, groups: u32) -> io::Result<Socket> {
        let proto = match protocol {
            Protocol::Route => SockProtocol::NetlinkRoute,
            Protocol::Netfilter => SockProtocol::NetlinkNetFilter,
        };
        let fd = socket(AddressFamily::Netlink, SockType::Raw, SockFlag::SOCK_CLOEXEC, proto)?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups))?;
        let timeout = TimeVal::new(ACK_TIMEOUT.as_secs().try_into().unwrap_or(1), 0);
        setsockopt(&fd, sockopt::ReceiveTimeout, &timeout)?;
        Ok(Socket {
            fd,
            // Sequence numbers need only be unique on this socket.
            seq: 1,
            buf: vec![0; RECV_BUFFER_LEN],
            pending: Vec::new(),
        })
    }

    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        // libc rather than nix's fcntl: that sits behind nix's "fs" feature,
        // whose statfs does not build for s390x musl (nix 0.29).
        let fd = self.fd.as_raw_fd();
        // SAFETY: F_GETFL takes no argument; `fd` is open while `self` lives.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        let flags = if nonblocking { flags | libc::O_NONBLOCK } else { flags & !libc::O_NONBLOCK };
        // SAFETY: F_SETFL takes an int; `fd` is open while `self` lives.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Asks the kernel for a larger receive queue, so that bursts of events
    /// are not lost (the kernel caps it at `net.core.rmem_max`).
    pub fn set_receive_buffer(&self, bytes: usize) -> io::Result<()> {
        setsockopt(&self.fd, sockopt::RcvBuf, &bytes)?;
        Ok(())
    }

    /// Numbers and sends `req`; returns the first sequence number used.
    pub fn send(&mut self, req: &mut Request) -> io::Result<u32> {
        let first = self.seq;
        let count = u32::try_from(req.len()).unwrap_or(u32::MAX);
        self.seq = self.seq.wrapping_add(count);
        let bytes = req.finish(first)?;
        let sent = send(self.fd.as_raw_fd(), bytes, MsgFlags::empty())?;
        if sent != bytes.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "netlink request cut short"));
        }
        Ok(first)
    }

    /// Receives one datagram. `WouldBlock` when non-blocking and nothing is
    /// queued; `ENOBUFS` when the kernel dropped messages for this socket.
    pub fn receive(&mut self) -> io::Result<Messages<'_>> {
        // MSG_TRUNC makes the kernel report the datagram's real length, so a
        // truncated read is an error rather than a silently cut message.
        let len = recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::MSG_TRUNC)?;
        let data = self
            .buf
            .get(..len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "netlink datagram larger than buffer"))?;
        Ok(Messages::new(data))
    }

    /// Sends `req` and waits for an ack to every message in it that carries
    /// `F_ACK`. The first error the kernel reports for any of them is
    /// returned as an `io::Error` holding that errno; other replies to the
    /// request (a GET's answer) go to `on_reply`. Replies left over from
    /// earlier requests are skipped by sequence number.
    pub fn request(&mut self, req: &mut Request, on_reply: OnReply<'_>) -> io::Result<()> {
        // The list lives on the socket between requests, so a request
        // allocates nothing once the socket has served one.
        let mut pending = core::mem::take(&mut self.pending);
        req.acked(&mut pending);
        let result = self.exchange(req, &mut pending, on_reply);
        self.pending = pending;
        result
    }

    /// `request`, waiting for the acks in `pending`.
    fn exchange(&mut self, req: &mut Request, pending: &mut Vec<u32>, on_reply: OnReply<'_>) -> io::Result<()> {
        let count = u32::try_from(req.len()).unwrap_or(u32::MAX);
        let first = self.send(req)?;
        while !pending.is_empty() {
            let messages = match self.receive() {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "no netlink ack"));
                }
                // A receive with a timeout is not restarted after a signal.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            for msg in messages {
                let msg = msg?;
                let offset = msg.seq.wrapping_sub(first);
                if offset >= count {
                    continue;
                }
                match msg.kind {
                    NLMSG_ERROR => {
                        let code = msg.error_code()?;
                        if code != 0 {
                            return Err(io::Error::from_raw_os_error(code.saturating_neg()));
                        }
                        pending.retain(|&o| o != offset);
                    }
                    NLMSG_NOOP | NLMSG_DONE => {}
                    _ => on_reply(&msg)?,
                }
            }
        }
        Ok(())
    }

    /// [`Socket::request`] for requests whose only answer is the ack.
    pub fn request_ack(&mut self, req: &mut Request) -> io::Result<()> {
        self.request(req, &mut |_| Ok(()))
    }

    /// Sends a dump request (one message with `F_DUMP`) and hands every
    /// answer to `on_reply` until the kernel says it is done. A dump
    /// disturbed by a change (`F_DUMP_INTR`) is reported as `Interrupted`:
    /// ask again rather than trust half a picture.
    pub fn dump(&mut self, req: &mut Request, on_reply: OnReply<'_>) -> io::Result<()> {
        let first = self.send(req)?;
        let mut disturbed = false;
        loop {
            let messages = match self.receive() {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "netlink dump unfinished"));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            for msg in messages {
                let msg = msg?;
                if msg.seq != first {
                    continue;
                }
                disturbed |= msg.flags & F_DUMP_INTR != 0;
                match msg.kind {
                    NLMSG_DONE if disturbed => {
                        return Err(io::Error::new(io::ErrorKind::Interrupted, "netlink dump disturbed"));
                    }
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => {
                        let code = msg.error_code()?;
                        if code != 0 {
                            return Err(io::Error::from_raw_os_error(code.saturating_neg()));
                        }
                    }
                    NLMSG_NOOP => {}
                    _ => on_reply(&msg)?,
                }
            }
        }
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Whether `e` carries this errno.
pub fn is_errno(e: &io::Error, errno: Errno) -> bool {
    e.raw_os_error() == Some(errno as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn builds_aligned_nested_attributes() {
        let mut req = Request::new();
        req.message(0x1234, F_REQUEST | F_ACK)
            .header(&[7, 0, 0, 0, 0])
            .attr(1, &[0xAA])
            .nest(2)
            .attr(3, &[1, 2, 3, 4])
            .attr_str(4, "ab")
            .end_nest();
        let bytes = req.finish(42).unwrap().to_vec();
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &52u32.to_ne_bytes()[..], &0x1234u16.to_ne_bytes(), &5u16.to_ne_bytes(),
            &42u32.to_ne_bytes(), &[0; 4],
            &[7, 0, 0, 0, 0, 0, 0, 0],                                  // header, padded
            &5u16.to_ne_bytes(), &1u16.to_ne_bytes(), &[0xAA, 0, 0, 0], // u8, padded
            &20u16.to_ne_bytes(), &(2u16 | 0x8000).to_ne_bytes(),      // nest
            &8u16.to_ne_bytes(), &3u16.to_ne_bytes(), &[1, 2, 3, 4],
            &7u16.to_ne_bytes(), &4u16.to_ne_bytes(), b"ab\0", &[0],
        ]
        .concat();
        assert_eq!(bytes, expected);

        let msg = Messages::new(&bytes).next().unwrap().unwrap();
        assert_eq!((msg.kind, msg.flags, msg.seq), (0x1234, 5, 42));
        let (header, attrs) = msg.split(5).unwrap();
        assert_eq!(header, &[7, 0, 0, 0, 0]);
        let attrs: Vec<_> = attrs.map(Result::unwrap).collect();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0].u8(), Some(0xAA));
        assert!(attrs[1].nested);
        let inner: Vec<_> = attrs[1].attrs().map(Result::unwrap).collect();
        assert_eq!(inner[0].value, &[1, 2, 3, 4]);
        assert_eq!(inner[1].string(), Some("ab"));
    }

    #[test]
    fn batch_numbers_messages_and_lists_acks() {
        let mut req = Request::new();
        req.message(16, F_REQUEST).message(17, F_REQUEST | F_ACK).message(18, F_REQUEST);
        let mut acked = vec![7, 8];
        req.acked(&mut acked);
        assert_eq!(acked, vec![1]);
        let bytes = req.finish(u32::MAX).unwrap().to_vec();
        let seqs: Vec<u32> = Messages::new(&bytes).map(|m| m.unwrap().seq).collect();
        assert_eq!(seqs, vec![u32::MAX, 0, 1]);
    }

    /// A cleared request builds the same bytes as a new one, in the
    /// buffer it already has.
    #[test]
    fn a_cleared_request_starts_afresh() {
        let build = |req: &mut Request| {
            req.message(16, F_REQUEST | F_ACK).header(&[1, 2]).attr_str(3, "vwrp").nest(4).attr(5, &[9]).end_nest();
            req.finish(1).unwrap().to_vec()
        };
        let fresh = build(&mut Request::new());
        let mut reused = Request::new();
        reused.message(20, 0).nest(1).attr(2, &[0; 300]);
        reused.clear();
        let capacity = reused.buf.capacity();
        assert_eq!(build(&mut reused), fresh);
        assert_eq!(reused.buf.capacity(), capacity, "the buffer was not kept");
    }

    #[test]
    fn refuses_oversized_and_unbalanced_requests() {
        let mut req = Request::new();
        req.message(16, F_REQUEST).attr(1, &vec![0; 70_000]);
        assert!(req.finish(1).is_err());
        let mut req = Request::new();
        req.message(16, F_REQUEST).nest(1);
        assert!(req.finish(1).is_err());
    }

    #[test]
    fn rejects_bad_lengths() {
        // Message length shorter than its header, and longer than the data.
        let mut short = vec![0u8; 16];
        short[0] = 8;
        assert_eq!(Messages::new(&short).next(), Some(Err(Malformed)));
        let mut long = vec![0u8; 16];
        long[0] = 40;
        assert_eq!(Messages::new(&long).next(), Some(Err(Malformed)));
        // Attribute length below its header; the iterator stops after it.
        let mut attrs = Attrs::new(&[2, 0, 1, 0, 8, 0, 1, 0]);
        assert_eq!(attrs.next(), Some(Err(Malformed)));
        assert_eq!(attrs.next(), None);
        // A last message without padding still parses.
        let mut req = Request::new();
        req.message(20, 0).attr(1, &[9]);
        let bytes = req.finish(1).unwrap().to_vec();
        let unpadded = &bytes[..bytes.len() - 3];
        let mut fixed = unpadded.to_vec();
        // nlmsg_len is host-endian (the big-endian mips run caught this).
        fixed[..4].copy_from_slice(&u32::try_from(unpadded.len()).unwrap().to_ne_bytes());
        let msg = Messages::new(&fixed).next().unwrap().unwrap();
        let attr = msg.split(0).unwrap().1.next().unwrap().unwrap();
        assert_eq!((attr.kind, attr.u8()), (1, Some(9)));
    }

    fn walk(attrs: Attrs<'_>, depth: u32) -> usize {
        let mut n = 0usize;
        for attr in attrs {
            let Ok(attr) = attr else { break };
            n = n.saturating_add(1);
            let _ = (attr.u8(), attr.string());
            if depth < 4 {
                n = n.saturating_add(walk(attr.attrs(), depth + 1));
            }
        }
        n
    }

    proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                               header_len in 0usize..24) {
            for msg in Messages::new(&bytes) {
                let Ok(msg) = msg else { break };
                let _ = msg.error_code();
                if let Ok((_, attrs)) = msg.split(header_len) {
                    walk(attrs, 0);
                }
            }
            walk(Attrs::new(&bytes), 0);
        }

        #[test]
        fn attributes_round_trip(values in proptest::collection::vec(
            (1u16..0x3fff, proptest::collection::vec(any::<u8>(), 0..40)), 0..12)) {
            let mut req = Request::new();
            req.message(100, F_REQUEST).header(&[1, 2, 3]);
            for (kind, value) in &values {
                req.attr(*kind, value);
            }
            let bytes = req.finish(7).unwrap().to_vec();
            let msg = Messages::new(&bytes).next().unwrap().unwrap();
            let (_, attrs) = msg.split(3).unwrap();
            let parsed: Vec<(u16, Vec<u8>)> =
                attrs.map(|a| a.map(|a| (a.kind, a.value.to_vec()))).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(parsed, values);
        }
    }
}
