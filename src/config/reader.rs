//! Reading one UCI section against vwrp's schema: typed access to its
//! options, with errors that name the file, the line and the option.

use std::collections::BTreeMap;
use std::fmt;

use super::ConfigError;
use super::uci::{OptionValue, Section, Value};

/// What a value parser gives: the value, or a message about the text.
pub(super) type Parse<'p, T> = &'p dyn Fn(&str) -> Result<T, String>;

/// Typed access to one section's options, with located errors.
///
/// The first mistake is kept and reported by `finish`; reads after it
/// still run and give defaults. So each option read is one call with no
/// early-return path, which keeps the schema small on flash, and the
/// mistake reported is the first one in reading order, as with `?`.
pub(super) struct Reader<'a> {
    file: &'a str,
    pub(super) section: &'a Section,
    /// "group 'wan'", for messages.
    pub(super) label: String,
    first_error: Option<ConfigError>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(file: &'a str, section: &'a Section) -> Self {
        let label = match &section.name {
            Some(name) => format!("{} '{}'", section.section_type, name),
            None => format!("anonymous {} section", section.section_type),
        };
        Reader { file, section, label, first_error: None }
    }

    pub(super) fn error(&self, line: usize, option: &str, message: String) -> ConfigError {
        ConfigError { file: self.file.to_string(), line, option: Some(option.to_string()), message }
    }

    pub(super) fn section_error(&self, message: String) -> ConfigError {
        ConfigError { file: self.file.to_string(), line: self.section.line, option: None, message }
    }

    /// Records a mistake about `option`, unless an earlier one is known.
    pub(super) fn fail(&mut self, line: usize, option: &str, message: String) {
        if self.first_error.is_none() {
            self.first_error = Some(self.error(line, option, message));
        }
    }

    /// `value`, or the first mistake met while reading it.
    pub(super) fn finish<T>(&mut self, value: T) -> Result<T, ConfigError> {
        match self.first_error.take() {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }

    /// The section's name; vwrp refers to groups and trackers by name.
    pub(super) fn name(&mut self) -> String {
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
    pub(super) fn check_known(&mut self, known: &[&str]) {
        self.check_known_by(&|name| known.contains(&name));
    }

    /// `check_known` with the options given by a test.
    pub(super) fn check_known_by(&mut self, known: &dyn Fn(&str) -> bool) {
        let section = self.section;
        if let Some(o) = section.options.iter().find(|o| !known(&o.name)) {
            let message = format!("unknown option in {}", self.label);
            self.fail(o.line(), &o.name, message);
        }
    }

    /// The line to blame for `name`: its own, or its section's when unset.
    pub(super) fn line_of(&self, name: &str) -> usize {
        self.section.option(name).map_or(self.section.line, |o| o.line())
    }

    pub(super) fn scalar(&mut self, name: &str) -> Option<&'a Value> {
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

    pub(super) fn list(&mut self, name: &str) -> &'a [Value] {
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

    pub(super) fn get<T>(&mut self, name: &str, parse: Parse<T>) -> Option<T> {
        let v = self.scalar(name)?;
        parse(&v.text).map_err(|m| self.fail(v.line, name, m)).ok()
    }

    pub(super) fn get_or<T>(&mut self, name: &str, default: T, parse: Parse<T>) -> T {
        self.get(name, parse).unwrap_or(default)
    }

    pub(super) fn require<T: Default>(&mut self, name: &str, parse: Parse<T>) -> T {
        let value = self.get(name, parse);
        value.unwrap_or_else(|| {
            self.missing(name);
            T::default()
        })
    }

    pub(super) fn missing(&mut self, name: &str) {
        let message = format!("required in {}", self.label);
        self.fail(self.section.line, name, message);
    }

    /// Every item of list `name` parsed, refusing duplicates (looked up in
    /// a map: a long list costs linear time). Items are told apart by
    /// their canonical text (`Display`), so every list shares one map
    /// type: a `BTreeMap` per item type cost 1-2 KB each on a router.
    pub(super) fn get_list<T: fmt::Display>(&mut self, name: &str, parse: Parse<T>) -> Vec<(T, usize)> {
        let mut out: Vec<(T, usize)> = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for v in self.list(name) {
            match parse(&v.text) {
                Err(m) => self.fail(v.line, name, m),
                Ok(item) => match seen.get(&item.to_string()) {
                    Some(first) => {
                        let message = format!("'{}' is listed twice (first on line {first})", v.text);
                        self.fail(v.line, name, message);
                    }
                    None => {
                        seen.insert(item.to_string(), v.line);
                        out.push((item, v.line));
                    }
                },
            }
        }
        out
    }
}
