//! `keys create|list|revoke`: API keys (protocol 1.2) for bots that speak
//! Alpaca's trading API to the worker's web port (papertrader-api(7)).
//! Only a sign-in of the account itself manages keys, never a key.

use serde_json::{Value, json};

use crate::cli::KeysCmd;
use crate::context::Context;
use crate::error::{CliError, What};
use crate::numbers::iso_time;
use crate::output::{Align, Table, key_values, print, print_json};

/// Runs one `keys` command.
pub fn run(ctx: &mut Context, cmd: KeysCmd) -> Result<(), CliError> {
    match cmd {
        KeysCmd::Create { label } => create(ctx, &label),
        KeysCmd::List => list(ctx),
        KeysCmd::Revoke { id } => revoke(ctx, &id),
    }
}

fn create(ctx: &mut Context, label: &str) -> Result<(), CliError> {
    let (id, secret) = ctx.trade(&What::default(), |c, s| c.create_key(s, label))?;
    let out = ctx.out;
    if out.json {
        let value = json!({"key_id": id.as_str(), "secret_key": secret.as_str(), "label": label});
        return print_json(&out, &value);
    }
    let pairs = [
        ("key id", id.to_string()),
        ("secret key", secret.to_string()),
        ("label", label.to_string()),
    ];
    print(&key_values(&out, &pairs))?;
    print("The secret is shown only now: keep it where your bot reads it.\n")
}

fn list(ctx: &mut Context) -> Result<(), CliError> {
    let keys = ctx.data(&What::default(), |c, s| c.keys(s))?;
    let out = ctx.out;
    if out.json {
        let value: Vec<Value> = keys
            .iter()
            .map(|k| {
                json!({
                    "key_id": k.id.as_str(),
                    "created": iso_time(k.created),
                    "label": k.label.as_str(),
                })
            })
            .collect();
        return print_json(&out, &Value::Array(value));
    }
    if keys.is_empty() {
        return print(if out.tty {
            "no API keys; make one with papertrader keys create\n"
        } else {
            ""
        });
    }
    let mut table = Table::new(&[
        ("KEY ID", Align::Left),
        ("CREATED", Align::Left),
        ("LABEL", Align::Left),
    ]);
    for k in &keys {
        table.row(vec![
            k.id.as_str().into(),
            iso_time(k.created).into(),
            k.label.as_str().into(),
        ]);
    }
    print(&table.render(&out))
}

fn revoke(ctx: &mut Context, id: &str) -> Result<(), CliError> {
    let id = id.trim().to_ascii_uppercase();
    ctx.trade(&What::default(), |c, s| c.revoke_key(s, &id))?;
    if ctx.out.json {
        return print_json(&ctx.out, &json!({"key_id": id, "revoked": true}));
    }
    print(&format!("revoked API key {id}\n"))
}
