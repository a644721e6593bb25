//! Just enough JSON for the control socket: a `Value`, a parser for one
//! request line, compact output, and a serde `Serializer` into `Value` for
//! the status structs. serde_json's generic machinery cost about a sixth of
//! the router binary (docs/SIZE.md); the subset of its API used here keeps
//! the same names and the same output (object keys sorted, as serde_json's
//! default map sorts them).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::ser::{self, Serialize};

pub type Map = BTreeMap<String, Value>;

#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(Map),
}

/// An integer (`Negative` only below zero), or any other number kept as
/// the text it was read from: nothing here does arithmetic on fractions.
#[derive(Clone, Debug, PartialEq)]
pub enum Number {
    Unsigned(u64),
    Negative(i64),
    Other(String),
}

static NULL: Value = Value::Null;

impl Value {
    /// An object from its fields.
    pub fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
        Value::Object(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    /// The member `k` of an object, or the element `k` of an array.
    pub fn get<K: Key>(&self, k: K) -> Option<&Value> {
        k.index_into(self)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(Number::Unsigned(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(Number::Unsigned(n)) => i64::try_from(*n).ok(),
            Value::Number(Number::Negative(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// What `Value::get` and `value[..]` accept: a member name or an index.
pub trait Key {
    fn index_into(self, v: &Value) -> Option<&Value>;
}

impl Key for &str {
    fn index_into(self, v: &Value) -> Option<&Value> {
        match v {
            Value::Object(o) => o.get(self),
            _ => None,
        }
    }
}

impl Key for usize {
    fn index_into(self, v: &Value) -> Option<&Value> {
        match v {
            Value::Array(a) => a.get(self),
            _ => None,
        }
    }
}

/// `v["a"][0]`: Null where there is nothing, as with serde_json.
impl<K: Key> std::ops::Index<K> for Value {
    type Output = Value;
    fn index(&self, k: K) -> &Value {
        k.index_into(self).unwrap_or(&NULL)
    }
}

impl PartialEq<str> for Value {
    fn eq(&self, o: &str) -> bool {
        self.as_str() == Some(o)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, o: &&str) -> bool {
        self.as_str() == Some(*o)
    }
}

impl PartialEq<bool> for Value {
    fn eq(&self, o: &bool) -> bool {
        self.as_bool() == Some(*o)
    }
}

impl PartialEq<i64> for Value {
    fn eq(&self, o: &i64) -> bool {
        self.as_i64() == Some(*o)
    }
}

impl PartialEq<i32> for Value {
    fn eq(&self, o: &i32) -> bool {
        self.as_i64() == Some(i64::from(*o))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Value {
        Value::Number(Number::Unsigned(n))
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        match u64::try_from(n) {
            Ok(u) => Value::Number(Number::Unsigned(u)),
            Err(_) => Value::Number(Number::Negative(n)),
        }
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Value {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

// --- output ------------------------------------------------------------

/// Compact JSON, as serde_json writes it.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(Number::Unsigned(n)) => write!(f, "{n}"),
            Value::Number(Number::Negative(n)) => write!(f, "{n}"),
            Value::Number(Number::Other(s)) => f.write_str(s),
            Value::String(s) => write_str(f, s),
            Value::Array(a) => {
                f.write_char('[')?;
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_char(']')
            }
            Value::Object(o) => {
                f.write_char('{')?;
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write_str(f, k)?;
                    write!(f, ":{v}")?;
                }
                f.write_char('}')
            }
        }
    }
}

/// A JSON string literal: the escapes serde_json uses.
fn write_str(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            '\u{8}' => out.write_str("\\b")?,
            '\u{c}' => out.write_str("\\f")?,
            c if u32::from(c) < 0x20 => write!(out, "\\u{:04x}", u32::from(c))?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

// --- input -------------------------------------------------------------

/// Deepest nesting accepted, as serde_json: the parser recurses, and a
/// request is untrusted input.
const MAX_DEPTH: usize = 128;

/// Parses one JSON text; whitespace may surround it, nothing else.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    let v = p.value(0)?;
    p.ws();
    if p.i < p.s.len() {
        return Err(p.err("trailing characters"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        format!("{what} at offset {}", self.i)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i = self.i.saturating_add(1);
        Some(c)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.bump() == Some(c) { Ok(()) } else { Err(self.err(&format!("expected `{}`", char::from(c)))) }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, String> {
        let end = self.i.saturating_add(word.len());
        if self.s.get(self.i..end) == Some(word.as_bytes()) {
            self.i = end;
            Ok(v)
        } else {
            Err(self.err("expected value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth >= MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.ws();
        match self.peek() {
            Some(b'n') => self.literal("null", Value::Null),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => {
                self.bump();
                let mut a = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.bump();
                    return Ok(Value::Array(a));
                }
                loop {
                    a.push(self.value(depth.saturating_add(1))?);
                    self.ws();
                    match self.bump() {
                        Some(b',') => {}
                        Some(b']') => return Ok(Value::Array(a)),
                        _ => return Err(self.err("expected `,` or `]`")),
                    }
                }
            }
            Some(b'{') => {
                self.bump();
                let mut o = Map::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.bump();
                    return Ok(Value::Object(o));
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected a member name"));
                    }
                    let k = self.string()?;
                    self.expect(b':')?;
                    let v = self.value(depth.saturating_add(1))?;
                    o.insert(k, v);
                    self.ws();
                    match self.bump() {
                        Some(b',') => {}
                        Some(b'}') => return Ok(Value::Object(o)),
                        _ => return Err(self.err("expected `,` or `}`")),
                    }
                }
            }
            _ => Err(self.err("expected value")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.bump();
        }
        self.i.saturating_sub(start)
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.bump();
        }
        let int_start = self.i;
        let n = self.digits();
        if n == 0 || (n > 1 && self.s.get(int_start) == Some(&b'0')) {
            return Err(self.err("invalid number"));
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.bump();
            integer = false;
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.bump();
            integer = false;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.bump();
            }
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        // Only ASCII was consumed, so these are char boundaries.
        let text = std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default()).unwrap_or_default();
        let int = match (integer, negative) {
            (true, false) => text.parse::<u64>().ok().map(Value::from),
            (true, true) => text.parse::<i64>().ok().map(Value::from),
            _ => None,
        };
        Ok(int.unwrap_or_else(|| Value::Number(Number::Other(text.to_string()))))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut n = 0u32;
        for _ in 0..4 {
            let d = self.bump().and_then(|c| char::from(c).to_digit(16)).ok_or_else(|| self.err("invalid \\u escape"))?;
            n = n.checked_mul(16).and_then(|n| n.checked_add(d)).ok_or_else(|| self.err("invalid \\u escape"))?;
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, String> {
        self.bump(); // the opening quote
        let mut out = String::new();
        loop {
            // Copy the run of plain characters up to the next quote,
            // backslash or control character in one go.
            let start = self.i;
            while matches!(self.peek(), Some(c) if c != b'"' && c != b'\\' && c >= 0x20) {
                self.bump();
            }
            // The input is a &str and the run stops only at ASCII bytes.
            out.push_str(std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default()).unwrap_or_default());
            match self.bump() {
                Some(b'"') => return Ok(out),
                Some(b'\\') => {
                    let c = match self.bump() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(self.err("invalid escape")),
                    };
                    out.push(c);
                }
                Some(_) => return Err(self.err("control character in string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }

    /// After `\u`: one code point, from a surrogate pair where needed.
    fn unicode_escape(&mut self) -> Result<char, String> {
        let hi = self.hex4()?;
        let cp = if (0xd800..0xdc00).contains(&hi) {
            if self.bump() != Some(b'\\') || self.bump() != Some(b'u') {
                return Err(self.err("lone surrogate"));
            }
            let lo = self.hex4()?;
            if !(0xdc00..0xe000).contains(&lo) {
                return Err(self.err("lone surrogate"));
            }
            0x10000u32.saturating_add((hi.saturating_sub(0xd800) << 10) | lo.saturating_sub(0xdc00))
        } else {
            hi
        };
        char::from_u32(cp).ok_or_else(|| self.err("lone surrogate"))
    }
}

// --- serde -------------------------------------------------------------

/// Any `Serialize` value as a `Value`, as serde_json::to_value does it.
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<Value, Error> {
    v.serialize(ValueSerializer)
}

#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error(msg.to_string())
    }
}

struct ValueSerializer;

/// A variant with data: `{"variant": data}`, serde's default tagging.
fn tagged(variant: &str, v: Value) -> Value {
    Value::Object(Map::from([(variant.to_string(), v)]))
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Seq;
    type SerializeMap = Obj;
    type SerializeStruct = Obj;
    type SerializeStructVariant = Obj;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        Ok(i64::from(v).into())
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        Ok(i64::from(v).into())
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        Ok(i64::from(v).into())
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        Ok(u64::from(v).into())
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        Ok(u64::from(v).into())
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        Ok(u64::from(v).into())
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        // serde_json writes non-finite numbers as null.
        Ok(if v.is_finite() { Value::Number(Number::Other(format!("{v:?}"))) } else { Value::Null })
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        Ok(Value::Array(v.iter().map(|b| u64::from(*b).into()).collect()))
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<Value, Error> {
        Ok(variant.into())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<Value, Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, Error> {
        Ok(tagged(variant, to_value(v)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq, Error> {
        Ok(Seq { items: Vec::with_capacity(len.unwrap_or(0)), variant: None })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, variant: &'static str, len: usize) -> Result<Seq, Error> {
        Ok(Seq { items: Vec::with_capacity(len), variant: Some(variant) })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Obj, Error> {
        Ok(Obj { map: Map::new(), key: None, variant: None })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Obj, Error> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Obj, Error> {
        Ok(Obj { map: Map::new(), key: None, variant: Some(variant) })
    }
}

struct Seq {
    items: Vec<Value>,
    variant: Option<&'static str>,
}

impl Seq {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.items.push(to_value(v)?);
        Ok(())
    }
    fn done(self) -> Result<Value, Error> {
        let a = Value::Array(self.items);
        Ok(match self.variant {
            Some(variant) => tagged(variant, a),
            None => a,
        })
    }
}

impl ser::SerializeSeq for Seq {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        self.done()
    }
}

impl ser::SerializeTuple for Seq {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        self.done()
    }
}

impl ser::SerializeTupleStruct for Seq {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        self.done()
    }
}

impl ser::SerializeTupleVariant for Seq {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        self.done()
    }
}

struct Obj {
    map: Map,
    key: Option<String>,
    variant: Option<&'static str>,
}

impl Obj {
    fn field<T: Serialize + ?Sized>(&mut self, k: &str, v: &T) -> Result<(), Error> {
        self.map.insert(k.to_string(), to_value(v)?);
        Ok(())
    }
    fn done(self) -> Result<Value, Error> {
        let o = Value::Object(self.map);
        Ok(match self.variant {
            Some(variant) => tagged(variant, o),
            None => o,
        })
    }
}

impl ser::SerializeMap for Obj {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), Error> {
        match to_value(k)? {
            Value::String(s) => self.key = Some(s),
            _ => return Err(Error("map key must be a string".into())),
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        let k = self.key.take().ok_or_else(|| Error("map value without a key".into()))?;
        self.map.insert(k, to_value(v)?);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        self.done()
    }
}

impl ser::SerializeStruct for Obj {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, k: &'static str, v: &T) -> Result<(), Error> {
        self.field(k, v)
    }
    fn end(self) -> Result<Value, Error> {
        self.done()
    }
}

impl ser::SerializeStructVariant for Obj {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, k: &'static str, v: &T) -> Result<(), Error> {
        self.field(k, v)
    }
    fn end(self) -> Result<Value, Error> {
        self.done()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[test]
    fn parses_and_prints_compactly_with_sorted_keys() {
        let v = parse(" {\"b\": [1, -2, 3.5e1, true, null], \"a\": \"x\\\"y\\u00e9\\ud83d\\ude00\"}\n").unwrap();
        assert_eq!(v["a"], "x\"yé😀");
        assert_eq!(v["b"][1], -2);
        assert_eq!(v.to_string(), "{\"a\":\"x\\\"yé😀\",\"b\":[1,-2,3.5e1,true,null]}");
        assert_eq!(v["missing"][3], Value::Null);
        assert_eq!(parse("18446744073709551615").unwrap().as_u64(), Some(u64::MAX));
    }

    #[test]
    fn escapes_as_serde_json_does() {
        let v = Value::from("a\u{1}\u{8}\u{c}\n\r\t\\/\u{7f}");
        assert_eq!(v.to_string(), "\"a\\u0001\\b\\f\\n\\r\\t\\\\/\u{7f}\"");
        assert_eq!(parse(&v.to_string()).unwrap(), v);
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in [
            "", "{", "[1,]", "{\"a\" 1}", "{a:1}", "01", "1.", "-", "1e", "\"\\x\"", "\"\u{1}\"", "\"abc",
            "\"\\ud800\"", "\"\\udc00\"", "nul", "true false", "[1 2]", "{\"a\":1,}",
        ] {
            assert!(parse(bad).is_err(), "accepted {bad:?}");
        }
        // Nesting is bounded, so hostile input cannot exhaust the stack.
        assert!(parse(&"[".repeat(100_000)).is_err());
        assert!(parse(&format!("{}{}", "[".repeat(100), "]".repeat(100))).is_ok());
    }

    #[derive(Serialize)]
    struct S<'a> {
        n: u8,
        neg: i32,
        s: &'a str,
        o: Option<u32>,
        v: Vec<String>,
        e: E,
        u: E,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum E {
        Unit,
        New(u8),
    }

    #[test]
    fn serializes_like_serde_json() {
        let s = S { n: 7, neg: -1, s: "x", o: None, v: vec!["a".into()], e: E::New(2), u: E::Unit };
        let ours = to_value(&s).unwrap().to_string();
        assert_eq!(ours, r#"{"e":{"new":2},"n":7,"neg":-1,"o":null,"s":"x","u":"unit","v":["a"]}"#);
        assert_eq!(ours, serde_json::to_value(&s).unwrap().to_string());
    }

    /// The same text out as serde_json, for every ASCII character and some
    /// beyond, and the same document back.
    #[test]
    fn matches_serde_json() {
        let all: String = (0u8..0x80).map(char::from).chain("é€😀\u{2028}".chars()).collect();
        let ours = Value::from(all.as_str()).to_string();
        assert_eq!(ours, serde_json::Value::from(all.as_str()).to_string());
        let doc = format!(r#"{{"z":[{ours},0,-9223372036854775808,18446744073709551615,{{}},[]],"a":{{"b":null,"c":false}}}}"#);
        assert_eq!(parse(&doc).unwrap().to_string(), serde_json::from_str::<serde_json::Value>(&doc).unwrap().to_string());
    }
}
