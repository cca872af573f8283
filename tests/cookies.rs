//! Cookies within a run: what a server sets goes back to it on redirects and later URLs, to
//! no other host, merged with -H Cookie, and not at all with --no-cookies. Which cookies go
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
