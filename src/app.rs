//! One invocation from options to exit code: open the input, pick the runner for the mode,
//! print the summaries, and decide the exit code from what happened.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use crate::cancel;
use crate::cli::Cli;
use crate::cookies;
use crate::demo;
use crate::descriptors;
use crate::fetch::{AGENTS, Fetcher};
use crate::links::{Job, LinkReader};
use crate::options::{Mode, Options, UsageError, idle_connections};
use crate::progress::{Progress, Total};
use crate::report::{Reporter, SideFiles, Tally, compare_line, summary_line};
use crate::run;
use crate::save::Saver;
use crate::timeline;

/// Exit code when every URL succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code when at least one URL failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code for usage and input errors.
pub const EXIT_USAGE: u8 = 2;

/// Runs the command line and returns the process exit code.
pub fn main_with(cli: Cli) -> ExitCode {
    match execute(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) if is_broken_pipe(&err) => ExitCode::from(EXIT_OK),
        Err(err) => {
            eprintln!("fetchpar: error: {err:#}");
            if let Some(hint) = wget_output_document(&err, std::env::args_os()) {
                eprintln!("fetchpar: {hint}");
            }
            if let Some(hint) = aria2_split(&err, std::env::args_os()) {
                eprintln!("fetchpar: {hint}");
            }
            let usage = err.downcast_ref::<UsageError>().is_some()
                || err.downcast_ref::<crate::links::OpenError>().is_some();
            // Ctrl-C at a prompt, or while the run was being set up, still means interrupted.
            ExitCode::from(if cancel::ended_by(&err) {
                cancel::EXIT_INTERRUPTED
            } else if usage {
                EXIT_USAGE
            } else {
                EXIT_FAILED
            })
        }
    }
}

/// wget's `-O FILE` typed where `-O` is curl's and takes no value: the file name was read as a
/// list, which is not there. Says what `-O` is here and how to name a file.
fn wget_output_document(
    err: &anyhow::Error,
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Option<String> {
    let open = err.downcast_ref::<crate::links::OpenError>()?;
    let after_o = typed_after("-O", args, open.path());
    (open.not_found() && after_o).then(|| {
        format!(
            "-O takes no file name here: it saves each body under its URL's own name, as curl's \
             -O does; to name the file as wget's -O {name} does, write 'URL out={name}'",
            name = open.path()
        )
    })
}

/// aria2c's `-s N` typed where `-s` is curl's `--silent` and takes no value: the number was
/// read as a list, which is not there. Says what `-s` is here and what aria2c's is.
fn aria2_split(
    err: &anyhow::Error,
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Option<String> {
    let open = err.downcast_ref::<crate::links::OpenError>()?;
    let number = open.path().bytes().all(|b| b.is_ascii_digit());
    (open.not_found() && number && typed_after("-s", args, open.path())).then(|| {
        format!(
            "-s is curl's --silent here and takes no number: aria2c's -s {n} is --split {n}",
            n = open.path()
        )
    })
}

/// What to say when `-` is a list and standard input is a terminal: the run waits for URLs
/// typed there, which otherwise looks like a hang. wget's `-O -` typed here is one way to get
/// there (`-O` is curl's, and `-` a list), so it is named when it was typed.
fn terminal_list(
    options: &Options,
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Option<String> {
    use std::io::IsTerminal;
    let dash = crate::links::ListName::Local("-".into());
    if !options.lists.contains(&dash) || !io::stdin().is_terminal() {
        return None;
    }
    let wget = typed_after("-O", args, "-");
    let mut notice =
        "fetchpar: reading URLs from the terminal (-), one a line; Ctrl-D ends the list"
            .to_string();
    if wget {
        notice.push_str(
            " (-O - here is curl's -O and a list on stdin: for the body on stdout, as wget's \
             -O - gives it, type -o -)",
        );
    }
    Some(notice)
}

/// Whether `value` was typed right after the option `flag` (wget's `-O FILE`, where `-O`
/// here takes none; aria2c's `-s N`, where `-s` is curl's `--silent`).
fn typed_after(
    flag: &str,
    args: impl IntoIterator<Item = std::ffi::OsString>,
    value: &str,
) -> bool {
    let args: Vec<_> = args.into_iter().collect();
    (args.windows(2)).any(|pair| pair[0] == flag && pair[1].to_string_lossy() == value)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn execute(cli: &Cli) -> Result<u8> {
    if let Some(shell) = cli.completions {
        let mut command = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(shell, &mut command, "fetchpar", &mut io::stdout());
        return Ok(EXIT_OK);
    }
    if cli.man {
        let command = <Cli as clap::CommandFactory>::command();
        clap_mangen::Man::new(command).render(&mut io::stdout())?;
        return Ok(EXIT_OK);
    }
    // Before the first thread (the signal handler's) starts.
    crate::heap::give_large_blocks_back();
    reserve_descriptors(crate::options::jobs_wanted(cli), cli.output_dir.is_some());
    cancel::install();
    if cli.demo {
        return demo::run(cli);
    }
    let options = Options::from_cli(cli)?;
    // Lists on servers (`-i URL`, and the sitemaps an index names) are fetched as URLs are,
    // with a fetcher of their own: the run's own is made with the run, once every list is open.
    let lister = std::sync::OnceLock::new();
    let net = options.net.clone();
    let remote = move |url: &url::Url| {
        let fetcher = lister.get_or_init(|| {
            let mut net = net.clone();
            net.spider = false;
            Fetcher::new(net, None)
        });
        fetcher.open_list(url)
    };
    if let Some(notice) = terminal_list(&options, std::env::args_os()) {
        note(&options, &notice);
    }
    let reader = LinkReader::open(
        &options.lists,
        std::sync::Arc::new(remote),
        &options.reading,
    )?;
    let names = &options.reading.names;
    if names.any() && !reader.reads_html() {
        return Err(UsageError(
            "--accept, --reject and their regexes choose among the links of HTML lists, and no \
             list is read as HTML (-F reads every list so; a list on a server is when it says \
             it is HTML)"
                .into(),
        )
        .into());
    }
    let total = Total::default();
    if Progress::drawn(options.progress) && options.mode != Mode::Compare {
        // The run reads its lists only as far as its fetches have got; the bar's total comes
        // from reading them through once more, beside the run, where they can be.
        let (counted, lists, reading) = (
            total.clone(),
            options.lists.clone(),
            options.reading.clone(),
        );
        let _ = std::thread::Builder::new()
            .name("fetchpar-count".into())
            .spawn(move || {
                if let Some(n) = LinkReader::count(&lists, &reading) {
                    counted.counted(n);
                }
            });
    }
    run_jobs(&options, Box::new(reader), total)
}

/// Runs the jobs in the mode the options ask for and returns the exit code.
/// `total` is the progress bar's length, when something knows it before the input ends.
pub fn run_jobs(
    options: &Options,
    jobs: Box<dyn Iterator<Item = Job> + Send>,
    total: Total,
) -> Result<u8> {
    let options = &fit_to_descriptors(options);
    // With -o -, each body waits for its turn on stdout as a file in a folder of the run's own,
    // removed when the run ends.
    let waiting = match options.cat {
        true => Some(tempfile::Builder::new().prefix("fetchpar-").tempdir().map_err(|e| {
            UsageError(format!(
                "-o -: cannot make a folder for the bodies waiting for their turn on stdout \
                 (in TMPDIR): {e}"
            ))
        })?),
        false => None,
    };
    // Everything that can make the run impossible is checked before the first fetch.
    let saver = match &options.save {
        Some(settings) => {
            let mut settings = settings.clone();
            if let Some(folder) = &waiting {
                settings.dir = folder.path().to_path_buf();
                cancel::remove_at_exit(folder.path());
            }
            let saver = Saver::new(settings).map_err(|e| UsageError(format!("{e:#}")))?;
            if let Some(line) = saver.made_folder_note().filter(|_| waiting.is_none()) {
                note(options, &line);
            }
            Some(saver)
        }
        None => None,
    };
    if let Some(path) = &options.timeline {
        std::fs::File::create(path).map_err(|e| {
            UsageError(format!("cannot write the timeline {}: {e}", path.display()))
        })?;
    }
    let side = SideFiles::new(options.checksums.as_deref(), options.failed_out.as_deref())
        .map_err(|e| UsageError(format!("{e:#}")))?;
    let stdout = io::stdout();
    // With -o -, stdout has the bodies and the results go to stderr.
    let results: Box<dyn Write> = match options.cat {
        true => Box::new(io::stderr()),
        false => Box::new(stdout.lock()),
    };
    let mut report = Reporter::new(BufWriter::new(results), options.style, side);
    if options.cat {
        report.cat_to(Box::new(stdout.lock()), options.quiet);
    }
    let mut fetcher = Fetcher::new(options.net.clone(), saver);
    let jar = fetcher.cookies();
    if let Some(path) = &options.load_cookies {
        let warnings = jar
            .load_file(path, options.junk_session_cookies)
            .map_err(|e| UsageError(format!("{e:#}")))?;
        for warning in warnings {
            note(options, &warning);
        }
    }
    if let Some(path) = &options.save_cookies {
        cookies::check_writable(path).map_err(|e| UsageError(format!("{e:#}")))?;
    }
    if options.timeline.is_some() {
        report.keep_timeline();
    }
    let tallies = match options.mode {
        Mode::Sequential => {
            begin_run(options, &mut fetcher, &mut report, "sequential", total);
            let tally = run::sequential(jobs, &fetcher, &mut report, options.stops)?;
            // An empty list gets its error below and no "0 URLs" summary above it.
            if tally.total() > 0 {
                note(options, &summary_line("sequential", None, &tally));
            }
            vec![tally]
        }
        Mode::Threads => {
            begin_run(options, &mut fetcher, &mut report, "threads", total);
            let tally = run::threaded(
                jobs,
                Arc::new(fetcher),
                options.jobs,
                options.reorder_window(),
                &mut report,
                options.stops,
            )?;
            if tally.total() > 0 {
                note(options, &threads_summary(options, &tally));
            }
            vec![tally]
        }
        Mode::Compare => {
            // Both runs need the same list, so the input is read in full first.
            let jobs: Vec<Job> = jobs.collect();
            if jobs.is_empty() {
                return Err(no_urls());
            }
            let total = || Total::known(jobs.len());
            begin_run(options, &mut fetcher, &mut report, "sequential", total());
            let seq = run::sequential(
                jobs.clone().into_iter(),
                &fetcher,
                &mut report,
                options.stops,
            )?;
            note(options, &summary_line("sequential", None, &seq));
            fetcher.reset_epoch();
            begin_run(options, &mut fetcher, &mut report, "threads", total());
            let threaded = run::threaded(
                Box::new(jobs.into_iter()),
                Arc::new(fetcher),
                options.jobs,
                options.reorder_window(),
                &mut report,
                options.stops,
            )?;
            note(options, &threads_summary(options, &threaded));
            note(options, &compare_line(&seq, &threaded));
            vec![seq, threaded]
        }
    };
    if let (Some(path), Some(runs)) = (&options.timeline, report.timeline()) {
        timeline::write(path, runs)?;
    }
    if let Some(path) = &options.save_cookies {
        jar.save_file(path)?;
    }
    io::stderr().flush()?;
    if tallies.iter().all(|t| t.total() == 0) {
        return Err(no_urls());
    }
    Ok(exit_code(&tallies))
}

/// Starts one run: its own progress display, fed by the fetcher and cleared by the reporter
/// before the run's summary is printed.
fn begin_run<W: Write>(
    options: &Options,
    fetcher: &mut Fetcher,
    report: &mut Reporter<W>,
    mode: &'static str,
    total: Total,
) {
    let bars = Progress::start(options.progress, options.style.color, total);
    fetcher.set_progress(bars.clone());
    report.start_run(mode, bars);
}

/// A line for stderr that `--quiet` leaves out.
fn note(options: &Options, line: &str) {
    if !options.quiet {
        eprintln!("{line}");
    }
}

fn threads_summary(options: &Options, tally: &Tally) -> String {
    summary_line("threads", Some(options.jobs.min(tally.total())), tally)
}

/// Descriptors kept for stdio, the lists, the checksum files and the resolver.
const DESCRIPTOR_RESERVE: u64 = 32;

/// Makes room for `jobs` fetches, and the connections kept idle beside them, in the
/// descriptor table before any thread starts.
fn reserve_descriptors(jobs: usize, saving: bool) {
    let per_fetch = if saving { 2 } else { 1 };
    let idle = (AGENTS * idle_connections(jobs)) as u64;
    descriptors::reserve(
        (jobs as u64)
            .saturating_mul(per_fetch)
            .saturating_add(idle)
            .saturating_add(DESCRIPTOR_RESERVE),
    );
}

/// Raises the soft open-file limit toward the hard one and, if even that cannot hold a socket
/// (and a file, when saving) for every fetch at once, lowers `--jobs` to fit, saying so once.
/// Failing with "too many open files" halfway through a list would be worse.
fn fit_to_descriptors(options: &Options) -> Options {
    let mut fitted = options.clone();
    let Some(limit) = descriptors::raise_limit() else {
        return fitted;
    };
    let per_fetch = if options.save.is_some() { 2 } else { 1 };
    let usable = limit.saturating_sub(DESCRIPTOR_RESERVE);
    // Connections kept idle for reuse hold descriptors too, up to a pool in each Agent: they
    // get at most a quarter of what there is.
    let pool = (options.net.pool).min(usable as usize / 4 / AGENTS).max(1);
    fitted.net.pool = pool;
    let idle = (AGENTS * pool) as u64;
    let allowed = (usable.saturating_sub(idle) / per_fetch).max(1) as usize;
    if options.jobs > allowed {
        let line = format!(
            "fetchpar: the open-file limit ({limit}) allows {allowed} fetches at once; \
             running at most {allowed} (raise it with `ulimit -n`)"
        );
        note(options, &line);
        fitted.jobs = allowed;
        fitted.net.pool = fitted.net.pool.min(allowed);
    }
    fitted
}

fn no_urls() -> anyhow::Error {
    UsageError(
        "the link list has no URLs (only blank lines and comments, a page with no links to fetch, \
         or nothing)"
            .into(),
    )
    .into()
}

/// 130 if interrupted, else 1 if anything failed, else 0.
pub fn exit_code(tallies: &[Tally]) -> u8 {
    if cancel::interrupted() {
        cancel::EXIT_INTERRUPTED
    } else if tallies.iter().any(|t| t.failed > 0) {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}
