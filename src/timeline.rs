//! `--timeline FILE.svg`: a waterfall picture of a run, one bar per URL from its start to its
//! end, the wait for the first byte drawn lighter than the body, colored by outcome, on a time
//! axis. In `--compare` the sequential and threaded runs are drawn one above the other on the
//! same scale, so the speedup shows as the difference in length.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use svg::Document;
use svg::node::element::{Group, Line, Rectangle, Text, Title};

use crate::outcome::{ErrorKind, Outcome};

/// One URL's bar.
#[derive(Debug, Clone)]
pub struct Span {
    /// Position in the input: rows are drawn in input order.
    pub order: usize,
    pub label: String,
    pub start: Duration,
    pub ttfb: Option<Duration>,
    pub end: Duration,
    pub status: Option<u16>,
    pub kind: Option<ErrorKind>,
}

impl Span {
    pub fn of(outcome: &Outcome) -> Self {
        Self {
            order: outcome.id,
            // Printable ASCII only: XML cannot hold control characters even escaped, and a
            // list line that is not a URL can contain anything.
            label: crate::report::escape(outcome.url.as_bytes()),
            start: outcome.started,
            ttfb: outcome.ttfb.map(|t| outcome.started + t),
            end: outcome.started + outcome.elapsed,
            status: outcome.status,
            kind: outcome.error.as_ref().map(|e| e.kind),
        }
    }
}

/// The spans of one run, in input order.
#[derive(Debug, Clone)]
pub struct RunSpans {
    pub label: String,
    pub wall: Duration,
    pub spans: Vec<Span>,
}

const WIDTH: f64 = 1200.0;
const LABEL_W: f64 = 380.0;
const MARGIN: f64 = 20.0;
const OK_BODY: &str = "#2e7d32";
const OK_WAIT: &str = "#a5d6a7";
const FAIL_BODY: &str = "#c62828";
const FAIL_WAIT: &str = "#ef9a9a";
const CANCELLED: &str = "#9e9e9e";

/// Row height: roomy with labels for short lists, a thin stripe per URL for long ones.
fn row_height(rows: usize) -> f64 {
    match rows {
        0..=150 => 18.0,
        151..=600 => 6.0,
        _ => 3.0,
    }
}

/// Writes the picture of `runs` to `path`.
pub fn write(path: &Path, runs: &[RunSpans]) -> Result<()> {
    let document = render(runs);
    svg::save(path, &document).with_context(|| format!("writing the timeline {}", path.display()))
}

/// Builds the SVG document.
pub fn render(runs: &[RunSpans]) -> Document {
    let longest = runs
        .iter()
        .flat_map(|r| r.spans.iter().map(|s| s.end))
        .chain(runs.iter().map(|r| r.wall))
        .max()
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
        .max(0.001);
    // Rows too thin for labels give the label column to the chart.
    let labelled = runs.iter().all(|r| row_height(r.spans.len()) >= 12.0);
    let chart_x = if labelled { LABEL_W + 10.0 } else { MARGIN };
    let scale = (WIDTH - chart_x - MARGIN) / longest;
    let tick = nice_step(longest / 8.0);
    let mut body = Group::new()
        .set("font-family", "sans-serif")
        .set("font-size", 11);
    let mut y = 30.0;
    body = body.add(text(10.0, 18.0, "fetchpar timeline", 14, "start"));
    for run in runs {
        let h = row_height(run.spans.len());
        let height = h * run.spans.len() as f64;
        body = body.add(text(
            10.0,
            y + 14.0,
            &format!(
                "{}: {} URLs in {:.3} s",
                run.label,
                run.spans.len(),
                run.wall.as_secs_f64()
            ),
            13,
            "start",
        ));
        y += 22.0;
        body = body.add(axis(chart_x, y, height, longest, tick, scale));
        let mut bars = Group::new()
            .set("class", "run")
            .set("data-run", run.label.as_str());
        for (row, span) in run.spans.iter().enumerate() {
            bars = bars.add(bar(span, chart_x, y + row as f64 * h, h, scale));
        }
        body = body.add(bars);
        y += height + 36.0;
    }
    body = body.add(legend(10.0, y));
    Document::new()
        .set("xmlns", "http://www.w3.org/2000/svg")
        .set("width", WIDTH)
        .set("height", y + 30.0)
        .set("viewBox", (0.0, 0.0, WIDTH, y + 30.0))
        .add(
            Rectangle::new()
                .set("width", "100%")
                .set("height", "100%")
                .set("fill", "white"),
        )
        .add(body)
}

fn bar(span: &Span, x0: f64, y: f64, h: f64, scale: f64) -> Group {
    let (wait_color, body_color) = match span.kind {
        None => (OK_WAIT, OK_BODY),
        Some(ErrorKind::Cancelled) => (CANCELLED, CANCELLED),
        Some(_) => (FAIL_WAIT, FAIL_BODY),
    };
    let start = x0 + span.start.as_secs_f64() * scale;
    let end = (x0 + span.end.as_secs_f64() * scale).max(start + 1.0);
    let first_byte = span
        .ttfb
        .map(|t| (x0 + t.as_secs_f64() * scale).clamp(start, end))
        .unwrap_or(end);
    let pad = if h > 6.0 { 2.0 } else { 0.5 };
    let outcome = match (span.status, span.kind) {
        (_, Some(kind)) => format!("{kind:?}"),
        (Some(status), None) => status.to_string(),
        (None, None) => "ok".into(),
    };
    let ttfb_ms = span
        .ttfb
        .map(|t| format!("{:.1}", (t - span.start).as_secs_f64() * 1e3));
    let tooltip = format!(
        "{}\n{outcome}: start {:.1} ms, first byte {} ms, end {:.1} ms",
        span.label,
        span.start.as_secs_f64() * 1e3,
        ttfb_ms.as_deref().unwrap_or("-"),
        span.end.as_secs_f64() * 1e3,
    );
    let mut group = Group::new()
        .set("class", "bar")
        .add(Title::new(tooltip))
        .add(
            Rectangle::new()
                .set("x", start)
                .set("y", y + pad)
                .set("width", first_byte - start)
                .set("height", h - 2.0 * pad)
                .set("fill", wait_color),
        )
        .add(
            Rectangle::new()
                .set("x", first_byte)
                .set("y", y + pad)
                .set("width", (end - first_byte).max(0.5))
                .set("height", h - 2.0 * pad)
                .set("fill", body_color),
        );
    if h >= 12.0 {
        group = group.add(text(
            LABEL_W,
            y + h - 5.0,
            &shorten(&span.label, 60),
            11,
            "end",
        ));
    }
    group
}

fn axis(x0: f64, y: f64, height: f64, longest: f64, tick: f64, scale: f64) -> Group {
    let mut axis = Group::new().set("class", "axis");
    let mut t = 0.0;
    while t <= longest + tick / 2.0 {
        let x = x0 + t * scale;
        axis = axis
            .add(
                Line::new()
                    .set("x1", x)
                    .set("x2", x)
                    .set("y1", y - 4.0)
                    .set("y2", y + height)
                    .set("stroke", "#e0e0e0"),
            )
            .add(text(x, y - 6.0, &seconds(t), 10, "middle"));
        t += tick;
    }
    axis
}

fn legend(x: f64, y: f64) -> Group {
    let mut g = Group::new().set("class", "legend");
    let items = [
        (OK_WAIT, "waiting for the first byte"),
        (OK_BODY, "receiving the body"),
        (FAIL_BODY, "failed"),
        (CANCELLED, "cancelled"),
    ];
    let mut at = x;
    for (color, what) in items {
        g = g
            .add(
                Rectangle::new()
                    .set("x", at)
                    .set("y", y)
                    .set("width", 12)
                    .set("height", 12)
                    .set("fill", color),
            )
            .add(text(at + 16.0, y + 10.0, what, 11, "start"));
        at += 40.0 + what.len() as f64 * 6.0;
    }
    g
}

fn text(x: f64, y: f64, content: &str, size: u32, anchor: &str) -> Text {
    Text::new(content)
        .set("x", x)
        .set("y", y)
        .set("font-size", size)
        .set("text-anchor", anchor)
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(1e-6);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

fn seconds(t: f64) -> String {
    if t == 0.0 {
        "0".into()
    } else if t < 1.0 {
        format!("{:.0} ms", t * 1e3)
    } else {
        format!("{t:.1} s")
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let tail: String = text
        .chars()
        .rev()
        .take(max - 3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("...{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(0.03), 0.05);
        assert_eq!(nice_step(0.2), 0.2);
        assert_eq!(nice_step(3.0), 5.0);
    }

    #[test]
    fn long_labels_keep_their_end() {
        let s = shorten(&format!("http://host/{}/file.csv", "x".repeat(100)), 30);
        assert!(s.ends_with("file.csv") && s.chars().count() == 30);
    }
}
