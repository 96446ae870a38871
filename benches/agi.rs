//! FastAGI under many held calls: the resident memory of 10,000 conversations waiting at a
//! menu prompt at once (each one TCP connection, as Asterisk holds it), and how long a new
//! conversation takes, from connect to its first `STREAM FILE`, while they are held.
//!
//! `cargo bench --bench agi [-- CONVERSATIONS]` (10,000 by default; the release profile), or
//! a first figure in the debug profile: `cargo test --bench agi --no-run`, then the binary
//! it names with the count. The client side (the
//! held sockets, no buffers) lives in the same process, so the memory figure includes its
//! small share, and the process needs two descriptors per conversation: with a hard limit
//! of 20,000 descriptors, ask for 9,000.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark stops at the first surprise, with the message saying which"
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ivr::app::Server;
use ivr::config::Settings;
use ivr::flow::Flow;
use ivr::softphone::asterisk::{Channel, environment};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const NEW_CONVERSATIONS: usize = 200;

fn main() {
    let held: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run(held));
}

async fn run(held: usize) {
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let root = env!("CARGO_MANIFEST_DIR");
    let env = [
        ("IVR_LISTEN", "127.0.0.1:0".to_owned()),
        ("IVR_AGI_LISTEN", "127.0.0.1:0".to_owned()),
        ("IVR_ASTERISK_DIAL", "PJSIP/{}@kz-trunk".to_owned()),
        ("IVR_MAX_CONNECTIONS", (held + NEW_CONVERSATIONS + 100).to_string()),
        ("IVR_FLOW", format!("{root}/flows/hotline.toml")),
        ("IVR_PROMPTS", format!("{root}/prompts")),
        ("IVR_DATA_DIR", scratch.path().join("data").display().to_string()),
        ("IVR_DATABASE_URL", format!("sqlite://{}", scratch.path().join("stats.sqlite3").display())),
        ("IVR_LOG", "error".to_owned()),
        ("IVR_DRAIN_MS", "0".to_owned()),
    ];
    let settings = Settings::from_lookup(|name| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))
        .expect("bench settings");
    let flow = Flow::load(&settings.flow_path).expect("flow");
    let prompts = ivr::prompts::PromptLibrary::load(&settings.prompts_dir).expect("prompts");
    let loaded = ivr::state::assemble(settings, flow, prompts).expect("valid");
    let server = Server::build(loaded).await.expect("binds");
    let address = server.agi_addr().expect("FastAGI listens");
    tokio::spawn(server.run_until(std::future::pending()));

    let before = rss_kib();
    let started = Instant::now();
    let mut conversations = Vec::with_capacity(held);
    for i in 0..held {
        conversations.push(hold(address, i).await.0);
    }
    let opened = started.elapsed();
    let after = rss_kib();
    println!(
        "{held} FastAGI conversations held at a menu prompt: RSS {} MiB -> {} MiB, {:.1} KiB each (opened in {:.1} s)",
        before / 1024,
        after / 1024,
        (after - before) as f64 / held as f64,
        opened.as_secs_f64()
    );
    let mut latencies = Vec::with_capacity(NEW_CONVERSATIONS);
    for i in 0..NEW_CONVERSATIONS {
        latencies.push(hold(address, held + i).await.1);
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "a new conversation while they are held, connect to first STREAM FILE: p50 {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.99),
        latencies[latencies.len() - 1]
    );
    drop(conversations);
}

/// Opens one conversation as Asterisk does and answers until its first prompt; the socket
/// (without its read buffer) and how long that took.
async fn hold(address: SocketAddr, n: usize) -> (TcpStream, Duration) {
    let started = Instant::now();
    let stream = TcpStream::connect(address).await.expect("connects");
    let mut stream = BufReader::with_capacity(256, stream);
    let channel = Channel::new("+77010000000", &format!("1765000000.{n}"));
    stream.get_mut().write_all(environment(&channel, None).as_bytes()).await.expect("environment sent");
    let mut line = String::new();
    loop {
        line.clear();
        assert!(stream.read_line(&mut line).await.expect("a command") > 0, "the conversation ended early");
        if line.starts_with("STREAM FILE") {
            return (stream.into_inner(), started.elapsed());
        }
        let reply: &[u8] = if line.starts_with("SET VARIABLE") { b"200 result=1\n" } else { b"200 result=0\n" };
        stream.get_mut().write_all(reply).await.expect("reply sent");
    }
}

/// This process's resident memory, in KiB (Linux).
fn rss_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("VmRSS: 0 kB");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
}
