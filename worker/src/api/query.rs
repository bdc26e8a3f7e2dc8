//! Query strings and the values bots put in them: percent-decoding,
//! Python's `True`/`False`, RFC 3339 times or bare dates, bounded
//! numbers. Every refusal is a sentence naming the parameter.

use papertrader_common::value::{Date, Timestamp, shown};

/// Most parameters a query may hold.
const MAX_PARAMS: usize = 32;

/// The decoded `name=value` pairs of a query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Decodes `text` (without its `?`); `Err` for bad escapes, non-UTF-8,
    /// a parameter given twice, or too many.
    pub fn parse(text: &str) -> Result<Query, String> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in text.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let (name, value) = (decode(name)?, decode(value)?);
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(format!("parameter {} is given twice", shown(&name)));
            }
            if pairs.len() == MAX_PARAMS {
                return Err(format!("more than {MAX_PARAMS} parameters"));
            }
            pairs.push((name, value));
        }
        Ok(Query(pairs))
    }

    /// The value of `name`, if given and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// `name` as a boolean (`true`, `True`, `1`; `false`, `False`, `0`).
    pub fn flag(&self, name: &str) -> Result<Option<bool>, String> {
        self.get(name)
            .map(|v| match v {
                "true" | "True" | "TRUE" | "1" => Ok(true),
                "false" | "False" | "FALSE" | "0" => Ok(false),
                _ => Err(format!("{name} must be true or false, not {}", shown(v))),
            })
            .transpose()
    }

    /// `name` as a whole number from `min` to `max`.
    pub fn number(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, String> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>()
                    .ok()
                    .filter(|n| (min..=max).contains(n) && v.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| format!("{name} must be a whole number from {min} to {max}"))
            })
            .transpose()
    }

    /// `name` as a time (RFC 3339, or a date meaning its 00:00 UTC).
    pub fn time(&self, name: &str) -> Result<Option<Timestamp>, String> {
        self.get(name)
            .map(|v| {
                parse_time(v).ok_or_else(|| {
                    format!(
                        "Invalid format for parameter {name}: {} is not RFC3339 or 2006-01-02",
                        shown(v)
                    )
                })
            })
            .transpose()
    }

    /// `name` as a date (`YYYY-MM-DD`, or the day of an RFC 3339 time).
    pub fn date(&self, name: &str) -> Result<Option<Date>, String> {
        self.get(name)
            .map(|v| {
                v.get(..10)
                    .and_then(|d| Date::parse(d).ok())
                    .filter(|_| v.len() == 10 || parse_time(v).is_some())
                    .ok_or_else(|| {
                        format!(
                            "Invalid format for parameter {name}: {} is not a date",
                            shown(v)
                        )
                    })
            })
            .transpose()
    }

    /// `name` as a comma-separated list (empty when not given).
    pub fn list(&self, name: &str) -> Vec<&str> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Percent-decoding (`+` is a space), as UTF-8.
pub fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| "a bad %-escape in the query".to_string())?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "the query is not UTF-8".to_string())
}

/// `YYYY-MM-DD` (00:00 UTC) or `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let date = Date::parse(text.get(..10)?).ok()?;
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(date.start());
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let two = |s: &str| -> Option<i64> {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let (h, m, s) = (
        two(rest.get(0..2)?)?,
        two(rest.get(3..5)?)?,
        two(rest.get(6..8)?)?,
    );
    if rest.get(2..3)? != ":" || rest.get(5..6)? != ":" || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let mut zone = &rest[8..];
    if let Some(frac) = zone.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        zone = &frac[digits..];
    }
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let (oh, om) = (two(zone.get(1..3)?)?, two(zone.get(4..6)?)?);
            if zone.len() != 6 || zone.get(3..4)? != ":" || oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(Timestamp(date.start().0 + h * 3600 + m * 60 + s - offset))
}

/// `ts` as RFC 3339 UTC with a `Z`: `2026-11-20T10:00:00Z`.
pub fn rfc3339(ts: Timestamp) -> String {
    ts.iso()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_and_refuse() {
        let q = Query::parse(
            "status=all&symbols=AAPL%2CMSFT&nested=True&after=2024-01-01T00%3A00%3A00%2B00%3A00&x=",
        )
        .expect("query");
        assert_eq!(q.get("status"), Some("all"));
        assert_eq!(q.list("symbols"), ["AAPL", "MSFT"]);
        assert_eq!(q.flag("nested"), Ok(Some(true)));
        assert_eq!(q.get("x"), None, "empty is not given");
        assert_eq!(q.time("after"), Ok(Some(Timestamp(1_704_067_200))));
        assert!(Query::parse("a=1&a=2").is_err());
        assert!(Query::parse("a=%zz").is_err());
        assert!(Query::parse("a=%ff").is_err(), "not UTF-8");
        assert!(Query::parse("a=1&").is_ok());
        let many: String = (0..40).map(|i| format!("p{i}=1&")).collect();
        assert!(Query::parse(&many).is_err());
        let q = Query::parse("limit=501&flag=maybe").expect("query");
        assert!(q.number("limit", 1, 500).is_err());
        assert!(q.flag("flag").is_err());
    }

    #[test]
    fn times_in_every_shape_bots_send() {
        let t = Timestamp(1_704_067_200);
        for text in [
            "2024-01-01",
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00.000Z",
            "2024-01-01T00:00:00+00:00",
            "2023-12-31T19:00:00-05:00",
            "2024-01-01T00:00:00.123456789Z",
        ] {
            assert_eq!(parse_time(text), Some(t), "{text}");
        }
        for bad in [
            "",
            "2024-13-01",
            "2024-01-01T25:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00Z",
            "2024-01-01T00:00:00+0000",
            "2024-01-01T00:00:00.Z",
            "yesterday",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(rfc3339(Timestamp(1_732_147_200)), "2024-11-21T00:00:00Z");
    }
}
