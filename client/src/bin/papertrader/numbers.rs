//! How numbers read on a terminal and in JSON: money with separators and
//! its four digits, signed amounts, exact percentages, ISO times. Pure
//! functions over the protocol's integer values; no float.

use papertrader_common::value::{Money, Shares, Timestamp};

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
