//! JSON for the control socket, rpcd and netifd, by hand: a small
//! writer for what vwrp sends (requests and replies, status, ubus events,
//! netifd's notify_proto) and a small strict reader for what comes in
//! (requests, rpcd's arguments, the daemon's replies in the CLI). serde's
//! derives and serde_json's parser cost tens of KB on a router
//! (docs/SIZE.md).

use std::fmt::Write as _;

/// Appends values, commas and brackets in order. Keys are literals and
/// never escaped; strings are escaped as serde_json escapes them.
pub struct Writer {
    out: String,
    /// At the start of an object or array, or right after a key: the
    /// next value takes no comma.
    bare: bool,
}

impl Default for Writer {
    fn default() -> Writer {
        Writer::new()
    }
}

impl Writer {
    pub fn new() -> Writer {
        Writer { out: String::new(), bare: true }
    }

    /// The text written.
    pub fn finish(self) -> String {
        self.out
    }

    /// The output, after a comma if a value came before.
    fn next(&mut self) -> &mut String {
        if !std::mem::replace(&mut self.bare, false) {
            self.out.push(',');
        }
        &mut self.out
    }

    fn raw(&mut self, s: &str) -> &mut Writer {
        self.next().push_str(s);
        self
    }

    /// Starts an object (`{`) or an array (`[`).
    pub fn open(&mut self, c: char) -> &mut Writer {
        self.next().push(c);
        self.bare = true;
        self
    }

    /// Ends an object (`}`) or an array (`]`).
    pub fn close(&mut self, c: char) -> &mut Writer {
        self.out.push(c);
        self.bare = false;
        self
    }

    pub fn key(&mut self, k: &str) -> &mut Writer {
        let o = self.next();
        o.push('"');
        o.push_str(k);
        o.push_str("\":");
        self.bare = true;
        self
    }

    pub fn str(&mut self, s: &str) -> &mut Writer {
        let o = self.next();
        o.push('"');
        let mut done = 0;
        for (i, b) in s.bytes().enumerate() {
            let short = match b {
                b'"' => '"',
                b'\\' => '\\',
                b'\n' => 'n',
                b'\r' => 'r',
                b'\t' => 't',
                0x08 => 'b',
                0x0c => 'f',
                0..0x20 => 'u',
                _ => continue,
            };
            // Escaped bytes are ASCII: `i` is on a character boundary.
            o.push_str(s.get(done..i).unwrap_or_default());
            o.push('\\');
            o.push(short);
            if short == 'u' {
                let _ = write!(o, "{b:04x}");
            }
            done = i + 1;
        }
        o.push_str(s.get(done..).unwrap_or_default());
        o.push('"');
        self
    }

    pub fn num(&mut self, n: u64) -> &mut Writer {
        let _ = write!(self.next(), "{n}");
        self
    }

    pub fn bool(&mut self, b: bool) -> &mut Writer {
        self.raw(if b { "true" } else { "false" })
    }

    pub fn null(&mut self) -> &mut Writer {
        self.raw("null")
    }

    pub fn opt_str(&mut self, s: Option<&str>) -> &mut Writer {
        match s {
            Some(s) => self.str(s),
            None => self.null(),
        }
    }

    pub fn opt_num(&mut self, n: Option<u64>) -> &mut Writer {
        match n {
            Some(n) => self.num(n),
            None => self.null(),
        }
    }
}

/// A JSON value as [`parse`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    /// A number, as its text: vwrp reads only integers 0..2^64
    /// ([`Value::as_u64`]); others (negative, with a fraction or an
    /// exponent) are numbers nothing asks for, checked but not converted.
    Num(String),
    Str(String),
    Arr(Vec<Value>),
    Obj(Object),
}

/// An object's members in the order they came. Of a key given twice the
/// last counts, as in serde_json's map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Object(Vec<(String, Value)>);

impl Object {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The members as they came, a repeated key each time.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Sets `key`, replacing what it had.
    pub fn insert(&mut self, key: &str, v: Value) {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.into(), v));
    }
}

impl Value {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|o| o.get(key))
    }

    pub fn as_object(&self) -> Option<&Object> {
        if let Value::Obj(o) = self { Some(o) } else { None }
    }

    pub fn is_object(&self) -> bool {
        self.as_object().is_some()
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        if let Value::Arr(a) = self { Some(a) } else { None }
    }

    pub fn as_str(&self) -> Option<&str> {
        if let Value::Str(s) = self { Some(s) } else { None }
    }

    pub fn as_bool(&self) -> Option<bool> {
        if let Value::Bool(b) = self { Some(*b) } else { None }
    }

    /// A number without sign, fraction or exponent that fits in 64 bits.
    pub fn as_u64(&self) -> Option<u64> {
        if let Value::Num(t) = self { t.parse().ok() } else { None }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<u8> for Value {
    fn from(n: u8) -> Value {
        Value::Num(n.to_string())
    }
}

/// Deepest nesting of arrays and objects read: vwrp's own messages go 6
/// deep (status); the reader recurses, so hostile input must not go on.
pub const MAX_DEPTH: usize = 32;

/// One JSON value (RFC 8259), alone in `text` but for white space. Strict:
/// no comments, trailing commas, control characters in strings or lone
/// surrogates (as serde_json). The error says what is wrong and where.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut r = Reader { text, at: 0 };
    let v = r.value(0)?;
    r.space();
    match r.at < text.len() {
        true => Err(r.bad("trailing characters")),
        false => Ok(v),
    }
}

struct Reader<'a> {
    text: &'a str,
    /// Bytes read so far; always on a character boundary.
    at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let yes = self.peek() == Some(b);
        self.at += usize::from(yes);
        yes
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// `what`, at the byte read next (counted from 1).
    fn bad(&self, what: &str) -> String {
        format!("{what} at byte {}", self.at + 1)
    }

    /// `what` was expected next.
    fn expected(&self, what: &str) -> String {
        match self.peek() {
            None => format!("the text ends where {what} should be"),
            Some(_) => self.bad(&format!("{what} expected")),
        }
    }

    /// A value, nested `depth` arrays and objects deep.
    fn value(&mut self, depth: usize) -> Result<Value, String> {
        self.space();
        match self.peek() {
            Some(open @ (b'[' | b'{')) => {
                if depth == MAX_DEPTH {
                    return Err(self.bad(&format!("nested more than {MAX_DEPTH} deep")));
                }
                self.at += 1;
                self.members(open == b'{', depth + 1)
            }
            Some(b'"') => self.string().map(Value::Str),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.expected("a value")),
        }
    }

    /// An array's values or an object's members, after its bracket.
    fn members(&mut self, object: bool, depth: usize) -> Result<Value, String> {
        let (close, sep) = if object { (b'}', "',' or '}'") } else { (b']', "',' or ']'") };
        let (mut arr, mut obj) = (Vec::new(), Vec::new());
        self.space();
        if !self.eat(close) {
            loop {
                if object {
                    self.space();
                    if self.peek() != Some(b'"') {
                        return Err(self.expected("a string key"));
                    }
                    let k = self.string()?;
                    self.space();
                    if !self.eat(b':') {
                        return Err(self.expected("':'"));
                    }
                    obj.push((k, self.value(depth)?));
                } else {
                    arr.push(self.value(depth)?);
                }
                self.space();
                if self.eat(close) {
                    break;
                }
                if !self.eat(b',') {
                    return Err(self.expected(sep));
                }
            }
        }
        Ok(if object { Value::Obj(Object(obj)) } else { Value::Arr(arr) })
    }

    /// A string, at its opening quote.
    fn string(&mut self) -> Result<String, String> {
        self.at += 1;
        let mut s = String::new();
        loop {
            let plain = self.text.as_bytes()[self.at..].iter().take_while(|&&b| b != b'"' && b != b'\\' && b >= 0x20);
            let end = self.at + plain.count();
            // Stopped at an ASCII byte or the end: a character boundary.
            s.push_str(self.text.get(self.at..end).unwrap_or_default());
            self.at = end;
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(s);
                }
                Some(b'\\') => {
                    self.at += 1;
                    s.push(self.escape()?);
                }
                Some(_) => return Err(self.bad("a control character in a string")),
                None => return Err(self.expected("'\"'")),
            }
        }
    }

    /// The character of an escape, after its backslash.
    fn escape(&mut self) -> Result<char, String> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.at += 1;
                let hi = self.hex4()?;
                let c = match hi {
                    0xd800..0xdc00 => {
                        if !(self.eat(b'\\') && self.eat(b'u')) {
                            return Err(self.bad("a lone surrogate escape"));
                        }
                        let lo = self.hex4()?;
                        if !(0xdc00..0xe000).contains(&lo) {
                            return Err(self.bad("a lone surrogate escape"));
                        }
                        0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                    }
                    _ => hi,
                };
                return char::from_u32(c).ok_or_else(|| self.bad("a lone surrogate escape"));
            }
            _ => return Err(self.expected("an escape (one of \"\\/bfnrtu)")),
        };
        self.at += 1;
        Ok(c)
    }

    /// Four hexadecimal digits of a `\u` escape.
    fn hex4(&mut self) -> Result<u32, String> {
        let mut n = 0;
        for _ in 0..4 {
            let d = self.peek().and_then(|b| char::from(b).to_digit(16)).ok_or_else(|| self.expected("a hex digit"))?;
            n = n << 4 | d;
            self.at += 1;
        }
        Ok(n)
    }

    /// A number: `-`, digits without a leading zero, a fraction, an
    /// exponent; kept as its text.
    fn number(&mut self) -> Result<Value, String> {
        let start = self.at;
        self.eat(b'-');
        if !self.eat(b'0') {
            self.digits()?;
        }
        if self.eat(b'.') {
            self.digits()?;
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            self.digits()?;
        }
        Ok(Value::Num(self.text[start..self.at].into()))
    }

    /// One or more decimal digits.
    fn digits(&mut self) -> Result<(), String> {
        let n = self.text.as_bytes()[self.at..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return Err(self.expected("a digit"));
        }
        self.at += n;
        Ok(())
    }

    /// `word` (true, false, null), which is `v`.
    fn literal(&mut self, word: &str, v: Value) -> Result<Value, String> {
        let end = self.at + word.len();
        if self.text.as_bytes().get(self.at..end) != Some(word.as_bytes()) {
            return Err(self.expected("a value"));
        }
        self.at = end;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(t: &str) -> Value {
        Value::Num(t.into())
    }

    fn obj(members: &[(&str, Value)]) -> Value {
        Value::Obj(Object(members.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()))
    }

    #[test]
    fn values_are_read() {
        let text = r#" {"cmd":"lease","env":[["ip","203.0.113.10"],[]],"n":[0,-1,1.5e-3,2E+2,18446744073709551616],
            "t":true,"f":false,"z":null,"o":{}} "#;
        let want = obj(&[
            ("cmd", Value::Str("lease".into())),
            (
                "env",
                Value::Arr(vec![
                    Value::Arr(vec![Value::Str("ip".into()), Value::Str("203.0.113.10".into())]),
                    Value::Arr(Vec::new()),
                ]),
            ),
            ("n", Value::Arr(vec![num("0"), num("-1"), num("1.5e-3"), num("2E+2"), num("18446744073709551616")])),
            ("t", Value::Bool(true)),
            ("f", Value::Bool(false)),
            ("z", Value::Null),
            ("o", obj(&[])),
        ]);
        assert_eq!(parse(text), Ok(want));
    }

    #[test]
    fn only_plain_integers_are_u64() {
        for (t, n) in [("0", Some(0)), ("254", Some(254)), ("18446744073709551615", Some(u64::MAX))] {
            assert_eq!(parse(t).unwrap().as_u64(), n, "{t}");
        }
        for t in ["-1", "1.0", "1e2", "18446744073709551616", "\"1\"", "true", "null"] {
            assert_eq!(parse(t).unwrap().as_u64(), None, "{t}");
        }
    }

    #[test]
    fn escapes_are_read() {
        let text = r#""a\"b\\c\/d\b\f\n\r\t\u0000\u001f\u00e9\u20ac\ud834\udd1e\uD834\uDD1E é𝄞""#;
        assert_eq!(parse(text), Ok(Value::Str("a\"b\\c/d\u{8}\u{c}\n\r\t\u{0}\u{1f}é€𝄞𝄞 é𝄞".into())));
        // What the writer escapes reads back as it was.
        let s = "\"\\/\u{0}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f}\u{7f}é\u{1}ü€𝄞";
        let mut j = Writer::new();
        j.str(s);
        assert_eq!(parse(&j.finish()), Ok(Value::Str(s.into())));
    }

    #[test]
    fn the_last_of_a_repeated_key_counts() {
        let v = parse(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(v.get("a"), Some(&num("3")));
        let Value::Obj(mut o) = v else { panic!() };
        o.insert("a", true.into());
        assert_eq!(Value::Obj(o), obj(&[("b", num("2")), ("a", Value::Bool(true))]));
    }

    /// Each refusal says what is wrong and where.
    #[test]
    fn bad_json_is_refused_with_a_reason() {
        for (text, why) in [
            ("", "the text ends where a value should be"),
            ("  ", "the text ends where a value should be"),
            ("[1,", "the text ends where a value should be"),
            ("[1", "the text ends where ',' or ']' should be"),
            ("{\"a\":1", "the text ends where ',' or '}' should be"),
            ("{\"a\"", "the text ends where ':' should be"),
            ("\"abc", "the text ends where '\"' should be"),
            ("\"\\", "the text ends where an escape (one of \"\\/bfnrtu) should be"),
            ("\"\\u12", "the text ends where a hex digit should be"),
            ("-", "the text ends where a digit should be"),
            ("x", "a value expected at byte 1"),
            ("tru", "a value expected at byte 1"),
            ("nul1", "a value expected at byte 1"),
            ("[1 2]", "',' or ']' expected at byte 4"),
            ("[1,]", "a value expected at byte 4"),
            ("{,}", "a string key expected at byte 2"),
            ("{\"a\":1,}", "a string key expected at byte 8"),
            ("{a:1}", "a string key expected at byte 2"),
            ("{\"a\" 1}", "':' expected at byte 6"),
            ("{\"a\":1 \"b\":2}", "',' or '}' expected at byte 8"),
            ("1 2", "trailing characters at byte 3"),
            ("{} x", "trailing characters at byte 4"),
            ("01", "trailing characters at byte 2"),
            ("+1", "a value expected at byte 1"),
            (".5", "a value expected at byte 1"),
            ("1.", "the text ends where a digit should be"),
            ("1.e5", "a digit expected at byte 3"),
            ("1e", "the text ends where a digit should be"),
            ("-a", "a digit expected at byte 2"),
            ("\"a\u{1}b\"", "a control character in a string at byte 3"),
            ("\"a\tb\"", "a control character in a string at byte 3"),
            ("\"\\x\"", "an escape (one of \"\\/bfnrtu) expected at byte 3"),
            ("\"\\u12g4\"", "a hex digit expected at byte 6"),
            ("\"\\u+123\"", "a hex digit expected at byte 4"),
            ("\"\\ud800\"", "a lone surrogate escape at byte 8"),
            ("\"\\ud800\\u0041\"", "a lone surrogate escape at byte 14"),
            ("\"\\udc00\"", "a lone surrogate escape at byte 8"),
            ("\u{feff}{}", "a value expected at byte 1"),
            ("\u{c}{}", "a value expected at byte 1"),
            ("/* */ {}", "a value expected at byte 1"),
        ] {
            assert_eq!(parse(text), Err(why.to_string()), "{text:?}");
        }
    }

    /// Nesting is bounded: the reader recurses once per level, and hostile
    /// input of 64 KB of brackets must not overflow the stack.
    #[test]
    fn nesting_is_bounded() {
        let nested = |n: usize| "[".repeat(n) + &"]".repeat(n);
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        let e = |at: usize| Err(format!("nested more than {MAX_DEPTH} deep at byte {at}"));
        assert_eq!(parse(&nested(MAX_DEPTH + 1)), e(MAX_DEPTH + 1));
        // The 33rd level is the 17th `{"a":[`'s `{`.
        assert_eq!(parse(&"{\"a\":[".repeat(40_000)), e(16 * 6 + 1));
        assert!(parse(&"[".repeat(1 << 20)).is_err());
    }

    #[test]
    fn strings_are_escaped_as_serde_json_does() {
        for s in ["", "plain", "\"\\/", "\u{0}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f}\u{7f}", "é\u{1}ü€𝄞", "a\nb\rc\td"]
        {
            let mut j = Writer::new();
            j.str(s);
            assert_eq!(j.finish(), serde_json::to_string(s).unwrap(), "{s:?}");
        }
        let mut j = Writer::new();
        j.open('[')
            .open('{')
            .key("a")
            .opt_num(None)
            .key("b")
            .open('[')
            .close(']')
            .close('}')
            .num(u64::MAX)
            .bool(true)
            .close(']');
        assert_eq!(j.finish(), r#"[{"a":null,"b":[]},18446744073709551615,true]"#);
    }
}
