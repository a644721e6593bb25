//! The schema, option by option: defaults, ranges, and the message each mistake gets.

use super::tracker::COMMON_OPTIONS;
use super::values::{duration, format_duration};
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

/// Every option a tracker section may have.
fn tracker_options() -> Vec<&'static str> {
    COMMON_OPTIONS.iter().copied().chain(KINDS.iter().flat_map(|k| k.options.iter().copied())).collect()
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

/// Only a regular file of at most 1 MiB is read: a FIFO would hang the
/// reader, /dev/zero would fill the memory.
#[test]
fn load_reads_only_a_regular_file_of_at_most_a_mebibyte() {
    let dir = std::env::temp_dir().join(format!("vwrp-config-kinds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let big = dir.join("big");
    let mut text = String::from(BASE);
    text.push_str(&"#".repeat(MAX_FILE as usize - BASE.len() - 1));
    text.push('\n');
    std::fs::write(&big, &text).unwrap();
    let at_limit = load(&big);
    text.push('\n');
    std::fs::write(&big, &text).unwrap();
    let over = load(&big);
    let results = [load(&fifo), load(Path::new("/dev/zero")), load(&dir), load(Path::new("/dev/null"))];
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(at_limit.unwrap().groups.len(), 1);
    let over = over.unwrap_err().to_string();
    assert_eq!(
        over,
        format!("{}: larger than 1048576 bytes (1 MiB), the most a configuration file may be", big.display())
    );
    let [fifo_e, zero, dir_e, null] = results.map(|r| r.unwrap_err().to_string());
    assert_eq!(fifo_e, format!("{}: is a FIFO, not a regular file", fifo.display()));
    assert_eq!(zero, "/dev/zero: is a device, not a regular file");
    assert_eq!(null, "/dev/null: is a device, not a regular file");
    assert_eq!(dir_e, format!("{}: is a directory, not a regular file", dir.display()));
}

/// Messages quote the file; its control characters are escaped, so a
/// crafted file cannot put terminal escapes on the admin's screen.
#[test]
fn messages_escape_control_characters() {
    let e = err("config group 'wan'\n\toption \"\x1b[2J\x07x\" 1\n");
    assert_eq!(e, format!("{FILE}:2: invalid option name '\\u{{1b}}[2J\\u{{7}}x': use only letters, digits and _"));
    let e = group_err(&opt("dhcp", "\x1b]0;owned\x07\u{9b}31m"));
    assert_eq!(
        e,
        format!("{FILE}:4: option 'dhcp': '\\u{{1b}}]0;owned\\u{{7}}\\u{{9b}}31m' is not one of udhcpc, netifd, none")
    );
    let e = err("\x1b[31mconfig group 'wan'\n");
    assert!(e.starts_with(&format!("{FILE}:1: invalid command '\\u{{1b}}[31mconfig'")), "{e}");
    // Multi-line quoted values stay on one line of the message.
    let e = group_err(&opt("dhcp", "a\nb"));
    assert_eq!(e, format!("{FILE}:4: option 'dhcp': 'a\\nb' is not one of udhcpc, netifd, none"));
    assert!(!e.chars().any(char::is_control), "{e}");
}

/// An enabled group without a key is allowed, and warned about; a
/// disabled one is nobody's concern.
#[test]
fn a_group_without_a_key_is_warned_about() {
    let w = warnings(&ok(BASE));
    assert_eq!(
        w,
        ["group 'wan' has no key: hellos are not authenticated, so anyone on its control links can take the WAN; \
          make one with `vwrp genkey` and put the same 'list key' line on every router"]
    );
    assert!(warnings(&ok(&format!("{BASE}\tlist key '1:sixteen-bytes-ok'\n"))).is_empty());
    let disabled = format!(
        "{BASE}config group 'b'\n\toption enabled 0\n\toption wan_device 'b'\n\toption shared_mac '02:00:00:00:00:01'\n"
    );
    assert_eq!(warnings(&ok(&disabled)).len(), 1);
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
fn conntrackd_syncs_over_the_named_device_or_the_first_control_link() {
    assert_eq!(ok(BASE).conntrack_device(), None, "no group syncs");
    let sync = format!("{BASE}\toption conntrack_sync '1'\n");
    assert_eq!(ok(&sync).conntrack_device(), Some("br-lan"));
    let dedicated = format!("config globals\n\toption conntrack_device 'eth3'\n{sync}");
    assert_eq!(ok(&dedicated).conntrack_device(), Some("eth3"));
    assert!(globals("\toption conntrack_device 'a b'\n").unwrap_err().contains("option 'conntrack_device'"));
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
        format!("{FILE}:2: option 'control_socket': '{long}' is longer than 107 bytes, the limit for a unix socket")
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
    assert!(!g.dhcpv6);
    assert_eq!(g.dhcpv6_duid, None);
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
    assert_eq!(group_err(&opt("prority", "100")), format!("{FILE}:4: option 'prority': unknown option in group 'wan'"));
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
    // An empty value set from a file changes nothing in libuci: the
    // earlier value stays, and an option never set is still missing.
    assert_eq!(group(&opt("wan_device", "")).wan_device, "wan");
    assert_eq!(
        err("config group 'wan'\n\toption wan_device ''\n\toption shared_mac '02:00:00:00:00:01'\n"),
        format!("{FILE}:1: option 'wan_device': required in group 'wan'")
    );
}

/// After `option priority '120'`, `option priority ''` leaves 120 for uci,
/// LuCI and config_get (libuci's uci_set), and so for vwrp.
#[test]
fn an_empty_value_keeps_the_earlier_one() {
    let g = group(&format!("{}{}", opt("priority", "120"), opt("priority", "")));
    assert_eq!(g.priority, 120);
    let g = group("\tlist control 'lan1'\n\tlist control 'lan2'\n\toption control ''\n");
    assert_eq!(g.control, ["lan1", "lan2"]);
}

/// A list given after an option of the same name is one list, the option's
/// value first (uci_add_list); an option after a list replaces it.
#[test]
fn list_and_option_of_the_same_name_read_as_libuci_reads_them() {
    let g = group("\toption control 'lan1'\n\tlist control 'lan2'\n");
    assert_eq!(g.control, ["lan1", "lan2"]);
    let g = group(&format!("\tlist priority '7'\n{}", opt("priority", "9")));
    assert_eq!(g.priority, 9);
    // The same item twice is libuci's to keep and vwrp's schema to refuse.
    assert_eq!(
        group_err("\tlist control 'lan1'\n\tlist control 'lan1'\n"),
        format!("{FILE}:5: option 'control': 'lan1' is listed twice (first on line 4)")
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
    assert_eq!(group(&opt("ethertype", "0xfffe")).ethertype, 0xfffe);
    assert_eq!(group(&opt("ethertype", "0X88B6")).ethertype, 0x88b6);
    assert_eq!(group(&opt("ethertype", "1536")).ethertype, 0x0600);
    for bad in ["0x05ff", "0x10000", "1535", "65536", "0"] {
        assert_eq!(
            group_err(&opt("ethertype", bad)),
            format!(
                "{FILE}:4: option 'ethertype': {bad} is out of range: use 0x0600..0xfffe, other than a real \
                 protocol's; 0x88b5 and 0x88b6 are IEEE 802's EtherTypes for local use"
            )
        );
    }
    assert_eq!(group_err(&opt("ethertype", "0x")), format!("{FILE}:4: option 'ethertype': '0x' is not a number"));
}

/// A standby's fence lets vwrp's EtherType through: a real protocol's
/// would open the WAN to it.
#[test]
fn ethertypes_of_real_protocols_are_refused() {
    for (bad, what) in [
        ("0x0800", "IPv4"),
        ("2048", "IPv4"),
        ("0x0806", "ARP"),
        ("0x86DD", "IPv6"),
        ("0x8100", "a VLAN tag (802.1Q)"),
        ("0x88a8", "a VLAN tag (802.1ad)"),
        ("0x9100", "a VLAN tag (QinQ)"),
        ("0x8863", "PPPoE discovery"),
        ("0x8864", "PPPoE session"),
        ("0x8847", "MPLS"),
        ("0x8848", "MPLS multicast"),
        ("0x88cc", "LLDP"),
        ("0x888e", "802.1X (EAPOL)"),
        ("0xffff", "reserved"),
    ] {
        assert_eq!(
            group_err(&opt("ethertype", bad)),
            format!(
                "{FILE}:4: option 'ethertype': {bad} is {what}: a standby's fence would let it through to the WAN; \
                 use 0x0600..0xfffe, other than a real protocol's; 0x88b5 and 0x88b6 are IEEE 802's EtherTypes for \
                 local use"
            )
        );
    }
}

/// A control link carries every router's hellos, a standby's too: the WAN
/// device itself would put them on the WAN.
#[test]
fn the_wan_device_is_no_control_link() {
    assert_eq!(
        group_err("\tlist control 'br-lan'\n\tlist control 'wan'\n"),
        format!(
            "{FILE}:5: option 'control': 'wan' is the WAN device: a control link carries a standby's hellos, \
             which must never reach the WAN"
        )
    );
    // The default control link, br-lan, as the WAN: blamed on wan_device.
    assert_eq!(
        err("config group 'wan'\n\toption wan_device 'br-lan'\n\toption shared_mac '02:00:00:00:00:01'\n"),
        format!(
            "{FILE}:2: option 'control': 'br-lan' is the WAN device: a control link carries a standby's hellos, \
             which must never reach the WAN"
        )
    );
}

#[test]
fn keys() {
    let g = group(
        "\tlist key '2:first-of-the-keys'\n\tlist key '0:se:cr et se:cr et'\n\tlist key '255:xxxxxxxxxxxxxxxx'\n",
    );
    assert_eq!(
        g.keys,
        vec![
            (2, b"first-of-the-keys".to_vec()),
            (0, b"se:cr et se:cr et".to_vec()),
            (255, b"xxxxxxxxxxxxxxxx".to_vec())
        ]
    );
    assert_eq!(
        group_err("\tlist key '1:gggggggggggggggg'\n\tlist key '1:hhhhhhhhhhhhhhhh'\n"),
        format!("{FILE}:5: option 'key': key id 1 is listed twice")
    );
    assert_eq!(
        group_err("\tlist key '1:hunter2hunter2hunter2'\n\tlist key '1:hunter2hunter2hunter2'\n"),
        format!("{FILE}:5: option 'key': key id 1 is listed twice")
    );
    assert_eq!(group_err("\tlist key '7:'\n"), format!("{FILE}:4: option 'key': key id 7 has an empty secret"));
    assert_eq!(
        group_err(&opt("key", "1:hunter2hunter2hunter2")),
        format!("{FILE}:4: option 'key': is a list: give each item on its own 'list' line, not 'option'")
    );
}

/// 128 bits at least: 16 bytes of text, or 32 hex digits (a hex secret of
/// 16 digits is only 64 bits). No message shows the secret.
#[test]
fn secrets_have_a_minimum_length() {
    let hex32 = "0123456789abcdef0123456789ABCDEF";
    assert_eq!(group(&format!("\tlist key '1:{hex32}'\n")).keys[0].1, hex32.as_bytes());
    assert_eq!(group("\tlist key '1:sixteen-bytes-ok'\n").keys[0].1, b"sixteen-bytes-ok");
    for (short, why) in [
        ("1:zq", "at least 16 bytes, or 32 hex digits"),
        ("1:fifteen-bytes!", "at least 16 bytes, or 32 hex digits"),
        ("1:0123456789abcdef", "hex digits need at least 32 of them"),
        ("1:0123456789abcdef0123456789abcde", "hex digits need at least 32 of them"),
    ] {
        let e = group_err(&format!("\tlist key '{short}'\n"));
        assert_eq!(e.split(": the secret").next(), Some(format!("{FILE}:4: option 'key': key id 1").as_str()), "{e}");
        assert!(e.contains(why) && e.contains("vwrp genkey"), "{e}");
        assert!(!e.contains(short.trim_start_matches("1:")), "{e}");
    }
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
    let c = ok(&format!("{BASE}\tlist key '1:hunter2hunter2hunter2'\n\tlist key '2:swordfishswordfish'\n"));
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
    // The same address written two ways is the same gateway; another
    // prefix length or device is another one.
    assert_eq!(
        group_err("\tlist lan_gateway '2001:DB8::1/64@lan'\n\tlist lan_gateway '2001:db8:0::1/64@lan'\n"),
        format!("{FILE}:5: option 'lan_gateway': '2001:db8:0::1/64@lan' is listed twice (first on line 4)")
    );
    let distinct = "\tlist lan_gateway '192.0.2.1/24@lan'\n\tlist lan_gateway '192.0.2.1/25@lan'\n\tlist lan_gateway '192.0.2.1/24@lan2'\n";
    assert_eq!(ok(&format!("{BASE}{distinct}")).groups[0].lan_gateways.len(), 3);
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
fn dhcpv6_and_its_duid() {
    let g = group(&format!("{}{}", opt("dhcpv6", "1"), opt("dhcpv6_duid", "00:03:00:01:02:76:77:72:70:01")));
    assert!(g.dhcpv6);
    assert_eq!(g.dhcpv6_duid, Some(vec![0, 3, 0, 1, 2, 0x76, 0x77, 0x72, 0x70, 1]));
    for bad in ["0001", &"ab".repeat(131)] {
        assert_eq!(
            group_err(&opt("dhcpv6_duid", bad)),
            format!("{FILE}:4: option 'dhcpv6_duid': '{bad}' must be 3 to 130 bytes long")
        );
    }
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
    let t =
        tracker("script", &format!("{}{}{}", opt("script", "/bin/true"), opt("interval", "1s"), opt("timeout", "5s")));
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
        tname in proptest::sample::select(tracker_options()),
        kind in proptest::sample::select(KINDS.iter().map(|k| k.name).collect::<Vec<_>>()),
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

#[test]
fn realtime_priority_range() {
    assert_eq!(globals("").unwrap().realtime_priority, 5);
    assert_eq!(globals(&opt("realtime_priority", "0")).unwrap().realtime_priority, 0);
    assert_eq!(globals(&opt("realtime_priority", "99")).unwrap().realtime_priority, 99);
    assert_eq!(
        globals(&opt("realtime_priority", "100")).unwrap_err(),
        format!("{FILE}:2: option 'realtime_priority': 100 is out of range 0..99")
    );
}

/// Each option changed alone, from a running file: the options of
/// `RESTART_GLOBALS` and `RESTART_GROUP` are named for a restart, every
/// other applies on reload. The tables must cover every option, so a new
/// one cannot go unclassified; docs/CONFIG.md lists the restart-only ones.
#[test]
fn every_option_applies_on_reload_or_is_named_for_a_restart() {
    let globals: &[(&str, &str)] = &[
        ("control_socket", "\toption control_socket '/tmp/other.sock'\n"),
        ("state_dir", "\toption state_dir '/tmp/other'\n"),
        ("hook_dir", "\toption hook_dir '/tmp/hooks'\n"),
        ("hook_timeout", "\toption hook_timeout '7s'\n"),
        ("log_level", "\toption log_level 'debug'\n"),
        ("conntrack_device", "\toption conntrack_device 'lan9'\n"),
        ("realtime_priority", "\toption realtime_priority '7'\n"),
    ];
    let group: &[(&str, &str)] = &[
        ("enabled", "\toption enabled '0'\n"),
        ("group_id", "\toption group_id '2'\n"),
        ("router_id", "\toption router_id '7'\n"),
        ("wan_device", "\toption wan_device 'eth9'\n"),
        ("shared_mac", "\toption shared_mac '02:00:00:00:00:02'\n"),
        ("control", "\tlist control 'lan9'\n"),
        ("priority", "\toption priority '50'\n"),
        ("preempt", "\toption preempt '0'\n"),
        ("preempt_delay", "\toption preempt_delay '5s'\n"),
        ("hello_interval", "\toption hello_interval '200ms'\n"),
        ("wan_hello_interval", "\toption wan_hello_interval '300ms'\n"),
        ("dead_multiplier", "\toption dead_multiplier '4'\n"),
        ("ethertype", "\toption ethertype '0x88b6'\n"),
        ("key", "\tlist key '1:a secret of sixteen bytes'\n"),
        ("hold_period", "\toption hold_period '2m'\n"),
        ("lan_gateway", "\tlist lan_gateway '198.51.100.1/24@br-lan'\n"),
        ("nudge_interval", "\toption nudge_interval '0'\n"),
        ("lan_announce_interval", "\toption lan_announce_interval '5s'\n"),
        ("prepare_timeout", "\toption prepare_timeout '2s'\n"),
        ("conntrack_sync", "\toption conntrack_sync '1'\n"),
        ("dhcp", "\toption dhcp 'netifd'\n"),
        ("dhcp_client_id", "\toption dhcp_client_id '0102'\n"),
        ("dhcpv6", "\toption dhcpv6 '1'\n"),
        ("dhcpv6_duid", "\toption dhcpv6_duid '00030001020000000002'\n"),
        ("resolv_file", "\toption resolv_file '/tmp/resolv'\n"),
    ];
    let names = |t: &[(&'static str, &str)]| t.iter().map(|(n, _)| *n).collect::<Vec<_>>();
    assert_eq!(names(globals), GLOBALS_OPTIONS);
    assert_eq!(names(group), GROUP_OPTIONS);
    let running = ok(BASE);
    let check = |option: &str, file: &str, restart_only: bool| {
        let new = ok(file);
        assert_ne!(running, new, "{option}: nothing changed");
        let named = running.restart_needed(&new);
        if option == "enabled" {
            assert!(named.len() == 1 && named[0].contains("the enabled groups"), "{named:?}");
        } else if restart_only {
            assert!(named.len() == 1 && named[0].contains(&format!("option '{option}'")), "{option}: {named:?}");
        } else {
            assert_eq!(named, Vec::<String>::new(), "{option}");
        }
    };
    for (option, line) in globals {
        check(option, &format!("config globals\n{line}{BASE}"), RESTART_GLOBALS.contains(option));
    }
    for (option, line) in group {
        check(option, &format!("{BASE}{line}"), RESTART_GROUP.contains(option));
    }
    // Trackers: each option of each kind, changed alone, applies.
    let trackers: &[(&str, &str, &str)] = &[
        ("link", "\toption device 'wan'\n", "\toption device 'eth9'\n"),
        ("ping", "\tlist target '192.0.2.1'\n", "\tlist target '192.0.2.2'\n"),
        ("ping", "\tlist target '192.0.2.1'\n", "\tlist target '192.0.2.1'\n\toption count '3'\n"),
        (
            "ping",
            "\tlist target '192.0.2.1'\n\tlist target '192.0.2.2'\n",
            "\tlist target '192.0.2.1'\n\tlist target '192.0.2.2'\n\toption reliability '2'\n",
        ),
        ("arping", "", "\tlist target '192.0.2.1'\n"),
        ("script", "\toption script '/bin/true'\n", "\toption script '/bin/false'\n"),
    ];
    let mut seen: Vec<&str> = Vec::new();
    for (kind, from, to) in trackers {
        let (running, new) = (ok(&with_tracker(kind, from)), ok(&with_tracker(kind, to)));
        assert_ne!(running, new, "{kind} {to}: nothing changed");
        assert_eq!(running.restart_needed(&new), Vec::<String>::new(), "{kind} {to}");
        seen.extend(to.lines().filter_map(|l| l.split_whitespace().nth(1)));
    }
    // The common options, on a script tracker; `group` moves it to
    // another group, present in both files.
    let script = "\toption script '/bin/true'\n";
    let second = "config group 'g2'\n\toption group_id '2'\n\toption wan_device 'eth2'\n\toption shared_mac '02:00:00:00:00:02'\n";
    for (option, from, to) in [
        (
            "group",
            format!("{second}{}", with_tracker("script", script)),
            format!("{second}{}", with_tracker("script", script).replace("option group 'wan'", "option group 'g2'")),
        ),
        ("type", with_tracker("script", script), with_tracker("ping", "\tlist target '192.0.2.1'\n")),
        (
            "interval",
            with_tracker("script", script),
            with_tracker("script", &format!("{script}\toption interval '2s'\n")),
        ),
        (
            "timeout",
            with_tracker("script", script),
            with_tracker("script", &format!("{script}\toption timeout '500ms'\n")),
        ),
        ("rise", with_tracker("script", script), with_tracker("script", &format!("{script}\toption rise '2'\n"))),
        ("fall", with_tracker("script", script), with_tracker("script", &format!("{script}\toption fall '2'\n"))),
        ("weight", with_tracker("script", script), with_tracker("script", &format!("{script}\toption weight '10'\n"))),
        (
            "wan_only",
            with_tracker("script", script),
            with_tracker("script", &format!("{script}\toption wan_only '1'\n")),
        ),
    ] {
        let (running, new) = (ok(&from), ok(&to));
        assert_ne!(running, new, "{option}: nothing changed");
        assert_eq!(running.restart_needed(&new), Vec::<String>::new(), "{option}");
        seen.push(option);
    }
    for option in tracker_options() {
        assert!(seen.contains(&option), "tracker option {option} not changed by this test");
    }

    let doc = include_str!("../../docs/CONFIG.md");
    let section = doc.split("## What a reload applies").nth(1).expect("docs/CONFIG.md: no reload section");
    let section = section.split("\n## ").next().unwrap_or_default();
    let listed =
        section.split("Only a restart applies").nth(1).and_then(|s| s.split("(groups)").next()).expect("the list");
    let mut documented: Vec<&str> = listed.split('`').skip(1).step_by(2).collect();
    documented.sort_unstable();
    let mut restart: Vec<&str> = RESTART_GLOBALS.iter().chain(RESTART_GROUP).copied().collect();
    restart.sort_unstable();
    assert_eq!(documented, restart);
}
