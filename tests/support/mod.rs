//! Shared test helpers: the binary under test with a clean environment, list files, and JSON
//! output parsing. Servers come from `fetchpar::origin::Origin` on 127.0.0.1:0.
#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::NamedTempFile;

pub use fetchpar::origin::Origin;

/// Proxy variables are cleared so the tests only ever talk to their own loopback servers.
pub const PROXY_VARS: &[&str] = &[
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Where the system's trusted certificates are read from, when set: cleared, so no test depends
/// on what the machine it runs on trusts.
pub const TRUST_VARS: &[&str] = &["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// The fetchpar binary, with no proxy settings, no config file of the user running the tests
/// (`FETCHPAR_CONFIG` empty) and a safety limit so a hang fails the test instead of blocking
/// the suite.
pub fn fetchpar() -> Command {
    let mut cmd = Command::cargo_bin("fetchpar").expect("binary built");
    for var in PROXY_VARS.iter().chain(TRUST_VARS) {
        cmd.env_remove(var);
    }
    cmd.env_remove("NO_COLOR").env(NO_CONFIG.0, NO_CONFIG.1);
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// Set in every child's environment: no config file.
pub const NO_CONFIG: (&str, &str) = ("FETCHPAR_CONFIG", "");

/// The same binary as a plain std Command (for tests that drive stdin or stdout by hand).
pub fn fetchpar_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("fetchpar"));
    for var in PROXY_VARS.iter().chain(TRUST_VARS) {
        cmd.env_remove(var);
    }
    cmd.env(NO_CONFIG.0, NO_CONFIG.1);
    cmd
}

/// Runs `cmd` (a [`fetchpar_std`]) to its end, killed after 60 s as [`fetchpar`]'s are, and
/// gives its stdout and its peak resident memory in KiB. `wait4` reads the peak of that child
/// alone: the largest of all the test's children would count the other tests' runs.
#[cfg(target_os = "linux")]
#[allow(
    clippy::zombie_processes,
    reason = "reaped by wait4, which gives the usage"
)]
pub fn stdout_and_peak_kib(cmd: &mut std::process::Command) -> (Vec<u8>, u64) {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = (cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()).expect("spawned");
    let pid = child.id() as libc::pid_t;
    let (done, ended) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            ended.recv_timeout(Duration::from_secs(60))
        {
            // SAFETY: a signal to the child, which is not reaped before this thread ends, so
            // its pid is no other process's.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let mut out = Vec::new();
    let read = child.stdout.take().expect("piped").read_to_end(&mut out);
    // Waits for the child to end without reaping it (WNOWAIT), then ends the watchdog, and
    // only then reaps it with its usage.
    // SAFETY: siginfo_t is plain data that waitid fills in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waits for this child only, with a pointer to a local.
    let exited = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    assert_eq!(exited, 0, "waitid: {}", std::io::Error::last_os_error());
    drop(done);
    watchdog.join().unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: reaps this child only, with pointers to locals.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    read.expect("stdout read");
    assert_eq!(reaped, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "fetchpar ended with status {status:#x}"
    );
    (out, usage.ru_maxrss as u64)
}

/// Takes a spawned fetchpar's stdout and reads its first line, then drops the pipe (as
/// `| head -1` would). One printed result means the run is under way.
pub fn first_stdout_line(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout piped"))
        .read_line(&mut first)
        .expect("read stdout");
    first
}

/// A temporary link list holding `lines`.
pub fn list(lines: &[String]) -> NamedTempFile {
    let mut file = NamedTempFile::new().expect("temp file");
    for line in lines {
        writeln!(file, "{line}").expect("write list");
    }
    file.flush().expect("flush list");
    file
}

/// A URL on 127.0.0.1 where nothing listens: connecting is refused.
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/nothing-here")
}

/// Parses JSON Lines output into values, failing the test on any line that is not JSON.
pub fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}")))
        .collect()
}

/// The list line of each JSON record, in the order printed.
pub fn lines_of(records: &[Value]) -> Vec<u64> {
    records
        .iter()
        .map(|r| r["line"].as_u64().expect("a line number"))
        .collect()
}

/// The error kind of a JSON record, or "ok".
pub fn kind(record: &Value) -> String {
    record["error"]["kind"].as_str().unwrap_or("ok").to_string()
}

/// The error message of a JSON record, or "" for a success.
pub fn message(record: &Value) -> &str {
    record["error"]["message"].as_str().unwrap_or("")
}

/// Finds the record for the URL containing `needle`.
pub fn find<'a>(records: &'a [Value], needle: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["url"].as_str().is_some_and(|u| u.contains(needle)))
        .unwrap_or_else(|| panic!("no record for {needle} in {records:#?}"))
}

/// Names of the files in a folder, sorted.
pub fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Saves the one URL of `line` into `out` with `--json` and `args`, checks the exit code and
/// returns its record.
pub fn save_one(args: &[&str], out: &std::path::Path, line: String, code: i32) -> Value {
    let run = fetchpar()
        .arg("--json")
        .args(args)
        .arg("-o")
        .arg(out)
        .arg(list(&[line]).path())
        .assert()
        .code(code);
    json_lines(&run.get_output().stdout).remove(0)
}

/// fetchpar started on a pseudo-terminal of its own (`rows` x `cols`, `TERM=xterm-256color`),
/// with the clean environment of [`fetchpar`] (no proxy or trust variables, no config file, no
/// `NO_COLOR`) and then `env`. Returns the terminal's side and the child.
pub fn spawn_in_terminal(
    args: &[String],
    rows: u16,
    cols: u16,
    env: &[(&str, &str)],
) -> (
    Box<dyn portable_pty::MasterPty + Send>,
    Box<dyn portable_pty::Child + Send + Sync>,
) {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    let pair = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(assert_cmd::cargo::cargo_bin("fetchpar"));
    cmd.env(NO_CONFIG.0, NO_CONFIG.1);
    cmd.args(args);
    cmd.cwd(std::env::current_dir().unwrap());
    for var in PROXY_VARS.iter().chain(TRUST_VARS).chain(&["NO_COLOR"]) {
        cmd.env_remove(var);
    }
    cmd.env("TERM", "xterm-256color");
    for (name, value) in env {
        cmd.env(name, value);
    }
    let child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    (pair.master, child)
}

/// Reads a terminal's output into `out` until the program on it has exited: the master reports
/// an error (EIO) once the child has closed its side.
pub fn read_until_closed(reader: &mut dyn std::io::Read, out: &mut Vec<u8>) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// The next request head a test server reads on a connection, its lines joined by `\n`;
/// `None` once the client has closed it.
pub fn next_head(reader: &mut impl std::io::BufRead) -> Option<String> {
    let mut head = String::new();
    // The head ends with an empty line.
    while reader.read_line(&mut head).unwrap_or(0) > 2 {}
    (!head.is_empty()).then(|| head.lines().collect::<Vec<_>>().join("\n"))
}

/// The `-v` lines of a run's only URL, given as an argument, without their `[argument:1] `.
pub fn traced_lines(stderr: &str) -> Vec<&str> {
    (stderr.lines())
        .filter_map(|l| l.strip_prefix("[argument:1] "))
        .collect()
}
