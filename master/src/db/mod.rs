//! The master's SQLite database: opening it with the pragmas every
//! connection needs, and bringing its schema up to date.
//!
//! Each thread that touches the database (auth pool, trade, data readers)
//! calls [`open`] once for its own `rusqlite::Connection`; WAL lets the
//! readers run beside the one writer. The submodules hold the SQL of each
//! table, so that callers deal in Rust values.

pub mod accounts;
pub mod api_keys;
pub mod assets;
pub mod bar_row;
pub mod daily_bars;
pub mod games;
pub mod identities;
mod migrations;
pub mod monthly_bars;
pub mod positions;
pub mod sessions;
pub mod ticks;
pub mod transactions;
pub mod watchlists;

use std::fmt;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use migrations::MIGRATIONS;

/// Bytes the WAL file is cut back to after a checkpoint (64 MiB).
const JOURNAL_SIZE_LIMIT: i64 = 64 << 20;

/// How long a connection waits for another one's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// WAL pages after which a commit checkpoints, for every connection
/// [`open`] makes from now on: the process's `wal_autocheckpoint` (one
/// database per process, so one setting); 0 turns checkpoints off.
static AUTOCHECKPOINT: AtomicU32 = AtomicU32::new(1000);

/// Sets the `wal_autocheckpoint` of the connections opened after it, before
/// the first. 0 leaves every checkpoint to another process (Litestream,
/// which asks that an application under write load not checkpoint):
/// [`checkpoint`] is then skipped at shutdown too.
pub fn set_autocheckpoint(pages: u32) {
    AUTOCHECKPOINT.store(pages, Ordering::Relaxed);
}

/// The schema version this binary writes: the number of migrations it knows.
pub fn schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Opens (creating if missing, mode 0600) the database at `path`, sets WAL,
/// `synchronous=FULL`, foreign keys and the busy timeout, and applies any
/// migration the file has not seen yet.
pub fn open(path: &Path) -> Result<Connection, DbError> {
    create_private(path)?;
    let conn = Connection::open(path).map_err(|err| DbError::sqlite(path, "cannot open", err))?;
    configure(&conn, path)?;
    // A migration that rebuilds a table other tables refer to (SQLite
    // cannot change a CHECK in place) drops it while rows still point at
    // it: foreign keys are off for the migration (the pragma cannot change
    // inside a transaction) and checked as a whole before its commit.
    let fk = |on: &str| {
        conn.pragma_update(None, "foreign_keys", on)
            .map_err(|err| DbError::sqlite(path, "cannot set foreign_keys", err))
    };
    fk("OFF")?;
    let migrated = migrate(&conn, path);
    fk("ON")?;
    migrated?;
    Ok(conn)
}

/// Copies the WAL into the database and truncates it to nothing
/// (`wal_checkpoint(TRUNCATE)`), for a clean shutdown. Opening runs no
/// migration here: the file was open a moment ago.
pub fn checkpoint(path: &Path) -> rusqlite::Result<()> {
    if AUTOCHECKPOINT.load(Ordering::Relaxed) == 0 {
        papertrader_common::info!(
            "{}: wal_autocheckpoint = 0, the WAL is left to the replicator",
            path.display()
        );
        return Ok(());
    }
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let (busy, _, _): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if busy != 0 {
        papertrader_common::warn!(
            "{}: another connection kept the WAL from being emptied",
            path.display()
        );
    }
    Ok(())
}

/// Creates the file with mode 0600 so that SQLite (which would use the
/// umask) never makes a readable one; an existing file is left as it is.
fn create_private(path: &Path) -> Result<(), DbError> {
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            if let Ok(meta) = std::fs::metadata(path)
                && meta.permissions().mode() & 0o077 != 0
            {
                papertrader_common::warn!(
                    "{}: database file is accessible to group or others (mode {:o})",
                    path.display(),
                    meta.permissions().mode() & 0o777
                );
            }
            Ok(())
        }
        Err(err) => Err(DbError {
            path: path.to_path_buf(),
            kind: DbErrorKind::Create(err),
        }),
    }
}

fn configure(conn: &Connection, path: &Path) -> Result<(), DbError> {
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|err| DbError::sqlite(path, "cannot set busy_timeout", err))?;
    // Changing the journal mode takes a lock the busy handler does not
    // wait for, so two first opens at once retry here instead of failing.
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mode: String = loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            result => {
                break result
                    .map_err(|err| DbError::sqlite(path, "cannot set journal_mode=WAL", err))?;
            }
        }
    };
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(DbError {
            path: path.to_path_buf(),
            kind: DbErrorKind::NotWal(mode),
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|err| DbError::sqlite(path, "cannot set synchronous=FULL", err))?;
    // After a checkpoint that empties it, the WAL file is cut back to this
    // size: a big transaction (a day's equity snapshot) does not leave a
    // file of its size behind.
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
        .map_err(|err| DbError::sqlite(path, "cannot set journal_size_limit", err))?;
    let pages = AUTOCHECKPOINT.load(Ordering::Relaxed);
    conn.pragma_update(None, "wal_autocheckpoint", pages)
        .map_err(|err| DbError::sqlite(path, "cannot set wal_autocheckpoint", err))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(|err| DbError::sqlite(path, "cannot set foreign_keys=ON", err))?;
    Ok(())
}

/// Applies the missing migrations in one IMMEDIATE transaction, so that
/// several threads opening the same new file at once migrate it only once.
/// A file that is up to date is only read: opening it never waits for,
/// nor fails on, another connection's write lock.
fn migrate(conn: &Connection, path: &Path) -> Result<(), DbError> {
    let sql_err = |what: &'static str| move |err| DbError::sqlite(path, what, err);
    let current: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sql_err("cannot read the schema version"))?;
    if current == schema_version() {
        return Ok(());
    }
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(sql_err("cannot begin the migration transaction"))?;
    let found: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sql_err("cannot read the schema version"))?;
    let known = schema_version();
    if found > known || found < 0 {
        return Err(DbError {
            path: path.to_path_buf(),
            kind: DbErrorKind::TooNew { found, known },
        });
    }
    if found == known {
        return Ok(());
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let number = index + 1;
        tx.execute_batch(sql).map_err(|err| DbError {
            path: path.to_path_buf(),
            kind: DbErrorKind::Migration { number, err },
        })?;
        tx.pragma_update(None, "user_version", number as i64)
            .map_err(sql_err("cannot record the schema version"))?;
    }
    let dangling: i64 = tx
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .map_err(sql_err("cannot check the foreign keys"))?;
    if dangling > 0 {
        let err = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
            Some(format!("{dangling} rows refer to rows that do not exist")),
        );
        return Err(DbError::sqlite(
            path,
            "the migrated database fails its foreign keys",
            err,
        ));
    }
    tx.commit()
        .map_err(sql_err("cannot commit the migration transaction"))?;
    papertrader_common::info!(
        "{}: database schema migrated from version {found} to {known}",
        path.display()
    );
    Ok(())
}

/// A database that cannot be opened or brought up to date.
#[derive(Debug)]
pub struct DbError {
    path: PathBuf,
    kind: DbErrorKind,
}

/// What went wrong in [`open`].
#[derive(Debug, thiserror::Error)]
pub enum DbErrorKind {
    /// Creating the missing file failed.
    #[error("cannot create the database file: {0}")]
    Create(#[source] io::Error),
    /// An SQLite call failed while doing the named step.
    #[error("{0}: {1}")]
    Sqlite(&'static str, #[source] rusqlite::Error),
    /// SQLite refused WAL mode and reported this journal mode instead.
    #[error("SQLite refused WAL mode (journal_mode is {0:?})")]
    NotWal(String),
    /// The file's schema is newer than every migration this binary has.
    #[error("database schema version {found} is newer than this ptmasterd understands ({known})")]
    TooNew {
        /// `user_version` of the file.
        found: i64,
        /// The newest version this binary knows.
        known: i64,
    },
    /// Migration `number` failed (and was rolled back).
    #[error("schema migration {number} failed: {err}")]
    Migration {
        /// 1-based migration number.
        number: usize,
        /// The SQLite error.
        #[source]
        err: rusqlite::Error,
    },
}

impl DbError {
    fn sqlite(path: &Path, what: &'static str, err: rusqlite::Error) -> DbError {
        DbError {
            path: path.to_path_buf(),
            kind: DbErrorKind::Sqlite(what, err),
        }
    }

    /// The database file concerned.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What failed.
    pub fn kind(&self) -> &DbErrorKind {
        &self.kind
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.kind)
    }
}

/// The source is the I/O or SQLite error under the kind, if any.
impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

/// A private temporary directory for tests, removed on drop.
#[cfg(test)]
pub(crate) struct TempDir(pub PathBuf);

#[cfg(test)]
impl TempDir {
    /// A fresh directory named after `tag`, the process and a counter.
    pub(crate) fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ptmaster-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create test temp dir");
        TempDir(dir)
    }

    /// A path inside the directory.
    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

/// Panics unless SQLite runs `sql` as a search of a primary key, never a
/// scan of a table (its parameters bound to 0). `SELECT EXISTS (...)`
/// scans one constant row, which costs nothing.
#[cfg(test)]
pub(crate) fn assert_key_scan(conn: &Connection, sql: &str) {
    let plan = query_plan(conn, sql);
    let tables = plan.replace("SCAN CONSTANT ROW", "");
    assert!(
        plan.contains("PRIMARY KEY") && !tables.contains("SCAN"),
        "{sql}: {plan}"
    );
}

/// SQLite's plan for `sql`, its parameters bound to 0: the steps'
/// details joined by `; `.
#[cfg(test)]
pub(crate) fn query_plan(conn: &Connection, sql: &str) -> String {
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .expect("explain");
    let args = vec![0i64; stmt.parameter_count()];
    let plan: Vec<String> = stmt
        .query_map(rusqlite::params_from_iter(args), |r| r.get(3))
        .expect("plan")
        .collect::<Result<_, _>>()
        .expect("rows");
    plan.join("; ")
}

#[cfg(test)]
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_twice_is_idempotent() {
        let dir = TempDir::new("db-twice");
        let path = dir.join("pt.db");
        let conn = open(&path).expect("first open");
        conn.execute(
            "INSERT INTO accounts (username, username_key, email, pass_hash, cash, created)
             VALUES ('Alice', 'alice', 'a@b', NULL, 0, 0)",
            [],
        )
        .expect("insert");
        drop(conn);
        let conn = open(&path).expect("second open");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 1, "reopening kept the data");
    }

    #[test]
    fn concurrent_first_opens_migrate_once() {
        let dir = TempDir::new("db-race");
        let path = dir.join("pt.db");
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || open(&path).map(|_| ()))
            })
            .collect();
        for t in threads {
            t.join().expect("thread").expect("open");
        }
        let conn = open(&path).expect("open");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("user_version");
        assert_eq!(version, schema_version());
    }

    #[test]
    fn new_file_is_private() {
        let dir = TempDir::new("db-mode");
        let path = dir.join("pt.db");
        let _conn = open(&path).expect("open");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn pragmas_and_version() {
        let dir = TempDir::new("db-pragmas");
        let conn = open(&dir.join("pt.db")).expect("open");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("user_version");
        assert_eq!(version, MIGRATIONS.len() as i64);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("journal_mode");
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .expect("synchronous");
        assert_eq!(sync, 2, "FULL");
        let fk: i64 = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .expect("foreign_keys");
        assert_eq!(fk, 1);
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = TempDir::new("db-newer");
        let path = dir.join("pt.db");
        let conn = open(&path).expect("open");
        conn.pragma_update(None, "user_version", 99).expect("bump");
        drop(conn);
        let err = open(&path).expect_err("too new");
        assert!(matches!(err.kind(), DbErrorKind::TooNew { found: 99, .. }));
        assert_eq!(
            err.to_string(),
            format!(
                "{}: database schema version 99 is newer than this ptmasterd understands ({})",
                path.display(),
                MIGRATIONS.len()
            )
        );
    }

    #[test]
    fn missing_directory_names_the_path() {
        let dir = TempDir::new("db-missing");
        let path = dir.join("no/such/dir/pt.db");
        let err = open(&path).expect_err("no directory");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "{}: cannot create the database file: ",
                path.display()
            )),
            "{text}"
        );
    }

    #[test]
    fn cash_cannot_go_negative() {
        let dir = TempDir::new("db-cash");
        let conn = open(&dir.join("pt.db")).expect("open");
        conn.execute(
            "INSERT INTO accounts (username, username_key, email, pass_hash, cash, created)
             VALUES ('Bob', 'bob', 'b@c', NULL, 100, 0)",
            [],
        )
        .expect("insert");
        let err = conn
            .execute(
                "UPDATE accounts SET cash = cash - 101 WHERE username_key = 'bob'",
                [],
            )
            .expect_err("CHECK refuses");
        assert_eq!(
            err.sqlite_error_code(),
            Some(rusqlite::ErrorCode::ConstraintViolation)
        );
        let cash: i64 = conn
            .query_row("SELECT cash FROM accounts", [], |r| r.get(0))
            .expect("cash");
        assert_eq!(cash, 100);
    }

    /// The regression: every open took the write lock to look for
    /// migrations, so a master started while another connection wrote
    /// failed with "database is locked".
    #[test]
    fn an_up_to_date_file_opens_while_another_connection_writes() {
        let dir = TempDir::new("db-busy");
        let path = dir.join("pt.db");
        let writer = open(&path).expect("first open");
        writer
            .execute_batch("BEGIN IMMEDIATE; DELETE FROM sessions;")
            .expect("hold the write lock");
        let started = std::time::Instant::now();
        let reader = open(&path).expect("opens without the lock");
        assert!(started.elapsed() < BUSY_TIMEOUT / 2, "did not wait for it");
        let version: i64 = reader
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, schema_version());
        writer.execute_batch("COMMIT").expect("commit");
    }

    /// A checkpoint at shutdown empties the WAL; the WAL of a big write is
    /// cut back to `journal_size_limit` by later checkpoints anyway.
    #[test]
    fn checkpoint_empties_the_wal() {
        let dir = TempDir::new("db-wal");
        let path = dir.join("pt.db");
        let conn = open(&path).expect("open");
        let limit: i64 = conn
            .pragma_query_value(None, "journal_size_limit", |r| r.get(0))
            .expect("limit");
        assert_eq!(limit, JOURNAL_SIZE_LIMIT);
        conn.execute_batch(
            "CREATE TABLE filler (x BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 512)
             INSERT INTO filler SELECT randomblob(4096) FROM n;",
        )
        .expect("fill");
        let wal = dir.join("pt.db-wal");
        assert!(std::fs::metadata(&wal).expect("wal").len() > 1 << 20);
        checkpoint(&path).expect("checkpoint");
        assert_eq!(std::fs::metadata(&wal).map_or(0, |m| m.len()), 0);
        drop(conn);
    }

    /// The trade thread's questions about shorts, asked at every price
    /// set, read the partial index, not every position.
    #[test]
    fn shorts_are_found_through_their_index() {
        let dir = TempDir::new("db-shorts");
        let conn = open(&dir.join("pt.db")).expect("open");
        for sql in [
            "SELECT EXISTS (SELECT 1 FROM positions WHERE quantity < 0)",
            "SELECT DISTINCT account_id FROM positions WHERE quantity < 0",
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .expect("plan")
                .query_map([], |r| r.get(3))
                .expect("query")
                .collect::<rusqlite::Result<_>>()
                .expect("rows");
            assert!(
                plan.iter().any(|step| step.contains("positions_short")),
                "{sql}: {plan:?}"
            );
        }
    }

    #[test]
    fn sessions_need_an_account() {
        let dir = TempDir::new("db-fk");
        let conn = open(&dir.join("pt.db")).expect("open");
        let err = conn
            .execute(
                "INSERT INTO sessions VALUES (x'00', 42, 0, 1, '127.0.0.1:1', 1, 1, 'w', NULL, NULL)",
                [],
            )
            .expect_err("foreign key");
        assert_eq!(
            err.sqlite_error_code(),
            Some(rusqlite::ErrorCode::ConstraintViolation)
        );
    }

    /// A database at schema `version`, made by the first migrations alone
    /// (as an older ptmasterd left it).
    fn database_at(path: &Path, version: usize, rows: &str) {
        let conn = Connection::open(path).expect("open raw");
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).expect("old migration");
        }
        conn.execute_batch(rows).expect("old rows");
        conn.pragma_update(None, "user_version", version as i64)
            .expect("version");
    }

    const V6_ROWS: &str = "
        INSERT INTO accounts (id, username, username_key, email, pass_hash, cash, created,
                              opening_cash, start_cash, started)
            VALUES (1, 'Ann', 'ann', 'a@b', NULL, 9430001, 0, 10000000, 10000000, 0);
        INSERT INTO transactions (account_id, time, side, symbol, quantity, price)
            VALUES (1, 10, 'buy', 'AAA', 3, 190000), (1, 20, 'sell', 'AAA', 1, 1);
        INSERT INTO orders (account_id, created, arrival_ms, side, symbol, quantity, type,
                            limit_price, stop_price, tif, status, updated, txid)
            VALUES (1, 5, 5, 'sell', 'AAA', 2, 'limit', 200000, NULL, 'gtc', 'open', 5, NULL);
        INSERT INTO positions VALUES (1, 'AAA', 2, 380000);";

    #[test]
    fn migration_7_counts_shares_in_billionths_and_keeps_the_books() {
        let dir = TempDir::new("db-v6");
        let path = dir.join("pt.db");
        // 3 bought at 19, 1 sold at 0.0001: cash 1000 - 57 + 0.0001.
        database_at(&path, 6, V6_ROWS);
        let conn = open(&path).expect("migrate");
        let shares = |sql: &str| -> Vec<i64> {
            let mut stmt = conn.prepare(sql).expect("prepare");
            stmt.query_map([], |r| r.get(0))
                .expect("query")
                .collect::<rusqlite::Result<_>>()
                .expect("rows")
        };
        const ONE: i64 = papertrader_common::value::SHARE_SCALE;
        assert_eq!(shares("SELECT quantity FROM positions"), [2 * ONE]);
        assert_eq!(
            shares("SELECT quantity FROM transactions ORDER BY txid"),
            [3 * ONE, ONE]
        );
        assert_eq!(shares("SELECT quantity FROM orders"), [2 * ONE]);
        assert_eq!(
            crate::trade::audit(&conn).expect("audit"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn migration_17_makes_every_account_its_own_first_portfolio() {
        let dir = TempDir::new("db-v16");
        let path = dir.join("pt.db");
        // At 16: two accounts with trades, an open order, a session, an API
        // key and a watchlist.
        database_at(
            &path,
            16,
            "INSERT INTO accounts (id, username, username_key, email, pass_hash, cash, created,
                                   opening_cash, start_cash, started)
                VALUES (1, 'Ann', 'ann', 'ann@example.com', NULL, 9600000, 1, 10000000,
                        10000000, 1),
                       (2, 'bob', 'bob', 'bob@example.com', NULL, 10000000, 2, 10000000,
                        10000000, 2);
             INSERT INTO transactions (account_id, time, side, symbol, quantity, price)
                VALUES (1, 5, 'buy', 'AAA', 2000000000, 200000);
             INSERT INTO orders (account_id, created, arrival_ms, side, symbol, quantity, type,
                                 limit_price, stop_price, tif, status, updated, txid)
                VALUES (1, 6, 6, 'sell', 'AAA', 1000000000, 'limit', 900000, NULL, 'gtc',
                        'open', 6, NULL);
             INSERT INTO positions VALUES (1, 'AAA', 2000000000, 400000);
             INSERT INTO sessions VALUES (x'01', 1, 1, 99, '127.0.0.1:1', 0, 1, 'w', NULL);
             INSERT INTO api_keys VALUES ('PKAAAAAAAAAAAAAAAAAA', 2, zeroblob(32), 'bot', 3, NULL);
             INSERT INTO watchlists VALUES (2, 'AAA', 4);",
        );
        let conn = open(&path).expect("migrate");
        let rows: Vec<(i64, Option<i64>, i64, String, String, i64)> = conn
            .prepare(
                "SELECT id, owner_id, portfolio_no, portfolio_name, status, cash
                 FROM accounts ORDER BY id",
            )
            .expect("prepare")
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(
            rows,
            [
                (1, None, 1, "main".into(), "open".into(), 9_600_000),
                (2, None, 1, "main".into(), "open".into(), 10_000_000)
            ]
        );
        let book: i64 = conn
            .query_row(
                "SELECT COALESCE(portfolio_id, account_id) FROM sessions",
                [],
                |r| r.get(0),
            )
            .expect("session");
        assert_eq!(book, 1, "a session acts on its login's first portfolio");
        assert_eq!(
            crate::trade::audit(&conn).expect("audit"),
            Vec::<String>::new()
        );
        // A second portfolio beside the first keeps the books apart.
        let new = games::NewPortfolio {
            login: 1,
            name: "swing",
            cash: papertrader_common::value::Money(5_000_000),
            game: None,
            now: papertrader_common::value::Timestamp(10),
        };
        let (id, no) = games::insert(&conn, &new).expect("portfolio");
        assert_eq!(no, 2);
        let all = games::of_login(&conn, 1).expect("list");
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[1].id, all[1].cash, all[1].name.as_str()),
            (id, 5_000_000, "swing")
        );
        assert_eq!(
            crate::trade::audit(&conn).expect("audit"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn migrations_10_and_11_keep_filled_and_replaced_orders() {
        let dir = TempDir::new("db-v9");
        let path = dir.join("pt.db");
        // At 9: a buy of 2 filled by an order, an order replaced by another.
        database_at(
            &path,
            9,
            "INSERT INTO accounts (id, username, username_key, email, pass_hash, cash, created,
                                   opening_cash, start_cash, started)
                VALUES (1, 'ann', 'ann', 'ann@example.com', NULL, 9600000, 1, 10000000,
                        10000000, 1);
             INSERT INTO transactions (account_id, time, side, symbol, quantity, price)
                VALUES (1, 5, 'buy', 'AAA', 2000000000, 200000);
             INSERT INTO orders (account_id, created, arrival_ms, side, symbol, quantity, type,
                                 limit_price, stop_price, tif, status, updated, txid)
                VALUES (1, 5, 5, 'buy', 'AAA', 2000000000, 'limit', 200000, NULL, 'gtc',
                        'filled', 5, 1);
             INSERT INTO orders (id, account_id, created, arrival_ms, side, symbol, quantity,
                                 type, limit_price, stop_price, tif, status, updated, txid)
                VALUES (3, 1, 7, 7, 'sell', 'AAA', 1000000000, 'limit', 800000, NULL, 'gtc',
                        'open', 7, NULL);
             INSERT INTO orders (id, account_id, created, arrival_ms, side, symbol, quantity,
                                 type, limit_price, stop_price, tif, status, updated, txid,
                                 replaced_by)
                VALUES (2, 1, 6, 6, 'sell', 'AAA', 1000000000, 'limit', 900000, NULL, 'gtc',
                        'replaced', 7, NULL, 3);
             INSERT INTO positions VALUES (1, 'AAA', 2000000000, 400000);",
        );
        let conn = open(&path).expect("migrate");
        let statuses: Vec<(String, Option<i64>)> = conn
            .prepare("SELECT status, coalesce(txid, replaced_by) FROM orders ORDER BY id")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(
            statuses,
            [
                ("filled".to_string(), Some(1)),
                ("replaced".to_string(), Some(3)),
                ("open".to_string(), None)
            ]
        );
        assert_eq!(
            crate::trade::audit(&conn).expect("audit"),
            Vec::<String>::new()
        );
        let fk: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .expect("fk check");
        assert_eq!(fk, 0);
    }

    #[test]
    fn migration_13_records_what_filled_orders_filled() {
        let dir = TempDir::new("db-v12");
        let path = dir.join("pt.db");
        // At 12: 10,000 shares bought at 100 (an amount whose product in
        // 10^-13 overflows an i64), 0.333333333 sold at 1.2345, an open
        // order.
        database_at(
            &path,
            12,
            "INSERT INTO accounts (id, username, username_key, email, pass_hash, cash, created,
                                   opening_cash, start_cash, started)
                VALUES (1, 'ann', 'ann', 'ann@example.com', NULL, 10000000000, 1,
                        20000000000, 20000000000, 1);
             INSERT INTO transactions (account_id, time, side, symbol, quantity, price)
                VALUES (1, 5, 'buy', 'AAA', 10000000000000, 1000000),
                       (1, 6, 'sell', 'AAA', 333333333, 12345);
             INSERT INTO orders (account_id, created, arrival_ms, side, symbol, quantity, type,
                                 limit_price, stop_price, tif, status, updated, txid)
                VALUES (1, 5, 5, 'buy', 'AAA', 10000000000000, 'market', NULL, NULL, 'gtc',
                        'filled', 5, 1),
                       (1, 6, 6, 'sell', 'AAA', 333333333, 'market', NULL, NULL, 'gtc',
                        'filled', 6, 2),
                       (1, 7, 7, 'sell', 'AAA', 1000000000, 'limit', 2000000, NULL, 'gtc',
                        'open', 7, NULL);",
        );
        let conn = open(&path).expect("migrate");
        let rows: Vec<(i64, i64)> = conn
            .prepare("SELECT filled, filled_cost FROM orders ORDER BY id")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        // 0.333333333 x 1.2345 = 0.41149999... rounded down: 0.4114.
        assert_eq!(
            rows,
            [
                (10_000_000_000_000, 10_000_000_000),
                (333_333_333, 4_114),
                (0, 0)
            ]
        );
        let orders = crate::trade::orders::listed(&conn, 1).expect("listed");
        use papertrader_common::value::Money as M;
        let avg: Vec<Option<M>> = orders.iter().map(|o| o.filled.map(|f| f.avg)).collect();
        assert_eq!(avg, [None, Some(M(12_345)), Some(M(1_000_000))]);
    }

    #[test]
    fn migration_7_refuses_a_count_it_cannot_scale() {
        let dir = TempDir::new("db-v6-big");
        let path = dir.join("pt.db");
        let rows = V6_ROWS.replace("(1, 'AAA', 2, 380000)", "(1, 'AAA', 9223372037, 380000)");
        database_at(&path, 6, &rows);
        let err = open(&path).expect_err("too many shares to scale");
        assert!(
            matches!(err.kind(), DbErrorKind::Migration { number: 7, .. }),
            "{err}"
        );
        let conn = Connection::open(&path).expect("raw");
        let (version, held): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT user_version FROM pragma_user_version), quantity FROM positions",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("left as it was");
        assert_eq!((version, held), (6, 9_223_372_037));
    }
}
