//! The group's DHCPv6 client on the WAN: one exchange at a time, of the
//! active router only.
//!
//! Every router is the same client (one DUID, one IAID for an IA_NA and
//! an IA_PD), and the active carries the binding in its hellos, so a new
//! active only confirms it: RENEW to the server that granted it (REBIND
//! to any server after T2, or when the server is not known). Only without
//! a binding does it SOLICIT, then REQUEST from the first server that
//! advertises one. It never sends RELEASE or DECLINE (docs/PROTOCOL.md §7).
//! odhcp6c cannot do this: it always begins with SOLICIT, and releases on
//! SIGTERM (docs/OPENWRT.md).
//!
//! The engine times the exchange (`Action::RetransmitDhcp6`), as it
//! does DHCPv4's; this holds the socket and the message in flight. The
//! messages are `wire::dhcpv6`'s.
//!
//! A message goes from the WAN's link-local address, which is tentative
//! for a second or two after the link comes up (duplicate address
//! detection): the kernel refuses to send until it is usable
//! (EADDRNOTAVAIL), and a router that takes the WAN at start-up gets
//! there first. Its exchange is not failed for that: the message goes at
//! the next retransmission, and an exchange given up while it still could
//! not send is a failure (`Client6::unsent`).

use std::io;
use std::net::{Ipv6Addr, SocketAddrV6, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use nix::sys::socket::{self, AddressFamily, SockFlag, SockProtocol, SockType, SockaddrIn6, sockopt};

use crate::wire::dhcpv6::{ALL_SERVERS, Answer, CLIENT_PORT, Reply, Request, SERVER_PORT, msg};
use crate::wire::{Ia6, Lease6};

/// How an exchange ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome6 {
    /// The server granted (or confirmed) this binding; times from now. Its
    /// `duid` is the client identity it was granted to.
    Bound(Lease6),
    /// The server has no binding for us: solicit a new one.
    Lost,
}

/// The client identity: DUID and the IAID of both IAs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub duid: Vec<u8>,
    pub iaid: u32,
}

/// One exchange in flight on the WAN.
#[derive(Debug)]
pub struct Client6 {
    sock: UdpSocket,
    to: SocketAddrV6,
    id: Identity,
    /// The message type in flight (a SOLICIT becomes a REQUEST).
    kind: u8,
    xid: u32,
    message: Vec<u8>,
    /// The last copy of the message could not go: no usable link-local
    /// address.
    unsent: bool,
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

impl Client6 {
    /// Sends the first message of an exchange on `ifname` (index
    /// `ifindex`): SOLICIT (with `binding`'s addresses and prefixes as
    /// hints), RENEW (to `binding`'s server) or REBIND. No usable
    /// link-local address yet is no error: see [`Client6::unsent`].
    pub fn start(ifname: &str, ifindex: u32, kind: u8, id: &Identity, binding: &Lease6) -> io::Result<Client6> {
        let fd = socket::socket(
            AddressFamily::Inet6,
            SockType::Datagram,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            SockProtocol::Udp,
        )?;
        socket::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
        socket::setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
        socket::setsockopt(&fd, sockopt::BindToDevice, &std::ffi::OsString::from(ifname))?;
        socket::bind(fd.as_raw_fd(), &SockaddrIn6::from(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, CLIENT_PORT, 0, 0)))?;
        let mut c = Client6 {
            sock: UdpSocket::from(fd),
            to: SocketAddrV6::new(ALL_SERVERS, SERVER_PORT, 0, ifindex),
            id: id.clone(),
            kind,
            xid: 0,
            message: Vec::new(),
            unsent: false,
        };
        let server = binding.server.as_ref().map(|s| s.duid.as_slice());
        if kind == msg::RENEW && server.is_none() {
            return Err(invalid("RENEW without a server"));
        }
        c.send(kind, server.filter(|_| kind == msg::RENEW), &binding.addresses, &binding.prefixes)?;
        Ok(c)
    }

    /// A new transaction: its message built and sent once.
    fn send(&mut self, kind: u8, server: Option<&[u8]>, addresses: &[Ia6], prefixes: &[Ia6]) -> io::Result<()> {
        self.kind = kind;
        self.xid = super::random::u32() & 0xff_ffff;
        let r = Request { kind, xid: self.xid, client: &self.id.duid, server, iaid: self.id.iaid, addresses, prefixes };
        self.message = r.build().ok_or_else(|| invalid("DUID longer than 130 bytes"))?;
        self.retransmit()
    }

    /// The message in flight again (same transaction id, so an answer to
    /// an earlier copy still counts). Without a usable link-local address
    /// (still tentative) it waits for the next one: `Ok`, logged at debug.
    pub fn retransmit(&mut self) -> io::Result<()> {
        let sent = self.sock.send_to(&self.message, self.to);
        self.unsent = sent.as_ref().is_err_and(|e| e.raw_os_error() == Some(nix::libc::EADDRNOTAVAIL));
        if self.unsent {
            crate::logging::debug!("dhcpv6: no usable link-local address yet: sent later");
            return Ok(());
        }
        sent.map(drop)
    }

    /// The last copy of the message could not go for want of a usable
    /// link-local address: for an exchange given up, a real failure.
    pub fn unsent(&self) -> bool {
        self.unsent
    }

    /// The message type in flight.
    pub fn kind(&self) -> u8 {
        self.kind
    }

    /// Reads everything waiting. An ADVERTISE to our SOLICIT is answered
    /// with a REQUEST to its server at once; a REPLY ends the exchange.
    /// Anything else (other transactions, other clients, errors) is
    /// dropped.
    pub fn on_readable(&mut self) -> Option<Outcome6> {
        let mut buf = [0u8; 1500];
        loop {
            let (n, from) = match self.sock.recv_from(&mut buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if e.kind() != io::ErrorKind::WouldBlock {
                        crate::logging::debug!("dhcpv6: recv: {e}");
                    }
                    return None;
                }
            };
            let r = match Reply::parse(buf.get(..n).unwrap_or(&[])) {
                Ok(r) => r,
                Err(e) => {
                    crate::logging::debug!("dhcpv6: {from}: {e}");
                    continue;
                }
            };
            if r.xid != self.xid || r.client.as_deref() != Some(&self.id.duid[..]) || from.port() != SERVER_PORT {
                continue;
            }
            match (self.kind, r.kind) {
                (msg::SOLICIT, msg::ADVERTISE) => {
                    let (Some(server), Answer::Bound(offer)) = (r.server.as_deref(), r.answer(self.id.iaid)) else {
                        continue;
                    };
                    if let Err(e) = self.send(msg::REQUEST, Some(server), &offer.addresses, &offer.prefixes) {
                        crate::logging::debug!("dhcpv6: REQUEST: {e}");
                    }
                }
                (msg::SOLICIT, _) | (_, msg::ADVERTISE) => {}
                (_, msg::REPLY) => match r.answer(self.id.iaid) {
                    Answer::Bound(mut l) => {
                        l.duid = Some((self.id.iaid, self.id.duid.clone()));
                        return Some(Outcome6::Bound(l));
                    }
                    Answer::Lost => return Some(Outcome6::Lost),
                    Answer::Ignore => crate::logging::debug!("dhcpv6: {from}: REPLY with status {}", r.status),
                },
                _ => {}
            }
        }
    }
}

impl AsRawFd for Client6 {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for Client6 {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

/// Against a real Kea DHCPv6 server in network namespaces.
#[cfg(test)]
mod netns_tests {
    use super::*;
    use crate::system::testnet::{Netns, veth};
    use crate::system::testservers::{self as servers, KeaFiles};
    use std::time::{Duration, Instant};

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn id() -> Identity {
        Identity { duid: vec![0, 3, 0, 1, 0x02, 0x76, 0x77, 0x72, 0x70, 0x01], iaid: 1 }
    }

    /// An ISP namespace running Kea and a client namespace, joined by a
    /// veth pair; all removed on drop.
    struct Bed {
        kea: KeaFiles,
        cli: Netns,
        _isp: Netns,
        ifindex: u32,
    }

    impl Drop for Bed {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.kea.dir);
        }
    }

    fn wait(mut ok: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn bed(tag: &str) -> Bed {
        let mut isp = Netns::new(&format!("{tag}i"));
        let cli = Netns::new(&format!("{tag}c"));
        veth(&isp, "cust", &cli, "wan");
        isp.exec(["ip", "addr", "add", "2001:db8:0:1::1/64", "dev", "cust", "nodad"]);
        // Both link-locals must have passed DAD: Kea binds to its own, the
        // client sends from its.
        for (ns, dev) in [(&isp, "cust"), (&cli, "wan")] {
            let cmd = format!("ip -6 addr show dev {dev} scope link");
            assert!(wait(|| !ns.ok(&cmd).contains("tentative")), "DAD on {dev}");
        }
        let dir = std::env::temp_dir().join(format!("vwrp-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("kea.json");
        std::fs::write(&conf, servers::kea_config(&dir, "cust")).unwrap();
        let argv = servers::kea_argv(&dir, &conf);
        isp.spawn(&argv.iter().map(String::as_str).collect::<Vec<_>>(), &dir.join("kea.out"));
        let kea = KeaFiles { dir };
        assert!(kea.wait_started(), "Kea did not start: {}", kea.log());
        let ifindex = cli.ifindex("wan");
        Bed { kea, cli, _isp: isp, ifindex }
    }

    fn exchange(b: &Bed, kind: u8, binding: &Lease6) -> Option<Outcome6> {
        let mut c = b.cli.enter(|| Client6::start("wan", b.ifindex, kind, &id(), binding)).unwrap();
        let mut got = None;
        wait(|| {
            got = c.on_readable();
            got.is_some()
        });
        got
    }

    fn ia(s: &str, len: u8) -> (Ipv6Addr, u8) {
        (a(s), len)
    }

    /// SOLICIT, ADVERTISE, REQUEST, REPLY: one address and one prefix;
    /// then RENEW and REBIND confirm the same binding, and the server saw
    /// one client and no RELEASE.
    #[test]
    fn solicit_then_renew_and_rebind_the_same_binding() {
        let b = bed("d6");
        let Some(Outcome6::Bound(l)) = exchange(&b, msg::SOLICIT, &Lease6::default()) else {
            panic!("no binding: {}", b.kea.log())
        };
        let pairs = |v: &[Ia6]| v.iter().map(|i| (i.address, i.prefix_len)).collect::<Vec<_>>();
        assert_eq!(pairs(&l.addresses), [ia(servers::IA_NA, 128)]);
        assert_eq!(pairs(&l.prefixes), [ia(servers::PD, servers::PD_LEN)]);
        assert_eq!((l.addresses[0].preferred_left, l.addresses[0].valid_left), (servers::PREFERRED, servers::VALID));
        assert_eq!(l.dns, vec![a(servers::DNS6)]);
        assert_eq!(l.duid, Some((1, id().duid)));
        let s = l.server.clone().unwrap();
        assert_eq!((s.duid, s.renew_left, s.rebind_left), (b.kea.server_duid(), 1000, 2000));

        for kind in [msg::RENEW, msg::REBIND] {
            let Some(Outcome6::Bound(again)) = exchange(&b, kind, &l) else { panic!("{kind}: {}", b.kea.log()) };
            assert_eq!((&again.addresses, &again.prefixes), (&l.addresses, &l.prefixes), "message {kind}");
        }
        assert_eq!(b.kea.messages(), ["SOLICIT", "REQUEST", "RENEW", "REBIND"], "{}", b.kea.log());
        assert_eq!(b.kea.leases().len(), 2, "one address and one prefix: {}", b.kea.lease_file());
    }

    /// Without a usable link-local address (none at all, then one still
    /// tentative, as on a link just up) the kernel refuses the SOLICIT:
    /// the exchange is not failed but says it has sent nothing, and
    /// the first retransmission past DAD sends it.
    #[test]
    fn a_solicit_refused_until_dad_is_over_goes_at_a_retransmission() {
        let b = bed("d8");
        b.cli.ok("ip addr flush dev wan scope link");
        let mut c = b.cli.enter(|| Client6::start("wan", b.ifindex, msg::SOLICIT, &id(), &Lease6::default())).unwrap();
        assert!(c.unsent());
        b.cli.ok("ip addr add fe80::8/64 dev wan");
        c.retransmit().unwrap();
        assert!(b.cli.ok("ip -6 addr show dev wan").contains("tentative"), "DAD over before the retransmission");
        assert!(c.unsent());
        assert!(wait(|| !b.cli.ok("ip -6 addr show dev wan").contains("tentative")), "DAD on wan");
        c.retransmit().unwrap();
        assert!(!c.unsent());
        let mut got = None;
        wait(|| {
            got = c.on_readable();
            got.is_some()
        });
        assert!(matches!(got, Some(Outcome6::Bound(_))), "{got:?}: {}", b.kea.log());
        assert_eq!(b.kea.messages(), ["SOLICIT", "REQUEST"]);
    }

    /// A server without the binding (restarted without its lease file):
    /// Kea 2.2 grants the RENEW's addresses and prefix anew when they are
    /// free (RFC 8415 §18.3.4 lets it), so a lost database costs nothing.
    /// A server that refuses says NoBinding instead, and the engine then
    /// solicits (`wire::dhcpv6`'s tests).
    #[test]
    fn renew_of_a_binding_the_server_lacks_is_granted_again() {
        let b = bed("d7");
        let e = |s: &str, prefix_len| Ia6 { address: a(s), prefix_len, preferred_left: 100, valid_left: 200 };
        let l = Lease6 {
            addresses: vec![e(servers::IA_NA, 128)],
            prefixes: vec![e(servers::PD, servers::PD_LEN)],
            server: Some(crate::wire::Server6 { duid: b.kea.server_duid(), renew_left: 0, rebind_left: 100 }),
            ..Lease6::default()
        };
        let Some(Outcome6::Bound(again)) = exchange(&b, msg::RENEW, &l) else { panic!("{}", b.kea.log()) };
        let pairs = |v: &[Ia6]| v.iter().map(|i| (i.address, i.prefix_len)).collect::<Vec<_>>();
        assert_eq!((pairs(&again.addresses), pairs(&again.prefixes)), (pairs(&l.addresses), pairs(&l.prefixes)));
        assert_eq!(b.kea.messages(), ["RENEW"]);
    }
}
