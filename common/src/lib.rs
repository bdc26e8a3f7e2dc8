//! PaperTrader common crate: everything more than one binary needs.
//!
//! The wire protocol of `papertrader-protocol(7)` (frame codec, instruction
//! table, arguments, value types, requests, payload lines, data
//! transfers, one framed connection over any transport), the `key = value`
//! config parser and the bounded log system. This crate opens no socket.
//! It starts the log system's "log" thread itself ([`log::init`]), so that
//! no other thread ever writes the log file; the helper threads both
//! daemons share ([`threads`]) are started when a daemon asks for them.
#![warn(missing_docs)]

// First, so that the modules below can name the logging macros: inside
// this crate only their textual scope works, not `crate::info!`.
#[macro_use]
mod macros;

pub mod args;
#[cfg(feature = "calendar")]
pub mod calendar;
pub mod conf;
pub mod daemon;
pub mod event_loop;
pub mod frame;
pub mod framed;
#[cfg(feature = "gpg")]
pub mod gpg;
pub mod instr;
pub mod listen;
pub mod log;
pub mod message;
pub mod notify;
pub mod payload;
pub mod providers;
pub mod reply;
pub mod request;
pub mod threads;
#[cfg(feature = "tls")]
pub mod tls;
pub mod transfer;
pub mod value;

/// The `log` crate, for the expansions of [`info!`] and the other logging
/// macros in crates that name it otherwise.
#[doc(hidden)]
pub use ::log as __log_crate;

pub use frame::{Decoder, Frame, HEADER_LEN, Header, MAX_DATA, MessageType};
pub use instr::{Arity, Instr, State};
pub use value::{Money, Reason, ReasonCode};

#[cfg(test)]
mod vectors {
    //! The golden frames of `protocol-vectors.txt` (a copy of the shared
    //! file kept in the crate so the tests need nothing outside the repo).

    use crate::frame::decode;

    const VECTORS: &str = include_str!("../testdata/protocol-vectors.txt");

    /// The frames protocol 1.2 adds (papertrader-protocol(7)).
    const VECTORS_1_2: &str = include_str!("../testdata/protocol-vectors-1.2.txt");

    /// `(name, bytes)` for every vector line.
    pub fn all() -> Vec<(&'static str, Vec<u8>)> {
        parse(VECTORS)
    }

    fn parse(text: &'static str) -> Vec<(&'static str, Vec<u8>)> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (name, hex) = l.split_once(' ').expect("name hex");
                (name, unhex(hex.trim()))
            })
            .collect()
    }

    fn unhex(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit pair"))
            .collect()
    }

    #[test]
    fn every_vector_decodes_and_encodes_back() {
        let vectors = all();
        assert_eq!(vectors.len(), 20);
        for (name, bytes) in vectors {
            let (frame, used) = decode(&bytes).expect(name).expect(name);
            assert_eq!(used, bytes.len(), "{name}: one whole frame");
            assert_eq!(frame.to_bytes(), bytes, "{name}: re-encodes identically");
            crate::message::check(&frame, 0).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn vectors_of_1_2_decode_encode_and_read_exactly() {
        use crate::reply::Reply;
        use crate::request::{GameOp, GameView, JoinBy, PortfolioOp, Request};
        let vectors = parse(VECTORS_1_2);
        assert_eq!(vectors.len(), 62);
        let mut quantities = Vec::new();
        for (name, bytes) in vectors {
            let (frame, used) = decode(&bytes).expect(name).expect(name);
            assert_eq!(used, bytes.len(), "{name}: one whole frame");
            assert_eq!(frame.to_bytes(), bytes, "{name}: re-encodes identically");
            let checked =
                crate::message::check(&frame, 0).unwrap_or_else(|e| panic!("{name}: {e}"));
            // A push is one packet of a transfer, numbered as data's.
            if checked.instr == crate::Instr::Prices {
                let text = std::str::from_utf8(&frame.data).expect("utf-8");
                quantities.push(format!("prices {}", text.lines().count()));
                continue;
            }
            if checked.instr.kind() == crate::MessageType::Return {
                let reply = Reply::parse(&frame).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(reply.encode(None), frame, "{name}: typed and back");
                match reply {
                    Reply::Filled(fill) => quantities.push(fill.quantity.to_string()),
                    Reply::OrderAccepted(id) => quantities.push(format!("order {id}")),
                    Reply::Failure { reason, .. } => {
                        quantities.push(reason.code.as_str().to_string())
                    }
                    Reply::KeyCreated { id, secret } => {
                        quantities.push(format!("key {id} {}", &secret.as_str()[..4]))
                    }
                    Reply::KeyRevoked(id) => quantities.push(format!("revoked {id}")),
                    Reply::KeySession { session, username } => {
                        quantities.push(format!("{username} {}", &session.as_str()[..4]))
                    }
                    Reply::WatchlistUpdated(symbol) => quantities.push(format!("updated {symbol}")),
                    Reply::PortfolioUpdated { id, name } => {
                        quantities.push(format!("portfolio {id} {name}"))
                    }
                    Reply::GameCreated { id, code } => quantities.push(format!("game {id} {code}")),
                    Reply::GameUpdated(id) => quantities.push(format!("game {id}")),
                    // A payload of 1.2 lines: read with the typed lines and
                    // written back to the same text.
                    Reply::Data(packet) => {
                        use crate::payload::{
                            GameDetail, GameLine, PortfolioLine, Standing, parse_lines, write_lines,
                        };
                        let text = std::str::from_utf8(&packet.chunk).expect("utf-8");
                        let again = match name {
                            "data-getPortfolios" => {
                                write_lines(&parse_lines::<PortfolioLine>(text).expect(name))
                            }
                            "data-getGames" => {
                                write_lines(&parse_lines::<GameLine>(text).expect(name))
                            }
                            "data-getGame" => {
                                write_lines(&parse_lines::<GameDetail>(text).expect(name))
                            }
                            "data-getStandings" => {
                                write_lines(&parse_lines::<Standing>(text).expect(name))
                            }
                            _ => panic!("{name}: which lines?"),
                        };
                        assert_eq!(again, text, "{name}: lines typed and back");
                        quantities.push(format!("{name} {}", text.lines().count()));
                    }
                    other => panic!("{name}: {other:?}"),
                }
            } else {
                let request = Request::parse(checked.instr, &checked.args)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(request.encode(), frame, "{name}: typed and back");
                match request {
                    Request::Trade { size, .. } => quantities.push(size.to_string()),
                    Request::PlaceOrder { order, .. } => quantities.push(format!(
                        "{} {} {}",
                        order.quantity,
                        order.kind.name(),
                        order.kind.stop_arg()
                    )),
                    Request::PlaceOrderClass { order, class, .. } => quantities.push(format!(
                        "{} {} {} {:?}",
                        class.class.name(),
                        order.quantity,
                        order.kind.name(),
                        class.legs()
                    )),
                    Request::ReplaceOrder { id, change, .. } => quantities.push(format!(
                        "{id}: {:?} {:?} {:?} {:?}",
                        change.quantity.map(|q| q.to_string()),
                        change.limit.map(|p| p.to_string()),
                        change.stop,
                        change.tif
                    )),
                    Request::CreateKey { label, .. } => quantities.push(format!("create {label}")),
                    Request::Keys { .. } => quantities.push("keys".into()),
                    Request::AssetDetails => quantities.push("details".into()),
                    Request::Tagged { client, inner } => {
                        quantities.push(format!("{client} {}", inner.instr().name()))
                    }
                    Request::RevokeKey { id, .. } => quantities.push(format!("revoke {id}")),
                    Request::LoginKey { id, secret } => {
                        quantities.push(format!("login {id} {}", &secret.as_str()[..4]))
                    }
                    Request::Watchlist { .. } => quantities.push("watchlist".into()),
                    Request::Watch { symbol, .. } => quantities.push(format!("watch {symbol}")),
                    Request::Unwatch { symbol, .. } => quantities.push(format!("unwatch {symbol}")),
                    Request::WatchPrices => quantities.push("watch prices".into()),
                    Request::Portfolio { op, .. } => quantities.push(match op {
                        PortfolioOp::Create { cash, name } => format!(
                            "create {} {name}",
                            cash.map_or_else(|| "-".to_string(), |c| c.to_string())
                        ),
                        PortfolioOp::Rename { id, name } => format!("rename {id} {name}"),
                        PortfolioOp::Close { id } => format!("close {id}"),
                        PortfolioOp::Use { id } => format!("use {id}"),
                    }),
                    Request::Portfolios { .. } => quantities.push("portfolios".into()),
                    Request::Game { op, .. } => quantities.push(match op {
                        GameOp::Create(rules) => format!(
                            "create {:?} {} {}",
                            rules.name,
                            rules.cash,
                            rules.holdings.as_str()
                        ),
                        GameOp::Change { id, rules } => format!(
                            "change {id} {:?} {:?} {}",
                            rules.assets.as_ref().map(Vec::len),
                            rules.cap,
                            rules.public
                        ),
                        GameOp::Join(JoinBy::Code(code)) => format!("join code {code}"),
                        GameOp::Join(JoinBy::Id(id)) => format!("join {id}"),
                        GameOp::Leave(id) => format!("leave {id}"),
                        GameOp::Remove { id, username } => format!("remove {id} {username}"),
                        GameOp::NewCode(id) => format!("new code {id}"),
                    }),
                    Request::GameView { view, .. } => quantities.push(match view {
                        GameView::List => "games".to_string(),
                        GameView::Show(id) => format!("game {id}"),
                        GameView::Standings(id) => format!("standings {id}"),
                        GameView::Holdings { id, username } => format!("holdings {id} {username}"),
                    }),
                    other => panic!("{name}: {other:?}"),
                }
            }
        }
        assert_eq!(
            quantities,
            [
                "0.5",
                "0.123456789",
                "0.25 limit -",
                "0.5",
                "0.123456789",
                "bad-quantity",
                "unavailable",
                "100.0000",
                "0.5 trailing-stop 2.5%",
                "3 trailing-stop 1.5000",
                "17: None Some(\"171.5000\") None None",
                "18: Some(\"0.25\") None Some(Trail(Percent(300))) Some(Gtc)",
                "order 19",
                "bracket 2 limit [Limit(Money(1100000)), Stop(Money(900000))]",
                "oco 3 limit [Stop(Money(500000))]",
                "create trend-bot",
                "key PKBI2SQ6KWMV3XT7AEB4 0123",
                "keys",
                "revoke PKBI2SQ6KWMV3XT7AEB4",
                "revoked PKBI2SQ6KWMV3XT7AEB4",
                "too-many-keys",
                "login PKBI2SQ6KWMV3XT7AEB4 0123",
                "alice 9a3f",
                "details",
                "my-order-1 placeOrder",
                "ccxt_00ff placeOrderClass",
                "watchlist",
                "watch AAPL",
                "unwatch BTC",
                "updated AAPL",
                "watchlist-full",
                "watch prices",
                "prices 2",
                "create - swing",
                "create 25000.0000 bot-1.v2",
                "rename 2 long-term",
                "close 2",
                "use 2",
                "portfolios",
                "portfolio 2 swing",
                "portfolio-exists",
                "portfolio-busy",
                "create \"Spring cup 2027\" 50000.0000 always",
                "change 7 Some(3) Some(25) true",
                "join code K7XQ2M4PZRWA",
                "join 7",
                "leave 7",
                "remove 7 bob",
                "new code 7",
                "games",
                "game 7",
                "standings 7",
                "holdings 7 bob",
                "game 7 K7XQ2M4PZRWA",
                "game 7",
                "game-rule",
                "unknown-game",
                "game-rule",
                "data-getPortfolios 5",
                "data-getGames 3",
                "data-getGame 1",
                "data-getStandings 4",
            ]
        );
    }

    #[test]
    fn copy_matches_shared_file_when_present() {
        let shared = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/protocol-vectors.txt"
        );
        if let Ok(text) = std::fs::read_to_string(shared) {
            assert_eq!(text, VECTORS, "common/testdata is out of date with shared/");
        }
    }

    #[test]
    fn vector_values_parse() {
        use crate::value::{Money, SessionId, Username};
        let login = &all()
            .into_iter()
            .find(|(n, _)| *n == "login")
            .expect("login")
            .1;
        let (frame, _) = decode(login).expect("ok").expect("whole");
        let args = crate::args::split(&frame.data, frame.argument_count).expect("3 args");
        assert_eq!(Username::parse(args[0]).expect("alice").as_str(), "alice");
        assert!(SessionId::parse("0f1e2d3c4b5a69788796a5b4c3d2e1f0").is_ok());
        assert_eq!(
            Money::parse("189.5000").expect("price").to_string(),
            "189.5000"
        );
    }
}
