//! The web port (`papertrader-protocol(7)` section 12, ptworkerd.conf(5)
//! `web_listen`): the browser app over HTTP, embedded in the binary
//! (`assets`, made by `build.rs` from `web/`), and the protocol over
//! WebSocket at `/ws` (`ws`). Runs on the event loop: HTTP connections
//! (`conn`, parsed by `http`) live beside the framed clients, and one whose
//! `/ws` upgrade is accepted becomes a client like any other, with every
//! limit of the client port. With client TLS on, the port serves HTTPS and
//! WSS with the client port's certificate. `site` holds what is generated
//! from the configuration (`/providers.json`, the CSP naming the issuers).

pub mod assets;
pub mod conn;
pub mod http;
pub mod site;
pub mod stream;
pub mod ws;
