//! JSON written straight into a string, for what vwrp sends: control
//! requests and replies, status, ubus events, netifd's notify_proto.
//! serde_json parses what comes in; a derived `Serialize` per outgoing
//! type cost several KB each on a router (docs/SIZE.md).

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

#[cfg(test)]
mod tests {
    use super::*;

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
