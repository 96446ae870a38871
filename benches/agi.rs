//! FastAGI under many held calls, against the real `ivr serve` in a process of its own: the
//! service's resident memory with 10,000 conversations waiting at a menu prompt at once
//! (each one TCP connection, as Asterisk holds a call), and how long a new conversation
//! takes while they are held.
//!
//! `cargo bench --bench agi [-- CONVERSATIONS [NEW]]` (10,000 held and 1,000 new by
//! default). The service is this build's `ivr` (the release profile under `cargo bench`),
//! run as README's `cargo run` runs it: default log level, statistics on into `ivr.sqlite3`
//! in its working folder (a scratch folder holding links to the bundled flow and prompts),
//! but for its two addresses (free loopback ports, so a service already on the defaults is
//! not in the way) and `IVR_ASTERISK_DIAL`, which an Asterisk line sets (docs/asterisk.md).
//! This process is Asterisk: it raises its own descriptor limit to the hard one (one
//! descriptor per held conversation) and the service raises its own at start-up.
//!
//! Each held conversation is answered as Asterisk answers (`ANSWER`, `SET VARIABLE
//! IVR_STATE`) up to the language choice's first `STREAM FILE` and left there: the prompt
//! is playing, the service waits for its reply, which is where a real call spends its
//! menus. (`WAIT FOR DIGIT` is the other place, but Asterisk answers it within the menu's
//! gather timeout, 5 s, so a call cannot be held there.) A new conversation is timed from
//! its `connect` to the first command read (`ANSWER`: the environment was read and taken)
//! and to its first `STREAM FILE` (the caller hears the menu), one at a time, each hung up
//! afterwards as Asterisk does (`HANGUP`, then -1 for the prompt in flight).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark stops at the first surprise, with the message saying which"
)]

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ivr::softphone::asterisk::{Channel, environment};
use process::{free_port, healthy, without_colours};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[path = "support/process.rs"]
mod process;

const IVR: &str = env!("CARGO_BIN_EXE_ivr");
/// Conversations opened and hung up before the idle figure is taken again: what the first
/// calls set up once (the database's connection, the day's keys, buffers) is not per call.
const WARM_UP: usize = 100;

fn main() {
    let mut numbers = std::env::args().skip(1).filter_map(|a| a.parse::<usize>().ok());
    let held = numbers.next().unwrap_or(10_000);
    let new = numbers.next().unwrap_or(1_000).max(1);
    let descriptors = rlimit::increase_nofile_limit(u64::MAX).expect("the descriptor limit");
    assert!(
        descriptors as usize > held + 64,
        "this process may open {descriptors} descriptors, {held} conversations need more: raise `ulimit -Hn`"
    );
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let service = Service::start(scratch.path());
    println!("ivr serve ({IVR}), pid {}: {}", service.pid(), service.limit_line());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(measure(&service, held, new));
    service.stop();
}

async fn measure(service: &Service, held: usize, new: usize) {
    let idle = service.rss_kib();
    for n in 0..WARM_UP {
        hang_up(open(service.agi, n).await.0).await;
    }
    let warm = service.rss_kib();
    println!("idle: RSS {} KiB at start, {} KiB after {WARM_UP} conversations hung up", idle, warm);

    let started = Instant::now();
    let mut conversations = Vec::with_capacity(held);
    for n in 0..held {
        conversations.push(open(service.agi, WARM_UP + n).await.0);
    }
    let opened = started.elapsed();
    let holding = service.rss_kib();
    println!(
        "{held} conversations held at a menu prompt (opened in {:.1} s): RSS {} KiB, {:.1} KiB per conversation over the idle {} KiB",
        opened.as_secs_f64(),
        holding,
        (holding - warm) as f64 / held as f64,
        warm
    );

    let (mut to_answer, mut to_prompt) = (Vec::with_capacity(new), Vec::with_capacity(new));
    for n in 0..new {
        let (conversation, timings) = open(service.agi, WARM_UP + held + n).await;
        to_answer.push(timings.first_command);
        to_prompt.push(timings.first_prompt);
        hang_up(conversation).await;
    }
    println!("{new} new conversations, one at a time, while the {held} are held:");
    println!("  connect to the first command (ANSWER): {}", Percentiles::of(to_answer));
    println!("  connect to the first STREAM FILE:      {}", Percentiles::of(to_prompt));
    let after = service.rss_kib();
    let open = conversations.iter().filter(|c| still_open(&c.stream)).count();
    println!("after them: RSS {after} KiB; {open} of the {held} held conversations still open");
    assert_eq!(open, held, "every held conversation is still waiting at its prompt");
    drop(conversations);
}

/// One conversation as Asterisk holds it, at its first menu prompt.
struct Conversation {
    stream: BufReader<TcpStream>,
}

/// How long a new conversation took to get going, from its `connect`.
struct Timings {
    first_command: Duration,
    first_prompt: Duration,
}

/// Connects, sends the environment of channel `n` and answers until the first prompt
/// that a key may cut.
async fn open(address: SocketAddr, n: usize) -> (Conversation, Timings) {
    let started = Instant::now();
    let stream = TcpStream::connect(address).await.expect("connects");
    let mut stream = BufReader::with_capacity(512, stream);
    let channel = Channel::new("+77010000000", &format!("1765000000.{n}"));
    stream.get_mut().write_all(environment(&channel, None).as_bytes()).await.expect("environment sent");
    let mut line = String::new();
    let mut first_command = None;
    loop {
        line.clear();
        assert!(stream.read_line(&mut line).await.expect("a command") > 0, "the service closed conversation {n}");
        let first_command = *first_command.get_or_insert_with(|| started.elapsed());
        if line.starts_with("STREAM FILE") {
            let timings = Timings { first_command, first_prompt: started.elapsed() };
            return (Conversation { stream }, timings);
        }
        let reply: &[u8] = if line.starts_with("SET VARIABLE") { b"200 result=1\n" } else { b"200 result=0\n" };
        stream.get_mut().write_all(reply).await.expect("reply sent");
    }
}

/// The caller hangs up during the prompt, as Asterisk says it; then the connection closes.
async fn hang_up(mut conversation: Conversation) {
    let stream = conversation.stream.get_mut();
    stream.write_all(b"HANGUP\n200 result=-1 endpos=800\n").await.expect("hang-up sent");
    stream.shutdown().await.expect("closed");
}

/// Whether the service still holds the conversation open (nothing to read, no end).
fn still_open(stream: &BufReader<TcpStream>) -> bool {
    let mut byte = [0; 1];
    matches!(stream.get_ref().try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// p50, p99 and the maximum of a set of durations, in milliseconds.
struct Percentiles(Vec<Duration>);

impl Percentiles {
    fn of(mut durations: Vec<Duration>) -> Percentiles {
        durations.sort_unstable();
        Percentiles(durations)
    }

    fn at(&self, q: f64) -> f64 {
        let index = ((self.0.len() as f64 * q).ceil() as usize).clamp(1, self.0.len()) - 1;
        self.0[index].as_secs_f64() * 1000.0
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", self.at(0.5), self.at(0.99), self.at(1.0))
    }
}

/// `ivr serve` in its own process, in `folder`.
struct Service {
    child: Child,
    agi: SocketAddr,
    log: std::path::PathBuf,
}

impl Service {
    fn start(folder: &Path) -> Service {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for data in ["flows", "prompts"] {
            std::os::unix::fs::symlink(root.join(data), folder.join(data)).expect("linked");
        }
        let (http, agi) = (free_port(), free_port());
        let log = folder.join("serve.log");
        let child = Command::new(IVR)
            .arg("serve")
            .current_dir(folder)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("IVR_LISTEN", http.to_string())
            .env("IVR_AGI_LISTEN", agi.to_string())
            .env("IVR_ASTERISK_DIAL", "PJSIP/{}@kz-trunk")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("a log file"))
            .spawn()
            .expect("ivr serve starts");
        let mut service = Service { child, agi, log };
        service.wait_until_healthy(http);
        service
    }

    /// Polls `GET /healthz` until it answers 200 (the listeners are bound once it does).
    fn wait_until_healthy(&mut self, http: SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("a status") {
                panic!("ivr serve exited ({status}): {}", std::fs::read_to_string(&self.log).unwrap_or_default());
            }
            if healthy(http) {
                return;
            }
            assert!(Instant::now() < deadline, "ivr serve answers /healthz within 60 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The service's resident memory, in KiB (`VmRSS` of /proc/PID/status).
    fn rss_kib(&self) -> i64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("the service's status");
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
        line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a number of KiB")
    }

    /// The line where the service says its connection cap and descriptor limit.
    fn limit_line(&self) -> String {
        let file = std::fs::File::open(&self.log).expect("the log");
        let line = std::io::BufReader::new(file).lines().map_while(Result::ok).find(|l| l.contains("connection limit"));
        line.map(|l| without_colours(&l)).unwrap_or_else(|| "no `connection limit` line logged".to_owned())
    }

    /// SIGTERM, as systemd stops it; then what it logged above the info level.
    fn stop(mut self) {
        let pid = self.pid().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().expect("ivr serve exits");
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let loud: Vec<String> =
            log.lines().map(without_colours).filter(|l| l.contains("WARN") || l.contains("ERROR")).collect();
        println!("ivr serve exited ({status}); {} log lines, {} warnings or errors", log.lines().count(), loud.len());
        for line in loud.iter().take(10) {
            println!("  {line}");
        }
    }
}
