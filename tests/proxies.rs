//! SOCKS proxies, and what a URL says when it fails at its proxy: which proxy, the host it was
//! to reach and what happened, with kind `proxy`, retried only when another try may pass.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use predicates::prelude::*;
use serde_json::Value;
use support::*;

/// What a SOCKS5 proxy was asked: the login it was given, and the host and port to reach.
#[derive(Debug, Clone, PartialEq)]
struct Asked {
    login: Option<(String, String)>,
    target: String,
}

/// A SOCKS5 proxy (RFC 1928, with RFC 1929's login when offered) on 127.0.0.1 that reaches
/// every host at 127.0.0.1, on the port it is asked for, so a made-up name works. A host named
/// `reply-N.test` gets reply code N instead. It notes what each connection asked.
fn socks5_proxy() -> (String, Arc<Mutex<Vec<Asked>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let noted = Arc::clone(&log);
    let addr = serve(move |client| {
        let _ = socks5_session(client, &noted);
    });
    (addr, log)
}

/// `127.0.0.1:PORT` of a server that runs `session` on a thread of its own for each
/// connection.
fn serve(session: impl Fn(TcpStream) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let session = Arc::new(session);
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let session = Arc::clone(&session);
            thread::spawn(move || session(client));
        }
    });
    addr
}

fn socks5_session(mut client: TcpStream, noted: &Mutex<Vec<Asked>>) -> std::io::Result<()> {
    let read = |n: usize, client: &mut TcpStream| -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        client.read_exact(&mut buf)?;
        Ok(buf)
    };
    let greeting = read(2, &mut client)?;
    let methods = read(greeting[1].into(), &mut client)?;
    let mut login = None;
    if methods.contains(&2) {
        client.write_all(&[5, 2])?;
        let head = read(2, &mut client)?;
        let user = read(head[1].into(), &mut client)?;
        let len = read(1, &mut client)?;
        let password = read(len[0].into(), &mut client)?;
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        login = Some((text(user), text(password)));
        client.write_all(&[1, 0])?;
    } else {
        client.write_all(&[5, 0])?;
    }
    let request = read(4, &mut client)?;
    let host = match request[3] {
        1 => Ipv4Addr::from(<[u8; 4]>::try_from(read(4, &mut client)?).unwrap()).to_string(),
        3 => {
            let len = read(1, &mut client)?;
            String::from_utf8(read(len[0].into(), &mut client)?).unwrap()
        }
        other => panic!("address type {other}"),
    };
    let port = u16::from_be_bytes(read(2, &mut client)?.try_into().unwrap());
    let target = format!("{host}:{port}");
    noted.lock().unwrap().push(Asked { login, target });
    let reply = (host.strip_prefix("reply-"))
        .and_then(|rest| rest.strip_suffix(".test"))
        .map_or(0, |code| code.parse::<u8>().unwrap());
    client.write_all(&[5, reply, 0, 1, 127, 0, 0, 1, 0, 0])?;
    if reply != 0 {
        return Ok(());
    }
    let server = TcpStream::connect(("127.0.0.1", port))?;
    relay(client, server);
    Ok(())
}

/// Copies bytes both ways until either side closes.
fn relay(client: TcpStream, server: TcpStream) {
    let (mut up, mut down) = (server.try_clone().unwrap(), server);
    let (mut from_client, mut back) = (client.try_clone().unwrap(), client);
    thread::spawn(move || std::io::copy(&mut from_client, &mut up));
    let _ = std::io::copy(&mut down, &mut back);
}

/// An HTTP proxy that answers CONNECT for `status-N.test` with status N, holds the connection
/// unanswered for `silent.test` until the client closes it, and closes it unanswered for any
/// other host.
fn connect_proxy() -> String {
    let addr = serve(|client| {
        let mut reader = BufReader::new(client.try_clone().unwrap());
        let mut head = String::new();
        while reader.read_line(&mut head).unwrap_or(0) > 2 {}
        let authority = head.split(' ').nth(1).unwrap_or("").to_string();
        let host = authority.rsplit_once(':').map_or("", |(host, _)| host);
        let code = (host.strip_prefix("status-")).and_then(|r| r.strip_suffix(".test"));
        if let Some(code) = code {
            let answer = format!("HTTP/1.1 {code} No\r\nContent-Length: 0\r\n\r\n");
            let _ = (&client).write_all(answer.as_bytes());
        }
        if host == "silent.test" {
            let _ = reader.read(&mut [0u8; 1]);
        }
    });
    format!("http://{addr}")
}

/// What a test server noted, shared with the test.
type Noted = Arc<Mutex<Vec<String>>>;

/// An HTTP proxy that answers every request itself, as a caching proxy answers from its cache:
/// `407` to a request without a `Proxy-Authorization`, else the path asked for. It notes each
/// request head (lines joined by `\n`) and counts connections.
fn forward_proxy() -> (String, Noted, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (heads, connections) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(0)));
    let (noted, counted) = (Arc::clone(&heads), Arc::clone(&connections));
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            *counted.lock().unwrap() += 1;
            let noted = Arc::clone(&noted);
            thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                while let Some(head) = next_head(&mut reader) {
                    let target = head.split(' ').nth(1).unwrap_or("").to_string();
                    let answer = if head.contains("proxy-authorization: ") {
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{target}",
                            target.len()
                        )
                    } else {
                        "HTTP/1.1 407 Login\r\nContent-Length: 0\r\n\r\n".to_string()
                    };
                    noted.lock().unwrap().push(head);
                    if (&client).write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, heads, connections)
}

/// An HTTP proxy that opens a CONNECT tunnel to the port asked for on 127.0.0.1, whatever the
/// host, and answers a request naming a whole URL itself, its body the URL. It notes each
/// request's head, its lines joined by `\n`.
fn tunnel_proxy() -> (String, Noted) {
    let heads = Arc::new(Mutex::new(Vec::new()));
    let noted = Arc::clone(&heads);
    let addr = serve(move |client| {
        let mut reader = BufReader::new(client.try_clone().unwrap());
        while let Some(head) = next_head(&mut reader) {
            let first = head.lines().next().unwrap_or("").to_string();
            noted.lock().unwrap().push(head.clone());
            let target = first.split(' ').nth(1).unwrap_or("").to_string();
            if !first.starts_with("CONNECT ") {
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{target}",
                    target.len()
                );
                if (&client).write_all(answer.as_bytes()).is_err() {
                    return;
                }
                continue;
            }
            let port: u16 = target.rsplit(':').next().unwrap().parse().unwrap();
            (&client)
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .unwrap();
            // The client waits for that answer before it sends more: nothing is left in
            // `reader`'s buffer.
            relay(client, TcpStream::connect(("127.0.0.1", port)).unwrap());
            return;
        }
    });
    (addr, heads)
}

/// `127.0.0.1:PORT` of a port nothing listens on.
fn nothing_listening() -> String {
    let url = refused_url();
    let authority = url.trim_start_matches("http://").split('/').next();
    authority.unwrap().to_string()
}

/// Fetches `url` with `args`, expecting exit `code`, and returns its one JSON record.
fn one(url: &str, args: &[&str], code: i32) -> Value {
    let out = fetchpar()
        .arg("--json")
        .args(["--retry-delay", "0.01"])
        .args(args)
        .arg(url)
        .assert()
        .code(code);
    let records = json_lines(&out.get_output().stdout);
    assert_eq!(records.len(), 1, "{records:#?}");
    records.into_iter().next().unwrap()
}

#[test]
fn socks5_and_socks5h_proxies_carry_urls_and_their_login() {
    let origin = Origin::start().unwrap();
    let port = origin.addr().port();
    let (proxy, asked) = socks5_proxy();

    // socks5: fetchpar looks the name up and hands the proxy an address.
    let url = origin.url("/a?size=5");
    let done = one(&url, &["-x", &format!("socks5://{proxy}")], 0);
    assert_eq!(done["bytes"], 5, "{done}");
    // socks5h: the proxy gets the name (this one is nowhere else), and the login.
    let far = format!("http://far-away.test:{port}/b?size=7");
    let login = format!("socks5h://me:s0cks%20pass@{proxy}");
    let done = one(&far, &["-x", &login], 0);
    assert_eq!(done["bytes"], 7, "{done}");
    // curl's --socks5-hostname HOST:PORT is -x socks5h://HOST:PORT.
    let done = one(&far, &["--socks5-hostname", &proxy], 0);
    assert_eq!(done["bytes"], 7, "{done}");
    assert_eq!(
        *asked.lock().unwrap(),
        [
            Asked {
                login: None,
                target: format!("127.0.0.1:{port}"),
            },
            Asked {
                login: Some(("me".into(), "s0cks pass".into())),
                target: format!("far-away.test:{port}"),
            },
            Asked {
                login: None,
                target: format!("far-away.test:{port}"),
            },
        ]
    );
    // -v names the proxy and what it was asked for, as curl -v does, never its password.
    let trace = |proxy_url: &str, url: &str| {
        let traced = fetchpar()
            .args(["-v", "-x", proxy_url, url])
            .assert()
            .success();
        let stderr = String::from_utf8_lossy(&traced.get_output().stderr).into_owned();
        assert!(!stderr.contains("s0cks"), "{stderr}");
        (traced_lines(&stderr).into_iter())
            .take(3)
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        trace(&login, &far),
        [
            format!(
                "* asking the SOCKS5h proxy {proxy} to connect to far-away.test:{port} (looked \
                 up by the proxy)"
            ),
            "* the proxy connected".to_string(),
            format!("* connected to far-away.test:{port} through the proxy {proxy}"),
        ]
    );
    let near = format!("http://localhost:{port}/c?size=1");
    assert_eq!(
        trace(&format!("socks5://me:s0cks@{proxy}"), &near)[0],
        format!(
            "* asking the SOCKS5 proxy {proxy} to connect to 127.0.0.1:{port} (looked up here)"
        )
    );
}

#[test]
fn a_socks_proxys_refusals_name_the_proxy_and_are_retried_only_when_they_may_pass() {
    let origin = Origin::start().unwrap();
    let port = origin.addr().port();
    let (proxy, asked) = socks5_proxy();
    let via = format!("socks5h://{proxy}");
    let url = |host: &str| format!("http://{host}:{port}/");
    let tries = |host: &str, args: &[&str]| -> (Value, usize) {
        let before = asked.lock().unwrap().len();
        let mut all = vec!["-x", via.as_str(), "--retries", "2"];
        all.extend(args);
        let record = one(&url(host), &all, 1);
        assert_eq!(kind(&record), "proxy", "{record}");
        (record, asked.lock().unwrap().len() - before)
    };

    // Reply 5: nothing listens at the host. Final, as a refused connection is, unless
    // --retry-connrefused.
    let (refused, asks) = tries("reply-5.test", &[]);
    assert_eq!(
        message(&refused),
        format!(
            "the SOCKS5h proxy {proxy} could not connect to reply-5.test:{port}: connection refused"
        )
    );
    assert_eq!((asks, refused["attempts"].as_u64()), (1, Some(1)));
    let (_, asks) = tries("reply-5.test", &["--retry-connrefused"]);
    assert_eq!(asks, 3);
    // Reply 2: the proxy's rules forbid it. Final.
    let (banned, asks) = tries("reply-2.test", &[]);
    assert!(
        message(&banned).ends_with("connection not allowed by ruleset"),
        "{banned}"
    );
    assert_eq!(asks, 1);
    // Reply 1, a general failure, and 4, the host unreachable: may pass another time.
    for host in ["reply-1.test", "reply-4.test"] {
        let (_, asks) = tries(host, &[]);
        assert_eq!(asks, 3, "{host}");
    }

    // A proxy that is not there: the message says it is the proxy that cannot be reached.
    let gone = nothing_listening();
    let record = one(&url("127.0.0.1"), &["-x", &format!("socks5://{gone}")], 1);
    assert_eq!(kind(&record), "proxy", "{record}");
    assert!(
        message(&record).starts_with(&format!("cannot connect to the SOCKS5 proxy {gone}: ")),
        "{record}"
    );
}

#[test]
fn an_http_url_goes_to_an_http_proxy_naming_the_whole_url_as_curl_sends_it() {
    let (proxy, heads, connections) = forward_proxy();
    let with_login = format!("http://me:pr0xy%20pass@{proxy}");
    // Names nowhere but at the proxy, which answers with the target it was asked for.
    let urls = [
        "http://far.test/a?x=1",
        "http://far.test/b",
        "http://far.test/c",
        "http://user:pw@near.test:8080/d",
    ];
    let out = fetchpar()
        .args(["--json", "-j", "1", "-x", &with_login])
        .args(urls)
        .assert()
        .success();
    let records = json_lines(&out.get_output().stdout);
    let prefixes: Vec<&str> = records
        .iter()
        .map(|r| r["prefix"].as_str().unwrap())
        .collect();
    assert_eq!(prefixes[..3], urls[..3]);
    assert_eq!(prefixes[3], "http://near.test:8080/d");
    let heads = heads.lock().unwrap().clone();
    let lines: Vec<Vec<&str>> = heads.iter().map(|h| h.lines().collect()).collect();
    let firsts: Vec<&str> = lines.iter().map(|head| head[0]).collect();
    assert_eq!(
        firsts,
        [
            "GET http://far.test/a?x=1 HTTP/1.1",
            "GET http://far.test/b HTTP/1.1",
            "GET http://far.test/c HTTP/1.1",
            "GET http://near.test:8080/d HTTP/1.1",
        ]
    );
    for head in &lines {
        // The proxy's login goes to the proxy; the URL's own to the server, as curl sends them.
        assert!(
            head.contains(&"proxy-authorization: Basic bWU6cHIweHkgcGFzcw=="),
            "{head:?}"
        );
    }
    assert!(
        lines[3].contains(&"authorization: Basic dXNlcjpwdw=="),
        "{:?}",
        lines[3]
    );
    assert!(lines[3].contains(&"host: near.test:8080"), "{:?}", lines[3]);
    // The third URL to far.test went on the second's kept-alive connection to the proxy (the
    // first connection to a host not seen before is not kept: see reuse.rs).
    assert_eq!(*connections.lock().unwrap(), 3, "{heads:?}");

    // Without a login, the proxy's 407 is the answer, as curl takes it for an http URL.
    let refused = one(urls[1], &["-x", &proxy], 1);
    assert_eq!(
        (kind(&refused), &refused["status"]),
        ("http_status".into(), &407.into())
    );
    // -v shows the request line as the proxy got it, and never the proxy's password.
    let traced = fetchpar()
        .args(["-v", "-x", &with_login, urls[0]])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&traced.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!(
            "* connected to far.test through the proxy {proxy}"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("] > GET http://far.test/a?x=1 HTTP/1.1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("] > proxy-authorization: Basic ***"),
        "{stderr}"
    );
    assert!(!stderr.contains("pr0xy"), "{stderr}");
}

#[test]
fn a_list_lines_proxy_options_send_that_line_alone_through_its_proxy_as_aria2c_does() {
    let origin = Origin::start().unwrap();
    let (proxy, heads, _) = forward_proxy();
    let tunnels = connect_proxy();
    let near = |path: &str| origin.url(path);
    let run = |args: &[&str], lines: &[String], code: i32| {
        let file = list(lines);
        let out = fetchpar()
            .args(["--json", "-j", "1", "--retries", "0"])
            .args(args)
            .arg(file.path())
            .assert()
            .code(code);
        json_lines(&out.get_output().stdout)
    };
    let seen = || -> Vec<String> {
        let heads = std::mem::take(&mut *heads.lock().unwrap());
        let login = "proxy-authorization: Basic bWU6cHc=";
        for head in &heads {
            assert!(head.lines().any(|line| line == login), "{head}");
        }
        heads
            .iter()
            .map(|h| h.lines().next().unwrap().into())
            .collect()
    };

    // No proxy for the run: the lines naming one go through it, aria2c's --save-session form
    // (a login on lines of its own) and a login in the URL alike; the others go direct, a
    // connection to the proxy never taken for one to the origin, nor the other way round.
    let c = near("/c?size=4");
    let lines = [
        format!(
            "http://far.test/a\n  all-proxy=http://{proxy}/\n  all-proxy-user=me\n  \
             all-proxy-passwd=pw"
        ),
        near("/b?size=3"),
        format!("{c} http-proxy=http://me:pw@{proxy}"),
        near("/d?size=5"),
        format!("https://status-403.test:8443/ https-proxy={tunnels}"),
    ];
    let records = run(&[], &lines, 1);
    let got = |needle: &str| find(&records, needle).clone();
    assert_eq!(got("far.test/a")["prefix"], "http://far.test/a");
    assert_eq!(got("/b?")["bytes"], 3);
    assert_eq!(got("/c?")["prefix"], c.as_str(), "the proxy's answer");
    assert_eq!(got("/d?")["bytes"], 5);
    let refused = got("status-403");
    assert_eq!(kind(&refused), "proxy", "{refused}");
    assert!(message(&refused).contains("refused to connect to status-403.test:8443: 403"));
    assert_eq!(
        seen(),
        [
            "GET http://far.test/a HTTP/1.1".to_string(),
            format!("GET {c} HTTP/1.1")
        ]
    );

    // A proxy for the run: a line's empty all-proxy= and its no-proxy= send it direct, and a
    // line's login goes to the run's proxy, which has none of its own.
    let lines = [
        format!("{} all-proxy=", near("/e?size=6")),
        format!("{}\n  no-proxy=127.0.0.1", near("/f?size=7")),
        "http://far.test/g all-proxy-user=me all-proxy-passwd=pw".to_string(),
        "http://far.test/h".to_string(),
    ];
    let records = run(&["-x", &proxy], &lines, 1);
    let got = |needle: &str| find(&records, needle).clone();
    assert_eq!(got("/e?")["bytes"], 6);
    assert_eq!(got("/f?")["bytes"], 7);
    assert_eq!(got("far.test/g")["prefix"], "http://far.test/g");
    assert_eq!(
        got("far.test/h")["status"],
        407,
        "the run's proxy, without a login"
    );
    let firsts: Vec<String> = std::mem::take(&mut *heads.lock().unwrap())
        .iter()
        .map(|h| h.lines().next().unwrap().into())
        .collect();
    assert_eq!(
        firsts,
        [
            "GET http://far.test/g HTTP/1.1",
            "GET http://far.test/h HTTP/1.1"
        ]
    );
}

#[test]
fn aria2cs_and_wgets_proxy_options_choose_each_schemes_proxy_and_who_goes_direct() {
    let origin = Origin::start().unwrap();
    let (proxy, heads, _) = forward_proxy();
    let gone = nothing_listening();
    let url = origin.url("/a?size=3");
    // wget's --no-proxy: every URL direct (the URL after it is no host list); aria2c's
    // --no-proxy=HOSTS: those hosts.
    assert_eq!(one(&url, &["-x", &gone, "--no-proxy"], 0)["bytes"], 3);
    let listed = one(&url, &["-x", &gone, "--no-proxy=example.org,127.0.0.1"], 0);
    assert_eq!(listed["bytes"], 3);
    let unlisted = one(&url, &["-x", &gone, "--no-proxy=example.org"], 1);
    assert_eq!(kind(&unlisted), "proxy", "{unlisted}");
    // --http-proxy: http URLs go there in place of -x's proxy; "" sends them direct.
    let far = "http://far.test/b";
    let login = format!("http://me:pw@{proxy}");
    let through = one(far, &["-x", &gone, "--http-proxy", &login], 0);
    assert_eq!(through["prefix"], far);
    assert_eq!(heads.lock().unwrap().len(), 1);
    assert_eq!(one(&url, &["-x", &gone, "--http-proxy", ""], 0)["bytes"], 3);
    // --https-proxy leaves http URLs to -x's proxy, which is not there.
    let left = one(&url, &["-x", &gone, "--https-proxy", &login], 1);
    assert_eq!(kind(&left), "proxy", "{left}");
    let bad = fetchpar()
        .args(["--https-proxy", "ftp://u:s3cret@h:1", &url])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&bad.get_output().stderr).into_owned();
    assert!(stderr.contains("--https-proxy=`ftp://***@h:1`"), "{stderr}");
}

#[test]
fn proxytunnel_sends_http_urls_through_a_connect_tunnel_as_curl_does() {
    let origin = Origin::start().unwrap();
    let port = origin.addr().port();
    let (proxy, heads) = tunnel_proxy();
    let far = |path: &str| format!("http://far.test:{port}{path}");
    let run = |args: &[&str], urls: &[String]| {
        let out = fetchpar()
            .args(["--json", "-j", "1", "-x", &proxy])
            .args(args)
            .args(urls)
            .assert()
            .success();
        let records = json_lines(&out.get_output().stdout);
        let heads = std::mem::take(&mut *heads.lock().unwrap());
        let firsts: Vec<String> = (heads.iter())
            .map(|head| head.lines().next().unwrap().to_string())
            .collect();
        (records, firsts)
    };
    // The origin answers inside the tunnel (the proxy alone would answer with the URL), the
    // third URL on the second's tunnel (the first connection to a host not seen before is not
    // kept: see reuse.rs).
    let urls = [far("/a?size=3"), far("/b?size=4"), far("/b?size=5")];
    for args in [&["--proxytunnel"][..], &["--proxy-method", "tunnel"]] {
        let (records, firsts) = run(args, &urls);
        let bytes: Vec<&Value> = records.iter().map(|r| &r["bytes"]).collect();
        assert_eq!(bytes, [3, 4, 5], "{records:#?}");
        let connect = format!("CONNECT far.test:{port} HTTP/1.1");
        assert_eq!(firsts, [connect.clone(), connect], "{args:?}");
    }
    // Without it, the whole URL goes to the proxy, which answers itself.
    let (records, firsts) = run(&[], &urls[..1]);
    assert_eq!(records[0]["prefix"], urls[0].as_str());
    assert_eq!(firsts, [format!("GET {} HTTP/1.1", urls[0])]);
    // A list line's aria2c proxy-method= in place of the run's.
    let lines = [
        format!("{} proxy-method=tunnel", far("/c?size=5")),
        format!("{} proxy-method=get", far("/d?size=6")),
    ];
    let file = list(&lines);
    let file = file.path().to_str().unwrap().to_string();
    let (records, firsts) = run(&["--proxytunnel"], &[file]);
    assert_eq!(find(&records, "/c?")["bytes"], 5);
    assert_eq!(find(&records, "/d?")["prefix"], far("/d?size=6").as_str());
    assert_eq!(
        firsts,
        [
            format!("CONNECT far.test:{port} HTTP/1.1"),
            format!("GET {} HTTP/1.1", far("/d?size=6"))
        ]
    );
}

#[test]
fn proxy_headers_go_to_the_proxy_alone_with_each_connect_and_each_whole_url() {
    let origin = Origin::start().unwrap();
    let port = origin.addr().port();
    let (proxy, heads) = tunnel_proxy();
    // The origin answers with the X-To-Proxy it got, if any.
    let url = format!("http://far.test:{port}/e?echo=x-to-proxy");
    let run = |args: &[&str]| {
        let out = fetchpar()
            .args(["--json", "-x", &proxy, "--proxy-header", "X-To-Proxy: yes"])
            .args(["--proxy-header", "User-Agent: via/1"])
            .args(args)
            .arg(&url)
            .assert()
            .success();
        let record = json_lines(&out.get_output().stdout).remove(0);
        let heads = std::mem::take(&mut *heads.lock().unwrap());
        (record, heads)
    };
    // Through a tunnel: the CONNECT carries them (the User-Agent in place of fetchpar's own),
    // the request inside it does not.
    let (record, heads) = run(&["--proxytunnel"]);
    assert_eq!(record["prefix"], "", "{record}");
    assert_eq!(heads.len(), 1, "{heads:?}");
    let lines: Vec<&str> = heads[0].lines().collect();
    assert!(lines.contains(&"x-to-proxy: yes"), "{lines:?}");
    let agents: Vec<&&str> = (lines.iter())
        .filter(|l| l.to_ascii_lowercase().starts_with("user-agent:"))
        .collect();
    assert_eq!(agents, [&"user-agent: via/1"]);
    // Sent whole, the request is the proxy's, and carries them (this proxy answers itself).
    let (record, heads) = run(&[]);
    assert_eq!(record["prefix"], url.as_str());
    assert!(
        heads[0].lines().any(|l| l == "x-to-proxy: yes"),
        "{heads:?}"
    );
    // Straight to the origin, they go nowhere.
    let direct = origin.url("/e?echo=x-to-proxy");
    let out = fetchpar()
        .args(["--json", "--proxy-header", "X-To-Proxy: yes", &direct])
        .assert()
        .success();
    assert_eq!(json_lines(&out.get_output().stdout)[0]["prefix"], "");
    fetchpar()
        .args(["--proxy-header", "no colon", &direct])
        .assert()
        .code(2);
}

#[test]
fn connect_to_changes_what_a_proxy_is_asked_to_connect_to_and_never_the_proxy() {
    let origin = Origin::start().unwrap();
    let port = origin.addr().port();
    let (socks, asked) = socks5_proxy();
    // Rules for any host: they would send the connection to the proxy itself elsewhere too,
    // were they applied to it.
    let rule = format!("::localhost:{port}");
    // socks5: the proxy is handed the address of the host the rule names.
    let socks5 = format!("socks5://{socks}");
    let done = one(
        "http://far-away.test:1/a?size=5",
        &["-x", &socks5, "--connect-to", &rule],
        0,
    );
    assert_eq!(done["bytes"], 5, "{done}");
    let target = asked.lock().unwrap()[0].target.clone();
    assert_eq!(target, format!("127.0.0.1:{port}"));
    // socks5h would be handed the URL's host, which no rule changes: refused before any fetch.
    fetchpar()
        .args(["-x", &format!("socks5h://{socks}"), "--connect-to", &rule])
        .arg("http://far-away.test:1/")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "--connect-to cannot be kept to through the SOCKS proxy {socks}"
        )));
    assert_eq!(asked.lock().unwrap().len(), 1);
    // A CONNECT proxy is asked for the tunnel to the rule's host (this one refuses it with the
    // status its name holds), and the refusal names that host.
    let proxy = connect_proxy();
    let at = proxy.trim_start_matches("http://");
    let moved = one(
        "https://files.test/",
        &[
            "-x",
            &proxy,
            "--connect-to",
            "files.test:443:status-403.test:8443",
        ],
        1,
    );
    assert_eq!(
        message(&moved),
        format!("the HTTP proxy {at} refused to connect to status-403.test:8443: 403 Forbidden")
    );
}

#[test]
fn a_connect_proxys_refusal_names_the_proxy_the_host_and_the_status() {
    let proxy = connect_proxy();
    let at = proxy.trim_start_matches("http://");
    // https URLs go through a CONNECT tunnel.
    let run = |host: &str| {
        one(
            &format!("https://{host}:8443/"),
            &["-x", &proxy, "--retries", "2"],
            1,
        )
    };

    let forbidden = run("status-403.test");
    assert_eq!(kind(&forbidden), "proxy");
    assert_eq!(
        message(&forbidden),
        format!("the HTTP proxy {at} refused to connect to status-403.test:8443: 403 Forbidden")
    );
    assert_eq!(forbidden["attempts"], 1, "a 4xx refusal is final");
    let login = run("status-407.test");
    assert!(message(&login).contains("asks for a login"), "{login}");
    assert!(message(&login).contains("--proxy-user"), "{login}");
    assert_eq!(login["attempts"], 1);
    let busy = run("status-503.test");
    assert!(
        message(&busy).ends_with(": 503 Service Unavailable"),
        "{busy}"
    );
    assert_eq!(busy["attempts"], 3, "a 5xx refusal may pass another time");
    let mute = run("mute.test");
    assert_eq!(
        message(&mute),
        format!(
            "the HTTP proxy {at} closed the connection without answering the CONNECT to \
             mute.test:8443"
        )
    );
    assert_eq!(mute["attempts"], 3);
    // A proxy that takes the connection and says nothing: its silence, not the host.
    let silent = one(
        "https://silent.test:8443/",
        &["-x", &proxy, "--retries", "0", "--connect-timeout", "0.3"],
        1,
    );
    assert_eq!(kind(&silent), "proxy", "{silent}");
    assert_eq!(
        message(&silent),
        format!(
            "the HTTP proxy {at} did not answer the CONNECT to silent.test:8443 within the \
             connect timeout (--connect-timeout)"
        )
    );

    // A proxy that is not there, for a tunnel and for an http URL alike.
    let gone = nothing_listening();
    for url in ["https://far.test/", "http://far.test/"] {
        let record = one(url, &["-x", &gone, "--retries", "2"], 1);
        assert_eq!(kind(&record), "proxy", "{record}");
        assert!(
            message(&record).starts_with(&format!("cannot connect to the HTTP proxy {gone}: ")),
            "{record}"
        );
        assert_eq!(
            record["attempts"], 1,
            "refused, as a direct connection is final"
        );
    }
    // An --interface without the proxy's address family fails once, as it does for a host.
    for url in ["https://far.test/", "http://far.test/"] {
        let args = [
            "-x",
            "http://[::1]:9",
            "--interface",
            "127.0.0.1",
            "--retries",
            "2",
        ];
        let record = one(url, &args, 1);
        assert!(message(&record).contains("no IPv6 address"), "{record}");
        assert_eq!(record["attempts"], 1, "{record}");
    }
}
