//! conntrackd, the connection tracking sync daemon of conntrack-tools
//! (docs/NATSYNC.md): the configuration vwrp writes for it from
//! /etc/config/vwrp, the requests it makes through conntrackd's own
//! command line (`conntrackd -C CONF -c` and so on), and what `conntrackd
//! -s` says about its caches and its link.
//!
//! vwrp generates the file at run time rather than filling a template
//! shipped in the package: the sync device's IPv4 address is known only
//! once netifd has configured it, and the socket, lock and file paths
//! follow `state_dir`, so that every router of a namespace test bed (one
//! shared /run) and every daemon on a router has its own.

use super::process::Command;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::libc;

/// Where conntrackd's multicast goes: the addresses upstream's examples
/// use, the same on every router.
pub const MULTICAST_GROUP: Ipv4Addr = Ipv4Addr::new(225, 0, 0, 50);
pub const PORT: u16 = 3780;

/// The files of one conntrackd, all in vwrp's `state_dir` (tmpfs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    pub conf: PathBuf,
    pub socket: PathBuf,
    pub lock: PathBuf,
}

impl Paths {
    pub fn in_dir(state_dir: &Path) -> Paths {
        Paths {
            conf: state_dir.join("conntrackd.conf"),
            socket: state_dir.join("conntrackd.sock"),
            lock: state_dir.join("conntrackd.lock"),
        }
    }
}

/// What the generated configuration depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setup {
    /// The link the routers sync over, and this router's address on it.
    pub device: String,
    pub address: Ipv4Addr,
    /// Addresses whose connections stay local: the router's own.
    pub ignore: Vec<IpAddr>,
    /// Entries conntrackd may hold: twice the kernel's table, as
    /// conntrackd.conf(5) advises (it keeps dead entries a while).
    pub hash_limit: u32,
}

/// The (primary) IPv4 address of `device`: conntrackd sends its multicast
/// from it. `None` until netifd has configured one (or the device exists).
pub fn ipv4_address(device: &str) -> io::Result<Option<Ipv4Addr>> {
    if device.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "device name too long"));
    }
    // SAFETY: a plain socket call; the descriptor is owned at once.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a new descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(device.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: SIOCGIFADDR reads ifr_name and writes ifr_addr of `req`
    // (its type differs between glibc and musl: `as _`).
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFADDR as _, &mut req) } < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EADDRNOTAVAIL | libc::ENODEV) => Ok(None),
            _ => Err(e),
        };
    }
    // SAFETY: for SIOCGIFADDR the kernel fills the union with a sockaddr_in.
    let sin = unsafe { *std::ptr::addr_of!(req.ifr_ifru.ifru_addr).cast::<libc::sockaddr_in>() };
    Ok(Some(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))))
}

/// The kernel's table size here, or OpenWrt's usual default.
pub fn kernel_table_size() -> u32 {
    // A number and a newline: one read.
    let mut buf = [0u8; 32];
    let n = std::fs::File::open("/proc/sys/net/netfilter/nf_conntrack_max").and_then(|mut f| f.read(&mut buf));
    let text = n.ok().and_then(|n| std::str::from_utf8(buf.get(..n)?).ok());
    text.and_then(|s| s.trim().parse().ok()).unwrap_or(16384)
}

/// conntrackd.conf for `setup`: FTFW (reliable, with acknowledgements) over
/// multicast on the sync device, the external cache kept (a standby's
/// copies stay in conntrackd, out of its kernel, until a commit), and
/// conntrackd logging to syslog (logd). `Err` names what conntrackd's
/// parser could not take.
pub fn config(setup: &Setup, paths: &Paths) -> Result<String, String> {
    for p in [&paths.socket, &paths.lock] {
        let s = p.to_str().filter(|s| s.len() < 108 && !s.contains(|c: char| c.is_whitespace() || c == '"'));
        if s.is_none() {
            return Err(format!("{}: conntrackd needs a path without spaces, under 108 bytes", p.display()));
        }
    }
    let mut ignore = String::new();
    for a in &setup.ignore {
        let kind = if a.is_ipv4() { "IPv4_address" } else { "IPv6_address" };
        let _ = writeln!(ignore, "\t\t\t{kind} {a}");
    }
    Ok(format!(
        "# vwrp writes this at every start: edit /etc/config/vwrp\n\
         Sync {{\n\
         \tMode FTFW {{\n\
         \t\tStartupResync on\n\
         \t}}\n\
         \tMulticast {{\n\
         \t\tIPv4_address {MULTICAST_GROUP}\n\
         \t\tGroup {PORT}\n\
         \t\tIPv4_interface {address}\n\
         \t\tInterface {device}\n\
         \t\tSndSocketBuffer 1249280\n\
         \t\tRcvSocketBuffer 1249280\n\
         \t}}\n\
         }}\n\
         General {{\n\
         \tHashSize 8192\n\
         \tHashLimit {limit}\n\
         \tLogFile off\n\
         \tSyslog on\n\
         \tLockFile {lock}\n\
         \tUNIX {{\n\
         \t\tPath {socket}\n\
         \t}}\n\
         \tNetlinkBufferSize 2097152\n\
         \tNetlinkBufferSizeMaxGrowth 8388608\n\
         \tFilter From Userspace {{\n\
         \t\tProtocol Accept {{\n\
         \t\t\tTCP\n\t\t\tUDP\n\t\t\tSCTP\n\t\t\tDCCP\n\
         \t\t}}\n\
         \t\tAddress Ignore {{\n\
         {ignore}\
         \t\t}}\n\
         \t}}\n\
         }}\n",
        address = setup.address,
        device = setup.device,
        limit = setup.hash_limit,
        lock = paths.lock.display(),
        socket = paths.socket.display(),
    ))
}

/// Writes the configuration (tmpfs, replaced whole) and removes a lock
/// file a killed conntrackd left: this file's conntrackd is vwrp's child,
/// and none runs when vwrp starts one.
pub fn prepare(text: &str, paths: &Paths) -> io::Result<()> {
    if let Some(dir) = paths.conf.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = paths.conf.with_extension("tmp");
    std::fs::File::create(&tmp)?.write_all(text.as_bytes())?;
    std::fs::rename(&tmp, &paths.conf)?;
    match std::fs::remove_file(&paths.lock) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// `conntrackd -C CONF ARGS…`: the daemon itself (no arguments: it stays
/// in the foreground, as vwrp's child) or a request to it.
pub fn command(paths: &Paths, args: &[&str]) -> Command {
    let argv = argv(paths, args);
    let mut c = Command::new(&argv[0]);
    c.args(&argv[1..]);
    c
}

/// The same as an argument vector, for the hooks' queue.
pub fn argv(paths: &Paths, args: &[&str]) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec!["conntrackd".into(), "-C".into(), paths.conf.clone().into()];
    argv.extend(args.iter().map(OsString::from));
    argv
}

/// Requests after this router took the WAN, as upstream's
/// primary-backup.sh makes them after its commit: forget its own cache,
/// read the kernel's table (the committed entries included: conntrackd
/// does not announce what it commits), send it all to the other routers.
/// Not `-f` for both caches, as the script does: conntrackd 1.4.7 refuses
/// to flush the external cache for good once it has committed ("ignoring
/// flush command, commit still in progress").
pub const BECAME_ACTIVE: [&[&str]; 3] = [&["-f", "internal"], &["-R"], &["-B"]];

/// Requests after this router left the WAN: forget its own connections
/// (they live on at the new active, which announces them; here they only
/// age, and their end must not reach the others as news), then ask the
/// others for theirs. The kernel's entries are left as they are.
pub const LEFT_ACTIVE: [&[&str]; 2] = [&["-f", "internal"], &["-n"]];

/// What `conntrackd -s` reports, as far as status needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// This router's connections (from its kernel).
    pub internal: u64,
    /// The other routers' connections, waiting for a commit.
    pub external: u64,
    pub sent_bytes: u64,
    pub received_bytes: u64,
    /// Sync messages that never arrived (FTFW asks for them again).
    pub lost: u64,
}

/// Reads `conntrackd -s` output; `None` if it is not that.
pub fn parse_stats(text: &str) -> Option<Stats> {
    let mut s = Stats::default();
    let (mut internal, mut external) = (None, None);
    let mut cache = "";
    let number = |w: Option<&str>| w.and_then(|w| w.parse::<u64>().ok());
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("cache ") {
            cache = words.get(1).copied().unwrap_or("");
        } else if let Some(n) = line.strip_prefix("current active connections:") {
            let n = number(n.split_whitespace().next());
            match cache {
                "internal:" => internal = n,
                "external:" => external = n,
                _ => {}
            }
        } else if words.get(1) == Some(&"Bytes") && words.get(2) == Some(&"sent") {
            s.sent_bytes = number(words.first().copied())?;
            s.received_bytes = number(words.get(3).copied())?;
        } else if words.get(4) == Some(&"Lost") {
            s.lost = number(words.get(3).copied())?;
        }
    }
    s.internal = internal?;
    s.external = external?;
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Setup {
        Setup {
            device: "br-lan".into(),
            address: Ipv4Addr::new(192, 168, 1, 2),
            ignore: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap(), "192.168.1.1".parse().unwrap()],
            hash_limit: 32768,
        }
    }

    #[test]
    fn the_configuration_names_this_routers_link_and_files() {
        let paths = Paths::in_dir(Path::new("/var/run/vwrp"));
        let text = config(&setup(), &paths).unwrap();
        for want in [
            "Mode FTFW {\n\t\tStartupResync on\n\t}",
            "IPv4_address 225.0.0.50\n\t\tGroup 3780\n\t\tIPv4_interface 192.168.1.2\n\t\tInterface br-lan\n",
            "HashLimit 32768\n",
            "LockFile /var/run/vwrp/conntrackd.lock\n",
            "Path /var/run/vwrp/conntrackd.sock\n",
            "\t\t\tIPv4_address 127.0.0.1\n\t\t\tIPv6_address ::1\n\t\t\tIPv4_address 192.168.1.1\n\t\t}",
            "Syslog on",
        ] {
            assert!(text.contains(want), "{want:?} missing from\n{text}");
        }
        // Never the option that puts a standby's copies in its kernel.
        assert!(!text.contains("DisableExternalCache"));
        assert_eq!(text.matches('{').count(), text.matches('}').count());
    }

    #[test]
    fn paths_conntrackd_cannot_parse_are_refused() {
        let spaced = Paths::in_dir(Path::new("/var/run/my vwrp"));
        assert!(config(&setup(), &spaced).unwrap_err().contains("without spaces"));
        let long = Paths::in_dir(&Path::new("/tmp").join("d".repeat(100)));
        assert!(config(&setup(), &long).is_err());
    }

    /// What conntrackd 1.4.7 prints for `-s` (a standby holding 20 of
    /// the active's connections).
    const STATS: &str = "cache internal:\n\
        current active connections:\t           2\n\
        connections created:\t\t           5\tfailed:\t           0\n\
        connections updated:\t\t           3\tfailed:\t           0\n\
        connections destroyed:\t\t           3\tfailed:\t           0\n\
        \n\
        cache external:\n\
        current active connections:\t          20\n\
        connections created:\t\t          20\tfailed:\t           0\n\
        connections updated:\t\t          40\tfailed:\t           0\n\
        connections destroyed:\t\t           0\tfailed:\t           0\n\
        \n\
        traffic processed:\n\
        \x20                  0 Bytes                         0 Pckts\n\
        \n\
        multicast traffic (active device=lan):\n\
        \x20               1696 Bytes sent                 9216 Bytes recv\n\
        \x20                 31 Pckts sent                   96 Pckts recv\n\
        \x20                  0 Error send                    0 Error recv\n\
        \n\
        message tracking:\n\
        \x20                  0 Malformed msgs                    7 Lost msgs\n";

    #[test]
    fn the_sync_address_is_the_devices_ipv4_address() {
        assert_eq!(ipv4_address("lo").unwrap(), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(ipv4_address("nosuchdev0").unwrap(), None);
        assert!(ipv4_address(&"x".repeat(16)).is_err());
    }

    #[test]
    fn stats_are_read_from_conntrackds_report() {
        let s = parse_stats(STATS).unwrap();
        assert_eq!(s, Stats { internal: 2, external: 20, sent_bytes: 1696, received_bytes: 9216, lost: 7 });
        assert_eq!(parse_stats("can't connect: is conntrackd running?"), None);
        assert_eq!(parse_stats(&STATS.replace("cache external", "cache other")), None);
    }
}
