//! The worker list as the loop keeps it: which connection is each
//! worker's link, the links lost and not back yet, the last quotes a new
//! link is sent, and the ping counter.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mio::Token;

/// The accepted links, by worker UUID.
#[derive(Default)]
pub struct Links {
    by_uuid: HashMap<String, Token>,
    /// Links lost and not back yet: UUID to worker name and when.
    lost: HashMap<String, (String, Instant)>,
    /// The last `quotes` payload, for workers that link later.
    last_quotes: Option<Vec<u8>>,
    pings: u64,
}

impl Links {
    /// `token` is now the link of `uuid`; the link it replaces, if any.
    pub fn up(&mut self, uuid: String, token: Token) -> Option<Token> {
        self.lost.remove(&uuid);
        self.by_uuid.insert(uuid, token)
    }

    /// The link `token` of worker `uuid` (`name`) is gone, unless a newer
    /// link replaced it already; true when it left the list.
    pub fn down(&mut self, uuid: &str, name: &str, token: Token) -> bool {
        if self.by_uuid.get(uuid) != Some(&token) {
            return false;
        }
        self.by_uuid.remove(uuid);
        let lost = (name.to_string(), Instant::now());
        self.lost.insert(uuid.to_string(), lost);
        true
    }

    /// The link of worker `uuid`.
    pub fn token(&self, uuid: &str) -> Option<Token> {
        self.by_uuid.get(uuid).copied()
    }

    /// Every link.
    pub fn tokens(&self) -> Vec<Token> {
        self.by_uuid.values().copied().collect()
    }

    /// Links up.
    pub fn len(&self) -> usize {
        self.by_uuid.len()
    }

    /// Links up of workers other than `uuid`.
    pub fn others(&self, uuid: &str) -> usize {
        self.by_uuid.keys().filter(|u| *u != uuid).count()
    }

    /// The word of the next ping.
    pub fn next_ping(&mut self) -> String {
        self.pings += 1;
        self.pings.to_string()
    }

    /// Names of the workers lost longer than `grace` ago and not back;
    /// they leave the lost list.
    pub fn take_lost(&mut self, now: Instant, grace: Duration) -> Vec<String> {
        let mut gone = Vec::new();
        self.lost.retain(|_, (name, since)| {
            let keep = now.duration_since(*since) < grace;
            if !keep {
                gone.push(std::mem::take(name));
            }
            keep
        });
        gone
    }

    /// Keeps the last prices, for links to come.
    pub fn set_quotes(&mut self, payload: Vec<u8>) {
        self.last_quotes = Some(payload);
    }

    /// The last prices pushed.
    pub fn quotes(&self) -> Option<&[u8]> {
        self.last_quotes.as_deref()
    }
}
