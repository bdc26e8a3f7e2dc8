//! Tests of the cache module.

use papertrader_common::value::{Money, Timestamp};

use super::*;

const AAPL: &str = "AAPL 189.5 1732147205 188 191.25 187.5 53200000";

fn sym(text: &str) -> Symbol {
    Symbol::parse(text).expect("symbol")
}

fn sid(n: u8) -> SessionId {
    SessionId::from_bytes([n; 16])
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn quote_parses() {
    let q = Quote::parse("aapl 189.5000 1732147205 188.0000 191.25 187.5 53200000").expect("ok");
    assert_eq!(
        q,
        Quote {
            symbol: sym("AAPL"),
            price: Money(1_895_000),
            time: Timestamp(1_732_147_205),
            open: Money(1_880_000),
            high: Money(1_912_500),
            low: Money(1_875_000),
            volume: 53_200_000,
        }
    );
}

#[test]
fn quote_lines_exact_text() {
    let q = Quote::parse(AAPL).expect("ok");
    assert_eq!(q.current_line(), "AAPL 189.5000 1732147205\n");
    assert_eq!(
        q.info_line(),
        "AAPL 188.0000 191.2500 187.5000 189.5000 53200000 1732147205\n"
    );
}

#[test]
fn quote_missing_field() {
    let err = Quote::parse("AAPL 189.5 1732147205 188 191.25 187.5")
        .expect_err("6 fields")
        .to_string();
    assert_eq!(
        err,
        "quote line \"AAPL 189.5 1732147205 188 191.25 187.5\": missing field volume"
    );
    let err = Quote::parse("AAPL").expect_err("1 field").to_string();
    assert!(err.ends_with("missing field price"), "{err}");
}

#[test]
fn quote_bad_money_five_decimals() {
    let err = Quote::parse("AAPL 189.5 1732147205 188 191.25 187.50001 53200000")
        .expect_err("five decimals")
        .to_string();
    assert_eq!(
        err,
        "quote line \"AAPL 189.5 1732147205 188 191.25 187.50001 53200000\": \
         low \"187.50001\": expected a decimal with at most 4 fraction digits, \
         like 189.5 or -12.0000"
    );
    let err = Quote::parse("AAPL 1.23456 1732147205 188 191.25 187.5 1")
        .expect_err("price")
        .to_string();
    assert!(err.contains(": price \"1.23456\": expected"), "{err}");
}

#[test]
fn quote_bad_symbol_and_timestamp() {
    let err = Quote::parse("AA$PL 189.5 1732147205 188 191.25 187.5 1")
        .expect_err("symbol")
        .to_string();
    assert!(err.contains(": symbol \"AA$PL\": expected 1-16"), "{err}");
    let err = Quote::parse("AAPL 189.5 -5 188 191.25 187.5 1")
        .expect_err("timestamp")
        .to_string();
    assert!(
        err.contains(": timestamp \"-5\": expected Unix seconds"),
        "{err}"
    );
}

#[test]
fn quote_negative_volume() {
    let err = Quote::parse("AAPL 189.5 1732147205 188 191.25 187.5 -1")
        .expect_err("volume")
        .to_string();
    assert!(err.ends_with(": volume \"-1\": expected a whole number of shares (digits only)"));
    assert!(Quote::parse("AAPL 189.5 1732147205 188 191.25 187.5 +1").is_err());
}

#[test]
fn quote_extra_field_and_double_space() {
    let err = Quote::parse(&format!("{AAPL} x"))
        .expect_err("8 fields")
        .to_string();
    assert!(
        err.ends_with(": extra field \"x\" after volume, expected 7 fields"),
        "{err}"
    );
    let err = Quote::parse("AAPL  189.5 1732147205 188 191.25 187.5 1")
        .expect_err("empty")
        .to_string();
    assert!(err.contains(": price \"\": expected"), "{err}");
}

#[test]
fn quote_error_shortens_long_line() {
    let err = Quote::parse(&"A".repeat(500))
        .expect_err("long")
        .to_string();
    assert!(err.len() < 250, "{err}");
}

#[test]
fn apply_counts_good_and_bad_lines() {
    let mut cache = QuoteCache::default();
    assert!(cache.is_empty());
    assert_eq!(cache.apply(b""), (0, 0));
    let mut payload = format!(
        "{AAPL}\nMSFT 1.23456 1732147205 1 1 1 1\nmsft 415 1732147205 410 416 409 9\n\n\
         GOOG 170 1732147205 1 1 1 1 extra\n"
    )
    .into_bytes();
    payload.extend_from_slice(b"AAPL 1 1732147205 1 1 1 \xff\n\r\n");
    // bad money, blank line, extra field, not UTF-8, lone CR
    assert_eq!(cache.apply(&payload), (2, 5));
    assert_eq!(cache.len(), 2);
    let msft = cache.get(&sym("MSFT")).expect("msft");
    assert_eq!(msft.current_line(), "MSFT 415.0000 1732147205\n");
    assert!(cache.get(&sym("GOOG")).is_none());
}

#[test]
fn apply_without_final_newline() {
    let mut cache = QuoteCache::default();
    assert_eq!(cache.apply(AAPL.as_bytes()), (1, 0));
}

#[test]
fn older_quote_does_not_replace_newer() {
    let mut cache = QuoteCache::default();
    assert_eq!(
        cache.apply(b"AAPL 190 1732147265 188 191.25 187.5 9\n"),
        (1, 0)
    );
    assert_eq!(cache.apply(format!("{AAPL}\n").as_bytes()), (0, 0));
    let q = cache.get(&sym("AAPL")).expect("aapl");
    assert_eq!(q.price, Money(1_900_000));
    assert_eq!(q.time, Timestamp(1_732_147_265));
    // Same time: the later message wins.
    assert_eq!(
        cache.apply(b"AAPL 191 1732147265 188 191.25 187.5 9\n"),
        (1, 0)
    );
    assert_eq!(
        cache.get(&sym("AAPL")).expect("aapl").price,
        Money(1_910_000)
    );
}

/// The frames a client reads for an encoded answer: one `data` packet
/// holding `payload`.
fn one_packet(bytes: &[u8], payload: &str) {
    let mut decoder = papertrader_common::Decoder::new();
    decoder.push(bytes);
    let f = decoder.next_frame().expect("decodes").expect("a frame");
    assert_eq!(f.instruction, Instr::Data.code());
    assert_eq!((f.data_message_number, f.data_message_max), (1, 1));
    assert_eq!(String::from_utf8(f.data).expect("utf-8"), payload);
    assert_eq!(decoder.next_frame().expect("no more"), None);
    assert_eq!(decoder.pending(), 0);
}

#[test]
fn encoded_answers_follow_each_update() {
    let mut cache = QuoteCache::default();
    assert_eq!(cache.answer(&sym("AAPL"), false), None);
    cache.apply(b"AAPL 190 1732147265 188 191.25 187.5 9\n");
    let current = cache.answer(&sym("AAPL"), false).expect("current");
    one_packet(current, "AAPL 190.0000 1732147265\n");
    let info = cache.answer(&sym("AAPL"), true).expect("info");
    one_packet(
        info,
        "AAPL 188.0000 191.2500 187.5000 190.0000 9 1732147265\n",
    );
    // A newer quote replaces both answers; an older one neither.
    cache.apply(b"AAPL 191 1732147266 188 191.25 187.5 10\n");
    cache.apply(b"AAPL 1 1732147200 1 1 1 1\n");
    let current = cache.answer(&sym("AAPL"), false).expect("current");
    one_packet(current, "AAPL 191.0000 1732147266\n");
    assert_eq!(cache.answer(&sym("MSFT"), true), None);
}

#[test]
fn quote_cache_is_bounded() {
    let mut cache = QuoteCache::default();
    let payload: String = (0..MAX_SYMBOLS + 3)
        .map(|i| format!("S{i} 1 1732147205 1 1 1 1\n"))
        .collect();
    assert_eq!(cache.apply(payload.as_bytes()), (MAX_SYMBOLS, 3));
    assert_eq!(cache.len(), MAX_SYMBOLS);
    // Known symbols still update when full.
    assert_eq!(cache.apply(b"S0 2 1732147206 1 2 1 1\n"), (1, 0));
}

#[test]
fn history_key_format() {
    let date = Date::parse("2024-11-21").expect("date");
    assert_eq!(
        history_key(Instr::GetAssetValueDay, &sym("aapl"), Some(date)),
        "18 AAPL 2024-11-21"
    );
    assert_eq!(
        history_key(Instr::GetAssetValueAllTime, &sym("^gspc"), None),
        "22 ^GSPC"
    );
}

#[test]
fn history_ttl_expiry() {
    let t0 = Instant::now();
    let mut cache = HistoryCache::new(secs(30), 1 << 20);
    cache.put("18 AAPL 2024-11-21".into(), b"bars\n".to_vec(), t0);
    assert_eq!(
        cache.get("18 AAPL 2024-11-21", t0 + secs(29)),
        Some(&b"bars\n"[..])
    );
    assert_eq!(cache.get("18 AAPL 2024-11-22", t0), None);
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.get("18 AAPL 2024-11-21", t0 + secs(30)), None);
    assert_eq!((cache.len(), cache.bytes()), (0, 0));
}

#[test]
fn history_put_purges_expired_and_replaces() {
    let t0 = Instant::now();
    let mut cache = HistoryCache::new(secs(30), 1 << 20);
    cache.put("a".into(), vec![1; 10], t0);
    cache.put("b".into(), vec![2; 10], t0 + secs(10));
    cache.put("b".into(), vec![3; 20], t0 + secs(20));
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.bytes(), charge("a", 10) + charge("b", 20));
    cache.put("c".into(), Vec::new(), t0 + secs(31));
    assert_eq!(cache.len(), 2, "a expired and was purged");
    assert_eq!(cache.bytes(), charge("b", 20) + charge("c", 0));
    assert_eq!(cache.get("b", t0 + secs(49)), Some(&[3; 20][..]));
    assert_eq!(cache.get("c", t0 + secs(49)), Some(&[][..]));
}

#[test]
fn history_byte_bound_evicts_oldest() {
    let t0 = Instant::now();
    let max = 3 * charge("k1", 100);
    let mut cache = HistoryCache::new(secs(300), max);
    for (i, key) in ["k1", "k2", "k3"].into_iter().enumerate() {
        cache.put(key.into(), vec![0; 100], t0 + secs(i as u64));
    }
    assert_eq!((cache.len(), cache.bytes()), (3, max));
    cache.put("k4".into(), vec![0; 100], t0 + secs(3));
    assert_eq!((cache.len(), cache.bytes()), (3, max));
    assert!(cache.get("k1", t0 + secs(4)).is_none());
    assert!(cache.get("k2", t0 + secs(4)).is_some());
    cache.put("k5".into(), vec![0; 400], t0 + secs(5));
    assert!(cache.bytes() <= max);
    assert_eq!(cache.len(), 1, "k5 needs the room of all three others");
    assert!(cache.get("k5", t0 + secs(6)).is_some());
}

#[test]
fn history_oversized_payload_not_stored() {
    let t0 = Instant::now();
    let mut cache = HistoryCache::new(secs(300), 1000);
    cache.put("small".into(), vec![0; 10], t0);
    cache.put("big".into(), vec![0; 1001], t0);
    assert!(cache.get("big", t0).is_none());
    assert_eq!(cache.len(), 1, "the others are not evicted for it");
    cache.put("small".into(), vec![0; 1001], t0);
    assert!(cache.get("small", t0).is_none(), "older answer dropped");
    assert_eq!((cache.len(), cache.bytes()), (0, 0));
    let mut none = HistoryCache::new(secs(300), 0);
    none.put("k".into(), Vec::new(), t0);
    assert!(none.is_empty());
}

#[test]
fn session_ttl() {
    let t0 = Instant::now();
    let mut cache = SessionCache::new(DEFAULT_SESSION_TTL, 10);
    assert!(!cache.is_valid(&sid(1), t0));
    cache.remember(&sid(1), t0);
    assert!(cache.is_valid(&sid(1), t0 + secs(59)));
    assert!(!cache.is_valid(&sid(1), t0 + secs(60)));
    assert_eq!(cache.len(), 0, "expired entry removed");
    cache.remember(&sid(2), t0);
    cache.remember(&sid(2), t0 + secs(50));
    assert!(
        cache.is_valid(&sid(2), t0 + secs(100)),
        "remember refreshes"
    );
    cache.remember(&sid(3), t0 + secs(200));
    assert_eq!(cache.len(), 1, "remember purges the expired");
}

#[test]
fn session_forget() {
    let t0 = Instant::now();
    let mut cache = SessionCache::new(secs(60), 10);
    cache.remember(&sid(1), t0);
    cache.remember(&sid(2), t0);
    cache.forget(&sid(1));
    cache.forget(&sid(9));
    assert!(!cache.is_valid(&sid(1), t0));
    assert!(cache.is_valid(&sid(2), t0));
    assert_eq!(cache.len(), 1);
}

#[test]
fn session_bound_evicts_oldest() {
    let t0 = Instant::now();
    let mut cache = SessionCache::new(secs(60), 3);
    for n in 1..=3 {
        cache.remember(&sid(n), t0 + secs(u64::from(n)));
    }
    cache.remember(&sid(1), t0 + secs(4)); // 1 is now the newest
    cache.remember(&sid(4), t0 + secs(5));
    assert_eq!(cache.len(), 3);
    assert!(!cache.is_valid(&sid(2), t0 + secs(6)));
    for n in [1, 3, 4] {
        assert!(cache.is_valid(&sid(n), t0 + secs(6)), "{n}");
    }
    let mut none = SessionCache::new(secs(60), 0);
    none.remember(&sid(1), t0);
    assert!(!none.is_valid(&sid(1), t0));
}

#[test]
fn purge_drops_only_expired_entries() {
    let t0 = Instant::now();
    let mut caches = Caches::new(secs(10), secs(5), 1 << 20);
    caches
        .history
        .put("26".into(), b"AAPL Apple\n".to_vec(), t0);
    caches
        .history
        .put("22 AAPL".into(), b"x".to_vec(), t0 + secs(3));
    caches.sessions.remember(&sid(1), t0);
    caches.purge(t0 + secs(6));
    assert_eq!(caches.history.len(), 1, "the older answer expired");
    assert_eq!(caches.sessions.len(), 1, "the session has 10 s");
    caches.purge(t0 + secs(11));
    assert!(caches.history.is_empty());
    assert_eq!(caches.history.bytes(), 0);
    assert!(caches.sessions.is_empty());
}

#[test]
fn a_removed_answer_gives_its_bytes_back() {
    let now = Instant::now();
    let mut cache = HistoryCache::new(secs(60), 1 << 20);
    cache.put(LEADERBOARD_KEY.to_string(), b"1 alice 1.00\n".to_vec(), now);
    assert!(cache.get(LEADERBOARD_KEY, now).is_some());
    cache.remove(LEADERBOARD_KEY);
    assert!(cache.get(LEADERBOARD_KEY, now).is_none());
    assert_eq!((cache.len(), cache.bytes()), (0, 0));
    cache.remove("absent");
}

/// A price set's lines are those its transfer changed, in its order; the
/// snapshot holds every cached quote by symbol.
#[test]
fn last_set_and_snapshot() {
    let mut cache = QuoteCache::default();
    let msft = "MSFT 420 1732147205 419 421 418 1000";
    let payload = format!("{msft}\n{AAPL}\n");
    assert_eq!(cache.apply(payload.as_bytes()), (2, 0));
    let msft_info = "MSFT 419.0000 421.0000 418.0000 420.0000 1000 1732147205\n";
    let aapl_info = "AAPL 188.0000 191.2500 187.5000 189.5000 53200000 1732147205\n";
    assert_eq!(
        cache.last_set(),
        format!("{msft_info}{aapl_info}").as_bytes()
    );
    let snapshot = encoded_transfer(format!("{aapl_info}{msft_info}").as_bytes());
    assert_eq!(cache.snapshot(), snapshot.as_slice());
    // An older quote is not news, and a set of nothing new pushes nothing.
    let older = "AAPL 150 1732147000 150 150 150 1\n";
    assert_eq!(cache.apply(older.as_bytes()), (0, 0));
    assert!(cache.last_set().is_empty());
    let bytes = encoded_prices(msft_info.as_bytes()).expect("fits");
    let (frame, _) = papertrader_common::frame::decode(&bytes)
        .expect("decodes")
        .expect("whole");
    assert_eq!(frame.instruction, Instr::Prices.code());
    assert_eq!((frame.data_message_number, frame.data_message_max), (1, 1));
}
