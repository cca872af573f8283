//! The `fetchpar` binary: parse the command line, run, exit with the code the run decided.

use std::process::ExitCode;

fn main() -> ExitCode {
    fetchpar::app::main_with(fetchpar::cli::Cli::from_args())
}
