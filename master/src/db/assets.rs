//! SQL of the `assets` table: the listed assets as the "asset" thread
//! (`market::feed`) last saved them, so the database file says what was
//! listed beside its history (`sqlite3` and audits read it; the daemon
//! keeps its list in memory).

use papertrader_common::payload::Asset;
use rusqlite::{Connection, params};

/// Replaces the table with `assets` (a reload may add or drop symbols; the
/// history of dropped ones stays).
pub fn replace(conn: &Connection, assets: &[Asset]) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM assets", [])?;
    let mut insert = conn.prepare_cached("INSERT INTO assets (symbol, name) VALUES (?1, ?2)")?;
    for asset in assets {
        insert.execute(params![asset.symbol.as_str(), asset.name])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use papertrader_common::value::Symbol;

    use super::*;
    use crate::db::{self, TempDir};

    #[test]
    fn assets_are_replaced() {
        let dir = TempDir::new("assets");
        let conn = db::open(&dir.join("pt.db")).expect("open");
        let asset = |s: &str, n: &str| Asset {
            symbol: Symbol::parse(s).expect("symbol"),
            name: n.to_string(),
        };
        let first = [asset("AAPL", "Apple Inc."), asset("KO", "Coca-Cola")];
        replace(&conn, &first).expect("replace");
        let second = [
            asset("KO", "The Coca-Cola Company"),
            asset("V", "Visa Inc."),
        ];
        replace(&conn, &second).expect("replace");
        let mut stmt = conn
            .prepare("SELECT symbol || '|' || name FROM assets ORDER BY symbol")
            .expect("prepare");
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(rows, ["KO|The Coca-Cola Company", "V|Visa Inc."]);
    }
}
