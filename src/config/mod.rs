//! vwrp's configuration: /etc/config/vwrp read into plain data.
//!
//! `uci` reads the file syntax; this module checks it against vwrp's schema
//! (docs/CONFIG.md: the sections and their options, below) and produces the
//! types below, through `reader` (one section's options, typed and located)
//! and `values` (each kind of value's parser). Nothing here knows the
//! engine: the daemon maps these types onto it.
//!
//! Every mistake is an error that names the file, the line and the option:
//! unknown section types and options (typos), values out of range, a
//! `list` where a single value belongs and the reverse. A missing required
//! option names the line of its section.

mod reader;
mod tracker;
pub mod uci;
mod values;

use core::fmt;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use log::LevelFilter;
use reader::Reader;
use tracker::read_tracker;
pub use tracker::{KINDS, TrackerKindInfo};
use values::{
    DAY, HOUR, MINUTE, SECOND, absolute_path, boolean, client_id, dhcp_mode, duid, duration_in, duration_or_off,
    ethertype, ifname, key, lan_gateway, log_level, router_id, shared_mac, socket_path, u8_in,
};

/// Where OpenWrt keeps the file.
pub const DEFAULT_PATH: &str = "/etc/config/vwrp";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub globals: Globals,
    /// The enabled groups, in file order. Disabled ones are checked like
    /// the others, then left out together with their trackers.
    pub groups: Vec<Group>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Globals {
    pub control_socket: PathBuf,
    pub state_dir: PathBuf,
    pub hook_dir: PathBuf,
    pub hook_timeout: Duration,
    pub log_level: LevelFilter,
    /// Where conntrackd syncs; `None`: the first control link of the
    /// first group with `conntrack_sync`.
    pub conntrack_device: Option<String>,
    /// SCHED_RR priority of the daemon, with its memory locked; 0: off.
    pub realtime_priority: u8,
}

impl Default for Globals {
    fn default() -> Self {
        Globals {
            control_socket: PathBuf::from("/var/run/vwrp/vwrp.sock"),
            state_dir: PathBuf::from("/var/run/vwrp"),
            hook_dir: PathBuf::from("/etc/hotplug.d/vwrp"),
            hook_timeout: Duration::from_secs(5),
            log_level: LevelFilter::Info,
            conntrack_device: None,
            realtime_priority: 5,
        }
    }
}

/// One redundancy group: the routers sharing one WAN MAC and address.
#[derive(Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub group_id: u8,
    /// `None`: the daemon derives one from the control interface's MAC.
    pub router_id: Option<u32>,
    pub wan_device: String,
    pub shared_mac: [u8; 6],
    pub control: Vec<String>,
    pub priority: u8,
    pub preempt: bool,
    pub preempt_delay: Duration,
    pub hello_interval: Duration,
    /// `None`: no hellos on the WAN segment.
    pub wan_hello_interval: Option<Duration>,
    pub dead_multiplier: u8,
    pub ethertype: u16,
    /// `(key id, secret)`; the first signs, all verify; empty means
    /// unauthenticated. Never printed: see the `Debug` impl.
    pub keys: Vec<(u8, Vec<u8>)>,
    pub hold_period: Duration,
    pub lan_gateways: Vec<LanGateway>,
    /// `None`: no nudges.
    pub nudge_interval: Option<Duration>,
    /// `None`: the LAN gateway is announced only when it moves or a LAN
    /// device comes back.
    pub lan_announce_interval: Option<Duration>,
    pub prepare_timeout: Duration,
    pub conntrack_sync: bool,
    pub dhcp: DhcpMode,
    /// `None`: the daemon uses 01 followed by the shared MAC.
    pub dhcp_client_id: Option<Vec<u8>>,
    /// The group's DHCPv6 client runs on the active (with `dhcp` udhcpc
    /// or netifd).
    pub dhcpv6: bool,
    /// `None`: the daemon uses the DUID-LL of the shared MAC.
    pub dhcpv6_duid: Option<Vec<u8>>,
    pub resolv_file: PathBuf,
    pub trackers: Vec<Tracker>,
}

/// Shows key ids only, so that a logged config never leaks a secret.
impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key_ids: Vec<KeyId> = self.keys.iter().map(|(id, _)| KeyId(*id)).collect();
        f.debug_struct("Group")
            .field("name", &self.name)
            .field("group_id", &self.group_id)
            .field("router_id", &self.router_id)
            .field("wan_device", &self.wan_device)
            .field("shared_mac", &MacDisplay(self.shared_mac))
            .field("control", &self.control)
            .field("priority", &self.priority)
            .field("preempt", &self.preempt)
            .field("preempt_delay", &self.preempt_delay)
            .field("hello_interval", &self.hello_interval)
            .field("wan_hello_interval", &self.wan_hello_interval)
            .field("dead_multiplier", &self.dead_multiplier)
            .field("ethertype", &format_args!("{:#06x}", self.ethertype))
            .field("keys", &key_ids)
            .field("hold_period", &self.hold_period)
            .field("lan_gateways", &self.lan_gateways)
            .field("nudge_interval", &self.nudge_interval)
            .field("lan_announce_interval", &self.lan_announce_interval)
            .field("prepare_timeout", &self.prepare_timeout)
            .field("conntrack_sync", &self.conntrack_sync)
            .field("dhcp", &self.dhcp)
            .field("dhcp_client_id", &self.dhcp_client_id.as_deref().map(Hex))
            .field("dhcpv6", &self.dhcpv6)
            .field("dhcpv6_duid", &self.dhcpv6_duid.as_deref().map(Hex))
            .field("resolv_file", &self.resolv_file)
            .field("trackers", &self.trackers)
            .finish()
    }
}

struct KeyId(u8);

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:<secret>", self.0)
    }
}

struct MacDisplay([u8; 6]);

impl fmt::Debug for MacDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

struct Hex<'a>(&'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// An address vwrp holds on a LAN device while active.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LanGateway {
    pub address: IpAddr,
    pub prefix_len: u8,
    pub device: String,
}

/// `ADDRESS/PREFIX@DEVICE`, as configured but canonical: two gateways are
/// equal when their texts are (`Reader::get_list` relies on it).
impl fmt::Display for LanGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.address, self.prefix_len, self.device)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DhcpMode {
    Udhcpc,
    Netifd,
    None,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracker {
    pub name: String,
    pub kind: TrackerKind,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u8,
    pub fall: u8,
    pub weight: Weight,
    pub wan_only: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrackerKind {
    Link {
        device: String,
    },
    Ping {
        targets: Vec<IpAddr>,
        count: u8,
        reliability: u8,
    },
    /// `None`: the gateway of the current lease.
    Arping {
        target: Option<Ipv4Addr>,
    },
    Script {
        argv: Vec<String>,
    },
    /// Driven over the control socket.
    External,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weight {
    /// Subtracted from the priority while the tracker is down.
    Penalty(u8),
    /// The router may not be active while the tracker is down.
    Fatal,
}

/// A configuration mistake, located. `line` 0 means the file as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub option: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, &self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if let Some(option) = &self.option {
            write!(f, ": option '{option}'")?;
        }
        f.write_str(": ")?;
        write_escaped(f, &self.message)
    }
}

/// Displays a text with its control characters escaped (a file name in a
/// message, say).
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0)
    }
}

/// What is allowed but unsafe in a checked configuration, one line each:
/// `vwrp check-config` prints them, the daemon logs them at start-up.
pub fn warnings(c: &Config) -> Vec<String> {
    c.groups
        .iter()
        .filter(|g| g.keys.is_empty())
        .map(|g| {
            format!(
                "group '{}' has no key: hellos are not authenticated, so anyone on its control links can take \
                 the WAN; make one with `vwrp genkey` and put the same 'list key' line on every router",
                g.name
            )
        })
        .collect()
}

/// `text` with its control characters escaped (`\u{1b}`, `\n`): a
/// message quotes the file, and a crafted file must not put terminal
/// escapes on the admin's screen or break a log line in two.
pub(crate) fn write_escaped(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    for c in text.chars() {
        if c.is_control() {
            write!(f, "{}", c.escape_default())?;
        } else {
            write!(f, "{c}")?;
        }
    }
    Ok(())
}

/// The largest configuration file read: the schema has some 50 options,
/// and a file that large is a mistake, or an attack on the memory.
pub const MAX_FILE: u64 = 1024 * 1024;

impl std::error::Error for ConfigError {}

impl From<uci::ParseError> for ConfigError {
    fn from(e: uci::ParseError) -> Self {
        ConfigError { file: e.file, line: e.line, option: None, message: e.message }
    }
}

impl Config {
    /// The device conntrackd syncs over, if a group syncs connection
    /// tracking: one conntrackd serves the whole router.
    pub fn conntrack_device(&self) -> Option<&str> {
        let first = self.groups.iter().find(|g| g.conntrack_sync)?;
        self.globals.conntrack_device.as_deref().or(first.control.first().map(String::as_str))
    }
}

/// Reads and checks the file at `path`: a regular file of at most
/// [`MAX_FILE`] bytes. Opening never waits (a FIFO with no writer would
/// hold it), and reading stops past the limit (`/dev/zero` never ends).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = path.display().to_string();
    let whole_file = |message: String| ConfigError { file: file.clone(), line: 0, option: None, message };
    let cannot = |e: std::io::Error| whole_file(format!("cannot read: {e}"));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)
        .map_err(cannot)?;
    let kind = f.metadata().map_err(cannot)?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "a device"
        };
        return Err(whole_file(format!("is {what}, not a regular file")));
    }
    let mut bytes = Vec::new();
    f.take(MAX_FILE + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(whole_file(format!("larger than {MAX_FILE} bytes (1 MiB), the most a configuration file may be")));
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.as_bytes().get(..e.utf8_error().valid_up_to()).unwrap_or_default();
            let newlines = valid.iter().filter(|&&b| b == b'\n').count();
            return Err(ConfigError { line: newlines.saturating_add(1), ..whole_file("not valid UTF-8".to_string()) });
        }
    };
    parse(&text, &file)
}

/// Checks `text`; `file` only labels errors.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
    let sections = uci::parse(text, file)?;
    let mut globals: Option<(Globals, usize)> = None;
    let mut groups: Vec<ParsedGroup> = Vec::new();
    let mut trackers: Vec<Reader> = Vec::new();

    for section in &sections {
        let mut reader = Reader::new(file, section);
        match section.section_type.as_str() {
            "globals" => {
                if let Some((_, first)) = globals {
                    return Err(reader.section_error(format!(
                        "only one 'globals' section is allowed (the first is on line {first})"
                    )));
                }
                globals = Some((read_globals(&mut reader)?, section.line));
            }
            "group" => groups.push(read_group(&mut reader)?),
            // Trackers refer to groups, which may come later in the file.
            "tracker" => trackers.push(reader),
            other => {
                return Err(reader
                    .section_error(format!("unknown section type '{other}' (expected globals, group or tracker)")));
            }
        }
    }
    if groups.is_empty() {
        return Err(ConfigError {
            file: file.to_string(),
            line: 0,
            option: None,
            message: "no 'group' section: nothing to do".to_string(),
        });
    }
    // Inserted one by one: `collect` into a map sorts first, and that sort
    // is ~1.8 KB on a router.
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        by_name.insert(g.group.name.clone(), i);
    }
    for mut reader in trackers {
        let (group_name, group_line, tracker) = read_tracker(&mut reader)?;
        match by_name.get(&group_name).and_then(|&i| groups.get_mut(i)) {
            Some(g) => g.group.trackers.push(tracker),
            None => {
                return Err(reader.error(
                    group_line,
                    "group",
                    format!("no group named '{group_name}' (in {})", reader.label),
                ));
            }
        }
    }
    check_groups_apart(file, &groups)?;
    Ok(Config {
        globals: globals.map(|(g, _)| g).unwrap_or_default(),
        groups: groups.into_iter().filter(|g| g.enabled).map(|g| g.group).collect(),
    })
}

/// What two enabled groups must not share; each looked up in a table or
/// a map, so many groups cost linear time. (The map's type is the one
/// `uci` uses: each new one costs 1-2 KB on a router.)
fn check_groups_apart(file: &str, groups: &[ParsedGroup]) -> Result<(), ConfigError> {
    let mut ids: [Option<&str>; 256] = [None; 256];
    let mut devices: BTreeMap<String, usize> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate().filter(|(_, g)| g.enabled) {
        let name = g.group.name.as_str();
        let id = g.group.group_id;
        let clash = if let Some(earlier) = ids[usize::from(id)].replace(name) {
            Some(("group_id", g.group_id_line, format!("{id} is already used by group '{earlier}'")))
        } else {
            devices.insert(g.group.wan_device.clone(), i).map(|earlier| {
                let earlier = groups.get(earlier).map_or("", |e| e.group.name.as_str());
                (
                    "wan_device",
                    g.wan_device_line,
                    format!("'{}' is already used by group '{earlier}'", g.group.wan_device),
                )
            })
        };
        if let Some((option, line, message)) = clash {
            return Err(ConfigError { file: file.to_string(), line, option: Some(option.to_string()), message });
        }
    }
    Ok(())
}

/// The options a reload cannot apply, because the daemon opened sockets,
/// devices or files with them at start-up, or runs a DHCP client or
/// netifd hand-off by them: a reload that finds one changed is refused as
/// a whole, naming it (`Config::restart_needed`). Every other option
/// applies on reload. docs/CONFIG.md lists the same, a test checks it.
pub const RESTART_GLOBALS: &[&str] = &["control_socket", "state_dir", "conntrack_device"];
pub const RESTART_GROUP: &[&str] =
    &["enabled", "wan_device", "control", "ethertype", "lan_gateway", "dhcp", "dhcpv6", "dhcpv6_duid", "resolv_file"];

impl Config {
    /// What only a restart can bring from `self` (running) to `new`: each
    /// changed restart-only option, as `option 'dhcp' of group 'wan'`.
    /// Empty when a reload can apply all of `new`.
    pub fn restart_needed(&self, new: &Config) -> Vec<String> {
        let mut changed = Vec::new();
        let (a, b) = (&self.globals, &new.globals);
        for (name, differs) in [
            ("control_socket", a.control_socket != b.control_socket),
            ("state_dir", a.state_dir != b.state_dir),
            ("conntrack_device", a.conntrack_device != b.conntrack_device),
        ] {
            if differs {
                changed.push(format!("option '{name}' of the globals"));
            }
        }
        let names = |c: &Config| c.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(", ");
        if names(self) != names(new) {
            changed.push(format!("the enabled groups (running: {}; in the file: {})", names(self), names(new)));
            return changed;
        }
        for (a, b) in self.groups.iter().zip(&new.groups) {
            let differs = [
                ("wan_device", a.wan_device != b.wan_device),
                ("control", a.control != b.control),
                ("ethertype", a.ethertype != b.ethertype),
                ("lan_gateway", a.lan_gateways != b.lan_gateways),
                ("dhcp", a.dhcp != b.dhcp),
                ("dhcpv6", a.dhcpv6 != b.dhcpv6),
                ("dhcpv6_duid", a.dhcpv6_duid != b.dhcpv6_duid),
                ("resolv_file", a.resolv_file != b.resolv_file),
            ];
            for (name, _) in differs.iter().filter(|(_, d)| *d) {
                changed.push(format!("option '{name}' of group '{}'", a.name));
            }
        }
        changed
    }
}

impl Config {
    /// The group netifd's `proto vwrp` handler may name an interface for:
    /// the enabled one on `device`, with `dhcp 'netifd'`. The CLI checks
    /// it before recording anything, the daemon before serving it.
    pub fn netifd_group(&self, device: &str) -> Result<&Group, String> {
        let g = self
            .groups
            .iter()
            .find(|g| g.wan_device == device)
            .ok_or_else(|| format!("no enabled group has wan_device '{device}'"))?;
        if g.dhcp != DhcpMode::Netifd {
            return Err(format!("group {} does not use dhcp 'netifd': netifd gets no lease from vwrp", g.name));
        }
        Ok(g)
    }
}

const GLOBALS_OPTIONS: &[&str] =
    &["control_socket", "state_dir", "hook_dir", "hook_timeout", "log_level", "conntrack_device", "realtime_priority"];

fn read_globals(r: &mut Reader) -> Result<Globals, ConfigError> {
    r.check_known(GLOBALS_OPTIONS);
    let d = Globals::default();
    let globals = Globals {
        control_socket: r.get_or("control_socket", d.control_socket, &socket_path),
        state_dir: r.get_or("state_dir", d.state_dir, &absolute_path),
        hook_dir: r.get_or("hook_dir", d.hook_dir, &absolute_path),
        hook_timeout: r.get_or("hook_timeout", d.hook_timeout, &duration_in(10, HOUR)),
        log_level: r.get_or("log_level", d.log_level, &log_level),
        conntrack_device: r.get("conntrack_device", &ifname),
        realtime_priority: r.get_or("realtime_priority", d.realtime_priority, &u8_in(0, 99)),
    };
    r.finish(globals)
}

const GROUP_OPTIONS: &[&str] = &[
    "enabled",
    "group_id",
    "router_id",
    "wan_device",
    "shared_mac",
    "control",
    "priority",
    "preempt",
    "preempt_delay",
    "hello_interval",
    "wan_hello_interval",
    "dead_multiplier",
    "ethertype",
    "key",
    "hold_period",
    "lan_gateway",
    "nudge_interval",
    "lan_announce_interval",
    "prepare_timeout",
    "conntrack_sync",
    "dhcp",
    "dhcp_client_id",
    "dhcpv6",
    "dhcpv6_duid",
    "resolv_file",
];

struct ParsedGroup {
    group: Group,
    enabled: bool,
    group_id_line: usize,
    wan_device_line: usize,
}

fn read_group(r: &mut Reader) -> Result<ParsedGroup, ConfigError> {
    r.check_known(GROUP_OPTIONS);
    let name = r.name();
    let enabled = r.get_or("enabled", true, &boolean);
    let hello_interval = r.get_or("hello_interval", Duration::from_millis(100), &duration_in(10, MINUTE));

    let mut control = r.get_list("control", &ifname);
    if control.is_empty() {
        control.push(("br-lan".to_string(), r.section.line));
    }
    let wan_device: String = r.require("wan_device", &ifname);
    // Hellos from a standby on the WAN would move the shared MAC's port on
    // the WAN switch at every hello. A bridge, port or VLAN of the WAN is
    // refused at start-up, where the devices are known (daemon::links).
    if let Some((c, line)) = control.iter().find(|(c, _)| *c == wan_device) {
        let line = if r.section.option("control").is_some() { *line } else { r.line_of("wan_device") };
        let message = format!(
            "'{c}' is the WAN device: a control link carries a standby's hellos, which must never reach the WAN"
        );
        r.fail(line, "control", message);
    }
    let control: Vec<String> = control.into_iter().map(|(c, _)| c).collect();
    // Not get_list(): its duplicate message would quote the secret.
    let mut keys: Vec<(u8, Vec<u8>)> = Vec::new();
    for v in r.list("key") {
        match key(&v.text) {
            Err(m) => r.fail(v.line, "key", m),
            Ok((id, _)) if keys.iter().any(|(seen, _)| *seen == id) => {
                r.fail(v.line, "key", format!("key id {id} is listed twice"));
            }
            Ok(k) => keys.push(k),
        }
    }

    let group = Group {
        name,
        group_id: r.get_or("group_id", 1, &u8_in(1, 255)),
        router_id: r.get("router_id", &router_id),
        wan_device,
        shared_mac: r.require("shared_mac", &shared_mac),
        control,
        priority: r.get_or("priority", 100, &u8_in(1, 254)),
        preempt: r.get_or("preempt", true, &boolean),
        preempt_delay: r.get_or("preempt_delay", Duration::from_secs(30), &duration_in(0, HOUR)),
        hello_interval,
        wan_hello_interval: r.get_or("wan_hello_interval", Some(hello_interval), &duration_or_off(10, MINUTE)),
        dead_multiplier: r.get_or("dead_multiplier", 3, &u8_in(3, 255)),
        ethertype: r.get_or("ethertype", 0x88b5, &ethertype),
        keys,
        hold_period: r.get_or("hold_period", Duration::from_secs(60), &duration_in(SECOND, DAY)),
        lan_gateways: r.get_list("lan_gateway", &lan_gateway).into_iter().map(|(g, _)| g).collect(),
        nudge_interval: r.get_or("nudge_interval", Some(Duration::from_secs(10)), &duration_or_off(SECOND, HOUR)),
        lan_announce_interval: r.get_or("lan_announce_interval", None, &duration_or_off(SECOND, HOUR)),
        prepare_timeout: r.get_or("prepare_timeout", Duration::from_secs(1), &duration_in(10, MINUTE)),
        conntrack_sync: r.get_or("conntrack_sync", false, &boolean),
        dhcp: r.get_or("dhcp", DhcpMode::Udhcpc, &dhcp_mode),
        dhcp_client_id: r.get("dhcp_client_id", &client_id),
        dhcpv6: r.get_or("dhcpv6", false, &boolean),
        dhcpv6_duid: r.get("dhcpv6_duid", &duid),
        resolv_file: r.get_or("resolv_file", PathBuf::from("/var/run/vwrp/resolv.conf.auto"), &absolute_path),
        trackers: Vec::new(),
    };
    let parsed =
        ParsedGroup { group, enabled, group_id_line: r.line_of("group_id"), wan_device_line: r.line_of("wan_device") };
    r.finish(parsed)
}

#[cfg(test)]
mod tests;
