//! `game create|change|join|list|show|standings|holdings|leave|remove|code`
//! (protocol 1.2): competitions. Joining one makes a portfolio bound to
//! it (see `portfolios.rs`); the rules come from `rules.rs`. A competition
//! is named by its number or by its name, looked up with `getGames`.

use papertrader_client::{GameDetail, GameLine, GameRole, GameState};
use papertrader_common::value::{Timestamp, Username, ValueError, parse_id};
use serde_json::{Value, json};

use crate::account::print_standings;
use crate::args::username;
use crate::cli::{GameCmd, RuleFlags};
use crate::context::Context;
use crate::error::{CliError, What};
use crate::output::{Align, Output, Table, human_money, iso_time, key_values, print, print_json};
use crate::rules;
use crate::views::{Row, own_table, positions_json};

/// Runs one `game` command; none lists them.
pub fn run(ctx: &mut Context, cmd: Option<GameCmd>) -> Result<(), CliError> {
    match cmd {
        None | Some(GameCmd::List) => list(ctx),
        Some(GameCmd::Create {
            name,
            start,
            end,
            rules,
        }) => create(ctx, &name, &start, &end, &rules),
        Some(GameCmd::Change {
            game,
            name,
            start,
            end,
            rules,
        }) => change(ctx, &game, [name, start, end], &rules),
        Some(GameCmd::Join { code }) => join(ctx, &code),
        Some(GameCmd::Show { game }) => show(ctx, &game),
        Some(GameCmd::Standings { game }) => standings(ctx, &game),
        Some(GameCmd::Holdings { game, user }) => holdings(ctx, &game, &user),
        Some(GameCmd::Leave { game }) => leave(ctx, &game),
        Some(GameCmd::Remove { game, user }) => remove(ctx, &game, &user),
        Some(GameCmd::Code { game }) => new_code(ctx, &game),
    }
}

fn create(
    ctx: &mut Context,
    name: &str,
    start: &str,
    end: &str,
    flags: &RuleFlags,
) -> Result<(), CliError> {
    let now = Timestamp::now();
    let rules = rules::create(name, start, end, flags, now)?;
    let me = ctx.me()?;
    let (id, code) = ctx.trade(&What::default(), |c, s| c.create_game(s, &rules))?;
    if ctx.out.json {
        let organiser = Username::parse(&me)
            .map_err(|err| CliError::software(format!("the saved session: {err}")))?;
        let detail = GameDetail {
            id,
            state: GameState::at(rules.start.0, rules.end.0, now.0),
            organiser,
            players: 0,
            code: Some(code.to_string()),
            rules,
        };
        return print_json(&ctx.out, &detail_json(&detail));
    }
    let mut text = format!(
        "created competition {id} ({}), from {} to {}\ninvitation code: {code}\n\
         players join with: papertrader game join {code}\n",
        rules.name,
        iso_time(rules.start),
        iso_time(rules.end)
    );
    if rules.public {
        text.push_str(&format!(
            "it is public: anyone may also join with: papertrader game join {id}\n"
        ));
    }
    text.push_str("you organise it; to play in it too, join it yourself\n");
    print(&text)
}

fn change(
    ctx: &mut Context,
    text: &str,
    [name, start, end]: [Option<String>; 3],
    flags: &RuleFlags,
) -> Result<(), CliError> {
    let id = resolve(ctx, text)?;
    let shown = id.to_string();
    let what = game_what(&shown);
    let mut detail = ctx.data(&what, |c, s| c.game(s, id))?;
    let rules = rules::change(
        &detail.rules,
        name.as_deref(),
        start.as_deref(),
        end.as_deref(),
        flags,
        Timestamp::now(),
    )?;
    ctx.trade(&what, |c, s| c.change_game(s, id, &rules))?;
    detail.rules = rules;
    if ctx.out.json {
        return print_json(&ctx.out, &detail_json(&detail));
    }
    print(&format!(
        "changed the rules of competition {id} ({}); see papertrader game show {id}\n",
        detail.rules.name
    ))
}

fn join(ctx: &mut Context, code: &str) -> Result<(), CliError> {
    let typed = code.trim();
    papertrader_client::join_by(typed).map_err(|_| {
        let expected = "an invitation code (12 of A-Z 2-7) or a public competition's number";
        CliError::data(ValueError::new("code", typed, expected).to_string())
    })?;
    let what = What {
        game: Some(typed),
        join: true,
        ..What::default()
    };
    let (pid, pname) = ctx.trade(&what, |c, s| c.join_game(s, typed))?;
    // Which competition a code was for: the new portfolio's line says
    // (the join is done whether or not this works).
    let line = ctx
        .data(&What::default(), |c, s| c.portfolios(s))
        .ok()
        .and_then(|lines| lines.into_iter().find(|p| p.id == pid));
    let game = line.as_ref().and_then(|p| p.game);
    if ctx.out.json {
        return print_json(
            &ctx.out,
            &json!({"id": pid, "name": pname.as_str(), "game": game}),
        );
    }
    let joined = match game {
        Some(g) => format!("joined competition {g}"),
        None => "joined the competition".to_string(),
    };
    let cash = line.map_or(String::new(), |p| {
        format!(", cash {}", human_money(p.start_cash))
    });
    print(&format!(
        "{joined} with portfolio {pid} ({pname}){cash}\n\
         trade in it after: papertrader portfolio use {pid}\n"
    ))
}

fn list(ctx: &mut Context) -> Result<(), CliError> {
    let games = ctx.data(&What::default(), |c, s| c.games(s))?;
    let out = ctx.out;
    if out.json {
        let value: Vec<Value> = games.iter().map(line_json).collect();
        return print_json(&out, &Value::Array(value));
    }
    if games.is_empty() {
        return print(if out.tty {
            "no competitions; make one with papertrader game create, or join one with \
             papertrader game join CODE\n"
        } else {
            ""
        });
    }
    print(&list_table(&out, &games).render(&out))
}

/// A `getGames` line as JSON; the role of a public competition one is
/// not in is null.
fn line_json(g: &GameLine) -> Value {
    let role = match g.role {
        GameRole::None => Value::Null,
        role => role.as_str().into(),
    };
    json!({
        "id": g.id,
        "name": g.name,
        "state": g.state.as_str(),
        "role": role,
        "players": g.players,
        "start": g.start,
        "end": g.end,
    })
}

/// ID, STATE, ROLE, PLAYERS, START, END, NAME.
fn list_table(out: &Output, games: &[GameLine]) -> Table {
    let mut table = Table::new(&[
        ("ID", Align::Right),
        ("STATE", Align::Left),
        ("ROLE", Align::Left),
        ("PLAYERS", Align::Right),
        ("START", Align::Left),
        ("END", Align::Left),
        ("NAME", Align::Left),
    ]);
    for g in games {
        table.row(vec![
            g.id.to_string().into(),
            g.state.as_str().into(),
            g.role.as_str().into(),
            out.number(g.players).into(),
            iso_time(Timestamp(g.start)).into(),
            iso_time(Timestamp(g.end)).into(),
            g.name.as_str().into(),
        ]);
    }
    table
}

fn show(ctx: &mut Context, text: &str) -> Result<(), CliError> {
    let id = resolve(ctx, text)?;
    let shown = id.to_string();
    let detail = ctx.data(&game_what(&shown), |c, s| c.game(s, id))?;
    let out = ctx.out;
    if out.json {
        return print_json(&out, &detail_json(&detail));
    }
    print(&key_values(&out, &detail_pairs(&out, &detail)))
}

/// A competition as `key value` lines: who and where it is, then its
/// rules.
fn detail_pairs(out: &Output, d: &GameDetail) -> Vec<(&'static str, String)> {
    let mut pairs = vec![
        ("id", d.id.to_string()),
        ("name", d.rules.name.clone()),
        ("state", d.state.as_str().to_string()),
        ("organiser", d.organiser.to_string()),
        ("players", out.number(d.players)),
    ];
    if let Some(code) = &d.code {
        pairs.push(("code", code.clone()));
    }
    pairs.extend(rules::pairs(out, &d.rules));
    pairs
}

/// A competition as JSON: `id`, `state`, `organiser`, `players`, `code`
/// (null but for its organiser), then the rules' members.
fn detail_json(d: &GameDetail) -> Value {
    let mut map = serde_json::Map::new();
    map.insert("id".into(), d.id.into());
    map.insert("state".into(), d.state.as_str().into());
    map.insert("organiser".into(), d.organiser.as_str().into());
    map.insert("players".into(), d.players.into());
    map.insert(
        "code".into(),
        d.code.clone().map_or(Value::Null, Value::from),
    );
    map.extend(rules::json(&d.rules));
    Value::Object(map)
}

fn standings(ctx: &mut Context, text: &str) -> Result<(), CliError> {
    let id = resolve(ctx, text)?;
    let shown = id.to_string();
    let list = ctx.data(&game_what(&shown), |c, s| c.standings(s, id))?;
    print_standings(ctx, &list, &format!("competition {id} has no players yet"))
}

fn holdings(ctx: &mut Context, text: &str, user: &str) -> Result<(), CliError> {
    let user = username(user)?;
    let id = resolve(ctx, text)?;
    let shown = id.to_string();
    let what = What {
        view: Some("holdings"),
        game: Some(&shown),
        ..What::user(&user)
    };
    let positions = ctx.data(&what, |c, s| c.game_holdings(s, id, &user))?;
    let rows: Vec<Row> = positions.iter().filter_map(Row::of).collect();
    let out = ctx.out;
    if out.json {
        let (positions, total) = positions_json(&rows);
        let value = json!({"game": id, "username": user, "positions": positions, "total": total});
        return print_json(&out, &value);
    }
    if rows.is_empty() && out.tty {
        return print(&format!("{user} holds nothing in competition {id}\n"));
    }
    print(&own_table(&out, &rows).render(&out))
}

fn leave(ctx: &mut Context, text: &str) -> Result<(), CliError> {
    let id = resolve(ctx, text)?;
    let shown = id.to_string();
    let id = ctx.trade(&game_what(&shown), |c, s| c.leave_game(s, id))?;
    if ctx.out.json {
        return print_json(&ctx.out, &json!({"id": id, "left": true}));
    }
    print(&format!(
        "left competition {id}; your portfolio in it is closed\n"
    ))
}

fn remove(ctx: &mut Context, text: &str, user: &str) -> Result<(), CliError> {
    let user = username(user)?;
    let id = resolve(ctx, text)?;
    let shown = id.to_string();
    let what = What {
        game: Some(&shown),
        ..What::user(&user)
    };
    let id = ctx.trade(&what, |c, s| c.remove_player(s, id, &user))?;
    if ctx.out.json {
        return print_json(&ctx.out, &json!({"id": id, "removed": user}));
    }
    print(&format!("removed {user} from competition {id}\n"))
}

fn new_code(ctx: &mut Context, text: &str) -> Result<(), CliError> {
    let id = resolve(ctx, text)?;
    let shown = id.to_string();
    let code = ctx.trade(&game_what(&shown), |c, s| c.new_game_code(s, id))?;
    if ctx.out.json {
        return print_json(&ctx.out, &json!({"id": id, "code": code.as_str()}));
    }
    print(&format!(
        "new invitation code of competition {id}: {code} (the old one no longer works)\n"
    ))
}

fn game_what(shown: &str) -> What<'_> {
    What {
        game: Some(shown),
        ..What::default()
    }
}

/// The number a competition is named by: digits are its number, anything
/// else its name, looked up with `getGames`.
fn resolve(ctx: &mut Context, text: &str) -> Result<u64, CliError> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let expected = "a competition number from 1, as papertrader game list shows it";
        return parse_id("competition", text).map_err(|_| {
            CliError::data(ValueError::new("competition", text, expected).to_string())
        });
    }
    let games = ctx.data(&What::default(), |c, s| c.games(s))?;
    by_name(&games, text)
}

/// The one competition called `name`: among those that match in any case,
/// the ones spelled exactly so first, then your own (organised or played
/// in) before public ones of others. None is exit 65, several alike exit
/// 64.
fn by_name(games: &[GameLine], name: &str) -> Result<u64, CliError> {
    let wanted = name.to_lowercase();
    let any_case: Vec<&GameLine> = games
        .iter()
        .filter(|g| g.name.to_lowercase() == wanted)
        .collect();
    let exact = narrowed(any_case, |g| g.name == name);
    let found = narrowed(exact, |g| g.role != GameRole::None);
    match found.as_slice() {
        [] => Err(CliError::data(format!(
            "no competition you can see is called {name}; see papertrader game list"
        ))),
        [one] => Ok(one.id),
        several => {
            let ids: Vec<String> = several.iter().map(|g| g.id.to_string()).collect();
            Err(CliError::usage(format!(
                "several competitions are called {name} ({}); give its number",
                ids.join(", ")
            )))
        }
    }
}

/// Those of `found` that `keep` keeps, or all of them when it keeps none.
fn narrowed(found: Vec<&GameLine>, keep: impl Fn(&GameLine) -> bool) -> Vec<&GameLine> {
    let kept: Vec<&GameLine> = found.iter().copied().filter(|g| keep(g)).collect();
    if kept.is_empty() { found } else { kept }
}

#[cfg(test)]
mod tests {
    use super::*;
    use papertrader_client::GameRules;

    fn line(id: u64, role: GameRole, name: &str) -> GameLine {
        GameLine {
            id,
            state: GameState::Running,
            role,
            players: 1234,
            start: 1_732_147_200,
            end: 1_732_183_261,
            name: name.to_string(),
        }
    }

    fn games() -> Vec<GameLine> {
        vec![
            line(1, GameRole::Organiser, "Spring cup"),
            line(2, GameRole::Player, "Été 2027"),
            line(3, GameRole::None, "Twice"),
            line(4, GameRole::Left, "twice"),
            line(5, GameRole::Player, "Same"),
            line(6, GameRole::Both, "Same"),
            line(7, GameRole::None, "Public"),
            line(8, GameRole::None, "public"),
        ]
    }

    #[test]
    fn names_resolve_in_any_case() {
        let games = games();
        assert_eq!(by_name(&games, "spring CUP"), Ok(1));
        assert_eq!(by_name(&games, "ÉTÉ 2027"), Ok(2), "Unicode case");
        assert_eq!(by_name(&games, "twice"), Ok(4), "spelled exactly so");
        assert_eq!(by_name(&games, "Twice"), Ok(3), "spelled exactly so");
        assert_eq!(
            by_name(&games, "TWICE"),
            Ok(4),
            "your own before others' public ones"
        );
        let err = by_name(&games, "same").expect_err("two of your own");
        assert_eq!(err.status, 64);
        assert!(err.message.contains("(5, 6)"), "{}", err.message);
        let err = by_name(&games, "PUBLIC").expect_err("two public ones");
        assert!(err.message.contains("(7, 8)"), "{}", err.message);
        let err = by_name(&games, "Spring").expect_err("a prefix is not a name");
        assert_eq!(
            (err.status, err.message.as_str()),
            (
                65,
                "no competition you can see is called Spring; see papertrader game list"
            )
        );
    }

    #[test]
    fn the_list_piped_and_as_json() {
        let games = games();
        assert_eq!(
            list_table(&Output::plain(), &games[..2]).render(&Output::plain()),
            "ID\tSTATE\tROLE\tPLAYERS\tSTART\tEND\tNAME\n\
             1\trunning\torganiser\t1234\t2024-11-21T00:00:00Z\t2024-11-21T10:01:01Z\tSpring cup\n\
             2\trunning\tplayer\t1234\t2024-11-21T00:00:00Z\t2024-11-21T10:01:01Z\tÉté 2027\n"
        );
        assert_eq!(
            line_json(&games[2]),
            json!({"id": 3, "name": "Twice", "state": "running", "role": null,
                   "players": 1234, "start": 1_732_147_200, "end": 1_732_183_261})
        );
    }

    #[test]
    fn a_competition_shown() {
        let detail = GameDetail {
            id: 7,
            state: GameState::Waiting,
            organiser: Username::parse("alice").expect("name"),
            players: 2,
            code: Some("ABCDEFGH2345".into()),
            rules: GameRules::new("Spring cup", Timestamp(100), Timestamp(200)),
        };
        let value = detail_json(&detail);
        assert_eq!(value["id"], json!(7));
        assert_eq!(value["code"], json!("ABCDEFGH2345"));
        assert_eq!(value["name"], json!("Spring cup"));
        assert_eq!(value["cash"], json!("100000.0000"));
        assert_eq!(value["assets"], Value::Null);
        assert_eq!(value["holdings"], json!("end"));
        let text = key_values(&Output::plain(), &detail_pairs(&Output::plain(), &detail));
        assert!(
            text.starts_with(
                "id\t7\nname\tSpring cup\nstate\twaiting\norganiser\talice\nplayers\t2\n\
                 code\tABCDEFGH2345\nstart\t1970-01-01T00:01:40Z\n"
            ),
            "{text}"
        );
        let hidden = GameDetail {
            code: None,
            ..detail
        };
        assert_eq!(detail_json(&hidden)["code"], Value::Null);
        let text = key_values(&Output::plain(), &detail_pairs(&Output::plain(), &hidden));
        assert!(!text.contains("code"), "{text}");
    }
}
