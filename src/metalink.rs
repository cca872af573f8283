//! Metalink lists (RFC 5854's version 4, and the older 3.0 form), as aria2c's `-M` reads them:
//! each `<file>` is one job, its http(s) URLs in order of priority as the URL and its mirrors,
//! its name as `out=`, its strongest digest as `checksum=`, and its `<size>` as `size=`.

use url::Url;

use crate::links::{Algorithm, Checksum, Entry, LineOptions, Target};
use crate::xml::{Broken, Element, Event, Events};

/// The largest Metalink file read (one for thousands of files is a few MiB).
pub const MAX_METALINK: u64 = 16 * 1024 * 1024;

/// The entries of a Metalink document (its root element, `<metalink>`, read already), read
/// as they are asked for.
pub fn entries(events: Events) -> impl Iterator<Item = Entry> + Send {
    crate::xml::Entries::new(events, |events: &mut Events| {
        loop {
            // 3.0 keeps its files in <files>; 4 puts them right under the root.
            let place = (events.depth(), events.inside() == Some("files"));
            match events.read()? {
                None => return Ok(None),
                Some(Event::Open(file))
                    if file.name == "file" && matches!(place, (1, _) | (2, true)) =>
                {
                    return File::read(events, file).map(|file| Some(file.entry()));
                }
                Some(_) => {}
            }
        }
    })
}

/// What one `<file>` says.
struct File {
    line: usize,
    name: String,
    /// Its `<url>`s: the element (`type`, `priority`, `preference`) and its text.
    urls: Vec<(Element, String)>,
    /// Its whole-file digests: type and text.
    hashes: Vec<(String, String)>,
    /// Its `<size>`'s text, if it has one.
    size: Option<String>,
}

impl File {
    /// Reads `<file>` to its end: its `<url>`s (3.0: in `<resources>`) and whole-file
    /// `<hash>`es (3.0: in `<verification>`; not those of `<pieces>`).
    fn read(events: &mut Events, file: Element) -> Result<Self, Broken> {
        let mut read = Self {
            line: file.line,
            name: file.attribute("name").unwrap_or("").trim().to_string(),
            urls: Vec::new(),
            hashes: Vec::new(),
            size: None,
        };
        let depth = events.depth();
        let mut closed = file.empty;
        while !closed {
            let here = events.depth();
            let inside = events.inside().unwrap_or("");
            let (urls, hashes) = match here - depth {
                0 => (true, true),
                1 => (inside == "resources", inside == "verification"),
                _ => (false, false),
            };
            match events.read()? {
                Some(Event::Close) if here == depth => closed = true,
                Some(Event::Open(url)) if urls && url.name == "url" && !url.empty => {
                    let text = events.text()?;
                    read.urls.push((url, text));
                }
                Some(Event::Open(hash)) if hashes && hash.name == "hash" && !hash.empty => {
                    let kind = hash.attribute("type").unwrap_or("").to_string();
                    read.hashes.push((kind, events.text()?));
                }
                // The file's own (3.0 and 4 alike), not one of something inside it.
                Some(Event::Open(size)) if here == depth && size.name == "size" && !size.empty => {
                    read.size = Some(events.text()?);
                }
                None => closed = true,
                Some(_) => {}
            }
        }
        Ok(read)
    }

    /// The entry: its text is the file as a plain list writes it (URL, mirrors, `out=`,
    /// `checksum=` and `size=` lines), so that `--failed-out` gives a list that runs again.
    fn entry(self) -> Entry {
        let line = self.line;
        let urls = self.ranked_urls();
        let checksum = self.checksum();
        let name = self.name.as_str();
        let mut text = match urls.split_first() {
            Some((first, rest)) => {
                let rest = rest.iter().map(|u| format!("\t{u}"));
                first.to_string() + &rest.collect::<String>()
            }
            None => format!("<file name=\"{}\">", crate::links::shorten(name)),
        };
        let safe_name = check_name(name);
        if let Ok(Some(name)) = &safe_name {
            text.push_str(&format!("\n  out={name}"));
        }
        if let Ok(Some(sum)) = &checksum {
            let hex = crate::links::hex(&sum.digest);
            text.push_str(&format!("\n  checksum={}={hex}", sum.algorithm.name()));
        }
        let size = match self.size.as_deref().map(str::trim) {
            None => Ok(None),
            Some(size) => size.parse::<u64>().map(Some).map_err(|_| {
                let size = crate::links::shorten(size);
                format!("its <size> `{size}` is not a number of bytes")
            }),
        };
        if let Ok(Some(size)) = size {
            text.push_str(&format!("\n  size={size}"));
        }
        let target = (|| -> Result<Target, String> {
            let out = safe_name?;
            let checksum = checksum?;
            let size = size?;
            let mut urls = urls.into_iter();
            let url = urls.next().ok_or(
                "no http or https URL among its sources (fetchpar fetches those only; ftp and \
                 torrents are not fetched)",
            )?;
            Ok(Target {
                url,
                mirrors: urls.collect(),
                options: LineOptions {
                    out,
                    checksum,
                    size,
                    ..LineOptions::default()
                },
            })
        })();
        Entry { line, text, target }
    }

    /// The file's http(s) URLs, most preferred first: version 4's `priority` (1 first, none
    /// last), 3.0's `preference` (highest first); equals keep their order.
    fn ranked_urls(&self) -> Vec<Url> {
        let mut ranked: Vec<(i64, Url)> = (self.urls.iter())
            .filter_map(|(url, text)| {
                // 3.0 lists .torrent files as URLs of type `bittorrent`.
                let kind = url.attribute("type").unwrap_or("http");
                if !matches!(kind, "http" | "https") {
                    return None;
                }
                let parsed = crate::links::parse_url(text.trim()).ok()?;
                let rank = match (url.attribute("priority"), url.attribute("preference")) {
                    (Some(priority), _) => priority.trim().parse().unwrap_or(999_999),
                    (None, Some(preference)) => -preference.trim().parse::<i64>().unwrap_or(0),
                    (None, None) => 999_999,
                };
                Some((rank, parsed))
            })
            .collect();
        ranked.sort_by_key(|(rank, _)| *rank);
        ranked.into_iter().map(|(_, url)| url).collect()
    }

    /// The strongest digest of the whole file that fetchpar checks (not the pieces' digests).
    fn checksum(&self) -> Result<Option<Checksum>, String> {
        let mut best: Option<(Algorithm, &str)> = None;
        for (kind, hex) in &self.hashes {
            let Some(algorithm) = Algorithm::from_name(kind) else {
                continue;
            };
            if best.is_none_or(|(b, _)| algorithm > b) {
                best = Some((algorithm, hex.trim()));
            }
        }
        let Some((algorithm, hex)) = best else {
            return Ok(None);
        };
        crate::links::parse_checksum("hash", algorithm, hex).map(Some)
    }
}

/// The file's name as `out=` takes it, refused where RFC 5854 says a client must refuse it
/// (a path out of the download folder), or where it would not survive a list line.
fn check_name(name: &str) -> Result<Option<String>, String> {
    if name.is_empty() {
        return Ok(None);
    }
    let escapes = name.starts_with('/') || name.split(['/', '\\']).any(|part| part == "..");
    if escapes {
        return Err(format!(
            "its name `{}` leads out of the download folder",
            crate::links::shorten(name)
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("its name holds control characters".into());
    }
    Ok(Some(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::{Format, xml_entries};

    fn entries(doc: &[u8]) -> Result<Vec<Entry>, String> {
        xml_entries(doc, &Format::Metalink)
    }

    const SHA256: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn version_4_files_give_urls_by_priority_name_and_strongest_digest() {
        let doc = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<metalink xmlns="urn:ietf:params:xml:ns:metalink">
  <published>2026-11-27T00:00:00Z</published>
  <file name="iso/a.iso">
    <size>4</size>
    <hash type="md5">098f6bcd4621d373cade4e832627b4f6</hash>
    <hash type="sha-256">{SHA256}</hash>
    <pieces length="262144" type="sha-1"><hash>a94a8fe5ccb19ba61c4c0873d391e987982fbbd3</hash></pieces>
    <url location="de" priority="2">http://b.example/a.iso</url>
    <url priority="1">https://a.example/a.iso</url>
    <url priority="1">ftp://f.example/a.iso</url>
    <url>http://c.example/a.iso</url>
    <metaurl mediatype="torrent" priority="1">http://t.example/a.torrent</metaurl>
  </file>
  <file name="b.txt">
    <url>http://a.example/b.txt</url>
  </file>
</metalink>"#
        );
        let got = entries(doc.as_bytes()).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].line, 4);
        let target = got[0].target.as_ref().unwrap();
        assert_eq!(target.url.as_str(), "https://a.example/a.iso");
        let mirrors: Vec<&str> = target.mirrors.iter().map(Url::as_str).collect();
        assert_eq!(
            mirrors,
            ["http://b.example/a.iso", "http://c.example/a.iso"]
        );
        assert_eq!(target.options.out.as_deref(), Some("iso/a.iso"));
        let sum = target.options.checksum.as_ref().unwrap();
        assert_eq!(sum.algorithm, Algorithm::Sha256);
        assert_eq!(crate::links::hex(&sum.digest), SHA256);
        // Written as a plain list would write it, it reads back as the same job.
        let again = crate::links::LinkReader::from_reader(
            "again",
            std::io::Cursor::new(format!("{}\n", got[0].text)),
        )
        .next()
        .unwrap()
        .target
        .unwrap();
        assert_eq!(again.url, target.url);
        assert_eq!(again.mirrors, target.mirrors);
        assert_eq!(again.options, target.options);
        assert_eq!(got[1].line, 15);
        assert_eq!(got[1].target.as_ref().unwrap().options.checksum, None);
    }

    #[test]
    fn version_3_files_are_read_too() {
        let doc = r#"<?xml version="1.0"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/">
  <files>
    <file name="c.bin">
      <verification>
        <hash type="md5">098f6bcd4621d373cade4e832627b4f6</hash>
        <hash type="sha1">a94a8fe5ccb19ba61c4c0873d391e987982fbbd3</hash>
      </verification>
      <resources>
        <url type="http" preference="10">http://low.example/c.bin</url>
        <url type="http" preference="100">http://high.example/c.bin</url>
        <url type="bittorrent" preference="200">http://t.example/c.torrent</url>
      </resources>
    </file>
  </files>
</metalink>"#;
        let got = entries(doc.as_bytes()).unwrap();
        let target = got[0].target.as_ref().unwrap();
        assert_eq!(target.url.as_str(), "http://high.example/c.bin");
        let mirrors: Vec<&str> = target.mirrors.iter().map(Url::as_str).collect();
        assert_eq!(mirrors, ["http://low.example/c.bin"]);
        let sum = target.options.checksum.as_ref().unwrap();
        assert_eq!(sum.algorithm, Algorithm::Sha1);
    }

    proptest::proptest! {
        /// Broken or hostile documents never panic: each is entries or one reason, and every
        /// entry's URLs are http(s) and its name stays inside the folder.
        #[test]
        fn any_document_gives_entries_or_a_reason(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..30),
                    proptest::strategy::Just(b"<metalink xmlns=\"urn:ietf:params:xml:ns:metalink\">".to_vec()),
                    proptest::strategy::Just(b"<file name=\"a/b.iso\">".to_vec()),
                    proptest::strategy::Just(b"<file name=\"../x\">".to_vec()),
                    proptest::strategy::Just(b"<url priority=\"x\">http://h.example/a</url>".to_vec()),
                    proptest::strategy::Just(b"<url>ftp://h.example/a</url>".to_vec()),
                    proptest::strategy::Just(b"<hash type=\"sha-1\">00</hash>".to_vec()),
                    proptest::strategy::Just(b"</file>".to_vec()),
                    proptest::strategy::Just(b"</metalink>".to_vec()),
                ],
                0..20,
            ),
        ) {
            let doc = parts.concat();
            let lines = 1 + doc.iter().filter(|&&b| b == b'\n').count();
            if let Ok(entries) = entries(&doc) {
                for entry in entries {
                    proptest::prop_assert!(entry.line >= 1 && entry.line <= lines);
                    if let Ok(target) = entry.target {
                        for url in std::iter::once(&target.url).chain(&target.mirrors) {
                            proptest::prop_assert!(matches!(url.scheme(), "http" | "https"));
                        }
                        let out = target.options.out.unwrap_or_default();
                        proptest::prop_assert!(!out.starts_with('/') && !out.split('/').any(|p| p == ".."));
                    }
                }
            }
        }
    }

    #[test]
    fn a_bad_file_fails_alone_and_a_bad_document_says_why() {
        let doc = r#"<metalink xmlns="urn:ietf:params:xml:ns:metalink">
<file name="../../etc/passwd"><url>http://a.example/x</url></file>
<file name="ftp-only"><url>ftp://a.example/y</url></file>
<file name="bad-hash"><hash type="sha-256">abc</hash><url>http://a.example/z</url></file>
<file name="ok"><url>http://a.example/ok</url></file>
</metalink>"#;
        let got = entries(doc.as_bytes()).unwrap();
        let why = |i: usize| got[i].target.as_ref().unwrap_err().clone();
        assert!(why(0).contains("out of the download folder"), "{}", why(0));
        assert_eq!(got[0].line, 2);
        assert!(why(1).contains("no http or https URL"), "{}", why(1));
        assert!(why(2).contains("64 hex digits"), "{}", why(2));
        assert!(got[3].target.is_ok());
        let not = |doc: &str| entries(doc.as_bytes()).unwrap_err();
        assert!(not("<html><a href=x>").contains("not a Metalink file"));
        assert!(not("<feed/>").contains("root element is <feed>"));
        // No DTD, and so no entity expansion (billion laughs).
        let dtd = "<!DOCTYPE m [<!ENTITY a \"aaaa\">]><metalink>&a;</metalink>";
        assert!(not(dtd).contains("not a Metalink file"));
    }
}
