//! The web port's side of the loop: HTTP connections accepted, made
//! ready, upgraded to framed clients on `/ws`, and swept when idle or
//! stuck (the connections themselves are `crate::web::conn`).

use std::io::Write;
use std::net::SocketAddr;
use std::time::Instant;

use mio::Token;
use mio::net::TcpStream;
use papertrader_common::framed;

use crate::config::ClientTls;
use crate::transport::ClientIo;
use crate::web::conn::{Policy, Step, Upgraded, WebConn};
use crate::web::http::{Status, text_answer};
use crate::web::ws::WsStream;

use super::Server;

impl Server {
    /// Accepts every connection waiting on the web port.
    pub(super) fn accept_web(&mut self) {
        while let Some((stream, peer)) = self.doors.accept(self.poll.registry(), true) {
            self.add_web(stream, peer);
        }
    }

    fn add_web(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        if let Err((_, text)) = self.doors.admit(peer, self.clients.len() + self.web.len()) {
            // Plain text even to a TLS client: it is turned away either way.
            let _ = stream.write(&text_answer(Status::Unavailable, &text, "", true));
            return;
        }
        let token = self.doors.token();
        let mut conn = WebConn::new(self.doors.stream(stream), peer, Instant::now());
        if let Err(err) = conn.register(self.poll.registry(), token) {
            papertrader_common::error!("{peer}: cannot register: {err}");
            self.doors.release(peer);
            return;
        }
        papertrader_common::debug!("{peer}: web connection");
        self.web.insert(token, conn);
    }

    /// Readiness of an HTTP connection.
    pub(super) fn web_ready(&mut self, token: Token) {
        let config = self.config.clone();
        let site = self.site.clone();
        let policy = Policy {
            allowed_origins: &config.web_allowed_origins,
            tls_required: config.client_tls == ClientTls::Required,
            site: &site,
        };
        let Some(conn) = self.web.get_mut(&token) else {
            return;
        };
        match conn.ready(self.poll.registry(), token, &policy, &mut self.read_buf) {
            Step::Open => self.api_asks(token),
            Step::Close(why) => self.close_web(token, why),
            Step::Upgrade(upgraded) => self.upgrade(token, *upgraded),
        }
    }

    /// `/ws` was accepted: the connection becomes a framed client under
    /// the same token, its `101` answer first in its output.
    fn upgrade(&mut self, token: Token, upgraded: Upgraded) {
        let Some(conn) = self.web.remove(&token) else {
            return;
        };
        let peer = conn.peer();
        if upgraded.stream {
            return self.add_stream(token, upgraded, peer);
        }
        let Upgraded {
            mut io,
            preface,
            early,
            ..
        } = upgraded;
        let _ = self.poll.registry().deregister(&mut io);
        let ws = ClientIo::Ws(Box::new(WsStream::new(io, preface, early)));
        if !self.insert_client(token, ws, peer, "WebSocket open") {
            return;
        }
        // The 101 goes out, and frames that came with the request are read.
        let more = framed::on_ready(self, token, true, true);
        self.unread.note(token, more);
    }

    /// Drops an HTTP connection.
    pub(super) fn close_web(&mut self, token: Token, why: &str) {
        let Some(mut conn) = self.web.remove(&token) else {
            return;
        };
        conn.shutdown();
        conn.deregister(self.poll.registry());
        self.doors.release(conn.peer());
        self.api_forget(token);
        papertrader_common::debug!("{}: web connection {why}", conn.peer());
        self.resume_listeners(true);
    }

    /// Closes HTTP connections that are idle, stuck in a request head
    /// (slowloris) or not reading their answers.
    pub(super) fn sweep_web(&mut self, now: Instant) {
        let (idle, stall) = (self.config.idle_timeout, self.config.frame_timeout);
        let expired: Vec<(Token, &'static str)> = self
            .web
            .iter()
            .filter_map(|(t, c)| c.expired(now, idle, stall).map(|why| (*t, why)))
            .collect();
        for (token, why) in expired {
            if let Some(c) = self.web.get(&token) {
                papertrader_common::info!("{}: {why}, disconnected", c.peer());
            }
            self.close_web(token, why);
        }
    }
}
