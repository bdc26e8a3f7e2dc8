//! The values of portfolios and competitions (protocol 1.2): a
//! portfolio's name, a competition's name, invitation code and rules.
//!
//! A competition's rules travel as one argument of `KEY=VALUE` words,
//! `name=` last and running to the end (a name may hold spaces):
//! `start=T end=T cash=M assets=all orders=market,limit short=yes
//! fractional=yes fees=master cap=none late=yes holdings=end resets=no
//! public=no name=Spring cup`. [`GameRules::parse`] reads it (every key
//! but `start`, `end` and `name` may be left out for its default) and
//! `Display` writes every key, so parsing what it wrote gives it back.

use std::fmt;

use super::{Money, ORDER_TYPES, Reason, ReasonCode, Symbol, Timestamp, ValueError};

/// Most symbols a competition's allow-list may name.
pub const MAX_GAME_ASSETS: usize = 1_000;

/// Longest competition name, in characters.
pub const MAX_GAME_NAME: usize = 64;

/// The last second a competition's times may name: 9999-12-31T23:59:59Z
/// (what every client can print as a date).
pub const LAST_TIME: i64 = 253_402_300_799;

/// Most starting cash a portfolio or a competition may have: a billion.
pub const MAX_START_CASH: Money = Money(1_000_000_000 * super::SCALE);

text_value!(
    /// 1-32 of `A-Z a-z 0-9 _ . -`: what its owner calls a portfolio.
    /// 1-32 of `A-Z a-z 0-9 _ . -`, not digits alone (which would read as
    /// a portfolio's number).
    PortfolioName,
    "portfolio name",
    "1-32 characters of A-Z a-z 0-9 _ . -, not digits alone",
    |s| {
        (1..=32).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            && !s.bytes().all(|b| b.is_ascii_digit())
    }
);

/// The alphabet of invitation codes: RFC 4648 base32 (no 0, 1, 8, 9).
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Characters in an invitation code (60 random bits).
pub const CODE_LEN: usize = 12;

text_value!(
    /// 12 characters of `A-Z 2-7`: a competition's invitation code.
    GameCode,
    "code",
    "12 characters of A-Z 2-7",
    |s| s.len() == CODE_LEN && s.bytes().all(|b| CODE_ALPHABET.contains(&b))
);

impl GameCode {
    /// A code from random bytes (the first 60 bits are used).
    pub fn from_bytes(bytes: [u8; 8]) -> GameCode {
        let mut bits = u64::from_be_bytes(bytes);
        let mut code = String::with_capacity(CODE_LEN);
        for _ in 0..CODE_LEN {
            code.push(CODE_ALPHABET[(bits >> 59) as usize] as char);
            bits <<= 5;
        }
        GameCode(code)
    }

    /// A code as typed: upper-cased first, so `abcd…` works too.
    pub fn parse_typed(text: &str) -> Result<GameCode, ValueError> {
        GameCode::parse(&text.to_ascii_uppercase())
    }
}

/// A portfolio or competition number: 1 to 2^53 (what a browser's
/// number holds), digits only.
pub fn parse_id(what: &'static str, text: &str) -> Result<u64, ValueError> {
    super::decimal::<u64>(text, 16)
        .filter(|n| (1..=1 << 53).contains(n))
        .ok_or_else(|| ValueError::new(what, text, "a number from 1 (digits only)"))
}

/// Whether other players see a player's holdings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// Only the player.
    Never,
    /// Everyone, once the competition has ended.
    AfterEnd,
    /// Everyone, all the time.
    Always,
}

impl Visibility {
    /// The wire word: `never`, `end` or `always`.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Never => "never",
            Visibility::AfterEnd => "end",
            Visibility::Always => "always",
        }
    }

    fn parse(word: &str) -> Option<Visibility> {
        [Visibility::Never, Visibility::AfterEnd, Visibility::Always]
            .into_iter()
            .find(|v| v.as_str() == word)
    }
}

/// What a competition's fills cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GameFees {
    /// The master's fees model (`commission`, `slippage_bp`...).
    Master,
    /// No commission and no slippage.
    None,
}

impl GameFees {
    /// The wire word: `master` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            GameFees::Master => "master",
            GameFees::None => "none",
        }
    }
}

/// A set of order types (the `orderType` words of `placeOrder`), one bit
/// each in [`ORDER_TYPES`]' order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderTypes(u8);

impl OrderTypes {
    /// Every order type.
    pub const ALL: OrderTypes = OrderTypes((1 << ORDER_TYPES.len()) - 1);

    /// Whether `word` (an `orderType` word) is in the set.
    pub fn allows(self, word: &str) -> bool {
        ORDER_TYPES
            .iter()
            .position(|t| *t == word)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }

    fn parse(text: &str) -> Option<OrderTypes> {
        let mut bits = 0u8;
        for word in text.split(',') {
            let i = ORDER_TYPES.iter().position(|t| *t == word)?;
            bits |= 1 << i;
        }
        // A competition without market orders would still allow limits;
        // one without any order is no competition.
        (bits != 0).then_some(OrderTypes(bits))
    }
}

impl fmt::Display for OrderTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = ORDER_TYPES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, t)| *t)
            .collect();
        f.write_str(&words.join(","))
    }
}

/// A competition's rules, as its organiser set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameRules {
    /// What it is called: 1 to [`MAX_GAME_NAME`] characters, no control
    /// characters, not blank.
    pub name: String,
    /// Trading opens.
    pub start: Timestamp,
    /// Trading closes; the standings freeze.
    pub end: Timestamp,
    /// Each player's starting cash.
    pub cash: Money,
    /// The only assets players may trade; `None`: every listed asset.
    pub assets: Option<Vec<Symbol>>,
    /// The order types players may place.
    pub orders: OrderTypes,
    /// Whether a sale may go beyond the shares held.
    pub short: bool,
    /// Whether quantities may have fractions.
    pub fractional: bool,
    /// What fills cost.
    pub fees: GameFees,
    /// Most of a player's equity one position may be worth when an order
    /// that grows it arrives, in percent (1-100); `None`: no cap.
    pub cap: Option<u32>,
    /// Whether players may join after the start.
    pub late: bool,
    /// Who sees a player's holdings.
    pub holdings: Visibility,
    /// Whether players may reset their portfolio to the starting cash.
    pub resets: bool,
    /// Whether the competition is in the public list (anyone may join by
    /// its number).
    pub public: bool,
}

/// Default starting cash of a competition: 100 000.
pub const DEFAULT_GAME_CASH: Money = Money(100_000 * super::SCALE);

impl GameRules {
    /// Rules with every default: all assets and order types, shorts and
    /// fractions on, the master's fees, no cap, late joining, holdings
    /// shown after the end, no resets, not public.
    pub fn new(name: &str, start: Timestamp, end: Timestamp) -> GameRules {
        GameRules {
            name: name.to_string(),
            start,
            end,
            cash: DEFAULT_GAME_CASH,
            assets: None,
            orders: OrderTypes::ALL,
            short: true,
            fractional: true,
            fees: GameFees::Master,
            cap: None,
            late: true,
            holdings: Visibility::AfterEnd,
            resets: false,
            public: false,
        }
    }

    /// Reads the `KEY=VALUE` words of a `rules` argument; a refusal is
    /// `bad-arguments` naming the word.
    pub fn parse(text: &str) -> Result<GameRules, Reason> {
        let (words, name) = match text.find("name=") {
            Some(at) if at == 0 || text[..at].ends_with(' ') => (&text[..at], &text[at + 5..]),
            _ => return Err(bad("rules need name=NAME, last")),
        };
        let mut rules = GameRules::new(name, Timestamp(0), Timestamp(0));
        check_name(name)?;
        let (mut start, mut end) = (None, None);
        let mut seen: Vec<&str> = Vec::new();
        for word in words.split(' ').filter(|w| !w.is_empty()) {
            let Some((key, value)) = word.split_once('=') else {
                return Err(bad(&format!("rule {}: expected KEY=VALUE", quoted(word))));
            };
            if seen.contains(&key) {
                return Err(bad(&format!("rule {} is given twice", quoted(key))));
            }
            seen.push(key);
            let wrong = |expected: &str| {
                bad(&format!(
                    "rule {key}={}: expected {expected}",
                    quoted(value)
                ))
            };
            match key {
                "start" | "end" => {
                    let time = Timestamp::parse(value)
                        .ok()
                        .filter(|t| t.0 <= LAST_TIME)
                        .ok_or_else(|| wrong("Unix seconds before the year 10000"))?;
                    if key == "start" {
                        start = Some(time);
                    } else {
                        end = Some(time);
                    }
                }
                "cash" => {
                    let cash = Money::parse(value).map_err(|_| wrong("an amount"))?;
                    if cash.raw() <= 0 || cash > MAX_START_CASH {
                        return Err(wrong("an amount above 0, at most 1000000000"));
                    }
                    rules.cash = cash;
                }
                "assets" => rules.assets = parse_assets(value).map_err(|e| wrong(&e))?,
                "orders" => {
                    rules.orders = OrderTypes::parse(value)
                        .ok_or_else(|| wrong("order types separated by commas"))?
                }
                "short" => rules.short = yes_no(value).ok_or_else(|| wrong("yes or no"))?,
                "fractional" => {
                    rules.fractional = yes_no(value).ok_or_else(|| wrong("yes or no"))?
                }
                "late" => rules.late = yes_no(value).ok_or_else(|| wrong("yes or no"))?,
                "resets" => rules.resets = yes_no(value).ok_or_else(|| wrong("yes or no"))?,
                "public" => rules.public = yes_no(value).ok_or_else(|| wrong("yes or no"))?,
                "fees" => {
                    rules.fees = match value {
                        "master" => GameFees::Master,
                        "none" => GameFees::None,
                        _ => return Err(wrong("master or none")),
                    }
                }
                "cap" => {
                    rules.cap = match value {
                        "none" => None,
                        _ => Some(
                            super::decimal::<u32>(value, 3)
                                .filter(|p| (1..=100).contains(p))
                                .ok_or_else(|| wrong("a percent from 1 to 100, or none"))?,
                        ),
                    }
                }
                "holdings" => {
                    rules.holdings =
                        Visibility::parse(value).ok_or_else(|| wrong("never, end or always"))?
                }
                _ => return Err(bad(&format!("unknown rule {}", quoted(key)))),
            }
        }
        let (Some(start), Some(end)) = (start, end) else {
            return Err(bad("rules need start= and end= (Unix seconds)"));
        };
        if end <= start {
            return Err(bad("the end must come after the start"));
        }
        (rules.start, rules.end) = (start, end);
        Ok(rules)
    }

    /// Whether `symbol` may be traded.
    pub fn allows_asset(&self, symbol: &Symbol) -> bool {
        self.assets
            .as_ref()
            .is_none_or(|list| list.binary_search(symbol).is_ok())
    }
}

impl fmt::Display for GameRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yn = |b: bool| if b { "yes" } else { "no" };
        write!(
            f,
            "start={} end={} cash={} assets=",
            self.start, self.end, self.cash
        )?;
        match &self.assets {
            None => f.write_str("all")?,
            Some(list) => {
                for (i, symbol) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    f.write_str(symbol.as_str())?;
                }
            }
        }
        write!(
            f,
            " orders={} short={} fractional={} fees={} cap=",
            self.orders,
            yn(self.short),
            yn(self.fractional),
            self.fees.as_str()
        )?;
        match self.cap {
            Some(cap) => write!(f, "{cap}")?,
            None => f.write_str("none")?,
        }
        write!(
            f,
            " late={} holdings={} resets={} public={} name={}",
            yn(self.late),
            self.holdings.as_str(),
            yn(self.resets),
            yn(self.public),
            self.name
        )
    }
}

/// A competition name: 1 to [`MAX_GAME_NAME`] characters without control
/// characters, not all spaces.
pub fn check_name(name: &str) -> Result<(), Reason> {
    let ok = (1..=MAX_GAME_NAME).contains(&name.chars().count())
        && !name.chars().any(|c| c.is_control() || invisible(c))
        && name.trim() == name
        && !name.is_empty()
        && !name.chars().all(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        let text = format!(
            "name {}: expected 1-{MAX_GAME_NAME} characters, no control or invisible \
             characters, no space at either end, not digits alone",
            quoted(name)
        );
        Err(bad(&text))
    }
}

/// Characters that change how the text around them reads without being
/// seen: bidirectional controls, zero-width characters, the byte order
/// mark. A name holding one could pass for another, or reorder a page.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{00AD}'
    )
}

/// `all`, or up to [`MAX_GAME_ASSETS`] symbols separated by commas, kept
/// sorted and without repeats.
fn parse_assets(text: &str) -> Result<Option<Vec<Symbol>>, String> {
    if text == "all" {
        return Ok(None);
    }
    // Count before parsing: a list of a million words is refused without
    // a million allocations.
    if text.split(',').count() > MAX_GAME_ASSETS {
        return Err(format!("all, or at most {MAX_GAME_ASSETS} symbols"));
    }
    let mut list = Vec::new();
    for word in text.split(',') {
        list.push(Symbol::parse(word).map_err(|e| e.to_string())?);
    }
    list.sort();
    list.dedup();
    Ok(Some(list))
}

fn yes_no(word: &str) -> Option<bool> {
    match word {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

fn quoted(input: &str) -> String {
    format!("{:?}", super::shown(input))
}

fn bad(text: &str) -> Reason {
    Reason::new(ReasonCode::BadArguments, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "start=100 end=200 name=Spring cup";

    #[test]
    fn rules_round_trip_through_their_text() {
        let rules = GameRules::parse(BASE).expect("rules");
        assert_eq!(
            rules,
            GameRules::new("Spring cup", Timestamp(100), Timestamp(200))
        );
        let text = rules.to_string();
        assert_eq!(
            text,
            "start=100 end=200 cash=100000.0000 assets=all \
             orders=market,limit,stop,stop-limit,trailing-stop short=yes fractional=yes \
             fees=master cap=none late=yes holdings=end resets=no public=no name=Spring cup"
        );
        assert_eq!(GameRules::parse(&text).expect("again"), rules);
        let full = "cash=5000.5 assets=msft,AAPL,aapl orders=limit,market short=no \
                    fractional=no fees=none cap=25 late=no holdings=never resets=yes \
                    public=yes start=1 end=2 name=x  y";
        let rules = GameRules::parse(full).expect("full");
        assert_eq!(rules.name, "x  y", "spaces inside are kept");
        assert_eq!(rules.cash, Money(50_005_000));
        let list = rules.assets.as_ref().expect("a list");
        assert_eq!(list.len(), 2, "sorted and without repeats");
        assert!(rules.allows_asset(&Symbol::parse("MSFT").expect("symbol")));
        assert!(!rules.allows_asset(&Symbol::parse("TSLA").expect("symbol")));
        assert!(rules.orders.allows("limit") && !rules.orders.allows("stop"));
        assert_eq!(rules.cap, Some(25));
        assert_eq!(GameRules::parse(&rules.to_string()).expect("again"), rules);
    }

    #[test]
    fn bad_rules_are_refused_with_bad_arguments() {
        let many = vec!["A"; MAX_GAME_ASSETS + 1].join(",");
        let at_limit: Vec<String> = (0..MAX_GAME_ASSETS).map(|i| format!("S{i}")).collect();
        let ok = format!("assets={} {BASE}", at_limit.join(","));
        assert_eq!(
            GameRules::parse(&ok)
                .expect("at the limit")
                .assets
                .map(|a| a.len()),
            Some(MAX_GAME_ASSETS)
        );
        for bad in [
            "",
            "name=",
            "start=1 end=2",
            "start=1 end=2 name=   ",
            "start=2 end=2 name=x",
            "end=2 name=x",
            "start=1 end=2 start=1 name=x",
            "start=1 end=2 colour=red name=x",
            "start=1 end=2 cash=0 name=x",
            "start=1 end=2 cash=1000000000.0001 name=x",
            "start=1 end=2 cap=0 name=x",
            "start=1 end=2 cap=101 name=x",
            "start=1 end=2 short=maybe name=x",
            "start=1 end=2 orders= name=x",
            "start=1 end=2 orders=market,swap name=x",
            "start=1 end=2 assets= name=x",
            "start=1 end=2 assets=A,,B name=x",
            "start=1 end=2 holdings=later name=x",
            "start=1 end=2 fees=low name=x",
            "start=1 end=2 word name=x",
            "start=1 end=2 xname=x",
            "start=1 end=2 name=tab\there",
            "start=1 end=2 name=right\u{202E}left",
            "start=1 end=2 name=zero\u{200B}width",
            "start=1 end=2 name=trailing ",
            "start=1 end=2 name= leading",
            "start=1 end=2 name=2027",
            "start=1 end=253402300800 name=x",
            &format!("start=1 end=2 name={}", "x".repeat(MAX_GAME_NAME + 1)),
            &format!("assets={many} {BASE}"),
        ] {
            let err = GameRules::parse(bad).expect_err(bad);
            assert_eq!(err.code, ReasonCode::BadArguments, "{bad}: {err:?}");
        }
    }

    #[test]
    fn a_million_symbols_are_refused_before_any_is_read() {
        let million = vec!["AAPL"; 1_000_000].join(",");
        let err = GameRules::parse(&format!("assets={million} {BASE}")).expect_err("too many");
        assert_eq!(err.code, ReasonCode::BadArguments);
        assert!(err.text.contains("at most 1000 symbols"), "{}", err.text);
        assert!(err.text.len() < 200, "the reply quotes a bounded excerpt");
    }

    #[test]
    fn codes_and_names() {
        let code = GameCode::from_bytes([0xff; 8]);
        assert_eq!(code.as_str(), "777777777777");
        assert_eq!(GameCode::from_bytes([0; 8]).as_str(), "AAAAAAAAAAAA");
        assert!(GameCode::parse_typed("abcdefgh2345").is_ok());
        for bad in ["", "ABCDEFGH234", "ABCDEFGH23450", "ABCDEFGH2341"] {
            assert!(GameCode::parse(bad).is_err(), "{bad}");
        }
        assert!(PortfolioName::parse("bot-1.v2").is_ok());
        for bad in ["", "two words", &"x".repeat(33), "é", "2"] {
            assert!(PortfolioName::parse(bad).is_err(), "{bad}");
        }
        assert!(PortfolioName::parse("2b").is_ok());
        assert_eq!(parse_id("portfolioID", "1"), Ok(1));
        for bad in [
            "0",
            "-1",
            "",
            "1e3",
            "99999999999999999",
            "9007199254740993",
        ] {
            assert!(parse_id("portfolioID", bad).is_err(), "{bad}");
        }
    }
}
