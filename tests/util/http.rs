//! A small blocking HTTP/1.1 keep-alive client for the HTTP API tests:
//! one request at a time, answers framed by Content-Length.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{e}: {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A keep-alive connection.
pub struct Http {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
    pub headers: Vec<(String, String)>,
}

impl Http {
    pub fn connect(addr: SocketAddr) -> Http {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Http {
            addr,
            reader: BufReader::new(stream),
            headers: Vec::new(),
        }
    }

    /// Sends the key's two headers with every request.
    pub fn with_key(addr: SocketAddr, id: &str, secret: &str) -> Http {
        let mut http = Http::connect(addr);
        http.headers = vec![
            ("APCA-API-KEY-ID".into(), id.into()),
            ("APCA-API-SECRET-KEY".into(), secret.into()),
        ];
        http
    }

    pub fn raw(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).expect("write");
    }

    pub fn call(&mut self, method: &str, target: &str, body: Option<&str>) -> Answer {
        let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (k, v) in &self.headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(body) = body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        } else {
            req.push_str("\r\n");
        }
        self.raw(req.as_bytes());
        self.read_answer()
    }

    pub fn get(&mut self, target: &str) -> Answer {
        self.call("GET", target, None)
    }

    pub fn read_answer(&mut self) -> Answer {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("read head");
            assert!(n > 0, "connection closed; head so far: {head:?}");
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("status line: {head}"));
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        self.reader.read_exact(&mut body).expect("read body");
        Answer { status, head, body }
    }
}
