//! The schema, as numbered migrations. Migration `n` (1-based) is
//! `MIGRATIONS[n - 1]`; the database records the last one applied in
//! `PRAGMA user_version`. Append new migrations at the end, never edit one
//! that has shipped: a deployed database has already run it.

/// Every migration, in order. Each runs inside the transaction that also
/// bumps `user_version`, so it applies entirely or not at all.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: accounts and sessions. pass_hash is an argon2id PHC string, NULL
    // for a third-party-only account that can never log in with a password;
    // cash is in 1/10 000 units; times are Unix seconds. A session is keyed
    // by the SHA-256 of its id text: the id itself is never stored.
    "CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL,
        username_key TEXT NOT NULL UNIQUE,
        email TEXT NOT NULL,
        pass_hash TEXT NULL,
        cash INTEGER NOT NULL CHECK (cash >= 0),
        created INTEGER NOT NULL
    );
    CREATE TABLE sessions (
        hash BLOB PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        created INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        client_addr TEXT NOT NULL,
        expirable INTEGER NOT NULL,
        active INTEGER NOT NULL,
        worker TEXT NOT NULL
    );
    CREATE INDEX sessions_account ON sessions(account_id);",
    // 2: market data. assets is the configured list (replaced on reload);
    // ticks hold one bar per update interval for the retention window;
    // daily_bars (day at 00:00 UTC) and monthly_bars (the 1st at 00:00 UTC)
    // are kept forever. Prices are in 1/10 000 units, times Unix seconds.
    // WITHOUT ROWID keeps each table clustered on (symbol, time), so every
    // history range is one B-tree range scan.
    "CREATE TABLE assets (
        symbol TEXT NOT NULL PRIMARY KEY,
        name TEXT NOT NULL
    );
    CREATE TABLE ticks (
        symbol TEXT NOT NULL,
        time INTEGER NOT NULL,
        open INTEGER NOT NULL CHECK (open > 0),
        high INTEGER NOT NULL CHECK (high > 0),
        low INTEGER NOT NULL CHECK (low > 0),
        close INTEGER NOT NULL CHECK (close > 0),
        volume INTEGER NOT NULL CHECK (volume >= 0),
        CHECK (high >= low),
        PRIMARY KEY (symbol, time)
    ) WITHOUT ROWID;
    CREATE TABLE daily_bars (
        symbol TEXT NOT NULL,
        day INTEGER NOT NULL,
        open INTEGER NOT NULL CHECK (open > 0),
        high INTEGER NOT NULL CHECK (high > 0),
        low INTEGER NOT NULL CHECK (low > 0),
        close INTEGER NOT NULL CHECK (close > 0),
        volume INTEGER NOT NULL CHECK (volume >= 0),
        CHECK (high >= low),
        PRIMARY KEY (symbol, day)
    ) WITHOUT ROWID;
    CREATE TABLE monthly_bars (
        symbol TEXT NOT NULL,
        month INTEGER NOT NULL,
        open INTEGER NOT NULL CHECK (open > 0),
        high INTEGER NOT NULL CHECK (high > 0),
        low INTEGER NOT NULL CHECK (low > 0),
        close INTEGER NOT NULL CHECK (close > 0),
        volume INTEGER NOT NULL CHECK (volume >= 0),
        CHECK (high >= low),
        PRIMARY KEY (symbol, month)
    ) WITHOUT ROWID;",
    // 3: trades. A position keeps the total cost basis of the shares held
    // (1/10 000 units; a sale takes its rounded share away, see
    // trade::sold_cost); a position sold to zero is deleted, never kept at
    // zero. transactions is the append-only history the tables can be
    // rebuilt from (ptctl audit); time is Unix seconds, price per share.
    "CREATE TABLE positions (
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        symbol TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        cost INTEGER NOT NULL CHECK (cost >= 0),
        PRIMARY KEY (account_id, symbol)
    ) WITHOUT ROWID;
    CREATE TABLE transactions (
        txid INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        time INTEGER NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
        symbol TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        price INTEGER NOT NULL CHECK (price > 0)
    );
    CREATE INDEX transactions_account ON transactions(account_id, txid);",
    // 4: orders, resets and equity history (protocol 1.1). transactions
    // is rebuilt (SQLite cannot change a CHECK) to take the history entries
    // of resets (SYMBOL '-', QUANTITY 0, PRICE the new cash) and of
    // corporate actions. accounts learns what it started with:
    // opening_cash at registration (for ptctl audit's replay), start_cash
    // and started at registration or the last reset (the leaderboard's
    // base, the first day of equity history); for existing accounts all
    // three are worked out from their history. orders keeps every order
    // placed with placeOrder, its limit and stop in 1/10 000 (NULL for
    // none), arrival_ms the worker's TIMESTAMP_MS that orders them, txid
    // the fill. equity_days is the equity of each account at each UTC
    // day's last price set (day at 00:00 UTC).
    "CREATE TABLE transactions_v4 (
        txid INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        time INTEGER NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('buy', 'sell', 'reset', 'split', 'dividend')),
        symbol TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity >= 0),
        price INTEGER NOT NULL CHECK (price >= 0),
        CHECK (side NOT IN ('buy', 'sell') OR (quantity > 0 AND price > 0))
    );
    INSERT INTO transactions_v4 (txid, account_id, time, side, symbol, quantity, price)
        SELECT txid, account_id, time, side, symbol, quantity, price FROM transactions;
    DROP TABLE transactions;
    ALTER TABLE transactions_v4 RENAME TO transactions;
    CREATE INDEX transactions_account ON transactions(account_id, txid);
    ALTER TABLE accounts ADD COLUMN opening_cash INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE accounts ADD COLUMN start_cash INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE accounts ADD COLUMN started INTEGER NOT NULL DEFAULT 0;
    UPDATE accounts SET
        started = created,
        opening_cash = cash + COALESCE((
            SELECT SUM(CASE side WHEN 'buy' THEN quantity * price ELSE -quantity * price END)
            FROM transactions WHERE account_id = accounts.id), 0);
    UPDATE accounts SET start_cash = opening_cash;
    CREATE TABLE orders (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        created INTEGER NOT NULL,
        arrival_ms INTEGER NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
        symbol TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        type TEXT NOT NULL CHECK (type IN ('market', 'limit', 'stop', 'stop-limit')),
        limit_price INTEGER NULL CHECK (limit_price > 0),
        stop_price INTEGER NULL CHECK (stop_price > 0),
        tif TEXT NOT NULL CHECK (tif IN ('day', 'gtc')),
        status TEXT NOT NULL CHECK (status IN
            ('open', 'triggered', 'filled', 'cancelled', 'expired', 'rejected')),
        updated INTEGER NOT NULL,
        txid INTEGER NULL REFERENCES transactions(txid),
        CHECK ((status = 'filled') = (txid IS NOT NULL))
    );
    CREATE INDEX orders_account ON orders(account_id, id);
    CREATE INDEX orders_live ON orders(arrival_ms, id) WHERE status IN ('open', 'triggered');
    CREATE TABLE equity_days (
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        day INTEGER NOT NULL,
        equity INTEGER NOT NULL,
        PRIMARY KEY (account_id, day)
    ) WITHOUT ROWID;",
    // 5 (issue 14, real prices): corporate actions a provider reported,
    // each recorded once so that it applies once. kind 'split' (ratio_to
    // new shares for ratio_from old) or 'dividend' (amount per share);
    // effective is the ex-date time; applied 0 for one seen too late to
    // apply (older than the look-back) or that nobody held.
    "CREATE TABLE corporate_actions (
        symbol TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('split', 'dividend')),
        effective INTEGER NOT NULL,
        ratio_to INTEGER NOT NULL DEFAULT 0,
        ratio_from INTEGER NOT NULL DEFAULT 0,
        amount INTEGER NOT NULL DEFAULT 0,
        applied INTEGER NOT NULL,
        seen INTEGER NOT NULL,
        PRIMARY KEY (symbol, kind, effective)
    ) WITHOUT ROWID;",
    // 6: third-party sign-in (protocol 1.1). An identity is the pair
    // (issuer, subject) of an OpenID Connect provider, linked to one
    // account; provider is the configured name it was registered through,
    // for messages and ptctl. An account may have several identities, an
    // identity one account.
    "CREATE TABLE identities (
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        provider TEXT NOT NULL,
        created INTEGER NOT NULL,
        PRIMARY KEY (issuer, subject)
    ) WITHOUT ROWID;
    CREATE INDEX identities_account ON identities(account_id);",
    // 7 (protocol 1.2, fractional shares): every share count in 10^-9
    // shares, so that an order may carry up to 9 fraction digits and
    // whole counts stay exact. A count above 9 223 372 036 shares cannot
    // be scaled within SQLite's INTEGER; the guard table's CHECK fails the
    // migration (and so leaves the database as it was) rather than let
    // SQLite turn it into a floating point REAL.
    "CREATE TEMP TABLE migration_7_guard (share_count_too_large INTEGER
        CHECK (share_count_too_large IS NULL));
    INSERT INTO migration_7_guard
        SELECT quantity FROM positions WHERE quantity > 9223372036
        UNION ALL SELECT quantity FROM transactions WHERE quantity > 9223372036
        UNION ALL SELECT quantity FROM orders WHERE quantity > 9223372036;
    DROP TABLE migration_7_guard;
    UPDATE positions SET quantity = quantity * 1000000000;
    UPDATE transactions SET quantity = quantity * 1000000000;
    UPDATE orders SET quantity = quantity * 1000000000;",
    // 8 (protocol 1.2, time in force ioc and fok): orders is rebuilt
    // (SQLite cannot change a CHECK) with the same columns, rows and
    // indexes; nothing references it.
    "CREATE TABLE orders_v8 (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        created INTEGER NOT NULL,
        arrival_ms INTEGER NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
        symbol TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        type TEXT NOT NULL CHECK (type IN ('market', 'limit', 'stop', 'stop-limit')),
        limit_price INTEGER NULL CHECK (limit_price > 0),
        stop_price INTEGER NULL CHECK (stop_price > 0),
        tif TEXT NOT NULL CHECK (tif IN ('day', 'gtc', 'ioc', 'fok')),
        status TEXT NOT NULL CHECK (status IN
            ('open', 'triggered', 'filled', 'cancelled', 'expired', 'rejected')),
        updated INTEGER NOT NULL,
        txid INTEGER NULL REFERENCES transactions(txid),
        CHECK ((status = 'filled') = (txid IS NOT NULL))
    );
    INSERT INTO orders_v8 SELECT id, account_id, created, arrival_ms, side, symbol, quantity,
        type, limit_price, stop_price, tif, status, updated, txid FROM orders;
    DROP TABLE orders;
    ALTER TABLE orders_v8 RENAME TO orders;
    CREATE INDEX orders_account ON orders(account_id, id);
    CREATE INDEX orders_live ON orders(arrival_ms, id) WHERE status IN ('open', 'triggered');",
    // 9: protocol 1.2's trailing stops (the trail as the wire writes it,
    // `1.5000` or `2%`, and the mark: the best price since placed) and
    // replace (status `replaced`, naming the order that took its place).
    "CREATE TABLE orders_v9 (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        created INTEGER NOT NULL,
        arrival_ms INTEGER NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
        symbol TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        type TEXT NOT NULL CHECK (type IN
            ('market', 'limit', 'stop', 'stop-limit', 'trailing-stop')),
        limit_price INTEGER NULL CHECK (limit_price > 0),
        stop_price INTEGER NULL CHECK (stop_price > 0),
        tif TEXT NOT NULL CHECK (tif IN ('day', 'gtc', 'ioc', 'fok')),
        status TEXT NOT NULL CHECK (status IN
            ('open', 'triggered', 'filled', 'cancelled', 'expired', 'rejected', 'replaced')),
        updated INTEGER NOT NULL,
        txid INTEGER NULL REFERENCES transactions(txid),
        trail TEXT NULL,
        mark INTEGER NULL CHECK (mark > 0),
        replaced_by INTEGER NULL REFERENCES orders(id),
        CHECK ((status = 'filled') = (txid IS NOT NULL)),
        CHECK ((type = 'trailing-stop') = (trail IS NOT NULL)),
        CHECK ((status = 'replaced') = (replaced_by IS NOT NULL))
    );
    INSERT INTO orders_v9 SELECT id, account_id, created, arrival_ms, side, symbol, quantity,
        type, limit_price, stop_price, tif, status, updated, txid, NULL, NULL, NULL FROM orders;
    DROP TABLE orders;
    ALTER TABLE orders_v9 RENAME TO orders;
    CREATE INDEX orders_account ON orders(account_id, id);
    CREATE INDEX orders_live ON orders(arrival_ms, id) WHERE status IN ('open', 'triggered');",
    // 10: protocol 1.2's short selling. A position may be short (quantity
    // and cost below 0), found through a partial index; the history takes
    // `liquidation` lines (shorts covered by the master) and the signed
    // shares of splits and dividends of shorts. orders.txid refers to
    // transactions: `db::open` runs migrations with foreign keys off and
    // checks them before the commit.
    "CREATE TABLE positions_v10 (
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        symbol TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity <> 0),
        cost INTEGER NOT NULL,
        CHECK ((quantity > 0 AND cost >= 0) OR (quantity < 0 AND cost <= 0)),
        PRIMARY KEY (account_id, symbol)
    ) WITHOUT ROWID;
    INSERT INTO positions_v10 SELECT account_id, symbol, quantity, cost FROM positions;
    DROP TABLE positions;
    ALTER TABLE positions_v10 RENAME TO positions;
    CREATE INDEX positions_short ON positions(account_id) WHERE quantity < 0;
    CREATE TABLE transactions_v10 (
        txid INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        time INTEGER NOT NULL,
        side TEXT NOT NULL CHECK (side IN
            ('buy', 'sell', 'reset', 'split', 'dividend', 'liquidation')),
        symbol TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity >= 0 OR side IN ('split', 'dividend')),
        price INTEGER NOT NULL CHECK (price >= 0),
        CHECK (side NOT IN ('buy', 'sell', 'liquidation') OR (quantity > 0 AND price > 0))
    );
    INSERT INTO transactions_v10 (txid, account_id, time, side, symbol, quantity, price)
        SELECT txid, account_id, time, side, symbol, quantity, price FROM transactions;
    DROP TABLE transactions;
    ALTER TABLE transactions_v10 RENAME TO transactions;
    CREATE INDEX transactions_account ON transactions(account_id, txid);",
    // 11: protocol 1.2's order classes: an order's class, a leg's parent
    // (its entry, or an OCO's take-profit) and the status `held` of a leg
    // whose entry has not filled. Orders refer to orders (replaced_by,
    // parent): foreign keys are checked at the end, as for 10.
    "CREATE TABLE orders_v11 (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        created INTEGER NOT NULL,
        arrival_ms INTEGER NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
        symbol TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        type TEXT NOT NULL CHECK (type IN
            ('market', 'limit', 'stop', 'stop-limit', 'trailing-stop')),
        limit_price INTEGER NULL CHECK (limit_price > 0),
        stop_price INTEGER NULL CHECK (stop_price > 0),
        tif TEXT NOT NULL CHECK (tif IN ('day', 'gtc', 'ioc', 'fok')),
        status TEXT NOT NULL CHECK (status IN ('open', 'triggered', 'filled', 'cancelled',
            'expired', 'rejected', 'replaced', 'held')),
        updated INTEGER NOT NULL,
        txid INTEGER NULL REFERENCES transactions(txid),
        trail TEXT NULL,
        mark INTEGER NULL CHECK (mark > 0),
        replaced_by INTEGER NULL REFERENCES orders(id),
        class TEXT NULL CHECK (class IN ('bracket', 'oco', 'oto')),
        parent INTEGER NULL REFERENCES orders(id),
        CHECK ((status = 'filled') = (txid IS NOT NULL)),
        CHECK ((type = 'trailing-stop') = (trail IS NOT NULL)),
        CHECK ((status = 'replaced') = (replaced_by IS NOT NULL)),
        CHECK (parent IS NULL OR class IS NOT NULL),
        CHECK (status <> 'held' OR parent IS NOT NULL)
    );
    INSERT INTO orders_v11 SELECT id, account_id, created, arrival_ms, side, symbol, quantity,
        type, limit_price, stop_price, tif, status, updated, txid, trail, mark, replaced_by,
        NULL, NULL FROM orders;
    DROP TABLE orders;
    ALTER TABLE orders_v11 RENAME TO orders;
    CREATE INDEX orders_account ON orders(account_id, id);
    CREATE INDEX orders_live ON orders(arrival_ms, id)
        WHERE status IN ('open', 'triggered', 'held');",
    // 12: protocol 1.2's commissions: a `fee` line per charged fill
    // (QUANTITY the shares filled, PRICE the fee).
    "CREATE TABLE transactions_v12 (
        txid INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        time INTEGER NOT NULL,
        side TEXT NOT NULL CHECK (side IN
            ('buy', 'sell', 'reset', 'split', 'dividend', 'liquidation', 'fee')),
        symbol TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity >= 0 OR side IN ('split', 'dividend')),
        price INTEGER NOT NULL CHECK (price >= 0),
        CHECK (side NOT IN ('buy', 'sell', 'liquidation', 'fee') OR (quantity > 0 AND price > 0))
    );
    INSERT INTO transactions_v12 (txid, account_id, time, side, symbol, quantity, price)
        SELECT txid, account_id, time, side, symbol, quantity, price FROM transactions;
    DROP TABLE transactions;
    ALTER TABLE transactions_v12 RENAME TO transactions;
    CREATE INDEX transactions_account ON transactions(account_id, txid);",
    // 13: protocol 1.2's partial fills: what of an order has filled (its
    // shares, the cash they moved, fees aside, and their average price,
    // each fill weighted by its shares), and on each fill and
    // fee line the order it belongs to (NULL for purchaseAsset and
    // sellAsset, and for lines from before 13). An order filled before
    // 13 filled at once: all of it, at its transaction's price (the cost
    // rounded as the batch rounds it: up for a buy, down for a sale, the
    // whole shares and the fraction apart so that no product overflows).
    "ALTER TABLE transactions ADD COLUMN order_id INTEGER NULL REFERENCES orders(id);
    ALTER TABLE orders ADD COLUMN filled INTEGER NOT NULL DEFAULT 0 CHECK (filled >= 0);
    ALTER TABLE orders ADD COLUMN filled_cost INTEGER NOT NULL DEFAULT 0
        CHECK (filled_cost >= 0);
    ALTER TABLE orders ADD COLUMN filled_avg INTEGER NOT NULL DEFAULT 0
        CHECK (filled_avg >= 0);
    UPDATE orders SET filled = quantity,
        filled_avg = (SELECT t.price FROM transactions t WHERE t.txid = orders.txid),
        filled_cost = (
        SELECT t.price * (orders.quantity / 1000000000)
            + (t.price * (orders.quantity % 1000000000)
                + CASE orders.side WHEN 'buy' THEN 999999999 ELSE 0 END) / 1000000000
        FROM transactions t WHERE t.txid = orders.txid)
    WHERE status = 'filled';",
    // 14: protocol 1.2's API keys. A key's secret is kept only as
    // HMAC-SHA256 under the key named `api_keys` in `secrets` (32 random
    // bytes made here, so a restored copy of the database keeps every key
    // working); `revoked` is when it was revoked. A key works under one
    // session per key, marked with the key's id in `sessions.api_key`.
    "CREATE TABLE secrets (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL CHECK (length(value) = 32)
    );
    INSERT INTO secrets (name, value) VALUES ('api_keys', randomblob(32));
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32),
        label TEXT NOT NULL,
        created INTEGER NOT NULL,
        revoked INTEGER NULL
    );
    CREATE INDEX api_keys_account ON api_keys(account_id, created);
    ALTER TABLE sessions ADD COLUMN api_key TEXT NULL REFERENCES api_keys(id);
    CREATE INDEX sessions_api_key ON sessions(api_key) WHERE api_key IS NOT NULL;",
    // 15: protocol 1.2's client order ids (placeOrderTagged): a trading
    // program's own id for an order, unique among the account's orders.
    "ALTER TABLE orders ADD COLUMN client_id TEXT NULL;
    CREATE UNIQUE INDEX orders_client ON orders(account_id, client_id)
        WHERE client_id IS NOT NULL;",
    // 16: protocol 1.2's watchlists: the symbols an account watches, each
    // once, with when it was added (Unix seconds). A reset keeps them;
    // the rows go with their account. The rowid orders symbols added in
    // the same second (oldest first is `ORDER BY added, rowid`).
    "CREATE TABLE watchlists (
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        symbol TEXT NOT NULL,
        added INTEGER NOT NULL,
        PRIMARY KEY (account_id, symbol)
    );",
    // 17: protocol 1.2's portfolios and competitions. A portfolio is an
    // `accounts` row: a login's row is its first portfolio (number 1,
    // named `main`, everything it held before), and each further one is
    // a row with `owner_id` the login's id, its own number and name, the
    // owner's username (so views and logs name the person) and a
    // `username_key` no login can have (`#OWNER.NUMBER`). Every table
    // keyed by account (positions, transactions, orders, equity days)
    // holds portfolios unchanged. A session and an API key act on the
    // portfolio in `portfolio_id` (NULL: the login's first). `games` are
    // competitions: the rules as their canonical text, with the columns
    // queries need copied out of it; `standings` is the ranking frozen at
    // the end. A game's portfolio names it in `game_id`, one per player.
    "ALTER TABLE accounts ADD COLUMN owner_id INTEGER NULL REFERENCES accounts(id);
    ALTER TABLE accounts ADD COLUMN portfolio_no INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE accounts ADD COLUMN portfolio_name TEXT NOT NULL DEFAULT 'main';
    ALTER TABLE accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'closed', 'removed'));
    ALTER TABLE accounts ADD COLUMN game_id INTEGER NULL REFERENCES games(id);
    CREATE UNIQUE INDEX accounts_portfolio ON accounts(owner_id, portfolio_no)
        WHERE owner_id IS NOT NULL;
    CREATE UNIQUE INDEX accounts_player ON accounts(game_id, owner_id)
        WHERE game_id IS NOT NULL;
    CREATE INDEX accounts_game_status ON accounts(game_id, status)
        WHERE game_id IS NOT NULL;
    ALTER TABLE sessions ADD COLUMN portfolio_id INTEGER NULL REFERENCES accounts(id);
    CREATE INDEX sessions_portfolio ON sessions(portfolio_id) WHERE portfolio_id IS NOT NULL;
    ALTER TABLE api_keys ADD COLUMN portfolio_id INTEGER NULL REFERENCES accounts(id);
    CREATE INDEX api_keys_portfolio ON api_keys(portfolio_id) WHERE portfolio_id IS NOT NULL;
    CREATE TABLE games (
        id INTEGER PRIMARY KEY,
        organiser_id INTEGER NOT NULL REFERENCES accounts(id),
        rules TEXT NOT NULL,
        code TEXT NULL UNIQUE,
        public INTEGER NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        created INTEGER NOT NULL,
        standings TEXT NULL,
        CHECK (end > start)
    );
    CREATE INDEX games_organiser ON games(organiser_id, end);
    CREATE INDEX games_end ON games(end);
    CREATE INDEX games_public ON games(end) WHERE public = 1;",
];
