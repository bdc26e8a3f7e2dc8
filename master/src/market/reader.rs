//! The "data" threads: answer the data instructions (PROTOCOL.md section
//! 4, codes 16-22 and 26) from SQLite. Each owns a read connection (WAL
//! lets readers run beside the writer) and turns an answer into REQID-
//! tagged `data` packets for the event loop to send.

use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::Receiver;
use mio::Token;
use papertrader_common::message::frame;
use papertrader_common::request::{Range, Request, UserView};
use papertrader_common::transfer;
use papertrader_common::value::{Date, Reason, ReasonCode, Symbol, Timestamp};
use papertrader_common::{Frame, Instr, MAX_DATA, MessageType};
use parking_lot::RwLock;
use rusqlite::Connection;

use super::{Asset, assets, store};
use crate::event::{Event, Notifier};

/// A data request forwarded by a worker.
#[derive(Debug)]
pub struct DataJob {
    /// The worker link it came on.
    pub token: Token,
    /// The worker's REQID.
    pub reqid: String,
    /// The data request, parsed.
    pub request: Request,
}

/// Starts `conns.len()` data threads, one per connection.
pub fn spawn(
    conns: Vec<Connection>,
    assets: Arc<RwLock<Vec<Asset>>>,
    jobs: Receiver<DataJob>,
    notifier: Notifier,
) -> io::Result<Vec<JoinHandle<()>>> {
    conns
        .into_iter()
        .enumerate()
        .map(|(i, conn)| {
            let (assets, jobs, notifier) = (assets.clone(), jobs.clone(), notifier.clone());
            thread::Builder::new()
                .name(format!("data-{i}"))
                .spawn(move || {
                    for job in jobs.iter() {
                        let listed = assets.read().clone();
                        let frames = answer(&conn, &listed, &job);
                        if !notifier.send(Event::Replies {
                            token: job.token,
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
pub fn answer(conn: &Connection, listed: &[Asset], job: &DataJob) -> Vec<Frame> {
    match payload(conn, listed, job) {
        Ok(payload) => packets(&job.reqid, payload.as_bytes()),
        Err(reason) => vec![frame(
            Instr::DataFail,
            &[job.reqid.clone(), reason.to_string()],
        )],
    }
}

fn payload(conn: &Connection, listed: &[Asset], job: &DataJob) -> Result<String, Reason> {
    let now = Timestamp::now();
    match &job.request {
        Request::AssetList => Ok(assets::list_payload(listed)),
        Request::User {
            view,
            session,
            username,
        } => {
            let viewer = crate::auth::session_account(conn, session, now)?;
            let user = username.as_str();
            match view {
                UserView::Info => crate::trade::user_info(conn, viewer.0, user),
                UserView::Portfolio => crate::trade::portfolio(conn, viewer.0, user),
                UserView::Transactions => crate::trade::history(conn, viewer.0, user),
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
    log::error!("history query for {symbol}: {err}");
    Reason::new(
        ReasonCode::Internal,
        "the history could not be read; try again",
    )
}

fn no_price(symbol: &Symbol) -> Reason {
    Reason::new(
        ReasonCode::Unavailable,
        format!("no price for {symbol} yet"),
    )
}

/// `SYMBOL PRICE TIMESTAMP`.
fn current(conn: &Connection, symbol: &Symbol) -> rusqlite::Result<Result<String, Reason>> {
    Ok(match store::last_tick(conn, symbol)? {
        Some(tick) => Ok(format!("{symbol} {} {}\n", tick.close, tick.time)),
        None => Err(no_price(symbol)),
    })
}

/// `SYMBOL OPEN HIGH LOW CLOSE VOLUME TIMESTAMP` for the current UTC day.
fn info(conn: &Connection, symbol: &Symbol) -> rusqlite::Result<Result<String, Reason>> {
    let Some(tick) = store::last_tick(conn, symbol)? else {
        return Ok(Err(no_price(symbol)));
    };
    let today = Date::of_timestamp(Timestamp::now());
    Ok(match store::daily_bar(conn, symbol, today)? {
        Some(d) => Ok(format!(
            "{symbol} {} {} {} {} {} {}\n",
            d.open, d.high, d.low, d.close, d.volume, tick.time
        )),
        None => Err(no_price(symbol)),
    })
}

/// `data` packets on the master link: argument count 1, data `REQID chunk`.
pub fn packets(reqid: &str, payload: &[u8]) -> Vec<Frame> {
    let room = MAX_DATA - reqid.len() - 1;
    let chunks = transfer::chunk(payload, room).expect("a history answer fits one transfer");
    chunks
        .map(|p| {
            let mut data = Vec::with_capacity(reqid.len() + 1 + p.chunk.len());
            data.extend_from_slice(reqid.as_bytes());
            data.push(b' ');
            data.extend_from_slice(p.chunk);
            let mut f = Frame::new(MessageType::Return, Instr::Data.code(), 1, data);
            f.data_message_number = p.number;
            f.data_message_max = p.max;
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_carry_the_reqid_and_fit_the_limit() {
        let payload = vec![b'x'; 150_000];
        let frames = packets("12345", &payload);
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
        let empty = packets("7", b"");
        assert_eq!((empty.len(), empty[0].data.as_slice()), (1, &b"7 "[..]));
    }
}
