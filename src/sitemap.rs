//! Sitemaps as lists (sitemaps.org's `<urlset>` and `<sitemapindex>`, as wget2's
//! `--force-sitemap` reads them): each `<loc>` is a URL of the list, or in an index, a sitemap
//! whose URLs are.

use std::collections::HashSet;

use roxmltree::{Document, Node};

use crate::links::{Entry, LineCounter, Target};

/// The largest sitemap read: the protocol allows 50 MiB uncompressed.
pub const MAX_SITEMAP: u64 = 64 * 1024 * 1024;

/// A sitemap's URLs, in order: each `<url>`'s `<loc>`, or, in a sitemap index, each child
/// sitemap's, which the list reader reads in turn. A sitemap an index names twice is given
/// once: reading it again would fetch all its URLs again.
pub fn entries(doc: &Document) -> Vec<Entry> {
    let root = doc.root_element();
    let items = root
        .children()
        .filter(|n| n.is_element() && matches!(n.tag_name().name(), "url" | "sitemap"));
    let mut lines = LineCounter::default();
    let mut sitemaps = HashSet::new();
    let text = doc.input_text().as_bytes();
    items
        .map(|item| entry(item, &mut lines, text))
        .filter(|entry| match (&entry.target, root.tag_name().name()) {
            (Ok(target), "sitemapindex") => sitemaps.insert(target.url.clone()),
            _ => true,
        })
        .collect()
}

/// One `<url>` or `<sitemap>`, numbered by the line of its `<loc>`.
fn entry(item: Node, lines: &mut LineCounter, text: &[u8]) -> Entry {
    let loc = item
        .children()
        .find(|n| n.is_element() && n.tag_name().name() == "loc");
    let line = lines.line_of(text, loc.unwrap_or(item).range().start);
    let text = loc.and_then(|l| l.text()).unwrap_or("").trim();
    let target = match text {
        "" => Err(format!("<{}> without a <loc>", item.tag_name().name())),
        text => crate::links::parse_url(text).map(Target::from),
    };
    Entry {
        line,
        text: crate::links::shorten(text),
        target,
    }
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
        let got = xml_list(index.as_bytes(), &Format::Sitemap).unwrap();
        assert!(got.index);
        let texts: Vec<_> = got.entries.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(
            texts,
            ["https://h.example/s1.xml", "https://h.example/s2.xml"]
        );
        assert!(!xml_list(doc.as_bytes(), &Format::Sitemap).unwrap().index);
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
