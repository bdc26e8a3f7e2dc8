//! The real providers as [`Provider`]s ([`Live`]): one thread per real
//! provider in use ("price-yahoo", ...) sends that provider's requests
//! (`super::api`), paced within its limit and spread over the update
//! interval, retries with exponential backoff and jitter on 429, 5xx and
//! timeouts, and reports quotes, failures and history on a channel. The
//! "asset" thread (`super::feed`) owns the [`Live`] end: it sends the
//! thread its symbols and history jobs and takes the reports when it
//! polls, so a slow or failing provider delays only its own assets.
//! Dropping the [`Live`] stops the thread.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use papertrader_common::value::{Date, Symbol, Timestamp};
use rand::Rng;

use super::api::{Api, Failure, Limit, Quote, Request, get, shown_url};
use super::error::{Context, FeedError};
use super::provider::{History, HistoryJob, Provider, Update, price_bar, sort_bars};

/// Seconds a quote's time may be ahead of ours (clock skew) before it is
/// refused as "in the future".
pub const FUTURE_SLACK_S: i64 = 300;
/// Attempts of one request before its failure is reported.
const ATTEMPTS: u32 = 3;
/// First backoff; doubles with each failure in a row ...
const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// ... up to this.
const BACKOFF_CAP: Duration = Duration::from_secs(300);

/// Work for a provider thread.
#[derive(Debug)]
enum Job {
    /// The assets to quote from now on: (our symbol, the provider's).
    Symbols(Vec<(Symbol, String)>),
    /// Daily history of one asset.
    History(HistoryJob),
}

/// What a provider thread reports.
#[derive(Debug)]
enum Report {
    /// A good quote.
    Quote(Symbol, Quote),
    /// No good quote this time, and why (already logged).
    Failed(Symbol, FeedError),
    /// A history job's result.
    History(Symbol, Result<History, FeedError>),
}

/// How a provider thread runs.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// The update interval: quotes are spread over it.
    pub interval: Duration,
    /// Limit on each request.
    pub timeout: Duration,
    /// Largest answer accepted.
    pub max_bytes: usize,
}

/// A real provider: its thread's job sender and report receiver.
pub struct Live {
    name: &'static str,
    jobs: Sender<Job>,
    reports: Receiver<Report>,
    /// Each asset's day and cumulative volume last seen.
    volumes: HashMap<Symbol, (Date, u64)>,
}

impl Live {
    /// Starts the thread that asks `api`, within `limit`.
    pub fn spawn(api: Box<dyn Api>, limit: Limit, pace: Pace) -> io::Result<Live> {
        let name = api.name();
        let (jobs, jobs_rx) = crossbeam_channel::unbounded();
        let (reports_tx, reports) = crossbeam_channel::unbounded();
        thread::Builder::new()
            .name(format!("price-{name}"))
            .spawn(move || {
                let mut runner = Runner {
                    provider: api,
                    limit,
                    pace,
                    updates: reports_tx,
                    symbols: Vec::new(),
                    next: 0,
                    histories: VecDeque::new(),
                    retries: 0,
                    next_at: Instant::now(),
                    failures_in_row: 0,
                    last_reason: HashMap::new(),
                };
                runner.run(&jobs_rx);
            })?;
        Ok(Live {
            name,
            jobs,
            reports,
            volumes: HashMap::new(),
        })
    }

    /// Shares traded since the last quote, from the day's cumulative
    /// volume where the provider gives it; else 0.
    fn volume_since(&mut self, symbol: &Symbol, quote: &Quote) -> u64 {
        let Some(volume) = quote.day_volume else {
            return 0;
        };
        let day = Date::of_timestamp(quote.time);
        let delta = match self.volumes.get(symbol) {
            Some(&(seen, before)) if seen == day => volume.saturating_sub(before),
            _ => 0,
        };
        self.volumes.insert(symbol.clone(), (day, volume));
        delta
    }
}

impl Provider for Live {
    fn name(&self) -> &'static str {
        self.name
    }

    // A send fails only when the thread is gone, and then nothing is left
    // to tell: its assets go stale.
    fn set_symbols(&mut self, symbols: Vec<(Symbol, String)>) {
        let _ = self.jobs.send(Job::Symbols(symbols));
    }

    /// Real providers report splits and dividends, so their history is
    /// asked for again every day.
    fn tops_up(&self) -> bool {
        true
    }

    fn ask_history(&mut self, job: HistoryJob) {
        let _ = self.jobs.send(Job::History(job));
    }

    /// The latest quote of each asset since the last poll becomes its
    /// price, unless a failure came after it; a quote's bar is its price
    /// four times.
    fn poll(&mut self, now: Timestamp) -> Vec<Update> {
        let mut out = Vec::new();
        let mut fresh = BTreeMap::new();
        for report in self.reports.try_iter() {
            match report {
                Report::Quote(symbol, quote) => {
                    fresh.insert(symbol, quote);
                }
                Report::Failed(symbol, reason) => {
                    fresh.remove(&symbol);
                    out.push(Update::Failed(symbol, reason));
                }
                Report::History(symbol, result) => out.push(Update::History(symbol, result)),
            }
        }
        for (symbol, quote) in fresh {
            let volume = self.volume_since(&symbol, &quote);
            out.push(Update::Price(symbol, price_bar(now, quote.price, volume)));
        }
        out
    }
}

struct Runner {
    provider: Box<dyn Api>,
    limit: Limit,
    pace: Pace,
    updates: Sender<Report>,
    symbols: Vec<(Symbol, String)>,
    /// Index of the next symbol to quote.
    next: usize,
    histories: VecDeque<Task>,
    /// Retries spent on the symbol at `next`.
    retries: u32,
    /// No request before this.
    next_at: Instant,
    /// Retryable failures in a row, for the backoff.
    failures_in_row: u32,
    /// The last failure logged per symbol, so a provider that stays down
    /// is logged when it fails and when it recovers, not every interval.
    last_reason: HashMap<Symbol, FeedError>,
}

impl Runner {
    fn run(&mut self, jobs: &Receiver<Job>) {
        loop {
            let wait = self.next_at.saturating_duration_since(Instant::now());
            match jobs.recv_timeout(wait) {
                Ok(Job::Symbols(symbols)) => {
                    self.symbols = symbols;
                    self.next = 0;
                    continue;
                }
                Ok(Job::History(job)) => {
                    // Events are asked for through today, so that a split
                    // or dividend whose ex-date is today applies today;
                    // today's bar is still forming and is left out
                    // (`history_done` keeps `from..=to`).
                    let through = job.to.0.next_day().map_or(job.to, Date);
                    let requests = self
                        .provider
                        .history_requests(&job.remote, job.from, through);
                    self.histories.push_back(Task {
                        symbol: job.symbol,
                        remote: job.remote,
                        from: job.from,
                        to: job.to,
                        requests,
                        page: 0,
                        tries: 0,
                        acc: History::default(),
                    });
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if let Some(task) = self.histories.pop_front() {
                self.history_step(task);
            } else if !self.symbols.is_empty() {
                self.quote_next();
            } else {
                self.next_at = Instant::now() + self.pace.interval;
            }
        }
    }

    /// The spacing between two quote requests: the limit's, or the
    /// interval shared by the symbols, whichever is longer.
    fn quote_spacing(&self) -> Duration {
        let n = u32::try_from(self.symbols.len()).unwrap_or(u32::MAX).max(1);
        self.limit_spacing().max(self.pace.interval / n)
    }

    /// The limit's spacing, plus a millisecond so that a window of
    /// exactly `per` never holds one request too many.
    fn limit_spacing(&self) -> Duration {
        self.limit.spacing() + Duration::from_millis(1)
    }

    /// Sends one request (the pace allows it: `run` waited), then sets
    /// when the next may go: `spacing` later, or after the backoff.
    fn send(&mut self, request: &Request, spacing: Duration) -> Result<String, Failure> {
        let result = attempt(&*self.provider, request, self.pace);
        let mut next = Instant::now() + spacing;
        match &result {
            Err(Failure::Retry(_, retry_after)) => {
                self.failures_in_row = self.failures_in_row.saturating_add(1);
                let delay = backoff(self.failures_in_row).max(retry_after.unwrap_or_default());
                papertrader_common::debug!(
                    "{}: backing off {delay:?} after {} failures in a row",
                    self.provider.name(),
                    self.failures_in_row
                );
                next = next.max(Instant::now() + delay);
            }
            _ => self.failures_in_row = 0,
        }
        self.next_at = next;
        result
    }

    /// Quotes the next symbol. A retryable failure keeps the same symbol
    /// for the next turn (after the backoff) until ATTEMPTS are spent.
    fn quote_next(&mut self) {
        self.next %= self.symbols.len();
        let (symbol, remote) = self.symbols[self.next].clone();
        let Some(request) = self.provider.quote_request(&remote) else {
            self.next += 1;
            return;
        };
        let spacing = self.quote_spacing();
        let outcome = self.send(&request, spacing).and_then(|body| {
            let quote = self
                .provider
                .parse_quote(&remote, &body)
                .map_err(Failure::Bad)?;
            check_time(&quote)?;
            Ok(quote)
        });
        // A retryable failure keeps this symbol for the next turn, but
        // its asset is stale from now: it is reported at once.
        if matches!(outcome, Err(Failure::Retry(..))) && self.retries + 1 < ATTEMPTS {
            self.retries += 1;
        } else {
            self.retries = 0;
            self.next += 1;
        }
        let update = match outcome {
            Ok(quote) => {
                if self.last_reason.remove(&symbol).is_some() {
                    papertrader_common::info!(
                        "{}: {symbol} ({remote}) has prices again",
                        self.provider.name()
                    );
                }
                Report::Quote(symbol, quote)
            }
            Err(failure) => {
                let reason = self.failed(&remote, &request, failure);
                if self.last_reason.get(&symbol) != Some(&reason) {
                    papertrader_common::warn!("{symbol} has no price: {reason}");
                    self.last_reason.insert(symbol.clone(), reason.clone());
                } else {
                    papertrader_common::debug!("{symbol} still has no price: {reason}");
                }
                Report::Failed(symbol, reason)
            }
        };
        let _ = self.updates.send(update);
    }

    /// One request of the first history task; the task goes back to the
    /// front of the queue until its pages are done or it failed.
    fn history_step(&mut self, mut task: Task) {
        let Some(request) = task.requests.get(task.page).cloned() else {
            return self.history_done(task, Ok(()));
        };
        let spacing = self.limit_spacing();
        let outcome = self.send(&request, spacing).and_then(|body| {
            self.provider
                .parse_history(&task.remote, &body)
                .map_err(Failure::Bad)
        });
        match outcome {
            Ok(part) => {
                task.acc.bars.extend(part.bars);
                task.acc.actions.extend(part.actions);
                task.page += 1;
                task.tries = 0;
                // Done with the last page: answer now, not after the next
                // request's spacing (an hour for Alpha Vantage's 25 a day).
                if task.page >= task.requests.len() {
                    return self.history_done(task, Ok(()));
                }
                self.histories.push_front(task);
            }
            Err(Failure::Retry(..)) if task.tries + 1 < ATTEMPTS => {
                task.tries += 1;
                self.histories.push_front(task);
            }
            Err(failure) => {
                let reason = self.failed(&task.remote, &request, failure);
                self.history_done(task, Err(reason));
            }
        }
    }

    /// A request's failure, naming the provider, its symbol and the URL.
    fn failed(&self, remote: &str, request: &Request, failure: Failure) -> FeedError {
        failure.error().within(Context::Request {
            provider: self.provider.name(),
            remote: remote.to_string(),
            url: shown_url(&request.url),
        })
    }

    fn history_done(&mut self, task: Task, result: Result<(), FeedError>) {
        let Task {
            symbol,
            from,
            to,
            mut acc,
            ..
        } = task;
        let (first, last) = (from.start(), to.start());
        acc.bars.retain(|b| first <= b.time && b.time <= last);
        sort_bars(&mut acc.bars);
        acc.actions.sort_by_key(|a| a.effective);
        acc.actions.dedup();
        let _ = self
            .updates
            .send(Report::History(symbol, result.map(|()| acc)));
    }
}

/// A history job under way.
struct Task {
    symbol: Symbol,
    remote: String,
    from: Date,
    to: Date,
    requests: Vec<Request>,
    page: usize,
    tries: u32,
    acc: History,
}

/// One GET, its status sorted into success, worth a retry, or bad.
fn attempt(provider: &dyn Api, request: &Request, pace: Pace) -> Result<String, Failure> {
    let answer = get(request, pace.timeout, pace.max_bytes).map_err(|e| Failure::Retry(e, None))?;
    if let Some((got, expected)) = answer.truncated {
        return Err(Failure::Retry(FeedError::Truncated { got, expected }, None));
    }
    match answer.status {
        200 => Ok(answer.body),
        // 418: Binance's ban for clients that ignored its 429s.
        429 | 418 | 500..=599 => {
            let status = FeedError::Status {
                status: answer.status,
                reason: None,
            };
            Err(Failure::Retry(status, answer.retry_after))
        }
        status => Err(Failure::Bad(provider.refusal(status, &answer.body))),
    }
}

/// A quote from the future is a broken clock or a broken answer.
fn check_time(quote: &Quote) -> Result<(), Failure> {
    let now = Timestamp::now();
    if quote.time.0 > now.0 + FUTURE_SLACK_S {
        let future = format!("timestamp {} is in the future (now {now})", quote.time);
        return Err(Failure::Bad(FeedError::said(future)));
    }
    Ok(())
}

/// The pause after `n` retryable failures in a row: BACKOFF_BASE doubled
/// n - 1 times, at most BACKOFF_CAP, less a random jitter of up to half
/// (so that many masters restarted together do not retry in step).
pub fn backoff(n: u32) -> Duration {
    let full = BACKOFF_BASE
        .saturating_mul(1 << n.saturating_sub(1).min(16))
        .min(BACKOFF_CAP);
    let jitter: f64 = rand::rng().random_range(0.0..0.5);
    full.mul_f64(1.0 - jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        for n in 1..=12 {
            let full = Duration::from_secs((1u64 << (n - 1)).min(300));
            let d = backoff(n);
            assert!(d <= full && d >= full / 2, "{n}: {d:?}");
        }
        assert!(backoff(100) <= BACKOFF_CAP);
    }
}
