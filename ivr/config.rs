//! Settings, read once at start-up from `IVR_*` environment variables, or from the
//! configuration file `IVR_CONFIG` names (the environment overriding it: `file.rs`), with
//! defaults that run the service on one machine with nothing to configure (see
//! docs/configuration.md for the full list).
//!
//! Problems are collected rather than returned one at a time, so `ivr check` can list them all.

mod asterisk;
mod file;

pub use asterisk::{AsteriskSettings, DEFAULT_LISTEN as DEFAULT_AGI_LISTEN, DialTemplate};
pub use file::Sources;

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::call_edge::DialTarget;
use crate::logging::{self, LogFormat};

/// Rings in a row an operator does not answer, while free, before the line makes them away,
/// unless `IVR_AWAY_AFTER_UNANSWERED` says otherwise.
pub const UNANSWERED_BEFORE_AWAY: u32 = 2;

/// Everything the service reads from its environment and configuration file, checked at
/// start (see docs/configuration.md).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where webhooks and pages are served (`IVR_LISTEN`).
    pub listen: SocketAddr,
    /// The base URL the provider reaches this service at, without a trailing slash.
    pub public_url: String,
    /// The TwiML provider's auth token; without it signatures are not checked (a warning).
    pub twilio_auth_token: Option<String>,
    /// jambonz's webhook signing secret (several, comma-separated, while rotating).
    pub jambonz_webhook_secret: Option<String>,
    /// Where the emergency key transfers (`IVR_EMERGENCY_NUMBER`, 102 by default).
    pub emergency_number: DialTarget,
    /// The switchboard rung when no operator on the roster is available.
    pub operator_number: Option<DialTarget>,
    /// `sqlite://FILE` or `postgres://…` (`IVR_DATABASE_URL`).
    pub database_url: String,
    /// The call flow's TOML file (`IVR_FLOW`).
    pub flow_path: PathBuf,
    /// The prompt library's folder, with `kk/` and `ru/` (`IVR_PROMPTS`).
    pub prompts_dir: PathBuf,
    /// Where the service writes its own files: the statistics spool (`IVR_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Days raw per-call statistics are kept; daily aggregates are kept for ever.
    pub retention_days: u32,
    /// How long the statistics writer gathers records before committing them.
    pub stats_batch_ms: u64,
    /// Records the statistics channel holds before the webhooks spool instead.
    pub stats_queue: usize,
    /// How long after its webhook was answered a record may wait for the database before
    /// it is spooled instead.
    pub stats_timeout_ms: u64,
    /// How often the operator roster is reloaded from the database into memory.
    pub roster_refresh_ms: u64,
    /// Seconds of wrap-up after an operator's call ends, before they are rung again.
    pub wrap_up_seconds: u32,
    /// Rings in a row an operator leaves unanswered before the line makes them away; 0: never.
    pub away_after_unanswered: u32,
    /// The operators' queue: who is rung, how long a caller waits for their language.
    pub queue: QueueSettings,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`access/client.rs`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Password checks (argon2id, 19 MiB each) that may run at once.
    pub password_checks: usize,
    /// Where Prometheus scrapes `/metrics`; off when unset.
    pub metrics_listen: Option<SocketAddr>,
    /// How log lines are written (`IVR_LOG_FORMAT`); the filter is `IVR_LOG`.
    pub log_format: LogFormat,
    /// How long a shutdown keeps answering webhooks (readiness failing) before it exits.
    pub drain_ms: u64,
    /// How long a client may take to send a request's headers, counted from when the
    /// connection is ready for one: also how long a kept-alive connection may sit idle.
    pub header_timeout_ms: u64,
    /// How long a client may take to send a request's body.
    pub body_timeout_ms: u64,
    /// Connections held at once; `None`: derived from the descriptor limit at start-up.
    pub max_connections: Option<usize>,
    /// The Asterisk dialect: the FastAGI listener, who may connect, how targets are dialled.
    pub asterisk: AsteriskSettings,
    /// Mixed into the statistics keys beside the webhook secrets (`IVR_LINE_SECRET`).
    pub line_secret: Option<String>,
}

/// The operators' queue's settings (see docs/operators.md, "The queue").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueSettings {
    /// Who is rung for the caller at the front (`IVR_QUEUE_STRATEGY`).
    pub strategy: QueueStrategy,
    /// How long a caller waits for an operator of their language before operators of the
    /// other language, then the switchboard, then the busy menu are tried
    /// (`IVR_QUEUE_LONGEST_WAIT_SECONDS`).
    pub longest_wait_seconds: u32,
    /// The stretch of waiting a caller hears between two asks for their turn
    /// (`IVR_QUEUE_WAIT_SECONDS`): the longest a free operator waits for the next caller.
    pub wait_seconds: u8,
}

/// Who is rung for a caller at the front of the queue (`IVR_QUEUE_STRATEGY`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueueStrategy {
    /// The free operator who has waited longest; no answer moves to the next.
    #[default]
    LongestFree,
    /// Every free operator at once, for a small team: the caller at the front of the queue
    /// is offered to all of them, and the first to answer takes the call. Still one caller
    /// per operator.
    RingAll,
}

impl QueueStrategy {
    /// `longest_free` or `ring_all`.
    pub fn parse(text: &str) -> Option<QueueStrategy> {
        match text {
            "longest_free" => Some(QueueStrategy::LongestFree),
            "ring_all" => Some(QueueStrategy::RingAll),
            _ => None,
        }
    }

    /// The setting's word.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueStrategy::LongestFree => "longest_free",
            QueueStrategy::RingAll => "ring_all",
        }
    }
}

/// `IVR_PUBLIC_URL` parsed as a URL and written back in its normal form, without a trailing
/// slash: every TwiML document and jambonz hook begins with it, and the provider signs
/// what it calls with it. Refused, with what is wrong: a scheme other than http(s), no host,
/// a user or password, a query or fragment (`?`, `#`), and characters a URL cannot carry
/// as they are (spaces, `"`, `<`, `>`, controls, non-ASCII: write them percent-encoded).
pub fn base_url(text: &str) -> Result<String, &'static str> {
    let text = text.trim();
    let unusable = |c: char| !c.is_ascii_graphic() || "\"<>\\^`{|}".contains(c);
    if text.contains(unusable) {
        return Err("has a character a URL cannot carry as it is (a space, \", <, >, a control or non-ASCII)");
    }
    let url = url::Url::parse(text).map_err(|_| "is not a URL such as https://ivr.example.kz")?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err("must be an http:// or https:// URL with a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user or password");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must be a base URL, without a query (?) or fragment (#)");
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A comma-separated list of addresses and networks, or the first entry that is neither.
fn proxies(text: &str) -> Result<Vec<ipnet::IpNet>, &str> {
    let entries = text.split(',').map(str::trim).filter(|e| !e.is_empty());
    entries
        .map(|entry| {
            let net = entry.parse::<ipnet::IpNet>();
            net.or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from)).map_err(|_| entry)
        })
        .collect()
}

impl Settings {
    /// Reads the process environment and the configuration file it names (`IVR_CONFIG`).
    pub fn from_env() -> Result<Settings, Vec<String>> {
        Settings::from_sources(|name| std::env::var(name).ok())
    }

    /// Reads `env` and the configuration file it names (`IVR_CONFIG`), the environment
    /// winning; every problem of both is listed, keys of the file no setting reads included.
    pub fn from_sources(env: impl Fn(&str) -> Option<String>) -> Result<Settings, Vec<String>> {
        let sources = Sources::with(&env);
        let read = std::cell::RefCell::new(std::collections::HashSet::new());
        let settings = Settings::from_lookup(|name| {
            read.borrow_mut().insert(name.to_owned());
            sources.get(&env, name)
        });
        let mut problems = sources.problems.clone();
        problems.extend(sources.unknown(&read.borrow()));
        match settings {
            Ok(settings) if problems.is_empty() => Ok(settings),
            Ok(_) => Err(problems),
            Err(more) => Err(problems.into_iter().chain(more).collect()),
        }
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, Vec<String>> {
        let mut problems = Vec::new();
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let listen = get("IVR_LISTEN").unwrap_or_else(|| "127.0.0.1:8111".to_owned());
        let listen = listen.parse().unwrap_or_else(|_| {
            problems.push(format!("IVR_LISTEN: `{listen}` is not an address:port such as 127.0.0.1:8111"));
            SocketAddr::from(([127, 0, 0, 1], 8111))
        });
        let metrics_listen = get("IVR_METRICS_LISTEN").and_then(|text| {
            let parsed = text.trim().parse().ok();
            if parsed.is_none() {
                problems.push(format!("IVR_METRICS_LISTEN: `{text}` is not an address:port such as 127.0.0.1:9111"));
            }
            parsed
        });
        let log_format = get("IVR_LOG_FORMAT").map_or(LogFormat::Text, |text| {
            LogFormat::parse(&text).unwrap_or_else(|| {
                problems.push(format!("IVR_LOG_FORMAT: `{text}` is neither `text` nor `json`"));
                LogFormat::Text
            })
        });
        if let Some(Err(problem)) = get("IVR_LOG").map(|filter| logging::parse_filter(&filter)) {
            problems.push(problem);
        }
        let public_url = get("IVR_PUBLIC_URL").unwrap_or_else(|| format!("http://{listen}"));
        let public_url = base_url(&public_url).unwrap_or_else(|problem| {
            problems.push(format!("IVR_PUBLIC_URL: {} {problem}", crate::flow::quoted(&public_url)));
            public_url
        });
        let mut target = |name: &str, default: Option<&str>| {
            let text = get(name).or(default.map(str::to_owned))?;
            let parsed = DialTarget::parse(&text);
            if parsed.is_none() {
                problems.push(format!(
                    "{name}: `{text}` is neither a phone number (digits, optional +), a sip: URI nor an Asterisk dial string (PJSIP/…)"
                ));
            }
            parsed
        };
        let emergency_number = target("IVR_EMERGENCY_NUMBER", Some("102"));
        let operator_number = target("IVR_OPERATOR_NUMBER", None);
        let path = |name: &str, default: &str| PathBuf::from(get(name).unwrap_or_else(|| default.to_owned()));
        let mut number = |name: &str, default: u64, range: std::ops::RangeInclusive<u64>| {
            let Some(text) = get(name) else { return default };
            match text.trim().parse::<u64>() {
                Ok(n) if range.contains(&n) => n,
                _ => {
                    let (low, high) = range.into_inner();
                    problems.push(format!("{name}: `{text}` is not a whole number from {low} to {high}"));
                    default
                }
            }
        };
        let retention_days = number("IVR_RETENTION_DAYS", 365, 1..=36_500) as u32;
        let stats_batch_ms = number("IVR_STATS_BATCH_MS", 50, 1..=600_000);
        let stats_queue = number("IVR_STATS_QUEUE", 8192, 1..=1_000_000) as usize;
        let stats_timeout_ms = number("IVR_STATS_TIMEOUT_MS", 200, 100..=600_000);
        // 1 s: a state changed on one instance reaches every other one within 2 s.
        let roster_refresh_ms = number("IVR_ROSTER_REFRESH_MS", 1000, 50..=3_600_000);
        let wrap_up_seconds = number("IVR_WRAP_UP_SECONDS", 30, 0..=3600) as u32;
        let away_after_unanswered = number("IVR_AWAY_AFTER_UNANSWERED", UNANSWERED_BEFORE_AWAY.into(), 0..=10) as u32;
        let longest_wait_seconds = number("IVR_QUEUE_LONGEST_WAIT_SECONDS", 120, 0..=3600) as u32;
        let wait_seconds = number("IVR_QUEUE_WAIT_SECONDS", 5, 1..=30) as u8;
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let password_checks = number("IVR_PASSWORD_CHECKS", cores.clamp(1, 4) as u64, 1..=64) as usize;
        let drain_ms = number("IVR_DRAIN_MS", 10_000, 0..=600_000);
        let header_timeout_ms = number("IVR_HEADER_TIMEOUT_MS", 10_000, 100..=600_000);
        let body_timeout_ms = number("IVR_BODY_TIMEOUT_MS", 10_000, 100..=600_000);
        let agi_timeout_ms = number("IVR_AGI_TIMEOUT_MS", 10_000, 100..=600_000);
        let max_connections =
            get("IVR_MAX_CONNECTIONS").map(|_| number("IVR_MAX_CONNECTIONS", 0, 1..=1_000_000) as usize);
        let trusted_proxies = get("IVR_TRUSTED_PROXIES").map_or_else(Vec::new, |text| {
            proxies(&text).unwrap_or_else(|bad| {
                problems.push(format!(
                    "IVR_TRUSTED_PROXIES: {} is not an address or network such as 127.0.0.1 or 10.0.0.0/8",
                    crate::flow::quoted(bad)
                ));
                Vec::new()
            })
        });
        let strategy = get("IVR_QUEUE_STRATEGY").map_or(QueueStrategy::LongestFree, |text| {
            QueueStrategy::parse(text.trim()).unwrap_or_else(|| {
                problems.push(format!("IVR_QUEUE_STRATEGY: `{text}` is neither longest_free nor ring_all"));
                QueueStrategy::LongestFree
            })
        });
        let queue = QueueSettings { strategy, longest_wait_seconds, wait_seconds };
        let asterisk = AsteriskSettings::read(&get, agi_timeout_ms, &mut problems);
        let twilio_auth_token = get("IVR_TWILIO_AUTH_TOKEN");
        let jambonz_webhook_secret = get("IVR_JAMBONZ_WEBHOOK_SECRET");
        let webhooks = configured_webhooks(&twilio_auth_token, &jambonz_webhook_secret);
        for (name, target) in [("IVR_EMERGENCY_NUMBER", &emergency_number), ("IVR_OPERATOR_NUMBER", &operator_number)] {
            if let Some(target) = target {
                problems.extend(asterisk::undialable(name, target, &asterisk, &webhooks));
            }
        }
        if stats_batch_ms.saturating_mul(2) > stats_timeout_ms {
            problems.push(format!(
                "IVR_STATS_BATCH_MS ({stats_batch_ms}) must be at most half of IVR_STATS_TIMEOUT_MS ({stats_timeout_ms}): \
                 records wait that long before the writer takes them"
            ));
        }
        let settings = Settings {
            listen,
            public_url,
            twilio_auth_token,
            jambonz_webhook_secret,
            emergency_number: emergency_number.unwrap_or(DialTarget::Number("102".to_owned())),
            operator_number,
            database_url: get("IVR_DATABASE_URL").unwrap_or_else(|| "sqlite://ivr.sqlite3".to_owned()),
            flow_path: path("IVR_FLOW", "flows/hotline.toml"),
            prompts_dir: path("IVR_PROMPTS", "prompts"),
            data_dir: path("IVR_DATA_DIR", "data"),
            retention_days,
            stats_batch_ms,
            stats_queue,
            stats_timeout_ms,
            roster_refresh_ms,
            wrap_up_seconds,
            away_after_unanswered,
            queue,
            trusted_proxies,
            password_checks,
            metrics_listen,
            log_format,
            drain_ms,
            header_timeout_ms,
            body_timeout_ms,
            max_connections,
            asterisk,
            line_secret: get("IVR_LINE_SECRET"),
        };
        if problems.is_empty() { Ok(settings) } else { Err(problems) }
    }

    /// What is wrong with ringing `target` (named `name` in each sentence) on this line: a
    /// dialect it is configured for cannot dial it (the rule `IVR_EMERGENCY_NUMBER` and
    /// `IVR_OPERATOR_NUMBER` are held to at start, see `config::asterisk`).
    pub fn undialable(&self, name: &str, target: &DialTarget) -> Vec<String> {
        let webhooks = configured_webhooks(&self.twilio_auth_token, &self.jambonz_webhook_secret);
        asterisk::undialable(name, target, &self.asterisk, &webhooks)
    }

    /// What works but should not go to production this way.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.twilio_auth_token.is_none() {
            warnings.push("IVR_TWILIO_AUTH_TOKEN is not set: webhook signatures are NOT checked".to_owned());
        }
        if self.jambonz_webhook_secret.is_none() {
            warnings
                .push("IVR_JAMBONZ_WEBHOOK_SECRET is not set: jambonz webhook signatures are NOT checked".to_owned());
        }
        let asterisk = &self.asterisk;
        if asterisk.listen.is_some() && !asterisk.configured && asterisk.dial_string(&self.emergency_number).is_none() {
            warnings.push(format!(
                "FastAGI listens on {DEFAULT_AGI_LISTEN} but IVR_ASTERISK_DIAL is not set: Asterisk callers who press 9 \
                 hear the police number instead of being connected"
            ));
        }
        if self.operator_number.is_none() {
            warnings.push(
                "IVR_OPERATOR_NUMBER is not set: when no operator on the roster is available, callers hear that operators are busy"
                    .to_owned(),
            );
        }
        warnings
    }
}

/// The webhook dialects, each with whether the line is configured for it (its secret set).
fn configured_webhooks(
    twilio_auth_token: &Option<String>,
    jambonz_webhook_secret: &Option<String>,
) -> [(&'static str, bool); 2] {
    [("TwiML", twilio_auth_token.is_some()), ("jambonz", jambonz_webhook_secret.is_some())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_url_is_parsed_and_what_cannot_be_used_is_refused() {
        assert_eq!(base_url("https://IVR.example.kz:443/hotline/").as_deref(), Ok("https://ivr.example.kz/hotline"));
        assert_eq!(base_url("http://127.0.0.1:8111").as_deref(), Ok("http://127.0.0.1:8111"));
        assert_eq!(
            base_url("https://ivr.example/a&b").as_deref(),
            Ok("https://ivr.example/a&b"),
            "escaped where written"
        );
        for bad in [
            "https://ivr.example/a\"b",
            "https://ivr.example/<x>",
            "https://ivr.example/a b",
            "https://ivr.example/#frag",
            "https://ivr.example/?q=1",
            "https://user:pw@ivr.example",
            "ftp://ivr.example",
            "https://",
            "ivr.example",
            "https://ivr.example/\u{1}",
            "https://ивр.kz",
        ] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bad_public_url_is_a_problem_named_with_the_variable() {
        let problems = Settings::from_lookup(|name| (name == "IVR_PUBLIC_URL").then(|| "https://x/\"&<".to_owned()))
            .expect_err("refused");
        assert!(problems.iter().any(|p| p.starts_with("IVR_PUBLIC_URL: `https://x/\"&<`")), "{problems:?}");
    }
}
