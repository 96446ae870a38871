//! The service the queue benchmark measures: `ivr serve` in a process of its own, on SQLite
//! in its scratch folder or on a PostgreSQL database of the run's own, and what the
//! benchmark reads of it (CPU, memory, its log, the database's commits).

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::process::{free_port, healthy, without_colours};
use super::{IVR, LOG_WINDOW, STATEMENT_CONTEXT};

/// The clock tick of /proc's CPU times (USER_HZ): 100 on every Linux this runs on.
pub(super) fn ticks_per_second() -> f64 {
    100.0
}

/// A database of the run's own on a PostgreSQL server.
pub(super) struct Postgres {
    server: String,
    name: String,
    pub(super) url: String,
}

impl Postgres {
    pub(super) fn create(server: &str) -> Postgres {
        let server = server.trim_end_matches('/').to_owned();
        let server = match server.rsplit_once('/') {
            Some((base, db)) if !base.ends_with('/') && !db.contains(':') && !db.contains('@') => base.to_owned(),
            _ => server,
        };
        let name = format!("queuebench_{}", std::process::id());
        let database = Postgres { url: format!("{server}/{name}"), server, name };
        database.psql("postgres", &format!("CREATE DATABASE {}", database.name));
        database
    }

    fn psql(&self, database: &str, sql: &str) -> String {
        let output = Command::new("psql")
            .args([&format!("{}/{database}", self.server), "-tAc", sql])
            .output()
            .expect("psql runs");
        assert!(output.status.success(), "psql: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Transactions committed in the run's database so far (`pg_stat_database`).
    pub(super) fn commits(&self) -> i64 {
        // The statistics are a snapshot per transaction: a fresh one each time.
        let sql = format!(
            "SELECT pg_stat_clear_snapshot(); SELECT xact_commit FROM pg_stat_database WHERE datname = '{}'",
            self.name
        );
        self.psql("postgres", &sql).lines().last().and_then(|l| l.trim().parse().ok()).expect("a count")
    }

    pub(super) fn drop_it(self) {
        self.psql("postgres", &format!("DROP DATABASE {} WITH (FORCE)", self.name));
    }
}

/// `ivr serve` in its own process, in `folder`.
pub(super) struct Service {
    pub(super) child: Child,
    pub(super) http: SocketAddr,
    folder: PathBuf,
    env: Vec<(&'static str, String)>,
    log: PathBuf,
}

impl Service {
    pub(super) fn start(folder: &Path, database: &str, count_statements: bool) -> Service {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for data in ["flows", "prompts"] {
            std::os::unix::fs::symlink(root.join(data), folder.join(data)).expect("linked");
        }
        let http = free_port();
        let mut env = vec![
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("IVR_LISTEN", http.to_string()),
            // A TwiML line: no FastAGI listener (which would need IVR_ASTERISK_DIAL).
            ("IVR_AGI_LISTEN", "off".to_owned()),
            ("IVR_DATABASE_URL", database.to_owned()),
        ];
        if count_statements {
            env.push(("IVR_LOG", "info,tower_http=warn,sqlx::query=debug".to_owned()));
        }
        let log = folder.join("serve.log");
        let child = Command::new(IVR)
            .arg("serve")
            .current_dir(folder)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("a log file"))
            .spawn()
            .expect("ivr serve starts");
        let mut service = Service { child, http, folder: folder.to_owned(), env, log };
        service.wait_until_healthy();
        service
    }

    /// `ivr operators add` for each operator; their targets.
    pub(super) fn add_operators(&self, count: u64) -> Vec<String> {
        (0..count)
            .map(|i| {
                let target = format!("+7717200{i:04}");
                let languages = match i % 5 {
                    0 => "both",
                    1 | 3 => "kk",
                    _ => "ru",
                };
                let status = Command::new(IVR)
                    .args(["operators", "add", "--name", &format!("operator {i}"), "--target", &target])
                    .args(["--languages", languages])
                    .current_dir(&self.folder)
                    .env_clear()
                    .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .expect("ivr operators add runs");
                assert!(status.success(), "ivr operators add {target}");
                target
            })
            .collect()
    }

    /// Polls `GET /healthz` until it answers 200 (the listeners are bound once it does).
    fn wait_until_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("a status") {
                panic!("ivr serve exited ({status}): {}", std::fs::read_to_string(&self.log).unwrap_or_default());
            }
            if healthy(self.http) {
                return;
            }
            assert!(Instant::now() < deadline, "ivr serve answers /healthz within 60 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stat(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("the service's stat")
    }

    /// User and system CPU so far, in clock ticks (`/proc/PID/stat`, fields 14 and 15).
    pub(super) fn cpu_ticks(&self) -> u64 {
        let stat = self.stat();
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
    }

    /// The service's resident memory, in KiB (`VmRSS` of /proc/PID/status).
    pub(super) fn rss_kib(&self) -> i64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("the service's status");
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
        line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a number of KiB")
    }

    pub(super) fn log_len(&self) -> u64 {
        std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0)
    }

    /// The statements sqlx logged over the window, by their first word.
    pub(super) fn count_statements(&self) {
        let (from, to) = LOG_WINDOW.with(std::cell::Cell::get);
        let (asks, seconds, waiting) = STATEMENT_CONTEXT.with(std::cell::Cell::get);
        let mut file = std::fs::File::open(&self.log).expect("the log");
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).expect("the log read");
        let slice = String::from_utf8_lossy(
            &bytes[usize::try_from(from).unwrap_or(0)..usize::try_from(to).unwrap_or(0).min(bytes.len())],
        )
        .into_owned();
        let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
        let mut total = 0u64;
        for line in slice.lines().map(without_colours).filter(|l| l.contains("sqlx::query")) {
            let summary = line.split_once("summary=\"").and_then(|(_, s)| s.split_once('"')).map_or("?", |(s, _)| s);
            *kinds.entry(summary.to_owned()).or_default() += 1;
            total += 1;
        }
        let per_minute = total as f64 / seconds * 60.0;
        println!(
            "statements logged by sqlx in the window: {total} ({:.2} per ask, {:.0} a minute, {:.1} per waiting caller per minute), by sqlx's summary of each:",
            total as f64 / asks.max(1) as f64,
            per_minute,
            per_minute / waiting.max(1.0)
        );
        for (kind, count) in kinds.iter().rev() {
            println!("  {count:>7}  {:.2} per ask  {kind}", *count as f64 / asks.max(1) as f64);
        }
    }

    /// SIGTERM, as systemd stops it; then what it logged at warning or error.
    pub(super) fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().expect("ivr serve exits");
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut loud: BTreeMap<String, u64> = BTreeMap::new();
        for line in log.lines().map(without_colours).filter(|l| l.contains(" WARN ") || l.contains(" ERROR ")) {
            // Counted by level and message, without the time and the call's span.
            let level = if line.contains(" ERROR ") { "ERROR" } else { "WARN" };
            let message = line.find(" ivr").map_or(line.as_str(), |at| &line[at + 1..]);
            *loud.entry(format!("{level} {message}")).or_default() += 1;
        }
        println!("ivr serve exited ({status}); {} log lines; warnings and errors, by message:", log.lines().count());
        for (message, count) in &loud {
            println!("  {count:>6}  {message}");
        }
    }
}
