//! Saving bodies under the output folder: safe names, collisions, the `--on-exists` policy,
//! `NAME.part` files renamed into place only when complete and verified, and resume state.
//!
//! Names are claimed in input order (by the thread that reads the list), so two URLs that map
//! to the same name always end up as `data.csv` and `data.1.csv` in the same order, however the
//! downloads finish. A name is one plain path component inside the folder, or, with
//! `--force-directories`, a `dir=` or an `out=` that names folders, plain components below
//! it: never `..`, never absolute, so nothing is written outside the folder.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use sha2::digest::DynDigest;
use sha2::{Digest, Sha256};

use crate::links::{Algorithm, Checksum, Job, LineOptions};
use crate::outcome::{ErrorKind, Failure};
use crate::split::Segments;

/// What to do when the file to save already exists in the output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnExists {
    /// Save under the next free name (`data.1.csv`), as wget and aria2 do.
    Rename,
    /// Leave the existing file and report the URL as skipped.
    Skip,
    /// Replace the existing file (atomically, once the new one is complete).
    Overwrite,
    /// Fail the URL with kind `exists`.
    Error,
}

/// Saving settings, validated.
#[derive(Debug, Clone)]
pub struct SaveSettings {
    pub dir: PathBuf,
    pub on_exists: OnExists,
    pub resume: bool,
    pub content_disposition: bool,
    /// `--trust-server-names`: names (and `--force-directories` folders) come from the URL
    /// the last redirect led to.
    pub trust_server_names: bool,
    /// `-N`: a file already there is fetched again only if the server's is newer.
    pub timestamping: bool,
    /// `-R` (and `-N`, which needs it): saved files take the server's Last-Modified time.
    pub remote_time: bool,
    /// `--force-directories`: save under folders named from the URL.
    pub folders: Option<Folders>,
    /// Compute every saved file's SHA-256 (for `--json` and `--checksums`). Files with a
    /// `sha256=` in the list are always hashed. Hashing costs about 0.7 s of CPU per GiB, so
    /// it is not done when nothing would show the result.
    pub hash: bool,
    /// `--xattr`: saved files carry their URL and type in extended attributes.
    pub xattr: bool,
    /// `--remove-on-error`: a URL that fails for good leaves no part file to resume.
    pub remove_on_error: bool,
}

/// The folders `--force-directories` makes from a URL: `HOST/PATH/NAME`, as wget's `-x`.
#[derive(Debug, Clone, Copy)]
pub struct Folders {
    /// A first folder for the host (and port, when not the scheme's); off with
    /// `--no-host-directories` (wget's `-nH`).
    pub host: bool,
    /// Leading folders of the URL's path left out (wget's `--cut-dirs`).
    pub cut: usize,
    /// A first folder for the scheme, `http` or `https` (wget's `--protocol-directories`).
    pub scheme: bool,
}

/// Where one body goes.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The final path: only a complete, verified body is ever renamed to it.
    pub path: PathBuf,
    /// `NAME.part`, where the body is written while it downloads.
    pub part: PathBuf,
    /// `NAME.part.meta`, the validator (ETag or Last-Modified) the part was started with.
    pub meta: PathBuf,
    /// With `-N`, the time of the file already saved under `path`: only a newer one replaces it.
    pub since: Option<std::time::SystemTime>,
    /// Whether `path` is in a folder below the output folder, to be made before writing.
    pub nested: bool,
}

/// The saving decision for one job, made when it is read.
#[derive(Debug, Clone)]
pub enum Planned {
    Save(Slot),
    /// The file is there already and the policy (or `--continue`) says to keep it: kept unless
    /// the line's checksum says it is not the file, which is then fetched again into this slot.
    Skip(Slot),
    /// The policy forbids saving (`--on-exists error`).
    Refuse(Failure),
}

/// Longest name kept, in bytes; leaves room for `.N` and `.part.meta` within common 255-byte
/// file name limits.
const MAX_NAME: usize = 200;

/// Most folders above a saved file, and the longest path below the output folder, in bytes: a
/// URL may have hundreds of segments, and file systems refuse paths of over 4,096 bytes.
const MAX_DEPTH: usize = 32;
const MAX_PATH: usize = 1024;

/// Claims names for one run.
pub struct Saver {
    settings: SaveSettings,
    claimed: Mutex<HashSet<String>>,
    /// The output folder made absolute as given, and as it really is (through symlinks): an
    /// absolute `dir=` inside either is inside it. Found once, when the folder is made.
    own: Vec<PathBuf>,
    /// Whether the folder was made by this run (it was not there).
    made: bool,
}

impl Saver {
    /// Creates the folder if needed and proves it is writable, before any download starts.
    pub fn new(settings: SaveSettings) -> Result<Self> {
        // Said plainly: creating it would fail with the bare "File exists".
        if settings.dir.exists() && !settings.dir.is_dir() {
            // Most likely curl's habit, where -o names the file: say what -o is here.
            anyhow::bail!(
                "the output folder {} exists and is not a folder (-o names the folder to save \
                 in, not a file as curl's -o does; a URL's own file name goes after it, on its \
                 line or in its argument: 'URL out=NAME')",
                settings.dir.display()
            );
        }
        let made = settings.dir.symlink_metadata().is_err();
        fs::create_dir_all(&settings.dir).with_context(|| {
            format!("cannot create the output folder {}", settings.dir.display())
        })?;
        let probe = tempfile::Builder::new()
            .prefix(".fetchpar-write-test")
            .tempfile_in(&settings.dir)
            .with_context(|| {
                format!(
                    "cannot write in the output folder {}",
                    settings.dir.display()
                )
            })?;
        if settings.xattr {
            // Said before the run, not found missing on every file after it.
            set_attribute(probe.as_file(), ORIGIN_ATTRIBUTE, b"probe").with_context(|| {
                format!(
                    "--xattr: the file system of {} keeps no extended attributes",
                    settings.dir.display()
                )
            })?;
        }
        let own = [
            std::path::absolute(&settings.dir).map(|d| lexical(&d)),
            fs::canonicalize(&settings.dir),
        ];
        Ok(Self {
            own: own.into_iter().flatten().collect(),
            settings,
            claimed: Mutex::new(HashSet::new()),
            made,
        })
    }

    /// A note for a folder this run made under a name that looks like a file's (`page.html`,
    /// `debian.iso`): most likely curl's `-o FILE`, where `-o` here names the folder.
    /// Or under a name that looks like data to send (`a=b`, `{...}`): curl's `-d DATA`, where
    /// `-d` here is aria2c's `--dir`.
    pub fn made_folder_note(&self) -> Option<String> {
        let name = self.settings.dir.file_name()?.to_str()?;
        let shown = self.settings.dir.display();
        if !self.made {
            return None;
        }
        if name.contains('=') || name.starts_with('{') {
            return Some(format!(
                "fetchpar: made the folder {shown} to save in: -d is aria2c's --dir here (a \
                 folder); curl's -d sends data, which fetchpar never does"
            ));
        }
        let (_, extension) = name.rsplit_once('.')?;
        let file_like = (1..=5).contains(&extension.len())
            && extension.bytes().all(|b| b.is_ascii_alphanumeric())
            && extension.bytes().any(|b| b.is_ascii_alphabetic());
        file_like.then(|| {
            format!(
                "fetchpar: made the folder {shown} to save in: -o names a folder here (curl's \
                 --output-dir), not a file as curl's -o does; 'URL out=NAME' names the file"
            )
        })
    }

    pub fn settings(&self) -> &SaveSettings {
        &self.settings
    }

    /// Whether a URL continues what is saved: `-c`, or its line's `continue=`.
    pub fn resumes(&self, line: &LineOptions) -> bool {
        line.resume.unwrap_or(self.settings.resume)
    }

    /// What to do when a URL's file is already there: the run's `--on-exists`, or what the
    /// line's aria2c `allow-overwrite=` and `auto-file-renaming=` make of it, as aria2c reads
    /// the pair: overwrite where allowed, else rename where renaming is on, else fail the URL.
    pub fn on_exists(&self, line: &LineOptions) -> OnExists {
        match (line.overwrite, line.renaming) {
            (Some(true), _) => OnExists::Overwrite,
            (_, Some(true)) => OnExists::Rename,
            (_, Some(false)) => OnExists::Error,
            // Not allowed to overwrite, and renaming as aria2c does unless told not to.
            (Some(false), None) if self.settings.on_exists == OnExists::Overwrite => {
                OnExists::Rename
            }
            _ => self.settings.on_exists,
        }
    }

    /// Whether a URL's saved file gets the server's Last-Modified time: the line's aria2c
    /// `remote-time=`, or the run's `-R` (which `-N` implies, as the line's `conditional-get=`
    /// does: the next run compares with that time).
    pub fn remote_time(&self, line: &LineOptions) -> bool {
        (line.remote_time).unwrap_or(self.settings.remote_time || line.timestamping == Some(true))
    }

    /// What a URL does about a file already there under its name, from the run's options and
    /// the line's.
    fn existing(&self, line: &LineOptions) -> Existing {
        Existing {
            resume: self.resumes(line),
            timestamps: line.timestamping.unwrap_or(self.settings.timestamping),
            on_exists: self.on_exists(line),
        }
    }

    /// Decides where a job's body goes from its `out=` option or its URL. Called in input order.
    /// Returns `None` when the name must wait for the response (`--content-disposition`,
    /// `--trust-server-names`).
    pub fn plan(&self, job: &Job) -> Option<Planned> {
        let target = job.target.as_ref().ok()?;
        let folder = match self.folder_of(target.options.dir.as_deref()) {
            Ok(folder) => folder,
            Err(failure) => return Some(Planned::Refuse(failure)),
        };
        let existing = self.existing(&target.options);
        let refuse = |message: &str| {
            let failure = Failure::new(ErrorKind::InvalidUrl, message);
            Some(Planned::Refuse(failure))
        };
        if existing.resume && existing.timestamps {
            // Only a line can ask for both: the command line refuses -c with -N.
            return refuse(
                "conditional-get=true and continuing (-c, continue=true) do not go together, \
                 as -N and -c do not: the one keeps a file that is not newer, the other adds \
                 to it",
            );
        }
        if let Some(out) = &target.options.out {
            // As aria2's `out=`, it may name folders below the output folder.
            return Some(self.claim(&below(&folder, &safe_path(out)), existing));
        }
        if self.settings.content_disposition || self.settings.trust_server_names {
            // As -c and -N with these: the name of the file must be known before the request.
            return match (existing.resume, existing.timestamps) {
                (true, _) => refuse(
                    "continue=true needs the file's name before the request: give the line \
                     out=NAME, or leave out --content-disposition and --trust-server-names",
                ),
                (_, true) => refuse(
                    "conditional-get=true needs the file's name before the request: give the \
                     line out=NAME, or leave out --content-disposition and \
                     --trust-server-names",
                ),
                _ => None,
            };
        }
        let name = self.in_folders(&target.url, name_from_url(&target.url));
        Some(self.claim(&below(&folder, &name), existing))
    }

    /// Decides a name once the response is known, in the folder the line's `dir=` names, which
    /// [`Saver::plan`] has found usable: from the `disposition` header with
    /// `--content-disposition`, else from `url`, or with `--trust-server-names` from
    /// `final_url`, where its redirects led.
    pub fn plan_from_response(
        &self,
        url: &url::Url,
        final_url: &url::Url,
        line: &LineOptions,
        disposition: Option<&[u8]>,
    ) -> Planned {
        let dir = line.dir.as_deref();
        let url = if self.settings.trust_server_names {
            final_url
        } else {
            url
        };
        let disposition = disposition.filter(|_| self.settings.content_disposition);
        // A name with nothing usable left (`..`, `/`) counts as none, as wget takes it: the
        // URL's name, not `index.html`.
        let name = disposition
            .and_then(filename_from_disposition)
            .and_then(|n| usable_name(&n))
            .unwrap_or_else(|| name_from_url(url));
        let folder = self.folder_of(dir).unwrap_or_default();
        // -c and -N, and a line's continue=true and conditional-get=true, have been refused
        // with these: nothing continues, nothing is compared.
        let existing = Existing {
            resume: false,
            timestamps: false,
            on_exists: self.on_exists(line),
        };
        self.claim(&below(&folder, &self.in_folders(url, name)), existing)
    }

    /// The folder below the output folder that a line's `dir=` names, as a relative path of
    /// safe names ("" for none). A relative `dir=` is taken below the output folder (aria2
    /// takes it below the current one, which fetchpar never writes to); an absolute one must
    /// lie inside the output folder, so a list cannot send files anywhere else.
    fn folder_of(&self, dir: Option<&str>) -> Result<String, Failure> {
        let Some(dir) = dir else {
            return Ok(String::new());
        };
        let asked = Path::new(dir);
        if !asked.is_absolute() {
            return Ok(folders(dir));
        }
        let asked = lexical(asked);
        for own in &self.own {
            if let Ok(inside) = asked.strip_prefix(own) {
                return Ok(folders(&inside.to_string_lossy()));
            }
        }
        Err(Failure::new(
            ErrorKind::InvalidUrl,
            format!(
                "dir={dir} is outside the output folder {}: an absolute dir= must be inside it",
                self.settings.dir.display()
            ),
        ))
    }

    /// `name` below the folders `--force-directories` makes from `url`, or `name` alone.
    fn in_folders(&self, url: &url::Url, name: String) -> String {
        let Some(folders) = self.settings.folders else {
            return name;
        };
        let mut parts = Vec::new();
        if folders.scheme {
            parts.push(url.scheme().to_string());
        }
        if folders.host
            && let Some(host) = url.host_str()
        {
            // wget writes `host:port` (`host+port` on Windows); `:` is kept out of names.
            let host = match url.port() {
                Some(port) => format!("{host}+{port}"),
                None => host.to_string(),
            };
            parts.extend(clean_component(&host));
        }
        let segments: Vec<&str> = url.path_segments().map_or(Vec::new(), Iterator::collect);
        let folders_in_path = segments.len().saturating_sub(1);
        for segment in segments.iter().take(folders_in_path).skip(folders.cut) {
            let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
            parts.extend(clean_component(&decoded));
        }
        parts.push(name);
        bounded(parts)
    }

    /// Claims `base` (or a numbered name beside it) for a job, doing what `existing` says
    /// when a file is there.
    fn claim(&self, base: &str, existing: Existing) -> Planned {
        let Existing {
            resume,
            timestamps,
            on_exists,
        } = existing;
        let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
        let dir = &self.settings.dir;
        // With -N the file already there is the one to bring up to date, under its own name.
        let renaming = !resume && !timestamps && on_exists == OnExists::Rename;
        let mut counter = 0u64;
        let mut name = base.to_string();
        loop {
            let exists = dir.join(&name).symlink_metadata().is_ok();
            // Renaming also steps past a part file left by another run, so it is not clobbered.
            let free = !claimed.contains(&name)
                && !(renaming
                    && (exists || part_path(&dir.join(&name)).symlink_metadata().is_ok()));
            if free {
                claimed.insert(name.clone());
                let path = dir.join(&name);
                let slot = Slot {
                    nested: name.contains('/'),
                    ..Slot::new(path.clone())
                };
                if exists && timestamps {
                    let since = path.symlink_metadata().and_then(|m| m.modified()).ok();
                    return Planned::Save(Slot { since, ..slot });
                }
                if exists {
                    match (resume, on_exists) {
                        (true, _) | (false, OnExists::Skip) => return Planned::Skip(slot),
                        (false, OnExists::Error) => {
                            let message = format!(
                                "{} already exists (--on-exists error, or aria2c's \
                                 auto-file-renaming=false)",
                                path.display()
                            );
                            return Planned::Refuse(Failure::new(ErrorKind::Exists, message));
                        }
                        _ => {}
                    }
                }
                return Planned::Save(slot);
            }
            counter += 1;
            name = numbered(base, counter);
        }
    }
}

/// What a URL does about a file already there under its name: continue it (`-c`), bring it up
/// to date (`-N`), or what `--on-exists` says; each the run's or the line's.
#[derive(Clone, Copy)]
struct Existing {
    resume: bool,
    timestamps: bool,
    on_exists: OnExists,
}

impl Slot {
    fn new(path: PathBuf) -> Self {
        let part = part_path(&path);
        let mut meta = part.clone().into_os_string();
        meta.push(".meta");
        Self {
            path,
            part,
            meta: PathBuf::from(meta),
            since: None,
            nested: false,
        }
    }

    /// Bytes already in a resumable part file (0 when there is none, or it is not a plain file).
    pub fn part_len(&self) -> u64 {
        match self.part.symlink_metadata() {
            Ok(meta) if meta.is_file() => meta.len(),
            _ => 0,
        }
    }

    /// Deletes whatever a download to this slot left to resume (`NAME.part` and its
    /// `.meta`, or a split's `NAME.part.split` and `.ranges`), never the file itself:
    /// `--remove-on-error`.
    pub fn discard_parts(&self) {
        let (split, ranges) = SplitPart::paths(self);
        for path in [&self.part, &self.meta, &split, &ranges] {
            let _ = fs::remove_file(path);
        }
    }

    /// Puts a file that `-c` moved to its part to be continued back under its name as it
    /// was, its first `len` bytes, from the part or the split it became: `--remove-on-error`
    /// never touches a file that was under its final name.
    pub fn put_back(&self, len: u64) -> io::Result<()> {
        let (split, ranges) = SplitPart::paths(self);
        for moved in [&self.part, &split] {
            if moved.symlink_metadata().is_ok_and(|m| m.is_file()) {
                OpenOptions::new().write(true).open(moved)?.set_len(len)?;
                fs::rename(moved, &self.path)?;
                break;
            }
        }
        for left in [&self.meta, &ranges] {
            remove_if_present(left)?;
        }
        Ok(())
    }

    /// The validator recorded when the part was started.
    pub fn validator(&self) -> Option<String> {
        fs::read_to_string(&self.meta)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }
}

/// aria2c's control file for a download to `path` (`NAME.aria2`), when there is one (a plain
/// file): the download is aria2c's, unfinished.
pub fn aria2_control(path: &Path) -> Option<PathBuf> {
    let mut control = path.as_os_str().to_owned();
    control.push(".aria2");
    let control = PathBuf::from(control);
    (control.symlink_metadata().ok()?.is_file()).then_some(control)
}

/// -c on a file aria2c left unfinished (its control file beside it, and no part of fetchpar's
/// own): the file becomes a split part whose record lists the ranges aria2c wrote, so that only
/// the others are asked for, as for a split of fetchpar's own that stopped short (see
/// [`SplitPart::resume`]). Returns the file's length when it was moved so; a control file that
/// cannot be used (a torrent's, another format, another length than the file's) leaves the
/// file where it is, to be fetched anew.
pub fn take_up_aria2(slot: &Slot) -> io::Result<Option<u64>> {
    let (split, ranges) = SplitPart::paths(slot);
    let ours = [&slot.part, &split]
        .iter()
        .any(|p| p.symlink_metadata().is_ok());
    let Some(control) = aria2_control(&slot.path).filter(|_| !ours) else {
        return Ok(None);
    };
    let len = match slot.path.symlink_metadata() {
        Ok(meta) if meta.is_file() => meta.len(),
        _ => return Ok(None),
    };
    let mut bytes = Vec::new();
    File::open(&control)?
        .take(crate::aria2::MAX_CONTROL)
        .read_to_end(&mut bytes)?;
    // Without preallocation (`--file-allocation=none`) the file is as long as its furthest
    // piece written: pieces past its end are not there.
    let written = crate::aria2::read(&bytes).ok().filter(|w| w.total >= len);
    let segments = written.and_then(|w| {
        let there: Vec<(u64, u64)> = (w.done.iter().copied())
            .map(|(start, end)| (start, end.min(len)))
            .collect();
        Segments::from_done(w.total, &there)
    });
    let Some(segments) = segments else {
        return Ok(None);
    };
    // Only a file the missing ranges can be written into is moved: a read-only one stays.
    OpenOptions::new().write(true).open(&slot.path)?;
    // The record first: a run stopped in between finds the file still under its name.
    write_new(&ranges, segments.state(None).as_bytes())?;
    fs::rename(&slot.path, &split)?;
    Ok(Some(len))
}

fn part_path(path: &Path) -> PathBuf {
    let mut part = path.as_os_str().to_owned();
    part.push(".part");
    PathBuf::from(part)
}

/// `data.csv` → `data.1.csv`; `README` → `README.1`; `v1.2/data.csv` → `v1.2/data.1.csv`.
fn numbered(path: &str, n: u64) -> String {
    let (folders, name) = match path.rsplit_once('/') {
        Some((folders, name)) => (&path[..=folders.len()], name),
        None => ("", path),
    };
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{folders}{}.{n}{}", &name[..dot], &name[dot..]),
        _ => format!("{folders}{name}.{n}"),
    }
}

/// The name for a URL: the last path segment, percent-decoded, made safe; `index.html` when the
/// path ends in `/`.
pub fn name_from_url(url: &url::Url) -> String {
    let last = url.path().rsplit('/').next().unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(last).decode_utf8_lossy();
    safe_name(&decoded)
}

/// The file name a Content-Disposition header offers, if any. The header is read as UTF-8
/// when it is, as curl and wget read a raw `filename="café.txt"` (servers send them so despite
/// RFC 6266), and otherwise as ISO-8859-1, the only other charset HTTP field values have had.
pub fn filename_from_disposition(value: &[u8]) -> Option<String> {
    let header = match std::str::from_utf8(value) {
        Ok(text) => text.to_string(),
        Err(_) => value.iter().map(|&b| char::from(b)).collect(),
    };
    let params = disposition_params(&header);
    let param = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, v)| v);
    // RFC 6266 (4.3): `filename*` wins over a plain `filename` beside it, which is the
    // fallback for old clients (Rails and Django send `filename="r%C3%A9sum%C3%A9.pdf"` with
    // `filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`), as wget and aria2c take it.
    let extended = param("filename*").and_then(|raw| extended_value(raw));
    extended
        .into_iter()
        .chain(param("filename").cloned())
        .find(|n| !n.trim().is_empty())
}

/// The header's parameters as (lowercased name, value) in order, split at the `;` between
/// them but not at one inside a quoted string, whose quotes and backslash escapes are undone:
/// `filename="a;b \"c\".txt"` is `a;b "c".txt`, as RFC 6266's quoted-string reads and as
/// wget and curl keep the `;` (the crate below splits at every `;`). The disposition type
/// before the first `;` is no parameter, unless it has a `=` (`filename=x.txt` alone).
fn disposition_params(header: &str) -> Vec<(String, String)> {
    let mut parts = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in header.chars() {
        let part = parts.last_mut().expect("never empty");
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        part.push(c);
    }
    parts
        .iter()
        .filter_map(|part| {
            let (name, value) = part.split_once('=')?;
            Some((name.trim().to_ascii_lowercase(), unquoted(value.trim())))
        })
        .collect()
}

/// A parameter's value without its quotes and backslash escapes; a token as it is. A quoted
/// string not closed runs to the end, as wget and curl read it.
fn unquoted(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"') else {
        return value.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '"' => break,
            _ => out.push(c),
        }
    }
    out
}

/// An RFC 8187 `charset'language'percent-encoded` value decoded, `None` in a charset not known.
fn extended_value(raw: &str) -> Option<String> {
    let header = format!("attachment; filename*={raw}");
    // The parser is third-party code fed by a server: a panic in it must not cost the URL.
    std::panic::catch_unwind(|| content_disposition::parse_content_disposition(&header))
        .ok()
        .and_then(|parsed| parsed.params.get("filename").cloned())
}

/// Makes any text into one plain file name: no separators, no `..`, no control characters, no
/// Windows device names, bounded length, never empty. Whatever comes in, the result joined to
/// the output folder stays inside it.
pub fn safe_name(raw: &str) -> String {
    usable_name(raw).unwrap_or_else(|| "index.html".to_string())
}

/// [`safe_name`] without its fallback: `None` when nothing of `raw` is left (`..`, `/`).
fn usable_name(raw: &str) -> Option<String> {
    // Only the last component counts: `../../x` and `..\\x` become `x`.
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    clean_component(last)
}

/// Makes text with `/` or `\\` between folders into a relative path of safe names (as
/// [`safe_name`]), for an `out=` that names folders: empty, `.` and `..` parts are dropped, so
/// the path only ever goes down, and its depth and length are bounded. Never empty.
pub fn safe_path(raw: &str) -> String {
    bounded(raw.split(['/', '\\']).filter_map(clean_component).collect())
}

/// The folders of a `dir=` as a relative path of safe names, `..` and `.` dropped; "" for none.
fn folders(raw: &str) -> String {
    let parts: Vec<String> = raw.split(['/', '\\']).filter_map(clean_component).collect();
    parts.join("/")
}

/// `name` (a safe relative path) below `folder` (one from [`folders`]), bounded as one path.
fn below(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        return name.to_string();
    }
    bounded(
        format!("{folder}/{name}")
            .split('/')
            .map(String::from)
            .collect(),
    )
}

/// An absolute path with `.` dropped and `..` taken back, without asking the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Joins clean components with `/`: the last is the file name, and of the folders before it
/// as many as fit in [`MAX_DEPTH`] and [`MAX_PATH`], from the top. `index.html` for none.
fn bounded(mut parts: Vec<String>) -> String {
    let Some(name) = parts.pop() else {
        return "index.html".to_string();
    };
    let mut path = String::new();
    for folder in parts.iter().take(MAX_DEPTH) {
        if path.len() + folder.len() + 1 + name.len() > MAX_PATH {
            break;
        }
        path.push_str(folder);
        path.push('/');
    }
    path.push_str(&name);
    path
}

/// One component of a name made safe, or `None` when nothing is left of it (`..`, spaces).
fn clean_component(raw: &str) -> Option<String> {
    let mut name: String = raw
        .chars()
        .map(|c| match c {
            // Invisible characters too: a right-to-left override turns `doc\u{202e}fdp.exe`
            // into what `ls` shows as `docexe.pdf`.
            c if c.is_control() || crate::report::deceptive(c) => '_',
            '<' | '>' | ':' | '"' | '|' | '?' | '*' | '/' | '\\' => '_',
            c => c,
        })
        .collect();
    // Trailing dots and spaces are dropped by Windows and confuse everyone else.
    name = name.trim_end_matches(['.', ' ']).trim_start().to_string();
    // No hidden files and no `.`/`..`: a leading dot becomes `_`.
    if name.starts_with('.') {
        name.replace_range(..1, "_");
    }
    if name.is_empty() {
        return None;
    }
    let stem = name
        .split('.')
        .next()
        .unwrap_or("")
        .trim_end()
        .to_ascii_uppercase();
    const DEVICES: [&str; 4] = ["CON", "PRN", "AUX", "NUL"];
    let is_numbered_device = (stem.starts_with("COM") || stem.starts_with("LPT"))
        && stem.len() == 4
        && stem.as_bytes()[3].is_ascii_digit();
    if DEVICES.contains(&stem.as_str()) || is_numbered_device {
        name.insert(0, '_');
    }
    if name.len() > MAX_NAME {
        name = shorten_keeping_extension(&name);
    }
    Some(name)
}

fn shorten_keeping_extension(name: &str) -> String {
    let ext = name
        .rfind('.')
        .map(|dot| &name[dot..])
        .filter(|e| e.len() <= 16)
        .unwrap_or("");
    let mut end = MAX_NAME - ext.len();
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ext}", &name[..end])
}

/// The running digests of a part: SHA-256 when something shows or checks it, and the one the
/// list's checksum names when it is of another kind.
struct Digests {
    sha256: Option<Sha256>,
    other: Option<Box<dyn DynDigest + Send>>,
    /// aria2's adler32, a checksum that no `digest` trait covers.
    adler32: Option<adler2::Adler32>,
}

impl Digests {
    fn new(hash: bool, check: Option<Algorithm>) -> Self {
        let other: Option<Box<dyn DynDigest + Send>> = match check {
            Some(Algorithm::Md5) => Some(Box::new(md5::Md5::new())),
            Some(Algorithm::Sha1) => Some(Box::new(sha1::Sha1::new())),
            Some(Algorithm::Sha224) => Some(Box::new(sha2::Sha224::new())),
            Some(Algorithm::Sha384) => Some(Box::new(sha2::Sha384::new())),
            Some(Algorithm::Sha512) => Some(Box::new(sha2::Sha512::new())),
            Some(Algorithm::Sha256 | Algorithm::Adler32) | None => None,
        };
        let sha256 = hash || check == Some(Algorithm::Sha256);
        Self {
            sha256: sha256.then(Sha256::new),
            other,
            adler32: (check == Some(Algorithm::Adler32)).then(adler2::Adler32::new),
        }
    }

    fn wanted(&self) -> bool {
        self.sha256.is_some() || self.other.is_some() || self.adler32.is_some()
    }

    /// The SHA-256, if computed, and the digest of the kind `expected` names, if computed.
    fn finish(self, expected: Option<&Checksum>) -> (Option<[u8; 32]>, Option<Box<[u8]>>) {
        let sha256: Option<[u8; 32]> = self.sha256.map(|h| h.finalize().into());
        let actual = match expected {
            Some(c) if c.algorithm == Algorithm::Sha256 => sha256.map(|d| d.into()),
            _ => (self.other.map(DynDigest::finalize))
                .or_else(|| (self.adler32).map(|a| a.checksum().to_be_bytes().into())),
        };
        (sha256, actual)
    }

    /// Feeds everything in `file` to the digests.
    fn read_all(&mut self, mut file: File) -> io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match file.read(&mut buf)? {
                0 => return Ok(()),
                n => self.update(&buf[..n]),
            }
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        if let Some(hasher) = &mut self.sha256 {
            Digest::update(hasher, bytes);
        }
        if let Some(hasher) = &mut self.other {
            hasher.update(bytes);
        }
        if let Some(adler) = &mut self.adler32 {
            adler.write_slice(bytes);
        }
    }
}

/// A part file being written, with the running digests of everything in it when they are
/// wanted.
///
/// Writes go straight to the file: the network hands over at most 64 KiB at a time, already
/// a good size for a write, and a buffer in between would only copy every byte once more.
pub struct PartWriter {
    file: File,
    digests: Digests,
    slot: Slot,
    /// Whether the part holds any byte (see [`PartWriter::is_empty`]).
    holds: bool,
}

impl PartWriter {
    /// Starts a fresh part file, replacing any old one (never following a symlink there).
    /// `hash` asks for its SHA-256, `check` for the digest a list's checksum names.
    pub fn fresh(
        slot: &Slot,
        validator: Option<&str>,
        hash: bool,
        check: Option<Algorithm>,
    ) -> io::Result<Self> {
        if let (true, Some(folder)) = (slot.nested, slot.path.parent()) {
            fs::create_dir_all(folder)?;
        }
        remove_if_present(&slot.part)?;
        remove_if_present(&slot.meta)?;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&slot.part)?;
        if let Some(validator) = validator {
            write_new(&slot.meta, validator.as_bytes())?;
        }
        Ok(Self {
            file,
            digests: Digests::new(hash, check),
            slot: slot.clone(),
            holds: false,
        })
    }

    /// Continues an existing part file: hashes what is there (if hashing), then appends.
    pub fn append(slot: &Slot, hash: bool, check: Option<Algorithm>) -> io::Result<Self> {
        let mut digests = Digests::new(hash, check);
        if digests.wanted() {
            digests.read_all(File::open(&slot.part)?)?;
        }
        let file = OpenOptions::new().append(true).open(&slot.part)?;
        Ok(Self {
            file,
            digests,
            slot: slot.clone(),
            // Only a part with bytes in it is resumed.
            holds: true,
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.digests.update(bytes);
        self.holds |= !bytes.is_empty();
        self.file.write_all(bytes)
    }

    /// Whether nothing has been written to the part, nor was in it: a download that fails so
    /// leaves nothing to resume, and its part is only clutter.
    pub fn is_empty(&self) -> bool {
        !self.holds
    }

    /// Deletes the part file: for failures that resuming could never mend (too large), and for
    /// parts with nothing in them.
    pub fn discard(self) {
        drop(self.file);
        let _ = fs::remove_file(&self.slot.part);
        let _ = fs::remove_file(&self.slot.meta);
    }

    /// `--xattr`: writes where the body came from (`origin`, a URL without credentials) and
    /// its Content-Type into the part's extended attributes, under the names curl and wget
    /// use, so they go with it when it is renamed. One the file system refuses (a URL longer
    /// than it keeps) is left out, as `-R`'s time is where none can be kept: the output
    /// folder's file system was checked at start. Returns what was refused, and why, in words.
    pub fn label(&self, origin: &str, mime_type: Option<&str>) -> Vec<String> {
        let mut refused = Vec::new();
        let mut set = |name, value: &str| {
            if let Err(err) = set_attribute(&self.file, name, value.as_bytes()) {
                // The kernel says "No space left on device" (ext4) or "Argument list too
                // long" for a value longer than the file system keeps: say that instead.
                let too_long = [rustix::io::Errno::NOSPC, rustix::io::Errno::TOOBIG]
                    .iter()
                    .any(|e| err.raw_os_error() == Some(e.raw_os_error()));
                refused.push(match too_long {
                    true => format!("{name} not stored: longer than the file system keeps"),
                    false => format!("{name} not stored: {err}"),
                });
            }
        };
        set(ORIGIN_ATTRIBUTE, origin);
        if let Some(mime_type) = mime_type {
            set(MIME_ATTRIBUTE, mime_type);
        }
        refused
    }

    /// Checks the size and the digest if they are expected, and renames the part into place.
    /// On a mismatch the part is deleted: it is complete but wrong, so resuming it cannot help.
    /// Returns the path and the SHA-256, if it was computed.
    pub fn finish(
        self,
        expected: Option<&Checksum>,
        size: Option<u64>,
    ) -> Result<(PathBuf, Option<[u8; 32]>), Failure> {
        let Self {
            file,
            digests,
            slot,
            ..
        } = self;
        if let Some(size) = size {
            let length = (file.metadata().map(|m| m.len())).map_err(|err| {
                Failure::new(
                    ErrorKind::Disk,
                    format!("reading {}: {err}", slot.part.display()),
                )
            })?;
            if length != size {
                drop(file);
                let _ = fs::remove_file(&slot.part);
                let _ = fs::remove_file(&slot.meta);
                return Err(wrong_size(length, size));
            }
        }
        drop(file);
        let (sha256, actual) = digests.finish(expected);
        if let (Some(expected), Some(actual)) = (expected, actual.as_deref())
            && actual != expected.digest
        {
            let _ = fs::remove_file(&slot.part);
            let _ = fs::remove_file(&slot.meta);
            return Err(Failure::new(
                ErrorKind::Checksum,
                format!(
                    "{} is {}, the list expects {}",
                    expected.algorithm.name(),
                    crate::links::hex(actual),
                    crate::links::hex(&expected.digest)
                ),
            ));
        }
        fs::rename(&slot.part, &slot.path).map_err(|err| {
            Failure::new(
                ErrorKind::Disk,
                format!("writing {}: {err}", slot.path.display()),
            )
        })?;
        let _ = fs::remove_file(&slot.meta);
        Ok((slot.path, sha256))
    }
}

impl Sink for PartWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        PartWriter::write(self, bytes)
    }

    fn file(&self) -> &Path {
        &self.slot.part
    }
}

/// The failure of a body whose size is not the one its list gives (a Metalink `<size>`, a
/// line's `size=`): of the `checksum` kind, as it is not the file the list describes.
pub fn wrong_size(length: u64, size: u64) -> Failure {
    Failure::new(
        ErrorKind::Checksum,
        format!("the body is {length} bytes, the list says the file is {size}"),
    )
}

/// The failure of a body that runs on past the size its list gives.
pub fn past_size(size: u64) -> Failure {
    Failure::new(
        ErrorKind::Checksum,
        format!("the body runs on past {size} bytes, the size the list says the file is"),
    )
}

/// The extended attribute for a saved file's URL (freedesktop.org's, which curl and wget
/// write), and the one for its type (curl's).
const ORIGIN_ATTRIBUTE: &str = "user.xdg.origin.url";
const MIME_ATTRIBUTE: &str = "user.mime_type";

fn set_attribute(file: &File, name: &str, value: &[u8]) -> io::Result<()> {
    rustix::fs::fsetxattr(file, name, value, rustix::fs::XattrFlags::empty()).map_err(Into::into)
}

/// Where a body's bytes go as they arrive: a part file, or one segment of a split one.
pub trait Sink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// The file written, for messages.
    fn file(&self) -> &Path;
}

/// The part file of a segmented download, written at several places at once. While it may
/// have holes it is `NAME.part.split`, never `NAME.part`, which is resumed from its length:
/// it becomes `NAME.part` only once whole. Which bytes it holds is written down in
/// `NAME.part.ranges` (see [`crate::split`]) every [`RECORD_EVERY`] while it downloads and
/// when it stops short, and a later attempt takes it up from there.
pub struct SplitPart {
    file: File,
    path: PathBuf,
    /// `NAME.part.ranges`, the record of what the part holds.
    ranges: PathBuf,
    /// The validator the body was first asked with, kept in the record.
    validator: Option<String>,
    /// When the record was last written.
    recorded: Mutex<std::time::Instant>,
    slot: Slot,
    hash: bool,
    check: Option<Algorithm>,
}

/// How often a split part's record is written while it downloads, so that a run killed
/// outright (SIGKILL, a crash) loses at most this much of each range, as aria2c saves its
/// `.aria2` file every minute (`--auto-save-interval`).
pub const RECORD_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl SplitPart {
    /// `NAME.part.split` and `NAME.part.ranges` for `slot`.
    fn paths(slot: &Slot) -> (PathBuf, PathBuf) {
        let with = |suffix: &str| {
            let mut path = slot.part.clone().into_os_string();
            path.push(suffix);
            PathBuf::from(path)
        };
        (with(".split"), with(".ranges"))
    }

    /// Starts a split part: a fresh one, or (`resumed`) the part file already there, renamed.
    /// `validator`, what the body was asked with, goes into its record.
    pub fn start(
        slot: &Slot,
        resumed: bool,
        validator: Option<&str>,
        hash: bool,
        check: Option<Algorithm>,
    ) -> io::Result<Self> {
        let (path, ranges) = Self::paths(slot);
        remove_if_present(&ranges)?;
        if resumed {
            fs::rename(&slot.part, &path)?;
        } else {
            if let (true, Some(folder)) = (slot.nested, slot.path.parent()) {
                fs::create_dir_all(folder)?;
            }
            remove_if_present(&slot.part)?;
            remove_if_present(&path)?;
        }
        remove_if_present(&slot.meta)?;
        // A fresh one is created anew, as [`PartWriter::fresh`] creates its part: never
        // through a symlink put there.
        let file = OpenOptions::new()
            .write(true)
            .create_new(!resumed)
            .open(&path)?;
        Ok(Self {
            file,
            path,
            ranges,
            validator: validator.map(str::to_string),
            recorded: Mutex::new(std::time::Instant::now()),
            slot: slot.clone(),
            hash,
            check,
        })
    }

    /// Takes up a split that stopped short, from its record: the part and its segments as they
    /// were left. `None` when there is none to take up; a `.split` file without a usable
    /// record is removed.
    pub fn resume(
        slot: &Slot,
        hash: bool,
        check: Option<Algorithm>,
    ) -> io::Result<Option<(Self, Segments)>> {
        let (path, ranges) = Self::paths(slot);
        let state = match fs::read_to_string(&ranges) {
            Ok(text) => Segments::from_state(&text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(err),
        };
        let len = path
            .symlink_metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        let plain = len.is_some();
        // A part shorter than its record says was written to it has lost bytes: not used.
        let state = state.filter(|(segments, _)| len.is_some_and(|len| len >= segments.extent()));
        let Some((segments, validator)) = state else {
            if plain || ranges.symlink_metadata().is_ok() {
                remove_if_present(&path)?;
                remove_if_present(&ranges)?;
            }
            return Ok(None);
        };
        let file = OpenOptions::new().write(true).open(&path)?;
        let part = Self {
            file,
            path,
            ranges,
            validator,
            recorded: Mutex::new(std::time::Instant::now()),
            slot: slot.clone(),
            hash,
            check,
        };
        Ok(Some((part, segments)))
    }

    /// The validator the body was first asked with.
    pub fn validator(&self) -> Option<&str> {
        self.validator.as_deref()
    }

    /// Writes the record of what the part holds, whole or not at all (a new file renamed over
    /// the old): every count in it is of bytes already written to the part.
    fn record(&self, segments: &Segments) -> io::Result<()> {
        let mut fresh = self.ranges.clone().into_os_string();
        fresh.push(".new");
        write_new(
            Path::new(&fresh),
            segments.state(self.validator()).as_bytes(),
        )?;
        fs::rename(&fresh, &self.ranges)
    }

    /// Writes the record if [`RECORD_EVERY`] has passed since it last was (and no other
    /// connection is writing it now).
    fn record_now_and_then(&self, segments: &Segments) {
        if let Ok(mut last) = self.recorded.try_lock()
            && last.elapsed() >= RECORD_EVERY
        {
            *last = std::time::Instant::now();
            let _ = self.record(segments);
        }
    }

    fn write_at(&self, bytes: &[u8], offset: u64) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.file.write_all_at(bytes, offset)
    }

    /// Every byte is in: the part becomes `NAME.part`, its digests are computed by reading it
    /// (they could not be kept running with bytes arriving out of order), and it is ready to
    /// [`PartWriter::finish`].
    pub fn whole(self) -> io::Result<PartWriter> {
        drop(self.file);
        remove_if_present(&self.ranges)?;
        fs::rename(&self.path, &self.slot.part)?;
        PartWriter::append(&self.slot, self.hash, self.check)
    }

    /// Not every byte is in: the part stays, with the record of which bytes it holds, for `-c`
    /// or a retry to take up. A part with nothing in it, or whose record cannot be written,
    /// is removed instead.
    pub fn suspend(self, segments: &Segments, empty: bool) {
        if empty || self.record(segments).is_err() {
            self.discard();
        }
    }

    /// Removes the part and its record: what it holds cannot be used.
    pub fn discard(self) {
        let _ = fs::remove_file(&self.path);
        let _ = fs::remove_file(&self.ranges);
    }
}

/// Writes one segment of a [`SplitPart`], counting what is written in [`Segments`].
pub struct SegmentWriter<'a> {
    pub part: &'a SplitPart,
    pub segments: &'a Segments,
    pub index: usize,
}

impl Sink for SegmentWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        (self.part).write_at(bytes, self.segments.next_byte(self.index))?;
        self.segments.wrote(self.index, bytes.len() as u64);
        self.part.record_now_and_then(self.segments);
        Ok(())
    }

    fn file(&self) -> &Path {
        &self.part.path
    }
}

/// Whether the file at `path` has the digest `expected` gives (a file already saved, before it
/// is kept).
pub fn has_digest(path: &Path, expected: &Checksum) -> io::Result<bool> {
    let mut digests = Digests::new(false, Some(expected.algorithm));
    digests.read_all(File::open(path)?)?;
    Ok(digests.finish(Some(expected)).1.as_deref() == Some(&expected.digest[..]))
}

/// Writes `bytes` to `path` as a file made anew: whatever was there (a symlink put there
/// included, which would be written through) is removed first.
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    remove_if_present(path)?;
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).unwrap()
    }

    #[test]
    fn names_come_from_the_last_path_segment() {
        assert_eq!(name_from_url(&url("http://h/a/b/data.csv?x=1")), "data.csv");
        assert_eq!(name_from_url(&url("http://h/dir/")), "index.html");
        assert_eq!(name_from_url(&url("http://h")), "index.html");
        assert_eq!(name_from_url(&url("http://h/my%20file.txt")), "my file.txt");
    }

    #[test]
    fn traversal_and_weird_names_stay_inside() {
        assert_eq!(name_from_url(&url("http://h/..%2F..%2Fx")), "x");
        assert_eq!(name_from_url(&url("http://h/..%5C..%5Cwin.ini")), "win.ini");
        assert_eq!(name_from_url(&url("http://h/%2E%2E")), "index.html");
        assert_eq!(safe_name("...."), "index.html");
        assert_eq!(safe_name(".bashrc"), "_bashrc");
        assert_eq!(safe_name("a\0b\x1bc"), "a_b_c");
        assert_eq!(safe_name("doc\u{202e}fdp.exe"), "doc_fdp.exe");
        assert_eq!(safe_name("a\u{9b}b\u{200b}c"), "a_b_c");
        assert_eq!(safe_name("CON"), "_CON");
        assert_eq!(safe_name("lpt1.txt"), "_lpt1.txt");
        assert_eq!(safe_name("/etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\Windows\\x.dll"), "x.dll");
        let long = format!("{}.tar.gz", "é".repeat(300));
        let short = safe_name(&long);
        assert!(short.len() <= MAX_NAME && short.ends_with(".gz"), "{short}");
    }

    #[test]
    fn numbering_goes_before_the_extension() {
        assert_eq!(numbered("data.csv", 1), "data.1.csv");
        assert_eq!(numbered("README", 12), "README.12");
        // In a folder, the file's name is numbered, not the folder's.
        assert_eq!(numbered("v1.2/data.csv", 1), "v1.2/data.1.csv");
        assert_eq!(numbered("v1.2/README", 3), "v1.2/README.3");
    }

    #[test]
    fn an_out_path_only_goes_down() {
        assert_eq!(safe_path("sub/dir/file.iso"), "sub/dir/file.iso");
        assert_eq!(safe_path("../../etc/passwd"), "etc/passwd");
        assert_eq!(safe_path("/abs//x"), "abs/x");
        assert_eq!(safe_path("a/./b/../c"), "a/b/c");
        assert_eq!(safe_path("..\\..\\win\\x.dll"), "win/x.dll");
        assert_eq!(safe_path(".git/config"), "_git/config");
        assert_eq!(safe_path("../.."), "index.html");
        let deep = "d/".repeat(100) + "f.bin";
        assert_eq!(safe_path(&deep), "d/".repeat(MAX_DEPTH) + "f.bin");
        let long = format!("{}/f.bin", vec!["x".repeat(190); 10].join("/"));
        let bounded = safe_path(&long);
        assert!(
            bounded.len() <= MAX_PATH && bounded.ends_with("/f.bin"),
            "{bounded}"
        );
    }

    /// Saving into `dir` with nothing asked for beyond the defaults.
    fn plain(dir: &Path) -> SaveSettings {
        SaveSettings {
            dir: dir.to_path_buf(),
            on_exists: OnExists::Rename,
            resume: false,
            content_disposition: false,
            trust_server_names: false,
            timestamping: false,
            remote_time: false,
            folders: None,
            hash: false,
            xattr: false,
            remove_on_error: false,
        }
    }

    #[test]
    fn force_directories_name_folders_from_the_host_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let saver = |host: bool, cut: usize| {
            Saver::new(SaveSettings {
                folders: Some(Folders {
                    host,
                    cut,
                    scheme: false,
                }),
                ..plain(dir.path())
            })
            .unwrap()
        };
        let path = |saver: &Saver, text: &str| {
            let url = url::Url::parse(text).unwrap();
            saver.in_folders(&url, name_from_url(&url))
        };
        let with_host = saver(true, 0);
        let cases = [
            (
                "http://h.example/a/b/data.csv?x=1",
                "h.example/a/b/data.csv",
            ),
            ("https://H.example:443/a/", "h.example/a/index.html"),
            ("http://h.example:8080/f", "h.example+8080/f"),
            ("http://[::1]:81/f", "[__1]+81/f"),
            // Encoded separators stay inside their folder's name (and a leading dot is `_`);
            // an encoded `..` is a step up that the URL's parser has taken already.
            ("http://h.example/x%2F..%2Fy/f", "h.example/x_.._y/f"),
            ("http://h.example/x/%2E%2E/..%5Cz/f", "h.example/_._z/f"),
            ("http://h.example/%20/.hidden/f", "h.example/_hidden/f"),
        ];
        for (url, expected) in cases {
            assert_eq!(path(&with_host, url), expected, "{url}");
        }
        let cut = saver(false, 1);
        assert_eq!(path(&cut, "http://h.example/a/b/c/f"), "b/c/f");
        assert_eq!(path(&cut, "http://h.example/f"), "f");
        // wget's --protocol-directories: the scheme first.
        let schemes = Saver::new(SaveSettings {
            folders: Some(Folders {
                host: true,
                cut: 0,
                scheme: true,
            }),
            ..plain(dir.path())
        })
        .unwrap();
        assert_eq!(
            path(&schemes, "https://h.example/a/f"),
            "https/h.example/a/f"
        );
        assert_eq!(
            path(&schemes, "http://h.example:81/f"),
            "http/h.example+81/f"
        );
    }

    #[test]
    fn a_lines_aria2c_switches_decide_what_happens_to_a_file_already_there() {
        use OnExists::{Error, Overwrite, Rename, Skip};
        let dir = tempfile::tempdir().unwrap();
        let saver = |on_exists| {
            Saver::new(SaveSettings {
                on_exists,
                ..plain(dir.path())
            })
            .unwrap()
        };
        // (run's --on-exists, allow-overwrite=, auto-file-renaming=, what this URL does)
        let cases = [
            (Rename, None, None, Rename),
            (Skip, None, None, Skip),
            (Rename, Some(true), None, Overwrite),
            (Error, Some(true), Some(false), Overwrite),
            (Overwrite, Some(false), None, Rename),
            (Skip, Some(false), None, Skip),
            (Error, None, Some(true), Rename),
            (Overwrite, Some(false), Some(false), Error),
            (Skip, None, Some(false), Error),
        ];
        for (run, overwrite, renaming, expected) in cases {
            let line = LineOptions {
                overwrite,
                renaming,
                ..LineOptions::NONE
            };
            let got = saver(run).on_exists(&line);
            assert_eq!(got, expected, "{run:?} {overwrite:?} {renaming:?}");
        }
        let line = |remote_time| LineOptions {
            remote_time,
            ..LineOptions::NONE
        };
        assert!(saver(Rename).remote_time(&line(Some(true))));
        assert!(!saver(Rename).remote_time(&line(None)));
    }

    #[test]
    fn a_dir_option_names_a_folder_inside_the_output_folder_only() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        fs::create_dir(&real).unwrap();
        // The output folder given through a symlink: either spelling of it is inside.
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let saver = Saver::new(plain(&link)).unwrap();
        let real = fs::canonicalize(&real).unwrap();
        let inside = |dir: &str| saver.folder_of(Some(dir));
        assert_eq!(inside("iso/debian").unwrap(), "iso/debian");
        assert_eq!(inside("../../etc/./x").unwrap(), "etc/x");
        assert_eq!(inside(".hidden").unwrap(), "_hidden");
        assert_eq!(inside(&format!("{}/a/b", link.display())).unwrap(), "a/b");
        assert_eq!(inside(&format!("{}/a/../c", real.display())).unwrap(), "c");
        assert_eq!(inside(&link.display().to_string()).unwrap(), "");
        for outside in [
            "/tmp".to_string(),
            format!("{}/../x", real.display()),
            format!("{}-other/x", real.display()),
        ] {
            let failure = inside(&outside).unwrap_err();
            assert_eq!(failure.kind, ErrorKind::InvalidUrl);
            assert!(
                failure.message.contains("outside the output folder"),
                "{outside}"
            );
        }
        assert_eq!(saver.folder_of(None).unwrap(), "");
        assert_eq!(below("a/b", "c/d.bin"), "a/b/c/d.bin");
        assert_eq!(below("", "d.bin"), "d.bin");
        let deep = "d/".repeat(MAX_DEPTH);
        assert_eq!(below(deep.trim_end_matches('/'), "x/f"), deep + "f");
    }

    #[test]
    fn adler32_is_the_checksum_aria2_names() {
        // The worked example of Adler-32 (RFC 1950's checksum): "Wikipedia" is 0x11e60398.
        let mut digests = Digests::new(false, Some(Algorithm::Adler32));
        assert!(digests.wanted() && digests.sha256.is_none() && digests.other.is_none());
        digests.update(b"Wiki");
        digests.update(b"pedia");
        let sum = digests.adler32.map(|a| a.checksum());
        assert_eq!(sum, Some(0x11e6_0398));
    }

    #[test]
    fn content_disposition_names_are_read() {
        assert_eq!(
            filename_from_disposition(b"attachment; filename=\"report.pdf\"").as_deref(),
            Some("report.pdf")
        );
        assert_eq!(
            filename_from_disposition(b"attachment; filename*=UTF-8''na%C3%AFve.txt").as_deref(),
            Some("naïve.txt")
        );
        assert_eq!(filename_from_disposition(b"inline"), None);
        // filename* wins over the plain fallback beside it, in either order.
        for header in [
            "attachment; filename=\"r%C3%A9sum%C3%A9.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
            "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf; filename=\"resume.pdf\"",
        ] {
            let name = filename_from_disposition(header.as_bytes());
            assert_eq!(name.as_deref(), Some("r\u{e9}sum\u{e9}.pdf"), "{header}");
        }
        // One in a charset not known falls back to the plain name.
        assert_eq!(
            filename_from_disposition(b"attachment; filename=\"a.txt\"; filename*=x-no''b.txt")
                .as_deref(),
            Some("a.txt")
        );
        // Raw text in the quoted name, as UTF-8 or else ISO-8859-1.
        assert_eq!(
            filename_from_disposition("attachment; filename=\"caf\u{e9}.txt\"".as_bytes())
                .as_deref(),
            Some("caf\u{e9}.txt")
        );
        assert_eq!(
            filename_from_disposition(b"attachment; filename=\"caf\xe9.txt\"").as_deref(),
            Some("caf\u{e9}.txt")
        );
        // A `;` inside quotes is part of the name, a backslash escapes the next character,
        // and the name is read wherever it stands, in any case, with or without a type.
        for (header, want) in [
            ("attachment; filename=\"a;b.txt\"; size=3", "a;b.txt"),
            (
                "attachment; FILENAME=\"say \\\"hi\\\".txt\"",
                "say \"hi\".txt",
            ),
            ("attachment; filename=\"a\\\\b.txt\"", "a\\b.txt"),
            ("attachment;filename=plain.txt;x=\";\"", "plain.txt"),
            ("filename=first.txt", "first.txt"),
            (
                "attachment; x=\"filename=no.txt\"; filename=yes.txt",
                "yes.txt",
            ),
            ("attachment; filename=\"open;ended.txt", "open;ended.txt"),
        ] {
            let name = filename_from_disposition(header.as_bytes());
            assert_eq!(name.as_deref(), Some(want), "{header}");
        }
    }

    proptest! {
        #[test]
        fn no_name_ever_escapes_the_folder(raw in any::<String>()) {
            let name = safe_name(&raw);
            let path = Path::new(&name);
            let parts: Vec<_> = path.components().collect();
            prop_assert_eq!(parts.len(), 1, "{:?}", name);
            prop_assert!(matches!(parts[0], std::path::Component::Normal(_)), "{:?}", name);
            prop_assert!(!name.contains(['/', '\\', '\0']));
            prop_assert!(!name.starts_with('.'));
            prop_assert!(name.len() <= MAX_NAME);
            prop_assert!(Path::new("/out").join(&name).starts_with("/out"));
        }

        #[test]
        fn no_out_path_escapes_the_folder(raw in any::<String>()) {
            let path = safe_path(&raw);
            let parts: Vec<_> = Path::new(&path).components().collect();
            prop_assert!(!parts.is_empty() && parts.len() <= MAX_DEPTH + 1, "{:?}", path);
            for part in &parts {
                prop_assert!(matches!(part, std::path::Component::Normal(_)), "{:?}", path);
            }
            prop_assert!(!path.contains(['\\', '\0']) && path.len() <= MAX_PATH);
            prop_assert!(Path::new("/out").join(&path).starts_with("/out"));
        }

        #[test]
        fn no_url_path_escapes_the_folder(segments in proptest::collection::vec("[a-zA-Z0-9%./\\\\]{0,12}", 0..5)) {
            let text = format!("http://h/{}", segments.join("/"));
            if let Ok(url) = url::Url::parse(&text) {
                let name = name_from_url(&url);
                prop_assert_eq!(Path::new(&name).components().count(), 1);
                prop_assert!(name != ".." && name != ".");
            }
        }
    }
}
