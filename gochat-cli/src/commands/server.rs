//! `server add|list|show|remove|set|trust`: the daemon's server profiles, and trusting a
//! server's certificate (docs/CLI.md "Server certificates").

use std::io::IsTerminal;

use clap::Subcommand;
use gochat_proto::ipc;

use crate::certificate;
use crate::context::Ctx;
use crate::error::{CliError, Kind, Result};
use crate::output::{BAD, Cell, PEER, Table, paint};
use crate::prompt;
use crate::views::ServerJson;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add a server profile (REGSERVER).
    Add {
        /// A name for the profile.
        name: String,
        /// Host name or address.
        host: String,
        /// Port [default: 9037, or 8037 with --tls].
        #[arg(long, short)]
        port: Option<u16>,
        /// Connect with TLS.
        #[arg(long)]
        tls: bool,
        /// Do not verify the server's certificate (TLS only; unsafe).
        #[arg(long, requires = "tls")]
        no_verify: bool,
        /// Trust this PEM file instead of the system roots: a CA (validated by name and
        /// date), or a single self-signed certificate (pinned as it is).
        #[arg(long, value_name = "FILE", requires = "tls")]
        ca_file: Option<std::path::PathBuf>,
        /// Pin the server's certificate: sha256:HEX (the certificate), spki-sha256:HEX (its
        /// public key) or a PEM FILE; repeat to allow a rotation. Nothing else is trusted then.
        #[arg(long, value_name = "FILE|sha256:HEX", requires = "tls")]
        pin: Vec<String>,
        /// Make it the default profile.
        #[arg(long)]
        default: bool,
    },
    /// List the server profiles (SERVERS).
    #[command(visible_alias = "ls")]
    List,
    /// Show one profile (SERVERCONFIG).
    Show {
        /// The profile.
        name: String,
    },
    /// Remove a profile that has no accounts left (DELSERVER).
    #[command(visible_alias = "rm")]
    Remove {
        /// The profile.
        name: String,
    },
    /// Change a profile (SETSERVER).
    Set {
        /// The profile.
        name: String,
        /// New host.
        #[arg(long)]
        host: Option<String>,
        /// New port.
        #[arg(long, short)]
        port: Option<u16>,
        /// Use TLS (true/false).
        #[arg(long, value_name = "BOOL")]
        tls: Option<bool>,
        /// Verify the certificate (true/false).
        #[arg(long, value_name = "BOOL")]
        verify: Option<bool>,
        /// PEM file to trust ("" for the system roots).
        #[arg(long, value_name = "FILE")]
        ca_file: Option<String>,
        /// Replace the pins (repeat for several; one "" clears them).
        #[arg(long, value_name = "FILE|sha256:HEX")]
        pin: Option<Vec<String>>,
        /// Make it the default profile (true/false).
        #[arg(long, value_name = "BOOL")]
        default: Option<bool>,
    },
    /// Show the certificate the server presents now and pin it after you confirm (trust on
    /// first use, or accepting a changed certificate).
    Trust {
        /// The profile.
        name: String,
        /// Pin only if the server presents this certificate (sha256:HEX); no question asked.
        #[arg(long, value_name = "sha256:HEX")]
        fingerprint: Option<String>,
        /// Keep the current pins beside the new one (certificate rotation).
        #[arg(long)]
        keep: bool,
    },
}

pub async fn run(command: Command, ctx: &mut Ctx) -> Result<()> {
    match command {
        Command::Add {
            name,
            host,
            port,
            tls,
            no_verify,
            ca_file,
            pin,
            default,
        } => {
            let ca_file = match ca_file {
                Some(path) => absolute(&path, "--ca-file")?,
                None => String::new(),
            };
            let profile = ipc::ServerProfile {
                name,
                host,
                port: port.map_or(0, u32::from),
                tls,
                skip_verify: no_verify,
                ca_file,
                is_default: default,
                pins: pins(pin)?,
                rejected_certificate: None,
            };
            let added = ctx.client().await?.add_server(profile).await?.into_inner();
            if added.tls && added.skip_verify {
                ctx.out.note(
                    "warning: --no-verify accepts any certificate, an attacker's too; pin the \
                     server's instead with `gochat-cli server trust NAME`",
                );
            }
            ctx.out.emit(&ServerJson::from(&added), |w| {
                writeln!(
                    w,
                    "added server {} ({})",
                    paint(PEER, &added.name),
                    address(&added)
                )
            })?;
            match added.rejected_certificate {
                Some(c) => first_use(ctx, added.name, c).await,
                None => Ok(()),
            }
        }
        Command::List => {
            let servers = list(ctx).await?;
            let json: Vec<ServerJson> = servers.iter().map(ServerJson::from).collect();
            ctx.out.emit(&serde_json::json!({ "servers": json }), |w| {
                if servers.is_empty() {
                    return writeln!(
                        w,
                        "no server profiles; add one with `gochat-cli server add NAME HOST`"
                    );
                }
                let mut table = Table::new(&["NAME", "ADDRESS", "SECURITY", "DEFAULT"]);
                for s in &servers {
                    table.row(vec![
                        Cell::styled(s.name.clone(), PEER),
                        Cell::new(address(s)),
                        Cell::new(security(s)),
                        Cell::new(if s.is_default { "yes" } else { "" }),
                    ]);
                }
                table.write(w)
            })
        }
        Command::Show { name } => {
            let s = find(ctx, &name).await?;
            ctx.out.emit(&ServerJson::from(&s), |w| {
                writeln!(w, "name:     {}", s.name)?;
                writeln!(w, "host:     {}", s.host)?;
                writeln!(w, "port:     {}", s.port)?;
                writeln!(w, "security: {}", security(&s))?;
                if s.tls && s.skip_verify {
                    writeln!(
                        w,
                        "{}",
                        paint(
                            BAD,
                            "warning:  certificate verification is off (--no-verify): any \
                             certificate is accepted, an attacker's too; pin it instead with \
                             `gochat-cli server trust NAME`"
                        )
                    )?;
                }
                if !s.ca_file.is_empty() {
                    writeln!(w, "ca file:  {}", s.ca_file)?;
                }
                for pin in &s.pins {
                    writeln!(w, "pin:      {pin}")?;
                }
                if let Some(c) = &s.rejected_certificate {
                    writeln!(w, "refused certificate:")?;
                    write!(w, "{}", certificate::describe(c, "  "))?;
                    writeln!(w, "{}", certificate::advice(&s.name, c))?;
                }
                writeln!(w, "default:  {}", if s.is_default { "yes" } else { "no" })
            })
        }
        Command::Remove { name } => {
            ctx.client()
                .await?
                .remove_server(ipc::ServerRef { name: name.clone() })
                .await?;
            ctx.out.done(&format!("removed server {name}"))
        }
        Command::Set {
            name,
            host,
            port,
            tls,
            verify,
            ca_file,
            pin,
            default,
        } => {
            let mut s = find(ctx, &name).await?;
            if let Some(p) = pin {
                s.pins = pins(p)?;
            }
            if let Some(h) = host {
                s.host = h;
            }
            if let Some(p) = port {
                s.port = u32::from(p);
            }
            if let Some(t) = tls {
                s.tls = t;
            }
            if let Some(v) = verify {
                s.skip_verify = !v;
            }
            if let Some(c) = ca_file {
                s.ca_file = c;
            }
            if let Some(d) = default {
                s.is_default = d;
            }
            let updated = ctx.client().await?.update_server(s).await?.into_inner();
            ctx.out.emit(&ServerJson::from(&updated), |w| {
                writeln!(
                    w,
                    "updated server {} ({}, {})",
                    paint(PEER, &updated.name),
                    address(&updated),
                    security(&updated)
                )
            })
        }
        Command::Trust {
            name,
            fingerprint,
            keep,
        } => trust(ctx, name, fingerprint, keep).await,
    }
}

/// A new profile whose server presents an untrusted certificate: on a terminal, show it and
/// offer to pin it at once (trust on first use); otherwise fail with how to pin it.
async fn first_use(ctx: &mut Ctx, name: String, c: ipc::CertificateInfo) -> Result<()> {
    let refused = || {
        CliError::new(
            Kind::Refused,
            format!(
                "server {name} presents a certificate that is not trusted:\n{}\n{}",
                certificate::describe(&c, "  ").trim_end(),
                certificate::advice(&name, &c)
            ),
        )
    };
    let interactive = !ctx.out.json
        && !ctx.global.yes
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal();
    if !interactive {
        return Err(refused());
    }
    eprint!(
        "server {name} presents a certificate that is not trusted:\n{}\
         compare the fingerprint with the one the server's operator gave you\n",
        certificate::describe(&c, "  ")
    );
    let question = format!("Pin {} for {name}?", certificate::fingerprint(&c.sha256));
    if prompt::confirm(&question, false).is_err() {
        return Err(refused());
    }
    let trusted = ctx
        .client()
        .await?
        .trust_server(ipc::TrustServerRequest {
            name: name.clone(),
            expect_sha256: c.sha256.clone(),
            keep_existing: false,
        })
        .await?
        .into_inner();
    ctx.out
        .done(&format!("pinned the certificate of {}", trusted.name))
}

/// `server trust`: shows what the server presents, asks, and pins exactly that.
async fn trust(ctx: &mut Ctx, name: String, fingerprint: Option<String>, keep: bool) -> Result<()> {
    let expect = match fingerprint {
        Some(f) => f
            .replace(':', "")
            .trim_start_matches("sha256")
            .to_ascii_lowercase(),
        None => {
            let seen = ctx
                .client()
                .await?
                .probe_server_certificate(ipc::ServerRef { name: name.clone() })
                .await?
                .into_inner();
            if !ctx.out.json {
                eprint!(
                    "server {name} presents:\n{}",
                    certificate::describe(&seen, "  ")
                );
            }
            if seen.trusted && !keep {
                eprintln!("(it is trusted already; pinning it makes it the only one)");
            }
            prompt::confirm(
                &format!("Pin {} for {name}?", certificate::fingerprint(&seen.sha256)),
                ctx.global.yes,
            )?;
            seen.sha256
        }
    };
    let trusted = ctx
        .client()
        .await?
        .trust_server(ipc::TrustServerRequest {
            name,
            expect_sha256: expect,
            keep_existing: keep,
        })
        .await?
        .into_inner();
    ctx.out.emit(&ServerJson::from(&trusted), |w| {
        writeln!(
            w,
            "pinned the certificate of {} ({} pin{})",
            paint(PEER, &trusted.name),
            trusted.pins.len(),
            if trusted.pins.len() == 1 { "" } else { "s" }
        )
    })
}

/// Pins as the daemon takes them: PEM files become absolute paths.
fn pins(given: Vec<String>) -> Result<Vec<String>> {
    given
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            if p.starts_with("sha256:") || p.starts_with("spki-sha256:") {
                Ok(p)
            } else {
                absolute(std::path::Path::new(&p), "--pin")
            }
        })
        .collect()
}

fn absolute(path: &std::path::Path, flag: &str) -> Result<String> {
    Ok(std::path::absolute(path)
        .map_err(|e| CliError::usage(format!("bad {flag} {}: {e}", path.display())))?
        .display()
        .to_string())
}

/// Every profile.
pub async fn list(ctx: &mut Ctx) -> Result<Vec<ipc::ServerProfile>> {
    Ok(ctx
        .client()
        .await?
        .list_servers(ipc::Empty {})
        .await?
        .into_inner()
        .servers)
}

async fn find(ctx: &mut Ctx, name: &str) -> Result<ipc::ServerProfile> {
    list(ctx)
        .await?
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            CliError::not_found(format!(
                "no server profile called {name:?} (see `gochat-cli server list`)"
            ))
        })
}

fn address(s: &ipc::ServerProfile) -> String {
    if s.host.contains(':') {
        format!("[{}]:{}", s.host, s.port)
    } else {
        format!("{}:{}", s.host, s.port)
    }
}

fn security(s: &ipc::ServerProfile) -> &'static str {
    match (s.tls, !s.skip_verify) {
        (false, _) => "plain",
        (true, true) => "tls",
        (true, false) => "tls (UNVERIFIED: any certificate)",
    }
}
