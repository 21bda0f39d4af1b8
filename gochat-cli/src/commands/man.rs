//! `man [DIR]`: write man pages (gochat-cli.1 and one per subcommand) into DIR, or print the
//! main page to stdout.

use std::path::PathBuf;

use crate::context::Ctx;
use crate::error::{CliError, Result};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory for the pages [default: print gochat-cli.1 to stdout].
    pub dir: Option<PathBuf>,
}

/// `command` is the whole command line's definition (`Cli::command()`).
pub fn run(args: Args, command: clap::Command, ctx: &mut Ctx) -> Result<()> {
    match args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            ctx.out.raw(&page)
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| CliError::other(format!("cannot create {}: {e}", dir.display())))?;
            clap_mangen::generate_to(command, &dir).map_err(|e| {
                CliError::other(format!("cannot write man pages to {}: {e}", dir.display()))
            })?;
            let mut pages: Vec<String> = std::fs::read_dir(&dir)
                .map_err(|e| CliError::other(format!("cannot list {}: {e}", dir.display())))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("gochat-cli") && n.ends_with(".1"))
                .collect();
            pages.sort();
            ctx.out.emit(
                &serde_json::json!({ "dir": dir.display().to_string(), "pages": pages }),
                |w| writeln!(w, "wrote {} man pages to {}", pages.len(), dir.display()),
            )
        }
    }
}
