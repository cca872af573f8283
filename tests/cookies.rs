//! Cookies within a run: what a server sets goes back to it on redirects and later URLs, to
//! no other host, merged with -H Cookie (or -b NAME=VALUE), and not at all with --no-cookies. Which cookies go
//! where (domains, public suffixes, Secure, limits) is unit-tested in `src/cookies.rs`.

mod support;

use serde_json::Value;
use support::*;

/// `text` as one query parameter's value.
fn q(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn prefix(record: &Value) -> &str {
    record["prefix"].as_str().expect("a prefix")
}

#[test]
fn a_cookie_set_by_a_redirect_goes_to_where_it_leads() {
    let origin = Origin::start().unwrap();
    let file = format!("/file?need_cookie={}&body=secret", q("session=abc"));
    let login = origin.url(&format!(
        "/login?cookie={}&location={}",
        q("session=abc; Path=/; HttpOnly"),
        q(&file)
    ));
    let lines = list(&[login]);

    let out = fetchpar().arg("--json").arg(lines.path()).assert().code(0);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["status"], 200, "{records:#?}");
    assert_eq!(prefix(&records[0]), "secret");

    let out = fetchpar()
        .args(["--json", "--no-cookies"])
        .arg(lines.path())
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records[0]["status"], 403, "{records:#?}");
    assert_eq!(kind(&records[0]), "http_status");
}

#[test]
fn a_cookie_goes_to_later_urls_of_its_host_only_and_joins_a_given_one() {
    let origin = Origin::start().unwrap();
    let port = origin.addr().port();
    let lines = list(&[
        origin.url(&format!("/set?cookie={}", q("a=1\nb=2; Path=/other"))),
        origin.url("/show?echo=Cookie"),
        // Another host name for the same server: a host-only cookie is not its.
        format!("http://localhost:{port}/show?echo=Cookie"),
    ]);
    let run = |extra: &[&str]| {
        let out = fetchpar()
            .args(["--json", "--sequential", "--prefix", "200"])
            .args(extra)
            .arg(lines.path())
            .assert()
            .code(0);
        json_lines(&out.get_output().stdout)
    };

    let records = run(&[]);
    assert_eq!(lines_of(&records), [1, 2, 3]);
    assert_eq!(prefix(&records[1]), "a=1", "the Path=/other one stays out");
    assert_eq!(prefix(&records[2]), "");

    // One Cookie header, the given cookie first; the kept one still goes to its host only.
    let records = run(&["-H", "Cookie: given=0"]);
    assert_eq!(prefix(&records[1]), "given=0; a=1");
    assert_eq!(prefix(&records[2]), "given=0");

    // curl's -b with NAME=VALUE pairs is the same as -H 'Cookie: ...'.
    let records = run(&["-b", "given=0; more=1"]);
    assert_eq!(prefix(&records[1]), "given=0; more=1; a=1");
    assert_eq!(prefix(&records[2]), "given=0; more=1");

    // Other headers given (and -u's Authorization) leave the kept cookies as they are.
    let records = run(&["-H", "X-Other: 1", "-u", "me:pw"]);
    assert_eq!(prefix(&records[1]), "a=1");
    let records = run(&["-H", "X-Other: 1", "-H", "Cookie: given=0"]);
    assert_eq!(prefix(&records[1]), "given=0; a=1");

    let records = run(&["--no-cookies"]);
    assert_eq!(prefix(&records[1]), "");
}

#[test]
fn the_threaded_run_of_compare_starts_with_no_cookies() {
    let origin = Origin::start().unwrap();
    let lines = list(&[
        origin.url("/show?echo=Cookie"),
        origin.url(&format!("/set?cookie={}", q("a=1"))),
        origin.url("/show-again?echo=Cookie"),
    ]);
    // One job at a time, so the threaded run fetches in list order as the sequential one does.
    let out = fetchpar()
        .args(["--json", "--compare", "-j", "1"])
        .arg(lines.path())
        .assert()
        .code(0);
    let records = json_lines(&out.get_output().stdout);
    let shown: Vec<(&str, u64, &str)> = records
        .iter()
        .filter(|r| r["url"].as_str().is_some_and(|u| u.contains("echo")))
        .map(|r| {
            (
                r["mode"].as_str().unwrap(),
                r["line"].as_u64().unwrap(),
                prefix(r),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("sequential", 1, ""),
            ("sequential", 3, "a=1"),
            ("threads", 1, ""),
            ("threads", 3, "a=1"),
        ]
    );
}

#[test]
fn cookies_load_from_a_file_and_save_back_to_one() {
    let origin = Origin::start().unwrap();
    let port = origin.addr().port();
    let dir = tempfile::tempdir().unwrap();
    let jar = dir.path().join("cookies.txt");
    std::fs::write(
        &jar,
        "# Netscape HTTP Cookie File\n\
         127.0.0.1\tFALSE\t/\tFALSE\t0\tfrom\tfile\n\
         other.example\tFALSE\t/\tFALSE\t0\tnot\tours\n\
         not a cookie line\n",
    )
    .unwrap();
    let lines = list(&[
        origin.url("/show?echo=Cookie"),
        origin.url(&format!("/set?cookie={}", q("new=1; Max-Age=3600"))),
        format!("http://localhost:{port}/set?cookie={}", q("there=2")),
    ]);
    let out = fetchpar()
        .args(["--json", "--sequential"])
        .arg("--load-cookies")
        .arg(&jar)
        // curl's name for --save-cookies.
        .arg("--cookie-jar")
        .arg(&jar)
        .arg(lines.path())
        .assert()
        .code(0);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(prefix(&records[0]), "from=file");
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        stderr.contains("--load-cookies")
            && stderr.contains("line 4: 1 tab-separated field where a cookie line has 7; skipped"),
        "{stderr}"
    );

    // The file now holds what it held and what the run added, for its owner's eyes only.
    let saved = std::fs::read_to_string(&jar).unwrap();
    for line in [
        "127.0.0.1\tFALSE\t/\tFALSE\t0\tfrom\tfile",
        "other.example\tFALSE\t/\tFALSE\t0\tnot\tours",
        "localhost\tFALSE\t/\tFALSE\t0\tthere\t2",
    ] {
        assert!(saved.lines().any(|l| l == line), "{line:?} in {saved}");
    }
    assert!(
        saved
            .lines()
            .any(|l| l.starts_with("127.0.0.1\tFALSE\t/\tFALSE\t") && l.ends_with("\tnew\t1")),
        "{saved}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&jar).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // A later run starts from the saved file, named here as curl's -b names one.
    let again = list(&[origin.url("/show?echo=Cookie")]);
    let out = fetchpar()
        .arg("--json")
        .arg("-b")
        .arg(&jar)
        .arg(again.path())
        .assert()
        .code(0);
    let records = json_lines(&out.get_output().stdout);
    let mut pairs: Vec<&str> = prefix(&records[0]).split("; ").collect();
    pairs.sort_unstable();
    assert_eq!(pairs, ["from=file", "new=1"]);
    // curl's --junk-session-cookies: the file's session cookies (expiry 0) left out.
    let out = fetchpar()
        .args(["--json", "--junk-session-cookies", "-b"])
        .arg(&jar)
        .arg(again.path())
        .assert()
        .code(0);
    assert_eq!(prefix(&json_lines(&out.get_output().stdout)[0]), "new=1");
}

#[test]
fn cookie_files_that_cannot_be_used_stop_the_run_before_any_fetch() {
    let origin = Origin::start().unwrap();
    let lines = list(&[origin.url("/x")]);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-file.txt");
    let unwritable = dir.path().join("no-such-folder").join("cookies.txt");
    let cases: [(&[&std::ffi::OsStr], &str); 8] = [
        (
            &["-b".as_ref(), missing.as_os_str()],
            "cannot read the cookie file",
        ),
        (
            &[
                "-b".as_ref(),
                missing.as_os_str(),
                "--load-cookies".as_ref(),
                missing.as_os_str(),
            ],
            "both name a cookie file",
        ),
        (
            &[
                "-b".as_ref(),
                "a=1".as_ref(),
                "-H".as_ref(),
                "Cookie: b=2".as_ref(),
            ],
            "both give cookies",
        ),
        (
            &["-b".as_ref(), "a=1\nX-Injected: 1".as_ref()],
            "not a valid Cookie header value",
        ),
        (
            &["--load-cookies".as_ref(), missing.as_os_str()],
            "cannot read the cookie file",
        ),
        (
            &["--save-cookies".as_ref(), unwritable.as_os_str()],
            "cannot write the cookie file",
        ),
        (
            &["--save-cookies".as_ref(), dir.path().as_os_str()],
            "it is a folder",
        ),
        (
            &[
                "--no-cookies".as_ref(),
                "--load-cookies".as_ref(),
                missing.as_os_str(),
            ],
            "cannot be used with",
        ),
    ];
    for (args, says) in cases {
        let out = fetchpar().args(args).arg(lines.path()).assert().code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(origin.requests(), 0);
}
