//! Tests of the payload lines: golden lines from PROTOCOL.md and
//! `papertrader-protocol(7)`, round trips of any value, and bad input.

use proptest::prelude::*;

use super::*;
use crate::request::Side;
use crate::value::OrderClass;
use crate::value::{
    Date, Email, Money, OrderKind, OrderStatus, Percent, Quantity, SHARE_SCALE, Shares, Symbol,
    Tif, Timestamp, Trail, Username,
};

fn sym(text: &str) -> Symbol {
    Symbol::parse(text).expect("symbol")
}

fn bar() -> Bar {
    Bar {
        time: Timestamp(1_732_147_200),
        open: Money(1_895_000),
        high: Money(1_912_500),
        low: Money(1_880_000),
        close: Money(1_907_500),
        volume: 53_200_000,
    }
}

fn quote() -> Quote {
    Quote {
        symbol: sym("AAPL"),
        price: Money(1_895_000),
        time: Timestamp(1_732_147_205),
        open: Money(1_880_000),
        high: Money(1_912_500),
        low: Money(1_875_000),
        volume: 53_200_000,
    }
}

fn alice() -> UserInfo {
    UserInfo {
        username: Username::parse("alice").expect("username"),
        created: Timestamp(1_732_147_200),
        private: Some(PrivateInfo {
            email: Some(Email::parse("alice@example.com").expect("email")),
            cash: Money(994_315_000),
            equity: Money(999_991_000),
        }),
    }
}

/// `line` through `T::parse` and back through `write`.
fn again<T: Line>(line: &str) -> String {
    T::parse(line.trim_end_matches('\n'))
        .unwrap_or_else(|e| panic!("{e}"))
        .to_line()
}

fn error<T: Line + std::fmt::Debug>(line: &str) -> String {
    T::parse(line).expect_err(line).to_string()
}

// Golden lines.

#[test]
fn bar_line_of_the_data_vector() {
    // PROTOCOL.md section 10, frame `data 1/2`.
    let line = "1732147200 189.5000 191.2500 188.0000 190.7500 53200000\n";
    assert_eq!(bar().to_line(), line);
    assert_eq!(Bar::parse(line.trim_end()), Ok(bar()));
    assert_eq!(
        write_lines(&[bar(), bar()]),
        [line, line].concat(),
        "one line per bar"
    );
    assert_eq!(write_lines::<Bar>(&[]), "", "no bar, empty payload");
}

#[test]
fn quote_line() {
    let line = "AAPL 189.5000 1732147205 188.0000 191.2500 187.5000 53200000\n";
    assert_eq!(quote().to_line(), line);
    assert_eq!(Quote::parse(line.trim_end()), Ok(quote()));
}

#[test]
fn current_and_info_lines_of_a_quote() {
    // papertrader-protocol(7), EXAMPLES.
    let current = Current {
        symbol: sym("AAPL"),
        price: Money(1_907_500),
        time: Timestamp(1_732_233_600),
    };
    assert_eq!(current.to_line(), "AAPL 190.7500 1732233600\n");
    assert_eq!(quote().current_line(), "AAPL 189.5000 1732147205\n");
    assert_eq!(
        quote().info_line(),
        "AAPL 188.0000 191.2500 187.5000 189.5000 53200000 1732147205\n"
    );
    assert_eq!(
        parse_one::<Current>("AAPL 190.7500 1732233600\n"),
        Ok(current)
    );
    assert_eq!(
        parse_one::<Info>("AAPL 188.0000 191.2500 187.5000 189.5000 53200000 1732147205"),
        Ok(quote().info())
    );
}

#[test]
fn asset_lines_keep_spaces_in_names() {
    let payload = "AAPL Apple Inc.\nMSFT Microsoft Corporation\n";
    let assets: Vec<Asset> = parse_lines(payload).expect("assets");
    assert_eq!(assets[1].symbol, sym("MSFT"));
    assert_eq!(assets[1].name, "Microsoft Corporation");
    assert_eq!(write_lines(&assets), payload);
}

#[test]
fn position_lines_private_and_public() {
    // papertrader-protocol(7), getUserPortfolio.
    let private = "AAPL 3 189.5000 189.2000 567.6000\n";
    let position = Position::parse(private.trim_end()).expect("private");
    assert_eq!(
        position.valuation,
        Some(Valuation {
            avg_cost: Money(1_895_000),
            price: Money(1_892_000),
            value: Money(5_676_000),
        })
    );
    assert_eq!(position.to_line(), private);
    let public = Position {
        valuation: None,
        ..position
    };
    assert_eq!(public.to_line(), "AAPL 3\n");
    assert_eq!(Position::parse("AAPL 3"), Ok(public));
}

#[test]
fn transaction_lines() {
    // papertrader-protocol(7), getUserTransactionHistory and EXAMPLES.
    for line in [
        "1 1732147200 buy AAPL 3 189.5000\n",
        "17 1732233660 sell AAPL 3 190.8000\n",
        "18 1732233700 reset - 0 100000.0000\n",
    ] {
        assert_eq!(again::<Trade>(line), line);
    }
    let trade = Trade::parse("1 1732147200 buy AAPL 3 189.5000").expect("trade");
    assert_eq!((trade.txid, trade.side), (1, TradeSide::Buy));
}

#[test]
fn user_info_private_and_public() {
    // papertrader-protocol(7), getUserInfo.
    let private = "username alice\nemail alice@example.com\ncreated 1732147200\n\
                   cash 99431.5000\nequity 99999.1000\n";
    let mut out = String::new();
    alice().write(&mut out);
    assert_eq!(out, private);
    assert_eq!(UserInfo::parse(private), Ok(alice()));
    let public = UserInfo {
        private: None,
        ..alice()
    };
    let mut out = String::new();
    public.write(&mut out);
    assert_eq!(out, "username alice\ncreated 1732147200\n");
    assert_eq!(UserInfo::parse(&out), Ok(public));
}

// Lenient input, canonical output.

#[test]
fn input_may_be_short_output_never_is() {
    assert_eq!(
        again::<Quote>("aapl 189.5 1732147205 188 191.25 187.5 53200000"),
        "AAPL 189.5000 1732147205 188.0000 191.2500 187.5000 53200000\n"
    );
    assert_eq!(
        again::<Bar>("1732147200 -1 0.5 0 2 0"),
        "1732147200 -1.0000 0.5000 0.0000 2.0000 0\n"
    );
}

#[test]
fn payloads_of_lines() {
    assert_eq!(parse_lines::<Bar>(""), Ok(Vec::new()));
    assert_eq!(
        parse_lines::<Bar>("\n"),
        Ok(Vec::new()),
        "as the worker always took it"
    );
    let two = "1 1 1 1 1 1\n2 2 2 2 2 2\n";
    assert_eq!(parse_lines::<Bar>(two).map(|b| b.len()), Ok(2));
    assert_eq!(
        parse_lines::<Bar>("1 1 1 1 1 1").map(|b| b.len()),
        Ok(1),
        "the last newline may be missing"
    );
    let err = parse_lines::<Bar>("1 1 1 1 1 1\n\n2 2 2 2 2 2\n").expect_err("blank line");
    assert_eq!(
        err.to_string(),
        "bar line \"\": timestamp \"\": expected Unix seconds as a decimal"
    );
    let err = parse_one::<Current>("AAPL 1 1\nMSFT 2 2\n").expect_err("two lines");
    assert_eq!(
        err.to_string(),
        "current price line \"MSFT 2 2\": a line after the last one"
    );
}

// Bad input.

#[test]
fn missing_fields_are_named() {
    assert_eq!(
        error::<Quote>("AAPL 189.5 1732147205 188 191.25 187.5"),
        "quote line \"AAPL 189.5 1732147205 188 191.25 187.5\": missing field volume"
    );
    assert_eq!(
        error::<Bar>("1732147200 189.5000"),
        "bar line \"1732147200 189.5000\": missing field high"
    );
    assert_eq!(
        error::<Position>("AAPL 3 189.5000 189.2000"),
        "position line \"AAPL 3 189.5000 189.2000\": missing field value"
    );
    assert_eq!(
        error::<Asset>("AAPL"),
        "asset line \"AAPL\": missing field name"
    );
    assert_eq!(
        Asset::parse("AAPL ").expect_err("empty").field(),
        Some("name")
    );
    assert_eq!(
        error::<Trade>("1 1732147200 buy"),
        "transaction line \"1 1732147200 buy\": missing field symbol"
    );
}

#[test]
fn non_numbers_are_refused() {
    assert_eq!(
        error::<Bar>("1732147200 189.5000 191.2500 188.0000 190.7500 lots"),
        "bar line \"1732147200 189.5000 191.2500 188.0000 190.7500 lots\": \
         volume \"lots\": expected a whole number of shares (digits only)"
    );
    assert_eq!(
        error::<Trade>("x1 1732147200 buy AAPL 3 189.5000"),
        "transaction line \"x1 1732147200 buy AAPL 3 189.5000\": \
         txid \"x1\": expected a transaction id (digits only)"
    );
    assert_eq!(
        error::<Position>("AAPL 3.0000000001"),
        "position line \"AAPL 3.0000000001\": \
         quantity \"3.0000000001\": expected a number of shares with at most 9 fraction digits, like 3 or 0.25"
    );
    assert_eq!(
        error::<Current>("AAPL 189.5 yesterday"),
        "current price line \"AAPL 189.5 yesterday\": \
         timestamp \"yesterday\": expected Unix seconds as a decimal"
    );
    assert_eq!(
        Bar::parse("1 1 1 1 1 +1").expect_err("+").field(),
        Some("volume")
    );
    assert_eq!(
        Bar::parse("1 1 1 1 1 99999999999999999999")
            .expect_err("over u64")
            .field(),
        Some("volume")
    );
}

#[test]
fn money_with_five_decimals_is_refused() {
    assert_eq!(
        error::<Quote>("AAPL 189.5 1732147205 188 191.25 187.50001 53200000"),
        "quote line \"AAPL 189.5 1732147205 188 191.25 187.50001 53200000\": \
         low \"187.50001\": expected a decimal with at most 4 fraction digits, \
         like 189.5 or -12.0000"
    );
    let err = Info::parse("AAPL 1 1 1 1.00001 5 1732147205").expect_err("close");
    assert_eq!(err.field(), Some("close"));
    let err = Position::parse("AAPL 3 1 1 1.00001").expect_err("value");
    assert_eq!(err.field(), Some("value"));
}

#[test]
fn extra_fields_and_bad_words_are_refused() {
    assert_eq!(
        error::<Quote>("AAPL 189.5 1732147205 188 191.25 187.5 1 x"),
        "quote line \"AAPL 189.5 1732147205 188 191.25 187.5 1 x\": \
         extra field \"x\" after volume, expected 7 fields"
    );
    assert_eq!(
        error::<Position>("AAPL 3 1 1 3 4"),
        "position line \"AAPL 3 1 1 3 4\": extra field \"4\" after value, expected 2 or 5 fields"
    );
    assert_eq!(
        error::<Trade>("1 1732147200 short AAPL 3 189.5000"),
        "transaction line \"1 1732147200 short AAPL 3 189.5000\": \
         side \"short\": expected buy, sell, reset, split, dividend, liquidation or fee"
    );
    assert_eq!(
        error::<Asset>("AA$PL Bad"),
        "asset line \"AA$PL Bad\": symbol \"AA$PL\": expected 1-16 characters of A-Z 0-9 . - ^ ="
    );
    assert_eq!(
        error::<Bar>("1  1 1 1 1 1"),
        "bar line \"1  1 1 1 1 1\": open \"\": expected a decimal with at most 4 fraction \
         digits, like 189.5 or -12.0000"
    );
}

#[test]
fn bad_user_info_is_refused() {
    let err = |payload: &str| UserInfo::parse(payload).expect_err(payload).to_string();
    assert_eq!(err(""), "user info payload ends before its username line");
    assert_eq!(
        err("username alice\nemail alice@example.com\ncreated 1\ncash 1\n"),
        "user info payload ends before its equity line"
    );
    assert_eq!(
        err("username alice\nage 30\n"),
        "user info line \"age 30\": key \"age\": expected email or created"
    );
    assert_eq!(
        err("username alice\ncreated 1\nextra 2\n"),
        "user info line \"extra 2\": a line after the last one"
    );
    assert_eq!(
        err("username al ice\ncreated 1\n"),
        "user info line \"username al ice\": extra field \"ice\" after username, \
         expected 2 fields, KEY VALUE"
    );
    assert_eq!(
        err("username alice\nemail alice@example.com\ncreated 1\ncash 1.00001\nequity 1\n"),
        "user info line \"cash 1.00001\": cash \"1.00001\": expected a decimal with at most \
         4 fraction digits, like 189.5 or -12.0000"
    );
    assert_eq!(
        err("username\ncreated 1\n"),
        "user info line \"username\": missing field username"
    );
}

#[test]
fn long_lines_are_cut_in_errors() {
    let err = error::<Quote>(&"A".repeat(500));
    assert!(err.len() < 250, "{err}");
    assert!(err.starts_with(&format!("quote line \"{}\"...: ", "A".repeat(80))));
    let err = error::<Bar>(&format!("1 1 1 1 1 1 {}", "x".repeat(500)));
    assert!(err.len() < 250, "{err}");
}

#[test]
fn order_lines() {
    let line = "17 1732147200 buy AAPL 10 stop-limit 170.0000 175.0000 gtc triggered 1732150800 -";
    let order = OrderLine::parse(line).expect("order line");
    assert_eq!(
        order.kind,
        OrderKind::StopLimit {
            stop: Money(1_750_000),
            limit: Money(1_700_000)
        }
    );
    assert_eq!(
        (order.status, order.txid, order.tif),
        (OrderStatus::Triggered, None, Tif::Gtc)
    );
    assert_eq!(again::<OrderLine>(line), format!("{line}\n"));
    let filled = "3 1732147200 sell MSFT 1 market - - day filled 1732147260 42";
    assert_eq!(OrderLine::parse(filled).expect("filled").txid, Some(42));
    assert_eq!(again::<OrderLine>(filled), format!("{filled}\n"));
    for bad in [
        "3 1732147200 sell MSFT 1 market 1.0000 - day filled 1732147260 42",
        "3 1732147200 sell MSFT 1 limit - - day open 1732147260 -",
        "3 1732147200 hold MSFT 1 market - - day open 1732147260 -",
        "3 1732147200 sell MSFT 1 market - - day pending 1732147260 -",
        "3 1732147200 sell MSFT 1 market - - day open 1732147260",
        "3 1732147200 sell MSFT 1 market - - day open 1732147260 - x",
        "3 1732147200 sell MSFT 1 trailing-stop - - day open 1732147260 -",
        "3 1732147200 sell MSFT 1 trailing-stop - - day open 1732147260 - trail=0%",
        "3 1732147200 sell MSFT 1 trailing-stop - - day open 1732147260 - trail=2% mark=0",
        "3 1732147200 sell MSFT 1 stop - 1.0000 day open 1732147260 - trail=2%",
    ] {
        assert!(OrderLine::parse(bad).is_err(), "{bad}");
    }
    // Protocol 1.2: a trailing stop shows the stop its mark gives, and
    // unknown KEY=VALUE fields are skipped.
    let trailing = "5 1732147200 sell BTC 0.5 trailing-stop - 98.0000 gtc open 1732147260 - trail=2% mark=100.0000";
    let order = OrderLine::parse(trailing).expect("trailing");
    assert_eq!(order.kind, OrderKind::TrailingStop(Trail::Percent(200)));
    assert_eq!(order.mark, Some(Money(1_000_000)));
    assert_eq!(order.stop(), Some(Money(980_000)));
    assert_eq!(again::<OrderLine>(trailing), format!("{trailing}\n"));
    let later = format!("{trailing} future=x=y");
    assert_eq!(OrderLine::parse(&later).expect("later keys"), order);
    // Partial fills: what has filled and at what average price.
    let partial = format!("{trailing} filled=0.25 avg=97.5000");
    let order = OrderLine::parse(&partial).expect("partial");
    assert_eq!(
        order.filled,
        Some(Filled {
            quantity: Quantity::parse("0.25").expect("q"),
            avg: Money(975_000)
        })
    );
    assert_eq!(again::<OrderLine>(&partial), format!("{partial}\n"));
    for bad in [
        "filled=0.25",
        "avg=1.0000",
        "filled=0.6 avg=1.0000",
        "filled=0 avg=1.0000",
        "filled=0.1 avg=0",
        "filled=0.1 avg=-",
    ] {
        let line = format!("{trailing} {bad}");
        assert!(OrderLine::parse(&line).is_err(), "{bad}");
    }
    let unmarked = "6 1732147200 buy BTC 1 trailing-stop - - day open 1732147260 - trail=1.5000";
    assert_eq!(again::<OrderLine>(unmarked), format!("{unmarked}\n"));
    // A bracket's held leg names its entry.
    let leg =
        "8 1732147200 sell AAPL 1 limit 200.0000 - gtc held 1732147200 - class=bracket parent=7";
    let order = OrderLine::parse(leg).expect("leg");
    assert_eq!(
        (order.status, order.class, order.parent),
        (OrderStatus::Held, Some(OrderClass::Bracket), Some(7))
    );
    assert_eq!(again::<OrderLine>(leg), format!("{leg}\n"));
    for bad in ["class=triangle", "parent=-1", "parent=x"] {
        let line = format!("8 1732147200 sell AAPL 1 limit 200.0000 - gtc held 1732147200 - {bad}");
        assert!(OrderLine::parse(&line).is_err(), "{bad}");
    }
}

#[test]
fn asset_detail_lines() {
    let line = "BTC always yes crypto Bitcoin (simulated)";
    let detail = AssetDetail::parse(line).expect("detail");
    assert_eq!(
        (
            detail.market.as_str(),
            detail.fractional,
            detail.crypto,
            detail.name.as_str()
        ),
        ("always", true, true, "Bitcoin (simulated)")
    );
    assert_eq!(again::<AssetDetail>(line), format!("{line}\n"));
    assert!(
        !AssetDetail::parse("AAPL nyse no equity Apple Inc.")
            .expect("equity")
            .crypto
    );
    for bad in [
        "BTC always yes crypto",
        "BTC Always yes crypto x",
        "BTC always maybe crypto x",
        "BT C always yes crypto x",
        "BTC always yes bond x",
    ] {
        assert!(AssetDetail::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn order_lines_keep_their_client_id() {
    let line = "9 1732147200 buy AAPL 1 limit 100.0000 - gtc open 1732147200 - client=ccxt_00ff";
    let order = OrderLine::parse(line).expect("order");
    assert_eq!(order.client.as_ref().map(|c| c.as_str()), Some("ccxt_00ff"));
    assert_eq!(again::<OrderLine>(line), format!("{line}\n"));
    let bad = "9 1732147200 buy AAPL 1 limit 100.0000 - gtc open 1732147200 - client=";
    assert!(OrderLine::parse(bad).is_err());
}

#[test]
fn key_lines() {
    let line = "PKAAAAAAAAAAAAAAAAAB 1732147200 trend-bot";
    let key = KeyLine::parse(line).expect("key line");
    assert_eq!(
        (key.created, key.label.as_str()),
        (Timestamp(1_732_147_200), "trend-bot")
    );
    assert_eq!(again::<KeyLine>(line), format!("{line}\n"));
    for bad in [
        "PKAAAAAAAAAAAAAAAAAB 1732147200",
        "PKAAAAAAAAAAAAAAAAAB 1732147200 two words",
        "pk 1732147200 bot",
        "PKAAAAAAAAAAAAAAAAAB -1 bot",
    ] {
        assert!(KeyLine::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn watchlist_lines() {
    let line = "BRK.B 1732147200";
    let watched = WatchLine::parse(line).expect("watchlist line");
    assert_eq!(
        (watched.symbol.as_str(), watched.added),
        ("BRK.B", Timestamp(1_732_147_200))
    );
    assert_eq!(again::<WatchLine>("aapl 5"), "AAPL 5\n");
    assert_eq!(parse_lines::<WatchLine>(""), Ok(Vec::new()));
    for bad in [
        "AAPL",
        "AAPL 1732147200 extra",
        "$$$ 1732147200",
        "AAPL -1",
        "AAPL x",
        "",
    ] {
        assert!(WatchLine::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn leaderboard_and_equity_lines() {
    let line = "1 alice 12.34";
    let standing = Standing::parse(line).expect("standing");
    assert_eq!((standing.rank, standing.ret), (1, Percent(1234)));
    assert_eq!(again::<Standing>("2 bob -3.10"), "2 bob -3.10\n");
    for bad in ["0 alice 1.00", "1 alice 1.0", "1 al ice 1.00", "1 alice"] {
        assert!(Standing::parse(bad).is_err(), "{bad}");
    }
    let point = EquityPoint::parse("2026-11-30 100000.0000").expect("point");
    assert_eq!(point.equity, Money(1_000_000_000));
    assert_eq!(
        again::<EquityPoint>("2026-11-30 5.5"),
        "2026-11-30 5.5000\n"
    );
    assert!(EquityPoint::parse("2026-11-31 1.0000").is_err());
}

// Round trips.

fn any_symbol() -> impl Strategy<Value = Symbol> {
    "[A-Z0-9.^=-]{1,16}".prop_map(|s| sym(&s))
}

/// Every amount the parser can read back: all of i64 but its minimum,
/// whose magnitude does not fit.
fn any_money() -> impl Strategy<Value = Money> {
    (i64::MIN + 1..=i64::MAX).prop_map(Money)
}

/// Timestamps the parser reads: up to 18 digits.
fn any_time() -> impl Strategy<Value = Timestamp> {
    (0..=999_999_999_999_999_999i64).prop_map(Timestamp)
}

fn any_quote() -> impl Strategy<Value = Quote> {
    let prices = (any_money(), any_money(), any_money(), any_money());
    (any_symbol(), prices, any_time(), any::<u64>()).prop_map(
        |(symbol, (price, open, high, low), time, volume)| Quote {
            symbol,
            price,
            time,
            open,
            high,
            low,
            volume,
        },
    )
}

fn any_bar() -> impl Strategy<Value = Bar> {
    let prices = (any_money(), any_money(), any_money(), any_money());
    (any_time(), prices, any::<u64>()).prop_map(|(time, (open, high, low, close), volume)| Bar {
        time,
        open,
        high,
        low,
        close,
        volume,
    })
}

fn any_valuation() -> impl Strategy<Value = Option<Valuation>> {
    proptest::option::of((any_money(), any_money(), any_money()).prop_map(
        |(avg_cost, price, value)| Valuation {
            avg_cost,
            price,
            value,
        },
    ))
}

fn any_side() -> impl Strategy<Value = TradeSide> {
    prop_oneof![
        Just(TradeSide::Buy),
        Just(TradeSide::Sell),
        Just(TradeSide::Reset),
        Just(TradeSide::Split),
        Just(TradeSide::Dividend),
        Just(TradeSide::Liquidation),
        Just(TradeSide::Fee),
    ]
}

fn any_order() -> impl Strategy<Value = OrderLine> {
    let positive = (1..=i64::MAX).prop_map(Money);
    let kind = prop_oneof![
        Just(OrderKind::Market),
        positive.clone().prop_map(OrderKind::Limit),
        positive.clone().prop_map(OrderKind::Stop),
        (positive.clone(), positive.clone())
            .prop_map(|(stop, limit)| OrderKind::StopLimit { stop, limit }),
        (1..=i64::MAX).prop_map(|units| OrderKind::TrailingStop(Trail::Amount(Money(units)))),
        (1..=9_999u32).prop_map(|bp| OrderKind::TrailingStop(Trail::Percent(bp))),
    ];
    let mark = proptest::option::of(positive);
    let class = proptest::option::of(prop_oneof![
        Just(OrderClass::Bracket),
        Just(OrderClass::Oco),
        Just(OrderClass::Oto)
    ]);
    let parent = proptest::option::of(0..=i64::MAX as u64);
    let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
    let tif = prop_oneof![
        Just(Tif::Day),
        Just(Tif::Gtc),
        Just(Tif::Ioc),
        Just(Tif::Fok)
    ];
    let status = (0..OrderStatus::ALL.len()).prop_map(|i| OrderStatus::ALL[i]);
    let times = (any_time(), any_time());
    let txid = proptest::option::of(0..=i64::MAX);
    let filled = proptest::option::of((1..=SHARE_SCALE, 1..=i64::MAX));
    (
        0..=i64::MAX as u64,
        side,
        any_symbol(),
        (1..=Quantity::MAX_WHOLE * SHARE_SCALE)
            .prop_map(|q| Quantity::from_shares(Shares(q)).expect("in range")),
        kind,
        tif,
        status,
        times,
        (txid, mark, class, parent, filled),
    )
        .prop_map(
            |(
                id,
                side,
                symbol,
                quantity,
                kind,
                tif,
                status,
                (created, updated),
                (txid, mark, class, parent, filled),
            )| {
                OrderLine {
                    id,
                    created,
                    side,
                    symbol,
                    quantity,
                    kind,
                    tif,
                    status,
                    updated,
                    txid,
                    // Only a trailing stop has a mark.
                    mark: kind.trail().and(mark),
                    class,
                    parent,
                    // At most the order's quantity.
                    filled: filled.map(|(part, avg)| {
                        let raw =
                            i128::from(quantity.raw()) * i128::from(part) / i128::from(SHARE_SCALE);
                        let raw = i64::try_from(raw).expect("below the quantity").max(1);
                        Filled {
                            quantity: Quantity::from_shares(Shares(raw)).expect("in range"),
                            avg: Money(avg),
                        }
                    }),
                    client: (id % 3 == 0).then(|| {
                        crate::value::ClientOrderId::parse(&format!("bot-{id}")).expect("id")
                    }),
                }
            },
        )
}

fn round_trip<T: Line + PartialEq + std::fmt::Debug>(value: &T) -> Result<(), TestCaseError> {
    let line = value.to_line();
    prop_assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
    let back =
        T::parse(line.trim_end_matches('\n')).map_err(|e| TestCaseError::fail(e.to_string()));
    prop_assert_eq!(&back?, value);
    Ok(())
}

proptest! {
    #[test]
    fn quotes_round_trip(quote in any_quote()) {
        round_trip(&quote)?;
        round_trip(&quote.current())?;
        round_trip(&quote.info())?;
    }

    #[test]
    fn bars_round_trip(bars in prop::collection::vec(any_bar(), 0..20)) {
        for bar in &bars {
            round_trip(bar)?;
        }
        prop_assert_eq!(parse_lines::<Bar>(&write_lines(&bars)), Ok(bars));
    }

    #[test]
    fn assets_round_trip(symbol in any_symbol(), name in "[^\n ][^\n]{0,60}") {
        round_trip(&Asset { symbol, name })?;
    }

    #[test]
    fn positions_round_trip(
        symbol in any_symbol(),
        quantity in any::<i64>().prop_map(Shares),
        valuation in any_valuation(),
    ) {
        round_trip(&Position { symbol, quantity, valuation })?;
    }

    #[test]
    fn trades_round_trip(
        txid in 0..=i64::MAX,
        time in any_time(),
        side in any_side(),
        symbol in any_symbol(),
        quantity in any::<i64>().prop_map(Shares),
        price in any_money(),
    ) {
        round_trip(&Trade { txid, time, side, symbol, quantity, price })?;
    }

    #[test]
    fn user_info_round_trips(
        name in "[A-Za-z0-9_.-]{1,24}",
        created in any_time(),
        private in proptest::option::of((any_money(), any_money())),
    ) {
        let info = UserInfo {
            username: Username::parse(&name).expect("username"),
            created,
            private: private.map(|(cash, equity)| PrivateInfo {
                email: Some(Email::parse("a@b").expect("email")),
                cash,
                equity,
            }),
        };
        let mut out = String::new();
        info.write(&mut out);
        prop_assert_eq!(UserInfo::parse(&out), Ok(info));
    }

    #[test]
    fn orders_round_trip(order in any_order()) {
        round_trip(&order)?;
    }

    #[test]
    fn standings_and_equity_round_trip(
        rank in 1..=u64::MAX,
        name in "[A-Za-z0-9_.-]{1,24}",
        ret in -99_999_999_999_999i64..=99_999_999_999_999,
        day in 0..=2_932_896i64,
        equity in any_money(),
    ) {
        let username = Username::parse(&name).expect("username");
        round_trip(&Standing { rank, username, ret: Percent(ret) })?;
        let date = Date::of_timestamp(Timestamp(day * 86_400));
        round_trip(&EquityPoint { date, equity })?;
    }

    #[test]
    fn parsers_never_panic(line in "[ -~]{0,120}") {
        let _ = OrderLine::parse(&line);
        let _ = Standing::parse(&line);
        let _ = EquityPoint::parse(&line);
        let _ = Quote::parse(&line);
        let _ = Current::parse(&line);
        let _ = Info::parse(&line);
        let _ = Bar::parse(&line);
        let _ = Asset::parse(&line);
        let _ = Position::parse(&line);
        let _ = Trade::parse(&line);
        let _ = UserInfo::parse(&line);
    }
}
