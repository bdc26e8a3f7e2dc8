//! Third-party sign-in for [`Auth`]: `loginExternal`, `registerExternal`
//! and the ID token checks they and `resetAccount` share, with
//! [`crate::oidc`]. A child of `auth`, so it reads the pool's state as the
//! rest of `Auth` does.

use super::*;

impl Auth {
    /// `loginExternal provider idToken isExpirable` from `client_addr`
    /// through `worker`: a session of the account linked to the token's
    /// identity. The address's login lock applies, and a refused token
    /// counts as a failed login of the address.
    pub fn login_external(
        &mut self,
        provider: &Provider,
        token: &IdToken,
        place: &SessionPlace<'_>,
        at: Clocks,
        session_bytes: [u8; 16],
    ) -> Result<SessionId, Reason> {
        let (client_addr, worker) = (place.client_addr, place.worker);
        let identity = self.verify_external(provider, token, client_addr, at)?;
        let found = identities::account_of(&self.conn, &identity.issuer, &identity.subject)
            .map_err(|err| internal("cannot look up an identity", err))?;
        let Some(account) = found else {
            return Err(Reason::new(
                ReasonCode::NotLinked,
                format!("this {provider} identity has no account here; register first"),
            ));
        };
        let id = self.new_session(AccountId(account), place, at.now, session_bytes)?;
        let name = self.username_of(AccountId(account))?;
        papertrader_common::info!(
            "{name} signed in with {provider} from {client_addr} through {worker}"
        );
        Ok(id)
    }

    /// `registerExternal username provider idToken` from `client_addr`: a
    /// new account without a password, linked to the token's identity, its
    /// email the token's when verified (else `-`). Counts against the
    /// address's `register_limit` like `register`.
    pub fn register_external(
        &mut self,
        username: &Username,
        provider: &Provider,
        token: &IdToken,
        client_addr: &str,
        at: Clocks,
    ) -> Result<(), Reason> {
        self.count_registration(username, client_addr, at.mono)?;
        let identity = self.verify_external(provider, token, client_addr, at)?;
        let linked = identities::account_of(&self.conn, &identity.issuer, &identity.subject)
            .map_err(|err| internal("cannot look up an identity", err))?;
        if linked.is_some() {
            return Err(identity_taken(provider));
        }
        let existing = accounts::credentials(&self.conn, &username.key())
            .map_err(|err| internal("cannot look up an account", err))?;
        if existing.is_some() {
            return Err(taken(username));
        }
        self.insert_linked(username, &identity, at.now)?;
        papertrader_common::info!("registered account {username} with {provider}");
        Ok(())
    }

    /// The account and its identity, in one transaction.
    pub(super) fn insert_linked(
        &mut self,
        username: &Username,
        identity: &Identity,
        now: Timestamp,
    ) -> Result<(), Reason> {
        let email = identity
            .email
            .as_deref()
            .and_then(|e| Email::parse(e).ok())
            .map_or_else(|| "-".to_string(), |e| e.as_str().to_string());
        let key = username.key();
        let tx = self
            .conn
            .transaction()
            .map_err(|err| internal("cannot begin a transaction", err))?;
        let account = NewAccount {
            username: username.as_str(),
            username_key: &key,
            email: &email,
            pass_hash: None,
            cash: self.config.starting_cash,
            created: now,
        };
        let id = match accounts::insert(&tx, &account) {
            Ok(id) => id,
            Err(err) if accounts::is_unique_violation(&err) => return Err(taken(username)),
            Err(err) => return Err(internal("cannot insert a new account", err)),
        };
        let link = NewIdentity {
            issuer: &identity.issuer,
            subject: &identity.subject,
            account_id: id,
            provider: identity.provider.as_str(),
            created: now,
        };
        match identities::insert(&tx, &link) {
            Ok(()) => {}
            Err(err) if accounts::is_unique_violation(&err) => {
                return Err(identity_taken(&identity.provider));
            }
            Err(err) => return Err(internal("cannot link an identity", err)),
        }
        tx.commit()
            .map_err(|err| internal("cannot commit a new account", err))
    }

    /// A fresh token (issued in the last [`FRESH_SECS`]) of an identity
    /// linked to `account`, tried against each provider it is linked with.
    pub(super) fn confirm_token(
        &mut self,
        account: AccountId,
        username: &Username,
        providers: &[String],
        token: &IdToken,
        client_addr: &str,
        at: Clocks,
    ) -> Result<AccountId, Reason> {
        let keys = LoginKeys::new(username, client_addr);
        self.check_rate(username, &keys, at.mono)?;
        let mut last = Reason::new(ReasonCode::BadToken, "the ID token is refused");
        for name in providers {
            let Ok(provider) = Provider::parse(name) else {
                continue;
            };
            let identity = match self.verify(&provider, token, at.now) {
                Ok(identity) => identity,
                Err(reason) if reason.code == ReasonCode::Unavailable => return Err(reason),
                Err(reason) => {
                    last = reason;
                    continue;
                }
            };
            let linked = identities::account_of(&self.conn, &identity.issuer, &identity.subject)
                .map_err(|err| internal("cannot look up an identity", err))?;
            if linked != Some(account.0) {
                last = Reason::new(
                    ReasonCode::BadToken,
                    "the ID token is refused: it names another identity than this account's",
                );
            } else if identity.issued_at < at.now.0.saturating_sub(FRESH_SECS) {
                last = Reason::new(
                    ReasonCode::BadToken,
                    "the ID token is refused: it is older than 10 minutes; sign in again",
                );
            } else {
                self.limiter.lock().login_succeeded(&keys, at.mono);
                return Ok(account);
            }
        }
        let locks = self.limiter.lock().login_failed(&keys, at.mono);
        papertrader_common::info!("refused token for a reset of {username} from {client_addr}");
        self.log_new_locks(username, &keys, locks);
        Err(last)
    }

    /// The token's identity, if the address is not locked; a refused
    /// token counts against the address.
    pub(super) fn verify_external(
        &mut self,
        provider: &Provider,
        token: &IdToken,
        client_addr: &str,
        at: Clocks,
    ) -> Result<Identity, Reason> {
        let net = Net::of(client_addr);
        let addr = ratelimit::addr_key(&net);
        self.limiter.lock().check(&addr, at.mono).map_err(locked)?;
        let verified = self.verify(provider, token, at.now);
        if let Err(reason) = &verified
            && reason.code == ReasonCode::BadToken
        {
            papertrader_common::info!("refused {provider} token from {client_addr}");
            if self.limiter.lock().external_failed(&net, at.mono) {
                let config = self.limiter.lock().config().clone();
                papertrader_common::warn!(
                    "{net}: {} failed logins; its logins are refused for {} s",
                    config.failures,
                    config.lockout.as_secs()
                );
            }
        }
        verified
    }

    pub(super) fn verify(
        &self,
        provider: &Provider,
        token: &IdToken,
        now: Timestamp,
    ) -> Result<Identity, Reason> {
        match &self.oidc {
            Some(oidc) => oidc.verify(provider, token, now.0),
            None => Err(Reason::new(
                ReasonCode::UnknownProvider,
                format!("provider {provider} is not configured on this server"),
            )),
        }
    }
}
