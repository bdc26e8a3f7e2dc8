//! A small WebDriver client for the browser tests: spawns Debian's
//! chromedriver on a free port, starts headless Chromium through it, and
//! speaks the W3C WebDriver HTTP JSON API over std's TcpStream (one
//! request per connection, its answer read to its Content-Length). Killed on
//! Drop.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key of an element reference (W3C WebDriver).
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
}

impl Browser {
    /// Headless Chromium with a fresh profile under `profile`.
    pub fn start(profile: &Path) -> Browser {
        for bin in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: run `make deps` as root (Debian packages chromium, chromium-driver)"
            );
        }
        let port = super::system::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut browser = Browser {
            driver,
            addr,
            session: String::new(),
        };
        // The flags of .library/env's probe: without the background
        // networking ones Chromium keeps dialling Google on a closed network.
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }}});
        let answer = browser.call("POST", "/session", Some(caps));
        browser.session = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        browser
    }

    /// One WebDriver call; the answer's `value`.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut tcp = TcpStream::connect(self.addr).expect("connect to chromedriver");
        tcp.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        tcp.write_all(request.as_bytes())
            .expect("send to chromedriver");
        // chromedriver may keep the connection open: read Content-Length.
        let mut answer = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        let start = loop {
            if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .expect("chromedriver sends Content-Length");
                if answer.len() >= end + 4 + len {
                    answer.truncate(end + 4 + len);
                    break end + 4;
                }
            }
            let n = tcp.read(&mut buf).expect("read from chromedriver");
            assert!(
                n > 0,
                "chromedriver closed: {}",
                String::from_utf8_lossy(&answer)
            );
            answer.extend_from_slice(&buf[..n]);
        };
        let json: Value = serde_json::from_slice(&answer[start..]).unwrap_or_else(|e| {
            panic!(
                "chromedriver answered {e}: {}",
                String::from_utf8_lossy(&answer)
            )
        });
        json["value"].clone()
    }

    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let value = self.call(method, &format!("/session/{}{path}", self.session), body);
        if let Some(err) = value.get("error") {
            panic!("WebDriver {method} {path}: {err}: {}", value["message"]);
        }
        value
    }

    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({ "url": url })));
    }

    /// Opens a new tab (of the same profile) and returns its handle; the
    /// session stays in the tab it was in.
    pub fn new_tab(&self) -> String {
        let v = self.session_call("POST", "/window/new", Some(json!({"type": "tab"})));
        v["handle"].as_str().expect("window handle").to_string()
    }

    /// The handle of the tab commands go to.
    pub fn tab(&self) -> String {
        let v = self.session_call("GET", "/window", None);
        v.as_str().expect("window handle").to_string()
    }

    /// Sends the next commands to the tab `handle`.
    pub fn switch_tab(&self, handle: &str) {
        self.session_call("POST", "/window", Some(json!({ "handle": handle })));
    }

    pub fn resize(&self, width: u32, height: u32) {
        self.session_call(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub fn run(&self, script: &str, args: Value) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Runs `script` in the page as WebDriver's asynchronous scripts run:
    /// its answer is what it passes to the callback, its last argument.
    pub fn run_async(&self, script: &str, args: Value) -> Value {
        self.session_call(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// The element matching `css` once it is there and shown (30 s).
    pub fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let shown = self.run(
                "const e = document.querySelector(arguments[0]); \
                 return !!e && !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);",
                json!([css]),
            );
            if shown == json!(true) {
                let v = self.session_call(
                    "POST",
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                );
                return v[ELEMENT].as_str().expect("element id").to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no visible {css} within 30 s at {}; page text:\n{}\nconsole: {:?}",
                self.session_call("GET", "/url", None),
                self.text("body"),
                self.console()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn click(&self, css: &str) {
        let id = self.find(css);
        self.session_call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Clears the input `css` and types `text` into it.
    pub fn fill(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.session_call("POST", &format!("/element/{id}/clear"), Some(json!({})));
        self.session_call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// The text of the first element matching `css` ("" if none).
    pub fn text(&self, css: &str) -> String {
        self.run(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
            json!([css]),
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Waits up to `limit` for the text of `css` to satisfy `ok`.
    pub fn wait_text(&self, css: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let text = self.text(css);
            if ok(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never matched; it reads {text:?}; page:\n{}",
                self.text("body")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let b64 = self.session_call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("base64 PNG"))
            .expect("valid base64");
        std::fs::write(path, png).expect("write screenshot");
    }

    /// The WebSocket frames the page sent and received since the last
    /// call (Chromium's performance log, its DevTools network events):
    /// (sent, received).
    pub fn websocket_frames(&self) -> (usize, usize) {
        let v = self.session_call("POST", "/se/log", Some(json!({"type": "performance"})));
        let (mut sent, mut received) = (0, 0);
        for entry in v.as_array().into_iter().flatten() {
            let message = entry["message"].as_str().unwrap_or_default();
            let method = serde_json::from_str::<Value>(message)
                .ok()
                .and_then(|m| m["message"]["method"].as_str().map(str::to_string))
                .unwrap_or_default();
            match method.as_str() {
                "Network.webSocketFrameSent" => sent += 1,
                "Network.webSocketFrameReceived" => received += 1,
                _ => {}
            }
        }
        (sent, received)
    }

    /// The browser console since the last call: (level, message).
    pub fn console(&self) -> Vec<(String, String)> {
        let v = self.session_call("POST", "/se/log", Some(json!({"type": "browser"})));
        v.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        (
                            e["level"].as_str().unwrap_or_default().to_string(),
                            e["message"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
