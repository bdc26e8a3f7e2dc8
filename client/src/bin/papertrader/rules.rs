//! A competition's rules as `game create` and `game change` take them
//! (flags, times as people type them) and as `game show` prints them
//! (key/value lines, JSON). The flags become the `KEY=VALUE` words of the
//! protocol's rules text, which `GameRules::parse` reads: one parser, the
//! server's, decides what a rule is.

use papertrader_client::{GameRules, Visibility};
use papertrader_common::value::{
    MAX_GAME_ASSETS, MAX_START_CASH, Money, ORDER_TYPES, Symbol, Timestamp, ValueError,
    check_game_name,
};
use serde_json::{Value, json};

use crate::cli::{FeesArg, HoldingsArg, RuleFlags};
use crate::error::CliError;
use crate::numbers::{TIME_EXPECTED, iso_time, json_money, parse_time};
use crate::output::Output;

/// The words of the flags given, in the rules text's order.
type Words = Vec<(&'static str, String)>;

/// The rules of `game create NAME --start T --end T [flags]`, every rule
/// not given at its default.
pub fn create(
    name: &str,
    start: &str,
    end: &str,
    flags: &RuleFlags,
    now: Timestamp,
) -> Result<GameRules, CliError> {
    let mut words = vec![
        ("start", time("--start", start, now)?.to_string()),
        ("end", time("--end", end, now)?.to_string()),
    ];
    words.extend(flag_words(flags)?);
    build(&words, name)
}

/// The rules of `game change`: `base` with what was given changed.
/// Nothing given is a usage error.
pub fn change(
    base: &GameRules,
    name: Option<&str>,
    start: Option<&str>,
    end: Option<&str>,
    flags: &RuleFlags,
    now: Timestamp,
) -> Result<GameRules, CliError> {
    let mut given = Words::new();
    if let Some(start) = start {
        given.push(("start", time("--start", start, now)?.to_string()));
    }
    if let Some(end) = end {
        given.push(("end", time("--end", end, now)?.to_string()));
    }
    given.extend(flag_words(flags)?);
    if given.is_empty() && name.is_none() {
        return Err(CliError::usage(
            "nothing to change: give --name, --start, --end or a rule (see papertrader game \
             change --help)",
        ));
    }
    // The canonical text names every key once, `name=` last.
    let text = base.to_string();
    let head = text
        .split_once(" name=")
        .map_or(text.as_str(), |(head, _)| head);
    let mut words: Vec<(String, String)> = head
        .split(' ')
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (key, value) in given {
        match words.iter_mut().find(|(k, _)| k == key) {
            Some(word) => word.1 = value,
            None => words.push((key.to_string(), value)),
        }
    }
    let words: Vec<(&str, String)> = words.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    build(&words, name.unwrap_or(&base.name))
}

/// Parses the rules text of `words` and `name` as the server will.
fn build(words: &[(&str, String)], name: &str) -> Result<GameRules, CliError> {
    check_game_name(name).map_err(|_| {
        let expected = "1-64 characters without control characters, not blank";
        CliError::data(ValueError::new("competition name", name, expected).to_string())
    })?;
    let mut text = String::new();
    for (key, value) in words {
        text.push_str(&format!("{key}={value} "));
    }
    text.push_str("name=");
    text.push_str(name);
    GameRules::parse(&text).map_err(|reason| CliError::data(reason.text))
}

/// A time flag, or exit 65 naming it.
fn time(flag: &'static str, text: &str, now: Timestamp) -> Result<Timestamp, CliError> {
    parse_time(text, now)
        .ok_or_else(|| CliError::data(ValueError::new(flag, text, TIME_EXPECTED).to_string()))
}

/// The `KEY=VALUE` words of the rule flags given, each checked.
fn flag_words(f: &RuleFlags) -> Result<Words, CliError> {
    let mut words = Words::new();
    if let Some(cash) = &f.cash {
        words.push(("cash", start_cash(cash)?.to_string()));
    }
    if let Some(assets) = &f.assets {
        words.push(("assets", asset_list(assets)?));
    }
    if let Some(orders) = &f.orders {
        words.push(("orders", order_types(orders)?));
    }
    let switches = [
        ("short", f.short, f.no_short),
        ("fractional", f.fractional, f.no_fractional),
    ];
    push_switches(&mut words, &switches);
    if let Some(fees) = f.fees {
        let word = match fees {
            FeesArg::Master => "master",
            FeesArg::None => "none",
        };
        words.push(("fees", word.to_string()));
    }
    if let Some(cap) = &f.cap {
        words.push(("cap", cap_percent(cap)?));
    }
    push_switches(&mut words, &[("late", f.late, f.no_late)]);
    if let Some(holdings) = f.holdings {
        let visibility = match holdings {
            HoldingsArg::Never => Visibility::Never,
            HoldingsArg::End => Visibility::AfterEnd,
            HoldingsArg::Always => Visibility::Always,
        };
        words.push(("holdings", visibility.as_str().to_string()));
    }
    let switches = [
        ("resets", f.resets, f.no_resets),
        ("public", f.public, f.private),
    ];
    push_switches(&mut words, &switches);
    Ok(words)
}

/// `key=yes` for a switch on, `key=no` for its opposite (clap lets only
/// one of a pair through).
fn push_switches(words: &mut Words, switches: &[(&'static str, bool, bool)]) {
    for &(key, on, off) in switches {
        if on || off {
            words.push((key, if on { "yes" } else { "no" }.to_string()));
        }
    }
}

/// `--cash`: above 0, at most a billion.
pub fn start_cash(text: &str) -> Result<Money, CliError> {
    match Money::parse(text.trim()) {
        Ok(cash) if cash.raw() > 0 && cash <= MAX_START_CASH => Ok(cash),
        _ => {
            let expected = "an amount above 0, at most 1000000000, with at most 4 decimals";
            Err(CliError::data(
                ValueError::new("--cash", text, expected).to_string(),
            ))
        }
    }
}

/// `--assets`: `all`, or symbols separated by commas (spaces after them
/// are fine), upper-cased.
fn asset_list(text: &str) -> Result<String, CliError> {
    if text.trim().eq_ignore_ascii_case("all") {
        return Ok("all".to_string());
    }
    let pieces: Vec<&str> = text.split(',').map(str::trim).collect();
    if pieces.len() > MAX_GAME_ASSETS {
        return Err(CliError::data(format!(
            "--assets names {} symbols: a competition allows at most {MAX_GAME_ASSETS}",
            pieces.len()
        )));
    }
    let mut symbols = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let symbol = Symbol::parse(piece).map_err(|err| {
            CliError::data(format!(
                "--assets: {err} (symbols separated by commas, or all)"
            ))
        })?;
        symbols.push(symbol.as_str().to_string());
    }
    Ok(symbols.join(","))
}

/// `--orders`: order types separated by commas, in any case.
fn order_types(text: &str) -> Result<String, CliError> {
    let mut types = Vec::new();
    for piece in text.split(',').map(|p| p.trim().to_ascii_lowercase()) {
        if !ORDER_TYPES.contains(&piece.as_str()) {
            let expected = "order types separated by commas: market, limit, stop, stop-limit, \
                            trailing-stop";
            return Err(CliError::data(
                ValueError::new("--orders", text, expected).to_string(),
            ));
        }
        if !types.contains(&piece) {
            types.push(piece);
        }
    }
    Ok(types.join(","))
}

/// `--cap`: a percent from 1 to 100 (`25` or `25%`), or `none`.
fn cap_percent(text: &str) -> Result<String, CliError> {
    let word = text.trim();
    if word.eq_ignore_ascii_case("none") {
        return Ok("none".to_string());
    }
    let digits = word.strip_suffix('%').unwrap_or(word);
    match digits.parse::<u32>() {
        Ok(pct) if (1..=100).contains(&pct) && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(pct.to_string())
        }
        _ => Err(CliError::data(
            ValueError::new(
                "--cap",
                text,
                "a percent from 1 to 100 (25 or 25%), or none",
            )
            .to_string(),
        )),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The rules as `key value` pairs for people, in the rules text's order.
pub fn pairs(out: &Output, rules: &GameRules) -> Vec<(&'static str, String)> {
    let assets = rules.assets.as_ref().map_or("all".to_string(), |list| {
        list.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    });
    vec![
        ("start", iso_time(rules.start)),
        ("end", iso_time(rules.end)),
        ("cash", out.money(rules.cash)),
        ("assets", assets),
        ("orders", rules.orders.to_string().replace(',', ", ")),
        ("short", yes_no(rules.short).to_string()),
        ("fractional", yes_no(rules.fractional).to_string()),
        ("fees", rules.fees.as_str().to_string()),
        (
            "cap",
            rules.cap.map_or("none".to_string(), |c| format!("{c}%")),
        ),
        ("late", yes_no(rules.late).to_string()),
        ("holdings", rules.holdings.as_str().to_string()),
        ("resets", yes_no(rules.resets).to_string()),
        ("public", yes_no(rules.public).to_string()),
    ]
}

/// The rules as JSON members: times in Unix seconds, money as strings
/// with four decimals, switches as booleans.
pub fn json(rules: &GameRules) -> serde_json::Map<String, Value> {
    let assets = rules.assets.as_ref().map_or(Value::Null, |list| {
        list.iter().map(|s| Value::from(s.as_str())).collect()
    });
    let orders: Vec<Value> = ORDER_TYPES
        .iter()
        .filter(|t| rules.orders.allows(t))
        .map(|t| Value::from(*t))
        .collect();
    let value = json!({
        "name": rules.name,
        "start": rules.start.0,
        "end": rules.end.0,
        "cash": json_money(rules.cash),
        "assets": assets,
        "orders": orders,
        "short": rules.short,
        "fractional": rules.fractional,
        "fees": rules.fees.as_str(),
        "cap": rules.cap,
        "late": rules.late,
        "holdings": rules.holdings.as_str(),
        "resets": rules.resets,
        "public": rules.public,
    });
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use papertrader_client::GameFees;

    const NOW: Timestamp = Timestamp(1_800_000_000);

    fn flags() -> RuleFlags {
        RuleFlags::default()
    }

    #[test]
    fn create_takes_defaults_and_flags() {
        let rules = create("Spring cup", "now", "+30d", &flags(), NOW).expect("rules");
        assert_eq!(rules.name, "Spring cup");
        assert_eq!(
            (rules.start, rules.end),
            (NOW, Timestamp(NOW.0 + 30 * 86_400))
        );
        assert_eq!(rules, GameRules::new("Spring cup", rules.start, rules.end));
        let all = RuleFlags {
            cash: Some("5000.5".into()),
            assets: Some("msft, aapl".into()),
            orders: Some("Limit,market,limit".into()),
            no_short: true,
            no_fractional: true,
            fees: Some(FeesArg::None),
            cap: Some("25%".into()),
            no_late: true,
            holdings: Some(HoldingsArg::Always),
            resets: true,
            public: true,
            ..flags()
        };
        let rules = create("x", "2027-01-05", "2027-02-05T00:00:00Z", &all, NOW).expect("all");
        assert_eq!(
            rules.to_string(),
            "start=1799107200 end=1801785600 cash=5000.5000 assets=AAPL,MSFT \
             orders=market,limit short=no fractional=no fees=none cap=25 late=no \
             holdings=always resets=yes public=yes name=x"
        );
        let json = json(&rules);
        assert_eq!(json["assets"], json!(["AAPL", "MSFT"]));
        assert_eq!(json["orders"], json!(["market", "limit"]));
        assert_eq!(json["cash"], json!("5000.5000"));
        assert_eq!(json["cap"], json!(25));
        assert_eq!(json["start"], json!(1_799_107_200));
    }

    #[test]
    fn bad_flags_exit_65_naming_the_flag() {
        let bad = |f: RuleFlags| create("x", "now", "+1d", &f, NOW).expect_err("refused");
        for (f, word) in [
            (
                RuleFlags {
                    cash: Some("0".into()),
                    ..flags()
                },
                "--cash",
            ),
            (
                RuleFlags {
                    cash: Some("1000000000.0001".into()),
                    ..flags()
                },
                "--cash",
            ),
            (
                RuleFlags {
                    assets: Some("AAPL,,MSFT".into()),
                    ..flags()
                },
                "--assets",
            ),
            (
                RuleFlags {
                    orders: Some("market,swap".into()),
                    ..flags()
                },
                "--orders",
            ),
            (
                RuleFlags {
                    cap: Some("0".into()),
                    ..flags()
                },
                "--cap",
            ),
            (
                RuleFlags {
                    cap: Some("101%".into()),
                    ..flags()
                },
                "--cap",
            ),
            (
                RuleFlags {
                    cap: Some("+5".into()),
                    ..flags()
                },
                "--cap",
            ),
        ] {
            let err = bad(f);
            assert_eq!(err.status, 65, "{err:?}");
            assert!(err.message.starts_with(word), "{}", err.message);
        }
        let many = vec!["A"; MAX_GAME_ASSETS + 1].join(",");
        let err = bad(RuleFlags {
            assets: Some(many),
            ..flags()
        });
        assert!(err.message.contains("at most 1000"), "{}", err.message);
        let err = create("x", "soon", "+1d", &flags(), NOW).expect_err("time");
        assert!(
            err.message.starts_with("--start \"soon\""),
            "{}",
            err.message
        );
        let err = create("x", "+2d", "+1d", &flags(), NOW).expect_err("order");
        assert_eq!(
            (err.status, err.message.as_str()),
            (65, "the end must come after the start")
        );
        for name in ["", "   ", "tab\there", &"x".repeat(65)] {
            let err = create(name, "now", "+1d", &flags(), NOW).expect_err(name);
            assert!(
                err.message.starts_with("competition name"),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn change_keeps_what_is_not_given() {
        let mut base = GameRules::new("Old name", Timestamp(100), Timestamp(200));
        base.fees = GameFees::None;
        base.cap = Some(10);
        let f = RuleFlags {
            short: false,
            no_short: true,
            cap: Some("none".into()),
            ..flags()
        };
        let rules = change(&base, None, None, Some("300"), &f, NOW).expect("changed");
        assert_eq!(rules.name, "Old name");
        assert_eq!((rules.start.0, rules.end.0), (100, 300));
        assert!(!rules.short && rules.cap.is_none());
        assert_eq!(rules.fees, GameFees::None, "kept");
        let renamed = change(&base, Some("New name"), None, None, &flags(), NOW).expect("name");
        assert_eq!(renamed.name, "New name");
        assert_eq!(renamed.cap, Some(10));
        let err = change(&base, None, None, None, &flags(), NOW).expect_err("nothing");
        assert_eq!(err.status, 64);
        let back = RuleFlags {
            short: true,
            ..flags()
        };
        assert!(
            change(&rules, None, None, None, &back, NOW)
                .expect("back")
                .short
        );
    }

    #[test]
    fn rules_for_people() {
        let mut rules = GameRules::new("x", Timestamp(1_732_147_200), Timestamp(1_732_183_261));
        rules.cap = Some(25);
        let pairs = pairs(&Output::plain(), &rules);
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("start"), Some("2024-11-21T00:00:00Z"));
        assert_eq!(get("cash"), Some("100000.0000"));
        assert_eq!(get("assets"), Some("all"));
        assert_eq!(get("cap"), Some("25%"));
        assert_eq!(
            get("orders"),
            Some("market, limit, stop, stop-limit, trailing-stop")
        );
    }
}
