//! The fault suite: hostile and broken servers, retries, per-host limits, interruption and TLS.
//! Every case must give exactly one result of the right kind and the right exit code, and end
//! within its own time limits.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use serde_json::Value;
use sha2::Digest;
use support::*;

/// Runs one URL and returns its single JSON record, checking the exit code.
fn one(url: &str, args: &[&str], code: i32) -> Value {
    let out = fetchpar()
        .arg("--json")
        .args(args)
        .arg(list(&[url.to_string()]).path())
        .assert()
        .code(code);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 1, "{url}: {records:#?}");
    records.into_iter().next().unwrap()
}

#[test]
fn each_fault_gives_one_result_of_the_right_kind() {
    let origin = Origin::start().unwrap();
    // (what, url, extra args, expected kind, upper bound on its time in seconds)
    let cases: Vec<(&str, String, Vec<&str>, &str, f64)> = vec![
        ("connection refused", refused_url(), vec![], "connect", 5.0),
        (
            "reset before a response",
            origin.url("/f?reset=1"),
            vec![],
            "io",
            5.0,
        ),
        (
            "cut short of Content-Length",
            origin.url("/f?size=5000&truncate=100"),
            vec![],
            "io",
            5.0,
        ),
        (
            "headers then silence",
            origin.url("/f?size=100&stall=0"),
            vec!["--stall-timeout", "0.5"],
            "timeout",
            5.0,
        ),
        (
            "gzip head then silence",
            origin.url("/f?gzip=1&stall=0"),
            vec!["--stall-timeout", "0.5"],
            "timeout",
            5.0,
        ),
        (
            "one byte per second",
            origin.url("/f?size=100&drip=1000"),
            vec!["--max-time", "1.5"],
            "timeout",
            5.0,
        ),
        (
            "redirect loop",
            origin.url("/f?loop=1"),
            vec![],
            "redirects",
            5.0,
        ),
        (
            "long redirect chain",
            origin.url("/f?redirect=30"),
            vec![],
            "redirects",
            5.0,
        ),
        (
            "gzip bomb",
            origin.url("/f?gzip=1&zeros=1&size=10737418240"),
            vec!["--max-size", "10M"],
            "too_large",
            20.0,
        ),
        (
            "endless chunked body",
            origin.url("/f?chunked=1&endless=1"),
            vec!["--max-size", "5M"],
            "too_large",
            20.0,
        ),
        (
            "oversized response header",
            origin.url("/f?big_header=300000"),
            vec![],
            "too_large",
            5.0,
        ),
        (
            "not HTTP at all",
            origin.url("/f?garbage=1"),
            vec![],
            "protocol",
            5.0,
        ),
        (
            "a body that is not the gzip it says it is",
            origin.url("/f?gzip=1&sized=1&body=plain"),
            vec![],
            "protocol",
            5.0,
        ),
        (
            "invalid chunked encoding",
            origin.url("/f?badchunk=1"),
            vec![],
            "protocol",
            5.0,
        ),
        (
            "a name that does not resolve",
            "http://no-such-host.invalid/x".into(),
            vec![],
            "dns",
            30.0,
        ),
    ];
    for (what, url, args, expected, bound) in cases {
        let mut all = vec!["--retries", "0"];
        all.extend(args);
        let record = one(&url, &all, 1);
        assert_eq!(kind(&record), expected, "{what}: {record}");
        assert!(
            record["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        // The kind is printed beside the message; the message does not say it again.
        let message = record["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.starts_with(&format!("{expected}:")),
            "{what}: {message}"
        );
        let secs = record["ms"].as_f64().unwrap() / 1000.0;
        assert!(secs < bound, "{what} took {secs} s");
    }
}

#[test]
fn an_endless_error_page_is_cut_short_and_keeps_its_status() {
    let origin = Origin::start().unwrap();
    let record = one(
        &origin.url("/err?status=500&chunked=1&endless=1"),
        &["--retries", "0"],
        1,
    );
    assert_eq!(kind(&record), "http_status");
    assert_eq!(record["status"], 500);
    assert!(record["bytes"].as_u64().unwrap() <= 1024 * 1024, "{record}");
}

#[test]
fn a_body_cut_short_of_its_length_says_how_much_came() {
    let origin = Origin::start().unwrap();
    let url = origin.url("/f?size=5000&truncate=100");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for args in [vec!["--retries", "0"], vec!["--retries", "0", "-o", out]] {
        let record = one(&url, &args, 1);
        assert_eq!(kind(&record), "io", "{record}");
        assert_eq!(record["bytes"], 100, "{record}");
        assert_eq!(
            message(&record),
            "connection closed after 100 of 5000 bytes (4900 missing)",
            "{args:?}"
        );
    }
}

#[test]
fn a_long_but_allowed_redirect_chain_succeeds() {
    let origin = Origin::start().unwrap();
    let record = one(&origin.url("/chain?redirect=8&size=3"), &[], 0);
    assert_eq!(record["bytes"], 3);
    assert!(record["final_url"].as_str().unwrap().contains("redirect=0"));
}

#[test]
fn the_whole_url_timeout_covers_every_redirect() {
    let origin = Origin::start().unwrap();
    // Each of the three answers takes 0.6 s: any one fits in 1 s, the chain does not.
    let record = one(
        &origin.url("/slow?redirect=2&delay=600"),
        &["--max-time", "1", "--retries", "0"],
        1,
    );
    assert_eq!(kind(&record), "timeout", "{record}");
    assert!(message(&record).contains("--max-time"), "{record}");
}

#[test]
fn a_failure_after_redirects_says_where_they_led() {
    let origin = Origin::start().unwrap();
    // The line's own server answers; the one its redirect names refuses.
    let refused = refused_url();
    let encoded: String = url::form_urlencoded::byte_serialize(refused.as_bytes()).collect();
    let record = one(
        &origin.url(&format!("/away?location={encoded}")),
        &["--retries", "0"],
        1,
    );
    assert_eq!(kind(&record), "connect", "{record}");
    let says = format!("at {refused} (where 1 redirect led): ");
    assert!(message(&record).starts_with(&says), "{record}");
    assert_eq!(record["final_url"], refused.as_str());
    // Without redirects the line's URL is the one that failed, and nothing is added.
    let record = one(&refused, &["--retries", "0"], 1);
    assert!(!message(&record).contains("redirect"), "{record}");
    assert!(record["final_url"].is_null(), "{record}");
}

#[test]
fn transient_failures_are_retried_until_they_succeed() {
    let origin = Origin::start().unwrap();
    let record = one(
        &origin.url("/flaky?fail=2&size=5"),
        &["--retry-delay", "0.05"],
        0,
    );
    assert_eq!(record["status"], 200);
    assert_eq!(record["attempts"], 3);
    // Out of retries: the last failure is reported, with its attempts.
    let record = one(
        &origin.url("/down?fail=9"),
        &["--retries", "1", "--retry-delay", "0.05"],
        1,
    );
    assert_eq!(kind(&record), "http_status");
    assert_eq!(record["status"], 503);
    assert_eq!(record["attempts"], 2);
}

#[test]
fn permanent_failures_are_not_retried() {
    let origin = Origin::start().unwrap();
    let record = one(
        &origin.url("/gone?status=404"),
        &["--retry-delay", "0.05"],
        1,
    );
    assert_eq!(record["attempts"], 1);
    assert_eq!(origin.requests(), 1);
}

#[test]
fn a_refused_connection_is_final_unless_asked_as_in_curl_and_wget() {
    let record = one(&refused_url(), &["--retry-delay", "0.01"], 1);
    assert_eq!(kind(&record), "connect", "{record}");
    assert_eq!(record["attempts"], 1);
    let record = one(
        &refused_url(),
        &["--retry-connrefused", "--retry-delay", "0.01"],
        1,
    );
    assert_eq!(kind(&record), "connect", "{record}");
    assert_eq!(record["attempts"], 3);
}

#[test]
fn retry_after_is_honoured() {
    let origin = Origin::start().unwrap();
    let url = origin.url("/limited?fail=1&fail_status=429&retry_after=1&size=2");
    let record = one(&url, &["--retry-delay", "0.01"], 0);
    assert_eq!(record["attempts"], 2);
    assert!(
        record["ms"].as_f64().unwrap() >= 1000.0,
        "waited the server's second: {record}"
    );
}

#[test]
fn retry_after_pauses_that_host_while_others_keep_going() {
    let limited = Origin::start().unwrap();
    let other = Origin::start().unwrap();
    // Two URLs on one host, each refused once with Retry-After: 1. One at a time per host, so
    // the second can only start after the first's refusal. If the refusal pauses the whole
    // host, the second waits out that pause before its own refusal starts a second one: about
    // two seconds in all. A pause of the refused URL alone would take about one.
    let mut lines = vec![
        limited.url("/a1?fail=1&fail_status=429&retry_after=1"),
        limited.url("/a2?fail=1&fail_status=429&retry_after=1"),
    ];
    lines.extend((0..3).map(|i| other.url(&format!("/b{i}?delay=50"))));
    let out = fetchpar()
        .args(["--json", "--per-host", "1", "--retry-delay", "0.01"])
        .arg(list(&lines).path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    let ms = |needle: &str| find(&records, needle)["ms"].as_f64().unwrap();
    let limited_host = ms("/a1").max(ms("/a2"));
    assert!(
        limited_host >= 1900.0,
        "the host paused as a whole: {limited_host}"
    );
    for i in 0..3 {
        let b = ms(&format!("/b{i}"));
        assert!(
            b * 2.0 < limited_host,
            "the other host was not held back: {b} vs {limited_host}"
        );
    }
}

#[test]
fn per_host_limits_hold_under_load() {
    let origin = Origin::start().unwrap();
    let lines: Vec<String> = (0..40)
        .map(|i| origin.url(&format!("/p/{i}?delay=30")))
        .collect();
    let out = fetchpar()
        .args(["--json", "--per-host", "3"])
        .arg(list(&lines).path())
        .assert()
        .success();
    assert_eq!(json_lines(&out.get_output().stdout).len(), 40);
    assert!(
        origin.max_concurrent() <= 3,
        "server saw {}",
        origin.max_concurrent()
    );
    assert!(origin.max_concurrent() >= 2, "it still ran in parallel");
}

#[test]
fn interrupt_reports_everything_and_exits_130() {
    let origin = Origin::start().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = (0..3)
        .map(|i| origin.url(&format!("/fast/{i}?size=10")))
        .collect();
    lines.extend((0..3).map(|i| origin.url(&format!("/slow/{i}?delay=30000"))));
    lines.push(origin.url("/big?size=100000&drip=50") + " out=big.bin");
    let file = list(&lines);
    let mut child = fetchpar_std()
        .args(["--json", "--keep-order", "-o"])
        .arg(out_dir.path())
        .arg(file.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    // In input order the three fast results come first; once they are out, the slow ones and
    // the dripping download are certainly in flight.
    for _ in 0..3 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        seen.push(line);
    }
    assert!(signal(&child, "-INT"));
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let all: Vec<Value> = seen
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .chain(json_lines(rest.as_bytes()))
        .collect();
    assert_eq!(
        all.len(),
        lines.len(),
        "every URL has its one result: {all:#?}"
    );
    assert_eq!(
        all.iter().filter(|r| kind(r) == "cancelled").count(),
        4,
        "{all:#?}"
    );
    assert!(
        !out_dir.path().join("big.bin").exists(),
        "no partial file under a final name"
    );
}

/// After an interrupt a pipe is read for what is in it and not waited on, and read on for a
/// second at most, so a writer that goes on writing (`tail -f log | grep ... | fetchpar -`, or
/// `yes URL | fetchpar -`, sent SIGTERM alone) cannot keep the stopped run going; every line
/// it did read has its one result. Standard input, and a named pipe given as a list
/// (`fetchpar <(...)`), alike.
#[test]
fn a_pipe_that_goes_on_writing_does_not_keep_an_interrupted_run_going() {
    let origin = Origin::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success());
    // (a named pipe, how long the writer waits between lines)
    for (named, pace) in [(false, 100), (true, 100), (false, 0)] {
        let mut command = fetchpar_std();
        command.args(["--json", "-q"]);
        match named {
            true => command.arg(&fifo).stdin(Stdio::null()),
            false => command.arg("-").stdin(Stdio::piped()),
        };
        let mut child = (command.stdout(Stdio::piped()).stderr(Stdio::null()))
            .spawn()
            .unwrap();
        let mut pipe: Box<dyn Write + Send> = match named {
            true => Box::new(std::fs::OpenOptions::new().write(true).open(&fifo).unwrap()),
            false => Box::new(child.stdin.take().unwrap()),
        };
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        writeln!(pipe, "{}", origin.url("/first?size=3")).unwrap();
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        assert!(signal(&child, "-TERM"));
        let later = origin.url("/later");
        let writer = thread::spawn(move || {
            // A minute of lines at that pace, or ten million without one.
            let lines = 60_000u64.checked_div(pace).unwrap_or(10_000_000);
            for _ in 0..lines {
                // The pace of a writer that never stops, not a wait for anything.
                thread::sleep(Duration::from_millis(pace));
                if writeln!(pipe, "{later}").is_err() {
                    return true;
                }
            }
            false
        });
        let what = format!("named pipe: {named}, a line every {pace} ms");
        let (rest, code) = finish_within(child, stdout, Duration::from_secs(20), &what);
        assert_eq!(code, Some(130), "{what}");
        assert!(
            writer.join().unwrap(),
            "{what}: the run read on to the writer's end"
        );
        let records = json_lines(format!("{first}{rest}").as_bytes());
        let mut lines = lines_of(&records);
        lines.sort_unstable();
        let read = lines.len() as u64;
        assert_eq!(
            lines,
            (1..=read).collect::<Vec<u64>>(),
            "{what}: {records:#?}"
        );
    }
}

/// A server that keeps connections alive after one answer without saying it will close them,
/// then closes each one, unanswered, when its second request arrives: what a server whose
/// idle timeout runs out just as a pooled connection is taken looks like to the client, made
/// certain. Over TLS with `tls` (closing with a close_notify, as a TLS server does). Returns
/// the base URL and counts of the connections accepted and of those closed on a request.
fn closing_keep_alive_server(tls: Option<Arc<rustls::ServerConfig>>) -> (String, Arc<Counts>) {
    fn serve<S: Read + Write>(stream: S, counts: &Counts) -> S {
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        while reader.read_line(&mut head).unwrap_or(0) > 2 {}
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let _ = (reader.get_mut().write_all(answer)).and_then(|_| reader.get_mut().flush());
        head.clear();
        while reader.read_line(&mut head).unwrap_or(0) > 2 {}
        if head.starts_with("GET ") {
            counts.closed_on_request.fetch_add(1, Ordering::SeqCst);
        }
        reader.into_inner()
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = format!("{scheme}://{}", listener.local_addr().unwrap());
    let counts = Arc::new(Counts::default());
    let server_counts = Arc::clone(&counts);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            server_counts.accepted.fetch_add(1, Ordering::SeqCst);
            let (tls, counts) = (tls.clone(), Arc::clone(&server_counts));
            thread::spawn(move || match tls {
                None => drop(serve(stream, &counts)),
                Some(config) => {
                    let conn = rustls::ServerConnection::new(config).unwrap();
                    let mut tls = serve(rustls::StreamOwned::new(conn, stream), &counts);
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
            });
        }
    });
    (base, counts)
}

#[derive(Default)]
struct Counts {
    accepted: AtomicUsize,
    closed_on_request: AtomicUsize,
}

#[test]
fn a_kept_alive_connection_the_server_closed_is_replaced_at_once_as_curl_does() {
    let (config, ca_pem) = tls_identity(&["127.0.0.1"], Own::Issued);
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), ca_pem).unwrap();
    for tls in [None, Some(config)] {
        let (base, counts) = closing_keep_alive_server(tls);
        // One after another, so each URL after the second gets the previous one's connection
        // (the first fetch from an origin does not keep its own).
        let lines: Vec<String> = (0..4).map(|i| format!("{base}/f{i}")).collect();
        let out = fetchpar()
            .args(["--json", "--sequential", "--retries", "0", "--cacert"])
            .arg(ca.path())
            .arg(list(&lines).path())
            .assert()
            .success();
        let records = json_lines(&out.get_output().stdout);
        assert_eq!(records.len(), 4, "{base}");
        for record in &records {
            assert_eq!(record["error"], Value::Null, "{record}");
            assert_eq!(record["prefix"], "ok");
        }
        // f0 and f1 each on a connection of their own; f2 and f3 each found the last
        // connection closed on them and were sent again on a new one.
        assert_eq!(counts.accepted.load(Ordering::SeqCst), 4, "{base}");
        assert_eq!(counts.closed_on_request.load(Ordering::SeqCst), 2, "{base}");
        // With --retries 0 there is no retry to fall back on: sent again, not retried.
        let attempts: Vec<u64> = records
            .iter()
            .map(|r| r["attempts"].as_u64().unwrap())
            .collect();
        assert_eq!(attempts, [1, 1, 1, 1], "{base}");
    }
}

/// A server that holds `/slow` unanswered and answers anything else at once (one request per
/// connection), and says on the channel when it has seen `signal_at` requests.
fn counting_server(signal_at: usize) -> (String, std::sync::mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut held = Vec::new();
        for (n, stream) in listener.incoming().flatten().enumerate() {
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            while reader.read_line(&mut head).unwrap_or(0) > 2 {}
            if head.starts_with("GET /slow") {
                held.push(reader);
            } else {
                let stream = reader.get_mut();
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
                if n + 1 == signal_at {
                    // Told once the client has read that answer and closed its connection, so
                    // that no answer is still on its way when the caller acts (the bound is
                    // only against a hang: the close comes at once).
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
                    let _ = stream.read_to_end(&mut Vec::new());
                }
            }
            if n + 1 == signal_at {
                let _ = tx.send(());
            }
        }
    });
    (base, rx)
}

#[test]
fn an_interrupt_while_keep_order_holds_fetching_back_still_reports_everything() {
    // The first URL never answers, so --keep-order lets only a window of URLs start; once the
    // others of those were answered and read, the rest wait, and that is when the interrupt
    // comes.
    let window = fetchpar::options::reorder_window(2, 1 << 20);
    let (base, window_full) = counting_server(window);
    let mut lines = vec![format!("{base}/slow")];
    lines.extend((0..500).map(|i| format!("{base}/k/{i}")));
    let file = list(&lines);
    let mut child = fetchpar_std()
        .args(["--json", "--keep-order", "-j", "2", "--prefix", "1048576"])
        .arg(file.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    window_full
        .recv_timeout(Duration::from_secs(30))
        .expect("the window's URLs reach the server");
    assert!(signal(&child, "-INT"));
    let stdout = child.stdout.take().unwrap();
    let (out, code) = finish_within(child, stdout, Duration::from_secs(30), "--keep-order");
    assert_eq!(code, Some(130));
    let records = json_lines(out.as_bytes());
    assert_eq!(
        lines_of(&records),
        (1..=501).collect::<Vec<u64>>(),
        "one each, in order"
    );
    let cancelled = records.iter().filter(|r| kind(r) == "cancelled").count();
    // The held URL and every one the window kept from starting.
    assert_eq!(cancelled, 1 + lines.len() - window);
}

#[test]
fn an_interrupt_ends_a_sequential_run_waiting_on_a_server() {
    // The fetch runs on the main thread here, so nothing but the fetch itself can end it: one
    // server holds its answer, another stops halfway through its body, and no time limit
    // would ever end either.
    for slow in ["/held?delay=600000", "/halfway?size=100000&stall=5000"] {
        let origin = Origin::start().unwrap();
        let file = list(&[
            origin.url("/fast?size=10"),
            origin.url(slow),
            origin.url("/after"),
        ]);
        let mut child = fetchpar_std()
            .args([
                "--json",
                "--sequential",
                "--max-time",
                "0",
                "--stall-timeout",
                "0",
            ])
            .arg(file.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        while origin.requests() < 2 {
            thread::yield_now();
        }
        assert!(signal(&child, "-INT"));
        let (rest, code) = finish_within(child, stdout, Duration::from_secs(30), slow);
        assert_eq!(code, Some(130), "{slow}");
        let records = json_lines(format!("{first}{rest}").as_bytes());
        let kinds: Vec<String> = records.iter().map(kind).collect();
        assert_eq!(
            kinds,
            ["ok", "cancelled", "cancelled"],
            "{slow}: {records:#?}"
        );
        assert_eq!(
            origin.requests(),
            2,
            "{slow}: nothing started after the interrupt"
        );
    }
}

/// Sends `which` (`-INT`, `-TERM`) to a child with kill(1); whether it was delivered.
fn signal(child: &std::process::Child, which: &str) -> bool {
    (std::process::Command::new("kill"))
        .args([which, &child.id().to_string()])
        .status()
        .unwrap()
        .success()
}

/// The rest of a child's `stdout` and its exit code, failing the test (and killing the child)
/// if it has not ended within `limit`: a run that hangs must fail, not hang the suite.
fn finish_within(
    mut child: std::process::Child,
    mut stdout: impl Read + Send + 'static,
    limit: Duration,
    what: &str,
) -> (String, Option<i32>) {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        let _ = done_tx.send(out);
    });
    let Ok(out) = done_rx.recv_timeout(limit) else {
        let _ = child.kill();
        panic!("{what}: the run did not end after the interrupt");
    };
    (out, child.wait().unwrap().code())
}

#[test]
fn sigterm_stops_the_run_like_ctrl_c() {
    let origin = Origin::start().unwrap();
    let file = list(&[
        origin.url("/slow?delay=30000"),
        origin.url("/slow2?delay=30000"),
    ]);
    let child = fetchpar_std()
        .args(["--json"])
        .arg(file.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while origin.requests() < 2 {
        thread::yield_now();
    }
    assert!(signal(&child, "-TERM"));
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    let records = json_lines(&output.stdout);
    assert_eq!(records.len(), 2);
    assert!(
        records.iter().all(|r| kind(r) == "cancelled"),
        "{records:#?}"
    );
}

#[test]
fn fail_early_stops_the_run_at_the_first_failure() {
    let origin = Origin::start().unwrap();
    // Three answers held for ten minutes beside the failure, and four URLs that only a free
    // thread would start: the run ends on the failure, with one result for each.
    let mut lines: Vec<String> = (0..3)
        .map(|i| origin.url(&format!("/held/{i}?delay=600000")))
        .collect();
    lines.push(origin.url("/missing?status=404&delay=200"));
    lines.extend((0..4).map(|i| origin.url(&format!("/after/{i}"))));
    let file = list(&lines);
    let mut child = fetchpar_std()
        .args(["--json", "--fail-early", "-j", "4", "--max-time", "0"])
        .arg(file.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (out, code) = finish_within(child, stdout, Duration::from_secs(60), "--fail-early");
    assert_eq!(code, Some(1), "a failure, not an interrupt");
    let records = json_lines(out.as_bytes());
    assert_eq!(records.len(), lines.len(), "{records:#?}");
    assert_eq!(kind(find(&records, "/missing")), "http_status");
    for record in records
        .iter()
        .filter(|r| r["url"] != find(&records, "/missing")["url"])
    {
        assert_eq!(kind(record), "cancelled", "{record:#}");
        assert!(
            message(record).contains("stopped by --fail-early"),
            "{record:#}"
        );
    }
    for i in 0..4 {
        let after = find(&records, &format!("/after/{i}"));
        assert_eq!(message(after), "not started: stopped by --fail-early");
    }
    assert!(origin.requests() <= 4, "nothing started after the failure");
}

#[test]
fn fail_early_waits_for_retries_and_works_sequentially() {
    let origin = Origin::start().unwrap();
    // A 503 that passes on the second try is no failure; the 404 after it is, and the last
    // URL is never asked for.
    let file = list(&[
        origin.url("/flaky?fail=1"),
        origin.url("/gone?status=404"),
        origin.url("/never"),
    ]);
    let out = fetchpar()
        .args([
            "--json",
            "--sequential",
            "--fail-early",
            "--retry-delay",
            "0",
        ])
        .arg(file.path())
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    let kinds: Vec<String> = records.iter().map(kind).collect();
    assert_eq!(kinds, ["ok", "http_status", "cancelled"], "{records:#?}");
    assert_eq!(records[0]["attempts"], 2);
    assert_eq!(message(&records[2]), "not started: stopped by --fail-early");
    assert_eq!(origin.requests(), 3, "the flaky URL twice, the 404 once");
    // Without a failure, nothing is stopped and the exit code is 0.
    let out = fetchpar()
        .args(["--json", "--fail-early"])
        .arg(list(&[origin.url("/a"), origin.url("/b")]).path())
        .assert()
        .code(0);
    assert_eq!(json_lines(&out.get_output().stdout).len(), 2);
}

#[test]
fn quota_starts_no_url_once_it_is_used_up() {
    let origin = Origin::start().unwrap();
    let lines: Vec<String> = (0..4)
        .map(|i| origin.url(&format!("/q/{i}?size=1000")))
        .collect();
    let file = list(&lines);
    // One at a time (as wget goes): 1,000 bytes are not over 1,500, 2,000 are; the download
    // that went over is whole.
    for mode in [["--sequential"], ["-j1"]] {
        let before = origin.requests();
        let out = fetchpar()
            .args(["--json", "--keep-order", "-Q", "1500"])
            .args(mode)
            .arg(file.path())
            .assert()
            .code(1);
        let records = json_lines(&out.get_output().stdout);
        let kinds: Vec<String> = records.iter().map(kind).collect();
        assert_eq!(kinds, ["ok", "ok", "cancelled", "cancelled"], "{mode:?}");
        assert_eq!(records[1]["bytes"], 1000, "{mode:?}");
        assert_eq!(
            message(&records[3]),
            "not started: the --quota of 1.5 KiB was used up"
        );
        assert_eq!(origin.requests() - before, 2, "{mode:?}");
    }
    // Several at once: those started before the first one ended still finish.
    let before = origin.requests();
    let out = fetchpar()
        .args(["--json", "-j", "2", "--quota", "1"])
        .arg(file.path())
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    let ok = records.iter().filter(|r| kind(r) == "ok").count();
    assert!((1..=2).contains(&ok), "{records:#?}");
    assert_eq!(records.len(), 4);
    assert_eq!(
        origin.requests() - before,
        ok,
        "only the ones that ran were asked for"
    );
    // `inf` and 0 are no quota, as in wget.
    for none in ["inf", "0"] {
        let out = fetchpar()
            .args(["--json", "-Q", none])
            .arg(file.path())
            .assert()
            .code(0);
        assert_eq!(json_lines(&out.get_output().stdout).len(), 4);
    }
}

#[test]
fn retry_max_time_starts_no_retry_past_it() {
    let origin = Origin::start().unwrap();
    let attempts = |path: &str, options: &[&str]| {
        let out = fetchpar()
            .args(["--json", "--retries", "5"])
            .args(options)
            .arg(origin.url(path))
            .assert()
            .code(1);
        json_lines(&out.get_output().stdout)[0]["attempts"].clone()
    };
    // A backoff of at least 5 s would end past a limit of 5 s: no retry is waited for.
    assert_eq!(
        attempts(
            "/a?fail=9",
            &["--retry-delay", "10", "--retry-max-time", "5"]
        ),
        1
    );
    // Retry-After: 1 fits a limit of 1.5 s once, not twice.
    let asked = "/b?fail=9&retry_after=1";
    assert_eq!(attempts(asked, &["--retry-max-time", "1.5"]), 2);
    assert_eq!(
        attempts("/c?fail=9&retry_after=1", &["--retry-max-time", "0.5"]),
        1
    );
}

#[test]
fn retry_all_errors_and_retry_on_http_error_choose_what_is_retried() {
    let origin = Origin::start().unwrap();
    // (options, the status of the first answer, attempts, the result's kind)
    let cases: [(&[&str], u16, u64, &str); 6] = [
        (&[], 404, 1, "http_status"),
        (&["--retry-all-errors"], 404, 2, "ok"),
        (
            &["--retry-all-errors", "--retry-on-http-error", "!404"],
            404,
            1,
            "http_status",
        ),
        (&["--retry-on-http-error", "404,41?"], 404, 2, "ok"),
        (&["--retry-on-http-error", "4*"], 403, 2, "ok"),
        (&["--retry-on-http-error", "!5*"], 503, 1, "http_status"),
    ];
    for (n, (options, status, attempts, want)) in cases.into_iter().enumerate() {
        let url = origin.url(&format!("/case/{n}?fail=1&fail_status={status}"));
        let out = fetchpar()
            .args(["--json", "--retry-delay", "0"])
            .args(options)
            .arg(url)
            .assert();
        let record = &json_lines(&out.get_output().stdout)[0];
        assert_eq!(kind(record), want, "{options:?}: {record:#}");
        assert_eq!(record["attempts"], attempts, "{options:?}: {record:#}");
    }
    // A refused connection too, under --retry-all-errors (three attempts: --retries 2).
    let out = fetchpar()
        .args(["--json", "--retry-delay", "0", "--retry-all-errors"])
        .arg(refused_url())
        .assert()
        .code(1);
    assert_eq!(json_lines(&out.get_output().stdout)[0]["attempts"], 3);
    // A pattern that names no status is refused before anything is fetched.
    fetchpar()
        .args(["--retry-on-http-error", "5xx", "http://127.0.0.1:9/"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("`5xx` is not an HTTP status"));
}

#[test]
fn a_second_interrupt_exits_at_once() {
    let origin = Origin::start().unwrap();
    let file = list(&[origin.url("/slow?delay=30000")]);
    let mut child = fetchpar_std()
        .arg(file.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the request is being served, so the process is mid-run.
    while origin.requests() == 0 {
        thread::yield_now();
    }
    for _ in 0..2 {
        signal(&child, "-INT");
    }
    assert_eq!(child.wait().unwrap().code(), Some(130));

    // With -o -, the folder where bodies wait for their turn goes with the process: here one
    // body waits behind the slow URL when the second signal comes.
    let scratch = tempfile::tempdir().unwrap();
    let file = list(&[
        origin.url("/slow?delay=30000"),
        origin.url("/fast?size=1000"),
    ]);
    let mut child = fetchpar_std()
        .env("TMPDIR", scratch.path())
        .args(["-o", "-"])
        .arg(file.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let waiting = || {
        let folders = std::fs::read_dir(scratch.path()).unwrap().flatten();
        folders.into_iter().any(|f| f.path().join("fast").exists())
    };
    while !waiting() {
        thread::yield_now();
    }
    for _ in 0..2 {
        signal(&child, "-INT");
    }
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert_eq!(files_in(scratch.path()), Vec::<String>::new());
}

#[test]
fn twenty_thousand_urls_from_stdin() {
    let origin = Origin::start().unwrap();
    let input: String = (0..20_000)
        .map(|i| origin.url(&format!("/n/{i}?size=16\n")))
        .collect();
    let out = fetchpar()
        .args(["--prefix", "0", "-"])
        .write_stdin(input)
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout);
    assert_eq!(stdout.lines().count(), 20_000);
    assert!(stdout.lines().all(|l| l.starts_with("200 ")));
}

#[test]
fn a_low_open_file_limit_lowers_concurrency_instead_of_failing() {
    let origin = Origin::start().unwrap();
    let lines: Vec<String> = (0..120)
        .map(|i| origin.url(&format!("/fd/{i}?delay=20")))
        .collect();
    let file = list(&lines);
    let binary = assert_cmd::cargo::cargo_bin("fetchpar");
    // A hard limit of 64 descriptors leaves room for 32 fetches at once, not the 256 asked for.
    let script = format!(
        "ulimit -n 64 && exec {} --json -j 256 {}",
        binary.display(),
        file.path().display()
    );
    let mut sh = std::process::Command::new("sh");
    for var in PROXY_VARS {
        sh.env_remove(var);
    }
    sh.env(NO_CONFIG.0, NO_CONFIG.1);
    let output = sh.args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(json_lines(&output.stdout).len(), 120);
    assert_eq!(
        stderr.matches("open-file limit").count(),
        1,
        "said once: {stderr}"
    );
    assert!(
        origin.max_concurrent() <= 32,
        "server saw {}",
        origin.max_concurrent()
    );
}

#[cfg(target_os = "linux")]
#[test]
fn the_descriptor_table_is_grown_before_the_workers_start() {
    // Grown later, with threads running, every doubling waits for an RCU grace period.
    let origin = Origin::start().unwrap();
    let file = list(&[
        origin.url("/quick?size=1"),
        origin.url("/slow?size=1&delay=5000"),
    ]);
    let mut child = fetchpar_std()
        .args(["-j", "2000"])
        .arg(file.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // One result printed: the run is under way and its worker threads exist.
    let first = first_stdout_line(&mut child);
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let size: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("FDSize:"))
        .expect("FDSize in /proc status")
        .trim()
        .parse()
        .unwrap();
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    assert!(first.contains("/quick"), "{first}");
    // Room for 2,000 fetches and the 32 descriptors kept back, or as much as the limit allows.
    assert!(size > (2000 + 32).min(hard - 1), "FDSize {size}");
}

// ---- TLS, against a loopback rustls server with certificates made here ----

struct TlsServer {
    url: String,
    ca_pem: String,
}

impl TlsServer {
    /// Its CA's certificate in a PEM file, for `--cacert`.
    fn ca_file(&self) -> tempfile::NamedTempFile {
        let ca = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(ca.path(), &self.ca_pem).unwrap();
        ca
    }
}

/// What the TLS servers answer for `/big`.
fn big_body() -> Vec<u8> {
    (0..3 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect()
}

/// An https server on 127.0.0.1 whose certificate is issued by a fresh CA for `names`.
fn tls_server(names: &[&str]) -> TlsServer {
    tls_server_as(names, Own::Issued)
}

/// What the server presents as its own certificate.
#[derive(Clone, Copy, PartialEq)]
enum Own {
    /// One issued by the CA.
    Issued,
    /// The CA's own (self-signed, basicConstraints CA:TRUE, as `openssl req -x509` makes one).
    Ca,
    /// The CA's own, expired in 2020.
    ExpiredCa,
}

/// A server configuration presenting `own` for `names`, and the PEM of the CA behind it.
fn tls_identity(names: &[&str], own: Own) -> (Arc<rustls::ServerConfig>, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, date_time_ymd};
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(if own == Own::Issued {
        vec![]
    } else {
        names.clone()
    })
    .unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    if own == Own::ExpiredCa {
        ca_params.not_before = date_time_ymd(2019, 1, 1);
        ca_params.not_after = date_time_ymd(2020, 1, 1);
    }
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let (cert, key) = if own == Own::Issued {
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (cert, key)
    } else {
        (ca_cert.clone(), ca_key)
    };

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    (Arc::new(config), ca_cert.pem())
}

fn tls_server_as(names: &[&str], own: Own) -> TlsServer {
    let (config, ca_pem) = tls_identity(names, own);
    tls_server_with(config, ca_pem)
}

/// An https server on 127.0.0.1 with this configuration; `ca_pem` is for `--cacert`.
fn tls_server_with(config: Arc<rustls::ServerConfig>, ca_pem: String) -> TlsServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut head = [0u8; 4096];
                if let Ok(n) = tls.read(&mut head) {
                    // `/big` is 3 MiB of a repeating pattern (many TLS records); `/to/REST`
                    // redirects to `http://REST`; anything else is "secret".
                    let asked = String::from_utf8_lossy(&head[..n]).into_owned();
                    let path = asked.split(' ').nth(1).unwrap_or("/");
                    let body = if path == "/big" {
                        big_body()
                    } else {
                        b"secret".to_vec()
                    };
                    let head = match path.strip_prefix("/to/") {
                        Some(rest) => format!(
                            "HTTP/1.1 302 Found\r\nLocation: http://{rest}\r\n\
                             Content-Length: 0\r\nConnection: close\r\n\r\n"
                        ),
                        None => format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        ),
                    };
                    let body = if path.starts_with("/to/") {
                        Vec::new()
                    } else {
                        body
                    };
                    let _ = tls.write_all(head.as_bytes());
                    let _ = tls.write_all(&body);
                    let _ = tls.flush();
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
            });
        }
    });
    TlsServer {
        url: format!("https://127.0.0.1:{port}/"),
        ca_pem,
    }
}

/// A server that asks for a client certificate issued by a CA of its own, and one such
/// certificate with its key, written to files in `dir`.
struct MutualTls {
    server: TlsServer,
    ca: tempfile::NamedTempFile,
    /// The client's certificate, its key (PEM, PKCS#8), and both in one file.
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    both: std::path::PathBuf,
    /// The key's PKCS#8 DER, for tests that encrypt it.
    key_der: Vec<u8>,
}

fn mutual_tls(dir: &std::path::Path) -> MutualTls {
    mutual_tls_for(dir, rcgen::KeyPair::generate().unwrap())
}

/// [`mutual_tls`] with the client certificate issued for `client_key`.
fn mutual_tls_for(dir: &std::path::Path, client_key: rcgen::KeyPair) -> MutualTls {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    // A CA that issues the clients' certificates, besides the server's own.
    let client_ca_key = KeyPair::generate().unwrap();
    let mut client_ca_params = CertificateParams::new(vec![]).unwrap();
    client_ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let client_ca = client_ca_params.self_signed(&client_ca_key).unwrap();
    let issuer = Issuer::new(client_ca_params, client_ca_key);
    let client_cert = CertificateParams::new(vec!["client.test".to_string()])
        .unwrap()
        .signed_by(&client_key, &issuer)
        .unwrap();
    let (server, ca) = server_for_clients_of(client_ca.der().clone());
    let (cert, key, both) = (
        dir.join("client.pem"),
        dir.join("client.key"),
        dir.join("both.pem"),
    );
    std::fs::write(&cert, client_cert.pem()).unwrap();
    std::fs::write(&key, client_key.serialize_pem()).unwrap();
    std::fs::write(&both, client_cert.pem() + &client_key.serialize_pem()).unwrap();
    MutualTls {
        server,
        ca,
        cert,
        key,
        both,
        key_der: client_key.serialize_der(),
    }
}

/// An https server that answers only a client with a certificate `client_ca` issued, and the
/// file of the CA that issued its own.
fn server_for_clients_of(
    client_ca: rustls::pki_types::CertificateDer<'static>,
) -> (TlsServer, tempfile::NamedTempFile) {
    let (plain, ca_pem) = tls_identity(&["127.0.0.1"], Own::Issued);
    let mut client_roots = rustls::RootCertStore::empty();
    client_roots.add(client_ca).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(client_roots),
        Arc::clone(&provider),
    )
    .build()
    .unwrap();
    let server_cert = plain.cert_resolver.clone();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(server_cert);
    let server = tls_server_with(Arc::new(config), ca_pem);
    let ca = server.ca_file();
    (server, ca)
}

fn path(p: &std::path::Path) -> String {
    p.to_str().unwrap().to_string()
}

#[test]
fn a_client_certificate_goes_to_a_server_that_asks_for_one() {
    use rcgen::KeyPair;
    let dir = tempfile::tempdir().unwrap();
    let tls = mutual_tls(dir.path());
    let (server, cert, key) = (&tls.server, &tls.cert, &tls.key);
    let ca_arg = tls.ca.path().to_str().unwrap();

    let without = one(&server.url, &["--retries", "0", "--cacert", ca_arg], 1);
    assert_eq!(kind(&without), "tls", "{without}");
    let with = one(
        &server.url,
        &[
            "--cacert",
            ca_arg,
            "--cert",
            &path(cert),
            "--key",
            &path(key),
        ],
        0,
    );
    assert_eq!(with["prefix"], "secret");
    // Key and certificate in one file, as curl reads it.
    let combined = one(
        &server.url,
        &["--cacert", ca_arg, "--cert", &path(&tls.both)],
        0,
    );
    assert_eq!(combined["prefix"], "secret");

    // A key that is not there, or not the certificate's, stops the run before it starts.
    let other_key = dir.path().join("other.key");
    std::fs::write(&other_key, KeyPair::generate().unwrap().serialize_pem()).unwrap();
    // OpenSSL's older encrypted form, damaged: its IV is one byte.
    let legacy = dir.path().join("legacy.key");
    std::fs::write(
        &legacy,
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nMIIB\n\
         -----END RSA PRIVATE KEY-----\n",
    )
    .unwrap();
    for (args, says) in [
        (vec!["--cert", &path(cert)], "no PEM private key"),
        (
            vec!["--cert", &path(cert), "--key", &path(&legacy)],
            "the key's DEK-Info IV `00` is not 16 bytes in hex",
        ),
        (
            vec!["--cert", &path(cert), "--key", &path(&other_key)],
            "cannot be used",
        ),
        (
            vec!["--cert", &path(key), "--key", &path(key)],
            "no PEM certificate",
        ),
    ] {
        stops_before_it_starts(&args, &server.url, says);
    }
}

/// Runs fetchpar on `url` with `args`, which must stop the run before it starts (exit 2)
/// saying `says`.
fn stops_before_it_starts(args: &[&str], url: &str, says: &str) {
    fetchpar()
        .args(args)
        .arg(url)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(says));
}

#[test]
fn a_client_key_in_openssls_older_encrypted_form_is_decrypted_with_its_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    // A key OpenSSL 3.0 wrote (`tests/data/keys/README.md`), its `openssl ec -aes256` form
    // and its `openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES` one (what OpenSSL 1.0 wrote by
    // default), encrypted with `s3cret`: the certificate is issued for it here.
    let client_key = rcgen::KeyPair::from_pem(include_str!("data/keys/plain.pem")).unwrap();
    let tls = mutual_tls_for(dir.path(), client_key);
    let legacy_pem = include_str!("data/keys/ec-aes256.pem");
    let legacy = dir.path().join("legacy.key");
    std::fs::write(&legacy, legacy_pem).unwrap();
    let pkcs12_pbe = dir.path().join("pkcs12-pbe.key");
    let pkcs12_pem = include_str!("data/keys/pkcs8-pbe-sha1-3des.pem");
    std::fs::write(&pkcs12_pbe, pkcs12_pem).unwrap();
    let pkcs12_pbe = path(&pkcs12_pbe);
    let combined = dir.path().join("combined.pem");
    let cert_pem = std::fs::read_to_string(&tls.cert).unwrap();
    std::fs::write(&combined, cert_pem + legacy_pem).unwrap();
    let ca_arg = tls.ca.path().to_str().unwrap();
    let (cert, legacy, combined) = (path(&tls.cert), path(&legacy), path(&combined));

    for files in [
        vec!["--cert", &cert, "--key", &legacy],
        vec!["--cert", &combined],
        vec!["--cert", &cert, "--key", &pkcs12_pbe],
    ] {
        let mut args = vec!["--cacert", ca_arg, "--pass", "s3cret"];
        args.extend(&files);
        let with = one(&tls.server.url, &args, 0);
        assert_eq!(with["prefix"], "secret", "{files:?}");
    }
    fetchpar()
        .args([
            "--cacert", ca_arg, "--cert", &cert, "--key", &legacy, "--pass", "s3creT",
        ])
        .arg(&tls.server.url)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "--cert: {legacy}: the key cannot be decrypted: the passphrase is wrong"
        )));
}

#[test]
fn a_pkcs12_file_is_a_client_certificate_and_key_in_one() {
    // Files OpenSSL 3.0 wrote (`tests/data/keys/README.md`): its default PBES2 with AES-256,
    // its -legacy form (RC2-40 and triple DES, what OpenSSL 1.x wrote), one with no password
    // (the only kind aria2c opens), and one with no key. Each holds a certificate the CA in
    // `client-ca.pem` issued, for ever.
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/keys/");
    use rustls::pki_types::pem::PemObject;
    let client_ca = rustls::pki_types::CertificateDer::from_pem_slice(include_bytes!(
        "data/keys/client-ca.pem"
    ))
    .unwrap();
    let (server, ca) = server_for_clients_of(client_ca);
    let ca_arg = path(ca.path());
    let file = |name: &str| format!("{data}{name}");
    for (name, pass) in [
        ("client-aes256.p12", Some("s3cret")),
        ("client-legacy.p12", Some("s3cret")),
        ("client-nopass.p12", None),
    ] {
        let mut args = vec!["--cacert", &ca_arg];
        let p12 = file(name);
        args.extend(["--cert", &p12]);
        args.extend(pass.iter().flat_map(|pass| ["--pass", pass]));
        let with = one(&server.url, &args, 0);
        assert_eq!(with["prefix"], "secret", "{name}");
    }
    let aes = file("client-aes256.p12");
    let nokey = file("client-nokey.p12");
    // curl's FILE:PASSPHRASE and --cert-type P12.
    let with_pass = format!("{aes}:s3cret");
    let args = [
        "--cacert",
        &ca_arg,
        "--cert",
        &with_pass,
        "--cert-type",
        "p12",
    ];
    assert_eq!(one(&server.url, &args, 0)["prefix"], "secret");
    let pem = file("client-ca.pem");
    let wrong = format!("{aes}:s3creT");
    for (args, says) in [
        (
            vec!["--cert", &wrong],
            format!("--cert: {aes}: the PKCS#12 file cannot be opened: the passphrase is wrong"),
        ),
        (
            vec!["--cert", &with_pass, "--pass", "s3cret"],
            "--cert FILE:PASSPHRASE and --pass both give the passphrase".to_string(),
        ),
        (
            vec!["--cert", &pem, "--cert-type", "P12"],
            format!("{pem} is not a PKCS#12 file (--cert-type P12)"),
        ),
        (
            vec!["--cert", &aes, "--cert-type", "PEM"],
            format!("{aes} is a PKCS#12 file, not PEM"),
        ),
        (
            vec!["--cert", &aes, "--certificate-type", "DER"],
            "a DER certificate is not read".to_string(),
        ),
        (
            vec!["--cert", &aes, "--pass", "s3creT"],
            "the PKCS#12 file cannot be opened: the passphrase is wrong".to_string(),
        ),
        (
            vec!["--cert", &nokey, "--pass", "s3cret"],
            "no private key with its certificate in the PKCS#12 file".to_string(),
        ),
        (
            vec!["--cert", &aes, "--key", &nokey, "--pass", "s3cret"],
            format!("{aes} is a PKCS#12 file, which holds its own key: --key {nokey} is not"),
        ),
    ] {
        stops_before_it_starts(&args, &server.url, &says);
        // A passphrase given after the name is never shown.
        let out = fetchpar().args(&args).arg(&server.url).output().unwrap();
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("s3creT"),
            "{args:?}"
        );
    }
    // Without --pass and with no terminal to ask on, an encrypted one stops the run.
    let mut alone = fetchpar_std();
    alone.args(["--cert", &aes]).arg(&server.url);
    let stderr = stopped_without_terminal(alone);
    assert!(
        stderr.contains("the PKCS#12 file is encrypted: give its passphrase with --pass"),
        "{stderr}"
    );
}

/// `der` encrypted as PKCS#8 with `passphrase`, as `openssl pkcs8 -topk8` and OpenSSL 3's
/// `genpkey -aes256` write it: PBKDF2 with HMAC-SHA256, AES-256-CBC.
fn encrypted_pem(der: &[u8], passphrase: &str) -> String {
    use pkcs8::pkcs5::pbes2;
    let params =
        pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(2048, b"fetchpar salt 16", [7; 16])
            .unwrap();
    let info = pkcs8::PrivateKeyInfoRef::try_from(der).unwrap();
    let encrypted = info.encrypt_with_params(params, passphrase).unwrap();
    encrypted
        .to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
        .unwrap()
        .to_string()
}

#[test]
fn an_encrypted_client_key_is_decrypted_with_pass_or_a_passphrase_typed_at_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let tls = mutual_tls(dir.path());
    let ca_arg = tls.ca.path().to_str().unwrap();
    let encrypted = dir.path().join("encrypted.key");
    std::fs::write(&encrypted, encrypted_pem(&tls.key_der, "pä55 phrase")).unwrap();
    let key_args = |pass: &str| {
        vec![
            "--cacert".to_string(),
            ca_arg.to_string(),
            "--cert".into(),
            path(&tls.cert),
            "--key".into(),
            path(&encrypted),
            "--pass".into(),
            pass.to_string(),
        ]
    };
    let args = key_args("pä55 phrase");
    let with = one(
        &tls.server.url,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        0,
    );
    assert_eq!(with["prefix"], "secret");

    fetchpar()
        .args(key_args("wrong"))
        .arg(&tls.server.url)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "--cert: {}: the key cannot be decrypted: the passphrase is wrong",
            encrypted.display()
        )));

    // With no --pass and no terminal to ask on (a session of its own has none), the run stops
    // and says what to give.
    let mut alone = fetchpar_std();
    alone.args(&key_args("")[..6]).arg(&tls.server.url);
    let stderr = stopped_without_terminal(alone);
    assert!(
        stderr.contains("the key is encrypted: give its passphrase with --pass"),
        "{stderr}"
    );

    // On a terminal it is asked for, as curl asks, without echoing what is typed.
    let mut args = key_args("")[..6].to_vec();
    args.extend(["--json", "--progress", "never", &tls.server.url].map(String::from));
    let (screen, code) = type_at_prompt(&args, "Passphrase for ", "pä55 phrase\r");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains(r#""prefix":"secret""#), "{screen}");
    assert!(
        !screen.contains("55 phrase"),
        "the passphrase was echoed: {screen}"
    );
    // Ctrl-C at the prompt ends the run as interrupted.
    let (screen, code) = type_at_prompt(&args, "Passphrase for ", "\x03");
    assert_eq!(code, 130, "{screen}");
    assert!(screen.contains("no passphrase was typed"), "{screen}");
}

/// Runs fetchpar on a terminal of its own, types `keys` once `prompt` is on it and echo is
/// off, and returns all it showed and its exit code.
fn type_at_prompt(args: &[String], prompt: &str, keys: &str) -> (String, u32) {
    let (master, mut child) = spawn_in_terminal(args, 24, 200, &[]);
    let mut reader = master.try_clone_reader().unwrap();
    let mut writer = master.take_writer().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(prompt) {
        let n = reader.read(&mut buf).unwrap();
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    // The prompt is written before echo is turned off: typing waits for the terminal to stop
    // echoing, as a person's typing comes long after it has.
    let fd = master.as_raw_fd().unwrap();
    // SAFETY: the master stays open until `master` is dropped at the end of this function.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let echoes = || {
        let modes = rustix::termios::tcgetattr(fd).unwrap().local_modes;
        modes.contains(rustix::termios::LocalModes::ECHO)
    };
    while echoes() {
        thread::yield_now();
    }
    writer.write_all(keys.as_bytes()).unwrap();
    writer.flush().unwrap();
    read_until_closed(&mut reader, &mut seen);
    let status = child.wait().unwrap();
    (
        String::from_utf8_lossy(&seen).into_owned(),
        status.exit_code(),
    )
}

#[test]
fn tls_is_verified_and_cacert_trusts_a_private_ca() {
    let server = tls_server(&["127.0.0.1"]);
    let ca = server.ca_file();

    let refused = one(&server.url, &["--retries", "0"], 1);
    assert_eq!(kind(&refused), "tls", "{refused}");
    let message = message(&refused);
    assert!(message.contains("UnknownIssuer"), "{message}");
    assert!(
        message.contains("give its certificate with --cacert"),
        "{message}"
    );

    let ca_arg = ca.path().to_str().unwrap();
    let trusted = one(&server.url, &["--cacert", ca_arg], 0);
    assert_eq!(trusted["bytes"], 6);
    assert_eq!(trusted["prefix"], "secret");
    // -v shows the request as written inside the TLS connection, not its ciphertext.
    let traced = fetchpar()
        .args(["-v", "--cacert", ca_arg])
        .arg(&server.url)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&traced.get_output().stderr).into_owned();
    let host = server
        .url
        .trim_start_matches("https://")
        .trim_end_matches('/');
    for expected in [
        format!("[argument:1] * connected to {host} (TLS)"),
        "[argument:1] > GET / HTTP/1.1".to_string(),
        "[argument:1] < HTTP/1.1 200 OK".to_string(),
    ] {
        assert!(
            stderr.lines().any(|l| l == expected),
            "{expected}: {stderr}"
        );
    }
    // What the handshake agreed comes right after the connection, before the request.
    let lines: Vec<&str> = stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("* connected to"))
        .unwrap();
    let agreed = lines[at + 1];
    assert!(
        agreed.starts_with("[argument:1] * TLS handshake done: TLSv1_3, TLS13_")
            && agreed.ends_with(", the certificate verified for 127.0.0.1"),
        "{stderr}"
    );
    assert!(lines[at + 2].contains("> GET /"), "{stderr}");

    // A CA the system trusts is trusted too, as curl and wget trust it: here the system's
    // store is the file SSL_CERT_FILE names (as OpenSSL reads it).
    let out = fetchpar()
        .arg("--json")
        .env("SSL_CERT_FILE", ca.path())
        .arg(&server.url)
        .assert()
        .success();
    assert_eq!(json_lines(&out.get_output().stdout)[0]["prefix"], "secret");

    // A body of many TLS records arrives whole: counted when shown, byte for byte when saved.
    let big = format!("{}big", server.url);
    let shown = one(&big, &["--cacert", ca_arg], 0);
    assert_eq!(shown["bytes"], 3 * 1024 * 1024, "{shown}");
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let saved = one(&big, &["--cacert", ca_arg, "-o", out_dir], 0);
    assert_eq!(saved["bytes"], 3 * 1024 * 1024, "{saved}");
    assert!(std::fs::read(dir.path().join("big")).unwrap() == big_body());
}

#[test]
fn a_ca_certificate_as_the_servers_own_is_trusted_only_when_cacert_gives_it() {
    let server = tls_server_as(&["127.0.0.1"], Own::Ca);
    let refused = one(&server.url, &["--retries", "0"], 1);
    assert_eq!(kind(&refused), "tls", "{refused}");
    let message = message(&refused);
    assert!(message.contains("is a CA certificate"), "{message}");
    assert!(
        message.contains("--cacert gives that very certificate"),
        "{message}"
    );

    // Another CA's certificate in --cacert does not make this one trusted.
    let other = tls_server_as(&["127.0.0.1"], Own::Ca).ca_file();
    let refused = one(
        &server.url,
        &["--retries", "0", "--cacert", other.path().to_str().unwrap()],
        1,
    );
    assert_eq!(kind(&refused), "tls", "{refused}");

    let ca = server.ca_file();
    let trusted = one(&server.url, &["--cacert", ca.path().to_str().unwrap()], 0);
    assert_eq!(trusted["prefix"], "secret", "{trusted}");
}

#[test]
fn a_ca_certificate_given_by_cacert_is_still_checked_for_name_and_dates() {
    for (names, own, why) in [
        (["other.example"], Own::Ca, "NotValidForName"),
        (["127.0.0.1"], Own::ExpiredCa, "certificate expired"),
    ] {
        let server = tls_server_as(&names, own);
        let ca = server.ca_file();
        let record = one(
            &server.url,
            &["--retries", "0", "--cacert", ca.path().to_str().unwrap()],
            1,
        );
        assert_eq!(kind(&record), "tls", "{record}");
        let message = message(&record);
        assert!(message.contains(why), "{why}: {message}");
    }
}

/// An HTTP proxy on 127.0.0.1 that opens a tunnel to port `port` of 127.0.0.1 whatever host it
/// is asked for (so a made-up name can reach a loopback server), or passes a request naming a
/// whole `http://` URL on to it, and notes each request's head, its lines joined by `\n`.
fn tunnel_proxy(port: u16) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let noted = Arc::clone(&asked);
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let noted = Arc::clone(&noted);
            thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut head = String::new();
                // The request head ends with an empty line.
                while reader.read_line(&mut head).unwrap_or(0) > 2 {}
                noted
                    .lock()
                    .unwrap()
                    .push(head.lines().collect::<Vec<_>>().join("\n"));
                let mut server = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                let mut client = client;
                match head.strip_prefix("GET http://") {
                    // Passed on with the path alone in its request line.
                    Some(rest) => {
                        let path = &rest[rest.find('/').unwrap()..];
                        server.write_all(format!("GET {path}").as_bytes()).unwrap();
                    }
                    None => client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .unwrap(),
                }
                let (mut up, mut down) = (server.try_clone().unwrap(), server);
                let mut back = client.try_clone().unwrap();
                thread::spawn(move || std::io::copy(&mut reader, &mut up));
                let _ = std::io::copy(&mut down, &mut back);
            });
        }
    });
    (url, asked)
}

/// An HTTP proxy on 127.0.0.1 that takes only `login` (`USER:PASSWORD`) as Digest: a request
/// without a right answer gets a 407 with a fresh challenge (nonces `p1`, `p2`, ...), on a
/// connection kept open. Answered, a CONNECT opens a tunnel to port `port` of 127.0.0.1
/// whatever host it names, and a request naming a whole `http://` URL is answered here, its
/// body the URL. Notes each request's head, its lines joined by `\n`.
fn digest_proxy(port: u16, login: &'static str) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let noted = Arc::clone(&asked);
    let nonces = Arc::new(AtomicUsize::new(0));
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let (noted, nonces) = (Arc::clone(&noted), Arc::clone(&nonces));
            thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut client = client;
                while let Some(head) = next_head(&mut reader) {
                    noted.lock().unwrap().push(head.clone());
                    let mut words = head.split(' ');
                    let (method, target) = (words.next().unwrap(), words.next().unwrap());
                    let answer = (head.lines())
                        .find_map(|l| l.strip_prefix("Proxy-Authorization: "))
                        .or_else(|| {
                            head.lines()
                                .find_map(|l| l.strip_prefix("proxy-authorization: "))
                        })
                        .and_then(|value| {
                            fetchpar::origin::digest_answer(value, login, method, target)
                        });
                    if answer.is_none() {
                        let nonce = nonces.fetch_add(1, Ordering::SeqCst) + 1;
                        let challenge = fetchpar::origin::digest_challenge(&format!("p{nonce}"));
                        let refusal = format!(
                            "HTTP/1.1 407 Proxy Authentication Required\r\n\
                             Proxy-Authenticate: {challenge}\r\nContent-Length: 6\r\n\r\ndenied"
                        );
                        if client.write_all(refusal.as_bytes()).is_err() {
                            return;
                        }
                        continue;
                    }
                    if method != "CONNECT" {
                        let body = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{target}",
                            target.len()
                        );
                        if client.write_all(body.as_bytes()).is_err() {
                            return;
                        }
                        continue;
                    }
                    client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .unwrap();
                    let server = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                    let (mut up, mut down) = (server.try_clone().unwrap(), server);
                    thread::spawn(move || std::io::copy(&mut reader, &mut up));
                    let _ = std::io::copy(&mut down, &mut client);
                    return;
                }
            });
        }
    });
    (url, asked)
}

#[test]
fn a_proxy_asking_for_digest_gets_its_login_answered_as_curl_proxy_anyauth_does() {
    let server = tls_server(&["secure.test", "other.test"]);
    let port: u16 = (server.url.trim_end_matches('/').rsplit(':').next())
        .unwrap()
        .parse()
        .unwrap();
    let (proxy, asked) = digest_proxy(port, "me:pr0xy pass");
    let ca = server.ca_file();
    let with = |login: &str| proxy.replace("http://", &format!("http://{login}@"));
    let run = |login: &str, urls: &[String], code: i32| {
        let out = fetchpar()
            .args(["--json", "-j", "1", "--retries", "0", "--cacert"])
            .arg(ca.path())
            .args(["-x", &with(login)])
            .args(urls)
            .assert()
            .code(code);
        json_lines(&out.get_output().stdout)
    };
    let first_lines = |from: usize| -> Vec<String> {
        (asked.lock().unwrap()[from..].iter())
            .map(|head| {
                let line = head.lines().next().unwrap().to_string();
                let auth = (head.lines())
                    .find(|l| l.to_ascii_lowercase().starts_with("proxy-authorization: "))
                    .map_or("none", |l| match l.contains(" Digest ") {
                        true if l.contains("nc=00000001") => "Digest 1",
                        true if l.contains("nc=00000002") => "Digest 2",
                        true => "Digest",
                        false => "Basic",
                    });
                format!("{line} [{auth}]")
            })
            .collect()
    };

    // Two tunnels, to two hosts: the first is refused its Basic login and asked again with
    // the challenge answered; the second answers the kept challenge at once, counted on.
    let urls = [
        format!("https://secure.test:{port}/"),
        format!("https://other.test:{port}/"),
    ];
    let records = run("me:pr0xy%20pass", &urls, 0);
    assert_eq!(records.len(), 2);
    for record in &records {
        assert_eq!(record["prefix"], "secret", "{record}");
    }
    assert_eq!(
        first_lines(0),
        [
            format!("CONNECT secure.test:{port} HTTP/1.1 [Basic]"),
            format!("CONNECT secure.test:{port} HTTP/1.1 [Digest 1]"),
            format!("CONNECT other.test:{port} HTTP/1.1 [Digest 2]"),
        ]
    );
    // -v shows both CONNECTs and the proxy's answers, the Digest answer hidden as Basic is.
    let traced = fetchpar()
        .args(["-v", "--retries", "0", "--cacert"])
        .arg(ca.path())
        .args(["-x", &with("me:pr0xy%20pass"), &urls[0]])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&traced.get_output().stderr).into_owned();
    for shown in [
        "> Proxy-Authorization: Basic ***",
        "< HTTP/1.1 407 Proxy Authentication Required",
        "> Proxy-Authorization: Digest ***",
        "< HTTP/1.1 200 Connection established",
    ] {
        assert!(stderr.contains(shown), "{shown}: {stderr}");
    }
    assert!(
        !stderr.contains("pr0xy") && !stderr.contains("nc="),
        "{stderr}"
    );
    // A login the proxy refuses is told as such, once, with kind `proxy`, and not retried.
    let seen = asked.lock().unwrap().len();
    let refused = run("me:wrong", &urls[..1], 1);
    assert_eq!(kind(&refused[0]), "proxy", "{}", refused[0]);
    let at = proxy.trim_start_matches("http://");
    assert_eq!(
        message(&refused[0]),
        format!(
            "the HTTP proxy {at} refused the login it was given to reach secure.test:{port} \
             (407 Proxy Authentication Required)"
        )
    );
    assert_eq!(first_lines(seen).len(), 2, "asked twice, not retried");

    // An http URL goes to the proxy whole, and is answered the same way on the same
    // connection; a refused login is the URL's own 407, as curl reports it.
    let seen = asked.lock().unwrap().len();
    let whole = [
        "http://far.test/a".to_string(),
        "http://far.test/b".to_string(),
    ];
    let records = run("me:pr0xy%20pass", &whole, 0);
    let prefixes: Vec<&str> = records
        .iter()
        .map(|r| r["prefix"].as_str().unwrap())
        .collect();
    assert_eq!(prefixes, ["http://far.test/a", "http://far.test/b"]);
    assert_eq!(
        first_lines(seen),
        [
            "GET http://far.test/a HTTP/1.1 [Basic]",
            "GET http://far.test/a HTTP/1.1 [Digest 1]",
            "GET http://far.test/b HTTP/1.1 [Digest 2]",
        ]
    );
    let refused = run("me:wrong", &whole[..1], 1);
    assert_eq!(refused[0]["status"], 407, "{}", refused[0]);
    assert_eq!(kind(&refused[0]), "http_status", "{}", refused[0]);
    // Without a login, a 407 stays what it was.
    let bare = fetchpar()
        .args(["--json", "--retries", "0", "-x", &proxy, &whole[0]])
        .assert()
        .code(1);
    let bare = json_lines(&bare.get_output().stdout);
    assert_eq!(bare[0]["status"], 407, "{}", bare[0]);
}

#[test]
fn an_http_url_goes_to_an_https_proxy_whole_over_tls_verified_for_the_proxy() {
    // The TLS server answers whatever it is asked, so it stands in for an https proxy: a URL
    // on a host that does not exist only gets its answer through it.
    let proxy = tls_server(&["127.0.0.1"]);
    let ca = proxy.ca_file();
    let via = proxy.url.trim_end_matches('/').replace("https://", "");
    let traced = fetchpar()
        .args(["--json", "-v", "--retries", "0", "--cacert"])
        .arg(ca.path())
        .args([
            "-x",
            &format!("https://me:pr0xypass@{via}"),
            "http://far.test/x",
        ])
        .assert()
        .success();
    let out = traced.get_output();
    assert_eq!(json_lines(&out.stdout)[0]["prefix"], "secret");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines = traced_lines(&stderr);
    assert_eq!(
        lines[0],
        format!("* connected to far.test (TLS) through the proxy {via}"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("* TLS handshake done: TLSv1_3, ")
            && lines[1].ends_with("the certificate verified for 127.0.0.1"),
        "{stderr}"
    );
    assert_eq!(lines[2], "> GET http://far.test/x HTTP/1.1", "{stderr}");
    assert!(
        lines.contains(&"> proxy-authorization: Basic ***"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("CONNECT") && !stderr.contains("pr0xypass"),
        "{stderr}"
    );
    // The proxy's certificate is checked: without its CA, the run fails at the handshake.
    let refused = one(
        "http://far.test/x",
        &["--retries", "0", "-x", &proxy.url],
        1,
    );
    assert_eq!(kind(&refused), "tls", "{refused}");
}

/// An https proxy on 127.0.0.1 (its certificate for 127.0.0.1, issued by the CA of the PEM
/// returned) that opens a `CONNECT` tunnel to port `port` of 127.0.0.1 whatever host it is
/// asked for: the tunnel runs inside its own TLS, so an https URL's TLS is TLS in TLS.
fn https_tunnel_proxy(port: u16) -> (String, String) {
    let (config, ca_pem) = tls_identity(&["127.0.0.1"], Own::Issued);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if tls.read(&mut byte).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                assert!(head.starts_with(b"CONNECT "), "{head:?}");
                tls.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .unwrap();
                tls.flush().unwrap();
                // One thread relays both ways: reads on either side wait briefly for data,
                // as a TLS stream cannot be split between two threads.
                let mut server = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                let poll = Some(Duration::from_millis(5));
                server.set_read_timeout(poll).unwrap();
                tls.sock.set_read_timeout(poll).unwrap();
                let mut buf = vec![0u8; 64 * 1024];
                let waiting = |e: &std::io::Error| {
                    matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    )
                };
                loop {
                    match tls.read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => server.write_all(&buf[..n]).unwrap(),
                        Err(e) if waiting(&e) => {}
                        Err(_) => return,
                    }
                    match server.read(&mut buf) {
                        Ok(0) => {
                            tls.conn.send_close_notify();
                            let _ = tls.flush();
                            return;
                        }
                        Ok(n) => {
                            tls.write_all(&buf[..n]).unwrap();
                            tls.flush().unwrap();
                        }
                        Err(e) if waiting(&e) => {}
                        Err(_) => return,
                    }
                }
            });
        }
    });
    (url, ca_pem)
}

#[test]
fn https_through_an_https_proxy_is_tls_inside_tls_each_verified_for_its_own_host() {
    let server = tls_server(&["secure.test"]);
    let port: u16 = (server.url.trim_end_matches('/').rsplit(':').next())
        .unwrap()
        .parse()
        .unwrap();
    let (proxy, proxy_ca) = https_tunnel_proxy(port);
    // One file with both CAs: the proxy's and the server's.
    let cas = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cas.path(), format!("{proxy_ca}{}", server.ca_pem)).unwrap();
    let url = format!("https://secure.test:{port}/");
    let out = fetchpar()
        .args(["--json", "-v", "--retries", "0", "-x", &proxy, "--cacert"])
        .arg(cas.path())
        .arg(&url)
        .assert()
        .success();
    let output = out.get_output();
    assert_eq!(json_lines(&output.stdout)[0]["prefix"], "secret");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines = traced_lines(&stderr);
    let at = proxy.trim_start_matches("https://");
    assert_eq!(
        lines[0],
        format!("* connected to the proxy {at} (TLS)"),
        "{stderr}"
    );
    assert!(
        lines[1].ends_with("the certificate verified for 127.0.0.1"),
        "{stderr}"
    );
    assert_eq!(lines[2], format!("> CONNECT secure.test:{port} HTTP/1.1"));
    assert!(
        stderr.contains("the certificate verified for secure.test"),
        "{stderr}"
    );
    // Without the proxy's CA the run fails at the proxy's handshake, before any CONNECT.
    let server_ca = server.ca_file();
    let refused = fetchpar()
        .args(["--json", "--retries", "0", "-x", &proxy, "--cacert"])
        .arg(server_ca.path())
        .arg(&url)
        .assert()
        .code(1);
    let refused = &json_lines(&refused.get_output().stdout)[0];
    assert_eq!(kind(refused), "tls", "{refused}");
}

#[test]
fn proxytunnel_carries_an_http_url_through_an_https_proxy_in_a_tunnel() {
    let origin = Origin::start().unwrap();
    let port = origin.addr().port();
    let (proxy, proxy_ca) = https_tunnel_proxy(port);
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), proxy_ca).unwrap();
    // The proxy only tunnels: the origin's answer comes through it, in plain HTTP inside the
    // proxy's TLS.
    let out = fetchpar()
        .args([
            "--json",
            "-v",
            "--retries",
            "0",
            "--proxytunnel",
            "-x",
            &proxy,
        ])
        .arg("--cacert")
        .arg(ca.path())
        .arg(format!("http://any.test:{port}/a?size=9"))
        .assert()
        .success();
    let output = out.get_output();
    assert_eq!(json_lines(&output.stdout)[0]["bytes"], 9);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines = traced_lines(&stderr);
    assert_eq!(
        lines[2],
        format!("> CONNECT any.test:{port} HTTP/1.1"),
        "{stderr}"
    );
    assert!(stderr.contains("> GET /a?size=9 HTTP/1.1"), "{stderr}");
}

#[test]
fn https_only_fetches_no_http_url_redirects_page_links_and_lists_included() {
    let server = tls_server(&["127.0.0.1"]);
    let ca = server.ca_file();
    let origin = Origin::start().unwrap();
    let plain = origin.url("/p?size=3");
    let to_plain = format!("{}to/{}", server.url, plain.trim_start_matches("http://"));
    let lines = [
        format!("{}a {}", server.url, origin.url("/mirror?size=4")),
        plain.clone(),
        to_plain.clone(),
    ];
    let run = |extra: &[&str], code: i32| {
        let out = fetchpar()
            .args(["--json", "--keep-order", "--retries", "0", "--cacert"])
            .arg(ca.path())
            .args(extra)
            .arg(list(&lines).path())
            .assert()
            .code(code);
        json_lines(&out.get_output().stdout)
    };
    // Without it, all three are fetched (the redirect leads to the origin's 3 bytes).
    let all = run(&[], 0);
    assert_eq!(all[2]["bytes"], 3, "{all:#?}");
    let records = run(&["--https-only"], 1);
    assert_eq!(records[0]["prefix"], "secret");
    assert_eq!(records[0]["mirror"], serde_json::Value::Null);
    assert_eq!(kind(&records[1]), "invalid_url");
    assert_eq!(
        message(&records[1]),
        "an http URL, and --https-only fetches https URLs only"
    );
    assert_eq!(kind(&records[2]), "redirects");
    assert_eq!(
        message(&records[2]),
        format!("redirect to `{plain}` not followed: --https-only follows https URLs only")
    );
    // A page's http links are left out, as wget's recursion leaves them; a list is fetched
    // from https only.
    let page = format!(
        "<a href=\"{}x\">s</a> <a href=\"{plain}\">p</a>",
        server.url
    );
    let page_file = list(&[page]);
    let out = fetchpar()
        .args(["--json", "-F", "--https-only", "--cacert"])
        .arg(ca.path())
        .arg(page_file.path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["url"], format!("{}x", server.url).as_str());
    let refused = fetchpar()
        .args(["--https-only", "-i", &origin.url("/list.txt?body=x")])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(
        stderr.contains("--https-only fetches lists from https URLs only"),
        "{stderr}"
    );
}

#[test]
fn https_through_a_connect_proxy_is_verified_for_the_urls_host() {
    let server = tls_server(&["secure.test"]);
    let port: u16 = server
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (proxy, asked) = tunnel_proxy(port);
    let ca = server.ca_file();
    let url = format!("https://secure.test:{port}/");
    let record = one(
        &url,
        &[
            "--retries",
            "0",
            "-x",
            &proxy,
            "--cacert",
            ca.path().to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(record["prefix"], "secret", "{record}");
    let first_lines: Vec<String> = (asked.lock().unwrap().iter())
        .map(|head| head.lines().next().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        first_lines,
        [format!("CONNECT secure.test:{port} HTTP/1.1")]
    );

    // -v shows the CONNECT and the proxy's answer, then the request inside the tunnel once and
    // in plain text, after the handshake made through it (with a login for the proxy hidden).
    let with_login = proxy.replace("http://", "http://me:pr0xypass@");
    let traced = fetchpar()
        .args(["-v", "--retries", "0", "-x", &with_login, "--cacert"])
        .arg(ca.path())
        .arg(&url)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&traced.get_output().stderr).into_owned();
    let lines = traced_lines(&stderr);
    let proxy_at = proxy.trim_start_matches("http://");
    let expected = [
        format!("* connected to the proxy {proxy_at}"),
        format!("> CONNECT secure.test:{port} HTTP/1.1"),
        format!("> Host: secure.test:{port}"),
        "> User-Agent: fetchpar/0.1.0".to_string(),
        "> Proxy-Connection: Keep-Alive".to_string(),
        "> Proxy-Authorization: Basic ***".to_string(),
        "< HTTP/1.1 200 Connection established".to_string(),
        format!("* connected to secure.test:{port} (TLS) through the proxy {proxy_at}"),
    ];
    assert_eq!(lines[..expected.len()], expected, "{stderr}");
    assert!(
        lines[expected.len()].starts_with("* TLS handshake done: TLSv1_3, ")
            && lines[expected.len()].ends_with("verified for secure.test"),
        "{stderr}"
    );
    assert_eq!(lines[expected.len() + 1], "> GET / HTTP/1.1", "{stderr}");
    assert_eq!(stderr.matches("> GET").count(), 1, "{stderr}");
    assert!(!stderr.contains("pr0xypass"), "{stderr}");
}

#[test]
fn a_certificate_for_another_host_is_refused() {
    let server = tls_server(&["other.example"]);
    let ca = server.ca_file();
    let record = one(
        &server.url,
        &["--retries", "0", "--cacert", ca.path().to_str().unwrap()],
        1,
    );
    assert_eq!(kind(&record), "tls", "{record}");
}

#[test]
fn connect_to_checks_the_certificate_for_the_urls_host_not_the_one_connected_to() {
    let server = tls_server(&["other.example"]);
    let ca = server.ca_file();
    let at = server
        .url
        .trim_start_matches("https://")
        .trim_end_matches('/');
    let fetch = |host: &str, code| {
        let url = format!("https://{host}:1/");
        let rule = format!("{host}:1:{at}");
        let args = ["--retries", "0", "--cacert", ca.path().to_str().unwrap()];
        one(&url, &[&args[..], &["--connect-to", &rule]].concat(), code)
    };
    // Connected to 127.0.0.1, the certificate is checked for the URL's name, and holds it.
    assert_eq!(fetch("other.example", 0)["prefix"], "secret");
    // The same server for a URL whose name its certificate does not hold.
    let refused = fetch("third.example", 1);
    assert_eq!(kind(&refused), "tls", "{refused}");
}

#[test]
fn https_to_a_plain_http_server_says_so() {
    // A plain http server answers the ClientHello as the bad request it is, as nginx does.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/x", listener.local_addr().unwrap());
    thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.read(&mut [0; 4096]);
            let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let record = one(&url, &["--retries", "0"], 1);
    assert_eq!(kind(&record), "tls", "{record}");
    assert!(message(&record).contains("is it plain http"), "{record}");
}

/// A server that answers every request with the bytes its path names in `answers`, then
/// closes the connection.
fn canned_server(answers: Vec<(&'static str, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = BufReader::new(conn);
            let Some(head) = next_head(&mut reader) else {
                continue;
            };
            let path = head.split(' ').nth(1).unwrap_or("").to_string();
            let answer = answers.iter().find(|(p, _)| *p == path);
            let mut conn = reader.into_inner();
            let _ = conn.write_all(answer.map_or(b"HTTP/1.1 404 x\r\n\r\n", |a| &a.1[..]));
        }
    });
    base
}

#[test]
fn an_answer_that_is_not_valid_http_says_what_is_wrong_with_it() {
    let many: String = (0..150)
        .map(|i| format!("Set-Cookie: c{i}=v\r\n"))
        .collect();
    let big = format!("X-Big: {}\r\n", "a".repeat(60_000));
    let head = |headers: &str| format!("HTTP/1.1 200 OK\r\n{headers}\r\nok").into_bytes();
    let base = canned_server(vec![
        ("/ssh", b"SSH-2.0-OpenSSH_9.2\r\n".to_vec()),
        ("/fold", head("X-Long: a\r\n b\r\nContent-Length: 2\r\n")),
        (
            "/lengths",
            head("Content-Length: 2\r\nContent-Length: 3\r\n"),
        ),
        ("/many", head(&format!("{many}Content-Length: 2\r\n"))),
        ("/big", head(&format!("{big}Content-Length: 2\r\n"))),
        (
            "/status",
            b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        ),
        ("/control", head("X-A: a\x1b[31m\r\nContent-Length: 2\r\n")),
        (
            "/badchunk",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "/chunkline",
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;{}\r\nok\r\n0\r\n\r\n",
                "x".repeat(200_000)
            )
            .into_bytes(),
        ),
    ]);
    let cases = [
        ("/ssh", "protocol", "did not answer in HTTP/1.x"),
        ("/fold", "protocol", "header line that is not `Name: value`"),
        ("/lengths", "protocol", "different Content-Lengths"),
        ("/many", "protocol", "more than 128 header lines"),
        ("/big", "too_large", "head is 60"),
        ("/status", "protocol", "status line is malformed"),
        (
            "/control",
            "protocol",
            "header value with bytes no header may hold",
        ),
        (
            "/badchunk",
            "protocol",
            "chunked body is malformed (chunk length",
        ),
        (
            "/chunkline",
            "protocol",
            "chunk size or trailer line too long",
        ),
    ];
    let urls: Vec<String> = cases.iter().map(|(p, ..)| format!("{base}{p}")).collect();
    let out = fetchpar()
        .args(["--json", "--retries", "0"])
        .arg(list(&urls).path())
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), cases.len(), "{records:#?}");
    for (path, expected, says) in cases {
        let record = find(&records, &format!("{base}{path}"));
        assert_eq!(kind(record), expected, "{record}");
        assert!(message(record).contains(says), "{record}");
    }
}

#[test]
fn a_body_sent_in_a_transfer_coding_is_read_through_it() {
    // `Transfer-Encoding: gzip, chunked`: the gzip is the connection's, not the file's (as a
    // Content-Encoding would be), so the body is shown and saved as it was before it.
    let text = b"gzipped by the connection, not the file\n".repeat(60);
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(&text).unwrap();
    let gzip = gzip.finish().unwrap();
    let answer = |status: &str, extra: &str| {
        let head = format!(
            "HTTP/1.1 {status}\r\nTransfer-Encoding: gzip, chunked\r\n{extra}\r\n{:x}\r\n",
            gzip.len()
        );
        [head.as_bytes(), &gzip, b"\r\n0\r\n\r\n"].concat()
    };
    let total = text.len();
    let base = canned_server(vec![
        ("/te.txt", answer("200 OK", "")),
        (
            "/part.txt",
            answer(
                "206 Partial Content",
                &format!("Content-Range: bytes 10-{}/{total}\r\n", total - 1),
            ),
        ),
        (
            "/odd.txt",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: compress, chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
                .to_vec(),
        ),
    ]);
    let shown = one(&format!("{base}/te.txt"), &[], 0);
    assert_eq!(shown["bytes"], total, "{shown}");
    assert_eq!(
        shown["prefix"],
        String::from_utf8_lossy(&text[..100]).as_ref()
    );
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let saved = one(&format!("{base}/te.txt"), &["-o", dir], 0);
    assert_eq!(
        std::fs::read(out.path().join("te.txt")).unwrap(),
        text,
        "{saved}"
    );
    // A range in one cannot be put in its place: the URL fails, the part is kept.
    std::fs::write(out.path().join("part.txt.part"), &text[..10]).unwrap();
    let part = one(
        &format!("{base}/part.txt"),
        &["-c", "--retries", "0", "-o", dir],
        1,
    );
    assert_eq!(kind(&part), "protocol", "{part}");
    assert!(message(&part).contains("range was answered in a transfer coding"));
    assert_eq!(
        std::fs::read(out.path().join("part.txt.part")).unwrap(),
        &text[..10]
    );
    // One fetchpar cannot undo fails the URL rather than showing or saving it as sent.
    let odd = one(&format!("{base}/odd.txt"), &["--retries", "0"], 1);
    assert_eq!(kind(&odd), "protocol", "{odd}");
    assert!(message(&odd).contains("`compress`"), "{odd}");
}

#[test]
fn a_tls_handshake_that_never_comes_is_ended_by_the_connect_timeout() {
    // Accepts connections and never says a word: no ServerHello ever comes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    thread::spawn(move || {
        let held: Vec<_> = listener.incoming().collect();
        drop(held);
    });
    let record = one(&url, &["--retries", "0", "--connect-timeout", "1"], 1);
    assert_eq!(kind(&record), "timeout", "{record}");
    assert!(message(&record).contains("connect"), "{record}");
}

#[test]
fn an_unusable_cacert_is_an_input_error() {
    for (text, why) in [
        ("not a certificate", "no PEM certificate"),
        // PEM whose contents are no certificate rustls can parse.
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "no certificate in it can serve as a root",
        ),
    ] {
        let bogus = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(bogus.path(), text).unwrap();
        fetchpar()
            .arg("--cacert")
            .arg(bogus.path())
            .arg("https://127.0.0.1:9/")
            .assert()
            .code(2)
            .stderr(predicates::str::contains(why));
    }
}

#[test]
fn a_download_slower_than_the_speed_limit_is_abandoned_and_a_fast_enough_one_is_not() {
    let origin = Origin::start().unwrap();
    // 1,000 bytes, one every 20 ms: 50 bytes a second, 20 s in all, under 1 KiB/s.
    let slow = one(
        &origin.url("/slow?size=1000&drip=20"),
        &[
            "--retries",
            "0",
            "--speed-limit",
            "1K",
            "--speed-time",
            "0.5",
        ],
        1,
    );
    assert_eq!(kind(&slow), "timeout");
    assert!(
        message(&slow).contains("slower than 1024 bytes per second for 0.5 s"),
        "{slow}"
    );
    let bytes = slow["bytes"].as_u64().unwrap();
    assert!(bytes > 0 && bytes < 1000, "{bytes}");
    // 300 KB at 200 KB/s a connection: a second and a half, always above 50 KB/s (aria2c's
    // name for the option).
    let fast = one(
        &origin.url("/fast?size=300000&rate=200000"),
        &["--lowest-speed-limit", "50K", "-y", "0.5"],
        0,
    );
    assert_eq!(fast["bytes"], 300_000);
}

#[test]
fn a_lines_aria2c_timeouts_and_speed_limit_hold_for_that_line_alone() {
    // aria2c's session files give `timeout=`, `connect-timeout=` and `lowest-speed-limit=`
    // under each URL, as aria2c applies them to that download.
    let origin = Origin::start().unwrap();
    // Never says a word: no TLS ServerHello comes, which the connect timeout covers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("https://{}/", silent.local_addr().unwrap());
    thread::spawn(move || {
        let held: Vec<_> = silent.incoming().collect();
        drop(held);
    });
    let lines = [
        // The head comes after 2.5 s: past the line's 1 s, within the run's 30 s.
        format!("{} timeout=1", origin.url("/own?delay=2500")),
        origin.url("/run?delay=2500"),
        format!("{silent_url} connect-timeout=1"),
        // 50 bytes a second, under the line's 1 KiB/s, over the run's 1 byte (-y alone).
        format!(
            "{} lowest-speed-limit=1K",
            origin.url("/slow?size=1000&drip=20")
        ),
    ];
    let out = fetchpar()
        .args(["--json", "--retries", "0", "--speed-time", "0.5"])
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), lines.len(), "{records:#?}");
    let own = find(&records, "/own");
    assert_eq!(kind(own), "timeout", "{own}");
    assert!(message(own).contains("stall timeout"), "{own}");
    assert_eq!(kind(find(&records, "/run")), "ok");
    let silent = find(&records, &silent_url);
    assert_eq!(kind(silent), "timeout", "{silent}");
    assert!(message(silent).contains("connect timeout"), "{silent}");
    let slow = find(&records, "/slow");
    assert!(
        message(slow).contains("slower than 1024 bytes per second for 0.5 s"),
        "{slow}"
    );
}

#[test]
fn an_interrupted_split_download_is_taken_up_where_each_range_stopped() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    // 8 MiB at 1 MiB/s a connection: four ranges of 2 MiB, each two seconds long.
    let file = list(&[origin.url("/split.bin?size=8388608&rate=1048576")]);
    let split = ["--json", "--split", "4", "--min-split-size", "1M", "-o"];
    let mut child = fetchpar_std()
        .args(split)
        .arg(out.path())
        .arg(file.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first answer and the three ranges asked for: the split is under way.
    while origin.requests() < 4 {
        thread::yield_now();
    }
    assert!(signal(&child, "-INT"));
    let stdout = child.stdout.take().unwrap();
    let (rest, code) = finish_within(child, stdout, Duration::from_secs(20), "split");
    assert_eq!(code, Some(130));
    let record = &json_lines(rest.as_bytes())[0];
    assert_eq!(kind(record), "cancelled", "{record}");
    // No final name, and no `NAME.part` with holes in it: the split part and its record.
    assert_eq!(
        files_in(out.path()),
        ["split.bin.part.ranges", "split.bin.part.split"]
    );
    // -c takes it up (from a server without the limit): only what was missing is fetched.
    let run = fetchpar()
        .args(split)
        .arg(out.path())
        .arg("-c")
        .arg(origin.url("/split.bin?size=8388608"))
        .assert()
        .code(0);
    let record = &json_lines(&run.get_output().stdout)[0];
    let fetched = record["bytes"].as_u64().unwrap();
    assert!(fetched > 0 && fetched < 8388608, "{record}");
    assert_eq!(files_in(out.path()), ["split.bin"]);
    let saved = std::fs::read(out.path().join("split.bin")).unwrap();
    assert!(
        saved == fetchpar::origin::body_bytes(0, 8388608),
        "the file holds other bytes"
    );
}

#[test]
fn a_split_download_killed_outright_is_taken_up_from_its_last_record() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let file = list(&[origin.url("/kill.bin?size=8388608&rate=1048576")]);
    let split = ["--json", "--split", "4", "--min-split-size", "1M", "-o"];
    let mut child = fetchpar_std()
        .args(split)
        .arg(out.path())
        .arg(file.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The record is written while the ranges arrive (every second): once it is there, no
    // chance to write anything more is given.
    let record = out.path().join("kill.bin.part.ranges");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !record.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no record was written"
        );
        thread::yield_now();
    }
    assert!(signal(&child, "-KILL"));
    child.wait().unwrap();
    let run = fetchpar()
        .args(split)
        .arg(out.path())
        .arg("-c")
        .arg(origin.url("/kill.bin?size=8388608"))
        .assert()
        .code(0);
    let result = &json_lines(&run.get_output().stdout)[0];
    let fetched = result["bytes"].as_u64().unwrap();
    assert!(fetched > 0 && fetched < 8388608, "{result}");
    assert_eq!(files_in(out.path()), ["kill.bin"]);
    let saved = std::fs::read(out.path().join("kill.bin")).unwrap();
    assert!(
        saved == fetchpar::origin::body_bytes(0, 8388608),
        "the file holds other bytes"
    );
}

/// Every fault of the suite at once, three times over, in one saving run with splits, retries
/// and names that collide: each line still gets exactly one result of its own kind, every file
/// with a final name holds exactly the body its result reports, and nothing else but `.part`
/// leftovers of failed URLs (kept for `-c`) is in the folder.
#[test]
fn a_list_of_every_fault_at_once_loses_nothing_and_names_no_partial_file() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    // (query, expected kind)
    let cases: &[(&str, &str)] = &[
        ("size=3000", "ok"),
        ("size=0", "ok"),
        ("size=50000&truncate_once=700", "ok"),
        ("size=5000&truncate=100", "io"),
        ("size=900&fail=1", "ok"),
        ("size=900&fail=9", "http_status"),
        ("status=404", "http_status"),
        ("reset=1", "io"),
        ("garbage=1", "protocol"),
        ("badchunk=1", "protocol"),
        ("chunked=1&size=7000", "ok"),
        ("size=4000&stall=10", "timeout"),
        ("size=3145728", "ok"),
        ("size=3145728&cut_ranges=2", "ok"),
        ("size=3145728&ignore_range=1", "ok"),
        ("size=3145728&no_range=1", "ok"),
        ("size=2000&redirect=3", "ok"),
        ("loop=1", "redirects"),
        ("size=8000000&chunked=1", "too_large"),
    ];
    let mut lines = Vec::new();
    let mut expected = Vec::new();
    for round in 0..3 {
        for (i, (query, kind)) in cases.iter().enumerate() {
            // Distinct paths, so that each `fail` and `truncate_once` counts its own requests.
            lines.push(origin.url(&format!("/r{round}/c{i}.bin?{query}")));
            expected.push(kind.to_string());
        }
        // The same name from three URLs: numbered, none overwritten.
        lines.push(origin.url(&format!("/same/r{round}.x/same.bin?size={}", 100 + round)));
        expected.push("ok".into());
        lines.push(format!("not a url {round}"));
        expected.push("invalid_url".into());
        lines.push(refused_url());
        expected.push("connect".into());
    }
    let file = list(&lines);
    let run = fetchpar()
        .args(["--json", "--retries", "1", "--retry-delay", "0.05"])
        .args(["--stall-timeout", "1", "--max-size", "7M"])
        .args(["--split", "4", "--min-split-size", "1M", "-o"])
        .arg(out.path())
        .arg(file.path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    let mut seen = lines_of(&records);
    seen.sort_unstable();
    assert_eq!(seen, (1..=lines.len() as u64).collect::<Vec<_>>());

    let mut finals = Vec::new();
    for record in &records {
        let line = record["line"].as_u64().unwrap() as usize;
        assert_eq!(kind(record), expected[line - 1], "line {line}: {record}");
        let Some(path) = record["path"].as_str().filter(|_| kind(record) == "ok") else {
            continue;
        };
        let path = std::path::Path::new(path);
        assert_eq!(path.parent(), Some(out.path()), "{record}");
        let saved = std::fs::read(path).unwrap();
        // `bytes` counts what this run received (a resumed retry less); the file is whole.
        let url = &lines[line - 1];
        let size = url.split_once("size=").map_or(1024, |(_, rest)| {
            rest.split('&').next().unwrap().parse::<usize>().unwrap()
        });
        assert!(
            saved == fetchpar::origin::body_bytes(0, size),
            "line {line}: the file holds {} bytes, not the {size} of the body",
            saved.len()
        );
        assert_eq!(
            record["sha256"].as_str().unwrap(),
            fetchpar::links::hex(&sha2::Sha256::digest(&saved))
        );
        finals.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    let oks = expected.iter().filter(|k| *k == "ok").count();
    assert_eq!(finals.len(), oks);
    finals.sort();
    finals.dedup();
    assert_eq!(finals.len(), oks, "two results name one file");
    for name in files_in(out.path()) {
        assert!(
            finals.contains(&name) || name.contains(".part"),
            "{name} is in the folder but no result saved it"
        );
    }

    // Taken up again with -c in that folder: each saved line finds its own file (the numbered
    // ones included) and keeps it, and every other line fails as it did. A chunked body, of
    // no announced size from a server that takes no ranges, cannot be told whole: its file is
    // kept as it is and the line fails as `exists`, as wget -c refuses to truncate one.
    let again = fetchpar()
        .args([
            "--json",
            "--retries",
            "0",
            "--stall-timeout",
            "1",
            "--max-size",
            "7M",
        ])
        .args(["--split", "4", "--min-split-size", "1M", "-c", "-o"])
        .arg(out.path())
        .arg(file.path())
        .assert()
        .code(1);
    let path_of = |records: &[Value], line: u64| {
        let record = records.iter().find(|r| r["line"] == line).unwrap();
        (
            kind(record),
            record["path"].clone(),
            record["skipped"].clone(),
        )
    };
    let second = json_lines(&again.get_output().stdout);
    assert_eq!(second.len(), lines.len());
    for line in 1..=lines.len() as u64 {
        let (was, path, _) = path_of(&records, line);
        let (now, path_now, skipped) = path_of(&second, line);
        if was == "ok" && lines[line as usize - 1].contains("chunked=1") {
            assert_eq!(now, "exists", "line {line}");
            continue;
        }
        assert_eq!(now, was, "line {line}");
        if was == "ok" {
            assert_eq!(
                (path_now, skipped),
                (path, Value::Bool(true)),
                "line {line}"
            );
        }
    }
}

#[test]
fn proxy_user_gives_every_proxy_its_login_in_place_of_the_urls() {
    let origin = Origin::start().unwrap();
    let (proxy, asked) = tunnel_proxy(origin.addr().port());
    let url = "http://through.test/p?size=3";
    let with_old_login = proxy.replace("http://", "http://old:login@");
    let sent = |args: &[&str]| -> String {
        asked.lock().unwrap().clear();
        fetchpar()
            .args(["--retries", "0"])
            .args(args)
            .arg(url)
            .assert()
            .success();
        let heads = asked.lock().unwrap().clone();
        assert_eq!(heads.len(), 1, "{heads:?}");
        // Sent with a CONNECT, or with a request naming the whole URL (in ureq's lower case).
        (heads[0].lines())
            .find_map(|l| {
                let (name, value) = l.split_once(": ")?;
                let login = name.eq_ignore_ascii_case("proxy-authorization");
                login.then(|| value.trim_start_matches("Basic ").to_string())
            })
            .unwrap_or_else(|| "none".to_string())
    };
    let b64 = |pair: &str| fetchpar::fetch::basic(pair.as_bytes());
    let expected = b64("me:s3 cr@t");
    assert_eq!(
        format!(
            "Basic {}",
            sent(&["-x", &proxy, "--proxy-user", "me:s3 cr@t"])
        ),
        expected
    );
    assert_eq!(
        format!(
            "Basic {}",
            sent(&[
                "-x",
                &with_old_login,
                "--proxy-user",
                "me",
                "--proxy-password",
                "s3 cr@t"
            ])
        ),
        expected
    );
    assert_eq!(
        format!("Basic {}", sent(&["-x", &with_old_login])),
        b64("old:login")
    );
    // A login without a password, and no terminal to ask for one on.
    let mut alone = fetchpar_std();
    alone.args(["-x", &proxy, "--proxy-user", "me", url]);
    let stderr = stopped_without_terminal(alone);
    assert!(
        stderr.contains("--proxy-user me has no password: give me:PASSWORD or --proxy-password"),
        "{stderr}"
    );
}

#[test]
fn a_user_without_a_password_is_asked_for_one_as_curl_asks() {
    use fetchpar::fetch::basic;
    let origin = Origin::start().unwrap();
    let url = origin.url("/login?echo=authorization");
    let args: Vec<String> = ["--json", "--progress", "never", "-u", "bob", &url]
        .map(String::from)
        .to_vec();
    let (screen, code) = type_at_prompt(&args, "Enter host password for user 'bob': ", "pä55\r");
    assert_eq!(code, 0, "{screen}");
    let sent = format!(r#""prefix":"{}""#, basic("bob:pä55".as_bytes()));
    assert!(screen.contains(&sent), "{screen}");
    assert!(
        !screen.contains("pä55"),
        "the password was echoed: {screen}"
    );
    // wget's --ask-password asks the same way.
    let mut asked = args.clone();
    asked.push("--ask-password".into());
    let (screen, code) = type_at_prompt(&asked, "Enter host password for user 'bob': ", "x\r");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains(&basic("bob:x".as_bytes())), "{screen}");
    // Ctrl-C at the prompt ends the run as interrupted, before anything is fetched.
    let (screen, code) = type_at_prompt(&args, "Enter host password for user 'bob': ", "\x03");
    assert_eq!(code, 130, "{screen}");
    assert!(screen.contains("no password was typed"), "{screen}");
    assert_eq!(origin.requests(), 2);
    // With no terminal, the run stops and says what to give.
    let mut alone = fetchpar_std();
    alone.args(["-u", "bob", &url]);
    let stderr = stopped_without_terminal(alone);
    assert!(
        stderr.contains("--user bob has no password: give bob:PASSWORD or --password"),
        "{stderr}"
    );
    fetchpar()
        .args(["-u", "bob:pw", "--ask-password", &url])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--ask-password asks for the password",
        ));
}

/// Runs `command` in a session of its own, which has no controlling terminal to ask on, and
/// returns what it said on stderr once it stopped with exit code 2.
fn stopped_without_terminal(mut command: std::process::Command) -> String {
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            rustix::process::setsid()?;
            Ok(())
        });
    }
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    stderr
}

#[test]
fn tls_min_and_max_hold_the_version_agreed() {
    let (plain, ca_pem) = tls_identity(&["127.0.0.1"], Own::Issued);
    let only = |version: &'static rustls::SupportedProtocolVersion| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[version])
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(plain.cert_resolver.clone());
        tls_server_with(Arc::new(config), ca_pem.clone())
    };
    let (old, new) = (only(&rustls::version::TLS12), only(&rustls::version::TLS13));
    let ca = old.ca_file();
    let ca = ca.path().to_str().unwrap();
    let agreed = |url: &str, args: &[&str]| -> Result<String, String> {
        let out = fetchpar()
            .args(["--json", "-v", "--retries", "0", "--cacert", ca])
            .args(args)
            .arg(url)
            .output()
            .unwrap();
        let record = json_lines(&out.stdout).remove(0);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        match record["error"].is_null() {
            true => Ok((stderr.lines())
                .find_map(|l| l.split_once("* TLS handshake done: ").map(|(_, v)| v))
                .and_then(|v| v.split(',').next())
                .unwrap_or("?")
                .to_string()),
            false => Err(format!("{}: {}", kind(&record), message(&record))),
        }
    };
    // By default either version is agreed.
    assert_eq!(agreed(&old.url, &[]), Ok("TLSv1_2".to_string()));
    assert_eq!(agreed(&new.url, &[]), Ok("TLSv1_3".to_string()));
    // At least 1.3, however it is spelled, refuses a server of 1.2 alone.
    for args in [
        &["--tls-min", "1.3"][..],
        &["--tlsv1.3"],
        &["--min-tls-version", "TLSv1.3"],
        &["--secure-protocol", "TLSv1_3"],
    ] {
        assert_eq!(
            agreed(&new.url, args),
            Ok("TLSv1_3".to_string()),
            "{args:?}"
        );
        let refused = agreed(&old.url, args).unwrap_err();
        assert!(refused.starts_with("tls: "), "{args:?}: {refused}");
        assert!(refused.contains("--tls-min"), "{args:?}: {refused}");
    }
    // At most 1.2 refuses a server of 1.3 alone, and holds one that has both to 1.2.
    let refused = agreed(&new.url, &["--tls-max", "1.2"]).unwrap_err();
    assert!(refused.contains("--tls-max"), "{refused}");
    assert_eq!(
        agreed(&old.url, &["--tls-max", "1.2"]),
        Ok("TLSv1_2".to_string())
    );
    let both = tls_server(&["127.0.0.1"]);
    let both_ca = both.ca_file();
    let out = fetchpar()
        .args(["-v", "--tls-max", "1.2", "--cacert"])
        .arg(both_ca.path())
        .arg(&both.url)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("* TLS handshake done: TLSv1_2, "),
        "{stderr}"
    );
    // What leaves no version, or asks for one before 1.2, stops the run before it starts.
    for (args, says) in [
        (
            vec!["--tls-min", "1.3", "--tls-max", "1.2"],
            "no TLS version is at least TLS 1.3",
        ),
        (vec!["--tls-min", "1.0"], "TLS before 1.2 is not offered"),
        (vec!["--tls-max", "2"], "not a TLS version"),
    ] {
        fetchpar()
            .args(&args)
            .arg(&old.url)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(says));
    }
}

#[test]
fn capath_trusts_the_certificates_of_a_folder_as_cacert_trusts_a_files() {
    let server = tls_server(&["127.0.0.1"]);
    let other = tls_server(&["127.0.0.1"]);
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("certs");
    std::fs::create_dir(&folder).unwrap();
    // As c_rehash leaves a folder: the certificate, a link to it by hash, and other files.
    std::fs::write(folder.join("private-ca.pem"), &server.ca_pem).unwrap();
    std::os::unix::fs::symlink("private-ca.pem", folder.join("5d30f3c5.0")).unwrap();
    std::fs::write(folder.join("README"), "not a certificate\n").unwrap();
    std::fs::create_dir(folder.join("old")).unwrap();
    let trusted = one(&server.url, &["--capath", folder.to_str().unwrap()], 0);
    assert_eq!(trusted["prefix"], "secret");
    // The folder replaces the default roots, as --cacert does; with --cacert, both count.
    let refused = one(
        &other.url,
        &["--retries", "0", "--ca-directory", folder.to_str().unwrap()],
        1,
    );
    assert_eq!(kind(&refused), "tls", "{refused}");
    let other_ca = other.ca_file();
    let both = [
        "--capath",
        folder.to_str().unwrap(),
        "--cacert",
        other_ca.path().to_str().unwrap(),
    ];
    for url in [&server.url, &other.url] {
        assert_eq!(one(url, &both, 0)["prefix"], "secret");
    }
    // A folder with no certificate in it, or none at all, stops the run before it starts.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for (path, says) in [
        (
            empty.clone(),
            "no file in the folder holds a PEM certificate",
        ),
        (dir.path().join("missing"), "--capath"),
    ] {
        fetchpar()
            .arg("--capath")
            .arg(&path)
            .arg(&server.url)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(says));
    }
}
