//! The `fetchpar` binary: parse the command line, run, exit with the code the run decided.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    fetchpar::app::main_with(fetchpar::cli::Cli::parse())
}
