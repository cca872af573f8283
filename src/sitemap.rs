//! Sitemaps as lists (sitemaps.org's `<urlset>` and `<sitemapindex>`, as wget2's
//! `--force-sitemap` reads them): each `<loc>` is a URL of the list, or in an index, a sitemap
//! whose URLs are.

use crate::links::{Entry, Seen, Target};
use crate::xml::{Broken, Element, Event, Events};

/// The largest sitemap read: the protocol allows 50 MiB uncompressed.
pub const MAX_SITEMAP: u64 = 64 * 1024 * 1024;

/// A sitemap's URLs, in order, read as they are asked for (the root element, `<urlset>` or
/// `<sitemapindex>`, read already): each `<url>`'s `<loc>`, or, in a sitemap index, each
/// child sitemap's, which the list reader reads in turn. A sitemap an index names twice is
/// given once: reading it again would fetch all its URLs again.
pub fn entries(events: Events, index: bool) -> impl Iterator<Item = Entry> + Send {
    let mut sitemaps = Seen::default();
    crate::xml::Entries::new(events, move |events: &mut Events| {
        loop {
            let here = events.depth();
            match events.read()? {
                None => return Ok(None),
                Some(Event::Open(item))
                    if here == 1 && matches!(item.name.as_str(), "url" | "sitemap") =>
                {
                    let entry = entry(events, item)?;
                    let again = index
                        && (entry.target.as_ref()).is_ok_and(|t| !sitemaps.first(t.url.as_str()));
                    if !again {
                        return Ok(Some(entry));
                    }
                }
                Some(_) => {}
            }
        }
    })
}

/// One `<url>` or `<sitemap>`, numbered by the line of its `<loc>`.
fn entry(events: &mut Events, item: Element) -> Result<Entry, Broken> {
    let mut loc: Option<(usize, String)> = None;
    let depth = events.depth();
    let mut closed = item.empty;
    while !closed {
        let here = events.depth();
        match events.read()? {
            Some(Event::Close) if here == depth => closed = true,
            Some(Event::Open(child)) if here == depth && child.name == "loc" && loc.is_none() => {
                let text = if child.empty {
                    String::new()
                } else {
                    events.text()?
                };
                loc = Some((child.line, text));
            }
            None => closed = true,
            Some(_) => {}
        }
    }
    let line = loc.as_ref().map_or(item.line, |(line, _)| *line);
    let text = loc.as_ref().map_or("", |(_, text)| text.trim());
    let target = match text {
        "" => Err(format!("<{}> without a <loc>", item.name)),
        text => crate::links::parse_url(text).map(Target::from),
    };
    Ok(Entry {
        line,
        text: crate::links::shorten(text),
        target,
    })
}

#[cfg(test)]
mod tests {
    use crate::links::{Format, xml_entries, xml_list};

    #[test]
    fn a_sitemap_gives_its_locs_in_order_with_their_lines() {
        let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url>
    <loc>https://h.example/</loc>
    <lastmod>2026-11-01</lastmod>
  </url>
  <url><loc> https://h.example/a?x=1&amp;y=2 </loc></url>
  <url><loc>ftp://h.example/no</loc></url>
  <url><lastmod>2026-11-01</lastmod></url>
</urlset>"#;
        let got = xml_entries(doc.as_bytes(), &Format::Xml).unwrap();
        let urls: Vec<_> = got
            .iter()
            .map(|e| e.target.as_ref().map(|t| t.url.as_str()))
            .collect();
        assert_eq!(
            urls[..2],
            [Ok("https://h.example/"), Ok("https://h.example/a?x=1&y=2")]
        );
        assert!(urls[2].unwrap_err().contains("unsupported scheme"));
        assert!(urls[3].unwrap_err().contains("without a <loc>"));
        let lines: Vec<_> = got.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 7, 8, 9]);
        // An index lists sitemaps, each read once however often it is named.
        let index = "<sitemapindex><sitemap><loc>https://h.example/s1.xml</loc></sitemap>\
                     <sitemap><loc>https://h.example/s2.xml</loc></sitemap>\
                     <sitemap><loc>https://h.example/s1.xml</loc></sitemap>\
                     </sitemapindex>";
        let got = xml_list(index.as_bytes().to_vec(), &Format::Sitemap).unwrap();
        assert!(got.index);
        let texts: Vec<_> = got.entries.map(|e| e.text).collect();
        assert_eq!(
            texts,
            ["https://h.example/s1.xml", "https://h.example/s2.xml"]
        );
        assert!(
            !xml_list(doc.as_bytes().to_vec(), &Format::Sitemap)
                .unwrap()
                .index
        );
    }

    #[test]
    fn the_root_element_says_which_kind_and_a_wrong_one_is_refused() {
        let metalink = "<metalink xmlns=\"urn:ietf:params:xml:ns:metalink\">\
                        <file name=\"a\"><url>http://h.example/a</url></file></metalink>";
        let got = xml_entries(metalink.as_bytes(), &Format::Xml).unwrap();
        assert_eq!(
            got[0].target.as_ref().unwrap().options.out.as_deref(),
            Some("a")
        );
        let err = xml_entries(metalink.as_bytes(), &Format::Sitemap).unwrap_err();
        assert!(
            err.contains("not a sitemap: its root element is <metalink>"),
            "{err}"
        );
        let err = xml_entries(b"<svg><g/></svg>", &Format::Xml).unwrap_err();
        assert!(
            err.contains("<svg>, not <urlset>, <sitemapindex>, <metalink>, <rss>"),
            "{err}"
        );
        assert!(
            xml_entries(b"http://h.example/a\n", &Format::Xml)
                .unwrap_err()
                .contains("not a sitemap")
        );
    }
}
