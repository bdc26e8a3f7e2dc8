//! The trading stream (`/stream`) in Alpaca's shapes: the messages a bot
//! sends (authenticate, listen), the answers, and the `trade_updates`
//! events, which a [`Tracker`] draws from successive `getOrders` answers:
//! an order seen for the first time is `new`, more of it filled is
//! `partial_fill` or `fill`, and an order that ended is `canceled`,
//! `expired`, `replaced` or `rejected`, in the order they happened.

use std::collections::HashMap;

use papertrader_common::payload::{Filled, OrderLine};
use papertrader_common::value::{ApiKeyId, ApiSecret, Money, OrderStatus, Shares, Timestamp};
use serde_json::{Value, json};

use super::ids::named_uuid;
use super::json::{self as aj, Book, money};
use super::query::rfc3339;

/// Longest message a bot may send on the stream.
pub const MAX_INBOUND: usize = 4096;

/// What a bot said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// `{"action": "authenticate", "data": {"key_id", "secret_key"}}`
    /// (or `"auth"` with `key` and `secret`).
    Auth(Result<(ApiKeyId, ApiSecret), ()>),
    /// `{"action": "listen", "data": {"streams": [...]}}`.
    Listen(Vec<String>),
    /// Anything else: the error to answer.
    Bad(String),
}

/// Reads one message.
pub fn inbound(bytes: &[u8]) -> Inbound {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(bytes) else {
        return Inbound::Bad("the message is not a JSON object".into());
    };
    let data = map.get("data").and_then(Value::as_object);
    let field = |name: &str| -> Option<&str> {
        data.and_then(|d| d.get(name))
            .or_else(|| map.get(name))
            .and_then(Value::as_str)
    };
    match map.get("action").and_then(Value::as_str) {
        Some("authenticate" | "auth") => {
            let id = field("key_id").or_else(|| field("key"));
            let secret = field("secret_key").or_else(|| field("secret"));
            let parsed = match (id, secret) {
                (Some(id), Some(secret)) => ApiKeyId::parse(id)
                    .ok()
                    .zip(ApiSecret::parse(secret).ok())
                    .ok_or(()),
                _ => Err(()),
            };
            Inbound::Auth(parsed)
        }
        Some("listen") => {
            let streams = data
                .and_then(|d| d.get("streams"))
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .take(16)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Inbound::Listen(streams)
        }
        _ => Inbound::Bad("unknown action: send authenticate, then listen".into()),
    }
}

/// The answer to `authenticate`.
pub fn authorization(ok: bool) -> Value {
    let status = if ok { "authorized" } else { "unauthorized" };
    json!({"stream": "authorization", "data": {"action": "authenticate", "status": status}})
}

/// The answer to `listen`: the streams served among those asked.
pub fn listening(asked: &[String]) -> Value {
    let served: Vec<&str> = asked
        .iter()
        .filter(|s| *s == "trade_updates")
        .map(String::as_str)
        .collect();
    json!({"stream": "listening", "data": {"streams": served}})
}

/// An error message on the stream.
pub fn error(text: &str) -> Value {
    json!({"stream": "error", "data": {"error": text}})
}

/// What is known of an order: where it stood, and how much had filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    status: OrderStatus,
    filled: Shares,
    /// The average price of what has filled.
    avg: Money,
}

/// Successive order lists of one account, turned into events.
#[derive(Debug, Default)]
pub struct Tracker {
    seen: HashMap<u64, Seen>,
    primed: bool,
    /// Orders placed from then on are announced by the first list too.
    since: Option<Timestamp>,
}

fn filled(f: Option<Filled>) -> Shares {
    f.map_or(Shares::ZERO, |f| f.quantity.shares())
}

impl Tracker {
    /// Orders placed at `t` or later are new to the listener (it began
    /// listening then), even when the first list holds them.
    pub fn since(&mut self, t: Timestamp) {
        if !self.primed {
            self.since = Some(t);
        }
    }

    /// The events between the last list and `lines` (newest first, as
    /// `getOrders` gives them), oldest first.
    pub fn update(&mut self, lines: &[OrderLine], book: &Book) -> Vec<Value> {
        let mut events = Vec::new();
        let mut ordered: Vec<&OrderLine> = lines.iter().collect();
        ordered.sort_by_key(|l| (l.updated, l.id));
        let primed = self.primed;
        for line in ordered {
            let now = Seen {
                status: line.status,
                filled: filled(line.filled),
                avg: line.filled.map_or(Money::ZERO, |f| f.avg),
            };
            let before = self.seen.insert(line.id, now);
            let fresh = self.since.is_some_and(|t| line.created >= t);
            if !primed && !fresh {
                continue;
            }
            let was = before.unwrap_or(Seen {
                status: OrderStatus::Open,
                filled: Shares::ZERO,
                avg: Money::ZERO,
            });
            if before.is_none() {
                events.push(event("new", line, book, None));
            }
            if now.filled.0 > was.filled.0 {
                let kind = if now.status == OrderStatus::Filled {
                    "fill"
                } else {
                    "partial_fill"
                };
                let part = Shares(now.filled.0 - was.filled.0);
                let price = part_price(was, now, part);
                events.push(event(kind, line, book, Some((part, price))));
            }
            if now.status != was.status {
                let kind = match now.status {
                    OrderStatus::Cancelled => Some("canceled"),
                    OrderStatus::Expired => Some("expired"),
                    OrderStatus::Replaced => Some("replaced"),
                    OrderStatus::Rejected => Some("rejected"),
                    _ => None,
                };
                events.extend(kind.map(|k| event(k, line, book, None)));
            }
        }
        // Orders that fell off the list (over 500) are forgotten.
        if self.seen.len() > lines.len() {
            let live: std::collections::HashSet<u64> = lines.iter().map(|l| l.id).collect();
            self.seen.retain(|id, _| live.contains(id));
        }
        self.primed = true;
        events
    }
}

/// One `trade_updates` message.
/// The price of the part that filled between `was` and `now`: what the
/// filled shares cost now less what they cost then, over the part.
fn part_price(was: Seen, now: Seen, part: Shares) -> Money {
    let cost = |s: Seen| i128::from(s.avg.0) * i128::from(s.filled.0);
    if part.0 <= 0 {
        return now.avg;
    }
    let price =
        papertrader_common::value::round_half_away(cost(now) - cost(was), i128::from(part.0));
    i64::try_from(price).map(Money).unwrap_or(now.avg)
}

/// One `trade_updates` message; for a fill, its part and price.
fn event(kind: &str, line: &OrderLine, book: &Book, part: Option<(Shares, Money)>) -> Value {
    let mut data = json!({
        "event": kind,
        "order": aj::order(line, book, None),
        "timestamp": rfc3339(line.updated),
    });
    if let (Some((part, price)), Some(f)) = (part, line.filled) {
        data["execution_id"] = Value::String(named_uuid(
            "execution",
            &format!("{}:{}", line.id, f.quantity),
        ));
        data["price"] = money(price);
        data["qty"] = Value::String(part.to_string());
    }
    json!({"stream": "trade_updates", "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;
    use papertrader_common::payload::Line;

    fn lines(text: &str) -> Vec<OrderLine> {
        text.lines()
            .map(|l| OrderLine::parse(l).expect("order line"))
            .collect()
    }

    fn kinds(events: &[Value]) -> Vec<String> {
        events
            .iter()
            .map(|e| {
                let order = e["data"]["order"]["id"].as_str().unwrap_or_default();
                format!(
                    "{} {}",
                    e["data"]["event"].as_str().unwrap_or_default(),
                    &order[order.len() - 2..]
                )
            })
            .collect()
    }

    #[test]
    fn messages_a_bot_sends() {
        let auth = br#"{"action":"authenticate","data":{"key_id":"PKAAAAAAAAAAAAAAAAAB","secret_key":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}"#;
        assert!(matches!(inbound(auth), Inbound::Auth(Ok(_))));
        let old = br#"{"action":"auth","key":"PKAAAAAAAAAAAAAAAAAB","secret":"nope"}"#;
        assert_eq!(inbound(old), Inbound::Auth(Err(())));
        let listen = br#"{"action":"listen","data":{"streams":["trade_updates","x"]}}"#;
        assert_eq!(
            inbound(listen),
            Inbound::Listen(vec!["trade_updates".into(), "x".into()])
        );
        assert!(matches!(inbound(b"[]"), Inbound::Bad(_)));
        assert!(matches!(
            inbound(b"{\"action\":\"dance\"}"),
            Inbound::Bad(_)
        ));
        assert!(matches!(inbound(b"\xff"), Inbound::Bad(_)));
        assert_eq!(
            listening(&["trade_updates".into(), "x".into()])["data"]["streams"],
            json!(["trade_updates"])
        );
        assert_eq!(authorization(true)["data"]["status"], "authorized");
    }

    #[test]
    fn a_part_is_priced_alone_and_orders_since_listening_are_new() {
        let book = Book::default();
        let mut t = Tracker::default();
        t.since(papertrader_common::value::Timestamp(1_732_147_400));
        let first = lines(
            "4 1732147400 buy AAPL 4 market - - day open 1732147400 - filled=1 avg=10.0000\n\
             3 1732147300 buy AAPL 1 limit 1.0000 - gtc open 1732147300 -",
        );
        let events = t.update(&first, &book);
        assert_eq!(
            kinds(&events),
            ["new 04", "partial_fill 04"],
            "placed since listening"
        );
        let second = lines(
            "4 1732147400 buy AAPL 4 market - - day filled 1732147460 9 filled=4 avg=12.5000\n\
             3 1732147300 buy AAPL 1 limit 1.0000 - gtc open 1732147300 -",
        );
        let events = t.update(&second, &book);
        assert_eq!(kinds(&events), ["fill 04"]);
        assert_eq!(
            events[0]["data"]["price"], "13.3333",
            "the part's price, not the average"
        );
        assert_eq!(events[0]["data"]["qty"], "3");
    }

    #[test]
    fn events_come_in_order_once() {
        let book = Book::default();
        let mut t = Tracker::default();
        let first = lines("1 1732147200 buy AAPL 2 limit 100.0000 - gtc open 1732147200 -");
        assert!(t.update(&first, &book).is_empty(), "the first list primes");
        let second = lines(
            "3 1732147300 buy AAPL 1 market - - day open 1732147300 -\n\
             2 1732147250 sell AAPL 1 limit 200.0000 - gtc cancelled 1732147290 -\n\
             1 1732147200 buy AAPL 2 limit 100.0000 - gtc open 1732147260 - filled=1 avg=100.0000",
        );
        let events = t.update(&second, &book);
        assert_eq!(
            kinds(&events),
            ["partial_fill 01", "new 02", "canceled 02", "new 03"]
        );
        assert_eq!(events[0]["data"]["qty"], "1");
        assert_eq!(events[0]["data"]["price"], "100.0000");

        let third = lines(
            "3 1732147300 buy AAPL 1 market - - day filled 1732147320 9 filled=1 avg=189.5000\n\
             2 1732147250 sell AAPL 1 limit 200.0000 - gtc cancelled 1732147290 -\n\
             1 1732147200 buy AAPL 2 limit 100.0000 - gtc filled 1732147310 8 filled=2 avg=100.0000",
        );
        let events = t.update(&third, &book);
        assert_eq!(kinds(&events), ["fill 01", "fill 03"]);
        assert!(
            t.update(&third, &book).is_empty(),
            "nothing new, nothing said"
        );
        assert_ne!(
            events[0]["data"]["execution_id"],
            events[1]["data"]["execution_id"]
        );
    }
}
