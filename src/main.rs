//! The `campaign-bot` binary: parse the command line, set up logging, load
//! the config, hand over to the library. The only place that decides exit
//! codes.

use std::process::ExitCode;

use clap::Parser;

use campaign_bot::cli::{Cli, Command};
use campaign_bot::commands::{self, CliError, PostNowArgs};

fn init_logging(to_stdout: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // The daemon tells what it does; one-shot commands only warn.
        EnvFilter::new(if to_stdout { "info" } else { "warn" })
    });
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // Colour only on a terminal, and never with NO_COLOR set
    // (https://no-color.org): escape codes in a log file are noise.
    let terminal = if to_stdout {
        std::io::IsTerminal::is_terminal(&std::io::stdout())
    } else {
        std::io::IsTerminal::is_terminal(&std::io::stderr())
    };
    let colour = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour);
    match (json, to_stdout) {
        (true, true) => builder.json().with_current_span(false).init(),
        (true, false) => builder
            .json()
            .with_current_span(false)
            .with_writer(std::io::stderr)
            .init(),
        (false, true) => builder.init(),
        (false, false) => builder.with_writer(std::io::stderr).init(),
    }
}

/// `campaign-bot status | head`: when the reader closes the pipe, the
/// command ends as `ls` does (by SIGPIPE, silently), not with a panic and a
/// backtrace from `println!` (issue 32). Rust ignores SIGPIPE by default;
/// the one-shot commands take the default back. Sockets are unaffected
/// (the standard library sends with MSG_NOSIGNAL), and every post is
/// recorded before it is sent, so a command ended here loses nothing. The
/// daemon keeps ignoring it: its logs must never stop it.
fn end_quietly_on_a_closed_pipe() {
    // SAFETY: called first thing in `main`, before any other thread
    // exists; restoring a signal's default disposition has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Threads for blocking calls (the state store, files) in the daemon.
const MAX_BLOCKING_THREADS: usize = 16;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let daemon = matches!(cli.command, Command::Run { .. });
    if !daemon {
        end_quietly_on_a_closed_pipe();
    }
    init_logging(daemon);
    // The daemon gets a second worker, so that a slow disk under a state
    // store call never holds up a timeout or a signal; a one-shot command
    // runs on one thread (less memory, quicker start). Store and file calls
    // run on a bounded pool of blocking threads (the store serialises them
    // anyway): hundreds of targets posting at once wait their turn there
    // rather than each getting a thread (`schedule.parallel_posts` bounds
    // the posts in flight).
    let runtime = if daemon {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(MAX_BLOCKING_THREADS)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("campaign-bot: cannot start: {e}");
            return ExitCode::from(commands::exit::PROBLEM);
        }
    };
    let result = runtime.block_on(dispatch(cli));
    // A blocking call still stuck on a cut database connection (a replica
    // that lost its term that way) must not hold the exit until the
    // connection times out: everything it would write is fenced.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("campaign-bot: {e}");
            e.exit_code()
        }
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    // A login may come before any target is configured (it makes the
    // credentials): it goes on without a config that does not load.
    if let Command::Login {
        network,
        instance,
        token_file,
        target,
    } = &cli.command
    {
        let config = commands::load_config(cli.config.clone()).ok();
        let args = commands::LoginArgs {
            network,
            instance: instance.as_deref(),
            token_file: token_file.as_deref(),
            target: target.as_deref(),
        };
        return commands::login(config.as_ref(), args).await;
    }
    let config = commands::load_config(cli.config)?;
    match cli.command {
        Command::Run { dry_run } => commands::run(&config, dry_run).await,
        Command::Validate { offline } => commands::validate(&config, offline).await,
        Command::Preview {
            id: Some(id), from, ..
        } => commands::preview_message(&config, &id, from.as_deref()),
        Command::Preview {
            next,
            from,
            ics: None,
            ..
        } => commands::preview(&config, usize::from(next), from.as_deref()),
        Command::Preview {
            from,
            ics: Some(file),
            days,
            ..
        } => commands::preview_ics(&config, &file, days.into(), from.as_deref()),
        Command::PostNow {
            id,
            lang,
            target,
            slot,
            dry_run,
        } => {
            commands::post_now(
                &config,
                PostNowArgs {
                    id,
                    lang,
                    target,
                    slot,
                    dry_run,
                },
            )
            .await
        }
        Command::Status { health } => commands::status(&config, health).await,
        Command::Resolve {
            key,
            verdict,
            id,
            url,
        } => commands::resolve(&config, &key, verdict, id.as_deref(), url.as_deref()),
        Command::Engagement { all } => commands::engagement(&config, all).await,
        Command::Report {
            since,
            until,
            by,
            format,
            html,
            xlsx,
        } => commands::report(
            &config,
            since,
            until,
            by,
            format,
            html.as_deref(),
            xlsx.as_deref(),
        ),
        Command::Backup { file } => commands::backup(&config, &file),
        Command::Store { action } => commands::store(&config, action),
        Command::Login { .. } => unreachable!("handled before the config is loaded"),
    }
}
