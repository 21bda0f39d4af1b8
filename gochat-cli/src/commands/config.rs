//! `config [NAME [VALUE]] [--reset]`: the daemon's notification and hook settings: list them,
//! show one, change one live (kept across restarts), or reset one to gochatd.toml's value.

use gochat_proto::ipc;

use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::output::{Cell, DIM, PEER, PLAIN, Table};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Values are TOML: true, 200, \"mentions\" (or a bare word), \
[\"/usr/bin/prog\", \"arg\"]. Examples:\n  \
gochat-cli config notify.mode mentions\n  \
gochat-cli config hooks.on_message '[\"/usr/local/bin/forward\"]'\n  \
gochat-cli config notify.accounts.home/alice off\n  \
gochat-cli config --reset notify.mode"
)]
pub struct Args {
    /// The setting (all of them when left out).
    pub name: Option<String>,
    /// Its new value.
    pub value: Option<String>,
    /// Forget the value set live: gochatd.toml (or the default) applies again.
    #[arg(long, requires = "name", conflicts_with = "value")]
    pub reset: bool,
}

fn json(s: &ipc::Setting) -> serde_json::Value {
    serde_json::json!({ "name": s.name, "value": s.value, "source": s.source, "help": s.help })
}

pub async fn run(args: Args, ctx: &mut Ctx) -> Result<()> {
    let client = ctx.client().await?;
    let settings = match (&args.name, &args.value, args.reset) {
        (Some(name), value, reset) if value.is_some() || reset => {
            client
                .set_setting(ipc::SetSettingRequest {
                    name: name.clone(),
                    value: value.clone().unwrap_or_default(),
                    reset,
                })
                .await?
                .into_inner()
                .settings
        }
        _ => {
            client
                .get_settings(ipc::Empty {})
                .await?
                .into_inner()
                .settings
        }
    };
    let shown: Vec<&ipc::Setting> = match &args.name {
        Some(name) => {
            let one: Vec<_> = settings.iter().filter(|s| &s.name == name).collect();
            if one.is_empty() {
                return Err(CliError::not_found(format!(
                    "no setting called {name:?}; `gochat-cli config` lists them"
                )));
            }
            one
        }
        None => settings.iter().collect(),
    };
    let out: Vec<serde_json::Value> = shown.iter().map(|s| json(s)).collect();
    ctx.out.emit(&serde_json::json!({ "settings": out }), |w| {
        let mut table = Table::new(&["SETTING", "VALUE", "FROM", "WHAT"]);
        for s in &shown {
            table.row(vec![
                Cell::styled(s.name.clone(), PEER),
                Cell::styled(gochat_client::term::line(&s.value).into_owned(), PLAIN),
                Cell::styled(s.source.clone(), DIM),
                Cell::styled(s.help.clone(), DIM),
            ]);
        }
        table.write(w)
    })
}
