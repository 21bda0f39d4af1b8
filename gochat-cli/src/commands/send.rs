//! `send USER [TEXT…|-]`: queue a message (MSG). Returns once the daemon stored it; with
//! `--wait`, once the server confirmed it.

use std::io::{IsTerminal, Read};

use gochat_proto::ipc;

use crate::context::Ctx;
use crate::error::{CliError, Kind, Result};
use crate::output::{BAD, GOOD, PEER, WARN, paint};
use crate::views::{MessageJson, link_state};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The recipient.
    pub user: String,
    /// The text (words are joined by spaces; put it after `--` if it starts with "-"); "-" or
    /// nothing reads it from stdin.
    pub text: Vec<String>,
    /// Return only after the server confirmed (or refused) the message.
    #[arg(long, short)]
    pub wait: bool,
}

/// The text from the arguments, or stdin.
fn text(args: &Args) -> Result<String> {
    let from_stdin = args.text.is_empty() || (args.text.len() == 1 && args.text[0] == "-");
    let text = if from_stdin {
        let stdin = std::io::stdin();
        if args.text.is_empty() && stdin.is_terminal() {
            return Err(CliError::usage(
                "no text: give it after the user name, or pipe it in (`echo hi | gochat-cli send bob`)",
            ));
        }
        let mut text = String::new();
        stdin
            .lock()
            .read_to_string(&mut text)
            .map_err(|e| CliError::other(format!("cannot read the text from stdin: {e}")))?;
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        text
    } else {
        args.text.join(" ")
    };
    if text.is_empty() {
        return Err(CliError::usage("the message is empty"));
    }
    Ok(text)
}

pub async fn run(args: Args, ctx: &mut Ctx) -> Result<()> {
    let text = text(&args)?;
    let account = ctx.account();
    if args.wait {
        // Waiting for a link that is not even trying to connect would only time out.
        let a = crate::commands::account::resolve(ctx, &account).await?;
        let state = ipc::LinkState::try_from(a.state).unwrap_or_default();
        if matches!(state, ipc::LinkState::Offline | ipc::LinkState::Locked) {
            let r = a.r#ref.unwrap_or_default();
            return Err(CliError::new(
                Kind::Offline,
                format!(
                    "account {}@{} is {}: log in first (`gochat-cli account login`), or send without --wait to queue the message",
                    crate::views::user(&r.username),
                    r.server,
                    link_state(a.state)
                ),
            ));
        }
    }
    let request = ipc::SendRequest {
        account: Some(account),
        to: args.user.clone(),
        text,
        wait: args.wait,
    };
    let messages = ctx
        .client()
        .await?
        .send(request)
        .await?
        .into_inner()
        .messages;
    let json: Vec<MessageJson> = messages.iter().map(MessageJson::from).collect();
    ctx.out
        .emit(&serde_json::json!({ "messages": json }), |w| {
            for m in &messages {
                let (what, style) = match ipc::MessageState::try_from(m.state).unwrap_or_default() {
                    ipc::MessageState::Sent => ("sent", GOOD),
                    ipc::MessageState::Failed => ("failed", BAD),
                    _ => ("queued", WARN),
                };
                writeln!(
                    w,
                    "{} message {} to {}",
                    paint(style, what),
                    m.id,
                    paint(PEER, crate::views::user(&m.peer))
                )?;
            }
            Ok(())
        })?;
    if !args.wait {
        return Ok(());
    }
    if let Some(failed) = messages
        .iter()
        .find(|m| m.state == ipc::MessageState::Failed as i32)
    {
        return Err(CliError::new(
            Kind::of_message(failed.failure_reason()),
            format!(
                "message to {} failed: {}",
                crate::views::user(&failed.peer),
                failed.error
            ),
        ));
    }
    if messages
        .iter()
        .any(|m| m.state == ipc::MessageState::Queued as i32)
    {
        return Err(CliError::new(
            Kind::Offline,
            "the server did not confirm the message in time; it stays queued and is sent when the account reconnects",
        ));
    }
    Ok(())
}
