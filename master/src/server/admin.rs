//! The ptctl commands that need the event loop's state (status, workers,
//! kick, and putting a reload in force). Runs on the event loop thread as
//! part of [`Server`]; the control thread asks through an event and waits
//! for the text answer.

use papertrader_common::reply::LinkMsg;
use papertrader_common::value::{Reason, ReasonCode, Timestamp};

use super::Server;
use crate::command::{Command, CommandError, Reloaded};

impl Server {
    /// Runs a ptctl command that needs the loop.
    pub(super) fn on_control(&mut self, command: Command) -> Result<String, CommandError> {
        match command {
            Command::Status => Ok(self.status_text()),
            Command::Workers => Ok(self.workers_text()),
            Command::Kick(name) => self.kick(&name),
            Command::Reload(reloaded) => Ok(self.apply_reload(*reloaded)),
        }
    }

    fn status_text(&self) -> String {
        let up = Timestamp::now().0 - self.started.0;
        format!(
            "ptmasterd {} pid {}\nlistening on {}\nup {up} s\nworkers linked {} of {} allowed\nconnections {}\n",
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
            self.conns.local(),
            self.links.len(),
            self.config.max_workers,
            self.conns.len(),
        )
    }

    fn workers_text(&self) -> String {
        let mut out = String::from("NAME UUID ADDRESS CONNECTED_SINCE REQUESTS\n");
        for entry in self.registry.entries() {
            let link = self
                .links
                .token(&entry.uuid)
                .and_then(|t| self.conns.link(t));
            match link {
                Some(l) => out.push_str(&format!(
                    "{} {} {} {} {}\n",
                    entry.name,
                    entry.uuid,
                    l.client_addr,
                    l.since,
                    l.served()
                )),
                None => out.push_str(&format!("{} {} - - -\n", entry.name, entry.uuid)),
            }
        }
        out
    }

    fn kick(&mut self, name: &str) -> Result<String, CommandError> {
        let tokens = self.links.tokens();
        let found = tokens
            .into_iter()
            .find(|t| self.conns.link(*t).is_some_and(|l| l.name == name));
        let Some(token) = found else {
            return Err(CommandError::NoSuchWorker(name.to_string()));
        };
        papertrader_common::info!("worker {name} kicked by ptctl");
        let kick = LinkMsg::Kick(Reason::new(
            ReasonCode::Forbidden,
            "kicked by the administrator",
        ))
        .encode();
        self.unlink(token);
        self.send_and_close(token, &kick);
        Ok(format!("kicked {name}\n"))
    }

    /// Puts a freshly read workers.list and asset list in force; links
    /// whose entry went away, or whose address is no longer allowed, are
    /// kicked.
    fn apply_reload(&mut self, reloaded: Reloaded) -> String {
        let Reloaded { registry, assets } = reloaded;
        self.registry = registry;
        let asset_count = assets.len();
        *self.assets.write() = assets;
        let mut stale = self.links.tokens();
        stale.retain(|t| {
            let (Some(conn), Some(link)) = (self.conns.get(*t), self.conns.link(*t)) else {
                return true;
            };
            !self
                .registry
                .by_uuid(&link.uuid)
                .is_some_and(|e| e.allows(conn.peer().ip()))
        });
        for token in &stale {
            let text = "no longer registered in workers.list";
            self.unlink(*token);
            let kick = LinkMsg::Kick(Reason::new(ReasonCode::Forbidden, text)).encode();
            self.send_and_close(*token, &kick);
        }
        let text = format!(
            "reloaded {}: {} workers registered, {} links dropped; {asset_count} assets listed",
            self.config.workers_file.display(),
            self.registry.entries().len(),
            stale.len()
        );
        papertrader_common::info!("{text}");
        text + "\n"
    }
}
