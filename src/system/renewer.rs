//! Renewing a DHCPv4 lease this router did not obtain itself.
//!
//! busybox udhcpc always starts with DISCOVER, which a new active must not
//! need: it already holds the lease the old active carried in its hellos.
//! `Renewer` therefore only does what RFC 2131 §4.4.5 calls RENEWING (a
//! DHCPREQUEST unicast to the server that granted the lease) and REBINDING
//! (the same request broadcast), with `ciaddr` set and no requested-address
//! or server-id option; and after a restart of the daemon, with a lease
//! kept from before it (system::stored_lease), INIT-REBOOT (§4.3.2): the
//! request broadcast with the address in option 50, `ciaddr` 0, no server
//! id. That one goes out and comes back as whole frames on the WAN device,
//! as udhcpc's do: the address is not configured yet, so the kernel would
//! pick another interface's as the source, and could drop the answer on
//! its reverse-path check. The messages are `wire::dhcpv4`'s.
//!
//! What dnsmasq 2.90 does with such a request (tests below): it ACKs a
//! lease it holds, whichever router sends it (same MAC, same client id).
//! For a lease it does not hold (expired, database lost, never given) it
//! broadcasts a DHCPNAK to the unicast renewal and ignores the broadcast
//! rebinding, unless it runs with --dhcp-authoritative: then it ACKs both
//! at once, without a ping check, and records the lease again.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};

use nix::libc;
use nix::sys::socket::{self, AddressFamily, SockFlag, SockProtocol, SockType, SockaddrIn, sockopt};

use super::packet::{PacketSocket, PacketType};
use crate::wire::dhcpv4::{
    self, CLIENT_PORT, SERVER_PORT, build_init_reboot, build_request, client_broadcast_frame, msg,
};
use crate::wire::ethertype;
use crate::wire::{Lease4, Mac};

/// How a renewal ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenewOutcome {
    /// The server extended the lease; times are counted from now.
    Ack(Lease4),
    /// The server refused: the address is no longer ours.
    Nak,
}

/// One DHCPREQUEST in flight and the socket its answer comes back to. The
/// caller owns the timing: it polls the fd and calls `retransmit` on its
/// own schedule (RFC 2131 §4.4.5: half the time left, at least 60 s).
#[derive(Debug)]
pub struct Renewer {
    io: Io,
    xid: u32,
    mac: Mac,
    lease: Lease4,
}

#[derive(Debug)]
enum Io {
    /// RENEWING and REBINDING, from the leased address's port 68.
    Udp { sock: UdpSocket, request: Vec<u8>, to: SocketAddrV4 },
    /// INIT-REBOOT: the whole broadcast frame out, IPv4 frames in.
    Frames { sock: PacketSocket, frame: Vec<u8> },
}

fn too_long() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "client id longer than 255 bytes")
}

impl Renewer {
    /// Sends the first DHCPREQUEST for `lease`, which must already be
    /// configured on `ifname`. RENEWING unicasts to the lease's server;
    /// `rebinding` (or a lease without a server id) broadcasts. Either way
    /// the request leaves from leased-address:68.
    ///
    /// The socket is bound to 0.0.0.0:68 on `ifname`, not to the leased
    /// address: servers broadcast DHCPNAK (RFC 2131 §4.3.2; dnsmasq 2.90
    /// does so even for a unicast renewal), and a socket bound to a unicast
    /// address never sees it. SO_REUSEADDR lets a DHCP client holding the
    /// same port coexist.
    pub fn start(ifname: &str, mac: Mac, lease: &Lease4, client_id: &[u8], rebinding: bool) -> io::Result<Renewer> {
        let xid = super::random::u32();
        let request = build_request(xid, mac, lease.address, client_id).ok_or_else(too_long)?;
        let broadcast = rebinding || lease.server_id.is_unspecified();
        let to = SocketAddrV4::new(if broadcast { Ipv4Addr::BROADCAST } else { lease.server_id }, SERVER_PORT);
        let fd = socket::socket(
            AddressFamily::Inet,
            SockType::Datagram,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            SockProtocol::Udp,
        )?;
        socket::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
        socket::setsockopt(&fd, sockopt::BindToDevice, &std::ffi::OsString::from(ifname))?;
        socket::setsockopt(&fd, sockopt::Broadcast, &true)?;
        socket::bind(fd.as_raw_fd(), &SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CLIENT_PORT)))?;
        let io = Io::Udp { sock: UdpSocket::from(fd), request, to };
        let r = Renewer { io, xid, mac, lease: lease.clone() };
        r.retransmit()?;
        Ok(r)
    }

    /// INIT-REBOOT for `lease`, kept from before a restart and not
    /// configured: asks the server for its address back on link `ifindex`.
    /// An ACK is the lease again; a NAK or silence means a new DISCOVER.
    pub fn init_reboot(ifindex: u32, mac: Mac, lease: &Lease4, client_id: &[u8]) -> io::Result<Renewer> {
        let xid = super::random::u32();
        let request = build_init_reboot(xid, mac, lease.address, client_id).ok_or_else(too_long)?;
        let io = Io::Frames {
            sock: PacketSocket::open(ifindex, ethertype::IPV4)?,
            frame: client_broadcast_frame(mac, &request),
        };
        let r = Renewer { io, xid, mac, lease: lease.clone() };
        r.retransmit()?;
        Ok(r)
    }

    /// Sends the same request again (same xid, so a late answer to an
    /// earlier copy still counts).
    pub fn retransmit(&self) -> io::Result<()> {
        let (sock, request, to) = match &self.io {
            Io::Frames { sock, frame } => return sock.send(frame),
            Io::Udp { sock, request, to } => (sock, request, to),
        };
        // The source address is set per packet (IP_PKTINFO) because the
        // socket is bound to the wildcard address.
        let info = libc::in_pktinfo {
            ipi_ifindex: 0,
            ipi_spec_dst: libc::in_addr { s_addr: u32::from(self.lease.address).to_be() },
            ipi_addr: libc::in_addr { s_addr: 0 },
        };
        let iov = [io::IoSlice::new(request)];
        let cmsg = [socket::ControlMessage::Ipv4PacketInfo(&info)];
        let to = SockaddrIn::from(*to);
        socket::sendmsg(sock.as_raw_fd(), &iov, &cmsg, socket::MsgFlags::empty(), Some(&to))?;
        Ok(())
    }

    pub fn xid(&self) -> u32 {
        self.xid
    }

    /// The next DHCP message from a server, or `None` when nothing more is
    /// waiting.
    fn next_message(&self, buf: &mut [u8]) -> Option<(usize, usize)> {
        loop {
            let got = match &self.io {
                Io::Udp { sock, .. } => match sock.recv_from(buf) {
                    Ok((n, from)) if from.port() == SERVER_PORT => Ok(Some((0, n))),
                    Ok(_) => Ok(None),
                    Err(e) => Err(e),
                },
                Io::Frames { sock, .. } => match sock.recv(buf) {
                    Ok(Some((_, PacketType::Outgoing))) => Ok(None),
                    Ok(Some((n, _))) => {
                        let frame = buf.get(..n).unwrap_or(&[]);
                        Ok(dhcpv4::server_message(frame).map(|m| {
                            let start = m.as_ptr() as usize - frame.as_ptr() as usize;
                            (start, start + m.len())
                        }))
                    }
                    Ok(None) => return None,
                    Err(e) => Err(e),
                },
            };
            match got {
                Ok(Some(range)) => return Some(range),
                Ok(None) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if e.kind() != io::ErrorKind::WouldBlock {
                        crate::logging::debug!("dhcp renew: recv: {e}");
                    }
                    return None;
                }
            }
        }
    }

    /// Reads everything waiting; the first ACK or NAK for this request ends
    /// the renewal. Anything else (other xids, other clients, an ACK for a
    /// different address) is dropped.
    pub fn on_readable(&mut self) -> Option<RenewOutcome> {
        let mut buf = [0u8; 1514];
        while let Some((start, end)) = self.next_message(&mut buf) {
            let m = match dhcpv4::Message::parse(buf.get(start..end).unwrap_or(&[])) {
                Ok(m) => m,
                Err(e) => {
                    crate::logging::debug!("dhcp renew: {e}");
                    continue;
                }
            };
            if m.op != dhcpv4::BOOTREPLY || m.xid != self.xid || m.chaddr != self.mac {
                continue;
            }
            match m.message_type {
                msg::NAK => return Some(RenewOutcome::Nak),
                msg::ACK if m.yiaddr == self.lease.address => match m.lease(&self.lease) {
                    Some(l) => return Some(RenewOutcome::Ack(l)),
                    None => crate::logging::debug!("dhcp renew: ACK without a lease time"),
                },
                msg::ACK => {
                    crate::logging::debug!("dhcp renew: ACK for {} instead of {}", m.yiaddr, self.lease.address)
                }
                _ => {}
            }
        }
        None
    }
}

impl AsRawFd for Renewer {
    fn as_raw_fd(&self) -> RawFd {
        match &self.io {
            Io::Udp { sock, .. } => sock.as_raw_fd(),
            Io::Frames { sock, .. } => sock.as_raw_fd(),
        }
    }
}

/// Against a real dnsmasq and busybox udhcpc in network namespaces.
#[cfg(test)]
mod netns_tests {
    use super::super::packet::PacketSocket;
    use super::*;
    use crate::system::testnet::{Netns, veth};
    use crate::system::udhcpc::{busybox_client_id, lease_from_udhcpc_env};
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    const MAC: Mac = Mac([0x02, 0x00, 0x5e, 0x00, 0x53, 0x01]);

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// An ISP namespace running dnsmasq, a client namespace whose veth
    /// carries the shared MAC, and a scratch directory; all removed on drop.
    struct Isp {
        dir: PathBuf,
        dnsmasq: Child,
        cli: Netns,
        isp: Netns,
    }

    impl Drop for Isp {
        fn drop(&mut self) {
            let _ = self.dnsmasq.kill();
            let _ = self.dnsmasq.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    impl Isp {
        fn new(tag: &str) -> Isp {
            Isp::with_args(tag, &[])
        }

        fn with_args(tag: &str, extra: &[&str]) -> Isp {
            let isp = Netns::new(&format!("{tag}i"));
            let cli = Netns::new(&format!("{tag}c"));
            veth(&isp, "isp0", &cli, "cli0");
            cli.exec(["ip", "link", "set", "cli0", "address", &MAC.to_string()]);
            isp.exec(["ip", "addr", "add", "203.0.113.1/24", "dev", "isp0"]);
            let dir = std::env::temp_dir().join(format!("vwrp-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("bin")).unwrap();
            let p = |f: &str| dir.join(f).to_str().unwrap().to_owned();
            let dnsmasq = Command::new("ip")
                .args(["netns", "exec", &isp.name, "dnsmasq", "--keep-in-foreground", "--log-dhcp"])
                .arg(format!("--log-facility={}", p("log")))
                .arg("--dhcp-range=203.0.113.10,203.0.113.10,255.255.255.0,2m")
                .arg(format!("--dhcp-leasefile={}", p("leases")))
                .arg(format!("--pid-file={}", p("pid")))
                .args(["--conf-file=/dev/null", "--no-resolv", "--port=0", "--user=root"])
                .args(["--interface=isp0", "--bind-interfaces", "--dhcp-option=6,203.0.113.53,203.0.113.54"])
                .args(extra)
                .stdin(Stdio::null())
                .spawn()
                .expect("dnsmasq (apt-get install dnsmasq)");
            let s = Isp { dir, dnsmasq, cli, isp };
            assert!(s.wait_log(|l| l.contains("sockets bound exclusively to interface isp0")), "dnsmasq did not start");
            s
        }

        fn log(&self) -> String {
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        }

        fn wait_log(&self, ok: impl Fn(&str) -> bool) -> bool {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if ok(&self.log()) {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            false
        }

        fn count(&self, what: &str) -> usize {
            self.log().lines().filter(|l| l.contains(what)).count()
        }

        /// busybox udhcpc with the real vwrp event script, and a stand-in
        /// `vwrp` on PATH that records its arguments and environment.
        fn udhcpc(&self) -> (Lease4, Option<Vec<u8>>) {
            let d = self.dir.display();
            let fake = format!("#!/bin/sh\necho \"$*\" >> {d}/calls\nenv > {d}/env\n");
            let bin = self.dir.join("bin/vwrp");
            std::fs::write(&bin, fake).unwrap();
            Command::new("chmod").arg("755").arg(&bin).status().unwrap();
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/files/usr/share/vwrp/udhcpc.script");
            let path = format!("{d}/bin:{}", std::env::var("PATH").unwrap_or_default());
            let out = Command::new("ip")
                .args(["netns", "exec", &self.cli.name, "env", &format!("PATH={path}")])
                .args(["busybox", "udhcpc", "-f", "-q", "-n", "-t", "3", "-T", "4", "-i", "cli0", "-s", script])
                .output()
                .expect("busybox (apt-get install busybox)");
            assert!(out.status.success(), "udhcpc: {}", String::from_utf8_lossy(&out.stderr));
            // udhcpc ran deconfig and bound; only bound reached vwrp.
            assert_eq!(std::fs::read_to_string(self.dir.join("calls")).unwrap(), "lease-event\n");
            let env: HashMap<String, String> = std::fs::read_to_string(self.dir.join("env"))
                .unwrap()
                .lines()
                .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
                .collect();
            lease_from_udhcpc_env(|k| env.get(k).cloned()).unwrap()
        }

        /// Runs a renewal from the client namespace for up to `wait`.
        fn renew(&self, lease: &Lease4, rebinding: bool, wait: Duration) -> (Renewer, Option<RenewOutcome>) {
            let id = busybox_client_id(MAC);
            let mut r = self.cli.enter(|| Renewer::start("cli0", MAC, lease, &id, rebinding)).unwrap();
            let deadline = Instant::now() + wait;
            while Instant::now() < deadline {
                if let Some(o) = r.on_readable() {
                    return (r, Some(o));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            (r, None)
        }

        /// The destination MAC and source address of the next DHCP request
        /// the ISP receives.
        fn request_seen(&self, sniff: &PacketSocket) -> Option<(Mac, Ipv4Addr)> {
            let mut buf = [0u8; 1514];
            while let Some((n, _)) = sniff.recv(&mut buf).unwrap() {
                let f = &buf[..n];
                // IPv4, UDP, no IP options, to port 67.
                if f.get(23) == Some(&17) && f.get(14) == Some(&0x45) && f.get(36..38) == Some(&[0, 67]) {
                    let src: [u8; 4] = f[26..30].try_into().unwrap();
                    return Some((Mac(f[..6].try_into().unwrap()), Ipv4Addr::from(src)));
                }
            }
            None
        }
    }

    /// dnsmasq takes a random few seconds off T1 and T2 when it renews.
    fn assert_renewed(got: Option<RenewOutcome>, lease: &Lease4) {
        let Some(RenewOutcome::Ack(new)) = got else { panic!("no ACK: {got:?}") };
        assert!(new.renew_left > 0 && new.renew_left <= lease.renew_left, "{new:?}");
        assert!(new.rebind_left >= new.renew_left && new.rebind_left <= lease.rebind_left, "{new:?}");
        assert_eq!(Lease4 { renew_left: lease.renew_left, rebind_left: lease.rebind_left, ..new }, *lease);
    }

    #[test]
    fn lease_from_udhcpc_then_renew_and_rebind_without_discover() {
        let s = Isp::new("dr");
        let (lease, id) = s.udhcpc();
        assert_eq!(lease, crate::system::udhcpc::tests::expected_lease());
        assert_eq!(id, None, "dnsmasq now echoes the client id");
        // udhcpc may repeat DISCOVER while dnsmasq ping-checks (3 s);
        // from here on there must be none.
        let discovers = s.count("DHCPDISCOVER");
        assert!(discovers >= 1);
        assert_eq!(s.count("DHCPACK"), 1);

        s.cli.exec(["ip", "addr", "add", "203.0.113.10/24", "dev", "cli0"]);
        let isp0 = s.isp.ifindex("isp0");
        let sniff = s.isp.enter(|| PacketSocket::open(isp0, 0x0800).unwrap());
        let isp_mac =
            Mac::parse(String::from_utf8_lossy(&s.isp.exec(["cat", "/sys/class/net/isp0/address"]).stdout).trim())
                .unwrap();

        // RENEWING: unicast to the server, ACKed with the same lease.
        let (_, got) = s.renew(&lease, false, Duration::from_secs(3));
        assert_renewed(got, &lease);
        assert_eq!(s.request_seen(&sniff), Some((isp_mac, lease.address)));
        // REBINDING: broadcast, ACKed too.
        let (_, got) = s.renew(&lease, true, Duration::from_secs(3));
        assert_renewed(got, &lease);
        assert_eq!(s.request_seen(&sniff), Some((Mac([0xff; 6]), lease.address)));

        assert!(s.wait_log(|l| l.matches("DHCPACK(isp0) 203.0.113.10 02:00:5e:00:53:01").count() == 3));
        assert_eq!(s.count("DHCPREQUEST(isp0) 203.0.113.10 02:00:5e:00:53:01"), 3);
        assert_eq!(s.count("DHCPDISCOVER"), discovers);
        let leases = std::fs::read_to_string(s.dir.join("leases")).unwrap();
        assert!(leases.contains("02:00:5e:00:53:01 203.0.113.10 * 01:02:00:5e:00:53:01"), "{leases}");
        assert_eq!(leases.lines().count(), 1);
    }

    /// INIT-REBOOT from the client namespace, waiting up to `wait`.
    fn init_reboot(s: &Isp, lease: &Lease4, wait: Duration) -> Option<RenewOutcome> {
        let id = busybox_client_id(MAC);
        let ifindex = s.cli.ifindex("cli0");
        let mut r = s.cli.enter(|| Renewer::init_reboot(ifindex, MAC, lease, &id)).unwrap();
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if let Some(o) = r.on_readable() {
                return Some(o);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// INIT-REBOOT for the lease dnsmasq holds, with no address on the
    /// client's link: one broadcast REQUEST from 0.0.0.0 with option 50, the
    /// ACK broadcast back; no DISCOVER. Another address gets a NAK; a server
    /// with no record of the client stays silent.
    #[test]
    fn init_reboot_gets_the_lease_back_without_discover() {
        let s = Isp::new("ir");
        let (lease, _) = s.udhcpc();
        let discovers = s.count("DHCPDISCOVER");
        let isp0 = s.isp.ifindex("isp0");
        let sniff = s.isp.enter(|| PacketSocket::open(isp0, 0x0800).unwrap());
        let got = init_reboot(&s, &lease, Duration::from_secs(3));
        assert_renewed(got, &lease);
        assert_eq!(s.request_seen(&sniff), Some((Mac([0xff; 6]), Ipv4Addr::UNSPECIFIED)));
        let log = s.log();
        assert!(log.contains("DHCPREQUEST(isp0) 203.0.113.10 02:00:5e:00:53:01"), "{log}");
        assert!(log.matches("DHCPACK(isp0) 203.0.113.10").count() == 2, "{log}");
        assert_eq!(s.count("DHCPDISCOVER"), discovers, "no DISCOVER");
        // Another address than the one it gave this client: a NAK.
        let other = Lease4 { address: ip("203.0.113.77"), ..lease.clone() };
        assert_eq!(init_reboot(&s, &other, Duration::from_secs(3)), Some(RenewOutcome::Nak), "{}", s.log());
        drop(s);
        // A server without a record of the client (its lease database
        // lost): silence, as RFC 2131 §4.3.2 asks of it.
        let s = Isp::new("i0");
        assert_eq!(init_reboot(&s, &lease, Duration::from_secs(2)), None, "{}", s.log());
    }

    /// dnsmasq (not authoritative) answers a unicast renewal for an address
    /// it did not give with a broadcast DHCPNAK, and ignores a broadcast
    /// rebinding request for it: that one may belong to another server.
    #[test]
    fn request_for_an_address_not_given() {
        let s = Isp::new("dn");
        let (lease, _) = s.udhcpc();
        let discovers = s.count("DHCPDISCOVER");
        let other = Lease4 { address: ip("203.0.113.77"), ..lease };
        s.cli.exec(["ip", "addr", "add", "203.0.113.10/24", "dev", "cli0"]);
        s.cli.exec(["ip", "addr", "add", "203.0.113.77/24", "dev", "cli0"]);
        let isp0 = s.isp.ifindex("isp0");
        let sniff = s.isp.enter(|| PacketSocket::open(isp0, 0x0800).unwrap());

        let (_, got) = s.renew(&other, false, Duration::from_secs(3));
        assert_eq!(got, Some(RenewOutcome::Nak));
        // Sent from the address being renewed, not the primary one.
        assert_eq!(s.request_seen(&sniff).map(|(_, src)| src), Some(other.address));
        let log = s.log();
        assert!(log.contains("DHCPNAK(isp0) 203.0.113.77 02:00:5e:00:53:01 lease not found"), "{log}");
        assert!(log.contains("broadcast response"), "{log}");

        let (mut r, got) = s.renew(&other, true, Duration::from_secs(2));
        assert_eq!(got, None);
        r.retransmit().unwrap();
        let seen = format!("{} available DHCP range", r.xid());
        assert!(s.wait_log(|l| l.matches(&seen).count() == 2), "retransmission not seen");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(r.on_readable(), None);
        let log = s.log();
        assert!(!log.lines().any(|l| l.contains(&r.xid().to_string()) && l.contains("DHCPNAK")), "{log}");
        assert_eq!(s.count("DHCPDISCOVER"), discovers);
    }

    /// A server that lost its lease database (restarted without the lease
    /// file). Not authoritative, dnsmasq NAKs the renewal and ignores the
    /// rebinding; with --dhcp-authoritative it ACKs both at once, without a
    /// ping check, and records the lease again.
    #[test]
    fn server_without_the_lease() {
        let lease = Lease4 {
            address: ip("203.0.113.10"),
            prefix_len: 24,
            gateway: ip("203.0.113.1"),
            server_id: ip("203.0.113.1"),
            lease_time: 3600,
            valid_left: 1000,
            renew_left: 0,
            rebind_left: 0,
            dns: vec![],
        };
        let s = Isp::new("dl");
        s.cli.exec(["ip", "addr", "add", "203.0.113.10/24", "dev", "cli0"]);
        assert_eq!(s.renew(&lease, false, Duration::from_secs(3)).1, Some(RenewOutcome::Nak));
        assert_eq!(s.renew(&lease, true, Duration::from_secs(2)).1, None);
        drop(s);

        let s = Isp::with_args("da", &["--dhcp-authoritative"]);
        s.cli.exec(["ip", "addr", "add", "203.0.113.10/24", "dev", "cli0"]);
        for rebinding in [false, true] {
            let Some(RenewOutcome::Ack(l)) = s.renew(&lease, rebinding, Duration::from_secs(3)).1 else {
                panic!("no ACK, rebinding={rebinding}: {}", s.log())
            };
            assert_eq!((l.address, l.lease_time, l.valid_left, l.dns.len()), (lease.address, 120, 120, 2));
        }
        let leases = std::fs::read_to_string(s.dir.join("leases")).unwrap();
        assert!(leases.contains("02:00:5e:00:53:01 203.0.113.10 * 01:02:00:5e:00:53:01"), "{leases}");
    }
}
