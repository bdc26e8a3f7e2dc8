//! The command line of `papertrader` (clap derive): global options, then
//! one command. [`Line`] parses one line of the interactive shell with the
//! same commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::parse_address;

const AFTER_HELP: &str = "\
Server: -s, else --master, else $PAPERTRADER_SERVER, else server = or master =
in $XDG_CONFIG_HOME/papertrader/config (~/.config/papertrader/config), else the
server of the saved session, else 127.0.0.1:2049. tls://HOST:PORT uses TLS,
checked against the system's CA certificates or --ca FILE.

Exit status: 0 ok, 64 usage, 65 refused input (unknown symbol, bad price, not
enough cash...), 69 server unreachable, 70 server fault, 74 local I/O error,
75 try again later, 76 TLS certificate refused, 77 not logged in or wrong
password, 78 bad config file.

Examples:
  papertrader register alice alice@example.com
  papertrader login alice
  papertrader login alice --with google
  papertrader buy AAPL 10
  papertrader buy AAPL 10 --limit 170
  papertrader orders
  papertrader history AAPL month";

/// PaperTrader: trade assets with fake money.
#[derive(Debug, Parser)]
#[command(
    name = "papertrader",
    version,
    about = "PaperTrader: trade assets with fake money",
    long_about = "PaperTrader client: register, log in, look up prices and history, \
                  and buy and sell assets with fake money on a PaperTrader worker.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// The worker to use, HOST:PORT, or tls://HOST:PORT for TLS
    #[arg(short = 's', long = "server", value_name = "HOST:PORT", global = true,
          value_parser = parse_address, conflicts_with = "master")]
    pub server: Option<String>,

    /// Ask this master for its workers and use the first that answers
    #[arg(long, value_name = "HOST:PORT", global = true, value_parser = parse_address)]
    pub master: Option<String>,

    /// Check TLS servers (tls://HOST:PORT) against the CA certificates in
    /// FILE instead of the system's
    #[arg(long, value_name = "FILE", global = true)]
    pub ca: Option<PathBuf>,

    /// Print JSON (read commands and trades)
    #[arg(long, global = true)]
    pub json: bool,

    /// The command
    #[command(subcommand)]
    pub command: Cmd,
}

/// One line typed in `papertrader shell`: a command without the global
/// connection options.
#[derive(Debug, Parser)]
#[command(
    name = "papertrader",
    no_binary_name = true,
    disable_version_flag = true,
    about = "Commands of the PaperTrader shell (Ctrl-D to leave)"
)]
pub struct Line {
    /// Print JSON (read commands and trades)
    #[arg(long, global = true)]
    pub json: bool,

    /// The command
    #[command(subcommand)]
    pub command: Cmd,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create an account (the password is asked twice)
    Register {
        /// 1-24 of A-Z a-z 0-9 _ . -
        user: String,
        /// Email address (with --with: the provider's)
        #[arg(required_unless_present = "with")]
        email: Option<String>,
        /// Read the password from the first line of FILE
        #[arg(long, value_name = "FILE", conflicts_with = "with")]
        password_file: Option<PathBuf>,
        /// An account without a password, signed in through this OpenID
        /// Connect provider (from the providers file)
        #[arg(long, value_name = "PROVIDER", conflicts_with = "email")]
        with: Option<String>,
    },
    /// Log in; the session is saved and used by later commands
    Login {
        /// Username (any case)
        user: String,
        /// Read the password from the first line of FILE
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// A session that ends with the connection (not saved; for `shell`)
        #[arg(long)]
        expirable: bool,
        /// Sign in through this OpenID Connect provider instead of a password
        #[arg(long, value_name = "PROVIDER", conflicts_with = "password_file")]
        with: Option<String>,
    },
    /// Set a password (also for an account made with --with); needs a
    /// login of the last 10 minutes
    Password {
        /// Read the new password from the first line of FILE
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// End the session and delete the saved session
    Logout,
    /// Buy at the next price update, or place a limit or stop order
    #[command(allow_negative_numbers = true, after_help = BUY_HELP)]
    Buy(Deal),
    /// Sell at the next price update, or place a limit or stop order
    #[command(allow_negative_numbers = true, after_help = SELL_HELP)]
    Sell(Deal),
    /// Your orders, newest first
    Orders {
        /// Only the orders still open (or triggered)
        #[arg(long)]
        open: bool,
    },
    /// Change an open order's quantity, prices or time in force
    #[command(allow_negative_numbers = true, after_help = REPLACE_HELP)]
    Replace(Change),
    /// Cancel an open order
    #[command(allow_negative_numbers = true)]
    Cancel {
        /// The order's number, as `orders` shows it
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Current prices
    Quote {
        /// Asset symbols
        #[arg(required = true, value_name = "SYMBOL")]
        symbols: Vec<String>,
    },
    /// Today's open, high, low, close and volume
    Info {
        /// Asset symbol
        symbol: String,
    },
    /// Every asset that can be traded
    Assets,
    /// Price history: a chart on a terminal, CSV when piped
    History {
        /// Asset symbol
        symbol: String,
        /// day: every update of one day; week, month: daily bars; year, all: monthly bars
        #[arg(value_enum)]
        range: RangeArg,
        /// The last day of the range, YYYY-MM-DD (default: today, UTC)
        date: Option<String>,
        /// Print CSV even on a terminal
        #[arg(long)]
        csv: bool,
    },
    /// Positions with cost and profit (your own), or another user's
    /// holdings; or make, list, use, rename and close your portfolios
    #[command(args_conflicts_with_subcommands = true, after_help = PORTFOLIO_HELP)]
    Portfolio {
        /// Another user (default: you)
        user: Option<String>,
        /// create, list, use, rename or close (none: the holdings)
        #[command(subcommand)]
        action: Option<PortfolioCmd>,
    },
    /// Your transaction history
    Trades {
        /// User (default: you; others' trades are private)
        user: Option<String>,
    },
    /// Your equity, one value per day: a chart on a terminal, CSV when piped
    Equity {
        /// Print CSV even on a terminal
        #[arg(long)]
        csv: bool,
    },
    /// Every account ranked by its return on its starting cash
    Leaderboard,
    /// Start over: cancel every order, drop every position, cash back to the start
    Reset {
        /// Read the password from the first line of FILE
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Do not ask for the typed confirmation (the password is still needed,
        /// from --password-file or standard input)
        #[arg(long)]
        yes: bool,
        /// For an account without a password: prove it is you by signing in
        /// through this provider again
        #[arg(long, value_name = "PROVIDER", conflicts_with = "password_file")]
        with: Option<String>,
    },
    /// A user's account details
    User {
        /// Username
        user: String,
    },
    /// API keys for bots that speak Alpaca's trading API (see
    /// papertrader-api(7))
    #[command(subcommand)]
    Keys(KeysCmd),
    /// The symbols you watch, oldest first; or add and remove some
    Watchlist {
        /// add or remove (none: list them)
        #[command(subcommand)]
        action: Option<WatchlistCmd>,
    },
    /// Competitions: make one, join one, see the standings
    #[command(after_help = GAME_HELP)]
    Game {
        /// What to do (none: list them)
        #[command(subcommand)]
        action: Option<GameCmd>,
    },
    /// The workers the server knows
    Workers,
    /// Interactive shell with history and completion
    Shell,
}

/// `keys create|list|revoke`.
#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Make a key; its secret is printed this once
    Create {
        /// What to call it: 1-32 of A-Z a-z 0-9 _ . -
        #[arg(default_value = "default")]
        label: String,
    },
    /// Your keys (not their secrets), oldest first
    List,
    /// Revoke a key: it stops working at once
    Revoke {
        /// The key id, as `keys list` shows it
        #[arg(value_name = "KEY_ID")]
        id: String,
    },
}

/// `watchlist add|remove`.
#[derive(Debug, Subcommand)]
pub enum WatchlistCmd {
    /// Watch these symbols too (one watched already is no error)
    Add {
        /// Asset symbols, as `assets` lists them
        #[arg(required = true, value_name = "SYMBOL")]
        symbols: Vec<String>,
    },
    /// Stop watching these symbols (one not watched is no error)
    Remove {
        /// Asset symbols
        #[arg(required = true, value_name = "SYMBOL")]
        symbols: Vec<String>,
    },
}

/// `portfolio create|list|use|rename|close`.
#[derive(Debug, Subcommand)]
pub enum PortfolioCmd {
    /// Make a portfolio (at most 20 open); the session keeps the one it uses
    Create {
        /// 1-32 of A-Z a-z 0-9 _ . -, not the name of another open one
        name: String,
        /// Its starting cash (default: the server's)
        #[arg(long, value_name = "AMOUNT")]
        cash: Option<String>,
    },
    /// Your portfolios; * marks the one in use
    List,
    /// Trade in this portfolio from now on (this login's saved session)
    Use {
        /// Its number, or its name
        #[arg(value_name = "ID-OR-NAME")]
        portfolio: String,
    },
    /// Give a portfolio another name
    Rename {
        /// Its number, or its name
        #[arg(value_name = "ID-OR-NAME")]
        portfolio: String,
        /// The new name
        #[arg(value_name = "NEWNAME")]
        name: String,
    },
    /// Close a portfolio without open orders (not the first); its
    /// positions stay, frozen
    Close {
        /// Its number, or its name
        #[arg(value_name = "ID-OR-NAME")]
        portfolio: String,
    },
}

const PORTFOLIO_HELP: &str = "\
Without a subcommand: the holdings of the portfolio in use (or of USER's
first). A number names a portfolio by its number, anything else by its name.

Examples:
  papertrader portfolio
  papertrader portfolio create bot --cash 5000
  papertrader portfolio list
  papertrader portfolio use bot
  papertrader portfolio use 1";

/// `game create|change|join|list|show|standings|holdings|leave|remove|code`.
#[derive(Debug, Subcommand)]
pub enum GameCmd {
    /// Make a competition; prints its number and invitation code
    #[command(allow_negative_numbers = true)]
    Create {
        /// What to call it: 1-64 characters
        name: String,
        /// When trading opens (see TIME below)
        #[arg(long, value_name = "TIME")]
        start: String,
        /// When trading closes and the standings freeze
        #[arg(long, value_name = "TIME")]
        end: String,
        /// The rules
        #[command(flatten)]
        rules: RuleFlags,
    },
    /// Change a competition's rules before its start (the organiser's)
    #[command(allow_negative_numbers = true)]
    Change {
        /// Its number, or its name
        #[arg(value_name = "ID-OR-NAME")]
        game: String,
        /// A new name
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// A new start
        #[arg(long, value_name = "TIME")]
        start: Option<String>,
        /// A new end
        #[arg(long, value_name = "TIME")]
        end: Option<String>,
        /// The rules to change; the others stay
        #[command(flatten)]
        rules: RuleFlags,
    },
    /// Join with an invitation code, or a public competition by its number
    Join {
        /// The code (any case), or the number of a public competition
        #[arg(value_name = "CODE-OR-ID")]
        code: String,
    },
    /// The competitions you organise or play in, then public ones
    List,
    /// A competition's rules, state and players
    Show {
        /// Its number, or its name
        #[arg(value_name = "ID-OR-NAME")]
        game: String,
    },
    /// The players ranked by their return, best first
    Standings {
        /// Its number, or its name
        #[arg(value_name = "ID-OR-NAME")]
        game: String,
    },
    /// A player's positions, when the rules show them
    Holdings {
        /// Its number, or its name
        #[arg(value_name = "ID-OR-NAME")]
        game: String,
        /// The player
        user: String,
    },
    /// Leave a competition: your portfolio in it closes
    Leave {
        /// Its number, or its name
        #[arg(value_name = "ID-OR-NAME")]
        game: String,
    },
    /// Remove a player (the organiser's)
    Remove {
        /// Its number, or its name
        #[arg(value_name = "ID-OR-NAME")]
        game: String,
        /// The player
        user: String,
    },
    /// A new invitation code; the old one stops working (the organiser's)
    Code {
        /// Its number, or its name
        #[arg(value_name = "ID-OR-NAME")]
        game: String,
    },
}

/// The rules of `game create` and `game change` besides the name and
/// times; each pair of opposite switches conflicts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct RuleFlags {
    /// Each player's starting cash (default 100000)
    #[arg(long, value_name = "AMOUNT")]
    pub cash: Option<String>,
    /// The only symbols players may trade, separated by commas, or all
    #[arg(long, value_name = "LIST")]
    pub assets: Option<String>,
    /// The order types allowed, separated by commas: market, limit, stop,
    /// stop-limit, trailing-stop (default: all)
    #[arg(long, value_name = "LIST")]
    pub orders: Option<String>,
    /// No sale beyond the shares held
    #[arg(long, conflicts_with = "short")]
    pub no_short: bool,
    /// Sales beyond the shares held are allowed (the default)
    #[arg(long)]
    pub short: bool,
    /// Whole shares only, no notional orders
    #[arg(long, conflicts_with = "fractional")]
    pub no_fractional: bool,
    /// Fractions of shares are allowed (the default)
    #[arg(long)]
    pub fractional: bool,
    /// Commission and slippage: the server's, or none
    #[arg(long, value_enum, value_name = "FEES")]
    pub fees: Option<FeesArg>,
    /// Most of a player's equity one position may be worth, in percent
    /// (1-100), or none
    #[arg(long, value_name = "PCT")]
    pub cap: Option<String>,
    /// No joining after the start
    #[arg(long, conflicts_with = "late")]
    pub no_late: bool,
    /// Joining after the start is allowed (the default)
    #[arg(long)]
    pub late: bool,
    /// Who sees a player's holdings: never (only the player), after the
    /// end (the default), always
    #[arg(long, value_enum, value_name = "WHEN")]
    pub holdings: Option<HoldingsArg>,
    /// Players may reset their portfolio to the starting cash
    #[arg(long, conflicts_with = "no_resets")]
    pub resets: bool,
    /// No resets (the default)
    #[arg(long)]
    pub no_resets: bool,
    /// Listed for everyone; anyone may join by its number
    #[arg(long, conflicts_with = "private")]
    pub public: bool,
    /// Only those with the invitation code may join (the default)
    #[arg(long)]
    pub private: bool,
}

/// `--fees`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FeesArg {
    /// The server's commission and slippage
    Master,
    /// No commission and no slippage
    None,
}

/// `--holdings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HoldingsArg {
    /// Only the player sees them
    Never,
    /// Everyone, once the competition has ended
    End,
    /// Everyone, all the time
    Always,
}

const GAME_HELP: &str = "\
A competition gives each player a portfolio of its own, made when they join,
with the rules' cash; trade in it after `papertrader portfolio use N`. A
number names a competition by its number, anything else by its name (any
case), as `game list` shows them.

TIME: Unix seconds, 2027-01-05T14:30:00Z (UTC without a zone, or +02:00),
2027-01-05 (midnight UTC), now, or +N with s, m, h or d from now (+90m, +30d).

Examples:
  papertrader game create 'Spring cup' --start 2027-03-01 --end +90d --cash 10000
  papertrader game join ABCDEFGH2345
  papertrader game standings 'Spring cup'
  papertrader game holdings 3 bob";

/// The arguments of `buy` and `sell`.
#[derive(Debug, Args)]
pub struct Deal {
    /// Asset symbol, e.g. AAPL
    pub symbol: String,
    /// Number of shares above 0, at most 1000000000, up to 9 decimals (0.5)
    #[arg(value_name = "QTY", required_unless_present = "notional")]
    pub quantity: Option<String>,
    /// Trade AMOUNT of money's worth at the next price, in fractions of a
    /// share, instead of QTY shares
    #[arg(
        long,
        value_name = "AMOUNT",
        conflicts_with_all = [
            "quantity", "limit", "stop", "trail", "gtc", "tif", "take_profit", "stop_loss", "oco"
        ]
    )]
    pub notional: Option<String>,
    /// Limit, stop and time in force
    #[command(flatten)]
    pub order: OrderFlags,
}

/// The flags that make `buy` and `sell` a `placeOrder`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct OrderFlags {
    /// Limit order: fill only at PRICE or better
    #[arg(long, value_name = "PRICE")]
    pub limit: Option<String>,
    /// Stop order: wait for the price to reach PRICE (stop-limit with --limit)
    #[arg(long, value_name = "PRICE")]
    pub stop: Option<String>,
    /// Trailing stop: a stop TRAIL (1.50, or 2%) below the highest price
    /// since it was placed for a sale, above the lowest for a buy
    #[arg(long, value_name = "TRAIL", conflicts_with_all = ["limit", "stop"])]
    pub trail: Option<String>,
    /// Exit once the entry fills: sell (or buy back) at PRICE or better.
    /// With --stop-loss too, a bracket order; alone, one-triggers-other
    #[arg(long, value_name = "PRICE")]
    pub take_profit: Option<String>,
    /// Exit once the entry fills: at the market once the price reaches
    /// PRICE
    #[arg(long, value_name = "PRICE")]
    pub stop_loss: Option<String>,
    /// One-cancels-other exits for a position you hold: --take-profit and
    /// --stop-loss both open now; the fill of one cancels the other
    #[arg(
        long,
        requires_all = ["take_profit", "stop_loss"],
        conflicts_with_all = ["limit", "stop", "trail"]
    )]
    pub oco: bool,
    /// Good till cancelled (90 days at most), not only for the UTC day
    #[arg(long, conflicts_with = "tif")]
    pub gtc: bool,
    /// Time in force: day, gtc, ioc (fill at the next price set or expire)
    /// or fok (all at the next price set or nothing)
    #[arg(long, value_name = "TIF")]
    pub tif: Option<String>,
}

impl OrderFlags {
    /// No flag given: a plain `purchaseAsset` / `sellAsset`.
    pub fn is_market_now(&self) -> bool {
        *self == OrderFlags::default()
    }
}

/// The arguments of `replace`.
#[derive(Debug, Args)]
pub struct Change {
    /// The order's number, as `orders` shows it
    #[arg(value_name = "ID")]
    pub id: String,
    /// New number of shares
    #[arg(long, value_name = "QTY")]
    pub qty: Option<String>,
    /// New limit (limit and stop-limit orders)
    #[arg(long, value_name = "PRICE")]
    pub limit: Option<String>,
    /// New stop (stop and stop-limit orders)
    #[arg(long, value_name = "PRICE", conflicts_with = "trail")]
    pub stop: Option<String>,
    /// New trail (trailing stops): 1.50, or 2%
    #[arg(long, value_name = "TRAIL")]
    pub trail: Option<String>,
    /// New time in force: day, gtc, ioc or fok
    #[arg(long, value_name = "TIF")]
    pub tif: Option<String>,
}

const REPLACE_HELP: &str =
    "The order keeps its side, symbol and type; what you give changes, in one
step: the old order ends `replaced` and a new one, with a new number, takes
its place (a trailing stop keeps its mark). At least one flag is needed.

Examples:
  papertrader replace 17 --limit 171.5
  papertrader replace 17 --qty 5 --tif gtc
  papertrader replace 18 --trail 3%";

/// The help after `buy` and `sell`: what the flags do, then examples.
macro_rules! order_help {
    ($deal:literal, $examples:literal) => {
        concat!(
            "Without --limit, --stop, --trail, --gtc or --tif the ",
            $deal,
            " fills at the next price update and
the command waits for it. With them it places an order that waits for its
price, prints its number and returns at once; see `papertrader orders`.
--gtc alone places a market order that waits for the market to open.

Examples:
",
            $examples
        )
    };
}

const BUY_HELP: &str = order_help!(
    "buy",
    "  papertrader buy AAPL 10                  at the next price
  papertrader buy AAPL 10 --limit 170      at 170 or less, for the UTC day
  papertrader buy AAPL 10 --stop 175 --gtc at the market once AAPL rises to 175
  papertrader buy AAPL 10 --stop 175 --limit 176
  papertrader buy BTC 0.5 --limit 40000 --tif ioc  now at 40000 or less, or never
  papertrader buy BTC --notional 100       100 worth at the next price
  papertrader buy AAPL 10 --limit 170 --take-profit 190 --stop-loss 160
                                           a bracket: exits once it fills"
);

const SELL_HELP: &str = order_help!(
    "sale",
    "  papertrader sell AAPL 10                   at the next price
  papertrader sell AAPL 10 --limit 190 --gtc at 190 or more, until cancelled
  papertrader sell AAPL 10 --stop 160        at the market once AAPL falls to 160
  papertrader sell AAPL 10 --trail 2%        once AAPL falls 2% from its high
  papertrader sell AAPL 10 --oco --take-profit 200 --stop-loss 150"
);

/// The history ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RangeArg {
    /// Every update of one UTC day
    Day,
    /// Daily bars of 7 days
    Week,
    /// Daily bars of one month
    Month,
    /// Monthly bars of 12 months
    Year,
    /// Monthly bars of all history
    All,
}

impl RangeArg {
    /// The client library's range.
    pub fn range(self) -> papertrader_client::Range {
        use papertrader_client::Range;
        match self {
            RangeArg::Day => Range::Day,
            RangeArg::Week => Range::Week,
            RangeArg::Month => Range::Month,
            RangeArg::Year => Range::Year,
            RangeArg::All => Range::AllTime,
        }
    }

    /// The word on the command line.
    pub fn name(self) -> &'static str {
        match self {
            RangeArg::Day => "day",
            RangeArg::Week => "week",
            RangeArg::Month => "month",
            RangeArg::Year => "year",
            RangeArg::All => "all",
        }
    }
}
