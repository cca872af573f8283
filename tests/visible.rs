//! What people see: the waterfall SVG, progress that never touches stdout, completions and the
//! man page, and the screen of a real terminal at the end of a run.

mod support;

use std::time::Duration;

use predicates::prelude::*;
use support::*;

/// Parses an SVG file and returns (bars per run, labels of the runs).
fn bars_in(svg: &str) -> (Vec<usize>, Vec<String>) {
    let doc = roxmltree::Document::parse(svg).expect("the timeline is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let runs: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("run"))
        .collect();
    let counts = runs
        .iter()
        .map(|run| {
            run.descendants()
                .filter(|n| n.attribute("class") == Some("bar"))
                .count()
        })
        .collect();
    let labels = runs
        .iter()
        .map(|r| r.attribute("data-run").unwrap_or("").to_string())
        .collect();
    (counts, labels)
}

#[test]
fn timeline_has_one_bar_per_url_for_one_url_and_for_two_thousand() {
    let origin = Origin::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for n in [1usize, 2000] {
        let lines: Vec<String> = (0..n)
            .map(|i| origin.url(&format!("/t/{i}?size=8&a=1&b=<x>")))
            .collect();
        let svg = dir.path().join(format!("run-{n}.svg"));
        fetchpar()
            .args(["--prefix", "0", "--timeline"])
            .arg(&svg)
            .arg(list(&lines).path())
            .timeout(Duration::from_secs(120))
            .assert()
            .success();
        let text = std::fs::read_to_string(&svg).unwrap();
        let (counts, labels) = bars_in(&text);
        assert_eq!(counts, vec![n], "one run, one bar per URL");
        assert_eq!(labels, vec!["threads"]);
    }
}

#[test]
fn compare_timeline_shows_both_runs_on_one_scale() {
    let origin = Origin::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..4)
        .map(|i| origin.url(&format!("/c/{i}?delay=50")))
        .collect();
    let lines = [
        lines,
        vec![origin.url("/gone?status=404"), "bad\u{1}<line>&".into()],
    ]
    .concat();
    let svg = dir.path().join("compare.svg");
    fetchpar()
        .args(["--compare", "--retries", "0", "--timeline"])
        .arg(&svg)
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let text = std::fs::read_to_string(&svg).unwrap();
    let (counts, labels) = bars_in(&text);
    assert_eq!(counts, vec![6, 6]);
    assert_eq!(labels, vec!["sequential", "threads"]);
    assert!(
        text.contains("#c62828"),
        "the failure is drawn in the failure color"
    );
}

#[test]
fn progress_never_reaches_stdout() {
    let origin = Origin::start().unwrap();
    let lines: Vec<String> = (0..20)
        .map(|i| origin.url(&format!("/p/{i}?delay=150&size=5000")))
        .collect();
    let out = fetchpar()
        .args(["--json", "--progress", "always"])
        .arg(list(&lines).path())
        .assert()
        .success();
    let output = out.get_output();
    let records = json_lines(&output.stdout);
    assert_eq!(
        records.len(),
        20,
        "stdout holds the results and nothing else"
    );
    assert!(
        !output.stdout.contains(&0x1b),
        "no escape sequences on stdout"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("URLs"),
        "the bars were drawn on stderr: {stderr}"
    );
}

/// The totals the overall bar showed: `(N, read so far)` for each `done/N URLs` drawn, where
/// `read so far` means N was marked `+` as what had been read of a list not yet read through.
fn drawn_totals(stderr: &str) -> Vec<(u64, bool)> {
    stderr
        .split(" URLs")
        .filter_map(|before| {
            let (partial, text) = match before.strip_suffix('+') {
                Some(text) => (true, text),
                None => (false, before),
            };
            let (_, total) = text.rsplit_once('/')?;
            Some((total.parse().ok()?, partial))
        })
        .collect()
}

#[test]
fn the_bar_counts_toward_the_whole_list_and_marks_a_pipe_read_so_far() {
    let origin = Origin::start().unwrap();
    let lines: Vec<String> = (0..6)
        .map(|i| origin.url(&format!("/bar/{i}?delay=300")))
        .collect();
    let file = list(&lines);
    // Two at a time: the run's own reader has read two, then three... of the six while the
    // bars are drawn.
    let args = ["-j", "2", "--progress", "always", "--prefix", "0"];
    let out = fetchpar().args(args).arg(file.path()).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    let totals = drawn_totals(&stderr);
    assert!(
        totals.contains(&(6, false)),
        "a file's bar counts toward its six URLs: {stderr}"
    );
    assert!(
        totals.iter().all(|&(n, partial)| partial || n == 6),
        "no total but six is drawn as the whole list's: {totals:?}"
    );
    // A fetch in flight shows how long it has been waiting on its server's answer.
    let waiting = stderr
        .split("?delay=300  0 B  ")
        .skip(1)
        .any(|after| (after.split_once(" s")).is_some_and(|(secs, _)| secs.parse::<f64>().is_ok()));
    assert!(waiting, "{stderr}");
    let piped = fetchpar()
        .args(args)
        .arg("-")
        .write_stdin(lines.join("\n") + "\n")
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&piped.get_output().stderr).to_string();
    let totals = drawn_totals(&stderr);
    assert!(
        totals.iter().any(|&(n, partial)| partial && n < 6),
        "a pipe's bar shows what has been read so far, marked: {stderr}"
    );
    assert!(
        totals.iter().all(|&(n, partial)| partial || n == 6),
        "a pipe's total is drawn unmarked only once it is read through: {totals:?}"
    );
}

#[test]
fn no_progress_when_stderr_is_not_a_terminal_or_when_asked() {
    let origin = Origin::start().unwrap();
    let file = list(&[origin.url("/q?delay=250")]);
    for args in [vec![], vec!["--progress", "never"]] {
        let out = fetchpar().args(args).arg(file.path()).assert().success();
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(!stderr.contains("in flight"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "only the summary: {stderr}");
    }
}

#[test]
fn color_follows_the_flag_and_no_color() {
    let origin = Origin::start().unwrap();
    let file = list(&[origin.url("/x?status=404")]);
    let colored = fetchpar()
        .args(["--color", "always", "--retries", "0"])
        .arg(file.path())
        .assert()
        .code(1);
    assert!(
        colored.get_output().stdout.contains(&0x1b),
        "failure colored when asked"
    );
    let plain = fetchpar()
        .args(["--retries", "0"])
        .env("NO_COLOR", "1")
        .arg(file.path())
        .assert()
        .code(1);
    assert!(!plain.get_output().stdout.contains(&0x1b));
}

#[test]
fn color_auto_on_a_terminal_follows_no_color_and_term() {
    let origin = Origin::start().unwrap();
    let file = list(&[origin.url("/c?status=404")]);
    let args: Vec<String> = ["--retries", "0", "--progress", "never", "--prefix", "0"]
        .iter()
        .map(|s| s.to_string())
        .chain([file.path().display().to_string()])
        .collect();
    // A color is set by an SGR sequence such as ESC [ 31 m.
    let colored = |env: &[(&str, &str)]| {
        let (raw, code) = run_in_terminal_with(&args, 24, 160, env);
        assert_eq!(code, 1, "{env:?}");
        String::from_utf8_lossy(&raw).contains("\x1b[3")
    };
    assert!(colored(&[]), "a terminal gets color");
    assert!(colored(&[("NO_COLOR", "")]), "an empty NO_COLOR is unset");
    assert!(!colored(&[("NO_COLOR", "1")]), "NO_COLOR turns it off");
    assert!(!colored(&[("TERM", "dumb")]), "so does a dumb terminal");
}

#[test]
fn completions_generate_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        fetchpar()
            .args(["--completions", shell])
            .assert()
            .success()
            .stdout(
                predicate::str::contains("fetchpar").and(predicate::str::contains("keep-order")),
            );
    }
}

#[test]
fn man_page_is_generated_from_the_same_definition() {
    fetchpar()
        .arg("--man")
        .assert()
        .success()
        .stdout(predicate::str::contains(".TH").and(predicate::str::contains("stall\\-timeout")));
}

#[test]
fn help_groups_options_and_teaches_with_examples() {
    let long = fetchpar().arg("--help").assert().success();
    let long = String::from_utf8_lossy(&long.get_output().stdout).to_string();
    for heading in [
        "Input:",
        "Concurrency:",
        "Output:",
        "Network:",
        "Saving:",
        "Examples:",
    ] {
        assert!(long.contains(heading), "--help lacks {heading}");
    }
    let short = fetchpar().arg("-h").assert().success();
    let short = String::from_utf8_lossy(&short.get_output().stdout).to_string();
    assert!(
        short.lines().count() < long.lines().count() / 2,
        "-h stays short"
    );
}

/// Runs fetchpar in a real pseudo-terminal and returns everything it wrote there.
fn run_in_terminal(args: &[String], rows: u16, cols: u16) -> (Vec<u8>, u32) {
    run_in_terminal_with(args, rows, cols, &[])
}

/// As [`run_in_terminal`], with environment variables set for the child (after the defaults of
/// [`spawn_in_terminal`]).
fn run_in_terminal_with(
    args: &[String],
    rows: u16,
    cols: u16,
    env: &[(&str, &str)],
) -> (Vec<u8>, u32) {
    let (master, mut child) = spawn_in_terminal(args, rows, cols, env);
    let mut reader = master.try_clone_reader().unwrap();
    let collector = std::thread::spawn(move || {
        let mut out = Vec::new();
        read_until_closed(&mut reader, &mut out);
        out
    });
    let status = child.wait().unwrap();
    drop(master);
    (collector.join().unwrap(), status.exit_code())
}

#[test]
fn a_terminal_shows_results_and_summary_and_no_leftover_bars() {
    let origin = Origin::start().unwrap();
    let lines: Vec<String> = (0..12)
        .map(|i| origin.url(&format!("/tty/{i}?delay={}&size=20000", 100 + i * 40)))
        .collect();
    let file = list(&lines);
    let args = vec![
        "--prefix".to_string(),
        "0".into(),
        file.path().display().to_string(),
    ];
    let (raw, code) = run_in_terminal(&args, 40, 160);
    assert_eq!(code, 0);
    let raw_text = String::from_utf8_lossy(&raw);
    assert!(
        raw_text.contains("in flight"),
        "the bars were drawn during the run"
    );
    let size = |n: u16| std::num::NonZeroU16::new(n).unwrap();
    let mut screen = vt100::Parser::new(size(40), size(160), 0);
    screen.process(&raw);
    let contents = screen.screen().contents();
    let shown: Vec<&str> = contents.lines().filter(|l| !l.trim().is_empty()).collect();
    let results: Vec<&&str> = shown.iter().filter(|l| l.contains("/tty/")).collect();
    assert_eq!(
        results.len(),
        12,
        "every result on its own line:\n{contents}"
    );
    assert!(
        results.iter().all(|l| l.trim_start().starts_with("200 ")),
        "no torn lines:\n{contents}"
    );
    assert!(
        shown.last().is_some_and(|l| l.contains("12 ok, 0 failed")),
        "the summary ends the screen:\n{contents}"
    );
    assert!(
        !contents.contains("in flight"),
        "the bars are gone at the end:\n{contents}"
    );
}

/// Runs fetchpar on a terminal of its own, types `keys` once `text` is on it, and returns all
/// it showed and its exit code.
fn type_once_shown(args: &[String], text: &str, keys: &[u8]) -> (String, u32) {
    use std::io::{Read, Write};
    let (master, mut child) = spawn_in_terminal(args, 24, 300, &[]);
    let mut reader = master.try_clone_reader().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(text) {
        let n = reader.read(&mut buf).unwrap();
        assert!(n > 0, "never shown: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    master.take_writer().unwrap().write_all(keys).unwrap();
    let collector = std::thread::spawn(move || {
        read_until_closed(&mut reader, &mut seen);
        seen
    });
    let code = child.wait().unwrap().exit_code();
    drop(master);
    (
        String::from_utf8_lossy(&collector.join().unwrap()).into_owned(),
        code,
    )
}

#[test]
fn a_list_read_from_the_terminal_says_so_and_how_to_end_it() {
    let origin = Origin::start().unwrap();
    let url = origin.url("/typed?size=3");
    let waiting = "reading URLs from the terminal (-), one a line; Ctrl-D ends the list";
    let args: Vec<String> = vec!["--spider".into(), "-".into(), url.clone()];
    let (screen, code) = type_once_shown(&args, waiting, b"\x04");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("/typed?size=3"), "{screen}");
    assert!(!screen.contains("-o -"), "{screen}");
    // wget's -O - typed here: -O is curl's, and - a list; the notice says how to get stdout.
    let name = format!("never-saved-{}", std::process::id());
    let args: Vec<String> = vec!["-O".into(), "-".into(), origin.url(&format!("/{name}"))];
    let (screen, code) = type_once_shown(&args, "type -o -)", b"\x03");
    assert_eq!(code, 130, "{screen}");
    assert!(!std::path::Path::new(&name).exists());
}
