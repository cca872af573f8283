//! `--demo`: the seed's experiment with no network. An origin server starts on 127.0.0.1 inside
//! the process, serving generated CSV-like files after a simulated delay, and the compare mode
//! runs against it, so a newcomer sees what threads buy in one command.

use anyhow::{Context, Result};

use crate::app::run_jobs;
use crate::cli::Cli;
use crate::links::LinkReader;
use crate::options::Options;
use crate::origin::Origin;
use crate::progress::Total;

/// Files served by the demo, and the delay before each answer (the seed's remote servers took
/// about this long per file).
const FILES: usize = 12;
const DELAY_MS: u64 = 250;

pub fn run(cli: &Cli) -> Result<u8> {
    let origin = Origin::start().context("could not start the demo server on 127.0.0.1")?;
    let list: String = (0..FILES)
        .map(|i| {
            let size = 16 * 1024 * (i + 1);
            origin.url(&format!(
                "/data/survey-{i:02}.csv?size={size}&delay={DELAY_MS}\n"
            ))
        })
        .collect();
    if !cli.quiet {
        eprintln!(
            "fetchpar: demo: {FILES} files from a local server at {} that waits {DELAY_MS} ms \
             before each answer; first one after another, then one thread per file",
            origin.addr()
        );
    }
    let options = Options::from_cli(cli)?;
    let jobs = LinkReader::from_reader("demo", std::io::Cursor::new(list.into_bytes()));
    run_jobs(&options, Box::new(jobs), Total::known(FILES))
}
