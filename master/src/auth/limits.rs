//! Rate limiting of logins for [`Auth`]: the checks against the shared
//! [`RateLimiter`] and the log lines of new lockouts.

use super::*;

impl Auth {
    /// `Err(rate-limited)` while the pair or the address is locked, or the
    /// username is locked and the address never logged into it: neither the
    /// limiter nor the sessions table has seen a login from it.
    pub(super) fn check_rate(
        &self,
        username: &Username,
        keys: &LoginKeys,
        mono: Instant,
    ) -> Result<(), Reason> {
        let verdict = self.limiter.lock().check_login(keys, mono);
        let left = match verdict {
            Verdict::Allow => return Ok(()),
            Verdict::Locked(left) => left,
            Verdict::UnlessKnown(left) => {
                if self.logged_in_from(username, keys.net())? {
                    self.limiter.lock().remember(keys, mono);
                    return Ok(());
                }
                // A stranger at a locked account: it counts against its
                // address, which then soon gets the cheap refusal above
                // instead of this SQL.
                let locks = self.limiter.lock().login_failed(keys, mono);
                self.log_new_locks(username, keys, locks);
                left
            }
        };
        Err(locked(left))
    }

    /// Whether a session of `username` (live, or ended less than a day ago)
    /// was made from `net`.
    pub(super) fn logged_in_from(&self, username: &Username, net: &Net) -> Result<bool, Reason> {
        let found = accounts::credentials(&self.conn, &username.key())
            .map_err(|err| internal("cannot look up an account", err))?;
        let Some((id, _)) = found else {
            return Ok(false);
        };
        let addrs = sessions::client_addrs(&self.conn, id, KNOWN_SESSIONS)
            .map_err(|err| internal("cannot read the addresses of sessions", err))?;
        Ok(addrs.iter().any(|addr| Net::of(addr) == *net))
    }

    /// Logs the locks a failure set: an address that fails this often is
    /// misbehaving; a username this often is under attack.
    pub(super) fn log_new_locks(
        &self,
        username: &Username,
        keys: &LoginKeys,
        locks: ratelimit::NewLocks,
    ) {
        if locks == ratelimit::NewLocks::default() {
            return;
        }
        let config = self.limiter.lock().config().clone();
        let secs = config.lockout.as_secs();
        if locks.addr {
            papertrader_common::warn!(
                "{}: {} failed logins; its logins are refused for {secs} s",
                keys.net(),
                config.failures
            );
        }
        if locks.user {
            papertrader_common::warn!(
                "{username}: {} failed logins; for {secs} s only addresses that logged \
                 into it before may try",
                config.user_failures
            );
        }
    }
}
