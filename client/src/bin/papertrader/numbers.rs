//! How numbers read on a terminal and in JSON: money with separators and
//! its four digits, signed amounts, exact percentages, ISO times; and the
//! times people type (`parse_time`). Pure functions over the protocol's
//! integer values; no float.

use papertrader_common::value::{Date, Money, Shares, Timestamp};

/// Money with thousands separators and four fraction digits:
/// `1,895.0000`, `-12.5000`.
pub fn human_money(m: Money) -> String {
    let plain = m.to_string();
    let (sign, rest) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (whole, frac) = rest.split_once('.').unwrap_or((rest, "0000"));
    format!("{sign}{}.{frac}", group(whole))
}

/// Money with a sign always: `+22.5000`, `-3.0000`, `0.0000`.
pub fn signed_money(m: Money, separators: bool) -> String {
    let text = if separators {
        human_money(m)
    } else {
        m.to_string()
    };
    if m.raw() > 0 {
        format!("+{text}")
    } else {
        text
    }
}

/// A whole number with thousands separators: `53,200,000`.
pub fn human_number(n: u64) -> String {
    group(&n.to_string())
}

fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `part / whole` as a percentage with two decimals and a sign, exactly
/// rounded half away from zero: `+1.50`, `-0.25`; `None` when `whole` is 0.
pub fn percent(part: Money, whole: Money) -> Option<String> {
    if whole.raw() == 0 {
        return None;
    }
    let num = i128::from(part.raw()) * 10_000;
    let den = i128::from(whole.raw()).abs();
    let hundredths = (num + num.signum() * den / 2) / den;
    let sign = match hundredths.signum() {
        1 => "+",
        -1 => "-",
        _ => "",
    };
    let abs = hundredths.unsigned_abs();
    Some(format!("{sign}{}.{:02}", abs / 100, abs % 100))
}

/// A timestamp as ISO 8601 UTC: `2026-11-20T10:00:00Z`.
pub fn iso_time(ts: Timestamp) -> String {
    ts.iso()
}

/// The money as a JSON string with its four digits, to stay exact.
pub fn json_money(m: Money) -> serde_json::Value {
    serde_json::Value::String(m.to_string())
}

/// `price * quantity`, saturating (a display value; the server keeps the
/// exact books).
pub fn amount(price: Money, quantity: Shares) -> Money {
    price.times(quantity).unwrap_or(Money(i64::MAX))
}

/// A share count with thousands separators in its whole part:
/// `1,000`, `0.25`, `12,345.5`.
pub fn human_shares(n: Shares) -> String {
    let plain = n.to_string();
    let (sign, rest) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    match rest.split_once('.') {
        Some((whole, frac)) => format!("{sign}{}.{frac}", group(whole)),
        None => format!("{sign}{}", group(rest)),
    }
}

/// A share count as a JSON number written with its exact digits.
pub fn json_shares(n: Shares) -> serde_json::Value {
    let text = n.to_string();
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

/// What [`parse_time`] takes, for its error sentences.
pub const TIME_EXPECTED: &str = "Unix seconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM], \
                                 now, or +N with s, m, h or d (+90m)";

/// A time as typed: Unix seconds (`1799999999`), an ISO 8601 day
/// (`2027-01-05`, midnight UTC) or time (`2027-01-05T14:30:00Z`; UTC when
/// it names no zone, else `+02:00` or `-0500`), `now`, or `+N` seconds,
/// minutes, hours or days after `now` (`+90m`, `+30d`; `+N` alone is
/// seconds). `None` for anything else.
pub fn parse_time(text: &str, now: Timestamp) -> Option<Timestamp> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("now") {
        return Some(now);
    }
    if let Some(rest) = text.strip_prefix('+') {
        return relative(rest).and_then(|secs| now.0.checked_add(secs).map(Timestamp));
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Timestamp::parse(text).ok();
    }
    let (day, time) = match text.split_once(['T', 't']) {
        Some((day, time)) => (day, Some(time)),
        None => (text, None),
    };
    let midnight = Date::parse(day).ok()?.start().0;
    let Some(time) = time else {
        return Some(Timestamp(midnight));
    };
    let (clock, offset) = split_zone(time)?;
    let secs = clock_seconds(clock)?;
    Some(Timestamp(midnight + secs - offset))
}

/// `N[smhd]` in seconds.
fn relative(text: &str) -> Option<i64> {
    let (digits, unit) = match text.char_indices().last()? {
        // `M` could as well mean months: refused, not read as minutes.
        (_, 'M') => return None,
        (i, c) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 's'),
    };
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    let unit = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    Some(n * unit)
}

/// `14:30:00Z` into `14:30:00` and the zone's offset east of UTC in
/// seconds (none, `Z`: 0).
fn split_zone(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(at) = time.rfind(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, zone) = time.split_at(at);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let zone = &zone[1..];
    let (hours, minutes) = match zone.split_once(':') {
        Some((h, m)) => (h, m),
        None if zone.len() == 4 => zone.split_at(2),
        None if zone.len() == 2 => (zone, "00"),
        None => return None,
    };
    let hours = two_digits(hours).filter(|h| *h <= 23)?;
    let minutes = two_digits(minutes).filter(|m| *m <= 59)?;
    Some((clock, sign * (hours * 3_600 + minutes * 60)))
}

/// `HH:MM` or `HH:MM:SS` in seconds since midnight.
fn clock_seconds(clock: &str) -> Option<i64> {
    let mut parts = clock.split(':');
    let hours = two_digits(parts.next()?).filter(|h| *h <= 23)?;
    let minutes = two_digits(parts.next()?).filter(|m| *m <= 59)?;
    let seconds = match parts.next() {
        Some(s) => two_digits(s).filter(|s| *s <= 59)?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(hours * 3_600 + minutes * 60 + seconds)
}

fn two_digits(text: &str) -> Option<i64> {
    (text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_800_000_000);

    fn at(text: &str) -> Option<i64> {
        parse_time(text, NOW).map(|t| t.0)
    }

    #[test]
    fn times_as_people_type_them() {
        assert_eq!(at("1799999999"), Some(1_799_999_999));
        assert_eq!(at("0"), Some(0));
        assert_eq!(at("now"), Some(NOW.0));
        assert_eq!(at(" NOW "), Some(NOW.0));
        assert_eq!(at("+30"), Some(NOW.0 + 30));
        assert_eq!(at("+30s"), Some(NOW.0 + 30));
        assert_eq!(at("+90m"), Some(NOW.0 + 5_400));
        assert_eq!(at("+2h"), Some(NOW.0 + 7_200));
        assert_eq!(at("+30d"), Some(NOW.0 + 2_592_000));
        assert_eq!(at("+1D"), Some(NOW.0 + 86_400));
        assert_eq!(at("+6M"), None, "months or minutes?");
        assert_eq!(at("2024-11-21"), Some(1_732_147_200));
        assert_eq!(at("2024-11-21T10:01:01Z"), Some(1_732_183_261));
        assert_eq!(at("2024-11-21t10:01:01z"), Some(1_732_183_261));
        assert_eq!(
            at("2024-11-21T10:01"),
            Some(1_732_183_260),
            "UTC, no seconds"
        );
        assert_eq!(at("2024-11-21T12:01:01+02:00"), Some(1_732_183_261));
        assert_eq!(at("2024-11-21T05:01:01-0500"), Some(1_732_183_261));
        assert_eq!(at("2024-11-21T11:01:01+01"), Some(1_732_183_261));
        // What iso_time writes reads back.
        let shown = iso_time(Timestamp(1_732_183_261));
        assert_eq!(at(&shown), Some(1_732_183_261));
    }

    #[test]
    fn bad_times_are_refused() {
        for bad in [
            "",
            "soon",
            "+",
            "+d",
            "+5w",
            "+-5m",
            "+1234567890d",
            "-5m",
            "2024-02-30",
            "2024-11-21T",
            "2024-11-21T24:00:00Z",
            "2024-11-21T10:60Z",
            "2024-11-21T10:00:00:00Z",
            "2024-11-21T10:00:00+25:00",
            "2024-11-21T1:00Z",
            "2024-11-21 10:00",
            "1e9",
            "99999999999999999999",
        ] {
            assert_eq!(at(bad), None, "{bad:?}");
        }
    }
}
