//! vwrp's configuration: /etc/config/vwrp read into plain data.
//!
//! `uci` reads the file syntax; this module checks it against vwrp's schema
//! (docs/CONFIG.md) and produces the types below. Nothing here knows the
//! engine: the daemon maps these types onto it.
//!
//! Every mistake is an error that names the file, the line and the option:
//! unknown section types and options (typos), values out of range, a
//! `list` where a single value belongs and the reverse. A missing required
//! option names the line of its section.

pub mod uci;

use core::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use log::LevelFilter;
use uci::{OptionValue, Section, Value};

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
}

impl Default for Globals {
    fn default() -> Self {
        Globals {
            control_socket: PathBuf::from("/var/run/vwrp/vwrp.sock"),
            state_dir: PathBuf::from("/var/run/vwrp"),
            hook_dir: PathBuf::from("/etc/hotplug.d/vwrp"),
            hook_timeout: Duration::from_secs(5),
            log_level: LevelFilter::Info,
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
    pub prepare_timeout: Duration,
    pub conntrack_sync: bool,
    pub dhcp: DhcpMode,
    /// `None`: the daemon uses 01 followed by the shared MAC.
    pub dhcp_client_id: Option<Vec<u8>>,
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
            .field("prepare_timeout", &self.prepare_timeout)
            .field("conntrack_sync", &self.conntrack_sync)
            .field("dhcp", &self.dhcp)
            .field("dhcp_client_id", &self.dhcp_client_id.as_deref().map(Hex))
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LanGateway {
    pub address: IpAddr,
    pub prefix_len: u8,
    pub device: String,
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
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if let Some(option) = &self.option {
            write!(f, ": option '{option}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl From<uci::ParseError> for ConfigError {
    fn from(e: uci::ParseError) -> Self {
        ConfigError { file: e.file, line: e.line, option: None, message: e.message }
    }
}

/// Reads and checks the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let whole_file = |message: String| ConfigError { file: file.clone(), line: 0, option: None, message };
    let bytes = std::fs::read(path).map_err(|e| whole_file(format!("cannot read: {e}")))?;
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
    for mut reader in trackers {
        let (group_name, group_line, tracker) = read_tracker(&mut reader)?;
        match groups.iter_mut().find(|g| g.group.name == group_name) {
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

/// What two enabled groups must not share.
fn check_groups_apart(file: &str, groups: &[ParsedGroup]) -> Result<(), ConfigError> {
    let enabled: Vec<&ParsedGroup> = groups.iter().filter(|g| g.enabled).collect();
    for (i, g) in enabled.iter().enumerate() {
        for earlier in enabled.iter().take(i) {
            let clash = if earlier.group.group_id == g.group.group_id {
                Some((
                    "group_id",
                    g.group_id_line,
                    format!("{} is already used by group '{}'", g.group.group_id, earlier.group.name),
                ))
            } else if earlier.group.wan_device == g.group.wan_device {
                Some((
                    "wan_device",
                    g.wan_device_line,
                    format!("'{}' is already used by group '{}'", g.group.wan_device, earlier.group.name),
                ))
            } else {
                None
            };
            if let Some((option, line, message)) = clash {
                return Err(ConfigError { file: file.to_string(), line, option: Some(option.to_string()), message });
            }
        }
    }
    Ok(())
}

/// What a value parser gives: the value, or a message about the text.
type Parse<'p, T> = &'p dyn Fn(&str) -> Result<T, String>;

/// Typed access to one section's options, with located errors.
///
/// The first mistake is kept and reported by `finish`; reads after it
/// still run and give defaults. So each option read is one call with no
/// early-return path, which keeps the schema small on flash, and the
/// mistake reported is the first one in reading order, as with `?`.
struct Reader<'a> {
    file: &'a str,
    section: &'a Section,
    /// "group 'wan'", for messages.
    label: String,
    first_error: Option<ConfigError>,
}

impl<'a> Reader<'a> {
    fn new(file: &'a str, section: &'a Section) -> Self {
        let label = match &section.name {
            Some(name) => format!("{} '{}'", section.section_type, name),
            None => format!("anonymous {} section", section.section_type),
        };
        Reader { file, section, label, first_error: None }
    }

    fn error(&self, line: usize, option: &str, message: String) -> ConfigError {
        ConfigError { file: self.file.to_string(), line, option: Some(option.to_string()), message }
    }

    fn section_error(&self, message: String) -> ConfigError {
        ConfigError { file: self.file.to_string(), line: self.section.line, option: None, message }
    }

    /// Records a mistake about `option`, unless an earlier one is known.
    fn fail(&mut self, line: usize, option: &str, message: String) {
        if self.first_error.is_none() {
            self.first_error = Some(self.error(line, option, message));
        }
    }

    /// `value`, or the first mistake met while reading it.
    fn finish<T>(&mut self, value: T) -> Result<T, ConfigError> {
        match self.first_error.take() {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }

    /// The section's name; vwrp refers to groups and trackers by name.
    fn name(&mut self) -> String {
        if let Some(name) = &self.section.name {
            return name.clone();
        }
        if self.first_error.is_none() {
            let kind = &self.section.section_type;
            let e = self.section_error(format!("{kind} sections must be named: config {kind} 'NAME'"));
            self.first_error = Some(e);
        }
        String::new()
    }

    /// Refuses options this kind of section does not have: typos.
    fn check_known(&mut self, known: &[&str]) {
        let section = self.section;
        if let Some(o) = section.options.iter().find(|o| !known.contains(&o.name.as_str())) {
            let message = format!("unknown option in {}", self.label);
            self.fail(o.line(), &o.name, message);
        }
    }

    /// The line to blame for `name`: its own, or its section's when unset.
    fn line_of(&self, name: &str) -> usize {
        self.section.option(name).map_or(self.section.line, |o| o.line())
    }

    fn scalar(&mut self, name: &str) -> Option<&'a Value> {
        match self.section.option(name).map(|o| &o.value) {
            None => None,
            Some(OptionValue::Single(v)) => Some(v),
            Some(OptionValue::List(items)) => {
                let line = items.first().map_or(self.section.line, |v| v.line);
                let message = "takes one value: set it with 'option', not 'list'";
                self.fail(line, name, message.to_string());
                None
            }
        }
    }

    fn list(&mut self, name: &str) -> &'a [Value] {
        match self.section.option(name).map(|o| &o.value) {
            None => &[],
            Some(OptionValue::List(items)) => items,
            Some(OptionValue::Single(v)) => {
                let message = "is a list: give each item on its own 'list' line, not 'option'";
                self.fail(v.line, name, message.to_string());
                &[]
            }
        }
    }

    fn get<T>(&mut self, name: &str, parse: Parse<T>) -> Option<T> {
        let v = self.scalar(name)?;
        parse(&v.text).map_err(|m| self.fail(v.line, name, m)).ok()
    }

    fn get_or<T>(&mut self, name: &str, default: T, parse: Parse<T>) -> T {
        self.get(name, parse).unwrap_or(default)
    }

    fn require<T: Default>(&mut self, name: &str, parse: Parse<T>) -> T {
        let value = self.get(name, parse);
        value.unwrap_or_else(|| {
            self.missing(name);
            T::default()
        })
    }

    fn missing(&mut self, name: &str) {
        let message = format!("required in {}", self.label);
        self.fail(self.section.line, name, message);
    }

    /// Every item of list `name` parsed, refusing duplicates.
    fn get_list<T: PartialEq>(&mut self, name: &str, parse: Parse<T>) -> Vec<(T, usize)> {
        let mut out: Vec<(T, usize)> = Vec::new();
        for v in self.list(name) {
            match parse(&v.text) {
                Err(m) => self.fail(v.line, name, m),
                Ok(item) => match out.iter().find(|(seen, _)| *seen == item) {
                    Some((_, first)) => {
                        let message = format!("'{}' is listed twice (first on line {first})", v.text);
                        self.fail(v.line, name, message);
                    }
                    None => out.push((item, v.line)),
                },
            }
        }
        out
    }
}

const GLOBALS_OPTIONS: &[&str] = &["control_socket", "state_dir", "hook_dir", "hook_timeout", "log_level"];

fn read_globals(r: &mut Reader) -> Result<Globals, ConfigError> {
    r.check_known(GLOBALS_OPTIONS);
    let d = Globals::default();
    let globals = Globals {
        control_socket: r.get_or("control_socket", d.control_socket, &socket_path),
        state_dir: r.get_or("state_dir", d.state_dir, &absolute_path),
        hook_dir: r.get_or("hook_dir", d.hook_dir, &absolute_path),
        hook_timeout: r.get_or("hook_timeout", d.hook_timeout, &duration_in(10, HOUR)),
        log_level: r.get_or("log_level", d.log_level, &log_level),
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
    "prepare_timeout",
    "conntrack_sync",
    "dhcp",
    "dhcp_client_id",
    "resolv_file",
];

struct ParsedGroup {
    group: Group,
    enabled: bool,
    group_id_line: usize,
    wan_device_line: usize,
}

const SECOND: u64 = 1000;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

fn read_group(r: &mut Reader) -> Result<ParsedGroup, ConfigError> {
    r.check_known(GROUP_OPTIONS);
    let name = r.name();
    let enabled = r.get_or("enabled", true, &boolean);
    let hello_interval = r.get_or("hello_interval", Duration::from_millis(100), &duration_in(10, MINUTE));

    let mut control: Vec<String> = r.get_list("control", &ifname).into_iter().map(|(c, _)| c).collect();
    if control.is_empty() {
        control.push("br-lan".to_string());
    }
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
        wan_device: r.require("wan_device", &ifname),
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
        prepare_timeout: r.get_or("prepare_timeout", Duration::from_secs(1), &duration_in(10, MINUTE)),
        conntrack_sync: r.get_or("conntrack_sync", false, &boolean),
        dhcp: r.get_or("dhcp", DhcpMode::Udhcpc, &dhcp_mode),
        dhcp_client_id: r.get("dhcp_client_id", &client_id),
        resolv_file: r.get_or("resolv_file", PathBuf::from("/var/run/vwrp/resolv.conf.auto"), &absolute_path),
        trackers: Vec::new(),
    };
    let parsed =
        ParsedGroup { group, enabled, group_id_line: r.line_of("group_id"), wan_device_line: r.line_of("wan_device") };
    r.finish(parsed)
}

const TRACKER_OPTIONS: &[&str] = &[
    "group",
    "type",
    "device",
    "target",
    "count",
    "reliability",
    "script",
    "interval",
    "timeout",
    "rise",
    "fall",
    "weight",
    "wan_only",
];

/// Options that only some tracker types have.
const TYPE_OPTIONS: &[&str] = &["device", "target", "count", "reliability", "script"];

/// The tracker, the group it names and the line that names it.
fn read_tracker(r: &mut Reader) -> Result<(String, usize, Tracker), ConfigError> {
    r.check_known(TRACKER_OPTIONS);
    let name = r.name();
    let group: String = r.require("group", &|s| Ok(s.to_string()));
    // "" (unset or wrong) reads as external, which has no own options.
    let kind_name = r.require("type", &tracker_type);
    let own: &[&str] = match kind_name {
        "link" => &["device"],
        "ping" => &["target", "count", "reliability"],
        "arping" => &["target"],
        "script" => &["script"],
        _ => &[],
    };
    let section = r.section;
    if let Some(o) =
        section.options.iter().find(|o| TYPE_OPTIONS.contains(&o.name.as_str()) && !own.contains(&o.name.as_str()))
    {
        r.fail(o.line(), &o.name, format!("not used by trackers of type '{kind_name}'"));
    }

    let kind = match kind_name {
        "link" => TrackerKind::Link { device: r.require("device", &ifname) },
        "ping" => {
            let targets: Vec<IpAddr> = r.get_list("target", &unicast_ip).into_iter().map(|(t, _)| t).collect();
            if targets.is_empty() {
                r.missing("target");
            }
            let most = u8::try_from(targets.len()).unwrap_or(u8::MAX);
            let reliability =
                r.get_or("reliability", 1, &|s| u8_in(1, most)(s).map_err(|m| format!("{m} (the number of targets)")));
            TrackerKind::Ping { targets, count: r.get_or("count", 1, &u8_in(1, 20)), reliability }
        }
        "arping" => {
            let targets = r.get_list("target", &arping_target);
            if let Some((_, line)) = targets.get(1) {
                let message = "an arping tracker takes at most one target";
                r.fail(*line, "target", message.to_string());
            }
            TrackerKind::Arping { target: targets.first().map(|(t, _)| *t) }
        }
        "script" => TrackerKind::Script { argv: r.require("script", &command_line) },
        _ => TrackerKind::External,
    };

    let probes = matches!(kind, TrackerKind::Ping { .. } | TrackerKind::Arping { .. });
    let interval = r.get_or("interval", Duration::from_secs(1), &duration_in(10, HOUR));
    let timeout = r.get_or("timeout", interval.min(Duration::from_secs(1)), &duration_in(10, HOUR));
    if probes && timeout > interval {
        let message =
            format!("{} is longer than the interval ({})", format_duration(timeout), format_duration(interval));
        r.fail(r.line_of("timeout"), "timeout", message);
    }
    let tracker = Tracker {
        name,
        kind,
        interval,
        timeout,
        rise: r.get_or("rise", 3, &u8_in(1, 255)),
        fall: r.get_or("fall", 3, &u8_in(1, 255)),
        weight: r.get_or("weight", Weight::Penalty(50), &weight),
        wan_only: r.get_or("wan_only", probes, &boolean),
    };
    let group_line = r.line_of("group");
    r.finish((group, group_line, tracker))
}

// Value parsers: text in, value or a message out. Messages quote the
// value, except for keys.

/// `'TEXT' REST`: how most messages start. One shared call instead of a
/// formatting sequence at each site.
fn quoted(text: &str, rest: &str) -> String {
    format!("'{text}' {rest}")
}

/// Plain decimal; anything too large for u64 is simply out of range.
fn decimal(s: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(quoted(s, "is not a number"));
    }
    Ok(s.parse().unwrap_or(u64::MAX))
}

/// Decimal or 0x-prefixed hexadecimal.
fn number(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(u64::from_str_radix(hex, 16).unwrap_or(u64::MAX))
        }
        Some(_) => Err(quoted(s, "is not a number")),
        None => decimal(s),
    }
}

fn u8_in(lo: u8, hi: u8) -> impl Fn(&str) -> Result<u8, String> {
    move |s| {
        let n = decimal(s)?;
        u8::try_from(n).ok().filter(|n| (lo..=hi).contains(n)).ok_or_else(|| format!("{s} is out of range {lo}..{hi}"))
    }
}

fn ethertype(s: &str) -> Result<u16, String> {
    let n = number(s)?;
    u16::try_from(n).ok().filter(|n| *n >= 0x0600).ok_or_else(|| format!("{s} is out of range 0x0600..0xffff"))
}

fn router_id(s: &str) -> Result<u32, String> {
    let n = if s.contains('.') {
        let ip: Ipv4Addr = s.parse().map_err(|_| quoted(s, "is not a number or dotted quad"))?;
        u64::from(u32::from(ip))
    } else {
        number(s)?
    };
    u32::try_from(n).ok().filter(|n| *n != 0).ok_or_else(|| format!("{s} is out of range 1..{}", u32::MAX))
}

/// OpenWrt's spellings, as /lib/functions.sh config_get_bool reads them.
fn boolean(s: &str) -> Result<bool, String> {
    match s {
        "1" | "yes" | "on" | "true" | "enabled" => Ok(true),
        "0" | "no" | "off" | "false" | "disabled" => Ok(false),
        _ => Err(quoted(s, "is not a boolean (use 1/0, yes/no, on/off, true/false or enabled/disabled)")),
    }
}

/// `100ms`, `1s`, `1.5s`, `2m`, `1h`, `1d`, or bare milliseconds. Whole
/// milliseconds only.
fn duration(s: &str) -> Result<Duration, String> {
    let bad = || quoted(s, "is not a duration (e.g. 100ms, 1.5s, 2m, or a number of milliseconds)");
    let units: [(&str, u64); 5] = [("ms", 1), ("s", SECOND), ("m", MINUTE), ("h", HOUR), ("d", DAY)];
    let (number, unit) =
        units.iter().find_map(|(suffix, ms)| s.strip_suffix(suffix).map(|n| (n, *ms))).unwrap_or((s, 1));
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (number.contains('.') && !digits(fraction)) {
        return Err(bad());
    }
    let too_long = || quoted(s, "is out of range");
    let whole_ms = whole.parse::<u64>().ok().and_then(|w| w.checked_mul(unit)).ok_or_else(too_long)?;
    // Beyond nine digits nothing is a whole number of milliseconds.
    if fraction.len() > 9 {
        return Err(quoted(s, "is finer than a millisecond"));
    }
    // fraction * unit / 10^digits, exactly: at most nine digits times a
    // day's milliseconds stays far below u64::MAX.
    let (scaled, scale) = fraction.bytes().fold((0u64, 1u64), |(n, p), b| {
        let digit = u64::from(b.saturating_sub(b'0'));
        (n.saturating_mul(10).saturating_add(digit), p.saturating_mul(10))
    });
    let scaled = scaled.saturating_mul(unit);
    if scaled % scale != 0 {
        return Err(quoted(s, "is finer than a millisecond"));
    }
    let fraction_ms = scaled / scale;
    whole_ms.checked_add(fraction_ms).map(Duration::from_millis).ok_or_else(too_long)
}

/// The shortest exact spelling: `90s`, `2m`, `1500ms`.
fn format_duration(d: Duration) -> String {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0".to_string();
    }
    [(DAY, "d"), (HOUR, "h"), (MINUTE, "m"), (SECOND, "s")]
        .iter()
        .find(|(unit, _)| ms % unit == 0)
        .map_or_else(|| format!("{ms}ms"), |(unit, suffix)| format!("{}{suffix}", ms / unit))
}

fn duration_in(lo_ms: u64, hi_ms: u64) -> impl Fn(&str) -> Result<Duration, String> {
    move |s| {
        let d = duration(s)?;
        let (lo, hi) = (Duration::from_millis(lo_ms), Duration::from_millis(hi_ms));
        if d < lo || d > hi {
            return Err(format!("{s} is out of range {}..{}", format_duration(lo), format_duration(hi)));
        }
        Ok(d)
    }
}

/// Zero turns the feature off; anything else must be in range.
fn duration_or_off(lo_ms: u64, hi_ms: u64) -> impl Fn(&str) -> Result<Option<Duration>, String> {
    move |s| {
        if duration(s)?.is_zero() {
            return Ok(None);
        }
        duration_in(lo_ms, hi_ms)(s).map(Some).map_err(|m| format!("{m}, or 0 for off"))
    }
}

fn absolute_path(s: &str) -> Result<PathBuf, String> {
    if !s.starts_with('/') {
        return Err(quoted(s, "is not an absolute path"));
    }
    Ok(PathBuf::from(s))
}

/// A unix socket's path must fit sockaddr_un.sun_path with its NUL.
fn socket_path(s: &str) -> Result<PathBuf, String> {
    const SUN_PATH_MAX: usize = 107;
    if s.len() > SUN_PATH_MAX {
        return Err(format!("'{s}' is longer than {SUN_PATH_MAX} bytes, the limit for a unix socket"));
    }
    absolute_path(s)
}

fn log_level(s: &str) -> Result<LevelFilter, String> {
    match s {
        "error" => Ok(LevelFilter::Error),
        "warn" => Ok(LevelFilter::Warn),
        "info" => Ok(LevelFilter::Info),
        "debug" => Ok(LevelFilter::Debug),
        "trace" => Ok(LevelFilter::Trace),
        _ => Err(quoted(s, "is not a log level (error, warn, info, debug or trace)")),
    }
}

/// What the kernel's dev_valid_name() accepts.
fn ifname(s: &str) -> Result<String, String> {
    const IFNAMSIZ: usize = 16;
    if s.is_empty() {
        return Err("empty interface name".to_string());
    }
    if s.len() >= IFNAMSIZ {
        return Err(format!("interface name '{s}' is longer than 15 bytes"));
    }
    if s == "." || s == ".." || s.chars().any(|c| c == '/' || c == ':' || c.is_whitespace()) {
        return Err(quoted(s, "is not a valid interface name"));
    }
    Ok(s.to_string())
}

fn shared_mac(s: &str) -> Result<[u8; 6], String> {
    let bad = || quoted(s, "is not a MAC address (xx:xx:xx:xx:xx:xx)");
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for octet in mac.iter_mut() {
        let part = parts.next().unwrap_or_default();
        if part.is_empty() || part.len() > 2 {
            return Err(bad());
        }
        *octet = u8::from_str_radix(part, 16).map_err(|_| bad())?;
    }
    if parts.next().is_some() {
        return Err(bad());
    }
    if mac == [0; 6] {
        return Err("the all-zero address cannot be used".to_string());
    }
    if mac.first().is_some_and(|b| b & 1 == 1) {
        return Err(quoted(s, "is a multicast address; the first octet must be even"));
    }
    Ok(mac)
}

/// `ID:SECRET`. Messages never repeat the text: it holds the secret.
fn key(s: &str) -> Result<(u8, Vec<u8>), String> {
    let (id, secret) = s.split_once(':').ok_or_else(|| "expected ID:SECRET (the value is not shown)".to_string())?;
    let id = decimal(id)
        .ok()
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(|| "expected ID:SECRET with an ID of 0..255 (the value is not shown)".to_string())?;
    if secret.is_empty() {
        return Err(format!("key id {id} has an empty secret"));
    }
    Ok((id, secret.as_bytes().to_vec()))
}

/// `ADDRESS/PREFIX@DEVICE`.
fn lan_gateway(s: &str) -> Result<LanGateway, String> {
    let shape = || quoted(s, "is not ADDRESS/PREFIX@DEVICE");
    let (cidr, device) = s.split_once('@').ok_or_else(shape)?;
    let (address, prefix) = cidr.split_once('/').ok_or_else(shape)?;
    let address: IpAddr = address.parse().map_err(|_| quoted(address, "is not an IP address"))?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix_len = u8_in(1, max)(prefix).map_err(|m| format!("prefix length {m}"))?;
    let address = unicast(address)?;
    if let IpAddr::V4(v4) = address {
        // Below /31 the first and last addresses of the prefix are no host's.
        if prefix_len <= 30 {
            let host_mask = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
            let host = u32::from(v4) & host_mask;
            if host == 0 || host == host_mask {
                return Err(format!("{v4} is the network or broadcast address of its /{prefix_len}"));
            }
        }
    }
    Ok(LanGateway { address, prefix_len, device: ifname(device)? })
}

fn unicast(ip: IpAddr) -> Result<IpAddr, String> {
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    if ip.is_unspecified() || ip.is_multicast() || broadcast {
        return Err(format!("{ip} is not a unicast address"));
    }
    Ok(ip)
}

fn unicast_ip(s: &str) -> Result<IpAddr, String> {
    let ip: IpAddr = s.parse().map_err(|_| quoted(s, "is not an IP address"))?;
    unicast(ip)
}

fn arping_target(s: &str) -> Result<Ipv4Addr, String> {
    match unicast_ip(s)? {
        IpAddr::V4(v4) => Ok(v4),
        IpAddr::V6(_) => Err(quoted(s, "is not an IPv4 address (arping is IPv4 only)")),
    }
}

fn dhcp_mode(s: &str) -> Result<DhcpMode, String> {
    match s {
        "udhcpc" => Ok(DhcpMode::Udhcpc),
        "netifd" => Ok(DhcpMode::Netifd),
        "none" => Ok(DhcpMode::None),
        _ => Err(quoted(s, "is not one of udhcpc, netifd, none")),
    }
}

/// Hex bytes, optionally colon-separated: `01020304abcd`, `01:02:03`.
fn client_id(s: &str) -> Result<Vec<u8>, String> {
    let bad = || quoted(s, "is not hex bytes (e.g. 01020304abcd)");
    let pairs: Vec<&str> = if s.contains(':') {
        s.split(':').collect()
    } else {
        (0..s.len()).step_by(2).map(|i| s.get(i..i.saturating_add(2)).unwrap_or_default()).collect()
    };
    let bytes = pairs
        .iter()
        .map(|p| {
            if p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()) {
                u8::from_str_radix(p, 16).map_err(|_| bad())
            } else {
                Err(bad())
            }
        })
        .collect::<Result<Vec<u8>, String>>()?;
    // RFC 2132 option 61: 2 to 255 bytes.
    if bytes.len() < 2 || bytes.len() > 255 {
        return Err(quoted(s, "must be 2 to 255 bytes long"));
    }
    Ok(bytes)
}

fn tracker_type(s: &str) -> Result<&'static str, String> {
    ["link", "ping", "arping", "script", "external"]
        .into_iter()
        .find(|t| *t == s)
        .ok_or_else(|| quoted(s, "is not one of link, ping, arping, script, external"))
}

/// A command line split on whitespace; the program by absolute path.
fn command_line(s: &str) -> Result<Vec<String>, String> {
    let argv: Vec<String> = s.split_whitespace().map(str::to_string).collect();
    match argv.first() {
        None => Err("empty command".to_string()),
        Some(program) if !program.starts_with('/') => Err(quoted(program, "must be an absolute path")),
        Some(_) => Ok(argv),
    }
}

fn weight(s: &str) -> Result<Weight, String> {
    if s == "fatal" {
        return Ok(Weight::Fatal);
    }
    u8_in(1, 255)(s).map(Weight::Penalty).map_err(|m| format!("{m}, or 'fatal'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FILE: &str = "/etc/config/vwrp";

    /// A minimal valid group; extra group options go on line 4.
    const BASE: &str = "config group 'wan'\n\toption wan_device 'wan'\n\toption shared_mac '02:00:00:00:00:01'\n";

    /// BASE plus a ping tracker; extra tracker options go on line 7.
    fn with_tracker(kind: &str, extra: &str) -> String {
        format!("{BASE}config tracker 't'\n\toption group 'wan'\n\toption type '{kind}'\n{extra}")
    }

    fn ok(text: &str) -> Config {
        match parse(text, FILE) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    fn err(text: &str) -> String {
        match parse(text, FILE) {
            Ok(c) => panic!("parsed: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn group(extra: &str) -> Group {
        ok(&format!("{BASE}{extra}")).groups.remove(0)
    }

    fn group_err(extra: &str) -> String {
        err(&format!("{BASE}{extra}"))
    }

    fn tracker(kind: &str, extra: &str) -> Tracker {
        let mut g = ok(&with_tracker(kind, extra)).groups.remove(0);
        assert_eq!(g.trackers.len(), 1);
        g.trackers.remove(0)
    }

    fn tracker_err(kind: &str, extra: &str) -> String {
        err(&with_tracker(kind, extra))
    }

    fn opt(name: &str, value: &str) -> String {
        format!("\toption {name} '{value}'\n")
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Both edges of an integer-like option's range on a group.
    fn group_edges(name: &str, lo: &str, hi: &str, below: &str, above: &str, range: &str) {
        group(&opt(name, lo));
        group(&opt(name, hi));
        for bad in [below, above] {
            assert_eq!(group_err(&opt(name, bad)), format!("{FILE}:4: option '{name}': {bad} is out of range {range}"));
        }
    }

    fn tracker_edges(kind: &str, name: &str, lo: &str, hi: &str, below: &str, above: &str, range: &str) {
        tracker(kind, &opt(name, lo));
        tracker(kind, &opt(name, hi));
        for bad in [below, above] {
            assert_eq!(
                tracker_err(kind, &opt(name, bad)),
                format!("{FILE}:7: option '{name}': {bad} is out of range {range}")
            );
        }
    }

    // ---- whole file ----

    #[test]
    fn shipped_default_file_parses() {
        let text = include_str!("../../files/etc/config/vwrp");
        let config = ok(text);
        assert_eq!(config.globals, Globals::default());
        // Shipped disabled: installing the package must not fence the WAN.
        assert!(config.groups.is_empty());

        let enabled = ok(&text.replace("option enabled '0'", "option enabled '1'"));
        let g = &enabled.groups[0];
        assert_eq!(g.name, "wan");
        assert_eq!(g.wan_device, "wan");
        assert_eq!(g.shared_mac, [2, 0, 0, 0, 0, 1]);
        assert_eq!(g.control, ["br-lan"]);
        assert!(g.keys.is_empty());
        assert_eq!(g.trackers.len(), 1);
        assert_eq!(g.trackers[0].name, "wan_link");
        assert_eq!(g.trackers[0].kind, TrackerKind::Link { device: "wan".into() });
        assert_eq!(g.trackers[0].weight, Weight::Fatal);
    }

    /// The complete example in docs/CONFIG.md is a valid file.
    #[test]
    fn documented_example_parses() {
        let doc = include_str!("../../docs/CONFIG.md");
        let example =
            doc.split("## A complete example").nth(1).and_then(|rest| rest.split("```").nth(1)).expect("example block");
        let c = ok(example);
        assert_eq!(c.globals.hook_timeout, Duration::from_secs(5));
        let g = &c.groups[0];
        assert_eq!(g.router_id, Some(0xc000_020b));
        assert_eq!(g.control, ["br-lan", "lan4"]);
        assert_eq!(g.wan_hello_interval, Some(ms(300)));
        assert_eq!(g.keys.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(g.lan_gateways.len(), 2);
        assert!(g.conntrack_sync);
        let names: Vec<&str> = g.trackers.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["wan_link", "upstream", "gateway", "vpn", "upstream2"]);
        assert!(matches!(g.trackers[1].kind, TrackerKind::Ping { reliability: 2, .. }));
        assert_eq!(g.trackers[2].kind, TrackerKind::Arping { target: None });
    }

    #[test]
    fn a_file_without_groups_is_refused() {
        assert_eq!(err(""), format!("{FILE}: no 'group' section: nothing to do"));
        assert_eq!(err("config globals\n"), format!("{FILE}: no 'group' section: nothing to do"));
    }

    #[test]
    fn syntax_errors_carry_file_and_line() {
        assert_eq!(err("config group 'wan'\n\toption priority '1\n"), format!("{FILE}:2: unterminated ' quote"));
    }

    #[test]
    fn unknown_section_types_are_refused() {
        assert_eq!(
            err(&format!("{BASE}config grup 'x'\n")),
            format!("{FILE}:4: unknown section type 'grup' (expected globals, group or tracker)")
        );
    }

    #[test]
    fn error_display_forms() {
        let e = ConfigError {
            file: "f".into(),
            line: 12,
            option: Some("priority".into()),
            message: "300 is out of range 1..254".into(),
        };
        assert_eq!(e.to_string(), "f:12: option 'priority': 300 is out of range 1..254");
        let e = ConfigError { option: None, ..e };
        assert_eq!(e.to_string(), "f:12: 300 is out of range 1..254");
        let e = ConfigError { line: 0, ..e };
        assert_eq!(e.to_string(), "f: 300 is out of range 1..254");
    }

    #[test]
    fn load_reads_the_file() {
        let dir = std::env::temp_dir().join(format!("vwrp-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("vwrp");
        std::fs::write(&path, BASE).unwrap();
        let loaded = load(&path);
        std::fs::write(&path, b"config group 'wan'\n\toption wan_device '\xff'\n").unwrap();
        let not_utf8 = load(&path);
        let missing = load(&dir.join("absent"));
        std::fs::remove_dir_all(&dir).unwrap();

        assert_eq!(loaded.unwrap().groups[0].name, "wan");
        let e = not_utf8.unwrap_err();
        assert_eq!(e.to_string(), format!("{}:2: not valid UTF-8", path.display()));
        let e = missing.unwrap_err();
        assert_eq!(e.line, 0);
        assert!(e.to_string().starts_with(&format!("{}: cannot read: ", dir.join("absent").display())), "{e}");
    }

    // ---- globals ----

    #[test]
    fn globals_defaults() {
        let g = ok(BASE).globals;
        assert_eq!(g.control_socket, Path::new("/var/run/vwrp/vwrp.sock"));
        assert_eq!(g.state_dir, Path::new("/var/run/vwrp"));
        assert_eq!(g.hook_dir, Path::new("/etc/hotplug.d/vwrp"));
        assert_eq!(g.hook_timeout, Duration::from_secs(5));
        assert_eq!(g.log_level, LevelFilter::Info);
        // An empty globals section changes nothing, named or not.
        assert_eq!(ok(&format!("config globals 'globals'\n{BASE}")).globals, g);
        assert_eq!(ok(&format!("config globals\n{BASE}")).globals, g);
    }

    /// Globals first: its options are on line 2.
    fn globals(option: &str) -> Result<Globals, String> {
        parse(&format!("config globals 'globals'\n{option}{BASE}"), FILE).map(|c| c.globals).map_err(|e| e.to_string())
    }

    #[test]
    fn globals_values() {
        let g = globals(
            "\toption control_socket '/tmp/v.sock'\n\toption state_dir /tmp/s\n\toption hook_dir /tmp/h\n\toption hook_timeout 2.5s\n\toption log_level debug\n",
        )
        .unwrap();
        assert_eq!(g.control_socket, Path::new("/tmp/v.sock"));
        assert_eq!(g.state_dir, Path::new("/tmp/s"));
        assert_eq!(g.hook_dir, Path::new("/tmp/h"));
        assert_eq!(g.hook_timeout, ms(2500));
        assert_eq!(g.log_level, LevelFilter::Debug);
    }

    #[test]
    fn globals_log_levels() {
        for (word, level) in [
            ("error", LevelFilter::Error),
            ("warn", LevelFilter::Warn),
            ("info", LevelFilter::Info),
            ("debug", LevelFilter::Debug),
            ("trace", LevelFilter::Trace),
        ] {
            assert_eq!(globals(&opt("log_level", word)).unwrap().log_level, level);
        }
        assert_eq!(
            globals(&opt("log_level", "verbose")).unwrap_err(),
            format!("{FILE}:2: option 'log_level': 'verbose' is not a log level (error, warn, info, debug or trace)")
        );
    }

    #[test]
    fn globals_paths_must_be_absolute() {
        for name in ["control_socket", "state_dir", "hook_dir"] {
            assert_eq!(
                globals(&opt(name, "run/x")).unwrap_err(),
                format!("{FILE}:2: option '{name}': 'run/x' is not an absolute path")
            );
        }
    }

    #[test]
    fn control_socket_must_fit_sun_path() {
        let fits = format!("/{}", "s".repeat(106));
        assert!(globals(&opt("control_socket", &fits)).is_ok());
        let long = format!("/{}", "s".repeat(107));
        assert_eq!(
            globals(&opt("control_socket", &long)).unwrap_err(),
            format!(
                "{FILE}:2: option 'control_socket': '{long}' is longer than 107 bytes, the limit for a unix socket"
            )
        );
    }

    #[test]
    fn hook_timeout_range() {
        assert_eq!(globals(&opt("hook_timeout", "10ms")).unwrap().hook_timeout, ms(10));
        assert_eq!(globals(&opt("hook_timeout", "1h")).unwrap().hook_timeout, ms(HOUR));
        for bad in ["9", "3600001"] {
            assert_eq!(
                globals(&opt("hook_timeout", bad)).unwrap_err(),
                format!("{FILE}:2: option 'hook_timeout': {bad} is out of range 10ms..1h")
            );
        }
    }

    #[test]
    fn only_one_globals_section() {
        assert_eq!(
            err(&format!("config globals\n{BASE}config globals 'g2'\n")),
            format!("{FILE}:5: only one 'globals' section is allowed (the first is on line 1)")
        );
    }

    #[test]
    fn globals_unknown_option() {
        assert_eq!(
            globals(&opt("loglevel", "info")).unwrap_err(),
            format!("{FILE}:2: option 'loglevel': unknown option in globals 'globals'")
        );
        assert_eq!(
            err(&format!("config globals\n\toption x 1\n{BASE}")),
            format!("{FILE}:2: option 'x': unknown option in anonymous globals section")
        );
    }

    // ---- group ----

    #[test]
    fn group_defaults() {
        let g = group("");
        assert_eq!(g.name, "wan");
        assert_eq!(g.group_id, 1);
        assert_eq!(g.router_id, None);
        assert_eq!(g.wan_device, "wan");
        assert_eq!(g.shared_mac, [0x02, 0, 0, 0, 0, 1]);
        assert_eq!(g.control, ["br-lan"]);
        assert_eq!(g.priority, 100);
        assert!(g.preempt);
        assert_eq!(g.preempt_delay, Duration::from_secs(30));
        assert_eq!(g.hello_interval, ms(100));
        assert_eq!(g.wan_hello_interval, Some(ms(100)));
        assert_eq!(g.dead_multiplier, 3);
        assert_eq!(g.ethertype, 0x88b5);
        assert!(g.keys.is_empty());
        assert_eq!(g.hold_period, Duration::from_secs(60));
        assert!(g.lan_gateways.is_empty());
        assert_eq!(g.nudge_interval, Some(Duration::from_secs(10)));
        assert_eq!(g.prepare_timeout, Duration::from_secs(1));
        assert!(!g.conntrack_sync);
        assert_eq!(g.dhcp, DhcpMode::Udhcpc);
        assert_eq!(g.dhcp_client_id, None);
        assert_eq!(g.resolv_file, Path::new("/var/run/vwrp/resolv.conf.auto"));
        assert!(g.trackers.is_empty());
    }

    #[test]
    fn groups_must_be_named() {
        assert_eq!(
            err("config group\n\toption wan_device wan\n"),
            format!("{FILE}:1: group sections must be named: config group 'NAME'")
        );
    }

    #[test]
    fn group_unknown_option_names_line_and_option() {
        assert_eq!(
            group_err(&opt("prority", "100")),
            format!("{FILE}:4: option 'prority': unknown option in group 'wan'")
        );
    }

    #[test]
    fn group_required_options_name_the_section_line() {
        assert_eq!(
            err("\n\nconfig group 'wan'\n\toption shared_mac '02:00:00:00:00:01'\n"),
            format!("{FILE}:3: option 'wan_device': required in group 'wan'")
        );
        assert_eq!(
            err("config group 'wan'\n\toption wan_device 'wan'\n"),
            format!("{FILE}:1: option 'shared_mac': required in group 'wan'")
        );
        // An empty value deletes the option in UCI: it is missing.
        assert_eq!(
            err(&format!("{BASE}\toption wan_device ''\n")),
            format!("{FILE}:1: option 'wan_device': required in group 'wan'")
        );
    }

    #[test]
    fn list_and_option_are_not_interchangeable() {
        assert_eq!(
            group_err("\tlist priority '100'\n"),
            format!("{FILE}:4: option 'priority': takes one value: set it with 'option', not 'list'")
        );
        assert_eq!(
            group_err(&opt("control", "br-lan")),
            format!("{FILE}:4: option 'control': is a list: give each item on its own 'list' line, not 'option'")
        );
    }

    #[test]
    fn repeated_option_keeps_the_last() {
        assert_eq!(group(&format!("{}{}", opt("priority", "7"), opt("priority", "9"))).priority, 9);
    }

    #[test]
    fn enabled_flag() {
        assert_eq!(ok(&format!("{BASE}{}", opt("enabled", "1"))).groups.len(), 1);
        assert!(ok(&format!("{BASE}{}", opt("enabled", "0"))).groups.is_empty());
        // A disabled group is still checked.
        assert_eq!(
            group_err(&format!("{}{}", opt("enabled", "0"), opt("priority", "0"))),
            format!("{FILE}:5: option 'priority': 0 is out of range 1..254")
        );
        assert_eq!(
            group_err(&opt("enabled", "maybe")),
            format!(
                "{FILE}:4: option 'enabled': 'maybe' is not a boolean (use 1/0, yes/no, on/off, true/false or enabled/disabled)"
            )
        );
    }

    #[test]
    fn group_id_range() {
        group_edges("group_id", "1", "255", "0", "256", "1..255");
        assert_eq!(group(&opt("group_id", "42")).group_id, 42);
        assert_eq!(group_err(&opt("group_id", "one")), format!("{FILE}:4: option 'group_id': 'one' is not a number"));
    }

    fn second_group(extra: &str) -> String {
        format!("config group 'lte'\n\toption wan_device 'wwan0'\n\toption shared_mac '02:00:00:00:00:02'\n{extra}")
    }

    #[test]
    fn group_ids_are_unique_among_enabled_groups() {
        assert_eq!(
            err(&format!("{BASE}{}", second_group(""))),
            format!("{FILE}:4: option 'group_id': 1 is already used by group 'wan'")
        );
        assert_eq!(
            err(&format!("{BASE}{}", second_group(&opt("group_id", "1")))),
            format!("{FILE}:7: option 'group_id': 1 is already used by group 'wan'")
        );
        let c = ok(&format!("{BASE}{}", second_group(&opt("group_id", "2"))));
        assert_eq!(c.groups.len(), 2);
        assert_eq!(c.groups[1].name, "lte");
        assert_eq!(c.groups[1].group_id, 2);
        let c = ok(&format!("{BASE}{}", second_group(&opt("enabled", "0"))));
        assert_eq!(c.groups.len(), 1);
    }

    #[test]
    fn wan_devices_are_unique_among_enabled_groups() {
        let text = format!("{BASE}{}", second_group(&opt("group_id", "2"))).replace("'wwan0'", "'wan'");
        assert_eq!(err(&text), format!("{FILE}:5: option 'wan_device': 'wan' is already used by group 'wan'"));
    }

    #[test]
    fn router_id_forms_and_range() {
        assert_eq!(group(&opt("router_id", "7")).router_id, Some(7));
        assert_eq!(group(&opt("router_id", "0x0A0B")).router_id, Some(0x0a0b));
        assert_eq!(group(&opt("router_id", "192.0.2.1")).router_id, Some(0xc000_0201));
        assert_eq!(group(&opt("router_id", "1")).router_id, Some(1));
        assert_eq!(group(&opt("router_id", "4294967295")).router_id, Some(u32::MAX));
        assert_eq!(group(&opt("router_id", "0xffffffff")).router_id, Some(u32::MAX));
        for bad in ["0", "0x0", "0.0.0.0", "4294967296", "0x100000000"] {
            assert_eq!(
                group_err(&opt("router_id", bad)),
                format!("{FILE}:4: option 'router_id': {bad} is out of range 1..4294967295")
            );
        }
        assert_eq!(
            group_err(&opt("router_id", "1.2.3")),
            format!("{FILE}:4: option 'router_id': '1.2.3' is not a number or dotted quad")
        );
        assert_eq!(group_err(&opt("router_id", "0xg")), format!("{FILE}:4: option 'router_id': '0xg' is not a number"));
    }

    #[test]
    fn wan_device_names() {
        assert_eq!(group(&opt("wan_device", "eth0.2")).wan_device, "eth0.2");
        assert_eq!(group(&opt("wan_device", "a23456789012345")).wan_device, "a23456789012345");
        assert_eq!(
            group_err(&opt("wan_device", "a234567890123456")),
            format!("{FILE}:4: option 'wan_device': interface name 'a234567890123456' is longer than 15 bytes")
        );
        for bad in ["a/b", "a:1", "a b", ".", ".."] {
            assert_eq!(
                group_err(&opt("wan_device", bad)),
                format!("{FILE}:4: option 'wan_device': '{bad}' is not a valid interface name")
            );
        }
    }

    #[test]
    fn shared_mac_forms() {
        assert_eq!(group(&opt("shared_mac", "0A:bc:DE:f0:1:2")).shared_mac, [0x0a, 0xbc, 0xde, 0xf0, 1, 2]);
        for bad in [
            "02:00:00:00:00",
            "02:00:00:00:00:01:02",
            "02-00-00-00-00-01",
            "02:00:00:00:00:xy",
            "002:00:00:00:00:01",
            "02::00:00:00:01",
        ] {
            assert_eq!(
                group_err(&opt("shared_mac", bad)),
                format!("{FILE}:4: option 'shared_mac': '{bad}' is not a MAC address (xx:xx:xx:xx:xx:xx)")
            );
        }
        assert_eq!(
            group_err(&opt("shared_mac", "00:00:00:00:00:00")),
            format!("{FILE}:4: option 'shared_mac': the all-zero address cannot be used")
        );
        assert_eq!(
            group_err(&opt("shared_mac", "03:00:00:00:00:01")),
            format!(
                "{FILE}:4: option 'shared_mac': '03:00:00:00:00:01' is a multicast address; the first octet must be even"
            )
        );
    }

    #[test]
    fn control_list() {
        assert_eq!(group("\tlist control 'lan1'\n\tlist control 'lan2'\n").control, ["lan1", "lan2"]);
        assert_eq!(
            group_err("\tlist control 'lan1'\n\tlist control 'lan1'\n"),
            format!("{FILE}:5: option 'control': 'lan1' is listed twice (first on line 4)")
        );
        assert_eq!(group_err("\tlist control ''\n"), format!("{FILE}:4: option 'control': empty interface name"));
    }

    #[test]
    fn priority_range() {
        group_edges("priority", "1", "254", "0", "255", "1..254");
        assert_eq!(group(&opt("priority", "200")).priority, 200);
        // Numbers too large for any integer type are just out of range.
        assert_eq!(
            group_err(&opt("priority", "99999999999999999999999")),
            format!("{FILE}:4: option 'priority': 99999999999999999999999 is out of range 1..254")
        );
        assert_eq!(group_err(&opt("priority", "-1")), format!("{FILE}:4: option 'priority': '-1' is not a number"));
    }

    #[test]
    fn booleans_take_every_openwrt_spelling() {
        for word in ["1", "yes", "on", "true", "enabled"] {
            assert!(group(&opt("preempt", word)).preempt, "{word}");
            assert!(group(&opt("conntrack_sync", word)).conntrack_sync, "{word}");
        }
        for word in ["0", "no", "off", "false", "disabled"] {
            assert!(!group(&opt("preempt", word)).preempt, "{word}");
        }
        for bad in ["2", "Yes", "TRUE", "y"] {
            assert_eq!(
                group_err(&opt("preempt", bad)),
                format!(
                    "{FILE}:4: option 'preempt': '{bad}' is not a boolean (use 1/0, yes/no, on/off, true/false or enabled/disabled)"
                )
            );
        }
    }

    #[test]
    fn preempt_delay_range() {
        assert_eq!(group(&opt("preempt_delay", "0")).preempt_delay, Duration::ZERO);
        assert_eq!(group(&opt("preempt_delay", "1h")).preempt_delay, ms(HOUR));
        assert_eq!(
            group_err(&opt("preempt_delay", "61m")),
            format!("{FILE}:4: option 'preempt_delay': 61m is out of range 0..1h")
        );
    }

    #[test]
    fn hello_interval_range() {
        group_edges("hello_interval", "10ms", "60s", "9ms", "60001", "10ms..1m");
        assert_eq!(group(&opt("hello_interval", "250")).hello_interval, ms(250));
    }

    #[test]
    fn wan_hello_interval_default_off_and_range() {
        let g = group(&opt("hello_interval", "200ms"));
        assert_eq!(g.wan_hello_interval, Some(ms(200)));
        assert_eq!(group(&opt("wan_hello_interval", "0")).wan_hello_interval, None);
        assert_eq!(group(&opt("wan_hello_interval", "0s")).wan_hello_interval, None);
        assert_eq!(group(&opt("wan_hello_interval", "10ms")).wan_hello_interval, Some(ms(10)));
        assert_eq!(group(&opt("wan_hello_interval", "1m")).wan_hello_interval, Some(ms(MINUTE)));
        for bad in ["9ms", "61s"] {
            assert_eq!(
                group_err(&opt("wan_hello_interval", bad)),
                format!("{FILE}:4: option 'wan_hello_interval': {bad} is out of range 10ms..1m, or 0 for off")
            );
        }
    }

    #[test]
    fn dead_multiplier_range() {
        group_edges("dead_multiplier", "3", "255", "2", "256", "3..255");
    }

    #[test]
    fn ethertype_forms_and_range() {
        assert_eq!(group(&opt("ethertype", "0x0600")).ethertype, 0x0600);
        assert_eq!(group(&opt("ethertype", "0xffff")).ethertype, 0xffff);
        assert_eq!(group(&opt("ethertype", "0X88B6")).ethertype, 0x88b6);
        assert_eq!(group(&opt("ethertype", "1536")).ethertype, 0x0600);
        for bad in ["0x05ff", "0x10000", "1535", "65536"] {
            assert_eq!(
                group_err(&opt("ethertype", bad)),
                format!("{FILE}:4: option 'ethertype': {bad} is out of range 0x0600..0xffff")
            );
        }
        assert_eq!(group_err(&opt("ethertype", "0x")), format!("{FILE}:4: option 'ethertype': '0x' is not a number"));
    }

    #[test]
    fn keys() {
        let g = group("\tlist key '2:first'\n\tlist key '0:se:cr et'\n\tlist key '255:x'\n");
        assert_eq!(g.keys, vec![(2, b"first".to_vec()), (0, b"se:cr et".to_vec()), (255, b"x".to_vec())]);
        assert_eq!(
            group_err("\tlist key '1:a'\n\tlist key '1:b'\n"),
            format!("{FILE}:5: option 'key': key id 1 is listed twice")
        );
        assert_eq!(
            group_err("\tlist key '1:hunter2'\n\tlist key '1:hunter2'\n"),
            format!("{FILE}:5: option 'key': key id 1 is listed twice")
        );
        assert_eq!(group_err("\tlist key '7:'\n"), format!("{FILE}:4: option 'key': key id 7 has an empty secret"));
        assert_eq!(
            group_err(&opt("key", "1:hunter2")),
            format!("{FILE}:4: option 'key': is a list: give each item on its own 'list' line, not 'option'")
        );
    }

    #[test]
    fn key_errors_never_show_the_secret() {
        for bad in ["hunter2", "256:hunter2", "x:hunter2", ":hunter2", "-1:hunter2"] {
            let e = group_err(&format!("\tlist key '{bad}'\n"));
            assert!(e.starts_with(&format!("{FILE}:4: option 'key': expected ID:SECRET")), "{e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let c = ok(&format!("{BASE}\tlist key '1:hunter2'\n\tlist key '2:swordfish'\n"));
        let shown = format!("{c:?} {:#?}", c.groups[0]);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("swordfish"));
        // 'hunter2' as bytes, in case of a derived Vec<u8> dump.
        assert!(!shown.contains("104, 117, 110"));
        assert!(shown.contains("1:<secret>"), "{shown}");
        assert!(shown.contains("02:00:00:00:00:01"));
    }

    #[test]
    fn hold_period_range() {
        group_edges("hold_period", "1s", "1d", "999ms", "86400001", "1s..1d");
        assert_eq!(group(&opt("hold_period", "1.5m")).hold_period, ms(90_000));
    }

    #[test]
    fn lan_gateways() {
        let g = group("\tlist lan_gateway '198.51.100.1/24@br-lan'\n\tlist lan_gateway '2001:db8::1/64@br-lan'\n");
        assert_eq!(
            g.lan_gateways,
            vec![
                LanGateway { address: "198.51.100.1".parse().unwrap(), prefix_len: 24, device: "br-lan".into() },
                LanGateway { address: "2001:db8::1".parse().unwrap(), prefix_len: 64, device: "br-lan".into() },
            ]
        );
        group(
            "\tlist lan_gateway '192.0.2.1/32@lan'\n\tlist lan_gateway '192.0.2.4/31@lan'\n\tlist lan_gateway '2001:db8::2/128@lan'\n",
        );
        let cases = [
            ("198.51.100.1@br-lan", "'198.51.100.1@br-lan' is not ADDRESS/PREFIX@DEVICE"),
            ("198.51.100.1/24", "'198.51.100.1/24' is not ADDRESS/PREFIX@DEVICE"),
            ("lan/24@br-lan", "'lan' is not an IP address"),
            ("198.51.100.1/0@br-lan", "prefix length 0 is out of range 1..32"),
            ("198.51.100.1/33@br-lan", "prefix length 33 is out of range 1..32"),
            ("2001:db8::1/129@br-lan", "prefix length 129 is out of range 1..128"),
            ("198.51.100.1/x@br-lan", "prefix length 'x' is not a number"),
            ("198.51.100.0/24@br-lan", "198.51.100.0 is the network or broadcast address of its /24"),
            ("198.51.100.255/24@br-lan", "198.51.100.255 is the network or broadcast address of its /24"),
            ("0.0.0.0/8@br-lan", "0.0.0.0 is not a unicast address"),
            ("224.0.0.1/24@br-lan", "224.0.0.1 is not a unicast address"),
            ("ff02::1/64@br-lan", "ff02::1 is not a unicast address"),
            ("198.51.100.1/24@", "empty interface name"),
            ("198.51.100.1/24@a/b", "'a/b' is not a valid interface name"),
        ];
        for (bad, message) in cases {
            assert_eq!(
                group_err(&format!("\tlist lan_gateway '{bad}'\n")),
                format!("{FILE}:4: option 'lan_gateway': {message}")
            );
        }
        assert_eq!(
            group_err("\tlist lan_gateway '192.0.2.1/24@lan'\n\tlist lan_gateway '192.0.2.1/24@lan'\n"),
            format!("{FILE}:5: option 'lan_gateway': '192.0.2.1/24@lan' is listed twice (first on line 4)")
        );
    }

    #[test]
    fn nudge_interval_default_off_and_range() {
        assert_eq!(group(&opt("nudge_interval", "0")).nudge_interval, None);
        assert_eq!(group(&opt("nudge_interval", "1s")).nudge_interval, Some(ms(SECOND)));
        assert_eq!(group(&opt("nudge_interval", "1h")).nudge_interval, Some(ms(HOUR)));
        for bad in ["999", "3600001"] {
            assert_eq!(
                group_err(&opt("nudge_interval", bad)),
                format!("{FILE}:4: option 'nudge_interval': {bad} is out of range 1s..1h, or 0 for off")
            );
        }
    }

    #[test]
    fn prepare_timeout_range() {
        group_edges("prepare_timeout", "10ms", "60s", "9ms", "60001ms", "10ms..1m");
    }

    #[test]
    fn dhcp_modes() {
        assert_eq!(group(&opt("dhcp", "udhcpc")).dhcp, DhcpMode::Udhcpc);
        assert_eq!(group(&opt("dhcp", "netifd")).dhcp, DhcpMode::Netifd);
        assert_eq!(group(&opt("dhcp", "none")).dhcp, DhcpMode::None);
        assert_eq!(
            group_err(&opt("dhcp", "dhcpcd")),
            format!("{FILE}:4: option 'dhcp': 'dhcpcd' is not one of udhcpc, netifd, none")
        );
    }

    #[test]
    fn dhcp_client_id_forms() {
        assert_eq!(group(&opt("dhcp_client_id", "01020304abCD")).dhcp_client_id, Some(vec![1, 2, 3, 4, 0xab, 0xcd]));
        assert_eq!(group(&opt("dhcp_client_id", "01:02:ff")).dhcp_client_id, Some(vec![1, 2, 0xff]));
        assert_eq!(group(&opt("dhcp_client_id", "0102")).dhcp_client_id, Some(vec![1, 2]));
        assert_eq!(group(&opt("dhcp_client_id", &"ab".repeat(255))).dhcp_client_id.map(|v| v.len()), Some(255));
        for bad in ["010", "01:2", "zz", "01 02", "01::02"] {
            assert_eq!(
                group_err(&opt("dhcp_client_id", bad)),
                format!("{FILE}:4: option 'dhcp_client_id': '{bad}' is not hex bytes (e.g. 01020304abcd)")
            );
        }
        for bad in ["01".to_string(), "ab".repeat(256)] {
            assert_eq!(
                group_err(&opt("dhcp_client_id", &bad)),
                format!("{FILE}:4: option 'dhcp_client_id': '{bad}' must be 2 to 255 bytes long")
            );
        }
    }

    #[test]
    fn resolv_file_path() {
        assert_eq!(group(&opt("resolv_file", "/tmp/resolv.conf.d/r")).resolv_file, Path::new("/tmp/resolv.conf.d/r"));
        assert_eq!(
            group_err(&opt("resolv_file", "resolv.conf")),
            format!("{FILE}:4: option 'resolv_file': 'resolv.conf' is not an absolute path")
        );
    }

    // ---- trackers ----

    #[test]
    fn tracker_defaults_per_type() {
        let t = tracker("link", &opt("device", "wan"));
        assert_eq!(t.name, "t");
        assert_eq!(t.kind, TrackerKind::Link { device: "wan".into() });
        assert_eq!(t.interval, ms(SECOND));
        assert_eq!(t.timeout, ms(SECOND));
        assert_eq!(t.rise, 3);
        assert_eq!(t.fall, 3);
        assert_eq!(t.weight, Weight::Penalty(50));
        assert!(!t.wan_only);

        let t = tracker("ping", "\tlist target '192.0.2.1'\n");
        assert_eq!(t.kind, TrackerKind::Ping { targets: vec!["192.0.2.1".parse().unwrap()], count: 1, reliability: 1 });
        assert!(t.wan_only);

        let t = tracker("arping", "");
        assert_eq!(t.kind, TrackerKind::Arping { target: None });
        assert!(t.wan_only);

        let t = tracker("script", &opt("script", "/usr/bin/check  -q\twan"));
        assert_eq!(t.kind, TrackerKind::Script { argv: vec!["/usr/bin/check".into(), "-q".into(), "wan".into()] });
        assert!(!t.wan_only);

        let t = tracker("external", "");
        assert_eq!(t.kind, TrackerKind::External);
        assert!(!t.wan_only);
    }

    #[test]
    fn trackers_attach_to_their_group_in_file_order() {
        let text = format!(
            "config tracker 'b'\n\toption group 'lte'\n\toption type 'external'\n\
             config tracker 'a'\n\toption group 'wan'\n\toption type 'external'\n\
             {BASE}{}\
             config tracker 'c'\n\toption group 'lte'\n\toption type 'external'\n",
            second_group(&opt("group_id", "2"))
        );
        let c = ok(&text);
        let names = |g: &Group| g.trackers.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&c.groups[0]), ["a"]);
        assert_eq!(names(&c.groups[1]), ["b", "c"]);
    }

    #[test]
    fn trackers_of_a_disabled_group_are_dropped() {
        let text = format!(
            "{BASE}{}{}config tracker 't'\n\toption group 'lte'\n\toption type 'external'\n",
            second_group(&opt("group_id", "2")),
            opt("enabled", "0")
        );
        let c = ok(&text);
        assert_eq!(c.groups.len(), 1);
        assert!(c.groups[0].trackers.is_empty());
    }

    #[test]
    fn tracker_structure_errors() {
        assert_eq!(
            err(&format!("{BASE}config tracker\n\toption group wan\n\toption type external\n")),
            format!("{FILE}:4: tracker sections must be named: config tracker 'NAME'")
        );
        assert_eq!(
            err(&format!("{BASE}config tracker 't'\n\toption type external\n")),
            format!("{FILE}:4: option 'group': required in tracker 't'")
        );
        assert_eq!(
            err(&format!("{BASE}config tracker 't'\n\toption group wan\n")),
            format!("{FILE}:4: option 'type': required in tracker 't'")
        );
        assert_eq!(
            err(&format!("{BASE}config tracker 't'\n\toption group lan\n\toption type external\n")),
            format!("{FILE}:5: option 'group': no group named 'lan' (in tracker 't')")
        );
        assert_eq!(
            err(&format!("{BASE}config tracker 't'\n\toption group wan\n\toption type icmp\n")),
            format!("{FILE}:6: option 'type': 'icmp' is not one of link, ping, arping, script, external")
        );
        assert_eq!(
            tracker_err("external", &opt("intervall", "1s")),
            format!("{FILE}:7: option 'intervall': unknown option in tracker 't'")
        );
    }

    #[test]
    fn options_of_other_tracker_types_are_refused() {
        let cases = [
            ("link", "\toption device wan\n\tlist target 192.0.2.1\n", 8, "target"),
            ("ping", "\tlist target 192.0.2.1\n\toption device wan\n", 8, "device"),
            ("ping", "\tlist target 192.0.2.1\n\toption script /bin/true\n", 8, "script"),
            ("arping", &opt("count", "2"), 7, "count"),
            ("arping", &opt("reliability", "1"), 7, "reliability"),
            ("script", "\toption script /bin/true\n\tlist target 192.0.2.1\n", 8, "target"),
            ("external", &opt("device", "wan"), 7, "device"),
        ];
        for (kind, extra, line, option) in cases {
            assert_eq!(
                tracker_err(kind, extra),
                format!("{FILE}:{line}: option '{option}': not used by trackers of type '{kind}'")
            );
        }
    }

    #[test]
    fn link_tracker_device() {
        assert_eq!(tracker_err("link", ""), format!("{FILE}:4: option 'device': required in tracker 't'"));
        assert_eq!(
            tracker_err("link", &opt("device", "a b")),
            format!("{FILE}:7: option 'device': 'a b' is not a valid interface name")
        );
    }

    const TARGET: &str = "\tlist target '192.0.2.1'\n";

    #[test]
    fn ping_targets() {
        assert_eq!(tracker_err("ping", ""), format!("{FILE}:4: option 'target': required in tracker 't'"));
        let t = tracker("ping", "\tlist target '192.0.2.1'\n\tlist target '2001:db8::1'\n");
        match t.kind {
            TrackerKind::Ping { targets, .. } => {
                assert_eq!(targets, ["192.0.2.1".parse::<IpAddr>().unwrap(), "2001:db8::1".parse().unwrap()])
            }
            other => panic!("{other:?}"),
        }
        for (bad, message) in [
            ("example.com", "'example.com' is not an IP address"),
            ("224.0.0.1", "224.0.0.1 is not a unicast address"),
            ("255.255.255.255", "255.255.255.255 is not a unicast address"),
            ("::", ":: is not a unicast address"),
        ] {
            assert_eq!(
                tracker_err("ping", &format!("\tlist target '{bad}'\n")),
                format!("{FILE}:7: option 'target': {message}")
            );
        }
        assert_eq!(
            tracker_err("ping", &format!("{TARGET}{TARGET}")),
            format!("{FILE}:8: option 'target': '192.0.2.1' is listed twice (first on line 7)")
        );
        assert_eq!(
            tracker_err("ping", &opt("target", "192.0.2.1")),
            format!("{FILE}:7: option 'target': is a list: give each item on its own 'list' line, not 'option'")
        );
    }

    #[test]
    fn ping_count_range() {
        // The target comes after the option under test, which stays on line 7.
        for (value, expect) in [("1", Ok(1)), ("20", Ok(20)), ("0", Err(())), ("21", Err(()))] {
            let text = with_tracker("ping", &format!("{}{TARGET}", opt("count", value)));
            match (parse(&text, FILE), expect) {
                (Ok(c), Ok(n)) => match &c.groups[0].trackers[0].kind {
                    TrackerKind::Ping { count, .. } => assert_eq!(*count, n),
                    other => panic!("{other:?}"),
                },
                (Err(e), Err(())) => {
                    assert_eq!(e.to_string(), format!("{FILE}:7: option 'count': {value} is out of range 1..20"))
                }
                (got, _) => panic!("count {value}: {got:?}"),
            }
        }
    }

    #[test]
    fn ping_reliability_up_to_the_number_of_targets() {
        let two = "\tlist target '192.0.2.1'\n\tlist target '192.0.2.2'\n";
        let t = tracker("ping", &format!("{two}{}", opt("reliability", "2")));
        assert!(matches!(t.kind, TrackerKind::Ping { reliability: 2, .. }));
        let t = tracker("ping", &format!("{two}{}", opt("reliability", "1")));
        assert!(matches!(t.kind, TrackerKind::Ping { reliability: 1, .. }));
        for bad in ["0", "3"] {
            assert_eq!(
                tracker_err("ping", &format!("{two}{}", opt("reliability", bad))),
                format!("{FILE}:9: option 'reliability': {bad} is out of range 1..2 (the number of targets)")
            );
        }
    }

    #[test]
    fn probe_timeout_may_not_exceed_interval() {
        // Default timeout follows a short interval.
        let t = tracker("ping", &format!("{TARGET}{}", opt("interval", "500ms")));
        assert_eq!((t.interval, t.timeout), (ms(500), ms(500)));
        let t = tracker("ping", &format!("{TARGET}{}{}", opt("interval", "2s"), opt("timeout", "2s")));
        assert_eq!((t.interval, t.timeout), (ms(2000), ms(2000)));
        assert_eq!(
            tracker_err("arping", &format!("{}{}", opt("interval", "1s"), opt("timeout", "1001"))),
            format!("{FILE}:8: option 'timeout': 1001ms is longer than the interval (1s)")
        );
        // Other types may wait longer than they poll.
        let t = tracker(
            "script",
            &format!("{}{}{}", opt("script", "/bin/true"), opt("interval", "1s"), opt("timeout", "5s")),
        );
        assert_eq!(t.timeout, ms(5000));
    }

    #[test]
    fn arping_target() {
        let t = tracker("arping", TARGET);
        assert_eq!(t.kind, TrackerKind::Arping { target: Some(Ipv4Addr::new(192, 0, 2, 1)) });
        assert_eq!(
            tracker_err("arping", "\tlist target '2001:db8::1'\n"),
            format!("{FILE}:7: option 'target': '2001:db8::1' is not an IPv4 address (arping is IPv4 only)")
        );
        assert_eq!(
            tracker_err("arping", "\tlist target '192.0.2.1'\n\tlist target '192.0.2.2'\n"),
            format!("{FILE}:8: option 'target': an arping tracker takes at most one target")
        );
    }

    #[test]
    fn script_command_line() {
        assert_eq!(tracker_err("script", ""), format!("{FILE}:4: option 'script': required in tracker 't'"));
        assert_eq!(
            tracker_err("script", &opt("script", "check-wan --fast")),
            format!("{FILE}:7: option 'script': 'check-wan' must be an absolute path")
        );
        assert_eq!(tracker_err("script", &opt("script", "   ")), format!("{FILE}:7: option 'script': empty command"));
    }

    #[test]
    fn interval_and_timeout_ranges() {
        tracker_edges("external", "interval", "10ms", "1h", "9ms", "3600001", "10ms..1h");
        tracker_edges("external", "timeout", "10ms", "1h", "9ms", "3600001", "10ms..1h");
        assert_eq!(
            tracker_err("external", &opt("interval", "soon")),
            format!(
                "{FILE}:7: option 'interval': 'soon' is not a duration (e.g. 100ms, 1.5s, 2m, or a number of milliseconds)"
            )
        );
    }

    #[test]
    fn rise_and_fall_ranges() {
        tracker_edges("external", "rise", "1", "255", "0", "256", "1..255");
        tracker_edges("external", "fall", "1", "255", "0", "256", "1..255");
        let t = tracker("external", &format!("{}{}", opt("rise", "5"), opt("fall", "2")));
        assert_eq!((t.rise, t.fall), (5, 2));
    }

    #[test]
    fn weights() {
        assert_eq!(tracker("external", &opt("weight", "fatal")).weight, Weight::Fatal);
        assert_eq!(tracker("external", &opt("weight", "1")).weight, Weight::Penalty(1));
        assert_eq!(tracker("external", &opt("weight", "255")).weight, Weight::Penalty(255));
        for bad in ["0", "256"] {
            assert_eq!(
                tracker_err("external", &opt("weight", bad)),
                format!("{FILE}:7: option 'weight': {bad} is out of range 1..255, or 'fatal'")
            );
        }
        assert_eq!(
            tracker_err("external", &opt("weight", "Fatal")),
            format!("{FILE}:7: option 'weight': 'Fatal' is not a number, or 'fatal'")
        );
    }

    #[test]
    fn wan_only_overrides_the_type_default() {
        assert!(tracker("external", &opt("wan_only", "1")).wan_only);
        assert!(!tracker("arping", &opt("wan_only", "no")).wan_only);
        assert_eq!(
            tracker_err("external", &opt("wan_only", "sometimes")),
            format!(
                "{FILE}:7: option 'wan_only': 'sometimes' is not a boolean (use 1/0, yes/no, on/off, true/false or enabled/disabled)"
            )
        );
    }

    // ---- value syntax ----

    #[test]
    fn duration_syntax() {
        let cases = [
            ("0", 0),
            ("100", 100),
            ("100ms", 100),
            ("1s", 1000),
            ("1.5s", 1500),
            ("0.25s", 250),
            ("1.001s", 1001),
            ("2m", 120_000),
            ("0.5m", 30_000),
            ("1h", 3_600_000),
            ("1.5h", 5_400_000),
            ("1d", 86_400_000),
            ("007s", 7000),
        ];
        for (text, millis) in cases {
            assert_eq!(duration(text), Ok(ms(millis)), "{text}");
        }
        for bad in ["", "s", "ms", "1.s", ".5s", "-1s", "+1s", "1 s", " 1s", "1S", "1sec", "1e3", "1..5s", "1.5.5s"] {
            assert!(duration(bad).unwrap_err().contains("is not a duration"), "{bad}");
        }
        for fine in ["1.5", "1.5ms", "1.0001s", "1.0000000001s"] {
            assert_eq!(duration(fine), Err(format!("'{fine}' is finer than a millisecond")));
        }
        assert_eq!(duration("1.0000s"), Ok(ms(1000)));
        assert_eq!(duration("99999999999999999999d"), Err("'99999999999999999999d' is out of range".into()));
        assert_eq!(duration("999999999999999d"), Err("'999999999999999d' is out of range".into()));
    }

    #[test]
    fn durations_are_shown_in_their_shortest_exact_form() {
        assert_eq!(format_duration(Duration::ZERO), "0");
        assert_eq!(format_duration(ms(10)), "10ms");
        assert_eq!(format_duration(ms(1500)), "1500ms");
        assert_eq!(format_duration(ms(90_000)), "90s");
        assert_eq!(format_duration(ms(MINUTE)), "1m");
        assert_eq!(format_duration(ms(HOUR)), "1h");
        assert_eq!(format_duration(ms(DAY)), "1d");
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(text in any::<String>()) {
            let _ = parse(&text, FILE);
        }

        /// Whatever is wrong with a key, the error does not quote it.
        #[test]
        fn key_errors_never_quote_the_key(
            first in "[0-9a-z:]{0,5}",
            second in "[0-9a-z:]{0,5}",
            as_option in any::<bool>(),
        ) {
            let word = if as_option { "option" } else { "list" };
            let text = format!(
                "{BASE}\t{word} key '{first}zzsecretzz'\n\tlist key '{second}zzsecretzz'\n"
            );
            if let Err(e) = parse(&text, FILE) {
                prop_assert!(!e.to_string().contains("zzsecretzz"), "{}", e);
            }
        }

        /// Valid structure with arbitrary option values: checks, never panics.
        #[test]
        fn never_panics_on_any_value(
            name in proptest::sample::select(GROUP_OPTIONS),
            tname in proptest::sample::select(TRACKER_OPTIONS),
            kind in proptest::sample::select(&["link", "ping", "arping", "script", "external"][..]),
            value in "[ -~]{0,24}",
            value2 in "[0-9a-fx.:/@ms-]{0,24}",
        ) {
            let escaped = value.replace('\'', "'\\''");
            let text = format!(
                "{BASE}\tlist {name} '{escaped}'\n\toption {name} '{value2}'\n\
                 config tracker t\n\toption group wan\n\toption type {kind}\n\tlist {tname} '{value2}'\n\toption {tname} '{escaped}'\n"
            );
            if let Err(e) = parse(&text, FILE) {
                prop_assert!(e.line >= 1, "{}", e);
            }
        }
    }
}
