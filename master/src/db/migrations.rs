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
];
