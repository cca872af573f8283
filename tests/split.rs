//! Segmented downloads (`--split`, aria2c's `-s`/`-x`): one saved body fetched as several
//! ranges at once, whole in the end, whatever the server does with the ranges.

mod support;

use std::fs;
use std::path::Path;

use fetchpar::origin::body_bytes;
use sha2::{Digest, Sha256};
use support::*;

/// Fails, saying where, unless the file at `path` is the origin's body of `size` bytes (a
/// whole mismatched body would fill the screen).
fn assert_whole(path: &Path, size: usize) {
    let got = fs::read(path).unwrap();
    let want = body_bytes(0, size);
    if got != want {
        let at = got.iter().zip(&want).position(|(a, b)| a != b);
        panic!(
            "{}: {} bytes where {size} were expected, first difference at {at:?}",
            path.display(),
            got.len()
        );
    }
}

/// A body of 4 MiB and a bit, so that 1 MiB segments come out uneven.
const SIZE: usize = 4 * 1024 * 1024 + 1000;

/// Saves `line` into `out` with `--json`, 1 MiB segments and `args`, checks the exit code and
/// returns the record.
fn save(args: &[&str], out: &Path, line: String, code: i32) -> serde_json::Value {
    save_one(
        &[args, &["--min-split-size", "1M"]].concat(),
        out,
        line,
        code,
    )
}

#[test]
fn a_large_body_is_fetched_over_several_connections_at_once_and_saved_whole() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let whole = body_bytes(0, SIZE);
    let digest = fetchpar::links::hex(&Sha256::digest(&whole));
    // Every answer is held 500 ms, so the three later ranges are asked for while the first
    // answer is still being read: all are in the server at once.
    let line = origin.url(&format!("/big.bin?size={SIZE}&delay=500")) + " sha256=" + &digest;
    let record = save(&["--split", "4"], out.path(), line, 0);
    assert_whole(&out.path().join("big.bin"), SIZE);
    assert_eq!(files_in(out.path()), ["big.bin"], "no part left behind");
    assert_eq!(record["segments"], 4);
    assert_eq!(record["bytes"], SIZE);
    assert_eq!(record["sha256"], digest);
    assert_eq!(origin.requests(), 4);
    assert!(origin.max_concurrent() >= 3, "{}", origin.max_concurrent());
}

#[test]
fn a_split_body_behind_a_digest_login_answers_the_kept_challenge_for_each_range() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let line = origin.url(&format!("/locked.bin?size={SIZE}&digest=ann:pw"));
    let record = save(&["--split", "4", "-u", "ann:pw"], out.path(), line, 0);
    assert_whole(&out.path().join("locked.bin"), SIZE);
    assert_eq!(record["segments"], 4);
    // The first range's request was refused once; the three others answered the challenge
    // kept from it at once.
    assert_eq!(origin.requests(), 5);
}

#[test]
fn aria2s_names_and_a_lines_split_ask_for_it_too_and_small_bodies_are_not_split() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let record = save(
        &["--max-connection-per-server", "3"],
        out.path(),
        origin.url(&format!("/x.bin?size={SIZE}")),
        0,
    );
    assert_eq!(record["segments"], 3);
    let record = save(
        &[],
        out.path(),
        origin.url(&format!("/y.bin?size={SIZE}")) + " split=2",
        0,
    );
    assert_eq!(record["segments"], 2);
    // Under twice --min-split-size: one answer, as without --split.
    let before = origin.requests();
    let record = save(
        &["--split", "4"],
        out.path(),
        origin.url("/z.bin?size=2000000"),
        0,
    );
    assert!(record["segments"].is_null());
    assert_eq!(origin.requests(), before + 1);
    for (name, size) in [("x.bin", SIZE), ("y.bin", SIZE), ("z.bin", 2_000_000)] {
        assert_whole(&out.path().join(name), size);
    }
}

#[test]
fn a_server_that_takes_no_ranges_is_read_from_its_one_answer() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    // No Accept-Ranges: nothing more is asked.
    let record = save(
        &["--split", "4"],
        out.path(),
        origin.url(&format!("/plain.bin?size={SIZE}&no_range=1")),
        0,
    );
    assert!(record["segments"].is_null());
    assert_eq!(origin.requests(), 1);
    // Accept-Ranges, and then the whole body to every range: the first answer is read to its
    // end, and the file is whole.
    let record = save(
        &["--split", "4"],
        out.path(),
        origin.url(&format!("/liar.bin?size={SIZE}&ignore_range=1")),
        0,
    );
    assert_eq!(record["segments"], 4);
    assert_eq!(record["bytes"], SIZE);
    for name in ["plain.bin", "liar.bin"] {
        assert_whole(&out.path().join(name), SIZE);
    }
    assert_eq!(files_in(out.path()), ["liar.bin", "plain.bin"]);
}

#[test]
fn ranges_cut_short_are_asked_for_again_within_the_same_attempt() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    // The first three range answers stop half way and close.
    let record = save(
        &["--split", "4", "--retries", "0"],
        out.path(),
        origin.url(&format!("/cut.bin?size={SIZE}&cut_ranges=3")),
        0,
    );
    assert_eq!(record["attempts"], 1);
    assert!(record["error"].is_null(), "{record}");
    assert_whole(&out.path().join("cut.bin"), SIZE);
    assert_eq!(files_in(out.path()), ["cut.bin"]);
}

#[test]
fn continue_splits_the_rest_of_a_file_left_under_its_final_name_and_puts_it_back_on_failure() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    // The first MiB, as curl or a browser might have left it.
    let head = || body_bytes(0, 1024 * 1024);
    fs::write(out.path().join("rest.bin"), head()).unwrap();
    let line = origin.url(&format!("/rest.bin?size={SIZE}"));
    let record = save(&["--split", "4", "-c"], out.path(), line, 0);
    assert_eq!(record["status"], 206, "{record}");
    assert!(record["segments"].as_u64() > Some(1), "{record}");
    assert_whole(&out.path().join("rest.bin"), SIZE);
    // Every range cut short, and --remove-on-error: the file goes back as it was.
    fs::write(out.path().join("back.bin"), head()).unwrap();
    let line = origin.url(&format!("/back.bin?size={SIZE}&cut_ranges=99"));
    let args = ["--split", "4", "-c", "--retries", "0", "--remove-on-error"];
    let record = save(&args, out.path(), line, 1);
    assert_eq!(kind(&record), "io", "{record}");
    assert!(record["segments"].as_u64() > Some(1), "split: {record}");
    assert!(fs::read(out.path().join("back.bin")).unwrap() == head());
    assert_eq!(files_in(out.path()), ["back.bin", "rest.bin"]);
}

#[test]
fn a_split_that_fails_is_taken_up_later_where_each_range_stopped() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    // Every range answer stops half way: each attempt fails with each range part done. The
    // first answer waits for the three helpers' requests, so that it cannot read on into their
    // ranges before they claim them, however slow the machine is at starting them.
    for name in ["part.bin", "again.bin"] {
        let failed = save(
            &["--split", "4", "--retries", "0"],
            out.path(),
            origin.url(&format!("/{name}?size={SIZE}&cut_ranges=100&wait_ranges=3")),
            1,
        );
        assert_eq!(failed["error"]["kind"], "io", "{failed}");
        let message = failed["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("bytes "), "{message}");
        assert!(message.contains(&format!(" of {SIZE}: ")), "{message}");
    }
    // The part, with holes, is never `NAME.part` (which is resumed by its length): it keeps
    // its own name and a record of what it holds.
    assert_eq!(
        files_in(out.path()),
        [
            "again.bin.part.ranges",
            "again.bin.part.split",
            "part.bin.part.ranges",
            "part.bin.part.split"
        ]
    );
    // The same files from a server that sends ranges whole, over four connections or one:
    // only what each range still missed is fetched, well under half of each.
    for (name, split) in [("part.bin", "4"), ("again.bin", "1")] {
        let resumed = save(
            &["--split", split, "-c"],
            out.path(),
            origin.url(&format!("/{name}?size={SIZE}")),
            0,
        );
        let fetched = resumed["bytes"].as_u64().unwrap();
        assert!(fetched > 0 && fetched < SIZE as u64 / 2, "{resumed}");
        if split == "1" {
            assert_eq!(resumed["segments"], 1, "one connection, as asked now");
        }
        assert_whole(&out.path().join(name), SIZE);
    }
    assert_eq!(files_in(out.path()), ["again.bin", "part.bin"]);
}

#[test]
fn a_split_record_that_does_not_fit_the_servers_file_or_max_size_is_dropped() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    for name in ["changed.bin", "big.bin"] {
        let url = origin.url(&format!("/{name}?size={SIZE}&cut_ranges=100&wait_ranges=3"));
        save(&["--split", "4", "--retries", "0"], out.path(), url, 1);
    }
    // The file is smaller now: whatever it answers to the first missing range (a range of
    // another total, or 416), the download starts over.
    let url = origin.url("/changed.bin?size=1000000");
    let fresh = save(&["--split", "4", "-c"], out.path(), url, 0);
    assert_eq!(fresh["bytes"], 1_000_000, "{fresh}");
    assert_whole(&out.path().join("changed.bin"), 1_000_000);
    // A limit given since: too large, and nothing kept.
    let url = origin.url(&format!("/big.bin?size={SIZE}"));
    let refused = save(&["-c", "--max-size", "1M"], out.path(), url, 1);
    assert_eq!(refused["error"]["kind"], "too_large", "{refused}");
    assert_eq!(files_in(out.path()), ["changed.bin"]);
}

#[test]
fn a_split_record_that_does_not_fit_its_part_is_not_trusted() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let url = origin.url(&format!("/r.bin?size={SIZE}&cut_ranges=100&wait_ranges=3"));
    save(&["--split", "4", "--retries", "0"], out.path(), url, 1);
    // The part lost its end (another program cut it): its record no longer fits, so the file
    // is fetched from its start, whole.
    let part = out.path().join("r.bin.part.split");
    fs::File::options()
        .write(true)
        .open(&part)
        .unwrap()
        .set_len(1000)
        .unwrap();
    let fresh = save(
        &["-c"],
        out.path(),
        origin.url(&format!("/r.bin?size={SIZE}")),
        0,
    );
    assert_eq!(fresh["bytes"], SIZE, "{fresh}");
    assert_whole(&out.path().join("r.bin"), SIZE);
    assert_eq!(files_in(out.path()), ["r.bin"]);
}

#[test]
fn split_options_out_of_range_are_usage_errors() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    for args in [
        &["--split", "0"][..],
        &["--split", "17"],
        &["--min-split-size", "100K"],
        &["--min-split-size", "2G"],
    ] {
        fetchpar()
            .args(args)
            .arg("-o")
            .arg(out.path())
            .arg(list(&[origin.url("/a")]).path())
            .assert()
            .code(2);
    }
    // Without -o nothing is saved, so there is nothing to split.
    fetchpar()
        .args(["--split", "2"])
        .arg(list(&[origin.url("/a")]).path())
        .assert()
        .code(2);
    // A line's split= out of range fails that line only.
    let run = fetchpar()
        .args(["--json", "-o"])
        .arg(out.path())
        .arg(list(&[origin.url("/b.bin") + " split=99", origin.url("/c.bin")]).path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    let bad = find(&records, "b.bin");
    assert_eq!(kind(bad), "invalid_url");
    assert!(message(bad).contains("split= takes 1 to 16"), "{bad}");
    assert!(find(&records, "c.bin")["error"].is_null());
}

#[test]
fn four_connections_fetch_from_a_server_that_limits_each_in_well_under_the_time_of_one() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    // 4 MiB at 4 MiB/s a connection: a second over one, a quarter of it over four.
    let url = |name: &str| origin.url(&format!("/{name}?size={}&rate=4194304", 4 << 20));
    let one = save(&["--split", "1"], out.path(), url("one.bin"), 0);
    let four = save(&["--split", "4"], out.path(), url("four.bin"), 0);
    assert_eq!(four["segments"], 4);
    let (one, four) = (one["ms"].as_f64().unwrap(), four["ms"].as_f64().unwrap());
    assert!(four < one * 0.6, "over four {four} ms, over one {one} ms");
    for name in ["one.bin", "four.bin"] {
        assert_whole(&out.path().join(name), 4 << 20);
    }
}

#[test]
fn the_text_line_says_how_many_connections_a_body_came_over() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = fetchpar()
        .args(["--split", "3", "--min-split-size", "1M", "-o"])
        .arg(out.path())
        .arg(list(&[origin.url(&format!("/t.bin?size={SIZE}"))]).path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    assert!(
        stdout.contains("/t.bin?size=4195304 (3 connections) -> "),
        "{stdout}"
    );
}

#[test]
fn a_lines_mirrors_serve_ranges_too_and_a_dead_one_costs_nothing() {
    let first = Origin::start().unwrap();
    let mirror = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = format!("/m.bin?size={SIZE}");
    // Four ranges over two sources: the first answer and the second range from the line's URL,
    // the first and third ranges after it from the mirror.
    let record = save(
        &["--split", "4"],
        out.path(),
        format!("{} {}", first.url(&path), mirror.url(&path)),
        0,
    );
    assert_eq!(record["segments"], 4);
    assert!(record["mirror"].is_null());
    assert_eq!((first.requests(), mirror.requests()), (2, 2));
    assert_whole(&out.path().join("m.bin"), SIZE);
    // A mirror nobody answers at: its ranges come from the line's URL instead.
    let record = save(
        &["--split", "4"],
        out.path(),
        format!(
            "{} {}",
            first.url(&path.replace("m.bin", "d.bin")),
            refused_url()
        ),
        0,
    );
    assert!(record["error"].is_null(), "{record}");
    assert_whole(&out.path().join("d.bin"), SIZE);
    // A mirror whose file is of another size (another version, all `A` here): none of its
    // bytes are taken.
    let other = format!("/w.bin?size={}&fill=65", SIZE + 1);
    let record = save(
        &["--split", "4"],
        out.path(),
        format!(
            "{} {}",
            first.url(&path.replace("m.bin", "w.bin")),
            mirror.url(&other)
        ),
        0,
    );
    assert!(record["error"].is_null(), "{record}");
    assert_whole(&out.path().join("w.bin"), SIZE);
    assert_eq!(files_in(out.path()), ["d.bin", "m.bin", "w.bin"]);
}

#[test]
fn per_host_bounds_a_splits_connections_too() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    // Answers held 300 ms, so that connections asked for at once are in the server at once.
    let url = |name: &str| origin.url(&format!("/{name}?size={SIZE}&delay=300"));
    let record = save(
        &["--split", "4", "--per-host", "1"],
        out.path(),
        url("one.bin"),
        0,
    );
    assert!(record["error"].is_null(), "{record}");
    // The download's own connection is the host's one: no range is asked for beside it.
    assert_eq!((origin.requests(), origin.max_concurrent()), (1, 1));
    let record = save(
        &["--split", "4", "--per-host", "2"],
        out.path(),
        url("two.bin"),
        0,
    );
    assert!(record["error"].is_null(), "{record}");
    assert_eq!(origin.requests(), 3, "one range beside the first answer");
    assert!(origin.max_concurrent() <= 2, "{}", origin.max_concurrent());
    assert_whole(&out.path().join("one.bin"), SIZE);
    assert_whole(&out.path().join("two.bin"), SIZE);
}

/// A loopback server of one thread per connection that reads each request's head and hands
/// `answer` the connection and the request's `Range: bytes=A-B`, if any.
fn raw_server(answer: fn(std::net::TcpStream, Option<(u64, u64)>)) -> String {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut range = None;
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                        let (a, b) = value.trim().split_once('-').unwrap();
                        range = Some((a.parse::<u64>().unwrap(), b.parse::<u64>().unwrap()));
                    }
                    line.clear();
                }
                answer(conn, range);
            });
        }
    });
    base
}

/// The whole body, 2 MiB of the origin's pattern, with ranges advertised: the head at once,
/// the body after `late`.
fn whole_answer(conn: &mut std::net::TcpStream, late: std::time::Duration) {
    use std::io::Write;
    let total = 2 << 20;
    let head = format!(
        "HTTP/1.1 200 OK\r\nAccept-Ranges: bytes\r\nContent-Length: {total}\r\n\
         Connection: close\r\n\r\n"
    );
    let _ = conn.write_all(head.as_bytes());
    std::thread::sleep(late);
    let _ = conn.write_all(&body_bytes(0, total));
}

/// A server whose answers to ranges announce 10 bytes more than the range (and send them):
/// every other answer is the whole body, its bytes 300 ms after its head, so that the ranges'
/// answers come first.
fn overlong_ranges_server() -> String {
    raw_server(|mut conn, range| {
        use std::io::Write;
        let Some((a, b)) = range else {
            return whole_answer(&mut conn, std::time::Duration::from_millis(300));
        };
        let len = b + 1 - a + 10;
        let head = format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {a}-{b}/{}\r\n\
             Content-Length: {len}\r\nConnection: close\r\n\r\n",
            2 << 20
        );
        let _ = conn.write_all(head.as_bytes());
        let _ = conn.write_all(&body_bytes(a, len as usize));
    })
}

#[test]
fn a_range_answer_longer_than_its_range_does_not_spill_into_the_file() {
    let base = overlong_ranges_server();
    let out = tempfile::tempdir().unwrap();
    let record = save(&["--split", "2"], out.path(), format!("{base}/long.bin"), 0);
    assert!(record["error"].is_null(), "{record}");
    assert_whole(&out.path().join("long.bin"), 2 << 20);
}

/// A server that answers a plain request at once with the whole body and holds every range
/// request unanswered until the client gives up on it, as a server that serves a client one
/// connection at a time may.
fn one_connection_server() -> String {
    raw_server(|mut conn, range| {
        use std::io::Read;
        match range {
            // Nothing is sent; this ends when the client closes the connection.
            Some(_) => drop(conn.read(&mut [0u8; 1])),
            None => whole_answer(&mut conn, std::time::Duration::ZERO),
        }
    })
}

#[test]
fn ranges_a_server_leaves_unanswered_do_not_hold_the_download_up() {
    let base = one_connection_server();
    let out = tempfile::tempdir().unwrap();
    // The first connection reads the whole body; the helpers stop waiting for their answers
    // after a second or so, far within the stall timeout they would otherwise wait out.
    let args = ["--split", "4", "--stall-timeout", "20"];
    let record = save(&args, out.path(), format!("{base}/held.bin"), 0);
    assert!(record["error"].is_null(), "{record}");
    let ms = record["ms"].as_f64().unwrap();
    assert!(
        ms < 0.5 * 20_000.0,
        "{ms} ms, against a stall timeout of 20 s"
    );
    assert_whole(&out.path().join("held.bin"), 2 << 20);
}

#[test]
fn a_split_taken_up_again_shares_the_missing_ranges_with_the_lines_mirrors() {
    let first = Origin::start().unwrap();
    let mirror = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    // A split part left with its first quarter in, and its record (the format split.rs
    // writes): four ranges of SIZE / 4, rounded up, the first one whole.
    let quarter = SIZE.div_ceil(4) as u64;
    fs::write(
        out.path().join("s.bin.part.split"),
        body_bytes(0, quarter as usize),
    )
    .unwrap();
    let mut record = String::from("fetchpar split state 1\nvalidator \n");
    for i in 0..4u64 {
        let (start, end) = (i * quarter, ((i + 1) * quarter).min(SIZE as u64));
        let done = if i == 0 { quarter } else { 0 };
        record.push_str(&format!("{start} {end} {done}\n"));
    }
    fs::write(out.path().join("s.bin.part.ranges"), record).unwrap();
    let path = format!("/s.bin?size={SIZE}");
    let line = format!("{} {}", first.url(&path), mirror.url(&path));
    let resumed = save(&["--split", "4", "-c"], out.path(), line, 0);
    assert_eq!(resumed["bytes"], SIZE as u64 - quarter, "{resumed}");
    // The second range from the line's URL (the first answer), the third from it too and the
    // fourth from the mirror, taking turns as a fresh split does.
    assert_eq!((first.requests(), mirror.requests()), (2, 1));
    assert_whole(&out.path().join("s.bin"), SIZE);
    assert_eq!(files_in(out.path()), ["s.bin"]);
}
