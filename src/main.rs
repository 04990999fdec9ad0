//! `archlens`: with no arguments the desktop app; with a subcommand, the CLI.

mod cli;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let args = cli::Args::parse();
    cli::run(args)
}
