//! fetchpar: download a list of URLs in parallel on plain OS threads.
//!
//! A reader streams jobs from link lists ([`links`]); each job is fetched by [`fetch`] on a
//! worker thread ([`run`]), which sends exactly one [`outcome::Outcome`] over a channel; the
//! main thread owns all output ([`report`]). [`origin`] is a small loopback HTTP server used by
//! `--demo`, the tests and the benchmark.

pub mod app;
pub mod aria2;
pub mod ask;
pub mod auth;
pub mod cancel;
pub mod cli;
pub mod config;
pub mod connect_to;
pub mod cookies;
pub mod css;
pub mod decode;
pub mod demo;
pub mod descriptors;
pub mod feed;
pub mod fetch;
pub mod glob;
pub mod heap;
pub mod hosts;
pub mod html;
pub mod identity;
pub mod interface;
pub mod links;
pub mod logins;
pub mod metalink;
pub mod options;
pub mod origin;
pub mod outcome;
pub mod pace;
pub mod peers;
pub mod progress;
pub mod proxy;
pub mod rate;
pub mod referer;
pub mod report;
pub mod resolve;
pub mod retry;
pub mod reuse;
pub mod run;
pub mod save;
pub mod sitemap;
pub mod split;
#[cfg(feature = "stack-report")]
pub mod stackuse;
pub mod timeline;
pub mod tls;
pub mod trace;
pub mod transport;
pub mod xml;
