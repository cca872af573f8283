//! The config file: options every run takes unless its command line says otherwise, as
//! `~/.curlrc`, `~/.wgetrc` and aria2c's `aria2.conf` hold them. Part of reading the command
//! line, so it checks each line against clap's definition of the options in `cli`.
//!
//! One option a line, in any of the three tools' spellings: `--jobs 32`, `jobs = 32`,
//! `jobs=32`, `-j 32`, a value in double quotes when it has spaces or a `#`; a switch alone
//! (`quiet`), or with `true`/`false` as aria2c writes them. `#` starts a comment line.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgAction, Command};

/// Largest config file read: it is a page of options, not a list.
const MAX_CONFIG: u64 = 1024 * 1024;

/// The config file a run reads, if any: `--config FILE` (or none with `--no-config`), else
/// `$FETCHPAR_CONFIG` (empty for none), else `fetchpar/config` under `$XDG_CONFIG_HOME` or
/// `~/.config` when it exists. `explicit` says whether a missing file is an error.
#[derive(Debug, PartialEq)]
pub struct Source {
    pub path: PathBuf,
    pub explicit: bool,
}

/// Where the config file is, from the command line (before `--`) and the environment.
pub fn locate(args: &[OsString], var: impl Fn(&str) -> Option<OsString>) -> Option<Source> {
    let mut named = None;
    let mut words = args.iter().skip(1).map(|a| a.to_str());
    while let Some(word) = words.next() {
        match word {
            Some("--") => break,
            Some("--no-config") => return None,
            Some("--config") => named = words.next().flatten().map(PathBuf::from),
            Some(w) if w.starts_with("--config=") => named = Some(PathBuf::from(&w[9..])),
            _ => {}
        }
    }
    if let Some(path) = named {
        return Some(Source {
            path,
            explicit: true,
        });
    }
    if let Some(path) = var("FETCHPAR_CONFIG") {
        return (!path.is_empty()).then(|| Source {
            path: PathBuf::from(path),
            explicit: true,
        });
    }
    let base = (var("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from))
    .or_else(|| var("HOME").map(|home| Path::new(&home).join(".config")))?;
    Some(Source {
        path: base.join("fetchpar").join("config"),
        explicit: false,
    })
}

/// The command line with the config file's options put before its own, and those of them the
/// command line gives again (or contradicts) left out, so that what is typed wins. An error
/// names the file and line.
/// `command` gives the options' definition; it is only made when there is a file to check.
/// `off` names the switches the command line turned off (`--quiet=false`, see
/// [`switch_values`]): the file's lines for them are left out too.
pub fn apply(
    command: impl FnOnce() -> Command,
    args: Vec<OsString>,
    source: &Source,
    off: Vec<clap::Id>,
) -> Result<Vec<OsString>, String> {
    let shown = source.path.display();
    let text = match read(&source.path) {
        Ok(text) => text,
        // The usual file, unless there to be read: one that cannot even be looked at (a HOME
        // of another user's, run under sudo -u; a `.config` that is a file) is none, as curl,
        // wget and aria2c take theirs. One that is there and cannot be read is an error.
        Err(_) if !source.explicit && std::fs::metadata(&source.path).is_err() => return Ok(args),
        Err(e) => return Err(format!("the config file {shown}: {e}")),
    };
    let mut cmd = command();
    cmd.build();
    let mut typed = given(&cmd, &args);
    typed.extend(off);
    let mut from_file = Vec::new();
    // A byte-order mark, as some Windows editors save UTF-8, is not part of the first option.
    for (number, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let at = |why: String| format!("the config file {shown}, line {}: {why}", number + 1);
        let Some(words) = option_words(line).map_err(at)? else {
            continue;
        };
        let words = equals_joined(&cmd, words);
        let id = check(&cmd, &words).map_err(at)?;
        let Some(id) = id else { continue };
        let arg = cmd.get_arguments().find(|a| *a.get_id() == id);
        let appends = arg.is_some_and(|a| matches!(a.get_action(), ArgAction::Append));
        let contradicted = typed.iter().any(|other| {
            (*other == id && !appends)
                || conflicting(&cmd, &id, other)
                || conflicting(&cmd, other, &id)
        });
        if !contradicted {
            let home = || std::env::var_os("HOME");
            from_file.extend(home_expanded(arg, words, home));
        }
    }
    let mut out = Vec::with_capacity(args.len() + from_file.len());
    let mut args = args.into_iter();
    out.extend(args.next());
    out.extend(from_file);
    out.extend(args);
    Ok(out)
}

/// A file's or folder's path that starts with `~/` (or is `~`) as the user's home holds it, as
/// wget reads such paths in its wgetrc: no shell expands a config file's values, and a run
/// would otherwise save into a folder named `~`. Other values, and paths without a home to put
/// first, stay as they are.
fn home_expanded(
    arg: Option<&clap::Arg>,
    mut words: Vec<OsString>,
    home: impl Fn() -> Option<OsString>,
) -> Vec<OsString> {
    let path =
        arg.is_some_and(|a| a.get_value_parser().type_id() == std::any::TypeId::of::<PathBuf>());
    let rest = (words.get(1).and_then(|w| w.to_str()))
        .and_then(|value| value.strip_prefix('~'))
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        .map(str::to_string);
    if let (true, Some(rest), Some(home)) = (path, rest, home()) {
        let mut expanded = PathBuf::from(home);
        let rest = rest.trim_start_matches('/');
        if !rest.is_empty() {
            expanded.push(rest);
        }
        words[1] = expanded.into_os_string();
    }
    words
}

/// aria2c's `--continue=true` on the command line: a switch given `=true` (`yes`, `on`) is the
/// switch, and one given `=false` (`no`, `off`) is left out, and its id returned so that a
/// config file's line for it is left out too ([`apply`]). Arguments after `--` are left as they are, and
/// any other value to clap, which refuses it.
pub fn switch_values(cmd: &Command, args: Vec<OsString>) -> (Vec<OsString>, Vec<clap::Id>) {
    let mut out = Vec::with_capacity(args.len());
    let mut off = Vec::new();
    let mut args = args.into_iter();
    for arg in args.by_ref() {
        if arg == "--" {
            out.push(arg);
            break;
        }
        let split = (arg.to_str())
            .filter(|a| a.starts_with("--"))
            .and_then(|a| a.split_once('='));
        let switch = split.and_then(|(name, value)| {
            let arg = named(cmd, &OsString::from(name))?;
            (!arg.get_action().takes_values()).then_some((name, value, arg))
        });
        match switch.map(|(name, value, arg)| (name, switch_value(value), arg)) {
            Some((name, Some(true), _)) => out.push(name.into()),
            Some((_, Some(false), arg)) => off.push(arg.get_id().clone()),
            _ => out.push(arg),
        }
    }
    out.extend(args);
    (out, off)
}

/// Whether an argument may be a switch with aria2c's `=true` or `=false` after it.
pub fn may_be_switch_value(arg: &OsString) -> bool {
    (arg.to_str())
        .filter(|a| a.starts_with("--"))
        .and_then(|a| a.split_once('='))
        .is_some_and(|(_, value)| switch_value(value).is_some())
}

/// aria2c's words for a switch's value: on or off, or `None` for anything else.
fn switch_value(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => Some(true),
        "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn read(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    let file = std::fs::File::open(path)?;
    (file.take(MAX_CONFIG + 1)).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG {
        return Err(std::io::Error::other("over 1 MiB: not a config file"));
    }
    Ok(text)
}

/// The ids of the options the command line gives itself.
fn given(cmd: &Command, args: &[OsString]) -> Vec<clap::Id> {
    let Ok(matches) = cmd.clone().ignore_errors(true).try_get_matches_from(args) else {
        return Vec::new();
    };
    (matches.ids())
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .cloned()
        .collect()
}

/// Whether `arg` is declared to conflict with `other`.
fn conflicting(cmd: &Command, arg: &clap::Id, other: &clap::Id) -> bool {
    let Some(arg) = cmd.get_arguments().find(|a| a.get_id() == arg) else {
        return false;
    };
    cmd.get_arg_conflicts_with(arg)
        .iter()
        .any(|a| a.get_id() == other)
}

/// A line as command-line words (`--name` and its value, if any), or `None` for a blank or
/// comment line.
fn option_words(line: &str) -> Result<Option<Vec<OsString>>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let split = line
        .find(|c: char| c == '=' || c.is_whitespace())
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(split);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').map_or(rest, str::trim_start);
    let flag = match name.strip_prefix("--") {
        Some(long) => format!("--{long}"),
        None if name.starts_with('-') => name.to_string(),
        None => format!("--{name}"),
    };
    if flag == "--" || flag.starts_with("---") {
        return Err(format!("`{name}` is not an option name"));
    }
    if rest.is_empty() {
        return Ok(Some(vec![flag.into()]));
    }
    Ok(Some(vec![flag.into(), unquote(rest)?.into()]))
}

/// A value as written: in double quotes, with `\"` and `\\` inside, or bare.
fn unquote(value: &str) -> Result<String, String> {
    let Some(inner) = value.strip_prefix('"') else {
        return Ok(value.to_string());
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' if chars.as_str().trim().is_empty() => return Ok(out),
            '"' => return Err("text after the closing quote".into()),
            '\\' => match chars.next() {
                Some(escaped @ ('"' | '\\')) => out.push(escaped),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err("a quote that is not closed".into())
}

/// A line's value joined to its option's name (`--no-proxy=HOSTS`) where the command line
/// takes it only so: an option whose value may be left out (`--no-proxy` alone is every host)
/// would otherwise take the value for a LIST.
fn equals_joined(cmd: &Command, words: Vec<OsString>) -> Vec<OsString> {
    match &words[..] {
        [name, value] if named(cmd, name).is_some_and(|a| a.is_require_equals_set()) => {
            let mut joined = name.clone();
            joined.push("=");
            joined.push(value);
            vec![joined]
        }
        _ => words,
    }
}

/// Checks one option on its own against the definition and returns its id; `None` for a
/// switch set to false. What only other options can satisfy (`--key` needs `--cert`) is left
/// for the whole command line.
fn check(cmd: &Command, words: &[OsString]) -> Result<Option<clap::Id>, String> {
    let mut words = words.to_vec();
    // aria2c's `continue=true`: a switch with a yes or no.
    if let [name, value] = &words[..] {
        let switch = (name.to_str())
            .filter(|n| n.starts_with("--"))
            .and_then(|_| named(cmd, name));
        let name = name.to_str().unwrap_or("");
        if switch.is_some_and(|a| !a.get_action().takes_values()) {
            match value.to_str().and_then(switch_value) {
                Some(true) => words.truncate(1),
                Some(false) => return Ok(None),
                None => {
                    return Err(format!(
                        "{name} is a switch: give it alone, or true or false"
                    ));
                }
            }
        }
    }
    let mut argv = vec![OsString::from("fetchpar")];
    argv.extend(words.iter().cloned());
    let shown = words
        .iter()
        .map(|w| w.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let matches = match cmd.clone().try_get_matches_from(argv) {
        Ok(matches) => matches,
        Err(e) if e.kind() == ErrorKind::MissingRequiredArgument => {
            return Ok(named(cmd, &words[0]).map(|a| a.get_id().clone()));
        }
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            return Err(format!("{shown} has no place in a config file"));
        }
        Err(e) => {
            let why = e.render().to_string();
            let why = why
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            return Err(match crate::peers::note(&words[0].to_string_lossy()) {
                Some(note) => format!("{shown}: {why}; {note}"),
                None => format!("{shown}: {why}"),
            });
        }
    };
    // Arguments only: the derive also makes a group named after the struct.
    let mut ids = (matches.ids())
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .filter(|id| cmd.get_arguments().any(|a| a.get_id() == *id));
    match (ids.next(), ids.next()) {
        (Some(id), None) if id.as_str() != "lists" => {
            if ["config", "no_config", "completions", "man", "demo"].contains(&id.as_str()) {
                return Err(format!("{shown} has no place in a config file"));
            }
            Ok(Some(id.clone()))
        }
        _ => Err(format!("{shown}: one option a line")),
    }
}

/// The option a `--name` or `-n` word names, by its name or an alias.
fn named<'a>(cmd: &'a Command, word: &OsString) -> Option<&'a clap::Arg> {
    let word = word.to_str()?;
    match word.strip_prefix("--") {
        Some(long) => cmd.get_arguments().find(|a| {
            a.get_long() == Some(long) || a.get_all_aliases().unwrap_or_default().contains(&long)
        }),
        None => {
            let short = word.strip_prefix('-')?.chars().next()?;
            cmd.get_arguments().find(|a| {
                a.get_short() == Some(short)
                    || a.get_all_short_aliases()
                        .unwrap_or_default()
                        .contains(&short)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_path_from_the_file_starting_with_a_tilde_is_under_home_as_wget_reads_it() {
        let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
        cmd.build();
        let arg = |word: &str| named(&cmd, &OsString::from(word));
        let home = || Some(OsString::from("/home/me"));
        let expanded = |option: &str, value: &str| {
            home_expanded(arg(option), os(&[option, value]), home)[1].clone()
        };
        assert_eq!(expanded("--output-dir", "~/dl"), "/home/me/dl");
        assert_eq!(expanded("--load-cookies", "~"), "/home/me");
        assert_eq!(expanded("-i", "~/lists/a.txt"), "/home/me/lists/a.txt");
        // Not a path, not the user's own home, or no home: as written.
        assert_eq!(expanded("--user-agent", "~/dl"), "~/dl");
        assert_eq!(expanded("--output-dir", "~other/dl"), "~other/dl");
        assert_eq!(expanded("--output-dir", "dl/~"), "dl/~");
        let homeless = home_expanded(arg("-o"), os(&["-o", "~/dl"]), || None);
        assert_eq!(homeless[1], "~/dl");
        assert_eq!(home_expanded(arg("-q"), os(&["-q"]), home), os(&["-q"]));
    }

    #[test]
    fn a_line_is_an_option_in_any_of_the_peers_spellings() {
        for line in ["--jobs 32", "jobs = 32", "jobs=32", "  jobs   32 ", "-j 32"] {
            let words = option_words(line).unwrap().unwrap();
            assert!(
                words == os(&["--jobs", "32"]) || words == os(&["-j", "32"]),
                "{line}"
            );
        }
        assert_eq!(option_words("quiet").unwrap(), Some(os(&["--quiet"])));
        assert_eq!(
            option_words(r#"user-agent = "a \"quoted\" # name""#).unwrap(),
            Some(os(&["--user-agent", r#"a "quoted" # name"#]))
        );
        assert_eq!(option_words("  # a comment").unwrap(), None);
        assert_eq!(option_words("").unwrap(), None);
        assert!(option_words(r#"user-agent "open"#).is_err());
        assert!(option_words(r#"user-agent "a" b"#).is_err());
    }

    /// The command line `typed` after the config file `text`, parsed.
    fn parsed(text: &str, typed: &[&str]) -> Result<crate::cli::Cli, String> {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        let source = Source {
            path: file.path().to_path_buf(),
            explicit: true,
        };
        let cmd = <crate::cli::Cli as clap::CommandFactory>::command;
        let mut built = cmd();
        built.build();
        let (typed, off) = switch_values(&built, os(&[&["fetchpar"], typed].concat()));
        let args = apply(cmd, typed, &source, off)?;
        <crate::cli::Cli as clap::Parser>::try_parse_from(args).map_err(|e| e.to_string())
    }

    #[test]
    fn typed_options_win_over_the_files_and_headers_add_up() {
        let text = "\u{feff}# defaults\r\njobs = 4\nprefix 3\nheader = X-A: 1\nquiet\n\
                    continue=false\nspider=true\n-t 5\nuser-agent \"my agent\"\n";
        let cli = parsed(
            text,
            &["--prefix", "7", "--retries", "1", "-H", "X-B: 2", "l"],
        )
        .unwrap();
        assert_eq!(cli.jobs, Some(4));
        assert_eq!(cli.prefix, 7, "typed");
        assert_eq!(
            (cli.retries, cli.tries),
            (1, None),
            "-t contradicts the typed --retries"
        );
        assert_eq!(cli.headers, ["X-A: 1", "X-B: 2"]);
        assert!(cli.quiet && cli.spider && !cli.continue_);
        assert_eq!(cli.user_agent, "my agent");
        // With nothing typed against it, the file's -t holds.
        assert_eq!(parsed(text, &["l"]).unwrap().tries, Some(5));
        // An option that needs another is checked with the whole command line.
        assert!(parsed("key = k.pem\n", &["l"]).is_err());
        assert!(parsed("key = k.pem\n", &["--cert", "c.pem", "l"]).is_ok());
    }

    #[test]
    fn an_option_whose_value_goes_after_equals_takes_the_lines_value() {
        let cli = parsed(
            "no-proxy = .internal,10.0.0.0/8\ncheck-certificate=true\n",
            &["l"],
        );
        let cli = cli.unwrap();
        assert_eq!(cli.no_proxy_hosts.as_deref(), Some(".internal,10.0.0.0/8"));
        assert_eq!(cli.check_certificate, Some(true));
        assert_eq!(
            cli.lists,
            [std::path::PathBuf::from("l")],
            "no value taken for a list"
        );
        let every = parsed("no-proxy\ncheck-certificate\n", &["l"]).unwrap();
        assert_eq!(every.no_proxy_hosts.as_deref(), Some("*"));
        let refused = parsed("check-certificate = false\n", &["l"]).unwrap_err();
        assert!(
            refused.contains("line 1") && refused.contains("--cacert"),
            "{refused}"
        );
    }

    #[test]
    fn a_bad_line_is_named_with_its_number() {
        for (text, says) in [
            (
                "jobs = 4\njobs = none\n",
                "line 2: --jobs none: invalid value 'none'",
            ),
            (
                "no-such-option 1\n",
                "line 1: --no-such-option 1: unexpected argument",
            ),
            ("links.txt\n", "line 1: --links.txt: unexpected argument"),
            ("help\n", "line 1: --help has no place in a config file"),
            ("config = other\n", "--config other has no place"),
            ("quiet = maybe\n", "--quiet is a switch"),
            ("jobs\n", "line 1: --jobs: a value is required"),
            (
                "\n\nuser-agent \"open\n",
                "line 3: a quote that is not closed",
            ),
        ] {
            let err = parsed(text, &["l"]).unwrap_err();
            assert!(
                err.contains("the config file ") && err.contains(says),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn the_file_is_found_as_documented() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                (pairs.iter())
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let home = env(&[("HOME", "/h")]);
        let at = |path: &str, explicit| {
            Some(Source {
                path: path.into(),
                explicit,
            })
        };
        assert_eq!(
            locate(&os(&["f", "l"]), home),
            at("/h/.config/fetchpar/config", false)
        );
        let xdg = env(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "/x")]);
        assert_eq!(locate(&os(&["f"]), xdg), at("/x/fetchpar/config", false));
        let var = env(&[("HOME", "/h"), ("FETCHPAR_CONFIG", "/c")]);
        assert_eq!(locate(&os(&["f"]), var), at("/c", true));
        let none = env(&[("HOME", "/h"), ("FETCHPAR_CONFIG", "")]);
        assert_eq!(locate(&os(&["f"]), none), None);
        assert_eq!(locate(&os(&["f", "--config", "/k"]), var), at("/k", true));
        assert_eq!(locate(&os(&["f", "--config=/k"]), var), at("/k", true));
        assert_eq!(locate(&os(&["f", "--no-config"]), var), None);
        // After `--`, words are lists.
        assert_eq!(
            locate(&os(&["f", "--", "--no-config"]), var),
            at("/c", true)
        );
    }
}
