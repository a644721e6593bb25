//! The fence: nftables table `netdev vwrp`, which keeps a standby silent on
//! its WAN devices and lets the active forward only while it keeps renewing
//! a permission the kernel expires by itself.
//!
//! ```text
//! table netdev vwrp {
//!   set open { type iface_index; flags timeout; }
//!   chain in_<dev>  { type filter hook ingress device "<dev>" priority -500; policy drop;
//!                     ether type <ethertype> accept; meta iif @open accept; }
//!   chain out_<dev> { type filter hook egress  device "<dev>" priority -500; policy drop;
//!                     ether type <ethertype> accept; meta oif @open accept; }
//! }
//! ```
//!
//! The table is installed by the `nft` program, the ruleset as its argument
//! (start-up and restore only; a restore runs beside the event loop, see
//! [`start_install`]). The permission, renewed every hello, is an element
//! of `open` with a timeout, written over nfnetlink without spawning
//! anything.

use std::fmt::Write as _;
use std::io;
use std::os::fd::AsRawFd as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::libc;

use super::netlink::{F_ACK, F_CREATE, F_REQUEST, Messages, Protocol, Request, Socket, is_errno};
use super::process::{self, Child};

/// The table's name, in family `netdev`.
pub const TABLE: &str = "vwrp";
/// The set of interface indexes allowed to forward.
pub const OPEN_SET: &str = "open";
/// Before anything else on the device, fw4's hooks included.
const PRIORITY: i32 = -500;

/// Longest interface name the kernel accepts (IFNAMSIZ - 1).
const IFNAME_MAX: usize = 15;

// Message types: the nftables subsystem in the high byte (nfnetlink.h).
const SUBSYS: u16 = (libc::NFNL_SUBSYS_NFTABLES as u16) << 8;
const MSG_GETTABLE: u16 = SUBSYS | libc::NFT_MSG_GETTABLE as u16;
const MSG_NEWSETELEM: u16 = SUBSYS | libc::NFT_MSG_NEWSETELEM as u16;
const MSG_DELSETELEM: u16 = SUBSYS | libc::NFT_MSG_DELSETELEM as u16;
const BATCH_BEGIN: u16 = libc::NFNL_MSG_BATCH_BEGIN as u16;
const BATCH_END: u16 = libc::NFNL_MSG_BATCH_END as u16;

// Attribute numbers from linux/netfilter/nf_tables.h (not in libc).
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_TIMEOUT: u16 = 4;
const NFTA_DATA_VALUE: u16 = 1;

/// `struct nfgenmsg`: family, version, resource id (big endian).
fn nfgenmsg(family: u8, res_id: u16) -> [u8; 4] {
    let [hi, lo] = res_id.to_be_bytes();
    [family, libc::NFNETLINK_V0 as u8, hi, lo]
}

const NETDEV: u8 = libc::NFPROTO_NETDEV as u8;

/// Installs the table for these WAN devices, each with the EtherType its
/// hellos use, replacing any previous version in one transaction. Every
/// device starts closed: the set `open` is empty afterwards, so an active
/// router must refresh its permission right after a reinstall.
/// Waits for nft (at most [`NFT_LIMIT`]): for start-up and the CLI.
pub fn install(devs: &[(&str, u16)]) -> io::Result<()> {
    nft_script(&ruleset(devs)?)
}

/// [`install`] without waiting, for the event loop: the caller reaps the
/// child when SIGCHLD comes; nft's complaints go to the daemon's stderr.
pub fn start_install(devs: &[(&str, u16)]) -> io::Result<Child> {
    let mut cmd = Command::new("nft");
    cmd.arg(ruleset(devs)?).stdout(Stdio::null()).stderr(Stdio::inherit());
    process::spawn(&mut cmd)
}

/// Longest an nft run may take; it needs milliseconds.
pub const NFT_LIMIT: Duration = Duration::from_secs(5);

/// Removes the table, if present. For tests and tooling: the daemon leaves
/// it in place when it stops, so that a dead daemon fails closed.
pub fn uninstall() -> io::Result<()> {
    // `delete` fails on a missing table; declaring it first makes it exist.
    nft_script(&format!("table netdev {TABLE} {{}}\ndelete table netdev {TABLE}\n"))
}

/// The ruleset text `install` feeds to nft.
fn ruleset(devs: &[(&str, u16)]) -> io::Result<String> {
    let mut seen: Vec<&str> = Vec::new();
    for &(dev, ethertype) in devs {
        if !valid_ifname(dev) || seen.contains(&dev) {
            return Err(invalid(format!("bad or repeated WAN device name {dev:?}")));
        }
        // Below 0x0600 the field is an 802.3 length, not an EtherType.
        if ethertype < 0x0600 {
            return Err(invalid(format!("EtherType {ethertype:#06x} out of range")));
        }
        seen.push(dev);
    }
    let mut text = String::new();
    // Declaring the table before deleting it makes the delete valid on a
    // first install; all three lines are one transaction.
    let _ = writeln!(text, "table netdev {TABLE} {{}}");
    let _ = writeln!(text, "delete table netdev {TABLE}");
    let _ = writeln!(text, "table netdev {TABLE} {{");
    let _ = writeln!(text, "  set {OPEN_SET} {{ type iface_index; flags timeout; }}");
    for &(dev, ethertype) in devs {
        for (chain, hook, meta) in [("in", "ingress", "iif"), ("out", "egress", "oif")] {
            let _ = writeln!(
                text,
                "  chain {chain}_{dev} {{ type filter hook {hook} device \"{dev}\" priority {PRIORITY}; policy drop; \
                 ether type {ethertype:#06x} accept; meta {meta} @{OPEN_SET} accept; }}"
            );
        }
    }
    let _ = writeln!(text, "}}");
    Ok(text)
}

/// Names that are safe both quoted as a device and inside a bare chain
/// name (which nft allows to hold letters, digits, `_`, `.` and `-`).
fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= IFNAME_MAX
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// One nft run with the ruleset text as its argument (nft reads it as it
/// would a file), so stdin stays /dev/null.
fn nft_script(script: &str) -> io::Result<()> {
    let (status, err) = process::run(Command::new("nft").arg(script), NFT_LIMIT)?;
    if status.success() { Ok(()) } else { Err(io::Error::other(format!("nft failed ({status}): {}", err.trim()))) }
}

/// An nfnetlink socket for the per-hello work on the table.
#[derive(Debug)]
pub struct Fence {
    socket: Socket,
    /// Reused by every request: no allocation per permit refresh.
    req: Request,
}

impl Fence {
    /// Opens the socket, in the caller's network namespace.
    pub fn open() -> io::Result<Fence> {
        Ok(Fence { socket: Socket::open(Protocol::Netfilter, 0)?, req: Request::new() })
    }

    /// Lets `ifindex` forward for `timeout` from now, whether or not it
    /// could already. Fails with `ENOENT` when the table is missing.
    ///
    /// Re-adding an element that exists does not restart its timeout on the
    /// kernels this must run on (6.6 ignores it; 6.10+ updates only on a
    /// changed timeout or an explicit expiration). So one batch adds the
    /// element if absent, deletes it and adds it afresh; the transaction
    /// commits as a whole, so packets never see it missing.
    pub fn refresh(&mut self, ifindex: u32, timeout: Duration) -> io::Result<()> {
        // A zero timeout would mean "the set's default", i.e. never expire.
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX).max(1);
        let req = &mut self.req;
        req.clear();
        batch_begin(req);
        element(req, MSG_NEWSETELEM, F_CREATE, ifindex, Some(ms));
        element(req, MSG_DELSETELEM, 0, ifindex, None);
        element(req, MSG_NEWSETELEM, F_CREATE, ifindex, Some(ms));
        batch_end(req);
        self.socket.request_ack(req)
    }

    /// Withdraws the permission of `ifindex` at once. Absent already is fine.
    pub fn close(&mut self, ifindex: u32) -> io::Result<()> {
        let mut req = Request::new();
        batch_begin(&mut req);
        element(&mut req, MSG_DELSETELEM, 0, ifindex, None);
        batch_end(&mut req);
        match self.socket.request_ack(&mut req) {
            Err(e) if is_errno(&e, Errno::ENOENT) => Ok(()),
            other => other,
        }
    }

    /// Whether the table exists: `nft flush ruleset` or `firewall stop`
    /// delete it, and the daemon must notice within a hello and reinstall.
    pub fn table_present(&mut self) -> io::Result<bool> {
        let mut req = Request::new();
        req.message(MSG_GETTABLE, F_REQUEST | F_ACK).header(&nfgenmsg(NETDEV, 0)).attr_str(NFTA_TABLE_NAME, TABLE);
        match self.socket.request(&mut req, |_| Ok(())) {
            Ok(()) => Ok(true),
            Err(e) if is_errno(&e, Errno::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl std::os::fd::AsRawFd for Fence {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }
}

/// nf_tables multicast group: every ruleset change is announced there.
const NFNLGRP_NFTABLES: u32 = 7;

/// A socket filter that drops, in the kernel, the notifications of set
/// elements and of each new generation: every permit refresh (each hello
/// of the active) sends both, and each would wake the loop for nothing.
/// The kernel sends a transaction's notifications in as few datagrams as
/// it can, so one that starts with an element belongs to a transaction of
/// element changes; a deletion of anything else comes through, and the
/// once-a-second fence check covers any other case.
fn drop_element_news(socket: &Socket) -> io::Result<()> {
    // `ldh` reads big-endian; nlmsg_type is in host order.
    let kind = |msg: i32| u32::from(u16::from_be_bytes((SUBSYS | msg as u16).to_ne_bytes()));
    let op = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter { code: code as u16, jt, jf, k };
    let jeq = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
    let prog = [
        // The type of the datagram's first message (nlmsghdr offset 4).
        op(libc::BPF_LD | libc::BPF_H | libc::BPF_ABS, 0, 0, 4),
        op(jeq, 3, 0, kind(libc::NFT_MSG_NEWSETELEM)),
        op(jeq, 2, 0, kind(libc::NFT_MSG_DELSETELEM)),
        op(jeq, 1, 0, kind(libc::NFT_MSG_NEWGEN)),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, u32::MAX),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, 0),
    ];
    let fprog = libc::sock_fprog { len: prog.len() as u16, filter: prog.as_ptr().cast_mut() };
    // SAFETY: `fprog` points at `prog`, alive for the call; the kernel copies it.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&fprog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Notifications of nftables changes, so the daemon learns at once that
/// `nft flush ruleset` or `fw4 flush` removed something instead of
/// polling for it every hello.
pub struct FenceWatch {
    socket: Socket,
}

impl FenceWatch {
    pub fn open() -> io::Result<FenceWatch> {
        let socket = Socket::open(Protocol::Netfilter, 1 << (NFNLGRP_NFTABLES - 1))?;
        socket.set_nonblocking(true)?;
        drop_element_news(&socket)?;
        Ok(FenceWatch { socket })
    }

    /// Drains pending notifications. True when something was deleted (a
    /// table, chain, rule or set) or notifications were lost: time to check
    /// the table. Element changes (our own permit refreshes) do not count.
    pub fn deletions(&mut self) -> bool {
        let mut hit = false;
        loop {
            match self.socket.receive() {
                Ok(msgs) => hit |= deletions_in(msgs),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return hit,
                // ENOBUFS and the like: notifications were lost.
                Err(_) => return true,
            }
        }
    }
}

/// Whether one datagram of nftables notifications deletes something (a
/// table, chain, rule or set); a malformed one counts as a deletion, to be
/// checked rather than guessed. Element changes (our own permit refreshes)
/// do not count.
pub fn deletions_in(msgs: Messages<'_>) -> bool {
    let mut hit = false;
    for m in msgs {
        let Ok(m) = m else { return true };
        let k = m.kind.wrapping_sub(SUBSYS);
        let deleted = [libc::NFT_MSG_DELTABLE, libc::NFT_MSG_DELCHAIN, libc::NFT_MSG_DELRULE, libc::NFT_MSG_DELSET]
            .iter()
            .any(|&d| k == d as u16);
        hit |= m.kind & 0xff00 == SUBSYS && deleted;
    }
    hit
}

impl std::os::fd::AsRawFd for FenceWatch {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }
}

/// Set-element changes must travel inside a batch (a transaction).
fn batch_begin(req: &mut Request) {
    req.message(BATCH_BEGIN, F_REQUEST).header(&nfgenmsg(libc::AF_UNSPEC as u8, libc::NFNL_SUBSYS_NFTABLES as u16));
}

fn batch_end(req: &mut Request) {
    req.message(BATCH_END, F_REQUEST).header(&nfgenmsg(libc::AF_UNSPEC as u8, libc::NFNL_SUBSYS_NFTABLES as u16));
}

/// One message naming the element `ifindex` of `open`. The key of an
/// `iface_index` set is the index in host byte order; nftables timeouts are
/// big-endian milliseconds.
fn element(req: &mut Request, kind: u16, flags: u16, ifindex: u32, timeout_ms: Option<u64>) {
    req.message(kind, F_REQUEST | F_ACK | flags)
        .header(&nfgenmsg(NETDEV, 0))
        .attr_str(NFTA_SET_ELEM_LIST_TABLE, TABLE)
        .attr_str(NFTA_SET_ELEM_LIST_SET, OPEN_SET)
        .nest(NFTA_SET_ELEM_LIST_ELEMENTS)
        .nest(NFTA_LIST_ELEM)
        .nest(NFTA_SET_ELEM_KEY)
        .attr_u32_ne(NFTA_DATA_VALUE, ifindex)
        .end_nest();
    if let Some(ms) = timeout_ms {
        req.attr_u64_be(NFTA_SET_ELEM_TIMEOUT, ms);
    }
    req.end_nest().end_nest();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::packet::PacketSocket;
    use crate::system::testnet::{Netns, veth};
    use crate::wire::{EthernetRepr, Mac};
    use nix::sys::socket::MsgFlags;
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};

    #[test]
    fn ruleset_text() {
        let text = ruleset(&[("eth0.2", 0x88b5), ("wan-b", 0x9000)]).unwrap();
        assert!(text.starts_with("table netdev vwrp {}\ndelete table netdev vwrp\ntable netdev vwrp {\n"));
        assert!(text.contains(
            "  chain in_eth0.2 { type filter hook ingress device \"eth0.2\" priority -500; policy drop; \
             ether type 0x88b5 accept; meta iif @open accept; }\n"
        ));
        assert!(text.contains(
            "  chain out_wan-b { type filter hook egress device \"wan-b\" priority -500; policy drop; \
             ether type 0x9000 accept; meta oif @open accept; }\n"
        ));
        for bad in [
            &[("", 0x88b5)][..],
            &[("a\"b", 0x88b5)],
            &[("x", 0x05ff)],
            &[("waaaaaaaaaaaaaan", 0x88b5)],
            &[("a", 0x88b5), ("a", 0x88b5)],
        ] {
            assert_eq!(ruleset(bad).unwrap_err().kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    /// `fenced` holds WAN device `wa` behind the fence; `peer` is the other
    /// end of the wire with `wb`.
    struct Bed {
        fenced: Netns,
        peer: Netns,
        wa: u32,
        wb: u32,
    }

    const VWRP: u16 = 0x88b5;
    const OTHER: u16 = 0x88b6;
    const MARKER: &[u8] = b"vwrp fence test frame";

    fn bed(tag: &str) -> Bed {
        let fenced = Netns::new(&format!("{tag}f"));
        let peer = Netns::new(&format!("{tag}p"));
        veth(&fenced, "wa", &peer, "wb");
        fenced.ok("ip addr add 192.0.2.1/24 dev wa");
        peer.ok("ip addr add 192.0.2.2/24 dev wb");
        let (wa, wb) = (fenced.ifindex("wa"), peer.ifindex("wb"));
        fenced.enter(|| install(&[("wa", VWRP)])).unwrap();
        Bed { fenced, peer, wa, wb }
    }

    fn can_ping(bed: &Bed) -> bool {
        bed.peer.ping("192.0.2.1")
    }

    /// Whether a frame of `ethertype` sent from `from` reaches a socket
    /// bound to that EtherType on the other end.
    fn frame_passes(bed: &Bed, ethertype: u16, outbound: bool) -> bool {
        let (tx_ns, tx_if, rx_ns, rx_if) =
            if outbound { (&bed.fenced, bed.wa, &bed.peer, bed.wb) } else { (&bed.peer, bed.wb, &bed.fenced, bed.wa) };
        let rx = rx_ns.enter(|| PacketSocket::open(rx_if, ethertype)).unwrap();
        let tx = tx_ns.enter(|| PacketSocket::open(tx_if, ethertype)).unwrap();
        let marker = EthernetRepr { dst: Mac::BROADCAST, src: Mac([2, 0, 0, 0, 0, 1]), ethertype }
            .frame(|out| out.extend_from_slice(MARKER));
        // A fenced sender may be refused outright (ENOBUFS): not passed.
        if tx.send(&marker).is_err() {
            return false;
        }
        let deadline = Instant::now() + Duration::from_millis(300);
        let mut buf = [0u8; 2048];
        while Instant::now() < deadline {
            match rx.recv(&mut buf) {
                Ok(Some((n, _))) if buf[..n.min(buf.len())] == marker[..] => return true,
                Ok(Some(_)) => {}
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        false
    }

    #[test]
    fn closed_fence_passes_only_vwrp_frames() {
        let bed = bed("fc");
        assert!(bed.fenced.enter(|| Fence::open()?.table_present()).unwrap());
        assert!(!can_ping(&bed), "ping crossed a closed fence");
        assert!(frame_passes(&bed, VWRP, false), "vwrp frame blocked inbound");
        assert!(frame_passes(&bed, VWRP, true), "vwrp frame blocked outbound");
        assert!(!frame_passes(&bed, OTHER, false), "other EtherType passed inbound");
        assert!(!frame_passes(&bed, OTHER, true), "other EtherType passed outbound");

        // Open: everything passes, so the checks above could have failed.
        let mut fence = bed.fenced.enter(Fence::open).unwrap();
        fence.refresh(bed.wa, Duration::from_secs(10)).unwrap();
        assert!(frame_passes(&bed, OTHER, false) && frame_passes(&bed, OTHER, true));
        assert!(can_ping(&bed));
    }

    #[test]
    fn permission_expires_by_itself_and_closes_at_once() {
        let bed = bed("ex");
        let mut fence = bed.fenced.enter(Fence::open).unwrap();
        fence.refresh(bed.wa, Duration::from_millis(300)).unwrap();
        assert!(can_ping(&bed), "ping blocked right after refresh");
        std::thread::sleep(Duration::from_millis(400));
        assert!(!can_ping(&bed), "permission outlived its timeout");

        fence.refresh(bed.wa, Duration::from_secs(30)).unwrap();
        assert!(can_ping(&bed));
        fence.close(bed.wa).unwrap();
        assert!(!can_ping(&bed), "close did not stop forwarding");
        fence.close(bed.wa).unwrap(); // already closed: fine
    }

    #[test]
    fn refresh_restarts_the_timeout() {
        let bed = bed("rf");
        let mut fence = bed.fenced.enter(Fence::open).unwrap();
        let timeout = Duration::from_millis(400);
        fence.refresh(bed.wa, timeout).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        fence.refresh(bed.wa, timeout).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        // 500 ms after the first refresh, only the second one keeps it open
        // (until 700 ms).
        assert!(can_ping(&bed), "the second refresh did not extend the permission");
        // A zero timeout must not become a permanent element.
        fence.refresh(bed.wa, Duration::ZERO).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(!can_ping(&bed), "zero timeout left the fence open");
    }

    #[test]
    fn flush_is_noticed_and_install_restores() {
        let bed = bed("fl");
        let mut fence = bed.fenced.enter(Fence::open).unwrap();
        assert!(fence.table_present().unwrap());
        bed.fenced.ok("nft flush ruleset");
        assert!(!fence.table_present().unwrap());
        assert!(can_ping(&bed), "nothing filters after a flush");
        let err = fence.refresh(bed.wa, Duration::from_secs(1)).unwrap_err();
        assert!(is_errno(&err, Errno::ENOENT), "{err}");
        fence.close(bed.wa).unwrap();

        bed.fenced.enter(|| install(&[("wa", VWRP)])).unwrap();
        assert!(fence.table_present().unwrap());
        assert!(!can_ping(&bed));
        // Installing again over a live table is fine and empties `open`.
        fence.refresh(bed.wa, Duration::from_secs(10)).unwrap();
        bed.fenced.enter(|| install(&[("wa", VWRP)])).unwrap();
        assert!(!can_ping(&bed));

        bed.fenced.enter(uninstall).unwrap();
        assert!(!fence.table_present().unwrap());
        bed.fenced.enter(uninstall).unwrap();
    }

    /// Whether a datagram waits on the watch's socket.
    fn queued(w: &FenceWatch) -> bool {
        let mut b = [0u8; 1];
        let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
        nix::sys::socket::recv(w.as_raw_fd(), &mut b, flags).is_ok()
    }

    #[test]
    fn the_watch_hears_deletions_and_not_refreshes() {
        let bed = bed("wa");
        let mut watch = bed.fenced.enter(FenceWatch::open).unwrap();
        let mut fence = bed.fenced.enter(Fence::open).unwrap();
        for _ in 0..3 {
            fence.refresh(bed.wa, Duration::from_secs(1)).unwrap();
        }
        fence.close(bed.wa).unwrap();
        assert!(!queued(&watch), "woken by permit refreshes");
        // A rule added is heard but is no deletion.
        bed.fenced.ok("nft add chain netdev vwrp extra");
        assert!(queued(&watch));
        assert!(!watch.deletions());
        bed.fenced.ok("nft flush ruleset");
        assert!(watch.deletions());
        assert!(!queued(&watch));
    }

    #[test]
    fn refresh_cost_versus_nft_command() {
        let bed = bed("co");
        let mut fence = bed.fenced.enter(Fence::open).unwrap();
        const N: u32 = 2000;
        let start = Instant::now();
        for _ in 0..N {
            fence.refresh(bed.wa, Duration::from_millis(300)).unwrap();
        }
        let netlink = start.elapsed() / N;

        const M: u32 = 20;
        let spawned = bed.fenced.enter(|| {
            let start = Instant::now();
            for _ in 0..M {
                let ok = Command::new("nft")
                    .args(["add", "element", "netdev", TABLE, OPEN_SET, "{ \"wa\" timeout 300ms }"])
                    .status()
                    .unwrap()
                    .success();
                assert!(ok);
            }
            start.elapsed() / M
        });
        println!("refresh over netlink: {} µs; `nft add element`: {} µs", netlink.as_micros(), spawned.as_micros());
        assert!(netlink < spawned);
    }
}
