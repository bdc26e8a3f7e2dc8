//! A small JSON reader for provider responses. Numbers are kept as their
//! text, so a price is turned into `Money` exactly ([`decimal`]) and never
//! passes through `f64`. Nesting is bounded and every error is a value:
//! provider bytes can never panic the daemon. Runs wherever a provider
//! response is parsed (the provider threads, tests).

use papertrader_common::value::Money;

/// Deepest nesting accepted; provider answers are 4 or 5 levels deep.
const MAX_DEPTH: usize = 32;

/// A parsed JSON value; numbers as their literal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, exactly as written.
    Num(String),
    /// A string, unescaped.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, members in document order.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// Parses a whole document; the error says what and at which byte.
    pub fn parse(text: &str) -> Result<Json, String> {
        let mut p = Parser {
            b: text.as_bytes(),
            i: 0,
        };
        p.ws();
        let value = p.value(0)?;
        p.ws();
        if p.i != p.b.len() {
            return Err(p.err("trailing bytes after the JSON value"));
        }
        Ok(value)
    }

    /// Member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Element `i` of an array.
    pub fn at(&self, i: usize) -> Option<&Json> {
        match self {
            Json::Arr(items) => items.get(i),
            _ => None,
        }
    }

    /// The elements of an array.
    pub fn items(&self) -> Option<&[Json]> {
        match self {
            Json::Arr(items) => Some(items),
            _ => None,
        }
    }

    /// The members of an object.
    pub fn members(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Obj(members) => Some(members),
            _ => None,
        }
    }

    /// A string's text.
    pub fn str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a number, or of a string holding one (Coinbase and
    /// Binance quote prices as strings).
    pub fn num_text(&self) -> Option<&str> {
        match self {
            Json::Num(s) | Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A whole number (seconds, counts); fractions are refused.
    pub fn int(&self) -> Option<i64> {
        self.num_text()?.parse().ok()
    }

    /// A price: see [`decimal`]; None for anything else.
    pub fn money(&self) -> Option<Result<Money, String>> {
        self.num_text().map(decimal)
    }

    /// A short excerpt for messages.
    pub fn excerpt(text: &str) -> String {
        let shown: String = text
            .chars()
            .take(80)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if text.chars().count() > 80 {
            format!("{shown}...")
        } else {
            shown
        }
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        format!("malformed JSON at byte {}: {what}", self.i)
    }

    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(|c| b" \t\r\n".contains(c)) {
            self.i += 1;
        }
    }

    fn eat(&mut self, word: &str) -> Result<(), String> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err(&format!("expected {word}")))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.b.get(self.i) {
            None => Err(self.err("unexpected end")),
            Some(b'n') => self.eat("null").map(|_| Json::Null),
            Some(b't') => self.eat("true").map(|_| Json::Bool(true)),
            Some(b'f') => self.eat("false").map(|_| Json::Bool(false)),
            Some(b'"') => self.string().map(Json::Str),
            Some(b'[') => self.array(depth),
            Some(b'{') => self.object(depth),
            Some(c) if *c == b'-' || c.is_ascii_digit() => self.number(),
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, String> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Json::Arr(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                _ => return Err(self.err("expected , or ]")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, String> {
        self.i += 1;
        let mut members = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Json::Obj(members));
        }
        loop {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return Err(self.err("expected a member name"));
            }
            let key = self.string()?;
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return Err(self.err("expected :"));
            }
            self.i += 1;
            self.ws();
            members.push((key, self.value(depth + 1)?));
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Obj(members));
                }
                _ => return Err(self.err("expected , or }")),
            }
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        while self
            .b
            .get(self.i)
            .is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
        {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).map_err(|_| self.err("number"))?;
        Ok(Json::Num(text.to_string()))
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.b.get(self.i) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return String::from_utf8(out).map_err(|_| self.err("string is not UTF-8"));
                }
                Some(b'\\') => {
                    let c = *self.b.get(self.i + 1).ok_or_else(|| self.err("escape"))?;
                    self.i += 2;
                    let ch = match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode()?,
                        _ => return Err(self.err("bad escape")),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                Some(&c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// `\uXXXX` (the `\u` eaten); a lone surrogate becomes U+FFFD.
    fn unicode(&mut self) -> Result<char, String> {
        let hex = self
            .b
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("\\u"))?;
        let hex = std::str::from_utf8(hex).map_err(|_| self.err("\\u"))?;
        let code = u32::from_str_radix(hex, 16).map_err(|_| self.err("\\u"))?;
        self.i += 4;
        Ok(char::from_u32(code).unwrap_or('\u{fffd}'))
    }
}

/// A JSON number (or numeric string) as `Money`, exactly: digits with an
/// optional sign, fraction and exponent. More than 4 fraction digits are
/// rounded half away from zero (providers send `189.91000366210938`).
/// Zero and negative values are returned as they are: the caller decides.
pub fn decimal(text: &str) -> Result<Money, String> {
    let bad = || format!("{:?} is not a decimal number", Json::excerpt(text));
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(at) => {
            let exp: i32 = rest[at + 1..].parse().map_err(|_| bad())?;
            (&rest[..at], exp)
        }
        None => (rest, 0),
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !digits(whole) || !digits(frac) {
        return Err(bad());
    }
    // All the digits, and where the decimal point goes after the exponent.
    let all: Vec<u8> = whole
        .bytes()
        .chain(frac.bytes())
        .map(|c| c - b'0')
        .collect();
    let point = i64::try_from(whole.len()).map_err(|_| bad())? + i64::from(exp);
    // Units of 1/10 000: the digits before point + 4, the next one rounds.
    let keep = point + 4;
    if keep > 19 + all.iter().take_while(|d| **d == 0).count() as i64 {
        return Err(format!("{} is too large for a price", Json::excerpt(text)));
    }
    let mut units: i128 = 0;
    for i in 0..keep.max(0) {
        let d = usize::try_from(i).ok().and_then(|i| all.get(i)).copied();
        units = units * 10 + i128::from(d.unwrap_or(0));
    }
    let next = usize::try_from(keep).ok().and_then(|i| all.get(i)).copied();
    if keep >= 0 && next.is_some_and(|d| d >= 5) {
        units += 1;
    }
    let units = i64::try_from(units).map_err(|_| format!("{text} is too large for a price"))?;
    Ok(Money(if negative { -units } else { units }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_documents_with_numbers_as_text() {
        let doc = r#"{"a": [1, -2.50, 3e2, "x\"\u00e9"], "b": {"c": null, "d": true}}"#;
        let json = Json::parse(doc).expect("parses");
        let a = json.get("a").expect("a");
        assert_eq!(a.at(1), Some(&Json::Num("-2.50".into())));
        assert_eq!(a.at(3).and_then(Json::str), Some("x\"é"));
        assert_eq!(
            json.get("b").and_then(|b| b.get("d")),
            Some(&Json::Bool(true))
        );
    }

    #[test]
    fn malformed_documents_are_errors_not_panics() {
        for bad in [
            "",
            "{",
            "[1,",
            "{\"a\" 1}",
            "tru",
            "\"\\u12\"",
            "[1]x",
            "{\"a\":}",
            "\"\\q\"",
        ] {
            assert!(Json::parse(bad).is_err(), "{bad:?} accepted");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(
            Json::parse(&deep)
                .expect_err("deep")
                .contains("nested too deeply")
        );
    }

    #[test]
    fn decimals_are_exact_and_round_half_away_from_zero() {
        let m = |s| decimal(s).map(|m| m.raw());
        assert_eq!(m("189.91000366210938"), Ok(1_899_100));
        assert_eq!(m("189.12345"), Ok(1_891_235));
        assert_eq!(m("189.12344999"), Ok(1_891_234));
        assert_eq!(m("-0.00005"), Ok(-1));
        assert_eq!(m("42"), Ok(420_000));
        assert_eq!(m("0"), Ok(0));
        assert_eq!(m("1.5e3"), Ok(15_000_000));
        assert_eq!(m("2.5E-4"), Ok(3));
        assert_eq!(m("1e-9"), Ok(0));
        assert_eq!(m("0.0000000000000000000000012"), Ok(0));
        assert_eq!(m("64250.12000000"), Ok(642_501_200));
        for bad in [
            "",
            "-",
            ".",
            "1.2.3",
            "abc",
            "1e",
            "1,5",
            "NaN",
            "1e99999999999",
        ] {
            assert!(decimal(bad).is_err(), "{bad:?} accepted");
        }
        assert!(decimal("1e30").is_err());
        assert!(decimal("99999999999999999999").is_err());
    }
}
