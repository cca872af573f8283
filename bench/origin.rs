//! The benchmark's origin server: fetchpar's own loopback server (`fetchpar::origin`) as a
//! process. Prints its address on stdout, then serves until killed.
//!
//! `cargo run --release --example origin -- [ADDR]` (ADDR defaults to 127.0.0.1:0).

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    // Room for every connection the peers open, made before the server's threads start.
    fetchpar::descriptors::reserve(16 * 1024);
    let origin = fetchpar::origin::Origin::bind_ready(&addr, 1024)?;
    println!("{}", origin.addr());
    origin.serve_forever();
    Ok(())
}
