//! The "data-N" threads: answer the data instructions (PROTOCOL.md section
//! 4, codes 16-22 and 26) from SQLite. Each owns a read connection (WAL
//! lets readers run beside the writer) and turns an answer into REQID-
//! tagged `data` packets for the event loop to send.

use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::Receiver;
use papertrader_common::payload::{Current, Info, Line};
use papertrader_common::reply::Reply;
use papertrader_common::request::{Range, Request, UserView};
use papertrader_common::transfer;
use papertrader_common::value::{Date, Reason, ReasonCode, Symbol, Timestamp};
use papertrader_common::{Frame, Instr};
use parking_lot::RwLock;
use rusqlite::Connection;

use crate::event::{Event, Notifier};
use crate::job::{Job, ReplyTo};
use crate::market::{Asset, assets, store};
use crate::trade::standing::Board;

/// Starts `conns.len()` data threads, one per connection; they answer
/// `getLeaderboard` from `board`.
pub fn spawn(
    conns: Vec<Connection>,
    assets: Arc<RwLock<Vec<Asset>>>,
    board: Board,
    terms: assets::SharedTerms,
    jobs: Receiver<Job>,
    notifier: Notifier,
) -> io::Result<Vec<JoinHandle<()>>> {
    conns
        .into_iter()
        .enumerate()
        .map(|(i, conn)| {
            let (assets, jobs, notifier) = (assets.clone(), jobs.clone(), notifier.clone());
            let (board, terms) = (board.clone(), terms.clone());
            thread::Builder::new()
                .name(format!("data-{i}"))
                .spawn(move || {
                    for job in jobs.iter() {
                        let listed = assets.read().clone();
                        // Read in place: only the trade thread writes it,
                        // when the asset thread's markets change.
                        let terms = terms.read();
                        let known = Known {
                            listed: &listed,
                            terms: &terms,
                            board: &board,
                        };
                        let frames = answer(&conn, &known, &job);
                        if !notifier.send(Event::Replies {
                            token: job.to.link,
                            frames,
                        }) {
                            return;
                        }
                    }
                })
        })
        .collect()
}

/// The whole answer to one job: data packets, or one `dataFail`.
/// What a data thread knows besides the database: the asset list, each
/// asset's terms, and the standings thread's board.
pub struct Known<'a> {
    /// The asset list.
    pub listed: &'a [Asset],
    /// Each asset's market and fractions.
    pub terms: &'a std::collections::HashMap<Symbol, assets::Terms>,
    /// The leaderboard's ranker.
    pub board: &'a Board,
}

/// The frames that answer `job`: its payload as packets, or `dataFail`.
pub fn answer(conn: &Connection, known: &Known<'_>, job: &Job) -> Vec<Frame> {
    match payload(conn, known, &job.request) {
        Ok(payload) => packets(&job.to, payload.as_bytes()),
        Err(reason) => vec![job.to.frame(&Reply::failure(Instr::DataFail, reason))],
    }
}

fn payload(conn: &Connection, known: &Known<'_>, request: &Request) -> Result<String, Reason> {
    let (listed, board) = (known.listed, known.board);
    let now = Timestamp::now();
    match request {
        Request::AssetList => Ok(assets::list_payload(listed)),
        Request::AssetDetails => Ok(assets::details_payload(listed, known.terms)),
        Request::User {
            view,
            session,
            username,
        } => {
            let viewer = crate::auth::session_viewer(conn, session, now)?;
            let user = username.as_str();
            match view {
                UserView::Info => crate::trade::user_info(conn, viewer, user),
                UserView::Portfolio => crate::trade::portfolio(conn, viewer, user),
                UserView::Transactions => crate::trade::history(conn, viewer, user),
            }
        }
        Request::AssetCurrent { symbol } => {
            listed_asset(listed, symbol)?;
            current(conn, symbol).map_err(|e| internal(symbol, e))?
        }
        Request::AssetInfo { symbol } => {
            listed_asset(listed, symbol)?;
            info(conn, symbol).map_err(|e| internal(symbol, e))?
        }
        Request::History {
            range,
            symbol,
            date,
        } => {
            listed_asset(listed, symbol)?;
            let bars = match (range, date) {
                (Range::Day, Some(date)) => store::day(conn, symbol, *date),
                (Range::Week, Some(date)) => store::week(conn, symbol, *date),
                (Range::Month, Some(date)) => store::month(conn, symbol, *date),
                (Range::Year, Some(date)) => store::year(conn, symbol, *date),
                _ => store::all_time(conn, symbol),
            };
            Ok(store::lines(&bars.map_err(|e| internal(symbol, e))?))
        }
        Request::Orders { session } => {
            let viewer = crate::auth::session_viewer(conn, session, now)?;
            let lines = crate::trade::orders::listed(conn, viewer.book)?;
            Ok(papertrader_common::payload::write_lines(&lines))
        }
        // Ranked by the standings thread, at most once per price set;
        // here only without one (never a second copy of every account
        // per data thread while the thread is still loading them).
        Request::Leaderboard => match board.answer() {
            Some(payload) => Ok(payload),
            None if board.has_ranker() => Err(Reason::new(
                ReasonCode::Unavailable,
                "the leaderboard is being computed; try again in a minute",
            )),
            None => crate::trade::standing::leaderboard(conn),
        },
        Request::Keys { session } => {
            let lines = crate::auth::keys::listed(conn, session, now)?;
            Ok(papertrader_common::payload::write_lines(&lines))
        }
        Request::Watchlist { session } => {
            let lines = crate::watchlist::listed(conn, session, now)?;
            Ok(papertrader_common::payload::write_lines(&lines))
        }
        Request::EquityHistory { session, username } => {
            let viewer = crate::auth::session_viewer(conn, session, now)?;
            let today = Date::of_timestamp(now);
            crate::trade::standing::equity_history(conn, viewer, username, today)
        }
        Request::Portfolios { session } => {
            let viewer = crate::auth::session_viewer(conn, session, now)?;
            crate::trade::game_views::portfolios(conn, viewer)
        }
        Request::GameView { session, view } => {
            let viewer = crate::auth::session_viewer(conn, session, now)?;
            crate::trade::game_views::answer(conn, viewer.login, view, known.board, now)
        }
        other => {
            let text = format!("{} is not a data instruction", other.instr().name());
            Err(Reason::new(ReasonCode::BadArguments, text))
        }
    }
}

/// `unknown-asset` unless `symbol` is in the asset list.
fn listed_asset(listed: &[Asset], symbol: &Symbol) -> Result<(), Reason> {
    if listed.iter().any(|a| &a.symbol == symbol) {
        return Ok(());
    }
    let text = format!("{symbol} is not in the asset list");
    Err(Reason::new(ReasonCode::UnknownAsset, text))
}

/// Logs a failed history read; the client sees `internal`.
fn internal(symbol: &Symbol, err: rusqlite::Error) -> Reason {
    papertrader_common::error!("history query for {symbol}: {err}");
    let text = "the history could not be read; try again";
    Reason::new(ReasonCode::Internal, text)
}

fn no_price(symbol: &Symbol) -> Reason {
    let text = format!("no price for {symbol} yet");
    Reason::new(ReasonCode::Unavailable, text)
}

/// The getAssetValueCurrent line of the last tick.
fn current(conn: &Connection, symbol: &Symbol) -> rusqlite::Result<Result<String, Reason>> {
    Ok(match store::last_tick(conn, symbol)? {
        Some(tick) => Ok(Current {
            symbol: symbol.clone(),
            price: tick.close,
            time: tick.time,
        }
        .to_line()),
        None => Err(no_price(symbol)),
    })
}

/// The getAssetInfo line: the current UTC day so far, stamped with the
/// last tick's time.
fn info(conn: &Connection, symbol: &Symbol) -> rusqlite::Result<Result<String, Reason>> {
    let Some(tick) = store::last_tick(conn, symbol)? else {
        return Ok(Err(no_price(symbol)));
    };
    let today = Date::of_timestamp(Timestamp::now());
    Ok(match store::daily_bar(conn, symbol, today)? {
        Some(d) => Ok(Info {
            symbol: symbol.clone(),
            open: d.open,
            high: d.high,
            low: d.low,
            close: d.close,
            volume: d.volume,
            time: tick.time,
        }
        .to_line()),
        None => Err(no_price(symbol)),
    })
}

/// `data` packets on the master link (argument count 1, data `REQID
/// chunk`), or a `dataFail` `internal` for a payload that cannot be sent.
pub fn packets(to: &ReplyTo, payload: &[u8]) -> Vec<Frame> {
    transfer::packets(Instr::Data, payload, Some(&to.reqid)).unwrap_or_else(|err| {
        papertrader_common::error!("cannot send a data answer: {err}");
        let text = "the answer is too large to send; nothing was changed";
        let reply = Reply::fail(Instr::DataFail, ReasonCode::Internal, text);
        vec![to.frame(&reply)]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use papertrader_common::MAX_DATA;

    fn to(reqid: &str) -> ReplyTo {
        ReplyTo {
            link: mio::Token(3),
            reqid: reqid.to_string(),
        }
    }

    #[test]
    fn packets_carry_the_reqid_and_fit_the_limit() {
        let payload = vec![b'x'; 150_000];
        let frames = packets(&to("12345"), &payload);
        assert_eq!(frames.len(), 3);
        for (i, f) in frames.iter().enumerate() {
            assert!(f.data.len() <= MAX_DATA);
            assert!(f.data.starts_with(b"12345 "));
            assert_eq!(
                (f.data_message_number, f.data_message_max),
                (i as u32 + 1, 3)
            );
            assert_eq!(f.argument_count, 1);
        }
        let total: usize = frames.iter().map(|f| f.data.len() - 6).sum();
        assert_eq!(total, payload.len());
        let empty = packets(&to("7"), b"");
        assert_eq!((empty.len(), empty[0].data.as_slice()), (1, &b"7 "[..]));
    }

    #[test]
    fn a_payload_too_large_to_send_is_a_data_fail_not_a_panic() {
        // 65 536 packets of 65 515 bytes: a payload beyond is refused.
        let frames = packets(&to("12"), &vec![b'x'; 10 << 20]);
        assert_eq!(frames.len(), 161, "fits with a short REQID");
        let huge = vec![b'x'; (MAX_DATA - 3) * 65_536 + 1];
        let frames = packets(&to("12"), &huge);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].instruction, Instr::DataFail.code());
        assert!(frames[0].data.starts_with(b"12 internal "));
    }

    #[test]
    fn data_fail_carries_the_reqid() {
        let conn = Connection::open_in_memory().expect("sqlite");
        let job = Job {
            to: to("17"),
            origin: crate::job::Origin {
                client: "127.0.0.1:1".into(),
                worker: "w".into(),
                arrival_ms: 0,
            },
            request: Request::AssetInfo {
                symbol: Symbol::parse("ZZZ").expect("symbol"),
            },
        };
        let known = Known {
            listed: &[],
            terms: &std::collections::HashMap::new(),
            board: &Board::default(),
        };
        let frames = answer(&conn, &known, &job);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].instruction, Instr::DataFail.code());
        assert_eq!(frames[0].argument_count, 2);
        assert_eq!(
            frames[0].data,
            b"17 unknown-asset ZZZ is not in the asset list"
        );
    }
}
