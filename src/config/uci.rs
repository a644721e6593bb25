//! The UCI file syntax, read the way libuci's `file.c` reads /etc/config/*.
//!
//! A file is a sequence of commands, one per line or separated by `;`:
//! `package NAME`, `config TYPE [NAME]`, `option NAME [VALUE]` and
//! `list NAME VALUE`, each keyword abbreviable to its first letter.
//!
//! Arguments follow libuci's tokenizer: unquoted text ends at whitespace;
//! `'single'` quotes take everything literally; `"double"` quotes and bare
//! text honour backslash escapes (`\x` is `x`); quoted text may span lines;
//! a backslash at the end of a line joins the next one; `#` outside quotes
//! starts a comment that runs to the end of the line, even mid-token.
//!
//! The result is what libuci (file.c, list.c) holds in memory after
//! loading, so vwrp reads what `uci get`, LuCI and `config_get` read: a
//! named section given twice is one section; `option` with a new value
//! replaces the earlier one (or a list) and moves it to the end; the same
//! value again changes nothing; `option NAME ''` (or no value) changes
//! nothing either: an earlier value stays; `list` appends, empty items too,
//! and after `option` turns that value into the list's first item. Where
//! libuci is lax because of how its C buffer
//! juggling happens to work (an indented line after a continuation, a `;`
//! glued to a bare word), this parser does what the syntax plainly means.

use core::fmt;
use std::collections::BTreeMap;

/// One `config` section, with the options set in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub section_type: String,
    /// `None` for an anonymous section (`config TYPE` without a name).
    pub name: Option<String>,
    /// Line of the `config` command that opened the section first.
    pub line: usize,
    /// In the order they were first set.
    pub options: Vec<UciOption>,
}

impl Section {
    pub fn option(&self, name: &str) -> Option<&UciOption> {
        self.options.iter().find(|o| o.name == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UciOption {
    pub name: String,
    pub value: OptionValue,
}

impl UciOption {
    /// Line of the value (of the first item, for a list).
    pub fn line(&self) -> usize {
        match &self.value {
            OptionValue::Single(v) => v.line,
            OptionValue::List(items) => items.first().map_or(0, |v| v.line),
        }
    }
}

/// What libuci calls `UCI_TYPE_STRING` and `UCI_TYPE_LIST`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionValue {
    /// Set with `option`.
    Single(Value),
    /// Set with `list`; never empty.
    List(Vec<Value>),
}

/// A value as written, unquoted and unescaped, with the line its token
/// starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    pub line: usize,
}

/// Why a file could not be read as UCI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::write_escaped(f, &self.file)?;
        write!(f, ":{}: ", self.line)?;
        super::write_escaped(f, &self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole UCI file. `file` only labels errors.
pub fn parse(text: &str, file: &str) -> Result<Vec<Section>, ParseError> {
    let mut lexer = Lexer { bytes: text.as_bytes(), pos: 0, line: 1 };
    let mut builder = Builder::default();
    while let Some(command) = lexer.next_command().map_err(|e| e.in_file(file))? {
        builder.apply(command).map_err(|e| e.in_file(file))?;
    }
    Ok(builder.finish())
}

/// An error before the file name is attached.
struct Located {
    line: usize,
    message: String,
}

impl Located {
    fn new(line: usize, message: impl Into<String>) -> Self {
        Located { line, message: message.into() }
    }

    fn in_file(self, file: &str) -> ParseError {
        ParseError { file: file.to_string(), line: self.line, message: self.message }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keyword {
    Package,
    Config,
    Option,
    List,
}

impl Keyword {
    fn from_word(word: &str) -> Option<Self> {
        match word {
            "p" | "package" => Some(Keyword::Package),
            "c" | "config" => Some(Keyword::Config),
            "o" | "option" => Some(Keyword::Option),
            "l" | "list" => Some(Keyword::List),
            _ => None,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Keyword::Package => "package",
            Keyword::Config => "config",
            Keyword::Option => "option",
            Keyword::List => "list",
        }
    }
}

struct Command {
    keyword: Keyword,
    line: usize,
    /// Unquoted arguments; an empty one (`''`) counts as absent, as in libuci.
    args: Vec<Value>,
}

impl Command {
    /// The n-th argument, or an empty value on the command's line.
    fn arg(&self, n: usize) -> Value {
        self.args.get(n).cloned().unwrap_or(Value { text: String::new(), line: self.line })
    }

    /// libuci ignores empty extra arguments and refuses any other.
    fn expect_at_most(&self, n: usize) -> Result<(), Located> {
        match self.args.iter().skip(n).find(|a| !a.text.is_empty()) {
            Some(extra) => Err(Located::new(extra.line, format!("too many arguments to '{}'", self.keyword.word()))),
            None => Ok(()),
        }
    }
}

/// isspace() in the C locale, less the newline that ends a command.
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos.saturating_add(ahead)).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos = self.pos.saturating_add(1);
        if b == b'\n' {
            self.line = self.line.saturating_add(1);
        }
        Some(b)
    }

    /// At a backslash: true (and consumed) when it ends the line, so the
    /// next line continues this one. `\` then CRLF counts too.
    fn take_continuation(&mut self) -> bool {
        match (self.peek_at(1), self.peek_at(2)) {
            (Some(b'\n'), _) => {
                self.bump();
                self.bump();
                true
            }
            (Some(b'\r'), Some(b'\n')) => {
                self.bump();
                self.bump();
                self.bump();
                true
            }
            _ => false,
        }
    }

    fn skip_comment(&mut self) {
        while let Some(b) = self.peek() {
            if b == b'\n' {
                break;
            }
            self.bump();
        }
    }

    /// Skips blanks and line continuations between arguments.
    fn skip_blanks(&mut self) {
        while let Some(b) = self.peek() {
            if is_blank(b) {
                self.bump();
            } else if b == b'\\' && self.take_continuation() {
                continue;
            } else {
                break;
            }
        }
    }

    /// The next command, or `None` at the end of the file.
    fn next_command(&mut self) -> Result<Option<Command>, Located> {
        loop {
            self.skip_blanks();
            match self.peek() {
                None => return Ok(None),
                Some(b'\n') | Some(b';') => {
                    self.bump();
                }
                Some(b'#') => self.skip_comment(),
                Some(_) => break,
            }
        }
        let line = self.line;
        let keyword = self.keyword()?;
        let mut args = Vec::new();
        loop {
            self.skip_blanks();
            match self.peek() {
                None | Some(b'\n') => break,
                Some(b'#') => {
                    self.skip_comment();
                    break;
                }
                Some(b';') => {
                    self.bump();
                    break;
                }
                Some(_) => args.push(self.argument()?),
            }
        }
        Ok(Some(Command { keyword, line, args }))
    }

    /// The command word is taken raw, as libuci's strtok() takes it.
    fn keyword(&mut self) -> Result<Keyword, Located> {
        let line = self.line;
        let start = self.pos;
        while let Some(b) = self.peek() {
            if is_blank(b) || matches!(b, b'\n' | b';' | b'#') {
                break;
            }
            self.bump();
        }
        let word = self.bytes.get(start..self.pos).unwrap_or_default();
        let word = String::from_utf8_lossy(word);
        Keyword::from_word(&word).ok_or_else(|| {
            Located::new(line, format!("invalid command '{word}' (expected package, config, option or list)"))
        })
    }

    /// One argument: bare, quoted and escaped pieces glued together until
    /// whitespace, `;` or `#` outside quotes.
    fn argument(&mut self) -> Result<Value, Located> {
        let line = self.line;
        let mut text = Vec::new();
        while let Some(b) = self.peek() {
            match b {
                b'\n' | b';' | b'#' => break,
                _ if is_blank(b) => break,
                b'\'' => self.single_quoted(&mut text)?,
                b'"' => self.double_quoted(&mut text)?,
                b'\\' => {
                    if !self.take_continuation() {
                        self.bump();
                        // A backslash at the very end of the file escapes nothing.
                        if let Some(escaped) = self.bump() {
                            text.push(escaped);
                        }
                    }
                }
                _ => {
                    text.push(b);
                    self.bump();
                }
            }
        }
        Ok(Value { text: into_string(text), line })
    }

    fn single_quoted(&mut self, text: &mut Vec<u8>) -> Result<(), Located> {
        let line = self.line;
        self.bump();
        loop {
            match self.bump() {
                None => return Err(Located::new(line, "unterminated ' quote")),
                Some(b'\'') => return Ok(()),
                Some(b) => text.push(b),
            }
        }
    }

    fn double_quoted(&mut self, text: &mut Vec<u8>) -> Result<(), Located> {
        let line = self.line;
        self.bump();
        loop {
            match self.peek() {
                None => return Err(Located::new(line, "unterminated \" quote")),
                Some(b'"') => {
                    self.bump();
                    return Ok(());
                }
                Some(b'\\') => {
                    if !self.take_continuation() {
                        self.bump();
                        match self.bump() {
                            Some(escaped) => text.push(escaped),
                            None => return Err(Located::new(line, "unterminated \" quote")),
                        }
                    }
                }
                Some(b) => {
                    text.push(b);
                    self.bump();
                }
            }
        }
    }
}

/// Only ASCII bytes are ever dropped from valid UTF-8 input, and an escape
/// keeps the first byte of a character and then the rest: still UTF-8.
fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Section and option names: what shell scripts can use in variable names.
fn is_valid_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Package names also allow `-`.
fn is_valid_package(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Section types: any printable ASCII except space.
fn is_valid_type(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

const NAME_RULE: &str = "use only letters, digits and _";

/// One section while the file is read: options are looked up by name in
/// a map and replaced ones leave a hole, so every command costs the same
/// however long the file is (libuci's linked lists are linear; a file of
/// 100,000 lines must not take quadratic time, see `parse_time_is_linear`).
struct Open {
    section: Section,
    options: Vec<Option<UciOption>>,
    by_name: BTreeMap<String, usize>,
}

#[derive(Default)]
struct Builder {
    open: Vec<Open>,
    /// Named sections by name.
    by_name: BTreeMap<String, usize>,
    /// Index of the section that `option` and `list` add to.
    current: Option<usize>,
}

impl Builder {
    fn finish(self) -> Vec<Section> {
        self.open
            .into_iter()
            .map(|o| Section { options: o.options.into_iter().flatten().collect(), ..o.section })
            .collect()
    }

    fn apply(&mut self, command: Command) -> Result<(), Located> {
        match command.keyword {
            Keyword::Package => {
                // Loading /etc/config/NAME fixes the package; libuci checks
                // the statement and otherwise ignores it.
                let name = command.arg(0);
                if name.text.is_empty() {
                    return Err(Located::new(command.line, "'package' needs a name"));
                }
                if !is_valid_package(&name.text) {
                    return Err(Located::new(
                        name.line,
                        format!("invalid package name '{}': {NAME_RULE} and -", name.text.escape_debug()),
                    ));
                }
                command.expect_at_most(1)
            }
            Keyword::Config => self.config(&command),
            Keyword::Option | Keyword::List => self.option(&command),
        }
    }

    fn config(&mut self, command: &Command) -> Result<(), Located> {
        let section_type = command.arg(0);
        if section_type.text.is_empty() {
            return Err(Located::new(command.line, "'config' needs a section type"));
        }
        if !is_valid_type(&section_type.text) {
            return Err(Located::new(
                section_type.line,
                format!("invalid section type '{}'", section_type.text.escape_debug()),
            ));
        }
        let name = command.arg(1);
        if !name.text.is_empty() && !is_valid_name(&name.text) {
            return Err(Located::new(
                name.line,
                format!("invalid section name '{}': {NAME_RULE}", name.text.escape_debug()),
            ));
        }
        command.expect_at_most(2)?;

        if let Some(&index) = self.by_name.get(&name.text) {
            // libuci reopens the section where it stands and merges the
            // new options in; another type is an error (UCI_FLAG_STRICT).
            if let Some(prior) =
                self.open.get(index).map(|o| &o.section).filter(|p| p.section_type != section_type.text)
            {
                return Err(Located::new(
                    command.line,
                    format!(
                        "section '{}' of type '{}' was already declared with type '{}' on line {}",
                        name.text,
                        section_type.text.escape_debug(),
                        prior.section_type,
                        prior.line
                    ),
                ));
            }
            self.current = Some(index);
            return Ok(());
        }
        let index = self.open.len();
        if !name.text.is_empty() {
            self.by_name.insert(name.text.clone(), index);
        }
        self.open.push(Open {
            section: Section {
                section_type: section_type.text,
                name: (!name.text.is_empty()).then_some(name.text),
                line: command.line,
                options: Vec::new(),
            },
            options: Vec::new(),
            by_name: BTreeMap::new(),
        });
        self.current = Some(index);
        Ok(())
    }

    /// `option` and `list`, as libuci's uci_parse_option() hands them to
    /// uci_set() and uci_add_list() (list.c).
    fn option(&mut self, command: &Command) -> Result<(), Located> {
        let word = command.keyword.word();
        let Some(open) = self.current.and_then(|i| self.open.get_mut(i)) else {
            return Err(Located::new(command.line, format!("'{word}' before the first 'config' section")));
        };
        let name = command.arg(0);
        if name.text.is_empty() {
            return Err(Located::new(command.line, format!("'{word}' needs a name")));
        }
        if !is_valid_name(&name.text) {
            return Err(Located::new(
                name.line,
                format!("invalid option name '{}': {NAME_RULE}", name.text.escape_debug()),
            ));
        }
        let value = command.arg(1);
        command.expect_at_most(2)?;

        let existing = open.by_name.get(&name.text).copied();
        let old = existing.and_then(|i| open.options.get_mut(i)).and_then(Option::as_mut);
        match (command.keyword, old) {
            // uci_add_list(): a list grows in place, with empty items too.
            (Keyword::List, Some(UciOption { value: OptionValue::List(items), .. })) => {
                items.push(value);
                return Ok(());
            }
            // uci_set() with an empty value, from a file: the parser's
            // pointer is not UCI_LOOKUP_COMPLETE, so nothing happens, and
            // an earlier value stays.
            (Keyword::Option, _) if value.text.is_empty() => return Ok(()),
            // The same text again: libuci keeps the option as it is.
            (Keyword::Option, Some(UciOption { value: OptionValue::Single(v), .. })) if v.text == value.text => {
                return Ok(());
            }
            _ => {}
        }
        // A new option, a new value, or a single value turned into a
        // list: libuci frees the old option and appends a new one to the
        // section, so it moves to the end.
        let old = existing.and_then(|i| open.options.get_mut(i)).and_then(Option::take);
        let value = match (command.keyword, old) {
            (Keyword::List, Some(UciOption { value: OptionValue::Single(first), .. })) => {
                OptionValue::List(vec![first, value])
            }
            (Keyword::List, _) => OptionValue::List(vec![value]),
            _ => OptionValue::Single(value),
        };
        open.by_name.insert(name.text.clone(), open.options.len());
        open.options.push(Some(UciOption { name: name.text, value }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;
    use proptest::prelude::*;

    fn sections(text: &str) -> Vec<Section> {
        match parse(text, "test") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    fn error(text: &str) -> String {
        match parse(text, "test") {
            Ok(s) => panic!("parsed: {s:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// The single value of option `name` in the only section.
    fn single(text: &str, name: &str) -> String {
        let s = sections(text);
        assert_eq!(s.len(), 1, "{s:?}");
        match s.first().and_then(|s| s.option(name)).map(|o| &o.value) {
            Some(OptionValue::Single(v)) => v.text.clone(),
            other => panic!("{name}: {other:?}"),
        }
    }

    fn list(text: &str, name: &str) -> Vec<String> {
        let s = sections(text);
        match s.first().and_then(|s| s.option(name)).map(|o| &o.value) {
            Some(OptionValue::List(items)) => items.iter().map(|v| v.text.clone()).collect(),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn empty_and_comment_only_files() {
        assert!(sections("").is_empty());
        assert!(sections("\n\n  \t\n").is_empty());
        assert!(sections("# just a comment\n   # indented\n").is_empty());
        assert!(sections(";;\n ; \n").is_empty());
    }

    #[test]
    fn full_keywords() {
        let s = sections("package vwrp\nconfig group 'wan'\n\toption priority '100'\n\tlist control 'br-lan'\n");
        assert_eq!(s.len(), 1);
        let g = &s[0];
        assert_eq!(g.section_type, "group");
        assert_eq!(g.name.as_deref(), Some("wan"));
        assert_eq!(g.line, 2);
        assert_eq!(
            g.options,
            vec![
                UciOption {
                    name: "priority".into(),
                    value: OptionValue::Single(Value { text: "100".into(), line: 3 }),
                },
                UciOption {
                    name: "control".into(),
                    value: OptionValue::List(vec![Value { text: "br-lan".into(), line: 4 }]),
                },
            ]
        );
    }

    #[test]
    fn abbreviated_keywords() {
        let s = sections("p vwrp\nc group wan\no priority 7\nl control a\nl control b\n");
        assert_eq!(s[0].section_type, "group");
        assert_eq!(s[0].name.as_deref(), Some("wan"));
        assert_eq!(single("c g x\no a 1", "a"), "1");
        assert_eq!(list("c g\nl a 1\nl a 2", "a"), ["1", "2"]);
    }

    #[test]
    fn other_words_are_invalid_commands() {
        assert_eq!(
            error("config g\n\topt a b\n"),
            "test:2: invalid command 'opt' (expected package, config, option or list)"
        );
        assert!(error("optionx a b").starts_with("test:1: invalid command 'optionx'"));
        assert!(error("Config g").starts_with("test:1: invalid command 'Config'"));
        // The keyword is taken raw: quoting it does not help.
        assert!(error("'config' g").starts_with("test:1: invalid command ''config''"));
    }

    #[test]
    fn anonymous_sections() {
        let s = sections("config tracker\n\toption a 1\nconfig tracker\n\toption a 2\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, None);
        assert_eq!(s[1].name, None);
        assert_eq!(s[1].line, 3);
        // An empty name is no name.
        assert_eq!(sections("config tracker ''")[0].name, None);
    }

    #[test]
    fn repeated_named_section_is_merged() {
        let s = sections("config g 'a'\n option x 1\nconfig g b\nconfig g 'a'\n option y 2\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].line, 1);
        assert!(s[0].option("x").is_some());
        assert!(s[0].option("y").is_some());
        assert!(s[1].options.is_empty());
    }

    #[test]
    fn repeated_name_with_another_type_is_refused() {
        assert_eq!(
            error("config g 'a'\nconfig t 'a'\n"),
            "test:2: section 'a' of type 't' was already declared with type 'g' on line 1"
        );
    }

    #[test]
    fn unquoted_tokens_end_at_whitespace() {
        assert_eq!(single("config g\n\toption a   b\t\n", "a"), "b");
        assert_eq!(single("config g\n\toption\ta\tb", "a"), "b");
        assert_eq!(single("config g\r\noption a b\r\n", "a"), "b");
        assert_eq!(error("config g\noption a b c\n"), "test:2: too many arguments to 'option'");
    }

    #[test]
    fn single_quotes_take_everything_literally() {
        assert_eq!(single(r##"config g; option a 'x y\z"#w;v'"##, "a"), r##"x y\z"#w;v"##);
        assert_eq!(single("config g; option a ' lead and trail '", "a"), " lead and trail ");
    }

    #[test]
    fn double_quotes_honour_backslash_escapes() {
        assert_eq!(single(r#"config g; option a "x \"y\" \\ z""#, "a"), r#"x "y" \ z"#);
        // No C escapes: \n is just n.
        assert_eq!(single(r#"config g; option a "a\nb""#, "a"), "anb");
        assert_eq!(single(r#"config g; option a "it's #1; ok""#, "a"), "it's #1; ok");
    }

    #[test]
    fn backslash_escapes_in_bare_words() {
        assert_eq!(single(r"config g; option a x\ y", "a"), "x y");
        assert_eq!(single(r"config g; option a x\#y", "a"), "x#y");
        assert_eq!(single(r"config g; option a x\;y", "a"), "x;y");
        assert_eq!(single(r"config g; option a \'x\'", "a"), "'x'");
        assert_eq!(single("config g; option a x\\", "a"), "x");
    }

    #[test]
    fn adjacent_pieces_form_one_argument() {
        assert_eq!(single(r#"config g; option a 'x'"y"z"#, "a"), "xyz");
        assert_eq!(single(r#"config g; option a pre'  'post"#, "a"), "pre  post");
    }

    #[test]
    fn quoted_values_span_lines() {
        let text = "config g\n\toption a 'one\ntwo'\n\toption b \"three\nfour\"\n\toption c 5\n";
        let s = sections(text);
        let a = s[0].option("a").unwrap();
        assert_eq!(a.value, OptionValue::Single(Value { text: "one\ntwo".into(), line: 2 }));
        let b = s[0].option("b").unwrap();
        assert_eq!(b.value, OptionValue::Single(Value { text: "three\nfour".into(), line: 4 }));
        assert_eq!(s[0].option("c").unwrap().line(), 6);
    }

    #[test]
    fn libuci_multiline_example() {
        let text = "config main\n        option version  1.4.1\n\n# comment\nconfig sockd 'instance0'\n        option enabled  1\n\t# c\n        list internal_network   vpn\n        option extra_config '\n\t\tuser: nobody\n\t\t} ' # ends here\n";
        let s = sections(text);
        assert_eq!(s.len(), 2);
        assert_eq!(single_of(&s[0], "version"), "1.4.1");
        assert_eq!(single_of(&s[1], "extra_config"), "\n\t\tuser: nobody\n\t\t} ");
    }

    fn single_of(s: &Section, name: &str) -> String {
        match s.option(name).map(|o| &o.value) {
            Some(OptionValue::Single(v)) => v.text.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unterminated_quotes_name_the_opening_line() {
        assert_eq!(error("config g\noption a 'x\n\n\n"), "test:2: unterminated ' quote");
        assert_eq!(error("config g\noption a \"x\ny"), "test:2: unterminated \" quote");
        assert_eq!(error("config g\noption a \"x\\"), "test:2: unterminated \" quote");
    }

    #[test]
    fn backslash_newline_continues_the_line() {
        let s = sections("config g\noption a \\\n  b\noption c d\n");
        assert_eq!(single_of(&s[0], "a"), "b");
        assert_eq!(s[0].option("a").unwrap().line(), 3);
        // Inside a bare word the two lines are joined.
        assert_eq!(single("config g\noption a x\\\ny", "a"), "xy");
        assert_eq!(single("config g\r\noption a x\\\r\ny", "a"), "xy");
        // Inside double quotes the newline is dropped too.
        assert_eq!(single("config g\noption a \"x\\\ny\"", "a"), "xy");
        // Inside single quotes the backslash is literal.
        assert_eq!(single("config g\noption a 'x\\\ny'", "a"), "x\\\ny");
        // The command keyword itself may be continued onto the next line.
        assert_eq!(single("config \\\n g\noption \\\na \\\n b", "a"), "b");
    }

    #[test]
    fn comments() {
        assert_eq!(single("config g # trailing\noption a b # note\n", "a"), "b");
        // `#` mid-token ends the token and the rest of the line.
        assert_eq!(single("config g\noption a b#c d e\n", "a"), "b");
        assert_eq!(single("config g\noption a b#c; option x y\n", "a"), "b");
        assert!(sections("config g\noption a b#c; option x y\n")[0].option("x").is_none());
        // Not inside quotes.
        assert_eq!(single("config g\noption a 'b#c'\n", "a"), "b#c");
        // A comment does not continue onto the next line.
        assert_eq!(single("config g\n# note \\\noption a b\n", "a"), "b");
        // A commented-out option is not set.
        assert!(sections("config g\n#option a b\n")[0].options.is_empty());
        assert!(sections("config g\n  # option a b\n")[0].options.is_empty());
    }

    #[test]
    fn semicolon_separates_commands() {
        let s = sections("config g a; option x 1; list y 2;config g b ;option x 3");
        assert_eq!(s.len(), 2);
        assert_eq!(single_of(&s[0], "x"), "1");
        assert_eq!(single_of(&s[1], "x"), "3");
        assert_eq!(s[0].option("y").unwrap().value, OptionValue::List(vec![Value { text: "2".into(), line: 1 }]));
        // Glued to a bare word, too; and empty commands are nothing.
        assert_eq!(single("config g;option a b;;option c d;", "c"), "d");
    }

    // ---- libuci's reading (list.c: uci_set, uci_add_list) ----------------

    fn names(s: &Section) -> Vec<&str> {
        s.options.iter().map(|o| o.name.as_str()).collect()
    }

    #[test]
    fn value_may_be_missing() {
        // `option NAME` with no value sets nothing, like `option NAME ''`.
        assert!(sections("config g\noption a\n")[0].options.is_empty());
        // `list NAME` adds an empty item, as `list NAME ''` does.
        assert_eq!(list("config g\nlist a\n", "a"), [""]);
        assert_eq!(list("config g\nlist a ''\nlist a x\nlist a \"\"\n", "a"), ["", "x", ""]);
    }

    #[test]
    fn repeated_option_keeps_the_last() {
        let s = sections("config g\noption a 1\noption b x\noption a 2\n");
        assert_eq!(single_of(&s[0], "a"), "2");
        assert_eq!(s[0].option("a").unwrap().line(), 4);
        // As in libuci the replaced option moves to the end.
        assert_eq!(names(&s[0]), ["b", "a"]);
    }

    #[test]
    fn the_same_value_again_changes_nothing() {
        // uci_set() returns early for an unchanged string: the option keeps
        // its place (and vwrp its line).
        let s = sections("config g\noption a 1\noption b x\noption a '1'\n");
        assert_eq!(names(&s[0]), ["a", "b"]);
        assert_eq!(s[0].option("a").unwrap().line(), 2);
    }

    #[test]
    fn an_empty_value_leaves_the_option_as_it_was() {
        // From a file, uci_set() with an empty value returns before
        // uci_delete(): the parser's pointer is not UCI_LOOKUP_COMPLETE.
        // So `uci get`, LuCI and config_get still see 120, and so does vwrp.
        let s = sections("config g\noption priority '120'\noption b x\noption priority ''\n");
        assert_eq!(single_of(&s[0], "priority"), "120");
        assert_eq!(s[0].option("priority").unwrap().line(), 2);
        assert_eq!(names(&s[0]), ["priority", "b"]);
        assert_eq!(single("config g\noption a 1\noption a\n", "a"), "1");
        assert_eq!(single("config g\noption a 1\noption a \"\"\n", "a"), "1");
        // A list too.
        assert_eq!(list("config g\nlist a 1\nlist a 2\noption a ''\n", "a"), ["1", "2"]);
        // And on an option never set, nothing is created.
        assert!(sections("config g\noption a ''\n")[0].options.is_empty());
    }

    #[test]
    fn list_items_accumulate_with_their_lines() {
        let s = sections("config g\nlist a 1\noption b 0\nlist a '2 3'\n");
        assert_eq!(
            s[0].option("a").unwrap().value,
            OptionValue::List(vec![Value { text: "1".into(), line: 2 }, Value { text: "2 3".into(), line: 4 },])
        );
        // A list grows in place.
        assert_eq!(names(&s[0]), ["a", "b"]);
    }

    #[test]
    fn duplicate_list_items_are_kept() {
        // uci_add_list() never looks for the value: the schema decides.
        assert_eq!(list("config g\nlist a x\nlist a y\nlist a x\n", "a"), ["x", "y", "x"]);
    }

    #[test]
    fn list_after_option_converts_and_option_after_list_replaces() {
        // uci_add_list() on a string: a new list holding the old value
        // then the new one, appended to the section.
        let s = sections("config g\noption a 1\noption b x\nlist a 2\n");
        assert_eq!(list("config g\noption a 1\nlist a 2\n", "a"), ["1", "2"]);
        assert_eq!(names(&s[0]), ["b", "a"]);
        assert_eq!(
            s[0].option("a").unwrap().value,
            OptionValue::List(vec![Value { text: "1".into(), line: 2 }, Value { text: "2".into(), line: 4 }])
        );
        // uci_set() on a list: a string option replaces it, at the end.
        let s = sections("config g\nlist a 1\nlist a 2\noption b x\noption a 3\n");
        assert_eq!(single_of(&s[0], "a"), "3");
        assert_eq!(names(&s[0]), ["b", "a"]);
        // An empty `option` does not touch the list; an empty `list` item
        // turns a string into a list all the same.
        assert_eq!(list("config g\noption a 1\nlist a ''\n", "a"), ["1", ""]);
    }

    #[test]
    fn options_of_a_reopened_section_merge_in_place() {
        let s = sections("config g 'a'\n option x 1\nconfig g b\nconfig g 'a'\n option x ''\n list y 2\n");
        assert_eq!(s[0].name.as_deref(), Some("a"));
        assert_eq!(single_of(&s[0], "x"), "1");
        assert_eq!(names(&s[0]), ["x", "y"]);
        assert_eq!(s[1].name.as_deref(), Some("b"));
    }

    /// Time grows with the file, not with its square: 10 × the lines take
    /// about 10 × the time, for the syntax (`parse`) and for the whole
    /// check (crate::config). Prints the figures for 100,000 lines.
    ///
    /// The bound, 60 ×, leaves room for a loaded machine and for caches
    /// that hold the small file and not the large one (15 to 57 × seen in
    /// debug builds on 2 cores shared with other builds); a quadratic parse
    /// takes 100 × and more. Sizes alternate and the best of five counts,
    /// so a burst of load hits both sizes alike.
    #[test]
    fn parse_time_is_linear() {
        type Line<'a> = &'a dyn Fn(usize) -> String;
        let group = "config group 'wan'\n\toption wan_device 'wan'\n\toption shared_mac '02:00:00:00:00:01'\n";
        // What is measured, its lines per item, and the item.
        let shapes: [(&str, usize, Line); 8] = [
            ("syntax, list items", 1, &|i| format!("\tlist control 'e{i}'\n")),
            ("syntax, options", 1, &|i| format!("\toption o{i} 'x'\n")),
            ("syntax, replaced options", 1, &|i| format!("\toption o{} '{i}'\n", i % 7)),
            ("syntax, sections", 2, &|i| format!("config tracker 't{i}'\n\toption a {i}\n")),
            ("check, list control", 1, &|i| format!("\tlist control 'e{i}'\n")),
            ("check, list lan_gateway", 1, &|i| {
                format!("\tlist lan_gateway '10.{}.{}.{}/8@lan'\n", i >> 16, (i >> 8) & 255, i & 255)
            }),
            ("check, groups", 4, &|i| {
                format!(
                    "config group 'g{i}'\n\toption enabled 0\n\toption wan_device 'w{i}'\n\toption shared_mac '02:00:00:00:00:01'\n"
                )
            }),
            ("check, trackers", 3, &|i| {
                format!("config tracker 't{i}'\n\toption group 'wan'\n\toption type 'external'\n")
            }),
        ];
        for (what, per_item, item) in shapes {
            let check = what.starts_with("check");
            let text = |lines: usize| {
                let mut t = String::from(group);
                (0..lines / per_item).for_each(|i| t.push_str(&item(i)));
                t
            };
            let (small, large) = (text(10_000), text(100_000));
            let time = |t: &str| {
                let start = std::time::Instant::now();
                if check {
                    let _ = crate::config::parse(t, "bench");
                } else {
                    assert!(parse(t, "bench").is_ok());
                }
                start.elapsed()
            };
            let (mut best_small, mut best_large) = (Duration::MAX, Duration::MAX);
            for _ in 0..5 {
                best_small = best_small.min(time(&small));
                best_large = best_large.min(time(&large));
            }
            eprintln!("{what}: 10,000 lines {best_small:?}, 100,000 lines {best_large:?}");
            assert!(best_large < best_small * 60, "{what}: 10 x the lines took {best_large:?} against {best_small:?}");
        }
    }

    #[test]
    fn options_before_any_section_are_refused() {
        assert_eq!(error("option a b\n"), "test:1: 'option' before the first 'config' section");
        assert_eq!(error("package p\n\nlist a b\n"), "test:3: 'list' before the first 'config' section");
    }

    #[test]
    fn missing_arguments() {
        assert_eq!(error("config\n"), "test:1: 'config' needs a section type");
        assert_eq!(error("config ''\n"), "test:1: 'config' needs a section type");
        assert_eq!(error("config g\noption\n"), "test:2: 'option' needs a name");
        assert_eq!(error("config g\nlist '' x\n"), "test:2: 'list' needs a name");
        assert_eq!(error("package\n"), "test:1: 'package' needs a name");
        assert_eq!(error("config # g\n"), "test:1: 'config' needs a section type");
    }

    #[test]
    fn too_many_arguments() {
        assert_eq!(error("config g a b\n"), "test:1: too many arguments to 'config'");
        assert_eq!(error("config g\nlist a b c\n"), "test:2: too many arguments to 'list'");
        assert_eq!(error("package a b\n"), "test:1: too many arguments to 'package'");
        // The extra argument is reported where it is.
        assert_eq!(error("config g\noption a 'b'\\\n c\n"), "test:3: too many arguments to 'option'");
        // Empty extra arguments are ignored, as in libuci.
        assert_eq!(single("config g\noption a b ''\n", "a"), "b");
    }

    #[test]
    fn name_validation() {
        assert_eq!(
            error("config group 'my-wan'\n"),
            "test:1: invalid section name 'my-wan': use only letters, digits and _"
        );
        assert_eq!(
            error("config g\noption hello-interval 1\n"),
            "test:2: invalid option name 'hello-interval': use only letters, digits and _"
        );
        assert!(error("config g 'a b'").starts_with("test:1: invalid section name"));
        assert!(error("config g 'ä'").starts_with("test:1: invalid section name"));
        assert!(error("config g\nlist 'x.y' 1").starts_with("test:2: invalid option name"));
        // Names may hold digits and underscores, even first.
        let s = sections("config g _1a\noption 0_x y\n");
        assert_eq!(s[0].name.as_deref(), Some("_1a"));
        assert!(s[0].option("0_x").is_some());
    }

    #[test]
    fn type_and_package_validation() {
        // Types may hold any printable ASCII.
        assert_eq!(sections("config my-type.x@y")[0].section_type, "my-type.x@y");
        assert!(error("config 'a b'").starts_with("test:1: invalid section type"));
        assert!(error("config 'tÿpe'").starts_with("test:1: invalid section type"));
        // Package names allow '-' but nothing else special.
        assert!(sections("package my-pkg_1\n").is_empty());
        assert!(error("package 'a.b'").starts_with("test:1: invalid package name 'a.b'"));
    }

    #[test]
    fn line_numbers_count_every_newline() {
        let s = sections("\n\n# c\nconfig g a\n\n\toption x 'multi\nline'\n\toption y z\nconfig g b\n");
        assert_eq!(s[0].line, 4);
        assert_eq!(s[0].option("x").unwrap().line(), 6);
        assert_eq!(s[0].option("y").unwrap().line(), 8);
        assert_eq!(s[1].line, 9);
    }

    #[test]
    fn error_display_names_the_file() {
        let e = parse("bogus", "/etc/config/vwrp").unwrap_err();
        assert_eq!(e.file, "/etc/config/vwrp");
        assert_eq!(e.line, 1);
        assert!(e.to_string().starts_with("/etc/config/vwrp:1: invalid command 'bogus'"));
    }

    #[test]
    fn non_ascii_values_survive() {
        assert_eq!(single("config g\noption a 'grüß'\n", "a"), "grüß");
        assert_eq!(single("config g\noption a gr\\üß\n", "a"), "grüß");
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(text in any::<String>()) {
            let _ = parse(&text, "fuzz");
        }

        #[test]
        fn never_panics_on_uci_like_text(
            text in "([cplo]|config|option|list|package|[ \t\r\n'\"\\\\#;_a-z0-9-]){0,80}"
        ) {
            if let Ok(sections) = parse(&text, "fuzz") {
                for s in &sections {
                    prop_assert!(s.line >= 1);
                    for o in &s.options {
                        if let OptionValue::List(items) = &o.value {
                            prop_assert!(!items.is_empty());
                        }
                    }
                }
            }
        }
    }
}
