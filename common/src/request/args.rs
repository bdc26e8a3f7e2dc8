//! Reading one instruction's arguments as values, each failure the
//! reason for its instruction's failure return.

use super::*;

/// The arguments of one instruction, read as values.
pub(super) struct Args<'a> {
    pub(super) instr: Instr,
    pub(super) args: &'a [&'a str],
}

impl Args<'_> {
    pub(super) fn get(&self, i: usize) -> Result<&str, Reason> {
        self.args.get(i).copied().ok_or_else(|| {
            let text = format!("{} takes more arguments", self.instr.name());
            Reason::new(ReasonCode::BadArguments, text)
        })
    }

    pub(super) fn session(&self, i: usize) -> Result<SessionId, Reason> {
        SessionId::parse(self.get(i)?).map_err(|e| e.reason())
    }

    pub(super) fn symbol(&self, i: usize) -> Result<Symbol, Reason> {
        Symbol::parse(self.get(i)?).map_err(|e| e.reason())
    }

    pub(super) fn username(&self, i: usize) -> Result<Username, Reason> {
        Username::parse(self.get(i)?).map_err(|e| e.reason())
    }

    pub(super) fn pass(&self, i: usize) -> Result<HashedPass, Reason> {
        HashedPass::parse(self.get(i)?).map_err(|e| e.reason())
    }

    pub(super) fn provider(&self, i: usize) -> Result<Provider, Reason> {
        Provider::parse(self.get(i)?).map_err(|e| e.reason())
    }

    pub(super) fn token(&self, i: usize) -> Result<IdToken, Reason> {
        IdToken::parse(self.get(i)?).map_err(|e| e.reason())
    }

    pub(super) fn state(&self, i: usize) -> Result<State, Reason> {
        let word = self.get(i)?;
        State::parse(word).ok_or_else(|| {
            let text = format!("state {}: expected command or data", excerpt(word));
            Reason::new(ReasonCode::BadArguments, text)
        })
    }

    /// `symbol` and, for every range but all time, `date`.
    pub(super) fn history(&self, range: Range) -> Result<Request, Reason> {
        let symbol = self.symbol(0)?;
        let date = match range {
            Range::AllTime => None,
            _ => Some(Date::parse(self.get(1)?).map_err(|e| e.reason())?),
        };
        Ok(Request::History {
            range,
            symbol,
            date,
        })
    }

    /// `sessionID username`.
    pub(super) fn user(&self, view: UserView) -> Result<Request, Reason> {
        Ok(Request::User {
            view,
            session: self.session(0)?,
            username: self.username(1)?,
        })
    }

    /// `sessionID side symbol quantity orderType limit stop tif`, checked
    /// in argument order so the first bad one names the failure.
    pub(super) fn place_order(&self) -> Result<Request, Reason> {
        let session = self.session(0)?;
        let word = self.get(1)?;
        let side = Side::parse(word).ok_or_else(|| {
            let text = format!("side {}: expected buy or sell", excerpt(word));
            Reason::new(ReasonCode::BadArguments, text)
        })?;
        let symbol = self.symbol(2)?;
        let quantity = Quantity::parse(self.get(3)?).map_err(|e| e.reason())?;
        let kind = OrderKind::parse(self.get(4)?, self.get(5)?, self.get(6)?)?;
        let tif = Tif::parse(self.get(7)?).map_err(|e| e.reason())?;
        Ok(Request::PlaceOrder {
            session,
            order: OrderSpec {
                side,
                symbol,
                quantity,
                kind,
                tif,
            },
        })
    }

    /// `sessionID symbol quantity`.
    pub(super) fn trade(&self, side: Side) -> Result<Request, Reason> {
        Ok(Request::Trade {
            side,
            session: self.session(0)?,
            symbol: self.symbol(1)?,
            quantity: Quantity::parse(self.get(2)?).map_err(|e| e.reason())?,
        })
    }
}
