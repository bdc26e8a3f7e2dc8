//! A user trading over a master link (`TestWorker`), for the tests that
//! drive a real ptmasterd directly: orders, prices.

use std::time::{Duration, Instant};

use papertrader_common::payload::{OrderLine, parse_lines};
use papertrader_common::value::{Money, OrderStatus};
use papertrader_common::{Instr, ReasonCode};

use super::daemon::Daemon;
use super::master::{MasterSetup, TestWorker, hashed_pass};

pub fn code_of(args: &[String]) -> ReasonCode {
    let reason = args.last().expect("a reason");
    ReasonCode::parse(reason.split(' ').next().expect("a code")).expect("known code")
}

/// A user on a master link.
pub struct Trader {
    pub w: TestWorker,
    pub session: String,
    pub name: String,
}

impl Trader {
    pub fn register(setup: &MasterSetup, master: &Daemon, name: &str) -> Trader {
        let mut w = setup.link(master.addr, 0).expect("linked");
        let pass = hashed_pass(name, "pw");
        let email = format!("{name}@example.com");
        let (i, a) = w.request(Instr::Register, &[name, &email, &pass]);
        assert_eq!(i, Instr::RegisterSuccess, "{a:?}");
        let (i, a) = w.request(Instr::Login, &[name, &pass, "false"]);
        assert_eq!(i, Instr::SessionId, "{a:?}");
        Trader {
            w,
            session: a[0].clone(),
            name: name.to_string(),
        }
    }

    /// Registers and logs in another user on the same link (a second link
    /// with the same worker UUID would replace this one); returns its
    /// session.
    pub fn another(&mut self, name: &str) -> String {
        let pass = hashed_pass(name, "pw");
        let email = format!("{name}@example.com");
        let (i, a) = self.w.request(Instr::Register, &[name, &email, &pass]);
        assert_eq!(i, Instr::RegisterSuccess, "{a:?}");
        let (i, a) = self.w.request(Instr::Login, &[name, &pass, "false"]);
        assert_eq!(i, Instr::SessionId, "{a:?}");
        a[0].clone()
    }

    /// Logs in again on a new link (after a restart).
    pub fn relink(&mut self, setup: &MasterSetup, master: &Daemon) {
        self.w = setup.link(master.addr, 0).expect("linked");
    }

    pub fn place(&mut self, words: &str) -> (Instr, Vec<String>) {
        let mut args = vec![self.session.as_str()];
        args.extend(words.split(' '));
        self.w.request(Instr::PlaceOrder, &args)
    }

    /// Places an order that must be accepted; returns its id.
    pub fn accepted(&mut self, words: &str) -> String {
        let (i, a) = self.place(words);
        assert_eq!(i, Instr::OrderAccepted, "{words}: {a:?}");
        a[0].clone()
    }

    pub fn refused(&mut self, words: &str) -> ReasonCode {
        let (i, a) = self.place(words);
        assert_eq!(i, Instr::OrderFail, "{words}: {a:?}");
        code_of(&a)
    }

    pub fn data(&mut self, instr: Instr, args: &[&str]) -> Result<String, ReasonCode> {
        let reqid = self.w.send_request(instr, args);
        self.w
            .recv_data(reqid)
            .map(|p| String::from_utf8(p).expect("utf-8"))
            .map_err(|(_, a)| code_of(&a))
    }

    /// [`Trader::data`] that must succeed.
    pub fn data_ok(&mut self, instr: Instr, args: &[&str]) -> String {
        self.data(instr, args)
            .unwrap_or_else(|code| panic!("{} refused: {code}", instr.name()))
    }

    pub fn orders(&mut self) -> Vec<OrderLine> {
        let session = self.session.clone();
        let text = self.data(Instr::GetOrders, &[&session]).expect("orders");
        parse_lines(&text).expect("order lines")
    }

    pub fn order(&mut self, id: &str) -> OrderLine {
        self.orders()
            .into_iter()
            .find(|o| o.id.to_string() == id)
            .unwrap_or_else(|| panic!("order {id} listed"))
    }

    /// Waits until order `id` has `status`.
    pub fn wait_status(&mut self, id: &str, status: OrderStatus, limit: Duration) -> OrderLine {
        let deadline = Instant::now() + limit;
        loop {
            let order = self.order(id);
            if order.status == status {
                return order;
            }
            assert!(
                Instant::now() < deadline,
                "order {id} still {} after {limit:?}, want {status}",
                order.status
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `KEY VALUE` of getUserInfo.
    pub fn info(&mut self, key: &str) -> String {
        let (session, name) = (self.session.clone(), self.name.clone());
        let text = self
            .data(Instr::GetUserInfo, &[&session, &name])
            .expect("info");
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key} ")))
            .unwrap_or_else(|| panic!("{key} in {text}"))
            .to_string()
    }

    pub fn history(&mut self) -> String {
        let (session, name) = (self.session.clone(), self.name.clone());
        self.data(Instr::GetUserTransactionHistory, &[&session, &name])
            .expect("history")
    }

    pub fn portfolio(&mut self) -> String {
        let (session, name) = (self.session.clone(), self.name.clone());
        self.data(Instr::GetUserPortfolio, &[&session, &name])
            .expect("portfolio")
    }

    /// purchaseAsset of `quantity` shares.
    pub fn buy(&mut self, symbol: &str, quantity: &str) -> (Instr, Vec<String>) {
        let session = self.session.clone();
        self.w
            .request(Instr::PurchaseAsset, &[&session, symbol, quantity])
    }

    /// Waits until the master has a price for `symbol`.
    pub fn wait_price(&mut self, symbol: &str) -> Money {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(line) = self.data(Instr::GetAssetValueCurrent, &[symbol]) {
                return Money::parse(line.split(' ').nth(1).expect("PRICE")).expect("money");
            }
            assert!(Instant::now() < deadline, "no price for {symbol}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub fn audit_clean(setup: &MasterSetup) {
    let sock = setup.control_socket();
    let out = super::run("ptctl", &["-s", sock.to_str().expect("path"), "audit"], b"");
    assert_eq!(
        out.status.code(),
        Some(0),
        "audit clean: {}{}",
        super::stdout(&out),
        super::stderr(&out)
    );
}
