//! Logs go to stderr, as text for a person (`IVR_LOG_FORMAT=text`, the default) or as one
//! JSON object per line for a log collector (`IVR_LOG_FORMAT=json`), through tracing's own
//! JSON layer. Text is coloured only when stderr is a terminal, so a log file or the
//! journal never holds escape codes.
//!
//! It imports nothing of the service, so the settings (`config`) can check `IVR_LOG` and
//! `IVR_LOG_FORMAT` with it.
//!
//! Whatever the format, no caller identifier reaches a log line: webhook spans carry the
//! service's own call id, never the provider's (a keyed hash of it, or random:
//! `stats/keys.rs`), and no form field is ever logged (`tests/api/stats/privacy.rs`
//! searches both formats).

use std::io::IsTerminal;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// The filter when `IVR_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,tower_http=warn";

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One line of text per event, for a person reading a terminal or the journal.
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

impl LogFormat {
    /// `text` or `json` (`IVR_LOG_FORMAT`); `None` for anything else.
    pub fn parse(text: &str) -> Option<LogFormat> {
        match text.trim().to_ascii_lowercase().as_str() {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// Checks an `IVR_LOG` filter; the sentence says what is wrong with it.
pub fn parse_filter(text: &str) -> Result<EnvFilter, String> {
    EnvFilter::try_new(text)
        .map_err(|e| format!("IVR_LOG: `{text}` is not a log filter such as `{DEFAULT_FILTER}` ({e})"))
}

/// A formatting layer writing to `writer` in `format`; `ansi` colours text.
pub fn layer<W>(format: LogFormat, writer: W, ansi: bool) -> Box<dyn Layer<Registry> + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let text = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        LogFormat::Text => text.with_ansi(ansi).boxed(),
        LogFormat::Json => text.json().with_current_span(true).with_span_list(false).boxed(),
    }
}

/// Installs the process's logging from `IVR_LOG` and `IVR_LOG_FORMAT` (read through `lookup`:
/// the environment, then the configuration file). A value that does not parse falls back to
/// the default here; `ivr check` and start-up report it as a problem (see `config.rs`).
pub fn init(lookup: impl Fn(&str) -> Option<String>) {
    let format = lookup("IVR_LOG_FORMAT").and_then(|f| LogFormat::parse(&f)).unwrap_or_default();
    let filter =
        lookup("IVR_LOG").and_then(|f| parse_filter(&f).ok()).unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    let ansi = std::io::stderr().is_terminal();
    Registry::default().with(layer(format, std::io::stderr, ansi).with_filter(filter)).init();
}
