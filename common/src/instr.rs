//! The instruction table of PROTOCOL.md section 4: code, name, category and
//! argument shape of every instruction. Every binary looks instructions up
//! here; nothing else spells out a code.

use crate::frame::MessageType;

/// How many arguments an instruction carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many space-separated arguments.
    Exact(u16),
    /// Any number of arguments (address lists).
    Any,
    /// A raw chunk of a data transfer, not arguments (`data`, `quotes`).
    Raw,
}

/// Which connection state a client instruction belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Command state, where every connection starts.
    Command,
    /// Data transfer state.
    Data,
}

impl State {
    /// The wire word: `command` or `data`.
    pub fn name(self) -> &'static str {
        match self {
            State::Command => "command",
            State::Data => "data",
        }
    }

    /// Parses the wire word.
    pub fn parse(word: &str) -> Option<State> {
        [State::Command, State::Data]
            .into_iter()
            .find(|s| s.name() == word)
    }
}

/// Every instruction of protocol version 1.2, with its wire code (1.2
/// adds its commands from 80 on).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Instr {
    Login = 1,
    LoginSession = 2,
    Register = 3,
    PurchaseAsset = 4,
    SellAsset = 5,
    SwitchState = 6,
    Logout = 7,
    GetWorkerList = 8,
    PlaceOrder = 9,
    CancelOrder = 10,
    ResetAccount = 11,
    LoginExternal = 12,
    RegisterExternal = 13,
    SetPassword = 14,
    GetAssetInfo = 16,
    GetAssetValueCurrent = 17,
    GetAssetValueDay = 18,
    GetAssetValueWeek = 19,
    GetAssetValueMonth = 20,
    GetAssetValueYear = 21,
    GetAssetValueAllTime = 22,
    GetUserInfo = 23,
    GetUserPortfolio = 24,
    GetUserTransactionHistory = 25,
    GetAssetList = 26,
    GetOrders = 27,
    GetLeaderboard = 28,
    GetEquityHistory = 29,
    GetApiKeys = 30,
    GetAssetDetails = 31,
    LoginFail = 32,
    SessionId = 33,
    RegisterSuccess = 34,
    RegisterFail = 35,
    PurchaseSuccess = 36,
    PurchaseFail = 37,
    SellSuccess = 38,
    SellFail = 39,
    StateSwitchSuccess = 40,
    StateSwitchFail = 41,
    Data = 42,
    DataFail = 43,
    WorkerList = 44,
    LogoutSuccess = 45,
    LogoutFail = 46,
    ProtocolError = 47,
    OrderAccepted = 48,
    OrderFail = 49,
    CancelSuccess = 50,
    CancelFail = 51,
    ResetSuccess = 52,
    ResetFail = 53,
    PasswordSet = 54,
    PasswordFail = 55,
    ApiKeyCreated = 56,
    ApiKeyRevoked = 57,
    ApiKeyFail = 58,
    ApiKeySession = 59,
    Prices = 60,
    WatchlistUpdated = 61,
    WatchlistFail = 62,
    PortfolioUpdated = 63,
    WorkerHello = 64,
    MasterChallenge = 65,
    WorkerProof = 66,
    LinkAccepted = 67,
    LinkRefused = 68,
    Ping = 69,
    Pong = 70,
    SessionClosed = 71,
    Kick = 72,
    Quotes = 73,
    WorkerListUpdate = 74,
    PurchaseNotional = 80,
    SellNotional = 81,
    ReplaceOrder = 82,
    PlaceOrderClass = 83,
    CreateApiKey = 84,
    RevokeApiKey = 85,
    LoginApiKey = 86,
    PlaceOrderTagged = 87,
    PlaceOrderClassTagged = 88,
    WatchPrices = 89,
    GetWatchlist = 90,
    AddToWatchlist = 91,
    RemoveFromWatchlist = 92,
    CreatePortfolio = 93,
    RenamePortfolio = 94,
    ClosePortfolio = 95,
    UsePortfolio = 96,
    GetPortfolios = 97,
    PortfolioFail = 98,
    CreateGame = 99,
    ChangeGame = 100,
    JoinGame = 101,
    LeaveGame = 102,
    RemovePlayer = 103,
    NewGameCode = 104,
    GetGames = 105,
    GetGame = 106,
    GetStandings = 107,
    GetGameHoldings = 108,
    GameCreated = 109,
    GameUpdated = 110,
    GameFail = 111,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The instruction.
    pub instr: Instr,
    /// Its name as PROTOCOL.md spells it.
    pub name: &'static str,
    /// The `message_type` it travels with (`switchState` also as data).
    pub kind: MessageType,
    /// Its argument shape.
    pub arity: Arity,
    /// Argument names, for `ptwire list` and error messages.
    pub args: &'static str,
}

use Arity::{Any, Exact, Raw};
use MessageType::{Command, Control, Data, Return};

macro_rules! spec {
    ($instr:ident, $name:literal, $kind:ident, $arity:expr, $args:literal) => {
        Spec {
            instr: Instr::$instr,
            name: $name,
            kind: $kind,
            arity: $arity,
            args: $args,
        }
    };
}

/// The whole table, in code order.
#[rustfmt::skip]
pub static TABLE: &[Spec] = &[
    spec!(Login, "login", Command, Exact(3), "username hashedPass isExpirable"),
    spec!(LoginSession, "loginSession", Command, Exact(1), "sessionID"),
    spec!(Register, "register", Command, Exact(3), "username email hashedPass"),
    spec!(PurchaseAsset, "purchaseAsset", Command, Exact(3), "sessionID symbol quantity"),
    spec!(SellAsset, "sellAsset", Command, Exact(3), "sessionID symbol quantity"),
    spec!(SwitchState, "switchState", Command, Exact(2), "sessionID state"),
    spec!(Logout, "logout", Command, Exact(1), "sessionID"),
    spec!(GetWorkerList, "getWorkerList", Command, Exact(0), ""),
    spec!(PlaceOrder, "placeOrder", Command, Exact(8), "sessionID side symbol quantity orderType limit stop tif"),
    spec!(CancelOrder, "cancelOrder", Command, Exact(2), "sessionID orderID"),
    spec!(ResetAccount, "resetAccount", Command, Exact(2), "sessionID hashedPass|idToken"),
    spec!(LoginExternal, "loginExternal", Command, Exact(3), "provider idToken isExpirable"),
    spec!(RegisterExternal, "registerExternal", Command, Exact(3), "username provider idToken"),
    spec!(SetPassword, "setPassword", Command, Exact(2), "sessionID hashedPass"),
    spec!(GetAssetInfo, "getAssetInfo", Data, Exact(1), "symbol"),
    spec!(GetAssetValueCurrent, "getAssetValueCurrent", Data, Exact(1), "symbol"),
    spec!(GetAssetValueDay, "getAssetValueDay", Data, Exact(2), "symbol date"),
    spec!(GetAssetValueWeek, "getAssetValueWeek", Data, Exact(2), "symbol date"),
    spec!(GetAssetValueMonth, "getAssetValueMonth", Data, Exact(2), "symbol date"),
    spec!(GetAssetValueYear, "getAssetValueYear", Data, Exact(2), "symbol date"),
    spec!(GetAssetValueAllTime, "getAssetValueAllTime", Data, Exact(1), "symbol"),
    spec!(GetUserInfo, "getUserInfo", Data, Exact(2), "sessionID username"),
    spec!(GetUserPortfolio, "getUserPortfolio", Data, Exact(2), "sessionID username"),
    spec!(GetUserTransactionHistory, "getUserTransactionHistory", Data, Exact(2), "sessionID username"),
    spec!(GetAssetList, "getAssetList", Data, Exact(0), ""),
    spec!(GetOrders, "getOrders", Data, Exact(1), "sessionID"),
    spec!(GetLeaderboard, "getLeaderboard", Data, Exact(0), ""),
    spec!(GetEquityHistory, "getEquityHistory", Data, Exact(2), "sessionID username"),
    spec!(GetApiKeys, "getApiKeys", Data, Exact(1), "sessionID"),
    spec!(GetAssetDetails, "getAssetDetails", Data, Exact(0), ""),
    spec!(LoginFail, "loginFail", Return, Exact(1), "reason"),
    spec!(SessionId, "sessionID", Return, Exact(1), "sessionID"),
    spec!(RegisterSuccess, "registerSuccess", Return, Exact(0), ""),
    spec!(RegisterFail, "registerFail", Return, Exact(1), "reason"),
    spec!(PurchaseSuccess, "purchaseSuccess", Return, Exact(5), "txid symbol quantity price timestamp"),
    spec!(PurchaseFail, "purchaseFail", Return, Exact(1), "reason"),
    spec!(SellSuccess, "sellSuccess", Return, Exact(5), "txid symbol quantity price timestamp"),
    spec!(SellFail, "sellFail", Return, Exact(1), "reason"),
    spec!(StateSwitchSuccess, "stateSwitchSuccess", Return, Exact(1), "state"),
    spec!(StateSwitchFail, "stateSwitchFail", Return, Exact(1), "reason"),
    spec!(Data, "data", Return, Raw, "(packet N/MAX of a payload)"),
    spec!(DataFail, "dataFail", Return, Exact(1), "reason"),
    spec!(WorkerList, "workerList", Return, Any, "address..."),
    spec!(LogoutSuccess, "logoutSuccess", Return, Exact(0), ""),
    spec!(LogoutFail, "logoutFail", Return, Exact(1), "reason"),
    spec!(ProtocolError, "protocolError", Return, Exact(1), "reason"),
    spec!(OrderAccepted, "orderAccepted", Return, Exact(1), "orderID"),
    spec!(OrderFail, "orderFail", Return, Exact(1), "reason"),
    spec!(CancelSuccess, "cancelSuccess", Return, Exact(1), "orderID"),
    spec!(CancelFail, "cancelFail", Return, Exact(1), "reason"),
    spec!(ResetSuccess, "resetSuccess", Return, Exact(1), "cash"),
    spec!(ResetFail, "resetFail", Return, Exact(1), "reason"),
    spec!(PasswordSet, "passwordSet", Return, Exact(0), ""),
    spec!(PasswordFail, "passwordFail", Return, Exact(1), "reason"),
    spec!(ApiKeyCreated, "apiKeyCreated", Return, Exact(2), "keyID secretKey"),
    spec!(ApiKeyRevoked, "apiKeyRevoked", Return, Exact(1), "keyID"),
    spec!(ApiKeyFail, "apiKeyFail", Return, Exact(1), "reason"),
    spec!(ApiKeySession, "apiKeySession", Return, Exact(2), "sessionID username"),
    spec!(Prices, "prices", Return, Raw, "(packet N/MAX of price lines, unasked)"),
    spec!(WatchlistUpdated, "watchlistUpdated", Return, Exact(1), "symbol"),
    spec!(WatchlistFail, "watchlistFail", Return, Exact(1), "reason"),
    spec!(PortfolioUpdated, "portfolioUpdated", Return, Exact(2), "portfolioID name"),
    spec!(WorkerHello, "workerHello", Control, Exact(4), "uuid name clientAddress workerNonce"),
    spec!(MasterChallenge, "masterChallenge", Control, Exact(2), "masterNonce masterSignature"),
    spec!(WorkerProof, "workerProof", Control, Exact(1), "workerSignature"),
    spec!(LinkAccepted, "linkAccepted", Control, Exact(0), ""),
    spec!(LinkRefused, "linkRefused", Control, Exact(1), "reason"),
    spec!(Ping, "ping", Control, Exact(1), "token"),
    spec!(Pong, "pong", Control, Exact(1), "token"),
    spec!(SessionClosed, "sessionClosed", Control, Exact(1), "sessionID"),
    spec!(Kick, "kick", Control, Exact(1), "reason"),
    spec!(Quotes, "quotes", Control, Raw, "(packet N/MAX of quote lines)"),
    spec!(WorkerListUpdate, "workerListUpdate", Control, Any, "address..."),
    spec!(PurchaseNotional, "purchaseNotional", Command, Exact(3), "sessionID symbol amount"),
    spec!(SellNotional, "sellNotional", Command, Exact(3), "sessionID symbol amount"),
    spec!(ReplaceOrder, "replaceOrder", Command, Exact(6), "sessionID orderID quantity limit stop tif"),
    spec!(PlaceOrderClass, "placeOrderClass", Command, Exact(11), "sessionID class side symbol quantity orderType limit stop tif takeProfit stopLoss"),
    spec!(CreateApiKey, "createApiKey", Command, Exact(2), "sessionID label"),
    spec!(RevokeApiKey, "revokeApiKey", Command, Exact(2), "sessionID keyID"),
    spec!(LoginApiKey, "loginApiKey", Command, Exact(2), "keyID secretKey"),
    spec!(PlaceOrderTagged, "placeOrderTagged", Command, Exact(9), "sessionID clientOrderID side symbol quantity orderType limit stop tif"),
    spec!(PlaceOrderClassTagged, "placeOrderClassTagged", Command, Exact(12), "sessionID clientOrderID class side symbol quantity orderType limit stop tif takeProfit stopLoss"),
    spec!(WatchPrices, "watchPrices", Data, Exact(0), ""),
    spec!(GetWatchlist, "getWatchlist", Data, Exact(1), "sessionID"),
    spec!(AddToWatchlist, "addToWatchlist", Command, Exact(2), "sessionID symbol"),
    spec!(RemoveFromWatchlist, "removeFromWatchlist", Command, Exact(2), "sessionID symbol"),
    spec!(CreatePortfolio, "createPortfolio", Command, Exact(3), "sessionID cash name"),
    spec!(RenamePortfolio, "renamePortfolio", Command, Exact(3), "sessionID portfolioID name"),
    spec!(ClosePortfolio, "closePortfolio", Command, Exact(2), "sessionID portfolioID"),
    spec!(UsePortfolio, "usePortfolio", Command, Exact(2), "sessionID portfolioID"),
    spec!(GetPortfolios, "getPortfolios", Data, Exact(1), "sessionID"),
    spec!(PortfolioFail, "portfolioFail", Return, Exact(1), "reason"),
    spec!(CreateGame, "createGame", Command, Exact(2), "sessionID rules"),
    spec!(ChangeGame, "changeGame", Command, Exact(3), "sessionID gameID rules"),
    spec!(JoinGame, "joinGame", Command, Exact(2), "sessionID code|gameID"),
    spec!(LeaveGame, "leaveGame", Command, Exact(2), "sessionID gameID"),
    spec!(RemovePlayer, "removePlayer", Command, Exact(3), "sessionID gameID username"),
    spec!(NewGameCode, "newGameCode", Command, Exact(2), "sessionID gameID"),
    spec!(GetGames, "getGames", Data, Exact(1), "sessionID"),
    spec!(GetGame, "getGame", Data, Exact(2), "sessionID gameID"),
    spec!(GetStandings, "getStandings", Data, Exact(2), "sessionID gameID"),
    spec!(GetGameHoldings, "getGameHoldings", Data, Exact(3), "sessionID gameID username"),
    spec!(GameCreated, "gameCreated", Return, Exact(2), "gameID code"),
    spec!(GameUpdated, "gameUpdated", Return, Exact(1), "gameID"),
    spec!(GameFail, "gameFail", Return, Exact(1), "reason"),
];

impl Instr {
    /// The instruction with wire code `code`, if any.
    pub fn from_code(code: u8) -> Option<Instr> {
        TABLE
            .iter()
            .find(|s| s.instr as u8 == code)
            .map(|s| s.instr)
    }

    /// The instruction named `name` exactly as PROTOCOL.md spells it.
    pub fn from_name(name: &str) -> Option<Instr> {
        TABLE.iter().find(|s| s.name == name).map(|s| s.instr)
    }

    /// Its wire code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Its table row.
    pub fn spec(self) -> &'static Spec {
        TABLE
            .iter()
            .find(|s| s.instr == self)
            .expect("every Instr variant has a TABLE row")
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The `message_type` it is normally sent with.
    pub fn kind(self) -> MessageType {
        self.spec().kind
    }

    /// Its argument shape.
    pub fn arity(self) -> Arity {
        self.spec().arity
    }

    /// Whether `kind` is an allowed `message_type` for it.
    pub fn allows(self, kind: MessageType) -> bool {
        kind == self.kind() || (self == Instr::SwitchState && kind == MessageType::Data)
    }

    /// The client state it may be sent in; `None` for returns and control,
    /// and for the two that work in both (`switchState`, `getWorkerList`).
    pub fn state(self) -> Option<State> {
        match (self, self.kind()) {
            (Instr::SwitchState | Instr::GetWorkerList, _) => None,
            (_, MessageType::Command) => Some(State::Command),
            (_, MessageType::Data) => Some(State::Data),
            _ => None,
        }
    }

    /// Whether it is the failure return of some request (read off the
    /// table, so a new instruction's failure is one here too).
    pub fn is_failure(self) -> bool {
        TABLE.iter().any(|spec| spec.instr.failure() == Some(self))
    }

    /// The failure return that answers it, for client requests.
    pub fn failure(self) -> Option<Instr> {
        Some(match self {
            Instr::Login | Instr::LoginSession | Instr::LoginExternal | Instr::LoginApiKey => {
                Instr::LoginFail
            }
            Instr::CreateApiKey | Instr::RevokeApiKey => Instr::ApiKeyFail,
            Instr::AddToWatchlist | Instr::RemoveFromWatchlist => Instr::WatchlistFail,
            Instr::CreatePortfolio
            | Instr::RenamePortfolio
            | Instr::ClosePortfolio
            | Instr::UsePortfolio => Instr::PortfolioFail,
            Instr::CreateGame
            | Instr::ChangeGame
            | Instr::JoinGame
            | Instr::LeaveGame
            | Instr::RemovePlayer
            | Instr::NewGameCode => Instr::GameFail,
            Instr::Register | Instr::RegisterExternal => Instr::RegisterFail,
            Instr::SetPassword => Instr::PasswordFail,
            Instr::PurchaseAsset | Instr::PurchaseNotional => Instr::PurchaseFail,
            Instr::SellAsset | Instr::SellNotional => Instr::SellFail,
            Instr::SwitchState => Instr::StateSwitchFail,
            Instr::Logout => Instr::LogoutFail,
            Instr::GetWorkerList => Instr::ProtocolError,
            Instr::PlaceOrder
            | Instr::ReplaceOrder
            | Instr::PlaceOrderClass
            | Instr::PlaceOrderTagged
            | Instr::PlaceOrderClassTagged => Instr::OrderFail,
            Instr::CancelOrder => Instr::CancelFail,
            Instr::ResetAccount => Instr::ResetFail,
            i if i.kind() == MessageType::Data => Instr::DataFail,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_codes_and_names_are_unique_and_round_trip() {
        for (i, a) in TABLE.iter().enumerate() {
            assert_eq!(Instr::from_code(a.instr.code()), Some(a.instr));
            assert_eq!(Instr::from_name(a.name), Some(a.instr));
            for b in &TABLE[i + 1..] {
                assert_ne!(a.instr.code(), b.instr.code());
                assert_ne!(a.name, b.name);
            }
        }
        assert_eq!(TABLE.len(), 105);
    }

    #[test]
    fn codes_match_protocol_md() {
        assert_eq!(Instr::Login.code(), 1);
        assert_eq!(Instr::GetWorkerList.code(), 8);
        assert_eq!(Instr::GetAssetInfo.code(), 16);
        assert_eq!(Instr::GetAssetList.code(), 26);
        assert_eq!(Instr::LoginFail.code(), 32);
        assert_eq!(Instr::ProtocolError.code(), 47);
        assert_eq!(Instr::WorkerHello.code(), 64);
        assert_eq!(Instr::WorkerListUpdate.code(), 74);
        assert_eq!(Instr::PlaceOrder.code(), 9);
        assert_eq!(Instr::ResetAccount.code(), 11);
        assert_eq!(Instr::GetEquityHistory.code(), 29);
        assert_eq!(Instr::ResetFail.code(), 53);
        assert_eq!(Instr::LoginExternal.code(), 12);
        assert_eq!(Instr::RegisterExternal.code(), 13);
        assert_eq!(Instr::SetPassword.code(), 14);
        assert_eq!(Instr::PasswordSet.code(), 54);
        assert_eq!(Instr::PasswordFail.code(), 55);
        assert_eq!(Instr::PurchaseNotional.code(), 80);
        assert_eq!(Instr::SellNotional.code(), 81);
        assert_eq!(Instr::PurchaseNotional.failure(), Some(Instr::PurchaseFail));
        assert_eq!(Instr::SellNotional.failure(), Some(Instr::SellFail));
        assert_eq!(Instr::from_code(15), None);
        assert_eq!(Instr::from_code(112), None);
    }

    #[test]
    fn switch_state_travels_as_command_or_data() {
        assert!(Instr::SwitchState.allows(MessageType::Command));
        assert!(Instr::SwitchState.allows(MessageType::Data));
        assert!(!Instr::Login.allows(MessageType::Data));
        assert!(!Instr::GetAssetInfo.allows(MessageType::Command));
    }

    #[test]
    fn states_and_failures() {
        assert_eq!(Instr::Login.state(), Some(State::Command));
        assert_eq!(Instr::GetUserInfo.state(), Some(State::Data));
        assert_eq!(Instr::SwitchState.state(), None);
        assert_eq!(Instr::GetAssetValueDay.failure(), Some(Instr::DataFail));
        assert_eq!(Instr::LoginSession.failure(), Some(Instr::LoginFail));
        assert_eq!(Instr::Ping.failure(), None);
        assert_eq!(Instr::LoginExternal.failure(), Some(Instr::LoginFail));
        assert_eq!(Instr::RegisterExternal.failure(), Some(Instr::RegisterFail));
        assert_eq!(Instr::SetPassword.failure(), Some(Instr::PasswordFail));
        assert_eq!(Instr::SetPassword.state(), Some(State::Command));
    }
}
