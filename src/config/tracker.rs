//! `config tracker` sections, and the table of tracker kinds: each kind's
//! `type` name, the options only it has, and how it is judged; `read_kind`
//! reads each kind's own options. docs/CONFIG.md and LuCI's settings form are tested
//! against the table (tests below).

use std::net::IpAddr;
use std::time::Duration;

use super::reader::Reader;
use super::values::{
    HOUR, arping_target, boolean, command_line, duration_in, format_duration, ifname, quoted, u8_in, unicast_ip, weight,
};
use super::{ConfigError, Tracker, TrackerKind, Weight};

/// One kind of tracker.
pub struct TrackerKindInfo {
    /// Its `type` in the configuration.
    pub name: &'static str,
    /// The options only trackers of this kind have.
    pub options: &'static [&'static str],
    /// Runs a round every `interval` (all but `external`, whose verdicts
    /// come from outside).
    pub polls: bool,
    /// A round takes time and ends at `timeout` at the latest (a carrier
    /// is known at once).
    pub waits: bool,
    /// Judges the upstream through the WAN: `wan_only` by default, and a
    /// round may not last longer than the interval.
    pub upstream: bool,
}

/// Every kind of tracker, in the order docs/CONFIG.md and LuCI list them.
pub const KINDS: [TrackerKindInfo; 5] = [
    TrackerKindInfo { name: "link", options: &["device"], polls: true, waits: false, upstream: false },
    TrackerKindInfo {
        name: "ping",
        options: &["target", "count", "reliability"],
        polls: true,
        waits: true,
        upstream: true,
    },
    TrackerKindInfo { name: "arping", options: &["target"], polls: true, waits: true, upstream: true },
    TrackerKindInfo { name: "script", options: &["script"], polls: true, waits: true, upstream: false },
    TrackerKindInfo { name: "external", options: &[], polls: false, waits: false, upstream: false },
];

/// Reads the own options of the kind named `name` (one of `KINDS`; a
/// name that is none reads as external, which has none).
fn read_kind(name: &str, r: &mut Reader) -> TrackerKind {
    match name {
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
    }
}

impl TrackerKind {
    /// This kind's entry in `KINDS`.
    pub fn info(&self) -> &'static TrackerKindInfo {
        let i = match self {
            TrackerKind::Link { .. } => 0,
            TrackerKind::Ping { .. } => 1,
            TrackerKind::Arping { .. } => 2,
            TrackerKind::Script { .. } => 3,
            TrackerKind::External => 4,
        };
        &KINDS[i]
    }
}

/// The options every tracker has; each kind adds its own.
pub(super) const COMMON_OPTIONS: &[&str] =
    &["group", "type", "interval", "timeout", "rise", "fall", "weight", "wan_only"];

fn tracker_type(s: &str) -> Result<&'static TrackerKindInfo, String> {
    KINDS.iter().find(|k| k.name == s).ok_or_else(|| {
        let mut names = String::from("is not one of ");
        for (i, k) in KINDS.iter().enumerate() {
            if i > 0 {
                names.push_str(", ");
            }
            names.push_str(k.name);
        }
        quoted(s, &names)
    })
}

/// The tracker, the group it names and the line that names it.
pub(super) fn read_tracker(r: &mut Reader) -> Result<(String, usize, Tracker), ConfigError> {
    let kind_option = |name: &str| KINDS.iter().any(|k| k.options.contains(&name));
    r.check_known_by(&|name| COMMON_OPTIONS.contains(&name) || kind_option(name));
    let name = r.name();
    let group: String = r.require("group", &|s| Ok(s.to_string()));
    // Unset or wrong, the type reads as external, which has no own options.
    let kind_info = r.get("type", &tracker_type).unwrap_or_else(|| {
        r.missing("type");
        &KINDS[4]
    });
    let section = r.section;
    if let Some(o) =
        section.options.iter().find(|o| kind_option(&o.name) && !kind_info.options.contains(&o.name.as_str()))
    {
        r.fail(o.line(), &o.name, format!("not used by trackers of type '{}'", kind_info.name));
    }
    let kind = read_kind(kind_info.name, r);

    let upstream = kind_info.upstream;
    let interval = r.get_or("interval", Duration::from_secs(1), &duration_in(10, HOUR));
    let timeout = r.get_or("timeout", interval.min(Duration::from_secs(1)), &duration_in(10, HOUR));
    if upstream && timeout > interval {
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
        wan_only: r.get_or("wan_only", upstream, &boolean),
    };
    let group_line = r.line_of("group");
    r.finish((group, group_line, tracker))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = include_str!("../../docs/CONFIG.md");
    const LUCI: &str = include_str!("../../luci-app-vwrp/htdocs/luci-static/resources/view/vwrp/settings.js");

    fn names(pred: impl Fn(&TrackerKindInfo) -> bool) -> Vec<&'static str> {
        KINDS.iter().filter(|k| pred(k)).map(|k| k.name).collect()
    }

    /// The words in backticks of `text` that are kinds' names.
    fn kinds_in(text: &str) -> Vec<&str> {
        text.split('`').skip(1).step_by(2).filter(|w| KINDS.iter().any(|k| k.name == *w)).collect()
    }

    /// The row of `option` in docs/CONFIG.md's tracker table.
    fn doc_row(option: &str) -> &'static str {
        let section = DOC.split("## `config tracker 'NAME'`").nth(1).expect("tracker section");
        section.lines().find(|l| l.starts_with(&format!("| `{option}` |"))).unwrap_or_else(|| panic!("no row {option}"))
    }

    /// Each kind's name reads to that kind (an unknown name would read as
    /// external).
    #[test]
    fn every_kind_reads_as_itself() {
        for k in &KINDS {
            let text = format!("config tracker 't'\n\toption type '{}'\n", k.name);
            let sections = crate::config::uci::parse(&text, "t").unwrap();
            let mut r = Reader::new("t", &sections[0]);
            assert_eq!(read_kind(k.name, &mut r).info().name, k.name);
        }
    }

    #[test]
    fn docs_describe_every_kind_and_its_options() {
        let all = names(|_| true);
        assert_eq!(kinds_in(doc_row("type")), all, "the type row");
        let section = DOC.split("Tracker types:").nth(1).and_then(|s| s.split("\n### ").next()).expect("the type list");
        let listed: Vec<&str> = section.lines().filter_map(|l| l.strip_prefix("* `")?.split('`').next()).collect();
        assert_eq!(listed, all, "the list of tracker types");
        for option in KINDS.iter().flat_map(|k| k.options) {
            // The meaning column starts each kind's part with "`kind`:".
            let meaning = doc_row(option).rsplit(" | ").next().unwrap_or_default();
            let described: Vec<&str> = meaning
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|w| KINDS.iter().any(|k| k.name == *w) && meaning.contains(&format!("`{w}`:")))
                .collect();
            assert_eq!(described, names(|k| k.options.contains(option)), "the {option} row");
        }
        let wan_only_default = doc_row("wan_only").split(" | ").nth(2).unwrap_or_default();
        assert_eq!(kinds_in(wan_only_default), names(|k| k.upstream), "wan_only's default");
        assert_eq!(kinds_in(doc_row("timeout")), names(|k| k.upstream), "who may not wait past the interval");
    }

    /// The kinds LuCI shows the tracker option `option` for.
    fn luci_shown_for(option: &str) -> Vec<&'static str> {
        let trackers = LUCI.split("m.section(form.TypedSection, 'tracker'").nth(1).expect("tracker section");
        let block = trackers
            .split("s.option(")
            .find(|b| b.split(',').nth(1).is_some_and(|n| n.trim() == format!("'{option}'")))
            .unwrap_or_else(|| panic!("LuCI has no tracker option {option}"));
        let mut shown = Vec::new();
        for part in block.split("o.depends('type', '").skip(1) {
            shown.extend(part.split('\'').next());
        }
        if let Some(list) = block.split("trackerTypes(o, [").nth(1).and_then(|l| l.split(']').next()) {
            shown.extend(list.split('\'').skip(1).step_by(2));
        }
        names(|k| shown.contains(&k.name))
    }

    #[test]
    fn luci_offers_every_kind_and_each_option_for_its_kinds() {
        let trackers = LUCI.split("m.section(form.TypedSection, 'tracker'").nth(1).expect("tracker section");
        let types = trackers
            .split("s.option(")
            .find(|b| b.split(',').nth(1).is_some_and(|n| n.trim() == "'type'"))
            .expect("the type list");
        let offered: Vec<&str> = types.split("o.value('").skip(1).filter_map(|v| v.split('\'').next()).collect();
        assert_eq!(offered, names(|_| true), "LuCI's types");
        for option in KINDS.iter().flat_map(|k| k.options) {
            assert_eq!(luci_shown_for(option), names(|k| k.options.contains(option)), "LuCI's {option}");
        }
        assert_eq!(luci_shown_for("interval"), names(|k| k.polls), "LuCI's interval");
        assert_eq!(luci_shown_for("timeout"), names(|k| k.waits), "LuCI's timeout");
        let wan_only = trackers
            .split("s.option(")
            .find(|b| b.split(',').nth(1).is_some_and(|n| n.trim() == "'wan_only'"))
            .expect("the wan_only option");
        let upstream = names(|k| k.upstream);
        let default = format!("yes for {}", upstream.join(" and "));
        assert!(wan_only.contains(&default), "LuCI's wan_only default: {default:?} not in {wan_only:?}");
    }
}
