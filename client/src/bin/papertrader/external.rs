//! The commands of third-party sign-in: `register NAME --with PROVIDER`,
//! `login NAME --with PROVIDER`, `reset --with PROVIDER` (each getting an
//! ID token through the device flow of `oidc.rs`), and `password`
//! (`setPassword`).

use std::io::{self, IsTerminal};
use std::path::Path;

use crate::account::print_login;
use crate::args::username;
use crate::context::Context;
use crate::error::{CliError, What};
use crate::output::print;
use crate::{account, oidc, password};

/// `register NAME --with PROVIDER`: an account without a password, linked
/// to the identity the provider signs in.
pub fn register(ctx: &mut Context, user: &str, provider: &str) -> Result<(), CliError> {
    let user = username(user)?;
    let entry = oidc::provider(provider)?;
    let token = oidc::device_flow(&entry)?;
    let what = What::user(&user);
    ctx.command(&what, |c| c.register_external(&user, provider, &token))?;
    print(&format!(
        "registered {user} with {provider}; log in with: papertrader login {user} --with \
         {provider}\n"
    ))
}

/// `login NAME --with PROVIDER`. The server's answer names no account, so
/// NAME is given, and checked: the session must see NAME's private view.
pub fn login(
    ctx: &mut Context,
    user: &str,
    provider: &str,
    expirable: bool,
) -> Result<(), CliError> {
    let user = username(user)?;
    let entry = oidc::provider(provider)?;
    let token = oidc::device_flow(&entry)?;
    let session = ctx.login_with(&user, expirable, |c| {
        c.login_external(provider, &token, expirable)
    })?;
    let what = What::user(&user);
    let info = ctx.data(&what, |c, s| c.user_info(s, &user))?;
    if info.private.is_none() {
        let _ = ctx.logout();
        return Err(CliError::noperm(format!(
            "that {provider} identity signs in another account than {user}; logged out"
        )));
    }
    print_login(ctx, &user, &session)
}

/// `password [--password-file FILE]`: sets (or changes) the password of
/// the logged-in account. The server wants a login of the last 10
/// minutes.
pub fn set_password(ctx: &mut Context, password_file: Option<&Path>) -> Result<(), CliError> {
    let me = ctx.me()?;
    let session = ctx.session()?;
    let password = password::read(password_file, &me, true)?;
    let what = What::user(&me);
    ctx.command(&what, |c| c.set_password(&session, &me, &password))?;
    print(&format!(
        "password set for {me}; log in with: papertrader login {me}\n"
    ))
}

/// `reset --with PROVIDER`: `resetAccount` of an account without a
/// password, proven by a fresh sign-in.
pub fn reset(ctx: &mut Context, provider: &str, yes: bool) -> Result<(), CliError> {
    let me = ctx.me()?;
    ctx.session()?;
    let interactive = io::stdin().is_terminal();
    if !yes {
        if interactive {
            account::warn_reset(ctx, &me);
        }
        let typed = account::confirmation(&me, interactive)?;
        account::check_confirmation(&me, &typed)?;
    }
    let entry = oidc::provider(provider)?;
    let token = oidc::device_flow(&entry)?;
    account::send_reset(ctx, &me, |c, s| c.reset_account_with_token(s, &token))
}
