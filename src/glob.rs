//! curl's URL globbing, for URLs given as arguments: `{a,b,c}` sets and `[1-100]`,
//! `[001-100]` (zero-padded), `[0-100:10]` (with a step) and `[a-z]` ranges, expanded one URL
//! at a time in curl's order, the rightmost pattern turning fastest. An IPv6 address in
//! brackets and `[]` are no range; `\` before a bracket or brace keeps it as it is; `-g`
//! (`--globoff`) turns it off. What follows the URL in the argument (its options and mirrors,
//! as on a list's line) is not globbed, but `#1`, `#2`... there stand for what the first,
//! second... pattern gave, as they do in curl's `-o`. No crate does this; the syntax is curl's
//! own.

use std::fmt::Write;
use std::net::Ipv6Addr;

/// Most patterns in one URL, and elements in one set, as curl bounds them.
const MAX_PATTERNS: usize = 255;
const MAX_SET: usize = 100_000;

/// A URL with at least one set or range in it.
#[derive(Debug, Clone)]
pub struct Glob {
    parts: Vec<Part>,
    /// How many URLs it stands for.
    count: u64,
    /// The argument's text after its URL (from the white space before it): its options and
    /// mirrors, with `#N` filled in for each URL.
    rest: String,
}

#[derive(Debug, Clone)]
enum Part {
    Fixed(String),
    Set(Vec<String>),
    Numbers {
        first: u64,
        step: u64,
        len: u64,
        pad: usize,
    },
    Letters {
        first: u8,
        step: u8,
        len: u64,
    },
}

impl Part {
    fn len(&self) -> u64 {
        match self {
            Part::Fixed(_) => 1,
            Part::Set(items) => items.len() as u64,
            Part::Numbers { len, .. } | Part::Letters { len, .. } => *len,
        }
    }

    fn push(&self, index: u64, out: &mut String) {
        match self {
            Part::Fixed(text) => out.push_str(text),
            Part::Set(items) => out.push_str(&items[index as usize]),
            Part::Numbers {
                first, step, pad, ..
            } => {
                let number = first + index * step;
                let _ = write!(out, "{number:0pad$}");
            }
            Part::Letters { first, step, .. } => out.push(char::from(first + index as u8 * step)),
        }
    }
}

impl Glob {
    /// How many URLs it stands for.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The URLs, in curl's order.
    pub fn urls(self) -> impl Iterator<Item = String> + Send {
        let mut at: Option<Vec<u64>> = (self.count > 0).then(|| vec![0; self.parts.len()]);
        std::iter::from_fn(move || {
            let indices = at.as_mut()?;
            let mut url = String::new();
            let mut values = Vec::new();
            for (part, &index) in self.parts.iter().zip(indices.iter()) {
                let start = url.len();
                part.push(index, &mut url);
                if !matches!(part, Part::Fixed(_)) {
                    values.push(start..url.len());
                }
            }
            if !self.rest.is_empty() {
                let rest = fill_in(&self.rest, |n| {
                    url.get(values.get(n.checked_sub(1)?)?.clone())
                });
                url.push_str(&rest);
            }
            // The next: the rightmost pattern turns, carrying into the one before it.
            let mut carry = true;
            for (part, index) in self.parts.iter().zip(indices.iter_mut()).rev() {
                *index += 1;
                if *index < part.len() {
                    carry = false;
                    break;
                }
                *index = 0;
            }
            if carry {
                at = None;
            }
            Some(url)
        })
    }
}

/// The URLs of a glob, one a line, made as they are read.
pub struct Lines<I> {
    urls: I,
    line: Vec<u8>,
    at: usize,
}

impl Glob {
    /// The URLs as the lines of a list.
    pub fn lines(self) -> Lines<impl Iterator<Item = String> + Send> {
        Lines {
            urls: self.urls(),
            line: Vec::new(),
            at: 0,
        }
    }
}

impl<I: Iterator<Item = String>> std::io::Read for Lines<I> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.line.len() {
            let Some(url) = self.urls.next() else {
                return Ok(0);
            };
            self.line = url.into_bytes();
            self.line.push(b'\n');
            self.at = 0;
        }
        let n = buf.len().min(self.line.len() - self.at);
        buf[..n].copy_from_slice(&self.line[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// `text` with each `#N` replaced by `value(N)`, where that is given (`#0`, `#99` and a `#` not
/// followed by a digit stay as they are, as curl leaves them).
fn fill_in<'a>(text: &str, value: impl Fn(usize) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pieces = text.split('#');
    out.push_str(pieces.next().unwrap_or_default());
    for piece in pieces {
        let digits = piece.bytes().take_while(u8::is_ascii_digit).count();
        match piece[..digits].parse().ok().and_then(&value) {
            Some(got) => {
                out.push_str(got);
                out.push_str(&piece[digits..]);
            }
            None => {
                out.push('#');
                out.push_str(piece);
            }
        }
    }
    out
}

/// `text` as a glob, `None` when its URL has no set or range (a URL taken as it is), or why it
/// is not one, as curl says it: `bad range at character 24`. Only the URL, up to the first white
/// space, is globbed: what follows is its options and mirrors.
pub fn parse(text: &str) -> Result<Option<Glob>, String> {
    let start = text.len() - text.trim_start().len();
    let end = (text[start..].find(char::is_whitespace)).map_or(text.len(), |end| start + end);
    let (url, rest) = text.split_at(end);
    let chars: Vec<char> = url.chars().collect();
    let mut parts = Vec::new();
    let mut fixed = String::new();
    let mut patterns = 0;
    // A `\[` taken as `[`: one URL, but not the text as given.
    let mut escaped = false;
    let mut i = 0;
    let at = |what: &str, i: usize| format!("{what} at character {}", i + 1);
    while i < chars.len() {
        match chars[i] {
            '[' => {
                if let Some(skip) = literal_brackets(&chars[i..]) {
                    fixed.extend(&chars[i..i + skip]);
                    i += skip;
                    continue;
                }
                let (part, next) = range(&chars, i + 1).map_err(|what| at(what, i))?;
                parts.push(Part::Fixed(std::mem::take(&mut fixed)));
                parts.push(part);
                patterns += 1;
                i = next;
            }
            '{' => {
                let (part, next) = set(&chars, i + 1)?;
                parts.push(Part::Fixed(std::mem::take(&mut fixed)));
                parts.push(part);
                patterns += 1;
                i = next;
            }
            '}' | ']' => return Err(at("unmatched close brace or bracket", i)),
            '\\' if matches!(chars.get(i + 1), Some('{' | '[' | '}' | ']')) => {
                fixed.push(chars[i + 1]);
                escaped = true;
                i += 2;
            }
            c => {
                fixed.push(c);
                i += 1;
            }
        }
        if patterns > MAX_PATTERNS {
            return Err(format!("more than {MAX_PATTERNS} sets and ranges"));
        }
    }
    if patterns == 0 && !escaped {
        return Ok(None);
    }
    parts.push(Part::Fixed(fixed));
    parts.retain(|p| !matches!(p, Part::Fixed(text) if text.is_empty()));
    let count = (parts.iter().map(Part::len))
        .try_fold(1u64, u64::checked_mul)
        .ok_or("more URLs than can be counted (range overflow)")?;
    Ok(Some(Glob {
        parts,
        count,
        rest: rest.to_string(),
    }))
}

/// Bytes to copy as they are at a `[`: an IPv6 address in brackets (`[::1]`, `[fe80::1%25eth0]`)
/// or `[]`, which are no range.
fn literal_brackets(chars: &[char]) -> Option<usize> {
    let end = chars.iter().position(|&c| c == ']')?;
    let inside: String = chars[1..end].iter().collect();
    let address = inside.split('%').next().unwrap_or("");
    (inside.is_empty() || (inside.contains(':') && address.parse::<Ipv6Addr>().is_ok()))
        .then_some(end + 1)
}

/// A set from just after its `{`: the part, and where the text goes on after its `}`.
fn set(chars: &[char], start: usize) -> Result<(Part, usize), String> {
    let mut items = Vec::new();
    let mut item = String::new();
    let mut i = start;
    let at = |what: &str, i: usize| format!("{what} at character {}", i + 1);
    loop {
        match chars.get(i) {
            None => return Err(at("unmatched brace", start - 1)),
            Some('{' | '[') => return Err(at("nested brace", i)),
            Some(']') => return Err(at("unexpected close bracket", i)),
            Some('}') if i == start => return Err(at("empty string within braces", i)),
            Some(&c @ (',' | '}')) => {
                items.push(std::mem::take(&mut item));
                if items.len() > MAX_SET {
                    return Err(format!("a set of more than {MAX_SET} elements"));
                }
                i += 1;
                if c == '}' {
                    return Ok((Part::Set(items), i));
                }
            }
            Some('\\') if i + 1 < chars.len() => {
                item.push(chars[i + 1]);
                i += 2;
            }
            Some(&c) => {
                item.push(c);
                i += 1;
            }
        }
    }
}

/// A range from just after its `[`: the part, and where the text goes on after its `]`.
fn range(chars: &[char], start: usize) -> Result<(Part, usize), &'static str> {
    let end = (chars[start..].iter().position(|&c| c == ']'))
        .map(|e| start + e)
        .ok_or("bad range")?;
    let inside: String = chars[start..end].iter().collect();
    let (span, step) = match inside.split_once(':') {
        // Digits only, as curl reads them: no sign.
        Some((span, step)) if step.bytes().all(|b| b.is_ascii_digit()) => {
            (span, Some(step.parse::<u64>().map_err(|_| "bad range")?))
        }
        Some(_) => return Err("bad range"),
        None => (inside.as_str(), None),
    };
    let (low, high) = span.split_once('-').ok_or("bad range")?;
    let high = high.trim_start();
    let step = step.unwrap_or(1);
    let well_formed = |first: u64, last: u64| {
        step > 0
            && (if first == last {
                step == 1
            } else {
                first < last && step <= last - first
            })
    };
    let first = low.chars().next().ok_or("bad range specification")?;
    let part = if first.is_ascii_alphabetic() {
        let (&[low], &[high]) = (low.as_bytes(), high.as_bytes()) else {
            return Err("bad range");
        };
        let (first, last) = (u64::from(low), u64::from(high));
        if !well_formed(first, last) || last - first > 25 || step > 255 {
            return Err("bad range");
        }
        Part::Letters {
            first: low,
            step: step as u8,
            len: (last - first) / step + 1,
        }
    } else if first.is_ascii_digit() {
        let number = |text: &str| {
            (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse::<u64>().ok())
                .flatten()
        };
        let (Some(first), Some(last)) = (number(low), number(high)) else {
            return Err("bad range");
        };
        if !well_formed(first, last) || last.checked_add(step).is_none() {
            return Err("bad range");
        }
        // Leading zeros pad every number to the first one's width, as curl pads them.
        let pad = if low.starts_with('0') { low.len() } else { 0 };
        Part::Numbers {
            first,
            step,
            len: (last - first) / step + 1,
            pad,
        }
    } else {
        return Err("bad range specification");
    };
    Ok((part, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(text: &str) -> Vec<String> {
        parse(text).unwrap().expect("a glob").urls().collect()
    }

    fn refused(text: &str) -> String {
        parse(text).unwrap_err()
    }

    #[test]
    fn what_follows_the_url_is_not_globbed_and_takes_its_values_by_number() {
        assert_eq!(
            expand("http://h/{eu,us}/p[1-2].bin out=#1-p#2.bin"),
            [
                "http://h/eu/p1.bin out=eu-p1.bin",
                "http://h/eu/p2.bin out=eu-p2.bin",
                "http://h/us/p1.bin out=us-p1.bin",
                "http://h/us/p2.bin out=us-p2.bin",
            ]
        );
        // Braces and brackets after the URL are text; numbers that name no pattern, a `#`
        // without one and a fragment in the URL itself are kept as they are.
        assert_eq!(
            expand("http://h/[01-02]#1\tout={x}#1#3#0#.txt  http://m/[1]#1"),
            [
                "http://h/01#1\tout={x}01#3#0#.txt  http://m/[1]01",
                "http://h/02#1\tout={x}02#3#0#.txt  http://m/[1]02",
            ]
        );
        // White space before the URL is not what ends it.
        assert_eq!(
            expand(" http://h/[1-2] out=#1"),
            [" http://h/1 out=1", " http://h/2 out=2"]
        );
        // A malformed pattern after the URL is no error; one in it still says where it is.
        assert!(parse("http://h/x out=[1-").unwrap().is_none());
        assert!(refused("http://h/[1- out=#1").contains("at character 10"));
    }

    #[test]
    fn sets_and_ranges_expand_in_curls_order() {
        assert_eq!(
            expand("http://h/{a,b}/[1-2]"),
            [
                "http://h/a/1",
                "http://h/a/2",
                "http://h/b/1",
                "http://h/b/2"
            ]
        );
        assert_eq!(
            expand("http://h/[001-003].png"),
            ["http://h/001.png", "http://h/002.png", "http://h/003.png"]
        );
        assert_eq!(
            expand("http://h/[0-10:5]"),
            ["http://h/0", "http://h/5", "http://h/10"]
        );
        assert_eq!(
            expand("http://h/[a-e:2]x"),
            ["http://h/ax", "http://h/cx", "http://h/ex"]
        );
        assert_eq!(expand("http://h/[7-7]"), ["http://h/7"]);
        assert_eq!(
            expand("http://{one,two}.example/"),
            ["http://one.example/", "http://two.example/"]
        );
        // An empty element is one (`{a,}`), and `\` keeps a brace or bracket in a set.
        assert_eq!(expand("http://h/x{,.gz}"), ["http://h/x", "http://h/x.gz"]);
        assert_eq!(expand("http://h/{a\\,b,c}"), ["http://h/a,b", "http://h/c"]);
        assert_eq!(
            parse("http://h/[1-1000][a-z]{x,y,z}")
                .unwrap()
                .unwrap()
                .count(),
            78_000
        );
    }

    #[test]
    fn urls_without_patterns_or_with_ipv6_brackets_are_not_globs() {
        for plain in [
            "http://h/a?b=c",
            "http://[::1]:8080/x",
            "http://[fe80::1%25eth0]/x",
            "http://h/[]",
        ] {
            assert!(parse(plain).unwrap().is_none(), "{plain}");
        }
        assert_eq!(expand("http://h/\\[1-2\\]"), ["http://h/[1-2]"]);
        assert_eq!(
            expand("http://[::1]/[1-2]"),
            ["http://[::1]/1", "http://[::1]/2"]
        );
    }

    #[test]
    fn malformed_patterns_say_what_and_where() {
        assert_eq!(refused("http://h/{a,b"), "unmatched brace at character 10");
        assert_eq!(refused("http://h/{a,{b}}"), "nested brace at character 13");
        assert_eq!(
            refused("http://h/{}"),
            "empty string within braces at character 11"
        );
        assert_eq!(
            refused("http://h/a}"),
            "unmatched close brace or bracket at character 11"
        );
        for bad in [
            "[2-1]", "[1-2:0]", "[1-3:5]", "[1-9:+2]", "[1-9:]", "[a-Z]", "[A-z]", "[1-a]", "[1-2",
            "[x]", "[-2]",
        ] {
            let text = format!("http://h/{bad}");
            assert!(
                refused(&text).contains("range"),
                "{text}: {}",
                refused(&text)
            );
        }
        assert!(refused("http://h/[1-18446744073709551615][1-2]").contains("range"));
        let many = "{a,b}".repeat(64);
        assert!(refused(&format!("http://h/{many}")).contains("overflow"));
        let sets = "{a}".repeat(300);
        assert!(refused(&format!("http://h/{sets}")).contains("more than 255"));
    }

    #[test]
    fn a_huge_range_is_counted_not_made() {
        let glob = parse("http://h/[1-4000000000]/[1-4]").unwrap().unwrap();
        assert_eq!(glob.count(), 16_000_000_000);
        let first: Vec<String> = glob.urls().take(5).collect();
        assert_eq!(first[4], "http://h/2/1");
    }
}
