//! Saving to disk: names, collisions, policies, atomic results, resume, checksums, limits and
//! retry lists, against the loopback origin.

mod support;

use std::fs;
use std::path::Path;

use fetchpar::links::hex;
use fetchpar::origin::body_bytes;
use predicates::prelude::*;
use sha2::{Digest, Sha256};
use support::*;

fn sha_hex(bytes: &[u8]) -> String {
    fetchpar::links::hex(&Sha256::digest(bytes))
}

#[test]
fn saves_bodies_under_names_from_the_url() {
    let origin = Origin::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("new/sub");
    let file = list(&[
        origin.url("/files/report.csv?size=5000"),
        origin.url("/files/?size=7"),
    ]);
    let run = fetchpar()
        .args(["--json", "-o"])
        .arg(&out)
        .arg(file.path())
        .assert()
        .success();
    assert_eq!(files_in(&out), vec!["index.html", "report.csv"]);
    assert_eq!(
        fs::read(out.join("report.csv")).unwrap(),
        body_bytes(0, 5000)
    );
    let records = json_lines(&run.get_output().stdout);
    let record = find(&records, "report.csv");
    assert_eq!(record["sha256"], sha_hex(&body_bytes(0, 5000)));
    assert!(record["path"].as_str().unwrap().ends_with("report.csv"));
}

#[test]
fn hostile_names_never_leave_the_output_folder() {
    let origin = Origin::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    let long = "n".repeat(400);
    let lines = vec![
        origin.url("/..%2F..%2Fescaped-slash"),
        origin.url("/..%5C..%5Cescaped-backslash"),
        origin.url(&format!("/{long}.txt")),
        origin.url("/%2E%2E%2E"),
        origin.url("/CON"),
        origin.url("/x?size=3") + " out=../../outside-by-out",
        origin.url("/cd?cd=attachment%3B%20filename%3D%22..%2F..%2Fcd-evil.sh%22"),
        // A line's dir= with the server's name: the folder goes down only, the name is plain.
        origin.url("/cd4?cd=attachment%3B%20filename%3D%22..%2Fin-dir.txt%22") + " dir=../../up",
        // Names with nothing usable in them: the URL's name is taken instead.
        origin.url("/from-url-1.txt?cd=attachment%3B%20filename%3D%22..%22"),
        origin.url("/from-url-2.txt?cd=attachment%3B%20filename%3D%22..%2F%22"),
        // A name in raw UTF-8, as servers send them, is taken as curl -J and wget take it.
        origin.url("/cd3?cd=attachment%3B%20filename%3D%22caf%C3%A9.txt%22"),
        // A right-to-left override would make `ls` show this name as `invoiceexe.pdf`.
        origin
            .url("/cd2?cd=attachment%3B%20filename%2A%3DUTF-8%27%27invoice%25E2%2580%25AEfdp.exe"),
    ];
    fetchpar()
        .args(["--content-disposition", "-o"])
        .arg(&out)
        .arg(list(&lines).path())
        .assert()
        .success();
    assert_eq!(
        files_in(root.path()),
        vec!["out"],
        "nothing was written beside the folder"
    );
    let saved = files_in(&out);
    assert_eq!(saved.len(), lines.len(), "{saved:?}");
    assert_eq!(files_in(&out.join("up")), ["in-dir.txt"]);
    for expected in [
        "escaped-slash",
        "escaped-backslash",
        "_CON",
        "outside-by-out",
        "cd-evil.sh",
        "invoice_fdp.exe",
        "café.txt",
        "from-url-1.txt",
        "from-url-2.txt",
    ] {
        assert!(
            saved.iter().any(|n| n == expected),
            "{expected} missing from {saved:?}"
        );
    }
    assert!(
        saved.iter().any(|n| n.ends_with(".txt") && n.len() <= 200),
        "{saved:?}"
    );
    assert!(saved.iter().all(|n| !n.starts_with('.')), "{saved:?}");
}

#[test]
fn a_retried_download_keeps_its_content_disposition_name() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let url = origin
        .url("/dl?size=9000&truncate_once=100&cd=attachment%3B%20filename%3D%22report.csv%22");
    let run = fetchpar()
        .args([
            "--json",
            "--content-disposition",
            "--retry-delay",
            "0.01",
            "-o",
        ])
        .arg(out.path())
        .arg(list(&[url]).path())
        .assert()
        .success();
    assert_eq!(json_lines(&run.get_output().stdout)[0]["attempts"], 2);
    assert_eq!(
        files_in(out.path()),
        vec!["report.csv"],
        "one name, no orphaned part"
    );
    assert_eq!(
        fs::read(out.path().join("report.csv")).unwrap(),
        body_bytes(0, 9000)
    );
}

#[test]
fn trust_server_names_names_files_from_where_the_redirects_led_as_wget_does() {
    let origin = Origin::start().unwrap();
    let to = |location: &str| -> String {
        let encoded: String = url::form_urlencoded::byte_serialize(location.as_bytes()).collect();
        origin.url(&format!("/download?location={encoded}"))
    };
    let tool = to("/files/v1/tool-1.2.tar.gz?size=3000");
    let disposed = to("/files/x.bin?size=10&cd=attachment%3B%20filename%3D%22named.txt%22");
    let direct = origin.url("/plain.bin?size=20");
    let saved = |args: &[&str], lines: &[String]| {
        let out = tempfile::tempdir().unwrap();
        fetchpar()
            .args(args)
            .arg("-o")
            .arg(out.path())
            .arg(list(lines).path())
            .assert()
            .success();
        out
    };

    // As asked for, the redirect's own name (wget's default, and curl -O's).
    let out = saved(&[], std::slice::from_ref(&tool));
    assert_eq!(files_in(out.path()), ["download"]);

    let out = saved(&["--trust-server-names"], &[tool.clone(), direct.clone()]);
    assert_eq!(files_in(out.path()), ["plain.bin", "tool-1.2.tar.gz"]);
    assert_eq!(
        fs::read(out.path().join("tool-1.2.tar.gz")).unwrap(),
        body_bytes(0, 3000)
    );

    // The folders --force-directories makes are the final URL's too.
    let folders = [
        "--trust-server-names",
        "--force-directories",
        "--no-host-directories",
    ];
    let out = saved(&folders, std::slice::from_ref(&tool));
    assert_eq!(files_in(&out.path().join("files/v1")), ["tool-1.2.tar.gz"]);

    // A Content-Disposition name, asked for with -J, still comes first.
    let out = saved(&["--trust-server-names", "-J"], &[disposed]);
    assert_eq!(files_in(out.path()), ["named.txt"]);

    // As with -J, the name is not known before the request: -c and -N cannot go with it.
    for other in ["-c", "-N"] {
        fetchpar()
            .args(["--trust-server-names", other, "-o", "x"])
            .arg(&tool)
            .assert()
            .code(2);
    }
}

#[test]
fn colliding_names_are_numbered_in_input_order() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    // Later lines answer first, so completion order is the reverse of input order.
    let lines: Vec<String> = (0..4)
        .map(|i| {
            origin.url(&format!(
                "/{i}/data.csv?size={}&delay={}",
                10 + i,
                300 - 100 * i
            ))
        })
        .collect();
    fetchpar()
        .arg("-o")
        .arg(out.path())
        .arg(list(&lines).path())
        .assert()
        .success();
    assert_eq!(
        files_in(out.path()),
        vec!["data.1.csv", "data.2.csv", "data.3.csv", "data.csv"]
    );
    for (i, name) in ["data.csv", "data.1.csv", "data.2.csv", "data.3.csv"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            fs::read(out.path().join(name)).unwrap().len(),
            10 + i,
            "{name}"
        );
    }
}

#[test]
fn per_line_out_names_and_unknown_keys() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let lines = vec![
        origin.url("/a?size=4") + " out=chosen.bin",
        origin.url("/b?size=4") + " colour=blue",
    ];
    let run = fetchpar()
        .args(["--json", "-o"])
        .arg(out.path())
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    assert_eq!(files_in(out.path()), vec!["chosen.bin"]);
    let bad = records.iter().find(|r| r["line"] == 2).unwrap();
    assert_eq!(kind(bad), "invalid_url");
    assert!(bad["error"]["message"].as_str().unwrap().contains("colour"));
}

#[test]
fn on_exists_policies() {
    let origin = Origin::start().unwrap();
    let url = origin.url("/p/file.txt?size=6");
    let file = list(&[url]);
    for (policy, code, expect_files, original_kept) in [
        ("rename", 0, vec!["file.1.txt", "file.txt"], true),
        ("skip", 0, vec!["file.txt"], true),
        ("overwrite", 0, vec!["file.txt"], false),
        ("error", 1, vec!["file.txt"], true),
    ] {
        let out = tempfile::tempdir().unwrap();
        fs::write(out.path().join("file.txt"), b"original").unwrap();
        let run = fetchpar()
            .args(["--json", "--on-exists", policy, "-o"])
            .arg(out.path())
            .arg(file.path())
            .assert()
            .code(code);
        assert_eq!(files_in(out.path()), expect_files, "{policy}");
        let kept = fs::read(out.path().join("file.txt")).unwrap() == b"original";
        assert_eq!(kept, original_kept, "{policy}");
        let record = &json_lines(&run.get_output().stdout)[0];
        match policy {
            "skip" => assert_eq!(record["skipped"], true),
            "error" => assert_eq!(kind(record), "exists"),
            _ => assert_eq!(kind(record), "ok"),
        }
    }
}

#[test]
fn a_truncated_download_never_gets_the_final_name() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let lines = vec![origin.url("/cut?size=100000&truncate=30000") + " out=cut.bin"];
    let run = fetchpar()
        .args(["--json", "--retries", "0", "-o"])
        .arg(out.path())
        .arg(list(&lines).path())
        .assert()
        .code(1);
    assert_eq!(kind(&json_lines(&run.get_output().stdout)[0]), "io");
    assert!(!out.path().join("cut.bin").exists());
    assert_eq!(
        fs::metadata(out.path().join("cut.bin.part")).unwrap().len(),
        30000
    );

    // One that failed before its first byte leaves nothing behind: an empty part has nothing
    // to resume.
    let lines = vec![
        origin.url("/silent?size=1000&stall=0") + " out=silent.bin",
        origin.url("/reset?size=1000&truncate=0") + " out=reset.bin",
    ];
    fetchpar()
        .args(["--retries", "0", "--stall-timeout", "0.3", "-o"])
        .arg(out.path())
        .arg(list(&lines).path())
        .assert()
        .code(1);
    assert_eq!(
        files_in(out.path()),
        vec!["cut.bin.part", "cut.bin.part.meta"]
    );

    // --remove-on-error (curl's): what a URL that failed for good left goes too, whole files
    // stay, and so does the part of a URL cut short by --fail-early, for the next run.
    let clean = tempfile::tempdir().unwrap();
    fs::write(clean.path().join("kept.bin"), b"saved before").unwrap();
    let lines = vec![
        origin.url("/cut2?size=100000&truncate=30000") + " out=cut.bin",
        origin.url("/whole?size=10") + " out=whole.bin",
    ];
    fetchpar()
        .args([
            "--retries",
            "1",
            "--retry-delay",
            "0",
            "--remove-on-error",
            "-o",
        ])
        .arg(clean.path())
        .arg(list(&lines).path())
        .assert()
        .code(1);
    assert_eq!(files_in(clean.path()), vec!["kept.bin", "whole.bin"]);
    // The 404 comes a second after the dripping body has started.
    let lines = vec![
        origin.url("/drip?size=100000&drip=20") + " out=drip.bin",
        origin.url("/gone?status=404&delay=1000"),
    ];
    fetchpar()
        .args(["--fail-early", "--remove-on-error", "-o"])
        .arg(clean.path())
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let files = files_in(clean.path());
    assert_eq!(
        files[..2],
        ["drip.bin.part", "drip.bin.part.meta"],
        "{files:?}"
    );
}

#[test]
fn continue_resumes_a_part_file_with_a_range_request() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let first = list(&[origin.url("/r?size=100000&truncate=40000") + " out=r.bin"]);
    fetchpar()
        .args(["--retries", "0", "-o"])
        .arg(out.path())
        .arg(first.path())
        .assert()
        .code(1);
    let second = list(&[origin.url("/r?size=100000") + " out=r.bin"]);
    // curl's spelling, `-C -`, is -c.
    let run = fetchpar()
        .args(["--json", "-C", "-", "-d"])
        .arg(out.path())
        .arg(second.path())
        .assert()
        .success();
    let record = &json_lines(&run.get_output().stdout)[0];
    assert_eq!(record["status"], 206);
    assert_eq!(
        record["bytes"], 60000,
        "only the missing bytes were fetched"
    );
    assert_eq!(record["sha256"], sha_hex(&body_bytes(0, 100000)));
    assert_eq!(
        fs::read(out.path().join("r.bin")).unwrap(),
        body_bytes(0, 100000)
    );
    assert_eq!(files_in(out.path()), vec!["r.bin"]);

    // Complete already: the server says there is nothing past its end, and it is kept.
    let before = origin.requests();
    let run = fetchpar()
        .args(["--json", "-c", "-o"])
        .arg(out.path())
        .arg(second.path())
        .assert()
        .success();
    let record = &json_lines(&run.get_output().stdout)[0];
    assert_eq!(record["skipped"], true, "{record}");
    assert_eq!(
        (record["status"].as_u64(), record["bytes"].as_u64()),
        (Some(416), Some(0))
    );
    assert_eq!(origin.requests(), before + 1, "one request, for the range");
    assert_eq!(files_in(out.path()), vec!["r.bin"]);
}

#[test]
fn continue_takes_up_a_file_another_program_left_under_its_final_name_as_wget_does() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let put = |name: &str, bytes: &[u8]| fs::write(out.path().join(name), bytes).unwrap();
    let whole = |name: &str| {
        assert_eq!(
            fs::read(out.path().join(name)).unwrap(),
            body_bytes(0, 100000),
            "{name}"
        );
    };
    let fetched =
        |record: &serde_json::Value| (record["status"].as_u64(), record["bytes"].as_u64());
    // Cut off by curl or a browser after 30,000 bytes: only the rest is fetched.
    put("cut.bin", &body_bytes(0, 30000));
    let record = save_one(&["-c"], out.path(), origin.url("/cut.bin?size=100000"), 0);
    assert_eq!(fetched(&record), (Some(206), Some(70000)), "{record}");
    assert_eq!(record["sha256"], sha_hex(&body_bytes(0, 100000)));
    whole("cut.bin");
    // A server that takes no ranges cannot continue it, and the file is kept as it is, as
    // wget -c keeps it rather than truncate it; one of the size it announces is whole already.
    put("all.bin", &body_bytes(0, 30000));
    let line = origin.url("/all.bin?size=100000&no_range=1");
    let record = save_one(&["-c"], out.path(), line, 1);
    assert_eq!(kind(&record), "exists", "{record}");
    assert!(message(&record).contains("takes no ranges"), "{record}");
    assert_eq!(
        fs::read(out.path().join("all.bin")).unwrap(),
        body_bytes(0, 30000)
    );
    put("done.bin", &body_bytes(0, 100000));
    let line = origin.url("/done.bin?size=100000&no_range=1");
    let record = save_one(&["-c"], out.path(), line, 0);
    assert_eq!(record["skipped"], true, "{record}");
    assert_eq!(fetched(&record), (Some(200), Some(0)));
    // Longer than the server's file: not its file, kept and said so.
    put("long.bin", &body_bytes(0, 150000));
    let record = save_one(&["-c"], out.path(), origin.url("/long.bin?size=100000"), 1);
    assert_eq!(kind(&record), "exists", "{record}");
    assert!(message(&record).contains("has 100000 bytes"), "{record}");
    assert_eq!(fs::read(out.path().join("long.bin")).unwrap().len(), 150000);
    // An empty one holds nothing to lose: fetched whole.
    put("empty.bin", b"");
    let record = save_one(&["-c"], out.path(), origin.url("/empty.bin?size=100000"), 0);
    assert_eq!(fetched(&record), (Some(200), Some(100000)), "{record}");
    whole("empty.bin");
    // Cut off again while it is continued: the file waits under NAME.part, never under its
    // final name half grown, and the next -c finishes it.
    put("again.bin", &body_bytes(0, 30000));
    let line = origin.url("/again.bin?size=100000&cut_ranges=1");
    let record = save_one(&["-c", "--retries", "0"], out.path(), line.clone(), 1);
    assert_eq!(kind(&record), "io", "{record}");
    assert!(!out.path().join("again.bin").exists());
    let part = fs::read(out.path().join("again.bin.part")).unwrap();
    assert!(part.len() > 30000 && part[..] == body_bytes(0, 100000)[..part.len()]);
    let record = save_one(&["-c"], out.path(), line, 0);
    assert_eq!(record["status"], 206, "{record}");
    whole("again.bin");
    // With --remove-on-error, a file that was there goes back as it was, never deleted.
    put("kept.bin", &body_bytes(0, 30000));
    let line = origin.url("/kept.bin?size=100000&cut_ranges=1");
    let args = ["-c", "--retries", "0", "--remove-on-error"];
    let record = save_one(&args, out.path(), line, 1);
    assert_eq!(kind(&record), "io", "{record}");
    let kept = fs::read(out.path().join("kept.bin")).unwrap();
    assert!(kept == body_bytes(0, 30000), "{} bytes", kept.len());
    // One whose file on the server is larger than --max-size is not moved aside to no end:
    // no -c can take it up, so it stays under its name as it was.
    put("over.bin", &body_bytes(0, 30000));
    let line = origin.url("/over.bin?size=100000");
    let record = save_one(&["-c", "--max-size", "50000"], out.path(), line, 1);
    assert_eq!(kind(&record), "too_large", "{record}");
    assert_eq!(
        fs::read(out.path().join("over.bin")).unwrap(),
        body_bytes(0, 30000)
    );
    let names = [
        "again.bin",
        "all.bin",
        "cut.bin",
        "done.bin",
        "empty.bin",
        "kept.bin",
        "long.bin",
        "over.bin",
    ];
    assert_eq!(files_in(out.path()), names, "no part or meta file left");
}

/// A control file as aria2c writes one (version 1, no torrent) for a 100,000-byte download
/// in pieces of `piece` bytes: `field`, the bitfield of the pieces written whole (one byte:
/// at most 8 pieces), and the pieces being written as (index, length, bitfield of their 16 KiB
/// blocks, one byte).
fn aria2_control(piece: u32, field: u8, writing: &[(u32, u32, u8)]) -> Vec<u8> {
    let mut control = vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    control.extend(piece.to_be_bytes());
    control.extend(100000u64.to_be_bytes());
    control.extend(0u64.to_be_bytes());
    control.extend(1u32.to_be_bytes());
    control.push(field);
    control.extend((writing.len() as u32).to_be_bytes());
    for &(index, length, blocks) in writing {
        for number in [index, length, 1] {
            control.extend(number.to_be_bytes());
        }
        control.push(blocks);
    }
    control
}

#[test]
fn continue_takes_up_a_download_aria2c_left_unfinished_from_its_control_file() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    // aria2c sizes the file whole at once and fills its pieces in any order, listing those
    // that came in `NAME.aria2` beside it: here pieces 0, 1 and 4 of 16 KiB (of 7, the last
    // one short), in aria2c's format (version 1, no torrent, piece length, total, upload, the
    // bitfield, no piece being written).
    let piece = 16384;
    let done = [0..2 * piece, 4 * piece..5 * piece];
    let mut holes = vec![0u8; 100000];
    for range in done.clone() {
        holes[range.clone()].copy_from_slice(&body_bytes(0, 100000)[range]);
    }
    let control = aria2_control(piece as u32, 0b1100_1000, &[]);
    let put = |name: &str, control: &[u8]| {
        fs::write(out.path().join(name), &holes).unwrap();
        fs::write(out.path().join(format!("{name}.aria2")), control).unwrap();
    };
    let whole = |name: &str| fs::read(out.path().join(name)).unwrap() == body_bytes(0, 100000);
    put("a.bin", &control);
    let record = save_one(&["-c"], out.path(), origin.url("/a.bin?size=100000"), 0);
    assert_eq!(record["status"], 206, "{record}");
    assert_eq!(
        record["bytes"],
        100000 - 3 * piece,
        "only what aria2c had not: {record}"
    );
    assert_eq!(record["skipped"], false, "{record}");
    assert!(whole("a.bin"));
    // Without preallocation (aria2c's --file-allocation=none) the file ends with its furthest
    // piece written.
    put("t.bin", &control);
    let short = fs::OpenOptions::new()
        .write(true)
        .open(out.path().join("t.bin"))
        .unwrap();
    short.set_len(5 * piece as u64).unwrap();
    let record = save_one(&["-c"], out.path(), origin.url("/t.bin?size=100000"), 0);
    assert_eq!(record["bytes"], 100000 - 3 * piece, "{record}");
    assert!(whole("t.bin"));
    // Its two gaps, each after a run of written pieces, over two connections at once.
    put("s.bin", &control);
    let line = origin.url("/s.bin?size=100000");
    let record = save_one(&["-c", "--split", "4"], out.path(), line, 0);
    assert_eq!(record["segments"], 2, "{record}");
    assert!(whole("s.bin"));
    // A failure with --remove-on-error puts aria2c's file back as it was, for aria2c.
    put("r.bin", &control);
    let line = origin.url("/r.bin?size=100000&fail=9");
    let args = ["-c", "--retries", "0", "--remove-on-error"];
    let record = save_one(&args, out.path(), line, 1);
    assert_eq!(kind(&record), "http_status", "{record}");
    assert_eq!(fs::read(out.path().join("r.bin")).unwrap(), holes);
    // So does a file too large for --max-size, whatever --remove-on-error says: it is not
    // fetchpar's to remove.
    put("m.bin", &control);
    let line = origin.url("/m.bin?size=100000");
    let record = save_one(&["-c", "--max-size", "50000"], out.path(), line, 1);
    assert_eq!(kind(&record), "too_large", "{record}");
    assert_eq!(fs::read(out.path().join("m.bin")).unwrap(), holes);
    // The blocks aria2c had written of a piece it was still writing are kept too: here the
    // first two 16 KiB blocks of the second (short) 64 KiB piece, no piece whole.
    let blocks = 65536..65536 + 2 * 16384;
    let mut partly = vec![0u8; 100000];
    partly[blocks.clone()].copy_from_slice(&body_bytes(0, 100000)[blocks]);
    fs::write(out.path().join("p.bin"), &partly).unwrap();
    let writing = aria2_control(65536, 0, &[(1, 100000 - 65536, 0b1100_0000)]);
    fs::write(out.path().join("p.bin.aria2"), &writing).unwrap();
    let record = save_one(&["-c"], out.path(), origin.url("/p.bin?size=100000"), 0);
    assert_eq!(record["bytes"], 100000 - 2 * 16384, "{record}");
    assert!(whole("p.bin"));
    // A download of another size than the line's size=, or than the server's file now: the
    // file is fetched anew, and while that is not done aria2c's file stays as it was, under
    // its name with its control file (here the fetch anew is cut short).
    let changed = [
        (
            "x.bin",
            format!(
                "{}\n  size=200000",
                origin.url("/x.bin?size=200000&truncate=150000")
            ),
        ),
        ("w.bin", origin.url("/w.bin?size=120000&truncate=60000")),
    ];
    for (name, line) in changed {
        put(name, &control);
        let args = ["-c", "--retries", "0", "--remove-on-error"];
        let record = save_one(&args, out.path(), line, 1);
        assert_eq!(kind(&record), "io", "{name}: {record}");
        assert_eq!(fs::read(out.path().join(name)).unwrap(), holes, "{name}");
    }
    // The server's file changed, and the fetch anew is whole: it takes the old one's place.
    put("y.bin", &control);
    let record = save_one(&["-c"], out.path(), origin.url("/y.bin?size=120000"), 0);
    assert_eq!(record["bytes"], 120000, "{record}");
    assert_eq!(
        fs::read(out.path().join("y.bin")).unwrap(),
        body_bytes(0, 120000)
    );
    // A control file that cannot be used (cut short): the file's length, and a line's size=
    // that it has, say nothing of what is there, so it is fetched anew.
    put("b.bin", &control[..20]);
    let line = format!("{}\n  size=100000", origin.url("/b.bin?size=100000"));
    let record = save_one(&["-c"], out.path(), line, 0);
    assert_eq!(record["bytes"], 100000, "{record}");
    assert!(whole("b.bin"));
    // Without -c the file is left to aria2c: the download goes under another name.
    put("c.bin", &control);
    let record = save_one(&[], out.path(), origin.url("/c.bin?size=100000"), 0);
    assert_ne!(
        record["path"],
        out.path().join("c.bin").display().to_string()
    );
    assert_eq!(fs::read(out.path().join("c.bin")).unwrap(), holes);
    let left: Vec<String> = files_in(out.path())
        .into_iter()
        .filter(|name| name.contains(".aria2") || name.contains(".part"))
        .collect();
    assert_eq!(
        left,
        [
            "c.bin.aria2",
            "m.bin.aria2",
            "r.bin.aria2",
            "w.bin.aria2",
            "x.bin.aria2"
        ],
        "the done downloads' control files are gone"
    );
}

#[test]
fn an_aria2c_session_file_runs_as_aria2c_wrote_it() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    fs::create_dir(out.path().join("sub")).unwrap();
    fs::write(out.path().join("sub/cut.bin"), body_bytes(0, 30000)).unwrap();
    fs::write(out.path().join("kept.bin"), b"old").unwrap();
    // As `aria2c -c -x 4 -d sub --save-session FILE` writes it: a tab after each URL, then
    // its id and the options it was run with.
    let session = [
        format!("{}\t", origin.url("/cut.bin?size=100000")),
        " gid=dec015a3ffad1790".to_string(),
        " dir=sub".to_string(),
        " continue=true".to_string(),
        " max-connection-per-server=4".to_string(),
        format!("{}\t", origin.url("/busy?fail=9")),
        " gid=2089b05ecca3d829".to_string(),
        " max-tries=3".to_string(),
        origin.url("/big.bin?size=4194304"),
        " max-connection-per-server=4".to_string(),
        " min-split-size=1048576".to_string(),
    ];
    let run = fetchpar()
        .args(["--json", "--retries", "0", "--retry-delay", "0.01", "-o"])
        .arg(out.path())
        .arg(list(&session).path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    // continue=true continues the part that is there, in the folder dir= names.
    let cut = find(&records, "/cut.bin");
    assert_eq!(
        (cut["status"].as_u64(), cut["bytes"].as_u64()),
        (Some(206), Some(70000))
    );
    assert_eq!(
        fs::read(out.path().join("sub/cut.bin")).unwrap(),
        body_bytes(0, 100000)
    );
    // max-tries= is the line's attempts in all, whatever --retries says.
    let busy = find(&records, "/busy");
    assert_eq!(busy["attempts"], 3, "{busy}");
    // max-connection-per-server= alone asks for that many connections, as -x does, in ranges
    // of min-split-size= (4 MiB is not split at the run's 20 MiB).
    assert_eq!(find(&records, "/big.bin")["segments"], 4);
    // continue=false: the file there is not continued, -c notwithstanding, but kept, the
    // download saved beside it.
    let lines = [
        origin.url("/kept.bin?size=10"),
        " continue=false".to_string(),
    ];
    let kept = save_one(&["-c"], out.path(), lines.join("\n"), 0);
    assert_ne!(
        kept["path"],
        out.path().join("kept.bin").display().to_string()
    );
    assert_eq!(fs::read(out.path().join("kept.bin")).unwrap(), b"old");

    // Under --content-disposition, whose name comes with the answer, continue=true needs the
    // line's out=.
    let lines = [origin.url("/named?size=5"), " continue=true".to_string()];
    let run = fetchpar()
        .args(["--json", "-J", "-o"])
        .arg(out.path())
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let refused = &json_lines(&run.get_output().stdout)[0];
    assert_eq!(kind(refused), "invalid_url");
    assert!(
        message(refused).contains("give the line out=NAME"),
        "{refused}"
    );
}

/// Where a result says its body was saved.
fn path(record: &serde_json::Value) -> std::path::PathBuf {
    Path::new(record["path"].as_str().unwrap()).to_path_buf()
}

/// The JSON records of a run over the list `file`, saving into `out`, without retries, with
/// `extra` options; its exit code must be `code`.
fn run_into(out: &Path, extra: &[&str], file: &Path, code: i32) -> Vec<serde_json::Value> {
    let run = fetchpar()
        .args(["--json", "--retries", "0", "-o"])
        .arg(out)
        .args(extra)
        .arg(file)
        .assert()
        .code(code);
    json_lines(&run.get_output().stdout)
}

#[test]
fn a_session_aria2c_wrote_with_its_starting_options_runs_with_them_as_the_lines_own() {
    // aria2c's --save-session writes the options aria2c was started with on every line (here
    // as `aria2c --timeout=7 --remote-time=true --allow-overwrite=true --http-user=u
    // --http-passwd=p --retry-wait=0` writes them). They are the line's own, as in aria2c.
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let session = [
        format!(
            "{}\t",
            origin.url("/who?echo=authorization&last_modified=1000000000")
        ),
        " gid=dec015a3ffad1790".to_string(),
        " timeout=7".to_string(),
        " remote-time=true".to_string(),
        " allow-overwrite=true".to_string(),
        " http-user=u".to_string(),
        " http-passwd=p".to_string(),
        " retry-wait=0".to_string(),
        " use-head=true".to_string(),
        format!("{}\t", origin.url("/busy?fail=2")),
        " max-tries=3".to_string(),
        " retry-wait=0".to_string(),
        // The same server time, without the line's options: the run's (no -R, rename).
        origin.url("/plain?last_modified=1000000000"),
    ];
    let file = list(&session);
    let run = |extra: &[&str], file: &Path, code: i32| {
        let retry = ["--retry-delay", "30", "--retry-max-time", "5"];
        run_into(out.path(), &[&retry[..], extra].concat(), file, code)
    };
    let mtime = |record: &serde_json::Value| {
        let path = record["path"].as_str().unwrap();
        let modified = fs::metadata(path).unwrap().modified().unwrap();
        modified
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let records = run(&[], file.path(), 0);
    let who = find(&records, "/who");
    let saved = fs::read_to_string(who["path"].as_str().unwrap()).unwrap();
    // Basic u:p, for the line's own URL, with the server's time for the line's remote-time.
    assert_eq!(saved.trim(), "Basic dTpw", "{who}");
    assert_eq!(mtime(who), 1_000_000_000, "{who}");
    assert_ne!(mtime(find(&records, "/plain")), 1_000_000_000);
    // retry-wait=0 in place of --retry-delay 30: the two retries did not wait (a wait of 15 s
    // or more would pass --retry-max-time, and no retry would start).
    let busy = find(&records, "/busy");
    assert_eq!(
        (kind(busy).as_str(), busy["attempts"].as_u64()),
        ("ok", Some(3))
    );
    // Again: allow-overwrite=true replaces its file, where the run renames the other.
    let again = run(&[], file.path(), 0);
    assert_eq!(path(find(&again, "/who")), out.path().join("who"));
    assert_eq!(path(find(&again, "/plain")), out.path().join("plain.1"));
}

#[test]
fn a_lines_conditional_get_accept_gzip_and_dry_run_are_its_own() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = |extra: &[&str], file: &Path, code: i32| run_into(out.path(), extra, file, code);
    // conditional-get=true: the file saved is kept while the server's is no newer (-N), and
    // the line cannot also continue it.
    let dated = origin.url("/n.txt?last_modified=1000000000");
    let checked = list(&[
        format!("{dated} conditional-get=true"),
        format!(
            "{} conditional-get=true continue=true",
            origin.url("/c.bin?size=5")
        ),
    ]);
    let first = run(&[], checked.path(), 1);
    assert_eq!(path(find(&first, "/n.txt")), out.path().join("n.txt"));
    let both = find(&first, "/c.bin");
    assert!(message(both).contains("do not go together"), "{both}");
    let again = run(&[], checked.path(), 1);
    let kept = find(&again, "/n.txt");
    assert_eq!(kept["skipped"], true, "{kept}");
    assert_eq!(path(kept), out.path().join("n.txt"));
    // Nor can it be compared under a name that comes with the answer.
    let named = run(&["-J"], checked.path(), 1);
    let later = find(&named, "/n.txt");
    assert!(
        message(later).contains("needs the file's name before"),
        "{later}"
    );
    // http-accept-gzip=true asks for the body compressed and saves it decoded (--compressed),
    // where the run asks for the other as it is stored.
    let negotiated = "gzip=1&sized=1&negotiate=1&size=3000";
    let coded = list(&[
        format!(
            "{} http-accept-gzip=true",
            origin.url(&format!("/g.csv?{negotiated}"))
        ),
        origin.url(&format!("/p.csv?{negotiated}")),
    ]);
    let records = run(&[], coded.path(), 0);
    for (name, sent_compressed) in [("/g.csv", true), ("/p.csv", false)] {
        let record = find(&records, name);
        assert_eq!(
            fs::read(path(record)).unwrap(),
            body_bytes(0, 3000),
            "{record}"
        );
        let length = record["length"].as_u64().unwrap();
        assert_eq!(length < 3000, sent_compressed, "{record}");
    }
    // dry-run=true checks its URL (HEAD) and saves nothing, claiming no name, beside a line
    // the run saves; the text line shows the size announced.
    let checked = list(&[
        format!("{} dry-run=true", origin.url("/z.txt?size=4000")),
        origin.url("/w.txt?size=10"),
    ]);
    let records = run(&[], checked.path(), 0);
    let only_checked = find(&records, "/z.txt");
    assert_eq!(kind(only_checked), "ok");
    assert_eq!(only_checked["bytes"], 0, "{only_checked}");
    assert_eq!(only_checked["length"], 4000, "{only_checked}");
    assert!(only_checked["path"].is_null(), "{only_checked}");
    assert!(!out.path().join("z.txt").exists());
    assert_eq!(path(find(&records, "/w.txt")), out.path().join("w.txt"));
    let text = fetchpar()
        .args(["--color", "never", "-o"])
        .arg(out.path())
        .arg(checked.path())
        .assert()
        .success();
    let text = String::from_utf8_lossy(&text.get_output().stdout).to_string();
    let shown = text.lines().find(|l| l.contains("/z.txt")).unwrap();
    assert!(shown.contains("3.9 KiB") && !shown.contains("->"), "{text}");
    // dry-run=false in a --spider run reads its body; the other line is only checked.
    let fetched = list(&[
        format!("{} dry-run=false", origin.url("/f.txt?size=300")),
        origin.url("/s.txt?size=300"),
    ]);
    let spider = fetchpar()
        .args(["--json", "--spider", "-v"])
        .arg(fetched.path())
        .assert()
        .success();
    let output = spider.get_output();
    let records = json_lines(&output.stdout);
    assert_eq!(find(&records, "/f.txt")["bytes"], 300);
    assert_eq!(find(&records, "/s.txt")["bytes"], 0);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let requests: Vec<&str> = (stderr.lines())
        .filter(|l| l.contains("> GET ") || l.contains("> HEAD "))
        .collect();
    assert!(
        requests.iter().any(|l| l.contains("> GET /f.txt"))
            && requests.iter().any(|l| l.contains("> HEAD /s.txt")),
        "{requests:?}"
    );
}

#[test]
fn side_files_are_made_anew_never_written_through_a_symlink_put_there() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim");
    fs::write(&victim, b"keep").unwrap();
    // -c continues a file under its final name, writing the validator beside its part.
    fs::write(out.path().join("cut.bin"), body_bytes(0, 30000)).unwrap();
    std::os::unix::fs::symlink(&victim, out.path().join("cut.bin.part.meta")).unwrap();
    let record = save_one(&["-c"], out.path(), origin.url("/cut.bin?size=100000"), 0);
    assert_eq!(record["bytes"], 70000, "{record}");
    assert_eq!(fs::read(&victim).unwrap(), b"keep");
    assert_eq!(
        fs::read(out.path().join("cut.bin")).unwrap(),
        body_bytes(0, 100000)
    );
}

#[test]
fn a_retry_resumes_the_part_its_first_attempt_left_as_wget_does() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    // Cut off after 40,000 of 100,000 bytes the first time only; no -c.
    let line = origin.url("/cut?size=100000&truncate_once=40000");
    let record = &save_one(&["--retry-delay", "0.01"], out.path(), line, 0);
    assert_eq!(record["attempts"], 2);
    assert_eq!(record["status"], 206, "{record}");
    assert_eq!(record["bytes"], 60000, "only the missing bytes: {record}");
    assert_eq!(record["sha256"], sha_hex(&body_bytes(0, 100000)));
    assert_eq!(
        fs::read(out.path().join("cut")).unwrap(),
        body_bytes(0, 100000)
    );
    assert_eq!(
        files_in(out.path()),
        vec!["cut"],
        "no part or meta file left"
    );

    // A server that ignores ranges sends it all again, and the file is still whole.
    let line = origin.url("/whole?size=100000&truncate_once=40000&no_range=1");
    let record = &save_one(&["--retry-delay", "0.01"], out.path(), line, 0);
    assert_eq!(
        (record["status"].as_u64(), record["bytes"].as_u64()),
        (Some(200), Some(100000))
    );
    assert_eq!(
        fs::read(out.path().join("whole")).unwrap(),
        body_bytes(0, 100000)
    );
}

#[test]
fn continue_finishes_a_part_that_is_already_the_whole_file_as_wget_does() {
    // A run stopped after the last byte and before the rename leaves the whole file in the
    // part: the server answers the Range past its end with 416 and the size, and the part is
    // finished as it is, checked against its digest.
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    fs::write(out.path().join("all.bin.part"), body_bytes(0, 50000)).unwrap();
    let url = origin.url("/all.bin?size=50000");
    let digest = sha_hex(&body_bytes(0, 50000));
    let record = &save_one(&["-c"], out.path(), format!("{url} sha256={digest}"), 0);
    assert_eq!(record["status"], 416, "{record}");
    assert_eq!(record["bytes"], 0, "nothing downloaded again: {record}");
    assert_eq!(record["error"], serde_json::Value::Null);
    assert_eq!(record["sha256"], digest);
    assert_eq!(files_in(out.path()), vec!["all.bin"]);
    assert_eq!(
        fs::read(out.path().join("all.bin")).unwrap(),
        body_bytes(0, 50000)
    );

    // A part of the right size whose bytes are not the file's fails its digest, and goes.
    fs::write(out.path().join("bad.bin.part"), vec![b'x'; 50000]).unwrap();
    let url = origin.url("/bad.bin?size=50000");
    let record = save_one(&["-c"], out.path(), format!("{url} sha256={digest}"), 1);
    assert_eq!(kind(&record), "checksum");
    assert!(!out.path().join("bad.bin").exists());
    assert!(!out.path().join("bad.bin.part").exists());
}

#[test]
fn compressed_asks_as_curl_saves_decoded_and_resumes_with_a_plain_range() {
    let origin = Origin::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let save = |args: &[&str], url: String| {
        save_one(&[&["--compressed"], args].concat(), dir.path(), url, 0)
    };
    // Asked for as curl asks; a body sent compressed, with or without a length, saved decoded.
    let record = save(&[], origin.url("/ae?echo=accept-encoding"));
    assert_eq!(record["prefix"], "deflate, gzip, br, zstd");
    let decoded = body_bytes(0, 300000);
    for (name, query) in [("sized", "gzip=1&sized=1"), ("closed", "gzip=1")] {
        let record = save(&[], origin.url(&format!("/{name}.csv?{query}&size=300000")));
        let saved = fs::read(dir.path().join(format!("{name}.csv"))).unwrap();
        assert!(saved == decoded, "{name}: {} bytes", saved.len());
        assert_eq!(record["bytes"], 300000, "{record}");
        assert_eq!(record["sha256"], sha_hex(&decoded), "{record}");
    }
    // A part saved decoded is taken up with a plain range of the file (asked for as it is
    // stored), from a server that compresses only when asked to.
    let url = origin.url("/negotiated.csv?gzip=1&sized=1&negotiate=1&size=300000");
    fs::write(dir.path().join("negotiated.csv.part"), &decoded[..100_000]).unwrap();
    let record = save(&["-c"], url.clone());
    assert_eq!(
        (record["status"].as_u64(), record["bytes"].as_u64()),
        (Some(206), Some(200_000))
    );
    assert!(fs::read(dir.path().join("negotiated.csv")).unwrap() == decoded);
    // A server that compresses a range anyway is asked again for all of it.
    let url = origin.url("/stubborn.csv?gzip=1&sized=1&size=300000");
    fs::write(dir.path().join("stubborn.csv.part"), &decoded[..100_000]).unwrap();
    let record = save(&["-c"], url);
    assert_eq!(
        (record["status"].as_u64(), record["bytes"].as_u64()),
        (Some(200), Some(300_000))
    );
    assert!(fs::read(dir.path().join("stubborn.csv")).unwrap() == decoded);
}

/// `data` in a content coding, as a server sends it.
fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    match coding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "bare deflate" => {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            e.write_all(data).unwrap();
            drop(e);
            out
        }
        "zstd" => zstd::encode_all(data, 3).unwrap(),
        other => panic!("no coding {other}"),
    }
}

#[test]
fn compressed_decodes_deflate_brotli_zstd_and_chains_and_refuses_the_unknown() {
    let origin = Origin::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = body_bytes(0, 20_000);
    let gzip_then_br = encode("br", &encode("gzip", &text));
    for (name, header, encoded) in [
        ("zlib", "deflate", encode("deflate", &text)),
        ("bare", "deflate", encode("bare deflate", &text)),
        ("brotli", "br", encode("br", &text)),
        ("zstd", "zstd", encode("zstd", &text)),
        ("chain", "gzip,%20br", gzip_then_br.clone()),
    ] {
        let url = origin.url(&format!(
            "/{name}.csv?encoded={header}&hex={}",
            hex(&encoded)
        ));
        let record = save_one(&["--compressed"], dir.path(), url, 0);
        let saved = fs::read(dir.path().join(format!("{name}.csv"))).unwrap();
        assert!(saved == text, "{name}: {} bytes", saved.len());
        assert_eq!(record["bytes"], 20_000, "{record}");
        assert_eq!(record["sha256"], sha_hex(&text), "{record}");
        // Shown, decoded for its prefix.
        let run = fetchpar()
            .args(["--json", "--compressed", "--prefix", "30"])
            .arg(
                list(&[origin.url(&format!("/{name}?encoded={header}&hex={}", hex(&encoded)))])
                    .path(),
            )
            .assert()
            .success();
        let shown = &json_lines(&run.get_output().stdout)[0];
        assert_eq!(shown["prefix"], "fetchpar origin line 000000,ab", "{name}");
    }
    // Without --compressed a brotli body is neither asked for nor decoded, saved or shown: it
    // is the server's bytes.
    let url = origin.url(&format!(
        "/unasked.br?encoded=br&hex={}",
        hex(&encode("br", &text))
    ));
    let record = save_one(&[], dir.path(), url.clone(), 0);
    assert_eq!(
        fs::read(dir.path().join("unasked.br")).unwrap(),
        encode("br", &text)
    );
    assert_eq!(
        record["bytes"],
        encode("br", &text).len() as u64,
        "{record}"
    );
    let run = fetchpar()
        .args(["--json"])
        .arg(list(&[url]).path())
        .assert()
        .success();
    let shown = &json_lines(&run.get_output().stdout)[0];
    assert_ne!(
        shown["prefix"].as_str().unwrap().get(..8),
        Some("fetchpar"),
        "{shown}"
    );

    // An empty body is empty in any coding, saved or shown (gzip without --compressed).
    let record = save_one(
        &["--compressed"],
        dir.path(),
        origin.url("/none.csv?encoded=br&hex="),
        0,
    );
    assert_eq!(record["bytes"], 0, "{record}");
    assert_eq!(fs::read(dir.path().join("none.csv")).unwrap(), b"");
    let run = fetchpar()
        .arg("--json")
        .arg(list(&[origin.url("/none?encoded=gzip&hex=")]).path())
        .assert()
        .success();
    assert_eq!(json_lines(&run.get_output().stdout)[0]["bytes"], 0);

    // A coding fetchpar cannot undo fails the URL, named, and leaves no file behind.
    let url = origin.url("/old.csv?encoded=compress&body=not%20really");
    let record = save_one(&["--compressed"], dir.path(), url, 1);
    assert_eq!(kind(&record), "protocol", "{record}");
    assert!(message(&record).contains("`compress`"), "{record}");
    // A brotli body cut short, and one that is not brotli at all, fail as bodies that are not
    // their encoding.
    let cut = &gzip_then_br[..gzip_then_br.len() - 5];
    for (name, bytes) in [("cut", cut), ("junk", &b"not brotli"[..])] {
        let url = origin.url(&format!("/{name}.csv?encoded=br&hex={}", hex(bytes)));
        let record = save_one(&["--compressed"], dir.path(), url, 1);
        assert_eq!(kind(&record), "protocol", "{name}: {record}");
        assert!(
            message(&record).contains("not valid brotli"),
            "{name}: {record}"
        );
    }
    for gone in ["old.csv", "cut.csv", "junk.csv"] {
        assert!(!dir.path().join(gone).exists(), "{gone}");
    }
}

/// `len` zero bytes as zstd with the largest window fetchpar decodes (8 MiB), which the
/// decoder fills as the body decodes.
fn zstd_zeros(len: usize) -> Vec<u8> {
    let mut encoder = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    encoder.window_log(23).unwrap();
    std::io::Write::write_all(&mut encoder, &vec![0; len]).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn more_brotli_and_zstd_bodies_than_windows_fit_at_once_all_decode() {
    // 24 bodies of 16 MiB of zeros asking for brotli's largest window (16 MiB, taking 24 MiB of
    // room) and 40 asking for the largest zstd window decoded (8 MiB): at most 256 MiB of
    // windows are held at once, so some wait for others to finish, and all end.
    let origin = Origin::start().unwrap();
    let zeros = vec![0; 16 << 20];
    let mut brotli = Vec::new();
    let mut encoder = brotli::CompressorWriter::new(&mut brotli, 4096, 5, 24);
    std::io::Write::write_all(&mut encoder, &zeros).unwrap();
    drop(encoder);
    let zstd = zstd_zeros(zeros.len());
    let urls: Vec<String> = (0..64)
        .map(|i| match i < 24 {
            true => origin.url(&format!("/b{i}?encoded=br&hex={}", hex(&brotli))),
            false => origin.url(&format!("/z{i}?encoded=zstd&hex={}", hex(&zstd))),
        })
        .collect();
    let run = fetchpar()
        .args(["--json", "--compressed", "--prefix", "0"])
        .arg(list(&urls).path())
        .assert()
        .success();
    let records = json_lines(&run.get_output().stdout);
    assert_eq!(records.len(), 64);
    for record in &records {
        assert_eq!(record["bytes"], 16 << 20, "{record}");
    }
}

#[test]
#[cfg(target_os = "linux")]
fn freed_windows_go_back_so_a_run_of_zstd_bombs_stays_near_the_bound() {
    // 200 bodies of 16 MiB of zeros with 8 MiB windows: at most 32 windows are held at once
    // (256 MiB), and a freed one goes back to the system rather than stay in the malloc arena
    // of the thread that decoded it. Kept by the arenas, this run peaked at 457-600 MB; given
    // back, at 236-258 MB (debug build, 3 runs each).
    let origin = Origin::start().unwrap();
    let body = hex(&zstd_zeros(16 << 20));
    let urls: Vec<String> = (0..200)
        .map(|i| origin.url(&format!("/z{i}?encoded=zstd&hex={body}")))
        .collect();
    let urls = list(&urls);
    let mut cmd = fetchpar_std();
    cmd.args(["--json", "--compressed", "--prefix", "0"]);
    let (stdout, peak_kib) = stdout_and_peak_kib(cmd.arg(urls.path()));
    let records = json_lines(&stdout);
    assert_eq!(records.len(), 200);
    for record in &records {
        assert_eq!(record["bytes"], 16 << 20, "{record}");
    }
    assert!(peak_kib < 352 * 1024, "peak resident memory {peak_kib} KiB");
}

#[test]
fn an_encoded_body_is_saved_as_sent_and_resumes_by_its_own_bytes() {
    // A file stored gzip-encoded (`Content-Encoding: gzip`, as object stores serve `.gz` files)
    // is saved as the bytes the server holds, as curl, wget and aria2 save it: its digest is
    // the server's file's, and a Range counts the same bytes as the part file does.
    let origin = Origin::start().unwrap();
    let url = origin.url("/data.csv.gz?gzip=1&sized=1&size=300000");
    let whole = tempfile::tempdir().unwrap();
    let run = fetchpar()
        .args(["--json", "-o"])
        .arg(whole.path())
        .arg(list(std::slice::from_ref(&url)).path())
        .assert()
        .success();
    let record = &json_lines(&run.get_output().stdout)[0];
    let saved = fs::read(whole.path().join("data.csv.gz")).unwrap();
    assert_eq!(record["bytes"], saved.len() as u64);
    assert_eq!(record["sha256"], sha_hex(&saved));
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&saved[..]), &mut decoded)
        .unwrap();
    assert_eq!(
        decoded,
        body_bytes(0, 300000),
        "the saved bytes are the gzip file"
    );

    let resumed = tempfile::tempdir().unwrap();
    let half = saved.len() / 2;
    fs::write(resumed.path().join("data.csv.gz.part"), &saved[..half]).unwrap();
    let run = fetchpar()
        .args(["--json", "-c", "-o"])
        .arg(resumed.path())
        .arg(list(std::slice::from_ref(&url)).path())
        .assert()
        .success();
    let record = &json_lines(&run.get_output().stdout)[0];
    assert_eq!(record["status"], 206, "{record}");
    assert_eq!(record["bytes"], (saved.len() - half) as u64, "{record}");
    assert_eq!(fs::read(resumed.path().join("data.csv.gz")).unwrap(), saved);

    // Saving asks for the file as it is; only shown bodies are asked for gzip, and decoded.
    let saving = tempfile::tempdir().unwrap();
    fetchpar()
        .arg("-o")
        .arg(saving.path())
        .arg(origin.url("/ae?echo=accept-encoding"))
        .assert()
        .success();
    assert_eq!(fs::read(saving.path().join("ae")).unwrap(), b"identity");
    let run = fetchpar()
        .args(["--json", "--keep-order"])
        .arg(origin.url("/ae?echo=accept-encoding"))
        .arg(url)
        .assert()
        .success();
    let records = json_lines(&run.get_output().stdout);
    assert_eq!(records[0]["prefix"], "gzip");
    assert_eq!(records[1]["bytes"], 300000);
    // One given with -H replaces either.
    fetchpar()
        .args([
            "-H",
            "Accept-Encoding: br",
            "--on-exists",
            "overwrite",
            "-o",
        ])
        .arg(saving.path())
        .arg(origin.url("/ae?echo=accept-encoding"))
        .assert()
        .success();
    assert_eq!(fs::read(saving.path().join("ae")).unwrap(), b"br");
}

#[test]
fn continue_restarts_when_the_server_ignores_ranges_or_the_file_changed() {
    let origin = Origin::start().unwrap();
    for (first, second) in [
        ("/n?size=50000&truncate=20000", "/n?size=50000&no_range=1"),
        (
            "/v?size=50000&truncate=20000&etag=old",
            "/v?size=50000&etag=new",
        ),
    ] {
        let out = tempfile::tempdir().unwrap();
        let a = list(&[origin.url(first) + " out=f.bin"]);
        fetchpar()
            .args(["--retries", "0", "-o"])
            .arg(out.path())
            .arg(a.path())
            .assert()
            .code(1);
        assert!(out.path().join("f.bin.part").exists());
        let b = list(&[origin.url(second) + " out=f.bin"]);
        let run = fetchpar()
            .args(["--json", "-c", "-o"])
            .arg(out.path())
            .arg(b.path())
            .assert()
            .success();
        let record = &json_lines(&run.get_output().stdout)[0];
        assert_eq!(record["status"], 200, "{second}");
        assert_eq!(record["bytes"], 50000, "{second}: started over");
        assert_eq!(
            fs::read(out.path().join("f.bin")).unwrap(),
            body_bytes(0, 50000),
            "{second}"
        );
    }
}

#[test]
fn checksums_are_verified_and_listed_for_sha256sum() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let sums = out.path().join("SHA256SUMS");
    let good = sha_hex(&body_bytes(0, 3000));
    let lines = vec![
        origin.url("/good?size=3000") + &format!(" out=good.bin sha256={good}"),
        origin.url("/bad?size=3000") + &format!(" out=bad.bin sha256={}", "0".repeat(64)),
        origin.url("/plain?size=10") + " out=plain.bin",
    ];
    let dir = out.path().join("files");
    let run = fetchpar()
        .args(["--json", "-o"])
        .arg(&dir)
        .arg("--checksums")
        .arg(&sums)
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    assert_eq!(kind(find(&records, "/bad")), "checksum");
    assert_eq!(kind(find(&records, "/good")), "ok");
    assert_eq!(
        files_in(&dir),
        vec!["good.bin", "plain.bin"],
        "a mismatch leaves nothing behind"
    );
    let listed = fs::read_to_string(&sums).unwrap();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        listed.contains(&format!("{good}  {}", dir.join("good.bin").display())),
        "{listed}"
    );
    if Path::new("/usr/bin/sha256sum").exists() {
        let check = std::process::Command::new("sha256sum")
            .arg("-c")
            .arg(&sums)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stdout)
        );
    }
}

#[test]
fn a_listed_digest_is_checked_even_when_nothing_shows_digests() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let lines =
        vec![origin.url("/bad?size=300") + &format!(" out=bad.bin sha256={}", "1".repeat(64))];
    fetchpar()
        .arg("-o")
        .arg(out.path())
        .arg(list(&lines).path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("checksum"));
    assert!(files_in(out.path()).is_empty());
}

#[test]
fn max_size_stops_large_and_compressed_bodies() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let lines = vec![
        origin.url("/declared?size=5000") + " out=declared.bin",
        origin.url("/bomb?gzip=1&zeros=1&size=1073741824") + " out=bomb.bin",
        origin.url("/small?size=100") + " out=small.bin",
    ];
    let run = fetchpar()
        .args(["--json", "--max-size", "1K", "-o"])
        .arg(out.path())
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    assert_eq!(kind(find(&records, "/declared")), "too_large");
    let bomb = find(&records, "/bomb");
    assert_eq!(kind(bomb), "too_large");
    assert!(bomb["bytes"].as_u64().unwrap() <= 1024, "{bomb}");
    assert_eq!(kind(find(&records, "/small")), "ok");
    assert_eq!(
        files_in(out.path()),
        vec!["small.bin"],
        "nothing is left of the refused bodies"
    );
}

#[test]
fn failed_out_lists_exactly_what_failed_and_reruns_it() {
    let origin = Origin::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let failed = dir.path().join("failed.txt");
    let lines = vec![
        origin.url("/fine?size=1"),
        origin.url("/nope?status=404") + " out=kept-option.bin",
        "not-a-url".to_string(),
        origin.url("/also-fine?size=1"),
        origin.url("/down?status=503"),
    ];
    fetchpar()
        .args(["--retries", "0", "-o"])
        .arg(dir.path().join("out"))
        .arg("--failed-out")
        .arg(&failed)
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let text = fs::read_to_string(&failed).unwrap();
    let expected = format!("{}\n{}\n{}\n", lines[1], lines[2], lines[4]);
    assert_eq!(text, expected);
    // The lines may hold passwords: a file made for them is readable by its owner only.
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(&failed).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let rerun = fetchpar()
        .args(["--json", "--retries", "0", "-o"])
        .arg(dir.path().join("out"))
        .arg(&failed)
        .assert()
        .code(1);
    assert_eq!(json_lines(&rerun.get_output().stdout).len(), 3);

    // The list of what failed may be the list being read: it is written over only at the end.
    let again = fetchpar()
        .args(["--json", "--retries", "0", "--failed-out"])
        .arg(&failed)
        .arg(&failed)
        .assert()
        .code(1);
    assert_eq!(json_lines(&again.get_output().stdout).len(), 3);
    assert_eq!(fs::read_to_string(&failed).unwrap(), expected);

    // Where it cannot be written, the run stops before any download, as for --checksums.
    let before = origin.requests();
    fetchpar()
        .arg("--failed-out")
        .arg(dir.path().join("no-such-folder/failed.txt"))
        .arg(list(&lines).path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "cannot write the failed lines to",
        ));
    assert_eq!(origin.requests(), before);
}

#[test]
fn a_disk_error_fails_that_url_only() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    // A directory where the part file must go: writing it fails.
    fs::create_dir(out.path().join("blocked.bin.part")).unwrap();
    fs::write(out.path().join("blocked.bin.part/keep"), b"x").unwrap();
    let lines = vec![
        origin.url("/x?size=10") + " out=blocked.bin",
        origin.url("/y?size=10") + " out=fine.bin",
    ];
    let run = fetchpar()
        .args(["--json", "--on-exists", "overwrite", "-o"])
        .arg(out.path())
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    let blocked = find(&records, "/x");
    assert_eq!(kind(blocked), "disk");
    assert!(
        blocked["error"]["message"]
            .as_str()
            .unwrap()
            .contains("blocked.bin.part")
    );
    assert_eq!(kind(find(&records, "/y")), "ok");
    assert!(!out.path().join("blocked.bin").exists());
}

#[test]
fn an_unusable_output_folder_stops_before_any_download() {
    let origin = Origin::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    fs::write(&not_a_dir, b"x").unwrap();
    fetchpar()
        .arg("-o")
        .arg(not_a_dir.join("sub"))
        .arg(list(&[origin.url("/z")]).path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("output folder"));
    // The file itself as the folder: named as what it is, not as "File exists".
    fetchpar()
        .arg("-o")
        .arg(&not_a_dir)
        .arg(list(&[origin.url("/z")]).path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("exists and is not a folder"))
        .stderr(predicate::str::contains("not a file as curl's -o does"));
    // And the file, which a curl user meant to write, is left as it was.
    assert_eq!(fs::read(&not_a_dir).unwrap(), b"x");
    assert_eq!(origin.requests(), 0);
}

#[test]
fn timestamping_fetches_a_saved_file_only_when_the_server_has_a_newer_one() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("data.bin");
    let mtime = |p: &Path| fs::metadata(p).unwrap().modified().unwrap();
    let at = |secs: u64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    let (older, newer) = (1_700_000_000, 1_700_086_400);
    let url = |query: &str| origin.url(&format!("/data.bin?{query}"));

    // One -N run of the URL with `query`: its status, and whether it was skipped.
    let timestamped = |query: String| {
        let record = save_one(&["-N"], out.path(), url(&query), 0);
        (record["status"].as_u64(), record["skipped"].as_bool())
    };

    // New: saved, with the server's time as its own.
    let first = timestamped(format!("size=100&last_modified={older}"));
    assert_eq!(first, (Some(200), Some(false)));
    assert_eq!(mtime(&path), at(older));

    // Unchanged: asked with If-Modified-Since, answered 304, the file left as it was.
    let same = timestamped(format!("size=200&last_modified={older}"));
    assert_eq!(same, (Some(304), Some(true)));
    assert_eq!(fs::read(&path).unwrap(), body_bytes(0, 100));

    // A server that ignores the condition but sends a file no newer: still left as it was.
    let ignored = timestamped(format!("size=300&last_modified={older}&ignore_ims=1"));
    assert_eq!(ignored, (Some(200), Some(true)));
    assert_eq!(fs::read(&path).unwrap(), body_bytes(0, 100));

    // Newer: replaced in place (not saved as data.1.bin), with the new time.
    let changed = timestamped(format!("size=400&last_modified={newer}"));
    assert_eq!(changed, (Some(200), Some(false)));
    assert_eq!(fs::read(&path).unwrap(), body_bytes(0, 400));
    assert_eq!(mtime(&path), at(newer));
    assert_eq!(files_in(out.path()), vec!["data.bin"]);

    // Without -N the same URL is saved beside it, as --on-exists rename says.
    save_one(
        &[],
        out.path(),
        url(&format!("size=400&last_modified={newer}")),
        0,
    );
    assert_eq!(files_in(out.path()), vec!["data.1.bin", "data.bin"]);
}

#[test]
fn remote_time_gives_saved_and_resumed_files_the_servers_time() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mtime = |name: &str| {
        fs::metadata(out.path().join(name))
            .unwrap()
            .modified()
            .unwrap()
    };
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    let stamped = |path: &str| origin.url(&format!("{path}?size=500&last_modified=1600000000"));

    save_one(&["-R"], out.path(), stamped("/r.bin"), 0);
    assert_eq!(mtime("r.bin"), at);
    // Without -R a file keeps the time it was written.
    save_one(&[], out.path(), stamped("/plain.bin"), 0);
    assert!(mtime("plain.bin") > at + std::time::Duration::from_secs(86_400 * 365));
    // Nor does -R touch a file whose server gives no time.
    save_one(&["-R"], out.path(), origin.url("/untimed.bin?size=5"), 0);
    assert!(mtime("untimed.bin") > at + std::time::Duration::from_secs(86_400 * 365));

    // A resumed file takes the time too, once it is whole.
    let cut = origin.url("/c.bin?size=100000&truncate=40000&last_modified=1600000000");
    save_one(&["-c", "--retries", "0"], out.path(), cut, 1);
    let whole = origin.url("/c.bin?size=100000&last_modified=1600000000");
    let record = save_one(&["-c", "-R"], out.path(), whole, 0);
    assert_eq!(record["status"], 206, "{record}");
    assert_eq!(mtime("c.bin"), at);

    fetchpar()
        .args(["-R", "http://127.0.0.1:9/x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--output-dir"));
}

#[test]
fn timestamping_needs_a_folder_and_goes_with_neither_continue_nor_content_disposition() {
    for args in [
        &["-N", "http://127.0.0.1:9/x"][..],
        &["-N", "-c", "-o", "d", "http://127.0.0.1:9/x"],
        &[
            "-N",
            "--content-disposition",
            "-o",
            "d",
            "http://127.0.0.1:9/x",
        ],
    ] {
        fetchpar().args(args).assert().code(2);
    }
}

#[test]
fn an_aria2_input_file_names_and_checks_files_from_its_option_lines() {
    let origin = Origin::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let failed = dir.path().join("failed.txt");
    let good = sha_hex(&body_bytes(0, 3000));
    let bad_entry = format!(
        "{}\n  out=bad.bin\n  checksum=sha-256={}",
        origin.url("/bad?size=300"),
        "0".repeat(64)
    );
    let elsewhere = format!("{}\n  dir=/tmp", origin.url("/elsewhere?size=5"));
    let lines = vec![
        origin.url("/good?size=3000"),
        "  out=name with spaces.bin".to_string(),
        format!("\tchecksum=sha-256={good}"),
        bad_entry.clone(),
        elsewhere.clone(),
        // dir= names a folder below the output folder (`..` dropped, as in out=), or inside it
        // when absolute.
        origin.url("/placed?size=40"),
        "  dir=sub/../inner".to_string(),
        "  out=p.bin".to_string(),
        origin.url("/dir/abs.bin?size=41"),
        format!("  dir={}/there", out.display()),
    ];
    let run = fetchpar()
        .args(["--json", "--retries", "0", "-o"])
        .arg(&out)
        .arg("--failed-out")
        .arg(&failed)
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    assert_eq!(records.len(), 5, "{records:#?}");
    assert_eq!(kind(find(&records, "/good")), "ok");
    assert_eq!(kind(find(&records, "/bad")), "checksum");
    let refused = find(&records, "/elsewhere");
    assert_eq!(kind(refused), "invalid_url");
    assert_eq!(refused["line"], 7);
    assert!(
        message(refused).contains("dir=/tmp is outside the output folder"),
        "{refused}"
    );
    assert_eq!(files_in(&out), ["name with spaces.bin", "sub", "there"]);
    assert_eq!(
        fs::read(out.join("name with spaces.bin")).unwrap(),
        body_bytes(0, 3000)
    );
    assert_eq!(
        fs::read(out.join("sub/inner/p.bin")).unwrap(),
        body_bytes(0, 40)
    );
    assert_eq!(
        fs::read(out.join("there/abs.bin")).unwrap(),
        body_bytes(0, 41)
    );
    assert!(
        find(&records, "/placed")["path"]
            .as_str()
            .unwrap()
            .ends_with("sub/inner/p.bin")
    );
    // The line whose dir= is elsewhere was never fetched; the others were, once each.
    assert_eq!(origin.requests(), 4);
    // What failed is written back with its option lines, as a list that runs again.
    assert_eq!(
        fs::read_to_string(&failed).unwrap(),
        format!("{bad_entry}\n{elsewhere}\n")
    );
}

#[test]
fn force_directories_and_out_paths_save_in_folders_that_stay_inside() {
    let origin = Origin::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    let port = origin
        .url("/")
        .split(':')
        .nth(2)
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let host = format!("127.0.0.1+{port}");
    let lines = vec![
        origin.url("/v1/data.csv?size=10"),
        origin.url("/v2/data.csv?size=20"),
        origin.url("/v2/data.csv?size=30"),
        origin.url("/up/%2E%2E/%2E%2E/%2E%2E/esc.txt?size=5"),
        origin.url("/..%2F..%2Fside/f.txt?size=6"),
        origin.url("/named?size=7") + " out=../sub/dir/own.bin",
    ];
    let run = fetchpar()
        .args(["--json", "--keep-order", "--force-directories", "-o"])
        .arg(&out)
        .arg(list(&lines).path())
        .assert()
        .success();
    let records = json_lines(&run.get_output().stdout);
    assert!(records.iter().all(|r| kind(r) == "ok"), "{records:#?}");
    assert_eq!(
        files_in(root.path()),
        vec!["out"],
        "nothing beside the folder"
    );
    let read = |path: &str| fs::read(out.join(path)).unwrap();
    assert_eq!(read(&format!("{host}/v1/data.csv")), body_bytes(0, 10));
    assert_eq!(read(&format!("{host}/v2/data.csv")), body_bytes(0, 20));
    assert_eq!(read(&format!("{host}/v2/data.1.csv")), body_bytes(0, 30));
    // The encoded `..` are steps up the URL path that its parser has taken already.
    assert_eq!(read(&format!("{host}/esc.txt")), body_bytes(0, 5));
    // Encoded separators stay in their folder's name, whose leading dot becomes `_`.
    assert_eq!(read(&format!("{host}/_._.._side/f.txt")), body_bytes(0, 6));
    assert_eq!(read("sub/dir/own.bin"), body_bytes(0, 7));
    assert_eq!(files_in(&out), vec![host.clone(), "sub".to_string()]);

    // A folder is needed where a file is: that URL fails alone, naming the file.
    let lines = [
        origin.url("/v1/data.csv/inner?size=3"),
        origin.url("/v3/ok?size=3"),
    ];
    let run = fetchpar()
        .args(["--json", "--keep-order", "--force-directories", "-o"])
        .arg(&out)
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    assert_eq!(kind(&records[0]), "disk");
    assert!(message(&records[0]).contains("v1/data.csv"), "{records:#?}");
    assert_eq!(kind(&records[1]), "ok");

    // Without the host folder, and with the first folder of the path cut.
    let flat = root.path().join("flat");
    let save_flat = |more: &str, path: &str| {
        fetchpar()
            .args(["--force-directories", "--no-host-directories", "-o"])
            .arg(&flat)
            .args(more.split_whitespace())
            .arg(origin.url(path))
            .assert()
            .success();
    };
    save_flat("--cut-dirs 1", "/a/b/c.bin?size=4");
    assert_eq!(fs::read(flat.join("b/c.bin")).unwrap(), body_bytes(0, 4));
    // wget's --protocol-directories: the scheme's folder first.
    save_flat("--protocol-directories", "/p/q.bin?size=5");
    assert_eq!(
        fs::read(flat.join("http/p/q.bin")).unwrap(),
        body_bytes(0, 5)
    );
    // A name from Content-Disposition goes in the URL's folders too.
    save_flat(
        "--content-disposition",
        "/d/e/f?size=2&cd=attachment%3B%20filename%3D%22real.bin%22",
    );
    assert_eq!(
        fs::read(flat.join("d/e/real.bin")).unwrap(),
        body_bytes(0, 2)
    );
    fetchpar()
        .args(["--cut-dirs", "1", "-o"])
        .arg(&flat)
        .arg(origin.url("/x"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force-directories"));
}

#[test]
fn aria2_checksums_of_other_kinds_are_checked_too() {
    use sha2::Digest as _;
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let body = body_bytes(0, 5000);
    let hex = |bytes: &[u8]| fetchpar::links::hex(bytes);
    let good = [
        ("md5", hex(&md5::Md5::digest(&body))),
        ("sha-1", hex(&sha1::Sha1::digest(&body))),
        ("sha-512", hex(&sha2::Sha512::digest(&body))),
        ("adler32", format!("{:08x}", adler2::adler32_slice(&body))),
    ];
    let mut lines: Vec<String> = (good.iter())
        .map(|(kind, digest)| {
            let url = origin.url(&format!("/{kind}?size=5000"));
            format!("{url}\n  out={kind}.bin\n  checksum={kind}={digest}")
        })
        .collect();
    let wrong = "0".repeat(40);
    lines.push(format!(
        "{}\n  out=bad.bin\n  checksum=sha-1={wrong}",
        origin.url("/bad?size=5000")
    ));
    let run = fetchpar()
        .args(["--json", "--keep-order", "-o"])
        .arg(out.path())
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    let kinds: Vec<String> = records.iter().map(kind).collect();
    assert_eq!(kinds, ["ok", "ok", "ok", "ok", "checksum"], "{records:#?}");
    let expected = format!("sha-1 is {}, the list expects {wrong}", good[1].1);
    assert_eq!(message(&records[4]), expected);
    // Beside the list's own digest, the SHA-256 --json shows is still the file's.
    assert_eq!(records[0]["sha256"], sha_hex(&body));
    assert_eq!(
        files_in(out.path()),
        ["adler32.bin", "md5.bin", "sha-1.bin", "sha-512.bin"]
    );
}

#[test]
fn a_failed_attempt_moves_on_to_the_next_mirror_at_once_and_rounds_follow_the_backoff() {
    let first = Origin::start().unwrap();
    let second = Origin::start().unwrap();
    let run = |line: String, retries: &str, delay: &str| {
        let run = fetchpar()
            .args(["--json", "--retries", retries, "--retry-delay", delay])
            .arg(list(&[line]).path())
            .assert();
        let records = json_lines(&run.get_output().stdout);
        assert_eq!(records.len(), 1, "{records:#?}");
        records[0].clone()
    };
    // The first source is busy (503): the mirror is asked at once, not after the first's
    // retries and their waits (5 s and 10 s here).
    let line = format!(
        "{} {}",
        first.url("/busy?fail=100"),
        second.url("/there?size=300")
    );
    let record = run(line, "2", "10");
    assert_eq!(kind(&record), "ok", "{record}");
    assert_eq!(record["attempts"], 2);
    assert_eq!((first.requests(), second.requests()), (1, 1));
    assert!(record["mirror"].as_str().unwrap().contains("/there"));
    // Both busy: each round asks each once, as many rounds as --retries allows after the first.
    let line = format!("{} {}", first.url("/a?fail=100"), second.url("/b?fail=100"));
    let record = run(line, "1", "0");
    assert_eq!(record["status"], 503, "{record}");
    assert_eq!(record["attempts"], 4);
    assert_eq!((first.requests(), second.requests()), (3, 3));
    // A final failure (404) drops its source from later rounds; the busy one goes on.
    let line = format!(
        "{} {}",
        first.url("/gone?status=404"),
        second.url("/c?fail=100")
    );
    let record = run(line, "2", "0");
    assert_eq!(record["status"], 503, "{record}");
    assert_eq!(record["attempts"], 4);
    assert_eq!((first.requests(), second.requests()), (4, 6));
    // A body cut off by one source is finished from the next, under the line's name.
    let out = tempfile::tempdir().unwrap();
    let line = format!(
        "{} {}",
        first.url("/cut/t.bin?size=5000&truncate=2000"),
        second.url("/t.bin?size=5000")
    );
    let run = fetchpar()
        .args(["--json", "--retries", "0", "-o"])
        .arg(out.path())
        .arg(list(&[line]).path())
        .assert()
        .success();
    let record = &json_lines(&run.get_output().stdout)[0];
    assert_eq!(record["attempts"], 2, "{record}");
    // The same file (its ETag matches): only the missing bytes come from the mirror.
    assert_eq!(
        (record["status"].as_u64(), record["bytes"].as_u64()),
        (Some(206), Some(3000))
    );
    assert_eq!(files_in(out.path()), ["t.bin"]);
    assert_eq!(
        fs::read(out.path().join("t.bin")).unwrap(),
        body_bytes(0, 5000)
    );
}

#[test]
fn mirrors_on_a_line_are_tried_in_turn_and_the_file_keeps_its_name() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let lines = vec![
        // Gone from the first source, there on the second: saved under the line's own name.
        format!(
            "{}\t{}",
            origin.url("/pub/data.bin?status=404"),
            origin.url("/mirror/copy.bin?size=700")
        ),
        // No server on the first; the second has a corrupt copy; the third a good one.
        format!(
            "{} {} {}\n  out=x.bin\n  checksum=sha-256={}",
            refused_url(),
            origin.url("/bad/x.bin?size=701"),
            origin.url("/good/x.bin?size=700"),
            sha_hex(&body_bytes(0, 700))
        ),
        // Every source fails: the last one's failure is the URL's.
        format!(
            "{} {}",
            origin.url("/a/none.bin?status=404"),
            origin.url("/b/none.bin?status=410")
        ),
    ];
    let run = fetchpar()
        .args(["--json", "--keep-order", "--retries", "0", "-o"])
        .arg(out.path())
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    let kinds: Vec<String> = records.iter().map(kind).collect();
    assert_eq!(kinds, ["ok", "ok", "http_status"], "{records:#?}");
    let text =
        |record: &serde_json::Value, field: &str| record[field].as_str().unwrap().to_string();
    assert!(text(&records[0], "final_url").contains("/mirror/copy.bin"));
    assert!(text(&records[0], "mirror").contains("/mirror/copy.bin"));
    assert!(text(&records[2], "mirror").contains("/b/none.bin"));
    assert!(
        records[0]["url"]
            .as_str()
            .unwrap()
            .contains("/pub/data.bin")
    );
    assert_eq!(records[0]["attempts"], 2);
    assert_eq!(records[1]["attempts"], 3);
    assert_eq!(records[2]["status"], 410);
    assert_eq!(files_in(out.path()), ["data.bin", "x.bin"]);
    assert_eq!(
        fs::read(out.path().join("data.bin")).unwrap(),
        body_bytes(0, 700)
    );
    // A text line names the mirror too.
    let text = fetchpar()
        .args(["--retries", "0"])
        .arg(list(&lines[..1]).path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&text.get_output().stdout).into_owned();
    let mirror = format!("(mirror {})", origin.url("/mirror/copy.bin?size=700"));
    assert!(stdout.contains(&mirror), "{stdout}");
}

#[test]
fn curls_remote_name_saves_in_the_current_folder() {
    let origin = Origin::start().unwrap();
    let here = tempfile::tempdir().unwrap();
    fs::write(here.path().join("kept.txt"), "mine").unwrap();
    for flag in ["-O", "--remote-name-all"] {
        fetchpar()
            .current_dir(here.path())
            .args(["-q", flag])
            .arg(origin.url("/files/kept.txt?size=10"))
            .assert()
            .success();
    }
    // Saved as -o . saves: an existing file is kept and the new one numbered (curl -O would
    // replace it).
    assert_eq!(
        files_in(here.path()),
        ["kept.1.txt", "kept.2.txt", "kept.txt"]
    );
    assert_eq!(fs::read(here.path().join("kept.txt")).unwrap(), b"mine");
    assert_eq!(
        fs::read(here.path().join("kept.1.txt")).unwrap(),
        body_bytes(0, 10)
    );
    fetchpar()
        .args(["-O", "-o", "elsewhere"])
        .arg(origin.url("/x"))
        .assert()
        .code(2);
}

#[test]
fn a_file_kept_by_continue_or_skip_is_checked_against_the_lines_checksum_first() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let digest = sha_hex(&body_bytes(0, 1000));
    let line = |name: &str| origin.url(&format!("/{name}?size=1000")) + " sha256=" + &digest;
    fs::write(out.path().join("right.bin"), body_bytes(0, 1000)).unwrap();
    fs::write(out.path().join("wrong.bin"), b"not the file").unwrap();
    for args in [&["-c"][..], &["--on-exists", "skip"]] {
        let kept = save_one(args, out.path(), line("right.bin"), 0);
        assert_eq!(kept["skipped"], true, "{kept}");
        assert_eq!(kept["sha256"], digest);
    }
    assert_eq!(
        origin.requests(),
        0,
        "a file with the right digest is not fetched"
    );
    // One that is not the file is fetched again and replaced, as aria2c's -V does.
    let mended = save_one(&["-c"], out.path(), line("wrong.bin"), 0);
    assert_eq!(mended["skipped"], false, "{mended}");
    assert!(mended["error"].is_null(), "{mended}");
    assert_eq!(
        fs::read(out.path().join("wrong.bin")).unwrap(),
        body_bytes(0, 1000)
    );
    assert_eq!(files_in(out.path()), ["right.bin", "wrong.bin"]);
    // With --content-disposition the name comes with the answer, which is then saved.
    fs::write(out.path().join("named.bin"), b"not it either").unwrap();
    let cd = "cd=attachment%3B%20filename%3D%22named.bin%22";
    let line = origin.url(&format!("/x?size=1000&{cd}")) + " sha256=" + &digest;
    let mended = save_one(&["-J", "--on-exists", "skip"], out.path(), line, 0);
    assert_eq!(mended["skipped"], false, "{mended}");
    assert_eq!(
        fs::read(out.path().join("named.bin")).unwrap(),
        body_bytes(0, 1000)
    );
}

#[test]
fn wgets_no_clobber_keeps_what_is_there() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    fs::write(out.path().join("nc.txt"), "mine").unwrap();
    // wget's own spelling, -nc, too (not -n -c).
    for no_clobber in ["--no-clobber", "-nc"] {
        let kept = save_one(&[no_clobber], out.path(), origin.url("/nc.txt"), 0);
        assert_eq!(kept["skipped"], true, "{kept}");
        assert_eq!(files_in(out.path()), ["nc.txt"]);
        assert_eq!(fs::read(out.path().join("nc.txt")).unwrap(), b"mine");
    }
    for no_clobber in ["--no-clobber", "-nc"] {
        fetchpar()
            .args([no_clobber, "--on-exists", "overwrite", "-o"])
            .arg(out.path())
            .arg(origin.url("/nc.txt"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--no-clobber"));
    }
}

/// The extended attribute `name` of `path`, if it has one.
fn attribute(path: &Path, name: &str) -> Option<String> {
    let mut value = vec![0u8; 4096];
    let n = rustix::fs::getxattr(path, name, &mut value[..]).ok()?;
    Some(String::from_utf8(value[..n].to_vec()).unwrap())
}

#[test]
fn xattr_labels_saved_files_with_their_url_and_type() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let base = origin.url("/");
    let with_login = base.replacen("http://", "http://user:secret@", 1);
    let line = format!("{with_login}xa/one.txt?redirect=1&size=50#part");
    let record = save_one(&["--xattr"], out.path(), line, 0);
    let saved = out.path().join("one.txt");
    assert_eq!(fs::read(&saved).unwrap(), body_bytes(0, 50));
    let url = attribute(&saved, "user.xdg.origin.url").expect("the URL is stored");
    // Where the redirect led, without the login or the fragment.
    assert!(url.starts_with(&format!("{base}xa/one.txt?")), "{url}");
    assert!(url.contains("redirect=0"), "{url}");
    assert!(
        !url.contains("secret") && !url.contains("user") && !url.contains('#'),
        "{url}"
    );
    let mime = attribute(&saved, "user.mime_type").expect("the type is stored");
    assert_eq!(record["content_type"], mime.as_str());
    // Without --xattr, no attribute; and --xattr wants somewhere to save.
    save_one(&[], out.path(), origin.url("/xa/two.txt"), 0);
    assert_eq!(
        attribute(&out.path().join("two.txt"), "user.xdg.origin.url"),
        None
    );
    fetchpar()
        .args(["--xattr", &origin.url("/xa/three.txt")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--output-dir"));
    // A URL longer than the file system keeps in an attribute (ext4 keeps a file's in one
    // 4 KiB block; others keep more) is left out, the file saved, and -v says so.
    let long = origin.url(&format!("/xa/long.txt?size=5&pad={}", "p".repeat(30_000)));
    let run = fetchpar()
        .args(["-v", "--xattr", "-o"])
        .arg(out.path())
        .arg(&long)
        .assert()
        .success();
    let saved = out.path().join("long.txt");
    assert_eq!(fs::read(&saved).unwrap(), body_bytes(0, 5));
    let mut value = vec![0u8; 65536];
    match rustix::fs::getxattr(&saved, "user.xdg.origin.url", &mut value[..]) {
        Ok(n) => assert_eq!(&value[..n], long.as_bytes()),
        Err(_) => {
            let said = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
            assert!(
                said.contains("* --xattr: user.xdg.origin.url not stored: "),
                "{said}"
            );
        }
    }
    assert!(
        attribute(&saved, "user.mime_type").is_some(),
        "the type is still stored"
    );
}

/// One `<file>`: its name, its sha-256 (or ""), and its URLs with their priorities.
type MetalinkFile<'a> = (&'a str, &'a str, Vec<(u32, String)>);

/// A Metalink 4 document of `files`.
fn metalink(files: &[MetalinkFile]) -> String {
    let mut doc = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <metalink xmlns=\"urn:ietf:params:xml:ns:metalink\">\n",
    );
    for (name, sha, urls) in files {
        doc.push_str(&format!("  <file name=\"{name}\">\n"));
        if !sha.is_empty() {
            doc.push_str(&format!("    <hash type=\"sha-256\">{sha}</hash>\n"));
        }
        for (priority, url) in urls {
            let url = url.replace('&', "&amp;");
            doc.push_str(&format!("    <url priority=\"{priority}\">{url}</url>\n"));
        }
        doc.push_str("  </file>\n");
    }
    doc + "</metalink>\n"
}

#[test]
fn a_metalink_file_gives_each_file_its_mirrors_name_and_digest_as_aria2c_reads_one() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("files");
    let good = sha_hex(&body_bytes(0, 3000));
    let doc = metalink(&[
        (
            "iso/a.bin",
            &good,
            vec![
                (2, origin.url("/mirror/a?size=3000")),
                (1, origin.url("/dead/a?status=404")),
                (3, "ftp://ftp.example/a.bin".into()),
            ],
        ),
        (
            "b.bin",
            &"0".repeat(64),
            vec![(1, origin.url("/b?size=10"))],
        ),
        ("../escape.bin", "", vec![(1, origin.url("/e?size=10"))]),
        ("c.bin", "", vec![(1, "ftp://ftp.example/c.bin".into())]),
    ]);
    let file = tempfile::Builder::new()
        .suffix(".meta4")
        .tempfile()
        .unwrap();
    fs::write(file.path(), &doc).unwrap();
    let failed = out.path().join("failed.txt");
    let run = fetchpar()
        .args(["--json", "--keep-order", "-o"])
        .arg(&dir)
        .arg("--failed-out")
        .arg(&failed)
        .arg(file.path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    assert_eq!(records.len(), 4, "{records:#?}");
    assert_eq!(lines_of(&records), [3, 9, 13, 16]);
    // The first file: the 404 of its first source, then its next source, checked.
    assert_eq!(records[0]["url"], origin.url("/dead/a?status=404").as_str());
    assert_eq!(
        records[0]["mirror"],
        origin.url("/mirror/a?size=3000").as_str()
    );
    assert_eq!(records[0]["sha256"], good.as_str());
    assert_eq!(
        fs::read(dir.join("iso/a.bin")).unwrap(),
        body_bytes(0, 3000)
    );
    assert_eq!(kind(&records[1]), "checksum");
    assert_eq!(kind(&records[2]), "invalid_url");
    assert!(message(&records[2]).contains("out of the download folder"));
    assert_eq!(kind(&records[3]), "invalid_url");
    assert!(message(&records[3]).contains("no http or https URL"));
    assert_eq!(files_in(&dir), vec!["iso"]);
    assert!(!out.path().join("escape.bin").exists());
    // The failed files are written as a plain list that runs again, name and digest with them.
    let again = fs::read_to_string(&failed).unwrap();
    let b = format!(
        "{}\n  out=b.bin\n  checksum=sha-256={}",
        origin.url("/b?size=10"),
        "0".repeat(64)
    );
    assert!(again.contains(&b), "{again}");
    // On a server, by its type with -i, and as -M whatever its name or type.
    let body: String = url::form_urlencoded::byte_serialize(doc.as_bytes()).collect();
    let typed = origin.url(&format!("/m?ctype=application/metalink4%2Bxml&body={body}"));
    let untyped = origin.url(&format!("/m.txt?body={body}"));
    for how in [["-i", typed.as_str()], ["-M", untyped.as_str()]] {
        let run = fetchpar()
            .args(["--json", "--keep-order", "--spider"])
            .args(how)
            .assert()
            .code(1);
        let records = json_lines(&run.get_output().stdout);
        assert_eq!(lines_of(&records), [3, 9, 13, 16], "{how:?}");
        assert_eq!(kind(&records[0]), "ok", "{how:?}");
    }
    // A document that is no Metalink is one failure saying so.
    let not = tempfile::Builder::new()
        .suffix(".metalink")
        .tempfile()
        .unwrap();
    fs::write(not.path(), "<html><body>no</body></html>").unwrap();
    let run = fetchpar().arg("--json").arg(not.path()).assert().code(1);
    let records = json_lines(&run.get_output().stdout);
    assert_eq!(records.len(), 1);
    assert!(
        message(&records[0]).contains("root element is <html>"),
        "{records:#?}"
    );
}

#[test]
fn a_metalink_size_is_the_size_the_file_must_have() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("files");
    let file = |name: &str, size: &str, urls: &[String]| {
        let urls: String = (urls.iter().enumerate())
            .map(|(n, url)| {
                let url = url.replace('&', "&amp;");
                format!("    <url priority=\"{}\">{url}</url>\n", n + 1)
            })
            .collect();
        format!("  <file name=\"{name}\">\n    <size>{size}</size>\n{urls}  </file>\n")
    };
    let doc = [
        "<?xml version=\"1.0\"?>\n<metalink xmlns=\"urn:ietf:params:xml:ns:metalink\">\n".into(),
        // A mirror whose file is a byte short (by its Content-Length), then the right one.
        file(
            "right.bin",
            "3000",
            &[origin.url("/w?size=2999"), origin.url("/r?size=3000")],
        ),
        // Sent without a length: running on past the size, and ending short of it.
        file("long.bin", "100", &[origin.url("/l?size=500&chunked=1")]),
        file("short.bin", "900", &[origin.url("/s?size=500&chunked=1")]),
        file("bad.bin", "12x", &[origin.url("/b?size=12")]),
        "</metalink>\n".into(),
    ]
    .concat();
    let list = out.path().join("files.meta4");
    fs::write(&list, &doc).unwrap();
    let failed = out.path().join("failed.txt");
    let run = |args: &[&str]| {
        let out = fetchpar()
            .args(["--json", "--keep-order"])
            .args(args)
            .arg(&list)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        json_lines(&out.stdout)
    };
    let records = run(&[
        "-o",
        dir.to_str().unwrap(),
        "--failed-out",
        failed.to_str().unwrap(),
    ]);
    let kinds: Vec<_> = records.iter().map(kind).collect();
    assert_eq!(kinds, ["ok", "checksum", "checksum", "invalid_url"]);
    assert_eq!(records[0]["mirror"], origin.url("/r?size=3000").as_str());
    assert_eq!(
        fs::read(dir.join("right.bin")).unwrap(),
        body_bytes(0, 3000)
    );
    assert!(
        message(&records[1]).contains("runs on past 100 bytes"),
        "{records:#?}"
    );
    assert!(message(&records[2]).contains("is 500 bytes, the list says the file is 900"));
    assert!(message(&records[3]).contains("its <size> `12x` is not a number of bytes"));
    // Nothing else is left: no file, no part, of the ones that failed.
    assert_eq!(files_in(&dir), vec!["right.bin"]);
    // The size goes with the list --failed-out writes, which checks it again.
    let again = fs::read_to_string(&failed).unwrap();
    let long = format!(
        "{}\n  out=long.bin\n  size=100",
        origin.url("/l?size=500&chunked=1")
    );
    assert!(again.contains(&long), "{again}");
    // A file already there of another size is not the file: -c fetches it again.
    fs::write(dir.join("right.bin"), "ten bytes!").unwrap();
    let records = run(&["-c", "-o", dir.to_str().unwrap()]);
    assert_eq!(records[0]["skipped"], false);
    assert_eq!(
        fs::read(dir.join("right.bin")).unwrap(),
        body_bytes(0, 3000)
    );
    let records = run(&["-c", "-o", dir.to_str().unwrap()]);
    assert_eq!(records[0]["skipped"], true);
    // Shown, not saved, the same sizes are checked.
    let kinds: Vec<_> = run(&[]).iter().map(kind).collect();
    assert_eq!(kinds, ["ok", "checksum", "checksum", "invalid_url"]);
}

#[test]
fn dash_as_the_folder_writes_the_bodies_to_stdout_in_input_order_and_the_results_to_stderr() {
    let origin = Origin::start().unwrap();
    let waiting = tempfile::tempdir().unwrap();
    // The first URL answers last, so the bodies after it wait for it; two share a name; one
    // fails and writes nothing.
    let urls = [
        origin.url("/one?size=3000&delay=300"),
        origin.url("/two?size=20"),
        refused_url(),
        origin.url("/two?size=7"),
    ];
    let run = |args: &[&str], code: i32| {
        let out = fetchpar()
            .env("TMPDIR", waiting.path())
            .args(["-o", "-"])
            .args(args)
            .args(&urls)
            .assert()
            .code(code);
        let out = out.get_output();
        (
            out.stdout.clone(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let bodies = [body_bytes(0, 3000), body_bytes(0, 20), body_bytes(0, 7)].concat();
    let (stdout, stderr) = run(&[], 1);
    assert_eq!(stdout, bodies, "{stderr}");
    let results: Vec<&str> = stderr.lines().filter(|l| l.contains("127.0.0.1")).collect();
    assert_eq!(results.len(), 4, "{stderr}");
    for (line, url) in results.iter().zip(&urls) {
        assert!(line.contains(url.as_str()), "in input order: {stderr}");
    }
    assert!(results[0].ends_with(" -> -  \"fetchpar origin line 000000,abcdefghijklmnop\\nfetchpar origin line 000001,abcdefghijklmnop\\nfetchpar o\""), "{}", results[0]);
    assert!(results[2].contains("connect"), "{stderr}");
    // The folder the bodies waited in is gone.
    assert_eq!(files_in(waiting.path()), Vec::<String>::new());

    // --json results go to stderr too, the path of each body `-`.
    let (stdout, stderr) = run(&["--json"], 1);
    assert_eq!(stdout, bodies);
    // Beside the summary line.
    let json: String = (stderr.lines())
        .filter(|l| l.starts_with('{'))
        .map(|l| format!("{l}\n"))
        .collect();
    let records = json_lines(json.as_bytes());
    assert_eq!(lines_of(&records), [1, 2, 3, 4]);
    assert_eq!(records[3]["path"], "-");
    assert_eq!(records[3]["bytes"], 7);
    // -q leaves only the failure on stderr.
    let (stdout, stderr) = run(&["-q"], 1);
    assert_eq!(stdout, bodies);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("connect"), "{stderr}");
    assert_eq!(files_in(waiting.path()), Vec::<String>::new());

    // Options about files kept under their names have nothing to work on.
    fetchpar()
        .args(["-o", "-", "-c", &urls[1]])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "-c works on files kept under their names",
        ));
}

#[test]
fn dash_as_the_folder_refuses_a_terminal_for_stdout() {
    let origin = Origin::start().unwrap();
    let args = ["-o".to_string(), "-".to_string(), origin.url("/raw?size=5")];
    let (master, mut child) = spawn_in_terminal(&args, 24, 200, &[]);
    let mut screen = Vec::new();
    read_until_closed(&mut *master.try_clone_reader().unwrap(), &mut screen);
    let code = child.wait().unwrap().exit_code();
    let screen = String::from_utf8_lossy(&screen);
    assert_eq!(code, 2, "{screen}");
    assert!(screen.contains("which is a terminal here"), "{screen}");
    assert_eq!(origin.requests(), 0);
}

#[test]
fn continue_leaves_a_read_only_file_cut_short_as_it_is() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("ro.bin");
    fs::write(&file, body_bytes(0, 30000)).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o444)).unwrap();
    // The folder is anyone's, so a rename would go through: only the file's own mode stops it.
    fs::set_permissions(out.path(), fs::Permissions::from_mode(0o777)).unwrap();
    // For root no file is read-only: the run is made as nobody's, with a copy of the binary
    // nobody can reach whatever folder the checkout is in.
    let bin = tempfile::tempdir().unwrap();
    let mut cmd = fetchpar_std();
    if rustix::process::geteuid().is_root() {
        let copy = bin.path().join("fetchpar");
        fs::copy(cmd.get_program(), &copy).unwrap();
        fs::set_permissions(bin.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let mut as_nobody = std::process::Command::new(&copy);
        as_nobody
            .env_clear()
            .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))));
        as_nobody.uid(65534).gid(65534);
        cmd = as_nobody;
    }
    cmd.args(["--json", "-c", "--retries", "0", "-o"])
        .arg(out.path())
        .arg(origin.url("/ro.bin?size=100000"));
    let run = cmd.output().unwrap();
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let record = &json_lines(&run.stdout)[0];
    assert_eq!(kind(record), "disk", "{record}");
    assert!(message(record).contains("ro.bin"), "{record}");
    assert_eq!(fs::read(&file).unwrap(), body_bytes(0, 30000));
    assert_eq!(files_in(out.path()), ["ro.bin"]);
}
