//! The 0.1 command line: input, modes, output, exit codes, against loopback servers only.

mod support;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use predicates::prelude::*;
use support::*;

#[test]
fn every_url_gives_exactly_one_result_of_the_right_kind() {
    let origin = Origin::start().unwrap();
    let lines = vec![
        origin.url("/ok?size=300"),
        origin.url("/missing?status=404"),
        origin.url("/broken?status=500"),
        refused_url(),
        "this is not a url".to_string(),
        "# a comment".to_string(),
        String::new(),
        "ftp://example.invalid/file".to_string(),
    ];
    let file = list(&lines);
    let out = fetchpar()
        .args(["--json", "--retries", "0"])
        .arg(file.path())
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 6, "{records:#?}");
    assert_eq!(kind(find(&records, "/ok")), "ok");
    assert_eq!(find(&records, "/ok")["bytes"], 300);
    assert_eq!(kind(find(&records, "/missing")), "http_status");
    assert_eq!(find(&records, "/missing")["status"], 404);
    assert_eq!(kind(find(&records, "/broken")), "http_status");
    assert_eq!(find(&records, "/broken")["status"], 500);
    assert_eq!(kind(find(&records, "nothing-here")), "connect");
    assert_eq!(
        find(&records, "nothing-here")["status"],
        serde_json::Value::Null
    );
    let invalid = find(&records, "this is not a url");
    assert_eq!(kind(invalid), "invalid_url");
    assert_eq!(invalid["line"], 5);
    assert_eq!(invalid["source"], file.path().display().to_string());
    assert_eq!(kind(find(&records, "ftp://")), "invalid_url");
    assert_eq!(find(&records, "ftp://")["line"], 8);
}

#[test]
fn json_lines_carry_every_documented_field() {
    let origin = Origin::start().unwrap();
    let file = list(&[
        origin.url("/r?redirect=2&size=50"),
        origin.url("/gone?status=404"),
    ]);
    let out = fetchpar()
        .args(["--json", "--keep-order"])
        .arg(file.path())
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    for field in [
        "url",
        "source",
        "line",
        "status",
        "bytes",
        "ms",
        "ttfb_ms",
        "final_url",
        "prefix",
        "error",
    ] {
        assert!(
            records.iter().all(|r| r.get(field).is_some()),
            "missing {field}: {records:#?}"
        );
    }
    let ok = &records[0];
    assert_eq!(ok["status"], 200);
    assert_eq!(ok["bytes"], 50);
    assert_eq!(ok["error"], serde_json::Value::Null);
    assert!(
        ok["final_url"].as_str().unwrap().contains("redirect=0"),
        "{ok}"
    );
    assert!(ok["ttfb_ms"].as_f64().unwrap() <= ok["ms"].as_f64().unwrap());
    assert_eq!(ok["prefix"].as_str().unwrap().len(), 50);
    let failed = &records[1];
    assert_eq!(failed["error"]["kind"], "http_status");
    assert!(failed["error"]["message"].as_str().unwrap().contains("404"));
}

#[test]
fn threads_are_faster_than_sequential_as_a_ratio() {
    let origin = Origin::start().unwrap();
    let lines: Vec<String> = (0..10)
        .map(|i| origin.url(&format!("/slow/{i}?delay=200&size=2048")))
        .collect();
    let file = list(&lines);
    let out = fetchpar()
        .args(["--compare", "--json"])
        .arg(file.path())
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 20, "ten results per run");
    let seconds = |label: &str| -> f64 {
        let at = stderr
            .find(&format!("{label} "))
            .unwrap_or_else(|| panic!("{stderr}"));
        stderr[at + label.len() + 1..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (sequential, threaded) = (seconds("compare: sequential"), seconds(", threads"));
    assert!(
        threaded * 3.0 < sequential,
        "threads {threaded} s vs sequential {sequential} s"
    );
    assert!(stderr.contains("speedup"), "{stderr}");
}

#[test]
fn sequential_mode_fetches_every_url_in_order() {
    let origin = Origin::start().unwrap();
    let lines: Vec<String> = (0..4)
        .map(|i| origin.url(&format!("/s/{i}?size={}", 10 + i)))
        .collect();
    let out = fetchpar()
        .args(["--sequential", "--json"])
        .arg(list(&lines).path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    let sizes: Vec<u64> = records
        .iter()
        .map(|r| r["bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, vec![10, 11, 12, 13]);
    assert!(records.iter().all(|r| r["mode"] == "sequential"));
}

#[test]
fn keep_order_prints_in_input_order_even_when_later_urls_finish_first() {
    let origin = Origin::start().unwrap();
    let lines: Vec<String> = (0..5)
        .map(|i| origin.url(&format!("/k/{i}?delay={}", 400 - i * 100)))
        .collect();
    let out = fetchpar()
        .args(["--json", "--keep-order"])
        .arg(list(&lines).path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(lines_of(&records), vec![1, 2, 3, 4, 5]);
}

#[test]
fn keep_order_runs_only_a_bounded_way_ahead_of_a_stalled_url() {
    // The first URL stalls; the rest are instant. Results after it must wait in memory for its
    // turn, so fetching may run ahead of it, but only so far: with 1 MiB prefixes the window
    // is a few dozen results, well under the 150 waiting here.
    let origin = Origin::start().unwrap();
    let mut lines = vec![origin.url("/slow?delay=1500&size=10")];
    lines.extend((0..150).map(|i| origin.url(&format!("/k/{i}?size=10"))));
    let out = fetchpar()
        .args(["--json", "--keep-order", "-j", "4", "--prefix", "1048576"])
        .arg(list(&lines).path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(lines_of(&records), (1..=151).collect::<Vec<u64>>());
    let first_end = records[0]["start_ms"].as_f64().unwrap() + records[0]["ms"].as_f64().unwrap();
    let ahead = records[1..]
        .iter()
        .filter(|r| r["start_ms"].as_f64().unwrap() < first_end)
        .count();
    assert!(ahead > 4, "ran ahead of the stalled URL beyond -j: {ahead}");
    assert!(ahead < 150, "ran ahead without bound: {ahead}");
}

#[test]
fn reads_stdin_and_starts_before_the_input_ends() {
    let origin = Origin::start().unwrap();
    let mut child = fetchpar_std()
        .args(["-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    writeln!(stdin, "{}", origin.url("/first?size=7")).unwrap();
    stdin.flush().unwrap();
    // The first result must arrive while stdin is still open: the input is streamed.
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a result before EOF");
    assert!(first.contains("/first"), "{first}");
    writeln!(stdin, "{}", origin.url("/second?size=9")).unwrap();
    drop(stdin);
    let second = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("second result");
    assert!(second.contains("/second"), "{second}");
    assert!(child.wait().unwrap().success());
}

#[test]
fn piped_stdin_is_read_without_a_dash() {
    let origin = Origin::start().unwrap();
    fetchpar()
        .write_stdin(format!("{}\n", origin.url("/piped?size=3")))
        .assert()
        .success()
        .stdout(predicate::str::contains("/piped"));
}

#[test]
fn urls_given_as_arguments_are_fetched_like_a_list_of_one() {
    let origin = Origin::start().unwrap();
    let out = fetchpar()
        .args([
            "--json",
            &origin.url("/a1?size=1"),
            &origin.url("/a2?size=2"),
        ])
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 2);
    // Each is reported by its place among the arguments, as a list line would be.
    assert_eq!(find(&records, "/a1")["source"], "argument");
    assert_eq!(find(&records, "/a1")["line"], 1);
    assert_eq!(find(&records, "/a2")["source"], "argument");
    assert_eq!(find(&records, "/a2")["line"], 2);

    // Without a scheme, as curl and wget take them, when a path or a port follows the host.
    let port = origin.addr().port();
    let bare = [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}/b?size=3"),
    ];
    let out = fetchpar().arg("--json").args(&bare).assert().success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(
        find(&records, "localhost")["url"],
        format!("http://localhost:{port}/")
    );
    assert_eq!(find(&records, "/b?size=3")["bytes"], 3);
    // A bare name that is no file stays a list that cannot be read, saying how to fetch it.
    fetchpar()
        .arg("example.invalid")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read link list example.invalid",
        ))
        .stderr(predicate::str::contains("write http://example.invalid"));
}

#[test]
fn url_arguments_are_globbed_as_curl_globs_them_and_g_turns_it_off() {
    let origin = Origin::start().unwrap();
    let port = origin.addr().port();
    let args = [
        origin.url("/p[08-10:2]/{x,y}?size=1"),
        format!("127.0.0.1:{port}/bare[a-b]?size=2"),
        origin.url("/broken{a,b"),
        origin.url("/kept\\[1-2\\]?size=3"),
        // A set before the host, with no scheme: its first URL says it is one.
        format!("{{127.0.0.1,localhost}}:{port}/host?size=5"),
    ];
    let out = fetchpar()
        .args(["--json", "--keep-order"])
        .args(&args)
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    let got: Vec<(String, u64)> = (records.iter())
        .map(|r| {
            let url = r["url"].as_str().unwrap();
            let path = &url[url.find(&format!(":{port}/")).unwrap() + port.to_string().len() + 1..];
            (path.to_string(), r["line"].as_u64().unwrap())
        })
        .collect();
    let want = [
        ("/p08/x?size=1", 1),
        ("/p08/y?size=1", 1),
        ("/p10/x?size=1", 1),
        ("/p10/y?size=1", 1),
        ("/barea?size=2", 2),
        ("/bareb?size=2", 2),
        ("/broken{a,b", 3),
        ("/kept[1-2]?size=3", 4),
        ("/host?size=5", 5),
        ("/host?size=5", 5),
    ];
    let want: Vec<(String, u64)> = want.iter().map(|(p, l)| (p.to_string(), *l)).collect();
    assert_eq!(got, want);
    assert_eq!(kind(&records[6]), "invalid_url");
    assert!(
        message(&records[6]).contains("unmatched brace at character"),
        "{}",
        records[6]
    );
    assert!(records.iter().filter(|r| kind(r) == "ok").count() == 9);
    assert!(
        records[9]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://localhost:")
    );
    // With -g, as curl's, the brackets are the URL's own.
    let out = fetchpar()
        .args(["--json", "-g"])
        .arg(origin.url("/lit[1-2]?size=4"))
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 1);
    assert!(
        records[0]["url"].as_str().unwrap().contains("/lit[1-2]"),
        "{}",
        records[0]
    );
}

#[test]
fn a_globbed_arguments_options_take_its_values_as_curls_o_takes_them() {
    let origin = Origin::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // curl -o '#1-#2.bin' 'URL/{a,b}/f[1-2]': here the name goes after the URL, as on a list.
    let arg = format!("{} out=#1-#2.bin", origin.url("/{a,b}/f[1-2]?size=3"));
    fetchpar()
        .arg("-o")
        .arg(dir.path())
        .arg(arg)
        .assert()
        .success();
    let mut names: Vec<String> = (std::fs::read_dir(dir.path()).unwrap())
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a-1.bin", "a-2.bin", "b-1.bin", "b-2.bin"]);
    for name in &names {
        assert_eq!(std::fs::read(dir.path().join(name)).unwrap().len(), 3);
    }
}

#[test]
fn wgets_dash_o_file_says_what_dash_o_is_here_and_fetches_nothing() {
    let origin = Origin::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // wget -O page.html URL: here -O is curl's, and page.html a list that is not there.
    fetchpar()
        .current_dir(dir.path())
        .args(["-O", "page.html", &origin.url("/p?size=3")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read link list page.html"))
        .stderr(predicate::str::contains(
            "-O takes no file name here: it saves each body under its URL's own name, as \
             curl's -O does; to name the file as wget's -O page.html does, write 'URL \
             out=page.html'",
        ));
    assert_eq!(origin.requests(), 0);
    assert!(!dir.path().join("page.html").exists());
    // A missing list that -O did not come right before gets no such hint.
    fetchpar()
        .current_dir(dir.path())
        .args(["-O", &origin.url("/p?size=3"), "page.html"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("-O takes no file name").not());
}

#[test]
fn peers_short_options_that_mean_else_here_say_what_they_are() {
    let origin = Origin::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = origin.url("/p?size=3");
    // aria2c -x 4: here -x is curl's --proxy, and 4 would have been a proxy's host name.
    fetchpar()
        .args(["-x", "4", &url])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "-x `4` is not a proxy: -x is curl's --proxy here; aria2c's -x 4 is \
             --max-connection-per-server 4",
        ));
    // wget -x URL: here -x is curl's --proxy, and the URL would have been the proxy.
    fetchpar()
        .args(["-x", &url, "-o"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "is a URL with a path, not a proxy: -x is curl's --proxy here (wget's -x is \
             --force-directories)",
        ));
    // A bare host and port is a proxy all the same (nothing listens on this one).
    let run = fetchpar()
        .args(["--json", "--retries", "0", "-x", "localhost:1", &url])
        .assert()
        .code(1);
    let record = &json_lines(&run.get_output().stdout)[0];
    assert_eq!(kind(record), "proxy", "{record}");
    // aria2c -s 4: here -s is curl's --silent, and 4 a list that is not there.
    fetchpar()
        .current_dir(dir.path())
        .args(["-s", "4", &url])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "-s is curl's --silent here and takes no number: aria2c's -s 4 is --split 4",
        ));
    // curl -c FILE: here -c is wget's --continue, which wants -o.
    fetchpar()
        .args(["-c", "cookies.txt", &url])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "curl's -c FILE, the cookie jar, is --save-cookies FILE",
        ));
    // curl -o FILE: here -o names the folder to save in, made and said so.
    let made = "made the folder page.html to save in: -o names a folder here";
    fetchpar()
        .current_dir(dir.path())
        .args(["-o", "page.html", &url])
        .assert()
        .success()
        .stderr(predicate::str::contains(made));
    assert!(dir.path().join("page.html/p").is_file());
    // Once it is there, or for a name that is no file's, nothing is said.
    for folder in ["page.html", "v1.2"] {
        fetchpar()
            .current_dir(dir.path())
            .args(["-o", folder, &url])
            .assert()
            .success()
            .stderr(predicate::str::contains("made the folder").not());
    }
    // curl -d DATA: here -d is aria2c's --dir.
    fetchpar()
        .current_dir(dir.path())
        .args(["-d", "name=value", &url])
        .assert()
        .success()
        .stderr(predicate::str::contains("curl's -d sends data"));
    // curl -T FILE: here -T is wget's --timeout.
    fetchpar()
        .args(["-T", "upload.txt", &url])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("-T is wget's --timeout here"));
    // curl -w FORMAT: here -w is wget's --wait.
    fetchpar()
        .args(["-w", "%{http_code}", &url])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("-w is wget's --wait here"))
        .stderr(predicate::str::contains("--json"));
    // aria2c -k 1M: here -k is curl's --insecure, which is not taken.
    fetchpar()
        .args(["-k", "1M", &url])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "aria2c's -k SIZE is --min-split-size",
        ));
    assert_eq!(origin.requests(), 4, "only the -o and -d runs fetched");
}

#[test]
fn list_lines_without_a_scheme_are_http_as_curl_and_wget_take_them() {
    let origin = Origin::start().unwrap();
    let port = origin.addr().port();
    let file = list(&[
        format!("127.0.0.1:{port}/bare?size=4"),
        format!("localhost:{port}/named?size=5"),
        "notes".to_string(),
    ]);
    let out = fetchpar()
        .args(["--json", "--keep-order"])
        .arg(file.path())
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(
        records[0]["url"],
        format!("http://127.0.0.1:{port}/bare?size=4")
    );
    assert_eq!(
        (records[0]["status"].as_u64(), records[0]["bytes"].as_u64()),
        (Some(200), Some(4))
    );
    assert_eq!(
        (records[1]["status"].as_u64(), records[1]["bytes"].as_u64()),
        (Some(200), Some(5))
    );
    assert_eq!(kind(&records[2]), "invalid_url");
}

#[test]
fn an_input_file_on_a_server_is_fetched_and_read_as_wget_i_reads_one() {
    let origin = Origin::start().unwrap();
    let lines = [
        origin.url("/from-list/a?size=3"),
        "# a comment".to_string(),
        format!("{} out=b.txt", origin.url("/from-list/b?size=4")),
        "not a url".to_string(),
    ];
    let text = lines.join("\n") + "\n";
    let body: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
    let list_path = format!("/lists/l.txt?body={body}");
    // The list's URL with a login: the login goes to the server, not into the results.
    let list_url = origin
        .url(&list_path)
        .replacen("http://", "http://user:secret@", 1);
    let out = fetchpar()
        .args(["--json", "--keep-order", "-i", &list_url])
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 3, "{records:#?}");
    let source = origin.url(&list_path).replacen("http://", "http://***@", 1);
    for record in &records {
        assert_eq!(record["source"], source.as_str());
    }
    assert_eq!(lines_of(&records), [1, 3, 4]);
    assert_eq!(records[0]["bytes"], 3);
    assert_eq!(records[1]["bytes"], 4);
    assert_eq!(kind(&records[2]), "invalid_url");
    // Sent gzip-encoded, it is read decoded.
    let packed = origin.url(&format!("/lists/l.txt?gzip=1&body={body}"));
    let out = fetchpar()
        .args(["--json", "--keep-order", "-i", &packed])
        .assert()
        .code(1);
    assert_eq!(lines_of(&json_lines(&out.get_output().stdout)), [1, 3, 4]);
    // Sent zstd-encoded (unasked), it is read decoded too.
    let packed = zstd::encode_all(text.as_bytes(), 3).unwrap();
    let packed = origin.url(&format!(
        "/lists/l.txt?encoded=zstd&hex={}",
        fetchpar::links::hex(&packed)
    ));
    let out = fetchpar()
        .args(["--json", "--keep-order", "-i", &packed])
        .assert()
        .code(1);
    assert_eq!(lines_of(&json_lines(&out.get_output().stdout)), [1, 3, 4]);
    // A list the server does not have stops the run before anything is fetched, naming it.
    let before = origin.requests();
    let missing = origin.url("/lists/missing.txt?status=404");
    fetchpar()
        .args(["-i", &missing, &origin.url("/from-list/c")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "cannot read link list {missing}: http_status: HTTP 404"
        )));
    assert_eq!(origin.requests(), before + 1, "only the list was asked for");
    // A URL given as a LIST argument is still a URL to fetch.
    let out = fetchpar()
        .args(["--json", &origin.url(&list_path)])
        .assert()
        .success();
    assert_eq!(json_lines(&out.get_output().stdout)[0]["bytes"], text.len());
}

/// `text` as one query value.
fn query_value(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[test]
fn a_list_on_a_server_that_is_html_gives_its_links_as_wget_i_reads_one() {
    let origin = Origin::start().unwrap();
    let page = "<!DOCTYPE html>\n<html><head><title>files</title></head><body>\n\
                <a href=\"f1?size=3\">one</a> <a href=\"mailto:me@h.example\">mail</a>\n\
                <a href=\"../up?size=4#part\">up</a>\n\
                <a href=\"f1?size=3\">one again</a> <a href=\"#top\">top</a>\n\
                <img\n src=\"/pics/p?size=5\" alt=\"\">\n\
                <a href=\"gone?status=404\">gone</a>\n\
                </body></html>\n";
    // The list is reached through a redirect: its links are relative to where it ends.
    let page_path = format!(
        "/pages/dir/index.html?ctype=text/html&body={}",
        query_value(page)
    );
    let start = origin.url(&format!("/start?location={}", query_value(&page_path)));
    let out = fetchpar()
        .args(["--json", "--keep-order", "-i", &start])
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    let urls: Vec<&str> = records.iter().map(|r| r["url"].as_str().unwrap()).collect();
    assert_eq!(
        urls,
        [
            origin.url("/pages/dir/f1?size=3"),
            origin.url("/pages/up?size=4"),
            origin.url("/pics/p?size=5"),
            origin.url("/pages/dir/gone?status=404"),
        ]
    );
    assert_eq!(lines_of(&records), [3, 4, 7, 8]);
    let bytes: Vec<u64> = records[..3]
        .iter()
        .map(|r| r["bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(bytes, [3, 4, 5]);
    assert_eq!(kind(&records[3]), "http_status");
    assert!(records.iter().all(|r| r["source"] == start.as_str()));
    // -B takes the place of where the list was: links resolve against it instead.
    let out = fetchpar()
        .args(["--json", "--keep-order", "--base"])
        .arg(origin.url("/other/x/"))
        .args(["-i", &start])
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records[0]["url"], origin.url("/other/x/f1?size=3").as_str());
    assert_eq!(records[1]["url"], origin.url("/other/up?size=4").as_str());
    // --accept and --reject choose links by their file names, as wget's -A and -R do.
    let chosen = |args: &[&str]| {
        let out = fetchpar()
            .args(["--json", "--keep-order"])
            .args(args)
            .args(["-i", &start])
            .output()
            .unwrap();
        let records = json_lines(&out.stdout);
        let names: Vec<String> = (records.iter())
            .map(|r| {
                r["url"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect();
        names
    };
    assert_eq!(chosen(&["--accept", "p,u*"]), ["up?size=4", "p?size=5"]);
    assert_eq!(
        chosen(&["--reject", "up", "--reject", "g?ne"]),
        ["f1?size=3", "p?size=5"]
    );
    // wget's --accept-regex and --reject-regex match the whole URL, --ignore-case any case.
    assert_eq!(
        chosen(&["--accept-regex", "/UP\\?|/p\\?", "--ignore-case"]),
        ["up?size=4", "p?size=5"]
    );
    assert_eq!(
        chosen(&["--reject-regex", "size=[34]$"]),
        ["p?size=5", "gone?status=404"]
    );
    // On a plain list they would have nothing to choose from: said, not ignored.
    for given in [["--accept", "iso"], ["--reject-regex", "x"]] {
        fetchpar()
            .args(given)
            .arg(origin.url("/a.iso"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("no list is read as HTML"));
    }
    fetchpar()
        .args(["--accept-regex", "(", "-i", &start])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--accept-regex: `(` is not a regular",
        ));
    fetchpar()
        .args(["--accept", "[a", "-i", &start])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--accept"));
    // The same page served as text/plain is a plain list, each of whose lines fails.
    let plain = origin.url(&format!("/p.txt?body={}", query_value(page)));
    let out = fetchpar().args(["--json", "-i", &plain]).assert().code(1);
    let records = json_lines(&out.get_output().stdout);
    assert!(records.len() > 4, "{records:#?}");
    assert!(records.iter().all(|r| kind(r) == "invalid_url"));
}

#[test]
fn an_html_lists_style_sheets_name_urls_as_wget_reads_them() {
    let origin = Origin::start().unwrap();
    let page = "<html><head><style>\n@import \"s.css?size=6\";\n\
                .a { background: url(bg?size=7) }\n</style></head>\n\
                <body><div style=\"background: url('d?size=8')\">x</div>\n\
                <p>url(not-css?size=9)</p></body></html>\n";
    let served = origin.url(&format!(
        "/css/index.html?ctype=text/html&body={}",
        query_value(page)
    ));
    let out = fetchpar()
        .args(["--json", "--keep-order", "-i", &served])
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    let got: Vec<(&str, u64)> = (records.iter())
        .map(|r| (r["url"].as_str().unwrap(), r["bytes"].as_u64().unwrap()))
        .collect();
    let want = [
        (origin.url("/css/s.css?size=6"), 6),
        (origin.url("/css/bg?size=7"), 7),
        (origin.url("/css/d?size=8"), 8),
    ];
    let want: Vec<(&str, u64)> = want.iter().map(|(u, b)| (u.as_str(), *b)).collect();
    assert_eq!(got, want);
    assert_eq!(lines_of(&records), [2, 3, 5]);
}

#[test]
fn force_html_reads_a_saved_page_and_base_resolves_its_links_and_plain_lines() {
    let origin = Origin::start().unwrap();
    let page = format!(
        "<base href=\"{}\">\n<ul>\n<li><a href=\"a?size=2\">a</a>\n\
         <li><a href='{}'>b</a></ul>\n",
        origin.url("/saved/"),
        origin.url("/elsewhere/b?size=6")
    );
    let file = list(&[page]);
    let out = fetchpar()
        .args(["--json", "--keep-order", "-F"])
        .arg(file.path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records[0]["url"], origin.url("/saved/a?size=2").as_str());
    assert_eq!(
        records[1]["url"],
        origin.url("/elsewhere/b?size=6").as_str()
    );
    assert_eq!(lines_of(&records), [3, 4]);
    // Without a <base href> or -B, a relative link fails alone, naming its line, and says
    // how to give a base; the absolute one is fetched.
    let page = format!(
        "<p>\n<a href=\"a?size=2\">a</a>\n<a href=\"{}\">b</a>\n",
        origin.url("/elsewhere/b?size=6")
    );
    let file = list(&[page]);
    let out = fetchpar()
        .args(["--json", "--keep-order", "--force-html", "--failed-out"])
        .arg(file.path().with_extension("failed"))
        .arg(file.path())
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(
        (kind(&records[0]).as_str(), records[0]["line"].as_u64()),
        ("invalid_url", Some(2))
    );
    assert!(message(&records[0]).contains("-B/--base"), "{records:#?}");
    assert_eq!(records[1]["bytes"], 6);
    let failed = fs::read_to_string(file.path().with_extension("failed")).unwrap();
    fs::remove_file(file.path().with_extension("failed")).unwrap();
    assert_eq!(failed.trim(), "a?size=2");
    // -B for a plain list: a line without a scheme is relative to it, as wget reads one.
    let plain = list(&["one?size=7".to_string(), origin.url("/abs?size=1")]);
    let out = fetchpar()
        .args(["--json", "--keep-order", "-B"])
        .arg(origin.url("/rel/list.txt"))
        .arg(plain.path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records[0]["url"], origin.url("/rel/one?size=7").as_str());
    assert_eq!(records[0]["bytes"], 7);
    assert_eq!(records[1]["bytes"], 1);
    // A page with nothing to fetch is a list with no URLs.
    let empty = list(&["<p><a href=\"mailto:a@h.example\">a</a> <a href=#top>top</a>".to_string()]);
    fetchpar()
        .arg("-F")
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a page with no links to fetch"));
    // A base that is no http(s) URL is a usage error.
    fetchpar()
        .args(["-B", "ftp://h.example/", "-F"])
        .arg(file.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unsupported scheme `ftp`"));
}

#[test]
fn a_tag_of_thousands_of_attributes_is_read_not_a_crash() {
    // Each double-quoted attribute in a row cost the HTML tokenizer a nested call: 5,000 of
    // them overflowed the stack of the thread that read the page, and ended the run.
    let origin = Origin::start().unwrap();
    let run: String = (0..5_000).map(|i| format!(" data-{i}=\"{i}\"")).collect();
    let page = format!("<p>\n<a{run} href=\"x?size=3\">x</a>\n");
    let file = list(&[page]);
    let out = fetchpar()
        .args(["--json", "-j", "1", "-F", "-B"])
        .arg(origin.url("/"))
        .arg(file.path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(lines_of(&records), [2]);
    assert_eq!(records[0]["bytes"], 3);
}

#[test]
fn a_sitemap_is_a_list_of_its_locs_on_a_server_or_compressed_on_disk() {
    let origin = Origin::start().unwrap();
    let sitemap = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n\
         <url><loc>{}</loc><lastmod>2026-11-01</lastmod></url>\n\
         <url>\n<loc>{}</loc>\n</url>\n\
         <url><loc>{}</loc></url>\n\
         </urlset>\n",
        origin.url("/site/?size=3"),
        origin.url("/site/about?size=4").replace('&', "&amp;"),
        origin.url("/site/gone?status=404"),
    );
    // On a server that says it is XML, it is read as the sitemap its root element says it is.
    let served = origin.url(&format!(
        "/sitemap.xml?ctype=application/xml&body={}",
        query_value(&sitemap)
    ));
    let out = fetchpar()
        .args(["--json", "--keep-order", "-i", &served])
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    let bytes: Vec<_> = records.iter().map(|r| r["bytes"].as_u64()).collect();
    assert_eq!(bytes[..2], [Some(3), Some(4)]);
    assert_eq!(kind(&records[2]), "http_status");
    assert_eq!(lines_of(&records), [3, 5, 7]);
    // Compressed whole on disk (sitemap.xml.gz), with --force-sitemap as wget2 takes one.
    let file = tempfile::Builder::new()
        .suffix(".xml.gz")
        .tempfile()
        .unwrap();
    fs::write(file.path(), gzip(&sitemap)).unwrap();
    let out = fetchpar()
        .args(["--json", "--keep-order", "--force-sitemap"])
        .arg(file.path())
        .assert()
        .code(1);
    assert_eq!(lines_of(&json_lines(&out.get_output().stdout)), [3, 5, 7]);
    // XML of no kind a list can be is one failure saying so.
    let drawing = origin.url("/d.svg?ctype=text/xml&body=%3Csvg%2F%3E");
    let out = fetchpar().args(["--json", "-i", &drawing]).assert().code(1);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 1);
    assert!(
        message(&records[0]).contains("its root element is <svg>"),
        "{records:#?}"
    );
}

/// `text` compressed as a gzip file.
fn gzip(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

#[test]
fn a_list_compressed_whole_is_read_unpacked_as_xml_or_as_lines() {
    let origin = Origin::start().unwrap();
    let sitemap = format!(
        "<?xml version=\"1.0\"?>\n<urlset>\n<url><loc>{}</loc></url>\n</urlset>\n",
        origin.url("/s/a?size=3").replace('&', "&amp;")
    );
    // sitemap.xml.gz as servers send it: a gzip file, typed as one, not gzip-encoded.
    let served = origin.url(&format!(
        "/sitemap.xml.gz?gzfile=1&ctype=application/x-gzip&body={}",
        query_value(&sitemap)
    ));
    let out = fetchpar()
        .args(["--json", "-i", &served])
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(lines_of(&records), [3], "{records:#?}");
    assert_eq!(records[0]["bytes"], 3);
    // A plain list compressed, on a server and on disk: its lines, unpacked.
    let lines = format!(
        "{}\n\n{}\n",
        origin.url("/l/1?size=4"),
        origin.url("/l/2?size=5")
    );
    let served = origin.url(&format!(
        "/links.txt.gz?gzfile=1&ctype=application/gzip&body={}",
        query_value(&lines)
    ));
    let file = tempfile::Builder::new()
        .suffix(".txt.gz")
        .tempfile()
        .unwrap();
    fs::write(file.path(), gzip(&lines)).unwrap();
    for list in [&["-i", &served][..], &[file.path().to_str().unwrap()]] {
        let out = fetchpar()
            .args(["--json", "--keep-order"])
            .args(list)
            .assert()
            .success();
        let records = json_lines(&out.get_output().stdout);
        assert_eq!(lines_of(&records), [1, 3], "{records:#?}");
        let bytes: Vec<_> = records.iter().map(|r| r["bytes"].as_u64()).collect();
        assert_eq!(bytes, [Some(4), Some(5)]);
    }
    // Piped into standard input, each the same: looked into when its first line is read.
    let out = fetchpar()
        .args(["--json", "--keep-order", "-"])
        .write_stdin(gzip(&lines))
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(lines_of(&records), [1, 3], "{records:#?}");
    let out = fetchpar()
        .args(["--json", "-"])
        .write_stdin(gzip(&sitemap))
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(lines_of(&records), [3], "{records:#?}");
    assert_eq!(records[0]["bytes"], 3);
}

#[test]
fn a_sitemap_index_is_read_through_its_sitemaps_each_naming_its_own_lines() {
    let origin = Origin::start().unwrap();
    let urlset = |locs: &[String]| {
        let urls: String = locs
            .iter()
            .map(|l| format!("<url><loc>{}</loc></url>\n", l.replace('&', "&amp;")))
            .collect();
        format!("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n{urls}</urlset>")
    };
    let served = |path: &str, ctype: &str, body: &str| {
        origin.url(&format!("{path}?ctype={ctype}&body={}", query_value(body)))
    };
    let posts = served(
        "/posts.xml",
        "text/xml",
        &urlset(&[origin.url("/p/1?size=3"), origin.url("/p/2?status=404")]),
    );
    // Sent as what it is not: a sitemap of an index is read by its root element.
    let pages = served(
        "/pages.xml",
        "text/plain",
        &urlset(&[origin.url("/pg?size=5")]),
    );
    // A text sitemap: a URL a line.
    let text = format!(
        "{}\n\n{}\n",
        origin.url("/t/1?size=6"),
        origin.url("/t/2?size=7")
    );
    let text = served("/sitemap.txt", "text/plain", &text);
    let nested = served(
        "/nested.xml",
        "application/xml",
        &format!(
            "<sitemapindex><sitemap><loc>{}</loc></sitemap></sitemapindex>",
            posts.replace('&', "&amp;")
        ),
    );
    let gone = origin.url("/gone.xml?status=404");
    let index_of = |maps: &[&String]| {
        let maps: String = maps
            .iter()
            .map(|m| {
                format!(
                    "<sitemap>\n<loc>{}</loc>\n</sitemap>\n",
                    m.replace('&', "&amp;")
                )
            })
            .collect();
        format!("<?xml version=\"1.0\"?>\n<sitemapindex>\n{maps}</sitemapindex>\n")
    };
    // posts (line 4), gone (7), pages (10), posts again (given once), nested (16), text.
    let index = index_of(&[&posts, &gone, &pages, &posts, &nested, &text]);
    let on_server = served("/sitemap_index.xml", "application/xml", &index);
    let out = fetchpar()
        .args(["--json", "--keep-order", "-i", &on_server])
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    let got: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
                kind(r),
            )
        })
        .collect();
    let from = |url: &str, line, kind: &str| (url.to_string(), line, kind.to_string());
    assert_eq!(
        got,
        [
            from(&posts, 2, "ok"),
            from(&posts, 3, "http_status"),
            from(&on_server, 7, "http_status"),
            from(&pages, 2, "ok"),
            from(&nested, 1, "invalid_url"),
            from(&text, 1, "ok"),
            from(&text, 3, "ok"),
        ],
        "{records:#?}"
    );
    assert_eq!(records[0]["bytes"], 3);
    assert_eq!(records[3]["bytes"], 5);
    assert!(
        message(&records[2]).contains("the sitemap it names: "),
        "{records:#?}"
    );
    assert!(
        message(&records[4]).contains("allows one level"),
        "{records:#?}"
    );
    assert_eq!(
        (records[5]["bytes"].as_u64(), records[6]["bytes"].as_u64()),
        (Some(6), Some(7))
    );
    // On disk, with --force-sitemap: the sitemaps it names are fetched all the same.
    let file = list(&[index_of(&[&pages])]);
    let out = fetchpar()
        .args(["--json", "--force-sitemap"])
        .arg(file.path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["bytes"], 5);
}

#[test]
fn a_feed_is_a_list_of_its_enclosures_as_podcast_episodes() {
    let origin = Origin::start().unwrap();
    let rss = format!(
        "<rss version=\"2.0\"><channel><title>show</title>\n\
         <item><link>{}</link><enclosure url=\"{}\" type=\"audio/mpeg\"/></item>\n\
         <item><enclosure url=\"{}\" type=\"audio/mpeg\"/></item>\n\
         </channel></rss>",
        origin.url("/show/page-one"),
        origin.url("/show/one.mp3?size=5").replace('&', "&amp;"),
        origin.url("/show/two.mp3?size=6").replace('&', "&amp;"),
    );
    let out_dir = tempfile::tempdir().unwrap();
    // Served as RSS, it is read as one; with --force-rss any list is.
    let served = origin.url(&format!(
        "/feed?ctype=application/rss%2Bxml&body={}",
        query_value(&rss)
    ));
    let out = fetchpar()
        .args(["--json", "--keep-order", "-o"])
        .arg(out_dir.path())
        .args(["-i", &served])
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(lines_of(&records), [2, 3]);
    assert_eq!(fs::read(out_dir.path().join("one.mp3")).unwrap().len(), 5);
    assert_eq!(fs::read(out_dir.path().join("two.mp3")).unwrap().len(), 6);
    let file = list(&[rss]);
    let out = fetchpar()
        .args(["--json", "--force-rss"])
        .arg(file.path())
        .assert()
        .success();
    assert_eq!(json_lines(&out.get_output().stdout).len(), 2);
}

#[test]
fn input_files_are_read_after_the_list_arguments_as_wget_i_reads_them() {
    let origin = Origin::start().unwrap();
    let first = list(&[origin.url("/first?size=1")]);
    let second = list(&[origin.url("/second?size=1")]);
    let third = list(&[origin.url("/third?size=1")]);
    let out = fetchpar()
        .args(["--json", "--keep-order", "-i"])
        .arg(second.path())
        .arg("--input-file")
        .arg(third.path())
        .arg(first.path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    let sources: Vec<&str> = records
        .iter()
        .map(|r| r["source"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = [&first, &second, &third]
        .iter()
        .map(|f| f.path().display().to_string())
        .collect();
    assert_eq!(sources, expected);
}

#[test]
fn a_bad_url_argument_is_named_by_its_place_among_the_arguments() {
    let origin = Origin::start().unwrap();
    let good = list(&[origin.url("/listed?size=1")]);
    let out = fetchpar()
        .arg(good.path())
        .arg(origin.url("/fine?size=1"))
        .arg("http://[::1")
        .assert()
        .code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("[argument:3] invalid_url"), "{stdout}");
    assert_eq!(stdout.matches("200 ").count(), 2, "{stdout}");
}

#[test]
fn a_url_argument_of_any_scheme_is_a_url_not_a_missing_list() {
    // `HTTP://` is http (schemes have no case), and an ftp:// or file:// argument is a URL
    // fetchpar cannot fetch: it fails its own line, as in a list, not the run as a list file
    // that is not there.
    let origin = Origin::start().unwrap();
    let upper = origin
        .url("/upper?size=3")
        .replacen("http://", "HTTP://", 1);
    let out = fetchpar()
        .args([
            "--json",
            &upper,
            "ftp://127.0.0.1/x",
            "file:///etc/hostname",
        ])
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 3, "{records:#?}");
    assert_eq!(kind(find(&records, "/upper")), "ok");
    assert_eq!(find(&records, "/upper")["bytes"], 3);
    for (url, scheme) in [("ftp://", "`ftp`"), ("file://", "`file`")] {
        let record = find(&records, url);
        assert_eq!(kind(record), "invalid_url", "{record}");
        let message = record["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("unsupported scheme {scheme}")),
            "{message}"
        );
    }
    // -i takes a list from an http(s) server only, and says so for another scheme.
    fetchpar()
        .args(["-i", "ftp://127.0.0.1/list.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "-i ftp://127.0.0.1/list.txt: a list is fetched only from an http:// or https:// URL",
        ));
}

#[test]
fn urls_longer_than_a_request_buffer_are_fetched() {
    // A list line may hold up to 64 KiB; a request head that long does not fit the buffer a
    // pooled connection has, and once failed with "output too small". Short URLs on the same
    // host around it must still work.
    let origin = Origin::start().unwrap();
    let long = origin.url(&format!("/long?size=7&pad={}", "a".repeat(40_000)));
    let file = list(&[origin.url("/s1?size=1"), long, origin.url("/s2?size=2")]);
    let out = fetchpar()
        .args(["--json", "-j", "1"])
        .arg(file.path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 3, "{records:#?}");
    assert_eq!(kind(find(&records, "/long")), "ok");
    assert_eq!(find(&records, "/long")["bytes"], 7);
    assert_eq!(find(&records, "/s2")["bytes"], 2);
}

#[test]
fn an_empty_list_is_an_input_error() {
    fetchpar()
        .arg(list(&["# only a comment".into(), "   ".into()]).path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no URLs"));
    // Streamed input is only known to be empty at its end: still one error line, and no
    // "0 URLs" summary before it, in either mode.
    for mode in ["--threads", "--sequential"] {
        let out = fetchpar().arg(mode).write_stdin("").assert().code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert_eq!(stderr.lines().count(), 1, "{mode}: {stderr}");
        assert!(stderr.contains("no URLs"), "{mode}: {stderr}");
    }
}

#[test]
fn an_unreadable_list_is_an_input_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-list.txt");
    let out = fetchpar()
        .arg(&missing)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-list.txt"));
    // The cause is given once, not once by the error and again by its chain.
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
    fetchpar()
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("directory"));
}

#[test]
fn bad_options_are_usage_errors() {
    // A line break in a header or the user agent stops the run before any fetch, with the
    // offending text escaped.
    for args in [
        ["--user-agent", "ua\nX-Injected: 1"],
        ["-H", "X-A: a\r\nX-Injected: 1"],
    ] {
        let out = fetchpar()
            .args(args)
            .arg("http://127.0.0.1:9/")
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    fetchpar().args(["--jobs", "0", "x"]).assert().code(2);
    // The prefix is held in memory per result: capped, so an endless body cannot fill memory
    // through a huge --prefix.
    fetchpar()
        .args(["--prefix", "1048577", "x"])
        .assert()
        .code(2);
    fetchpar().args(["--timeout", "soon", "x"]).assert().code(2);
    fetchpar()
        .args(["-H", "no colon here", "-"])
        .write_stdin("http://127.0.0.1:9/\n")
        .assert()
        .code(2);
}

/// What a successful run over a list of one URL (`path` on `origin`) prints on stdout.
fn stdout_of_one(origin: &Origin, path: &str) -> Vec<u8> {
    let out = fetchpar()
        .arg(list(&[origin.url(path)]).path())
        .assert()
        .success();
    out.get_output().stdout.clone()
}

#[test]
fn control_bytes_from_a_server_are_escaped() {
    let origin = Origin::start().unwrap();
    let hostile = "/evil?body=%1B%5B2J%1B%5D0%3Btitle%07%0Aline2%FF";
    let stdout = &stdout_of_one(&origin, hostile);
    assert!(
        !stdout.iter().any(|&b| b == 0x1b || b == 0x07),
        "raw control bytes reached stdout"
    );
    let text = String::from_utf8_lossy(stdout);
    assert!(text.contains("\\x1b[2J"), "{text}");
    assert!(text.contains("\\x07\\nline2"), "{text}");
    assert_eq!(text.lines().count(), 1, "one line per URL: {text}");
}

#[test]
fn text_in_utf8_is_shown_as_text_and_invisible_controls_are_not() {
    let origin = Origin::start().unwrap();
    // "café αβ", then a C1 control (an escape sequence's start on some terminals) and a
    // right-to-left override, in UTF-8.
    let body = "/utf8?body=caf%C3%A9%20%CE%B1%CE%B2%C2%9B2J%E2%80%AEx";
    let text = String::from_utf8(stdout_of_one(&origin, body)).unwrap();
    assert!(
        text.contains("\"café αβ\\xc2\\x9b2J\\xe2\\x80\\xaex\""),
        "{text}"
    );
    assert!(
        !text.contains('\u{9b}') && !text.contains('\u{202e}'),
        "{text}"
    );
}

#[test]
fn json_output_escapes_what_a_terminal_would_obey_and_keeps_the_text() {
    let origin = Origin::start().unwrap();
    // "café", a C1 control, a right-to-left override, DEL and a zero-width space.
    let url = origin.url("/json?body=caf%C3%A9%C2%9B2J%E2%80%AEx%7F%E2%80%8By");
    let out = fetchpar()
        .args(["--json", "--prefix", "100", &url])
        .assert()
        .success();
    let stdout = &out.get_output().stdout;
    let raw = String::from_utf8(stdout.clone()).unwrap();
    for c in ['\u{9b}', '\u{202e}', '\u{7f}', '\u{200b}'] {
        assert!(!raw.contains(c), "{c:?} written raw: {raw}");
    }
    assert!(
        raw.contains("caf\u{e9}\\u009b2J\\u202ex\\u007f\\u200by"),
        "{raw}"
    );
    let records = json_lines(stdout);
    assert_eq!(
        records[0]["prefix"],
        "caf\u{e9}\u{9b}2J\u{202e}x\u{7f}\u{200b}y"
    );
}

#[test]
fn prefix_length_is_configurable() {
    let origin = Origin::start().unwrap();
    let url = origin.url("/p?body=abcdefghij");
    let file = list(&[url]);
    let out = fetchpar()
        .args(["--json", "--prefix", "4"])
        .arg(file.path())
        .assert()
        .success();
    assert_eq!(json_lines(&out.get_output().stdout)[0]["prefix"], "abcd");
    let out = fetchpar()
        .args(["--prefix", "0"])
        .arg(file.path())
        .assert()
        .success();
    assert!(!String::from_utf8_lossy(&out.get_output().stdout).contains('"'));
}

#[test]
fn a_stalled_server_is_ended_by_the_stall_timeout() {
    let origin = Origin::start().unwrap();
    let file = list(&[
        origin.url("/stall?size=1000&stall=10"),
        origin.url("/fine?size=5"),
    ]);
    let out = fetchpar()
        .args(["--json", "--retries", "0", "--stall-timeout", "0.5"])
        .arg(file.path())
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 2);
    let stalled = find(&records, "/stall");
    assert_eq!(kind(stalled), "timeout");
    assert_eq!(
        stalled["bytes"], 10,
        "the bytes before the stall are counted"
    );
    assert_eq!(kind(find(&records, "/fine")), "ok");
    // wget's and aria2c's --timeout is the stall timeout too (and the connect timeout): it
    // ends the stall long before -m's whole attempt would.
    let stalled = fetchpar()
        .args([
            "--json",
            "--retries",
            "0",
            "--timeout",
            "0.5",
            "--max-time",
            "20",
        ])
        .arg(origin.url("/stall?size=1000&stall=10"))
        .assert()
        .code(1);
    let record = &json_lines(&stalled.get_output().stdout)[0];
    assert!(message(record).contains("--stall-timeout"), "{record}");
}

#[test]
fn a_dripping_server_is_ended_by_the_whole_timeout() {
    let origin = Origin::start().unwrap();
    let file = list(&[origin.url("/drip?size=100&drip=100")]);
    let out = fetchpar()
        .args(["--json", "--retries", "0", "--max-time", "0.7"])
        .arg(file.path())
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(kind(&records[0]), "timeout");
    assert!(
        records[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-time")
    );
    assert!(records[0]["bytes"].as_u64().unwrap() < 100);
}

#[test]
fn redirects_are_followed_up_to_the_limit() {
    let origin = Origin::start().unwrap();
    let file = list(&[
        origin.url("/few?redirect=3"),
        origin.url("/many?redirect=5"),
        origin.url("/loop?loop=1"),
    ]);
    let out = fetchpar()
        .args(["--json", "--max-redirects", "4"])
        .arg(file.path())
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(kind(find(&records, "/few")), "ok");
    assert_eq!(kind(find(&records, "/many")), "redirects");
    assert_eq!(kind(find(&records, "/loop")), "redirects");
}

/// `path` on `origin` answering with a redirect to exactly `location`.
fn redirecting(origin: &Origin, path: &str, location: &str) -> String {
    let location: String = url::form_urlencoded::byte_serialize(location.as_bytes()).collect();
    origin.url(&format!("{path}?location={location}"))
}

#[test]
fn redirect_locations_are_resolved_as_curl_resolves_them() {
    let origin = Origin::start().unwrap();
    // (where the redirect is, its Location, where it must lead, the body found there)
    let followed = [
        ("/dir/query", "?body=q", "/dir/query?body=q", "q"),
        (
            "/dir/space",
            "/with space?body=s",
            "/with%20space?body=s",
            "s",
        ),
        ("/dir/accent", "/caf\u{e9}?body=a", "/caf%C3%A9?body=a", "a"),
        ("/dir/up", "../up?body=u", "/up?body=u", "u"),
        ("/dir/frag", "next?body=f#part", "/dir/next?body=f", "f"),
        ("/dir/abs", &origin.url("/abs?body=b"), "/abs?body=b", "b"),
    ];
    let refused = [
        ("/dir/file", "file:///etc/passwd"),
        ("/dir/ftp", "ftp://127.0.0.1/x"),
    ];
    let mut lines: Vec<String> = (followed.iter())
        .map(|(path, location, ..)| redirecting(&origin, path, location))
        .collect();
    lines.extend((refused.iter()).map(|(path, location)| redirecting(&origin, path, location)));
    let out = fetchpar()
        .args(["--json", "--retries", "0"])
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    for (path, _, lands, body) in followed {
        let record = find(&records, &format!("{path}?"));
        assert_eq!(kind(record), "ok", "{path}: {record}");
        assert_eq!(record["final_url"], origin.url(lands), "{path}");
        assert_eq!(record["prefix"], body, "{path}");
    }
    for (path, location) in refused {
        let record = find(&records, &format!("{path}?"));
        assert_eq!(kind(record), "redirects", "{path}: {record}");
        // The redirect that was not followed is what the record shows.
        assert_eq!(record["status"], 302, "{record}");
        assert_eq!(record["final_url"], record["url"], "{record}");
        assert!(message(record).contains(location), "{record}");
        assert!(message(record).contains("only http and https"), "{record}");
    }
    // Every followed redirect made two requests; a refused one, only its own.
    assert_eq!(origin.requests(), 2 * followed.len() + refused.len());

    // No redirect allowed: the first one is already too many, as with curl's --max-redirs 0.
    let out = fetchpar()
        .args(["--json", "--max-redirects", "0"])
        .arg(&lines[0])
        .assert()
        .code(1);
    let record = &json_lines(&out.get_output().stdout)[0];
    assert_eq!(kind(record), "redirects");
    assert_eq!(record["status"], 302, "{record}");
    assert!(message(record).contains("--max-redirects"), "{record}");
}

#[test]
fn credentials_given_as_headers_stay_on_the_first_origin() {
    let first = Origin::start().unwrap();
    let other = Origin::start().unwrap();
    let echo = |origin: &Origin, name: &str| origin.url(&format!("/e?echo={name}"));
    let lines = [
        redirecting(&first, "/same-auth", &echo(&first, "authorization")),
        redirecting(&first, "/same-cookie", &echo(&first, "cookie")),
        redirecting(&first, "/other-auth", &echo(&other, "authorization")),
        redirecting(&first, "/other-cookie", &echo(&other, "cookie")),
        redirecting(&first, "/other-token", &echo(&other, "x-token")),
    ];
    let out = fetchpar()
        .args([
            "--json",
            "-H",
            "Authorization: Bearer secret",
            "-H",
            "Cookie: k=v",
        ])
        .args(["-H", "X-Token: t"])
        .arg(list(&lines).path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    let body = |needle: &str| {
        find(&records, needle)["prefix"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(body("/same-auth?"), "Bearer secret");
    assert_eq!(body("/same-cookie?"), "k=v");
    assert_eq!(
        body("/other-auth?"),
        "",
        "Authorization went to another origin"
    );
    assert_eq!(body("/other-cookie?"), "", "Cookie went to another origin");
    assert_eq!(body("/other-token?"), "t", "other headers go along");

    // -u is Basic auth by the same rule, sent as given (no percent-decoding), in place of the
    // URL's own credentials.
    use base64::Engine as _;
    let with_own = echo(&first, "authorization").replace("http://", "http://url:creds@");
    let lines = [
        with_own,
        redirecting(&first, "/other-auth", &echo(&other, "authorization")),
    ];
    let out = fetchpar()
        .args(["--json", "--keep-order", "-u", "us%40er:p:ss"])
        .arg(list(&lines).path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    let expected = base64::engine::general_purpose::STANDARD.encode("us%40er:p:ss");
    assert_eq!(records[0]["prefix"], format!("Basic {expected}"));
    assert_eq!(records[1]["prefix"], "", "-u went to another origin");
    // wget's way: the user and the password apart.
    let out = fetchpar()
        .args(["--json", "--user", "wuser", "--password", "w:pass"])
        .arg(list(&lines[..1]).path())
        .assert()
        .success();
    let expected = base64::engine::general_purpose::STANDARD.encode("wuser:w:pass");
    assert_eq!(
        json_lines(&out.get_output().stdout)[0]["prefix"],
        format!("Basic {expected}")
    );
    // Two sources of credentials at once, or no password, is a usage error.
    for args in [
        vec!["-u", "a:b", "-H", "Authorization: Bearer x"],
        vec!["-u", "nopassword"],
        vec!["-u", "a:b", "--password", "c"],
    ] {
        fetchpar()
            .args(&args)
            .arg(list(&lines).path())
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--user"));
    }
}

#[test]
fn oauth2_bearer_goes_to_each_urls_own_origin_as_curls_does() {
    let origin = Origin::start().unwrap();
    let echo = origin.url("/e?echo=authorization");
    let elsewhere = echo.replace("127.0.0.1", "localhost");
    let lines = [
        echo.clone(),
        // A redirect to another origin: the token stays behind, as -u's login does.
        redirecting(&origin, "/hop", &elsewhere),
        // A login in the URL gives way to it, as to a -H Authorization.
        echo.replace("http://", "http://own:pw@"),
    ];
    let out = fetchpar()
        .args(["--json", "--keep-order", "--oauth2-bearer", "t0k.en"])
        .arg(list(&lines).path())
        .assert()
        .success();
    let prefixes: Vec<serde_json::Value> = (json_lines(&out.get_output().stdout).iter())
        .map(|r| r["prefix"].clone())
        .collect();
    assert_eq!(prefixes, ["Bearer t0k.en", "", "Bearer t0k.en"]);
    for other in [&["-u", "me:pw"][..], &["-H", "Authorization: Basic eA=="]] {
        fetchpar()
            .args(["--oauth2-bearer", "t"])
            .args(other)
            .arg(&echo)
            .assert()
            .code(2);
    }
    fetchpar()
        .args(["--oauth2-bearer", "a\u{7}b", &echo])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--oauth2-bearer needs a token"));
}

#[test]
fn netrc_gives_each_host_its_entry_redirects_included() {
    use base64::Engine as _;
    let origin = Origin::start().unwrap();
    let basic = |text: &str| {
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        format!("Basic {encoded}")
    };
    let echo = origin.url("/e?echo=authorization");
    // The same server by a name the file gives no entry of its own.
    let by_name = echo.replace("127.0.0.1", "localhost");
    let dir = tempfile::tempdir().unwrap();
    let netrc = dir.path().join("netrc");
    fs::write(
        &netrc,
        "machine 127.0.0.1\n  login alice\n  password \"open sesame\"\n\
         default login guest password g\n",
    )
    .unwrap();
    let lines = [
        echo.clone(),
        by_name.clone(),
        redirecting(&origin, "/hop", &by_name),
        echo.replace("http://", "http://own:pw@"),
        echo.replace("http://", "http://alice@"),
    ];
    let records = |args: &[&str]| {
        let out = fetchpar()
            .args(["--json", "--keep-order"])
            .args(args)
            .arg(list(&lines).path())
            .assert()
            .success();
        let records = json_lines(&out.get_output().stdout);
        let prefixes: Vec<String> = (records.iter())
            .map(|r| r["prefix"].as_str().unwrap().to_string())
            .collect();
        prefixes
    };
    let with_file = records(&["--netrc-file", netrc.to_str().unwrap()]);
    assert_eq!(
        with_file,
        [
            basic("alice:open sesame"),
            basic("guest:g"),
            // The redirect's target is another host: its own entry, not the first's.
            basic("guest:g"),
            basic("own:pw"),
            basic("alice:open sesame"),
        ]
    );
    // -n reads $NETRC (else ~/.netrc); -u still wins where it goes.
    let with_user = fetchpar()
        .args(["--json", "--keep-order", "-n", "-u", "cli:x"])
        .env("NETRC", &netrc)
        .arg(list(&lines[..1]).path())
        .assert()
        .success();
    let record = &json_lines(&with_user.get_output().stdout)[0];
    assert_eq!(record["prefix"], basic("cli:x"));
    // Without -n nothing is read, even with $NETRC set; -n with no file at all is no error.
    let without = fetchpar()
        .args(["--json", "--keep-order"])
        .env("NETRC", &netrc)
        .arg(list(&lines[..1]).path())
        .assert()
        .success();
    assert_eq!(json_lines(&without.get_output().stdout)[0]["prefix"], "");
    // wget's and aria2c's --no-netrc says so, and cannot be given with -n.
    let said = fetchpar()
        .args(["--json", "--no-netrc"])
        .env("NETRC", &netrc)
        .arg(list(&lines[..1]).path())
        .assert()
        .success();
    assert_eq!(json_lines(&said.get_output().stdout)[0]["prefix"], "");
    fetchpar()
        .args(["--no-netrc", "-n"])
        .arg(list(&lines[..1]).path())
        .assert()
        .code(2);
    fetchpar()
        .args(["-n", "--prefix", "0"])
        .env_remove("NETRC")
        .env("HOME", dir.path())
        .arg(list(&lines[..1]).path())
        .assert()
        .success();
    // A named file that is missing or broken stops the run before any fetch.
    let before = origin.requests();
    fs::write(dir.path().join("bad"), "machine a.example\nport 22\n").unwrap();
    for (file, says) in [("missing", "cannot read netrc file"), ("bad", "line 2")] {
        fetchpar()
            .arg("--netrc-file")
            .arg(dir.path().join(file))
            .arg(list(&lines[..1]).path())
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    assert_eq!(origin.requests(), before);
}

#[test]
fn spider_checks_each_url_without_reading_a_body() {
    let origin = Origin::start().unwrap();
    let lines = [
        origin.url("/here?size=100000"),
        // HEAD refused: asked again with GET, whose endless body must go unread.
        origin.url("/no-head?no_head=1&chunked=1&endless=1"),
        origin.url("/gone?status=404"),
        origin.url("/moved?redirect=1&size=10"),
    ];
    let run = fetchpar()
        .args(["--json", "--keep-order", "--spider", "--retries", "0"])
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    let statuses: Vec<u64> = (records.iter())
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 404, 200]);
    let kinds: Vec<String> = records.iter().map(kind).collect();
    assert_eq!(kinds, ["ok", "ok", "http_status", "ok"]);
    assert!(records.iter().all(|r| r["bytes"] == 0), "{records:#?}");
    // The size is the one announced, as wget's "Length:"; the endless body announces none.
    let lengths: Vec<Option<u64>> = records.iter().map(|r| r["length"].as_u64()).collect();
    assert_eq!(lengths[0], Some(100_000), "{records:#?}");
    assert_eq!(lengths[1], None, "{records:#?}");
    assert_eq!(lengths[3], Some(10), "{records:#?}");
    assert_eq!(records[0]["content_type"], "text/plain");
    // One request each, but two for the refused HEAD and two for the redirect.
    assert_eq!(origin.requests(), 6);
    // Text lines show the announced size and type; a server's type reaches the terminal
    // escaped.
    let shown = fetchpar()
        .args(["--spider", "--color", "never"])
        .arg(&lines[0])
        .arg(origin.url("/t?size=7&ctype=%c2%9b2Jtext/evil"))
        .assert()
        .success();
    let text = String::from_utf8(shown.get_output().stdout.clone()).unwrap();
    let here = text.lines().find(|l| l.contains("/here")).unwrap();
    assert!(
        here.contains("97.7 KiB") && here.ends_with("(text/plain)"),
        "{text}"
    );
    let evil = text.lines().find(|l| l.contains("/t?")).unwrap();
    assert!(
        evil.contains("  7 B") && evil.ends_with("(\\xc2\\x9b2Jtext/evil)"),
        "{text}"
    );
    assert!(!text.contains('\u{9b}'), "{text}");
    fetchpar()
        .args(["--spider", "-o", "d"])
        .arg(&lines[0])
        .assert()
        .code(2);
}

#[test]
fn resolve_sends_a_host_name_to_the_addresses_given() {
    let origin = Origin::start().unwrap();
    let port = origin.addr().port();
    // A name no resolver knows; the first address given refuses (nothing listens on
    // 127.0.0.2), the second is the server's.
    let url = format!("http://files.test:{port}/r?echo=host");
    let run = fetchpar()
        .args(["--json", "--resolve"])
        .arg(format!("FILES.test:{port}:127.0.0.2,[127.0.0.1]"))
        .arg(&url)
        .assert()
        .success();
    let record = &json_lines(&run.get_output().stdout)[0];
    assert_eq!(record["prefix"], format!("files.test:{port}"), "{record}");
    // curl's `*`: every host on that port that no entry names.
    let wild = format!("http://any.test:{port}/r?echo=host");
    let run = fetchpar()
        .args(["--json", "--resolve"])
        .arg(format!("*:{port}:127.0.0.1"))
        .arg(&wild)
        .assert()
        .success();
    let record = &json_lines(&run.get_output().stdout)[0];
    assert_eq!(record["prefix"], format!("any.test:{port}"), "{record}");
    for bad in [
        "files.test:80",
        "files.test:x:127.0.0.1",
        "files.test:80:nope",
        ":80:1.2.3.4",
        "-files.test:80",
    ] {
        fetchpar()
            .args(["--resolve", bad])
            .arg(&url)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--resolve"));
    }
    assert_eq!(origin.requests(), 2);
}

#[test]
fn a_refused_connection_names_the_address_it_was_to() {
    // Nothing listens on the port: the host's name is the URL's, the address is where
    // --resolve (or --connect-to) sent it, and that is what the message names.
    let refused = refused_url();
    let port = url::Url::parse(&refused).unwrap().port().unwrap();
    let url = format!("http://files.test:{port}/x");
    for (resolve, says) in [
        (
            format!("files.test:{port}:127.0.0.1"),
            format!("connecting to 127.0.0.1:{port}: "),
        ),
        (
            format!("files.test:{port}:127.0.0.1,127.0.0.2"),
            format!("connecting to 127.0.0.1:{port} (the first of 2 addresses): "),
        ),
    ] {
        let run = fetchpar()
            .args(["--json", "--retries", "0", "--resolve", &resolve])
            .arg(&url)
            .assert()
            .code(1);
        let record = &json_lines(&run.get_output().stdout)[0];
        assert_eq!(kind(record), "connect", "{record}");
        assert!(message(record).starts_with(&says), "{record}");
    }
}

#[test]
fn connect_to_sends_a_hosts_connections_elsewhere_and_the_request_keeps_its_name() {
    let origin = Origin::start().unwrap();
    let other = Origin::start().unwrap();
    let (port, other_port) = (origin.addr().port(), other.addr().port());
    let prefix = |rules: &[String], extra: &[&str], url: &str| {
        let mut run = fetchpar();
        for rule in rules {
            run.args(["--connect-to", rule]);
        }
        let out = run.arg("--json").args(extra).arg(url).assert().success();
        let record = &json_lines(&out.get_output().stdout)[0];
        record["prefix"].as_str().unwrap().to_string()
    };
    // A name no resolver knows, on a port where nothing listens: the first rule that matches
    // is used (127.0.0.2 refuses), and the Host header is still the URL's.
    let rules = [
        "nomatch.test:1:127.0.0.2:9".to_string(),
        format!("FILES.test:1:127.0.0.1:{port}"),
        "files.test:1:127.0.0.2:9".to_string(),
    ];
    let url = "http://files.test:1/r?echo=host";
    assert_eq!(prefix(&rules, &[], url), "files.test:1");
    // An empty HOST1 matches any host, an empty HOST2 keeps the URL's.
    let any = [format!(":{other_port}::{port}")];
    let to_other = other.url("/r?echo=host");
    assert_eq!(
        prefix(&any, &[], &to_other),
        format!("127.0.0.1:{other_port}")
    );
    // --resolve answers for the host connected to.
    let named = [format!("files.test:1:node.test:{port}")];
    let resolve = format!("node.test:{port}:127.0.0.1");
    assert_eq!(
        prefix(&named, &["--resolve", &resolve], url),
        "files.test:1"
    );
    for bad in [
        "files.test:1:127.0.0.1",
        "files.test:x:127.0.0.1:80",
        "[::1:1::80",
    ] {
        fetchpar()
            .args(["--connect-to", bad])
            .arg(url)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("--connect-to `{bad}`")));
    }
    assert_eq!(origin.requests(), 3);
    assert_eq!(other.requests(), 0);
}

#[test]
fn a_list_line_gives_headers_for_its_url_alone() {
    let first = Origin::start().unwrap();
    let other = Origin::start().unwrap();
    let echo = |origin: &Origin, name: &str| origin.url(&format!("/e?echo={name}"));
    let lines = [
        format!("{}\n  header=X-Token: line one", echo(&first, "x-token")),
        echo(&first, "x-token"),
        format!("{}\n  user-agent=aria2/1.37", echo(&first, "user-agent")),
        format!(
            "{}\n  referer=http://from.example/",
            echo(&first, "referer")
        ),
        // Credentials a line gives stay on its URL's origin, as -H ones do.
        format!(
            "{}\n  header=Authorization: Bearer line",
            redirecting(&first, "/away", &echo(&other, "authorization"))
        ),
    ];
    let out = fetchpar()
        .args(["--json", "--keep-order", "-H", "X-Token: from -H"])
        .arg(list(&lines).path())
        .assert()
        .success();
    let prefixes: Vec<String> = json_lines(&out.get_output().stdout)
        .iter()
        .map(|r| r["prefix"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        prefixes,
        [
            "line one",
            "from -H",
            "aria2/1.37",
            "http://from.example/",
            ""
        ]
    );
}

#[test]
fn a_utf16_list_is_one_failure_that_says_how_to_convert_it_and_the_others_go_on() {
    let origin = Origin::start().unwrap();
    // What Windows PowerShell's `>` writes: UTF-16LE after a byte order mark.
    let text = format!("{}\r\n{}\r\n", origin.url("/a"), origin.url("/b"));
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let windows = tempfile::NamedTempFile::new().unwrap();
    fs::write(windows.path(), utf16).unwrap();
    let fine = list(&[origin.url("/c")]);
    let run = fetchpar()
        .args(["--json", "--keep-order"])
        .arg(windows.path())
        .arg(fine.path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(kind(&records[0]), "invalid_url");
    assert_eq!(records[0]["line"], 1);
    assert!(message(&records[0]).contains("UTF-16"), "{}", records[0]);
    assert_eq!(kind(&records[1]), "ok");
    assert_eq!(origin.requests(), 1);
}

#[test]
fn only_2xx_and_unfollowed_3xx_answers_succeed() {
    let origin = Origin::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let lines = [
        // LinkedIn's answer to a client it refuses; not a status HTTP defines.
        origin.url("/refused?status=999&size=50"),
        // A protocol switch nobody asked for.
        origin.url("/switch?status=101&size=0"),
        // A redirect without a Location is an answer, as curl takes it.
        origin.url("/choices?status=300&size=40"),
        origin.url("/fine?status=203&size=30"),
    ];
    let run = fetchpar()
        .args(["--json", "--keep-order", "--retries", "0", "-o"])
        .arg(out.path())
        .arg(list(&lines).path())
        .assert()
        .code(1);
    let records = json_lines(&run.get_output().stdout);
    let seen: Vec<(u64, String)> = (records.iter())
        .map(|r| (r["status"].as_u64().unwrap(), kind(r)))
        .collect();
    let expected = [
        (999, "http_status"),
        (101, "http_status"),
        (300, "ok"),
        (203, "ok"),
    ];
    let expected: Vec<(u64, String)> = (expected.iter())
        .map(|(status, kind)| (*status, kind.to_string()))
        .collect();
    assert_eq!(seen, expected, "{records:#?}");
    assert_eq!(message(&records[0]), "HTTP 999 (not a status HTTP defines)");
    // A failure's body is not saved.
    assert_eq!(files_in(out.path()), ["choices", "fine"]);
}

#[test]
fn headers_and_user_agent_are_sent() {
    let origin = Origin::start().unwrap();
    let file = list(&[
        origin.url("/h?echo=x-token"),
        origin.url("/ua?echo=user-agent"),
    ]);
    let out = fetchpar()
        .args([
            "--json",
            "--keep-order",
            "-H",
            "X-Token: abc",
            "-H",
            "x-token: def",
        ])
        .args(["--user-agent", "tester/1"])
        .arg(file.path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records[0]["prefix"], "abc\ndef", "repeatable -H");
    assert_eq!(records[1]["prefix"], "tester/1");
    let default = fetchpar()
        .arg("--json")
        .arg(list(&[origin.url("/ua?echo=user-agent")]).path())
        .assert()
        .success();
    let record = &json_lines(&default.get_output().stdout)[0];
    assert!(record["prefix"].as_str().unwrap().starts_with("fetchpar/"));
}

#[test]
fn headers_are_read_as_curl_reads_them_empty_left_out_and_from_a_file() {
    let origin = Origin::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("headers.txt");
    std::fs::write(&file, "X-From-File: 1\r\n\nX-Empty;\n").unwrap();
    let at_file = format!("@{}", file.display());
    let echoed = |args: &[&str], name: &str| {
        let url = origin.url(&format!("/e?echo={name}"));
        let run = fetchpar()
            .arg("--json")
            .args(args)
            .arg(&url)
            .assert()
            .success();
        let record = &json_lines(&run.get_output().stdout)[0];
        record["prefix"].as_str().unwrap().to_string()
    };
    // -H @FILE: a header a line; `Name;` is the header with an empty value (here before
    // another of the same name, so that it shows).
    let from_file = ["-H", &at_file, "-H", "X-Empty: then"];
    assert_eq!(echoed(&from_file, "x-from-file"), "1");
    assert_eq!(echoed(&from_file, "x-empty"), "\nthen");
    // `Name:` keeps a header sent unasked from going at all.
    assert_eq!(echoed(&[], "accept"), "*/*");
    assert_eq!(echoed(&["-H", "Accept:"], "accept"), "");
    assert_eq!(echoed(&["-H", "User-Agent:"], "user-agent"), "");
    assert_eq!(
        echoed(&["-e", "http://r.test/", "-H", "Referer:"], "referer"),
        ""
    );
    assert_eq!(echoed(&["-H", "Accept-Encoding:"], "accept-encoding"), "");
    for (args, why) in [
        (["-H", "Host:"], "cannot keep the Host header from going"),
        (["-H", "@-"], "standard input, which is for the list"),
        (
            ["-H", "@/nonexistent/h.txt"],
            "the headers file cannot be read",
        ),
    ] {
        fetchpar()
            .args(args)
            .arg(origin.url("/e"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(why));
    }
}

/// The Referer each URL of a list sent, by the path it was fetched at, with `args`.
fn referers(args: &[&str], lines: &[String]) -> Vec<String> {
    let out = fetchpar()
        .args(["--json", "--keep-order"])
        .args(args)
        .arg(list(lines).path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(
        records.len(),
        lines.iter().filter(|l| !l.starts_with(' ')).count()
    );
    records
        .iter()
        .map(|r| r["prefix"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn referer_is_sent_as_given_as_the_url_itself_or_as_the_url_that_redirected() {
    let origin = Origin::start().unwrap();
    let echo = origin.url("/e?echo=referer");
    let with_login = echo.replace("http://", "http://me:secret@");
    let hop = redirecting(&origin, "/hop", "/e?echo=referer");
    let hop_url = hop.clone();
    let lines = [echo.clone(), with_login.clone(), format!("{echo}#top"), hop];

    // curl's -e, wget's --referer: one text for every request, redirects too.
    let given = referers(&["-e", "http://from.example/page"], &lines);
    assert_eq!(given, ["http://from.example/page"; 4]);
    // aria2c's `*`: each URL itself, without its login or fragment.
    let own = referers(&["--referer", "*"], &lines);
    assert_eq!(own, [&*echo, &echo, &echo, &hop_url]);
    // curl's `;auto`: a redirect names the URL it came from; the first request, the text given.
    let auto = referers(&["-e", "http://from.example/;auto"], &lines);
    let from = "http://from.example/";
    assert_eq!(auto, [from, from, from, &hop_url]);
    assert_eq!(referers(&["-e", ";auto"], &lines[3..]), [hop_url.as_str()]);
    assert_eq!(referers(&[], &lines[..1]), [""]);

    // A -H Referer wins over --referer, and a line's referer= over both, for its URL alone.
    let mixed = [
        echo.clone(),
        echo.clone(),
        "  referer=http://line.example/".to_string(),
        echo.clone(),
        "  header=Referer: http://header.example/".to_string(),
    ];
    let args = ["-e", "http://option.example/"];
    assert_eq!(
        referers(&args, &mixed),
        [
            "http://option.example/",
            "http://line.example/",
            "http://header.example/"
        ]
    );
    let args = [
        "-e",
        "http://option.example/",
        "-H",
        "Referer: http://h.example/",
    ];
    assert_eq!(
        referers(&args, &mixed),
        [
            "http://h.example/",
            "http://line.example/",
            "http://header.example/"
        ]
    );

    // wget's -e runs a command: `-e robots=off` is refused, not sent as a Referer.
    for bad in ["", "http://a/\nX: y", "robots=off"] {
        fetchpar()
            .args(["-e", bad])
            .arg(&echo)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--referer"));
    }
}

#[test]
fn verbose_shows_each_urls_requests_and_answers_under_its_line_with_no_secret() {
    let origin = Origin::start().unwrap();
    let first = origin
        .url("/v?size=10&cookie=sid%3Dtopsecret%3B%20Path%3D%2F")
        .replace("http://", "http://me:hunter2@");
    let hop = redirecting(&origin, "/hop", "/v?size=5");
    let file = list(&[first, hop]);
    let run = |args: &[&str]| {
        let out = fetchpar()
            .args(["--keep-order", "-j", "1"])
            .args(args)
            .arg(file.path())
            .assert()
            .success();
        let output = out.get_output();
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (stdout, stderr) = run(&["-v", "-H", "X-Token: t1"]);
    let at = |line: usize| format!("[{}:{line}] ", file.path().display());
    let lines_of = |line: usize| -> Vec<String> {
        (stderr.lines())
            .filter_map(|l| l.strip_prefix(&at(line)).map(String::from))
            .collect()
    };
    let one = lines_of(1);
    assert_eq!(
        one[0],
        format!("* connected to {}", origin.addr()),
        "{stderr}"
    );
    assert!(one[1].starts_with("> GET /v?size=10&cookie="), "{stderr}");
    for expected in [
        "> x-token: t1",
        "> authorization: Basic ***",
        "< HTTP/1.1 200 OK",
        "< set-cookie: sid=***; Path=/",
        "< content-length: 10",
    ] {
        assert!(one.iter().any(|l| l == expected), "{expected}: {stderr}");
    }
    // The redirect, then its target on the same connection, the cookie going back hidden.
    let two = lines_of(2);
    let mut rest = two.iter();
    for text in [
        "> GET /hop?location=",
        "> cookie: sid=***",
        "< HTTP/1.1 302 Found",
        "< location: /v?size=5",
        "* on a kept-alive connection",
        "> GET /v?size=5 HTTP/1.1",
        "> cookie: sid=***",
        "< HTTP/1.1 200 OK",
    ] {
        // Each in turn, after the one before.
        assert!(rest.any(|l| l.starts_with(text)), "{text}: {stderr}");
    }
    assert!(!stderr.contains("hunter2"), "{stderr}");
    // The cookie's value is in the first URL's query; nowhere else.
    assert_eq!(stderr.matches("topsecret").count(), 1, "{stderr}");
    // The results are the same lines as without -v, where stderr has no trace at all.
    let (plain_out, plain_err) = run(&["-H", "X-Token: t1"]);
    // Status, size and time first: the time varies.
    let shape = |text: &str| -> Vec<String> {
        (text.lines())
            .map(|l| l.split_whitespace().skip(5).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(shape(&stdout), shape(&plain_out));
    assert!(!plain_err.contains("> GET"), "{plain_err}");
    // A host given by name is shown with the address it led to.
    let port = origin.addr().port();
    let named = fetchpar()
        .arg("-v")
        .arg(format!("http://localhost:{port}/n?size=1"))
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&named.get_output().stderr).into_owned();
    let connected = format!("[argument:1] * connected to localhost:{port} at 127.0.0.1:{port}");
    assert!(stderr.lines().any(|l| l == connected), "{stderr}");
}

#[test]
fn the_names_curl_wget_and_aria2c_give_options_mean_the_same_here() {
    let origin = Origin::start().unwrap();
    let lines = [
        origin.url("/ua?echo=user-agent"),
        origin.url("/hops?redirect=2&size=5"),
        origin.url("/big?size=2000"),
        origin.url("/busy?fail=100"),
    ];
    let run = |args: &[&str], dir: &std::path::Path| {
        let run = fetchpar()
            .args(["--json", "--keep-order"])
            .args(args)
            .arg(dir)
            .arg(list(&lines).path())
            .assert()
            .code(1);
        let stderr = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
        (json_lines(&run.get_output().stdout), stderr)
    };
    let summary = |records: &[serde_json::Value]| {
        (records.iter())
            .map(|r| (r["prefix"].as_str().unwrap().to_string(), kind(r)))
            .collect::<Vec<_>>()
    };
    // curl's: -fsSL, -g, --create-dirs, --http1.1, --tcp-nodelay, --no-keepalive, --no-buffer,
    // -A, --max-redirs, --retry, --max-filesize, -J; wget's -P.
    let curl = tempfile::tempdir().unwrap();
    let curl_args = [
        "-fsSLg",
        "--create-dirs",
        "--http1.1",
        "--tcp-nodelay",
        "--no-keepalive",
        "--no-buffer",
        "-A",
        "habit/1",
        "--max-redirs",
        "1",
        "--retry",
        "0",
        "--max-filesize",
        "1000",
        "-J",
        "-P",
    ];
    let (records, stderr) = run(&curl_args, curl.path());
    // -s is -q: no summary on stderr.
    assert_eq!(stderr, "");
    let expected = [
        ("habit/1".to_string(), "ok".to_string()),
        (String::new(), "redirects".to_string()),
        (String::new(), "too_large".to_string()),
        ("unavailable".to_string(), "http_status".to_string()),
    ];
    assert_eq!(summary(&records), expected, "{records:#?}");
    assert_eq!(fs::read(curl.path().join("ua")).unwrap(), b"habit/1");
    // wget's and aria2c's: -nv, -nd, -U, --max-redirect, --max-concurrent-downloads, --dir.
    let wget = tempfile::tempdir().unwrap();
    let wget_args = [
        "-nv",
        "-nd",
        "-U",
        "habit/1",
        "--max-redirect",
        "1",
        "--retries",
        "0",
        "--max-size",
        "1000",
        "--max-concurrent-downloads",
        "1",
        "--dir",
    ];
    let (records, stderr) = run(&wget_args, wget.path());
    assert!(stderr.contains("4 URLs, 1 ok, 3 failed"), "{stderr}");
    assert_eq!(summary(&records), expected, "{records:#?}");
    assert_eq!(fs::read(wget.path().join("ua")).unwrap(), b"habit/1");
}

#[test]
fn proxy_variables_from_the_environment_are_honoured() {
    // The origin answers whatever it is asked, so it can stand in for a proxy: a request for a
    // host that does not exist only succeeds if it went through the proxy.
    let proxy = Origin::start().unwrap();
    let file = list(&["http://not-a-real-host.invalid/through?size=7".to_string()]);
    let out = fetchpar()
        .env("HTTP_PROXY", proxy.url(""))
        .args(["--json", "--retries", "0", "-v"])
        .arg(file.path())
        .assert()
        .success();
    assert_eq!(json_lines(&out.get_output().stdout)[0]["bytes"], 7);
    assert_eq!((proxy.proxied(), proxy.requests()), (1, 1));
    // -v says which proxy a connection went through.
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let via = format!(
        "* connected to not-a-real-host.invalid through the proxy {}",
        proxy.addr()
    );
    assert!(stderr.contains(&via), "{stderr}");
    // An http URL goes to the proxy as curl sends it, naming the whole URL, with no CONNECT.
    assert!(
        (stderr.lines())
            .any(|l| l.ends_with("] > GET http://not-a-real-host.invalid/through?size=7 HTTP/1.1")),
        "{stderr}"
    );
    assert!(!stderr.contains("CONNECT"), "{stderr}");
    assert_eq!(stderr.matches("> GET").count(), 1, "{stderr}");
    assert!(!stderr.contains("kept-alive"), "{stderr}");
    // NO_PROXY exempts the host: then it is looked up directly, and fails.
    fetchpar()
        .env("HTTP_PROXY", proxy.url(""))
        .env("NO_PROXY", "not-a-real-host.invalid")
        .args(["--retries", "0"])
        .arg(file.path())
        .assert()
        .code(1);
    assert_eq!(
        proxy.proxied(),
        1,
        "the exempt host did not go through the proxy"
    );
}

#[test]
fn the_proxy_option_takes_the_place_of_the_variables_as_curls_does() {
    let proxy = Origin::start().unwrap();
    let file = list(&["http://not-a-real-host.invalid/x?size=5".to_string()]);
    let run = |env_proxy: &str, args: &[&str], no_proxy: Option<&str>| {
        let mut cmd = fetchpar();
        cmd.env("http_proxy", env_proxy);
        if let Some(hosts) = no_proxy {
            cmd.env("no_proxy", hosts);
        }
        let out = cmd
            .args(["--json", "--retries", "0"])
            .args(args)
            .arg(file.path())
            .assert();
        kind(&json_lines(&out.get_output().stdout)[0])
    };
    // The variable names a proxy that refuses; -x names the one that works.
    let refusing = refused_url();
    assert_eq!(run(&refusing, &["-x", &proxy.url("")], None), "ok");
    assert_eq!(proxy.proxied(), 1);
    // -x "": direct, whatever the variable says (so the made-up host does not resolve).
    assert_eq!(run(&proxy.url(""), &["-x", ""], None), "dns");
    // no_proxy still exempts a host from -x, and --noproxy replaces no_proxy.
    let exempt = Some("not-a-real-host.invalid");
    assert_eq!(run(&refusing, &["-x", &proxy.url("")], exempt), "dns");
    assert_eq!(
        run(&refusing, &["-x", &proxy.url(""), "--noproxy", ""], exempt),
        "ok"
    );
    assert_eq!(
        run(
            &proxy.url(""),
            &["--noproxy", "not-a-real-host.invalid"],
            None
        ),
        "dns"
    );
    assert_eq!(proxy.proxied(), 2, "only the two runs sent through it");
}

#[test]
fn each_scheme_goes_through_its_own_proxy_and_a_bad_one_stops_the_run() {
    // Two origins stand in for two proxies; the hosts do not exist, so only a URL that went
    // through a proxy reaches anything. Each proxy counts the tunnels opened through it.
    let plain = Origin::start().unwrap();
    let secure = Origin::start().unwrap();
    let file = list(&[
        "http://not-a-real-host.invalid/p?size=3".to_string(),
        "https://not-a-real-host.invalid/s".to_string(),
    ]);
    let out = fetchpar()
        .env("http_proxy", plain.url(""))
        .env("https_proxy", secure.url(""))
        // The stand-in answers no TLS handshake; a short connect timeout ends that wait.
        .args(["--json", "--retries", "0", "--connect-timeout", "1"])
        .arg(file.path())
        .assert()
        .code(1);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(find(&records, "/p")["bytes"], 3, "the http URL came back");
    // The https URL's TLS handshake fails against the stand-in, but the tunnel was opened.
    assert_eq!((plain.proxied(), secure.proxied()), (1, 1));

    // A redirect goes through the proxy for its own scheme: from http to https, the other one.
    let hop = redirecting(&plain, "/hop", "https://not-a-real-host.invalid/after")
        .replace(&plain.addr().to_string(), "not-a-real-host.invalid");
    let out = fetchpar()
        .env("http_proxy", plain.url(""))
        .env("https_proxy", secure.url(""))
        .args(["--json", "--retries", "0", "--connect-timeout", "1"])
        .arg(&hop)
        .assert()
        .code(1);
    let record = &json_lines(&out.get_output().stdout)[0];
    assert!(
        !["redirects", "dns"].contains(&kind(record).as_str()),
        "{record}"
    );
    assert_eq!((plain.proxied(), secure.proxied()), (2, 2));

    // Only http_proxy set: the https URL goes direct (and fails to resolve), as with curl.
    let out = fetchpar()
        .env("http_proxy", plain.url(""))
        .args(["--json", "--retries", "0"])
        .arg(file.path())
        .assert()
        .code(1);
    assert_eq!(
        kind(find(&json_lines(&out.get_output().stdout), "/s")),
        "dns"
    );
    assert_eq!((plain.proxied(), secure.proxied()), (3, 2));

    // A proxy URL that cannot be used is named, before anything is fetched.
    fetchpar()
        .env("https_proxy", "ftp://proxy.invalid:21")
        .arg(file.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "https_proxy=`ftp://proxy.invalid:21`",
        ));
    assert_eq!((plain.proxied(), secure.proxied()), (3, 2));
}

#[test]
fn a_worker_that_panics_still_yields_its_result() {
    let origin = Origin::start().unwrap();
    let lines: Vec<String> = ["/a", "/boom", "/c", "/boom2"]
        .iter()
        .map(|p| origin.url(p))
        .collect();
    for mode in ["--threads", "--sequential"] {
        let out = fetchpar()
            .env("FETCHPAR_TEST_PANIC", "boom")
            .args(["--json", mode])
            .arg(list(&lines).path())
            .assert()
            .code(1);
        let records = json_lines(&out.get_output().stdout);
        assert_eq!(records.len(), 4, "{mode}: {records:#?}");
        assert_eq!(kind(find(&records, "/boom")), "worker");
        assert_eq!(kind(find(&records, "/boom2")), "worker");
        assert_eq!(kind(find(&records, "/a")), "ok");
    }

    // A panic before the fetch, while the job is prepared: by the thread that starts the
    // workers (the first job, with -j 1), by a worker (the last), and in the plain loop.
    let lines: Vec<String> = ["/boom", "/a", "/c", "/boom2"]
        .iter()
        .map(|p| origin.url(p))
        .collect();
    for args in [
        &["-j", "1"][..],
        &["-j", "1", "--keep-order"],
        &["--sequential"],
    ] {
        let out = fetchpar()
            .env("FETCHPAR_TEST_PANIC", "prepare:boom")
            .arg("--json")
            .args(args)
            .arg(list(&lines).path())
            .assert()
            .code(1);
        let records = json_lines(&out.get_output().stdout);
        assert_eq!(records.len(), 4, "{args:?}: {records:#?}");
        assert_eq!(kind(find(&records, "/boom")), "worker", "{args:?}");
        assert_eq!(kind(find(&records, "/boom2")), "worker", "{args:?}");
        assert!(message(find(&records, "/boom")).contains("preparing it panicked"));
        assert_eq!(kind(find(&records, "/a")), "ok", "{args:?}");
        assert_eq!(kind(find(&records, "/c")), "ok", "{args:?}");
    }
}

#[test]
fn jobs_caps_concurrency_and_threads_are_reused() {
    let origin = Origin::start().unwrap();
    let lines: Vec<String> = (0..12)
        .map(|i| origin.url(&format!("/j/{i}?delay=50")))
        .collect();
    let out = fetchpar()
        .args(["--json", "-j", "3"])
        .arg(list(&lines).path())
        .assert()
        .success();
    assert_eq!(json_lines(&out.get_output().stdout).len(), 12);
    assert!(
        origin.max_concurrent() <= 3,
        "server saw {}",
        origin.max_concurrent()
    );
}

#[test]
fn only_connections_to_an_origin_fetched_from_before_are_kept_for_reuse() {
    // One after another: the first fetch from the origin closes its connection, the second
    // opens one and keeps it, and the rest reuse that one.
    let origin = Origin::start().unwrap();
    let lines: Vec<String> = (0..5).map(|i| origin.url(&format!("/r/{i}"))).collect();
    let out = fetchpar()
        .args(["--json", "--sequential"])
        .arg(list(&lines).path())
        .assert()
        .success();
    assert_eq!(json_lines(&out.get_output().stdout).len(), 5);
    assert_eq!(origin.requests(), 5);
    assert_eq!(origin.connections(), 2);
}

#[test]
fn connections_to_several_hosts_are_each_reused() {
    // Four servers (four host:port pairs, shared out between the fetcher's Agents), their URLs
    // taking turns: each server sees its first connection closed and its second kept.
    let origins: Vec<Origin> = (0..4).map(|_| Origin::start().unwrap()).collect();
    let lines: Vec<String> = (0..40)
        .map(|i| origins[i % 4].url(&format!("/m/{i}")))
        .collect();
    let out = fetchpar()
        .args(["--json", "--sequential"])
        .arg(list(&lines).path())
        .assert()
        .success();
    assert_eq!(json_lines(&out.get_output().stdout).len(), 40);
    for origin in &origins {
        assert_eq!(origin.requests(), 10);
        assert_eq!(origin.connections(), 2);
    }
}

#[test]
fn bodies_fetched_after_the_input_ends_arrive_whole() {
    // With no job left, fetches stop reading at the Content-Length so their connections close
    // at once. A gzip body decodes to more than that header says and must still be read to its
    // end. The delay makes the answers come after the (two-line) input has been read.
    let origin = Origin::start().unwrap();
    let file = list(&[
        origin.url("/z?gzip=1&sized=1&size=50000&delay=100"),
        origin.url("/p?size=70000&delay=100"),
    ]);
    let out = fetchpar()
        .args(["--json", "--keep-order", "--prefix", "30"])
        .arg(file.path())
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 2);
    let expected = String::from_utf8(fetchpar::origin::body_bytes(0, 30)).unwrap();
    for (record, size) in records.iter().zip([50000, 70000]) {
        assert_eq!(record["bytes"], size, "{record}");
        assert_eq!(record["prefix"], expected.as_str(), "{record}");
    }
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    let origin = Origin::start().unwrap();
    let lines: Vec<String> = (0..200)
        .map(|i| origin.url(&format!("/h/{i}?size=10")))
        .collect();
    let file = list(&lines);
    let mut child = fetchpar_std()
        .arg(file.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = first_stdout_line(&mut child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!first.is_empty());
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );
    assert!(
        output.status.code().is_some_and(|c| c == 0 || c == 1),
        "{:?}",
        output.status
    );
}

#[test]
fn results_that_cannot_be_written_end_the_run_saying_where_they_were_going() {
    // /dev/full takes nothing: every write fails with "No space left on device", as stdout
    // redirected to a full disk does.
    let origin = Origin::start().unwrap();
    let url = origin.url("/full?size=10");
    for (args, says) in [
        (
            vec![],
            "writing the results to standard output: No space left",
        ),
        (
            vec!["-o", "-"],
            "writing the bodies to standard output: No space left",
        ),
    ] {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let output = fetchpar_std()
            .args(&args)
            .arg(&url)
            .stdout(full)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
    }
}

#[test]
fn credentials_in_urls_never_reach_the_output() {
    let origin = Origin::start().unwrap();
    let url = origin
        .url("/secret?size=1")
        .replace("http://", "http://alice:hunter2@");
    // Lines that are not valid URLs are shown as written, less their credentials.
    let file = list(&[
        url,
        "http://alice:hunter2@host:99999/x".to_string(),
        "http://alice:hunter2@bad host/x".to_string(),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("run.svg");
    for args in [vec!["--json"], vec![]] {
        let out = fetchpar()
            .args(args)
            .arg("--timeline")
            .arg(&svg)
            .arg(file.path())
            .assert()
            .code(1);
        let all = [
            out.get_output().stdout.clone(),
            out.get_output().stderr.clone(),
            std::fs::read(&svg).unwrap(),
        ]
        .concat();
        let all = String::from_utf8_lossy(&all);
        assert!(!all.contains("hunter2"), "{all}");
        assert!(all.contains("http://***@host:99999/x"), "{all}");
    }
}

#[test]
fn credentials_in_urls_are_sent_decoded_as_basic_auth() {
    use base64::Engine as _;
    let origin = Origin::start().unwrap();
    // `@` and `:` must be percent-encoded inside a URL's user name and password.
    let with = |userinfo: &str| {
        (origin.url("/e?echo=authorization")).replace("http://", &format!("http://{userinfo}@"))
    };
    let sent = |args: &[&str], url: String| {
        let out = fetchpar()
            .args(["--json"])
            .args(args)
            .arg(url)
            .assert()
            .success();
        let record = &json_lines(&out.get_output().stdout)[0];
        record["prefix"].as_str().unwrap().to_string()
    };
    let basic = sent(&[], with("us%40er:p%3Ass%25"));
    let encoded = basic.strip_prefix("Basic ").expect(&basic);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), "us@er:p:ss%");
    // An Authorization header given with -H replaces the URL's, as in curl.
    let given = sent(&["-H", "Authorization: Bearer t"], with("u:p"));
    assert_eq!(given, "Bearer t");
}

#[test]
fn demo_runs_with_no_network_and_shows_a_speedup() {
    fetchpar()
        .arg("--demo")
        .assert()
        .success()
        .stderr(predicate::str::contains("speedup"));
}

#[test]
fn help_documents_the_exit_codes() {
    fetchpar()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("130").and(predicate::str::contains("Exit codes")));
}

#[test]
fn color_help_speaks_of_stdout_and_progress_help_of_stderr() {
    let out = fetchpar().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    // Each option's block runs from its flag to the next option's (`  -q, --quiet` or
    // `      --json`).
    let block = |flag: &str| {
        let start = help.find(flag).unwrap();
        let rest = &help[start + flag.len()..];
        let end = ["\n      --", "\n  -"]
            .iter()
            .filter_map(|next| rest.find(next))
            .min()
            .unwrap_or(rest.len());
        rest[..end].to_string()
    };
    let color = block("      --color");
    assert!(color.contains("stdout"), "{color}");
    assert!(!color.contains("stderr"), "{color}");
    let progress = block("      --progress");
    assert!(progress.contains("stderr"), "{progress}");
    assert!(!progress.contains("stdout"), "{progress}");
}

#[test]
fn localhost_reaches_the_loopback_server_on_its_port() {
    let origin = Origin::start().unwrap();
    let url = origin.url("/here?size=7").replace("127.0.0.1", "LocalHost");
    let out = fetchpar().arg("--json").arg(&url).assert().success();
    let record = &json_lines(&out.get_output().stdout)[0];
    assert_eq!(record["bytes"], 7, "{record}");
    assert_eq!(origin.requests(), 1);
}

#[test]
fn every_option_and_exit_code_is_documented_in_the_readme() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let help = fetchpar().arg("--help").assert().success();
    let help = String::from_utf8_lossy(&help.get_output().stdout).into_owned();
    let mut options = Vec::new();
    for line in help.lines().map(str::trim_start) {
        if !line.starts_with('-') {
            continue;
        }
        for word in line.split([' ', ',']) {
            if let Some(name) = word.strip_prefix("--") {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                options.push(name);
            }
        }
    }
    assert!(options.len() > 30, "{options:?}");
    // `--name` as a whole word (not the start of a longer option).
    let documented = |name: &str| {
        let flag = format!("--{name}");
        readme.match_indices(&flag).any(|(at, _)| {
            let after = readme[at + flag.len()..].chars().next();
            after.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-'))
        })
    };
    let missing: Vec<_> = options.iter().filter(|name| !documented(name)).collect();
    assert!(missing.is_empty(), "not in the README: {missing:?}");
    for code in ["0", "1", "2", "130"] {
        assert!(readme.contains(&format!("| {code} |")), "exit code {code}");
    }
}

#[test]
fn quiet_leaves_stderr_to_errors_that_stop_the_run() {
    let origin = Origin::start().unwrap();
    let file = list(&[origin.url("/fine?size=3"), origin.url("/gone?status=404")]);
    for mode in ["--threads", "--sequential", "--compare"] {
        let out = fetchpar()
            .args(["-q", mode])
            .arg(file.path())
            .assert()
            .code(1);
        assert_eq!(
            String::from_utf8_lossy(&out.get_output().stderr),
            "",
            "{mode}"
        );
        let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        let expected = if mode == "--compare" { 4 } else { 2 };
        assert_eq!(stdout.lines().count(), expected, "{mode}: {stdout}");
    }
    // An error that stops the run is still said.
    fetchpar()
        .args(["--quiet", "no-such-list.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-list.txt"));
    fetchpar()
        .args(["-q", "--progress", "always"])
        .arg(file.path())
        .assert()
        .code(2);
}

#[test]
fn limit_rate_is_one_budget_for_all_fetches_together() {
    let origin = Origin::start().unwrap();
    // Four bodies fetched at once, 256 KiB in all, against a budget of 256 KiB/s: together
    // they take about a second (less the first tenth of a second's burst), where each held
    // to the rate alone would take a quarter of that.
    let file = list(
        &(0..4)
            .map(|i| origin.url(&format!("/r{i}?size=65536")))
            .collect::<Vec<_>>(),
    );
    let timed = |extra: &[&str]| {
        let started = std::time::Instant::now();
        let out = fetchpar()
            .args(["--json"])
            .args(extra)
            .arg(file.path())
            .assert()
            .code(0);
        let records = json_lines(&out.get_output().stdout);
        assert!(records.iter().all(|r| r["bytes"] == 65536), "{records:#?}");
        started.elapsed().as_secs_f64()
    };
    let free = timed(&[]);
    let limited = timed(&["--limit-rate", "256K"]);
    // 256 KiB less a burst of 25 KiB, at 256 KiB/s.
    let least = (256.0 - 25.0) / 256.0;
    assert!(
        limited >= 0.9 * least,
        "{limited:.3} s, at least {least:.3} s expected"
    );
    assert!(
        limited > 4.0 * free,
        "{limited:.3} s limited against {free:.3} s"
    );
}

#[test]
fn max_download_limit_holds_each_download_to_the_rate_on_its_own() {
    let origin = Origin::start().unwrap();
    let urls: Vec<String> = (0..4)
        .map(|i| origin.url(&format!("/d{i}?size=65536")))
        .collect();
    // 64 KiB each at 64 KiB/s each, less a burst of 16 KiB: three quarters of a second, all
    // four at once. One budget for the four would take five times as long.
    let each = (64.0 - 16.0) / 64.0;
    let started = std::time::Instant::now();
    let out = fetchpar()
        .args(["--json", "--max-download-limit", "64K"])
        .arg(list(&urls).path())
        .assert()
        .code(0);
    let wall = started.elapsed().as_secs_f64();
    let records = json_lines(&out.get_output().stdout);
    for record in &records {
        assert_eq!(record["bytes"], 65536);
        let secs = record["ms"].as_f64().unwrap() / 1000.0;
        assert!(
            secs >= 0.9 * each,
            "{secs:.3} s, at least {each:.3} s expected"
        );
    }
    assert!(wall < 2.5 * each, "{wall:.3} s for four at once");
    // aria2's option line: that URL alone is held to its rate.
    let out = fetchpar()
        .args(["--json"])
        .arg(list(&[urls[0].clone() + " max-download-limit=64K", urls[1].clone()]).path())
        .assert()
        .code(0);
    let records = json_lines(&out.get_output().stdout);
    let ms = |name: &str| find(&records, name)["ms"].as_f64().unwrap();
    assert!(ms("/d0") >= 900.0 * each, "{records:#?}");
    assert!(ms("/d0") > 4.0 * ms("/d1"), "{records:#?}");
}

#[test]
fn ipv4_and_ipv6_keep_only_addresses_of_that_family() {
    let origin = Origin::start().unwrap();
    let port = origin.addr().port();
    let localhost = format!("http://localhost:{port}/l");
    let run = |flag: &str, url: &str, code: i32| {
        let out = fetchpar()
            .args(["--json", "--retries", "0", flag, url])
            .assert()
            .code(code);
        json_lines(&out.get_output().stdout).remove(0)
    };
    // localhost is 127.0.0.1 and ::1; the origin listens on the first only.
    assert_eq!(kind(&run("-4", &localhost, 0)), "ok");
    let served = origin.requests();
    let v6 = run("-6", &localhost, 1);
    assert_eq!(kind(&v6), "connect", "{v6:#}");
    assert_eq!(origin.requests(), served, "-6 never tried 127.0.0.1");

    let no_v6 = run("--ipv6", &origin.url("/x"), 1);
    assert_eq!(kind(&no_v6), "dns");
    assert!(
        message(&no_v6).contains("127.0.0.1 has no IPv6 address"),
        "{no_v6:#}"
    );
    let no_v4 = run("--ipv4", &format!("http://[::1]:{port}/x"), 1);
    assert_eq!(kind(&no_v4), "dns");
    assert!(
        message(&no_v4).contains("[::1] has no IPv4 address"),
        "{no_v4:#}"
    );

    fetchpar()
        .args(["-4", "-6", &localhost])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

#[test]
fn a_config_file_gives_every_run_its_options_and_typed_ones_win() {
    let origin = Origin::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = list(&[origin.url("/ua?echo=user-agent")]);
    let prefix_of = |cmd: &mut assert_cmd::Command| {
        let out = cmd.arg("--json").arg(file.path()).assert().success();
        json_lines(&out.get_output().stdout)[0]["prefix"].clone()
    };
    // Where a user keeps it: ~/.config/fetchpar/config, or under $XDG_CONFIG_HOME.
    let home = dir.path().join("home");
    let usual = home.join(".config/fetchpar");
    fs::create_dir_all(&usual).unwrap();
    fs::write(
        usual.join("config"),
        "# every run\nuser-agent = \"from home\"\nretries=0\n",
    )
    .unwrap();
    let from_home = || {
        let mut cmd = fetchpar();
        cmd.env_remove("FETCHPAR_CONFIG")
            .env_remove("XDG_CONFIG_HOME")
            .env("HOME", &home);
        cmd
    };
    assert_eq!(prefix_of(&mut from_home()), "from home");
    assert_eq!(prefix_of(from_home().args(["-A", "typed"])), "typed");
    assert_eq!(prefix_of(from_home().arg("--no-config")), "fetchpar/0.1.0");
    // A usual place that cannot even be looked at (here `.config` is a file; a HOME of
    // another user's does the same) holds none, as curl's and wget's take theirs.
    let odd = dir.path().join("odd");
    fs::create_dir_all(&odd).unwrap();
    fs::write(odd.join(".config"), "not a folder").unwrap();
    assert_eq!(prefix_of(from_home().env("HOME", &odd)), "fetchpar/0.1.0");
    // $FETCHPAR_CONFIG names another, and --config another again.
    let other = dir.path().join("other.conf");
    fs::write(&other, "--user-agent other\n").unwrap();
    assert_eq!(
        prefix_of(from_home().env("FETCHPAR_CONFIG", &other)),
        "other"
    );
    let third = dir.path().join("third.conf");
    fs::write(&third, "-A third\n").unwrap();
    assert_eq!(prefix_of(from_home().arg("--config").arg(&third)), "third");

    // A bad line stops the run before it starts, naming the file and the line.
    fs::write(&other, "user-agent = fine\n\njobs = many\n").unwrap();
    fetchpar()
        .env("FETCHPAR_CONFIG", &other)
        .arg(file.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "fetchpar: error: the config file {}, line 3: --jobs many: invalid value",
            other.display()
        )));
    assert_eq!(origin.requests(), 6, "the bad config fetched nothing");
    // The help is still there to read.
    fetchpar()
        .env("FETCHPAR_CONFIG", &other)
        .arg("--help")
        .assert()
        .success()
        .stdout(predicates::str::contains("--config <FILE>"));
}

#[test]
fn aria2cs_check_certificate_is_taken_as_its_default_and_refused_as_false() {
    let origin = Origin::start().unwrap();
    let url = origin.url("/c?size=3");
    for typed in ["--check-certificate", "--check-certificate=true"] {
        fetchpar().args([typed, &url]).assert().success();
    }
    for typed in ["--check-certificate=false", "--check-certificate=no"] {
        fetchpar()
            .args([typed, &url])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("--cacert FILE"));
    }
    assert_eq!(origin.requests(), 2, "a refused run fetches nothing");
}

#[test]
fn a_peers_option_that_is_not_taken_says_what_to_use_instead() {
    let origin = Origin::start().unwrap();
    let url = origin.url("/never");
    for (typed, says) in [
        (vec!["-k"], "--cacert FILE"),
        (vec!["--no-check-certificate"], "--cacert FILE"),
        (vec!["--recursive"], "does not crawl"),
        (vec!["--write-out", "%{http_code}"], "--json"),
        (vec!["-X", "POST"], "only downloads"),
        (vec!["--output", "a.html"], "'URL out=NAME'"),
        (
            vec!["--location-trusted"],
            "never on to a host a redirect leads to",
        ),
        (vec!["--fail-with-body"], "always fails its URL"),
        (vec!["-E"], "'URL out=NAME'"),
        (vec!["--robots=off"], "robots.txt is not read"),
        (vec!["--chunk-size=1M"], "--split N"),
    ] {
        let out = fetchpar().args(&typed).arg(&url).assert().code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(stderr.contains(says), "{typed:?}: {stderr}");
        // clap's own tip, the nearest name (`--cert` for --no-check-certificate), is gone.
        assert!(!stderr.contains("similar argument"), "{typed:?}: {stderr}");
        assert!(
            stderr.contains("Usage: fetchpar [OPTIONS] [LIST]..."),
            "{stderr}"
        );
    }
    // In a config file too, naming the line.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    fs::write(&config, "jobs = 4\ninsecure\n").unwrap();
    fetchpar()
        .arg("--config")
        .arg(&config)
        .arg(&url)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "line 2: --insecure: unexpected argument",
        ))
        .stderr(predicates::str::contains("--cacert FILE"));
    // An empty folder name is none.
    fetchpar()
        .args(["-o", "", &url])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("-o . for this one"));
    // An unknown option nobody else has keeps clap's tip.
    fetchpar()
        .args(["--jbos", "4", &url])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "a similar argument exists: '--jobs'",
        ));
    // A mistyped value after a URL argument is shown with the plain usage line, not one
    // listing every option.
    let out = fetchpar().args(["--continue=maybe", &url]).assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("unexpected value 'maybe'"), "{stderr}");
    assert!(stderr.len() < 400, "{stderr}");
    assert_eq!(origin.requests(), 0, "nothing was fetched");
}

#[test]
fn a_config_files_path_under_a_tilde_is_under_home_as_in_a_wgetrc() {
    let origin = Origin::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    fs::write(&config, "dir = ~/dl\n").unwrap();
    fetchpar()
        .env("HOME", home.path())
        .current_dir(home.path())
        .arg("--config")
        .arg(&config)
        .arg(origin.url("/t.bin?size=9"))
        .assert()
        .success();
    assert_eq!(fs::read(home.path().join("dl/t.bin")).unwrap().len(), 9);
    assert!(!home.path().join("~").exists(), "no folder named ~");
}

#[test]
fn a_switch_takes_aria2cs_true_and_false_on_the_command_line_too() {
    let origin = Origin::start().unwrap();
    let url = origin.url("/sw?size=5");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    fs::write(&config, "quiet\n").unwrap();
    let run = |args: &[&str]| {
        let mut cmd = fetchpar();
        if !args.contains(&"--no-config") {
            cmd.arg("--config").arg(&config);
        }
        let out = cmd.args(args).arg(&url).assert().success();
        String::from_utf8_lossy(&out.get_output().stderr).to_string()
    };
    // The config file's `quiet` leaves the summary out; `--quiet=false` typed puts it back,
    // and `--quiet=true` (or yes, on, in any case) is --quiet.
    assert!(!run(&[]).contains("1 URL"));
    for off in ["--quiet=false", "--quiet=no", "--quiet=OFF"] {
        assert!(run(&[off]).contains("1 URL, 1 ok"), "{off}");
    }
    assert!(!run(&["--no-config", "--quiet=true"]).contains("1 URL"));
    assert!(!run(&["--no-config", "--quiet=Yes"]).contains("1 URL"));
    // And where the usual config file is looked for and is not there (most runs).
    let home = tempfile::tempdir().unwrap();
    let out = fetchpar()
        .env_remove("FETCHPAR_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", home.path())
        .args(["--quiet=true", &url])
        .assert()
        .success();
    assert!(out.get_output().stderr.is_empty(), "{out:?}");
    // A switch with a value it cannot mean is refused, and after `--` it is a list's name.
    fetchpar()
        .args(["--quiet=sometimes", &url])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unexpected value 'sometimes'"));
    fetchpar()
        .args(["--", "--quiet=true"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "cannot read link list --quiet=true",
        ));
    assert_eq!(origin.requests(), 7);
}

#[test]
fn rate_and_wait_space_the_starts_of_urls_out_whatever_the_threads() {
    let origin = Origin::start().unwrap();
    let lines: Vec<String> = (0..5).map(|i| origin.url(&format!("/r/{i}"))).collect();
    let file = list(&lines);
    // The time from the first URL's start to the last one's, in ms.
    let span = |args: &[&str]| -> f64 {
        let out = fetchpar()
            .args(["--json", "-j", "5"])
            .args(args)
            .arg(file.path())
            .assert()
            .success();
        let records = json_lines(&out.get_output().stdout);
        assert_eq!(records.len(), 5);
        let starts: Vec<f64> = (records.iter())
            .map(|r| r["start_ms"].as_f64().unwrap())
            .collect();
        let (first, last) = starts
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), &s| (lo.min(s), hi.max(s)));
        last - first
    };
    // Four gaps of at least 100 ms (50 ms drawn at random), less what a slow start of the
    // first URL's thread may eat of the first.
    for (args, least) in [
        (vec!["--rate", "10/s"], 400.0),
        (vec!["--wait", "100ms"], 400.0),
        (vec!["-w", "0.1", "--random-wait"], 200.0),
        (vec!["--sequential", "--rate", "600/m"], 400.0),
    ] {
        let span = span(&args);
        assert!(span >= least * 0.8, "{args:?}: {span} ms");
    }
    // An unusable rate stops the run before it starts.
    for bad in ["0/s", "10/y", "ten"] {
        fetchpar()
            .args(["--rate", bad])
            .arg(file.path())
            .assert()
            .code(2)
            .stderr(predicates::str::contains("--rate"));
    }
}

/// A server on 127.0.0.1 that answers every request with the address it came from.
fn peer_echo() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/peer", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let peer = conn.peer_addr().unwrap().ip().to_string();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            // The request head ends with an empty line.
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                line.clear();
            }
            let mut conn = conn;
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{peer}",
                peer.len()
            );
        }
    });
    url
}

#[test]
fn interface_makes_connections_from_that_address_or_that_interfaces() {
    let url = peer_echo();
    let from = |args: &[&str]| -> serde_json::Value {
        let out = fetchpar()
            .args(["--json", "--retries", "0"])
            .args(args)
            .arg(&url)
            .assert();
        json_lines(&out.get_output().stdout)[0].clone()
    };
    // All of 127.0.0.0/8 is this machine's loopback.
    assert_eq!(from(&["--interface", "127.0.0.2"])["prefix"], "127.0.0.2");
    assert_eq!(
        from(&["--bind-address", "127.0.0.3"])["prefix"],
        "127.0.0.3"
    );
    assert_eq!(from(&["--interface", "lo"])["prefix"], "127.0.0.1");
    assert_eq!(from(&[])["prefix"], "127.0.0.1");
    // A host reached only at addresses of a family the interface lacks fails on its own.
    let port = url.rsplit(':').next().unwrap();
    let v6 = format!("http://[::1]:{port}");
    let out = fetchpar()
        .args(["--json", "--interface", "127.0.0.2"])
        .arg(&v6)
        .assert()
        .code(1);
    let record = &json_lines(&out.get_output().stdout)[0];
    assert!(
        message(record).contains("--interface 127.0.0.2 has no IPv6 address"),
        "{record}"
    );
    assert_eq!(record["attempts"], 1, "no retry can change it: {record}");
    // What cannot be used stops the run before it starts.
    for (args, says) in [
        (
            vec!["--interface", "192.0.2.1"],
            "not an address of this machine",
        ),
        (
            vec!["--interface", "no-such-if0"],
            "neither an IP address nor an interface",
        ),
        (
            vec!["--interface", "lo", "-x", "socks5://127.0.0.1:1"],
            "through the SOCKS proxy 127.0.0.1:1",
        ),
    ] {
        fetchpar()
            .args(&args)
            .arg(&url)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(says));
    }
}

#[test]
fn verbose_shows_every_request_once_whatever_path_it_takes() {
    // Redirects, retries, mirrors, a split download's ranges, resumption after a cut, a 404:
    // the trace has one request head for each request the server saw, and nothing torn.
    let origin = Origin::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        origin.url("/plain?size=10"),
        origin.url("/hops?redirect=3&size=10"),
        origin.url("/busy?fail=2&size=10"),
        origin.url("/gone?status=404") + "\t" + &origin.url("/mirror?size=10"),
        origin.url("/big?size=4194304"),
        origin.url("/cut?size=300000&truncate_once=100000"),
        origin.url("/gz?gzip=1&sized=1&size=2000"),
    ];
    let file = list(&lines);
    let out = fetchpar()
        .args([
            "-v",
            "--retry-delay",
            "0",
            "--split",
            "4",
            "--min-split-size",
            "1M",
            "-o",
        ])
        .arg(dir.path())
        .arg(file.path())
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let traced: Vec<&str> = (stderr.lines())
        .filter_map(|l| l.split_once("] ").map(|(_, rest)| rest))
        .collect();
    for line in &traced {
        assert!(
            ["* ", "> ", "< "].iter().any(|p| line.starts_with(p)),
            "{line}: {stderr}"
        );
    }
    let heads = traced
        .iter()
        .filter(|l| l.starts_with("> GET ") || l.starts_with("> HEAD "))
        .count();
    assert_eq!(heads, origin.requests(), "{stderr}");
    let answers = traced
        .iter()
        .filter(|l| l.starts_with("< HTTP/1.1 "))
        .count();
    assert_eq!(answers, origin.requests(), "{stderr}");
    assert!(
        stderr.contains("* range connection"),
        "the body was split: {stderr}"
    );
}

#[test]
fn a_digest_challenge_is_answered_with_the_login_and_kept_for_the_origin() {
    let origin = Origin::start().unwrap();
    let page =
        |n: usize, extra: &str| origin.url(&format!("/d{n}?digest=ann:s%3Acret&size=7{extra}"));
    let run = |args: &[&str], urls: &[String]| {
        let out = fetchpar()
            .args(["--json", "-j", "1", "--retries", "0"])
            .args(args)
            .args(urls)
            .output()
            .unwrap();
        let records = json_lines(&out.stdout);
        assert_eq!(records.len(), urls.len(), "{records:?}");
        let statuses: Vec<_> = (records.iter()).map(|r| r["status"].as_u64()).collect();
        (out.status.code(), statuses)
    };
    let before = |origin: &Origin| origin.requests();

    // --user: the first request goes with Basic and is challenged, the answer is Digest; the
    // origin's next URLs answer the kept challenge at once (one request each).
    let urls: Vec<_> = (0..3).map(|n| page(n, "")).collect();
    let start = before(&origin);
    let (code, statuses) = run(&["-u", "ann:s:cret"], &urls);
    assert_eq!((code, statuses), (Some(0), vec![Some(200); 3]));
    assert_eq!(origin.requests() - start, 4);

    // A login the server refuses: one answer to its challenge, then the 401 is the result.
    let start = before(&origin);
    let (code, statuses) = run(&["-u", "ann:wrong"], &urls[..1]);
    assert_eq!((code, statuses), (Some(1), vec![Some(401)]));
    assert_eq!(origin.requests() - start, 2);

    // No login: the 401 at once, and nothing sent again; nor with an Authorization of -H's.
    let start = before(&origin);
    let (code, statuses) = run(&[], &urls[..1]);
    assert_eq!((code, statuses), (Some(1), vec![Some(401)]));
    let (code, _) = run(&["-H", "Authorization: Bearer t"], &urls[..1]);
    assert_eq!(code, Some(1));
    assert_eq!(origin.requests() - start, 2);

    // The URL's own login (percent-decoded), and a netrc entry, answer it too.
    let own = page(5, "").replace("http://", "http://ann:s%3Acret@");
    assert_eq!(run(&[], &[own]).0, Some(0));
    let dir = tempfile::tempdir().unwrap();
    let netrc = dir.path().join("netrc");
    fs::write(&netrc, "machine 127.0.0.1 login ann password s:cret\n").unwrap();
    let netrc = netrc.to_str().unwrap();
    assert_eq!(run(&["--netrc-file", netrc], &urls[..1]).0, Some(0));

    // Offered Basic first and Digest after, Digest is taken (the server takes no Basic); a
    // HEAD (--spider) is answered as a HEAD.
    let both = page(6, "&digest_basic=1");
    assert_eq!(
        run(&["-u", "ann:s:cret"], std::slice::from_ref(&both)).0,
        Some(0)
    );
    assert_eq!(run(&["-u", "ann:s:cret", "--spider"], &[both]).0, Some(0));

    // A server that takes each nonce once calls the kept one stale: the fresh challenge is
    // answered, once per URL.
    let once: Vec<_> = (0..3).map(|n| page(10 + n, "&digest_once=1")).collect();
    let start = before(&origin);
    let (code, statuses) = run(&["-u", "ann:s:cret"], &once);
    assert_eq!((code, statuses), (Some(0), vec![Some(200); 3]));
    assert_eq!(origin.requests() - start, 6);
    // Many at once: each answers the challenge made to its own request, whatever the others
    // were asked meanwhile.
    let many: Vec<_> = (0..16).map(|n| page(20 + n, "&digest_once=1")).collect();
    let out = fetchpar()
        .args(["--json", "-j", "16", "--retries", "0", "-u", "ann:s:cret"])
        .args(&many)
        .output()
        .unwrap();
    let records = json_lines(&out.stdout);
    let ok = (records.iter()).filter(|r| r["status"].as_u64() == Some(200));
    assert_eq!(
        (out.status.code(), ok.count()),
        (Some(0), 16),
        "{records:?}"
    );
}

#[test]
fn a_digest_login_goes_through_redirects_and_saved_downloads() {
    let origin = Origin::start().unwrap();
    let target = origin.url("/file.bin?digest=ann:pw&size=5000");
    let dir = tempfile::tempdir().unwrap();
    save_one(
        &["-u", "ann:pw"],
        dir.path(),
        redirecting(&origin, "/hop", &target),
        0,
    );
    // Named from the line's URL, as wget names it without --trust-server-names.
    let saved = fs::read(dir.path().join("hop")).unwrap();
    assert_eq!(saved, fetchpar::origin::body_bytes(0, 5000));
}
