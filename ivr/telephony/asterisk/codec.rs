//! The FastAGI wire format, as Asterisk's `res/res_agi.c` speaks it: the environment block
//! it sends first (`agi_name: value` lines until an empty line), the commands we send (a
//! line of words, arguments quoted the way its `parse_args` reads them) and its replies
//! (`200 result=N [(data)] [endpos=M]`, `510`/`511` errors, the multi-line `520` usage text,
//! and the `HANGUP` line it writes on its own when the caller hangs up).
//!
//! Our own small codec rather than a crate: the two on crates.io either read the whole
//! environment before any admission check and wait for a slot instead of refusing
//! (`asterisk-rs-agi`), or own the accept loop and its logging (`blazing_agi`); we need
//! the allow list at accept, a refusing cap, our drain and per-command timeouts.
//!
//! The caller's identifiers in the environment (`agi_callerid`, `agi_uniqueid`) are held in
//! [`Private`], which has no `Debug` or `Display`: they cannot reach a log line by accident.
//! The other identifying fields (`agi_calleridname`, `agi_dnid`, `agi_rdnis`,
//! `agi_channel`) are read past and dropped.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// A line longer than this is not Asterisk's.
pub const MAX_LINE: usize = 4096;
/// An environment of more lines is not Asterisk's (it sends about 25, plus the arguments).
const MAX_ENVIRONMENT_LINES: usize = 128;

/// Why a conversation could not go on: said once in the log, never with the line's text.
#[derive(Debug, thiserror::Error)]
pub enum Broken {
    /// The peer closed the connection.
    #[error("the connection closed")]
    Closed,
    /// A line that is not what Asterisk sends.
    #[error("malformed {0} from the peer")]
    Malformed(&'static str),
    /// Reading or writing failed.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

/// A caller identifier: kept only as long as it is needed, never printed.
pub struct Private(String);

impl Private {
    /// The identifier, for the keyed hash it goes into.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// What Asterisk says about the call when it connects.
#[derive(Default)]
pub struct Environment {
    /// The script path of `agi://host:port/<script>` (`agi_network_script`), without `/`.
    pub script: String,
    /// `agi_arg_1`, `agi_arg_2`, …: the arguments `AGI()` was given.
    pub args: Vec<String>,
    /// The channel's unique id (`agi_uniqueid`): our call id is its keyed hash.
    pub uniqueid: Option<Private>,
    /// The caller's number (`agi_callerid`): only for the repeat-caller hash.
    pub callerid: Option<Private>,
}

/// Asterisk's answer to one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `200 result=N`, with the parenthesised data of some commands.
    Success {
        /// `result=`: a digit's ASCII code, 0, 1, or -1 on hang-up or failure.
        result: i64,
        /// `(…)`: a variable's value for `GET VARIABLE`.
        data: Option<String>,
    },
    /// `510`, `511` (the channel is dead) or `520`: the command was not run.
    Refused(u16),
}

/// Reads one line (without its end), `None` at the end of the stream.
pub async fn read_line(reader: &mut (impl AsyncBufRead + Unpin)) -> Result<Option<String>, Broken> {
    let mut bytes = Vec::with_capacity(64);
    let read = reader.take(MAX_LINE as u64 + 1).read_until(b'\n', &mut bytes).await?;
    if read == 0 {
        return Ok(None);
    }
    if bytes.last() != Some(&b'\n') {
        return Err(if bytes.len() > MAX_LINE { Broken::Malformed("line (too long)") } else { Broken::Closed });
    }
    bytes.pop();
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    String::from_utf8(bytes).map(Some).map_err(|_| Broken::Malformed("line (not UTF-8)"))
}

/// Reads the environment block up to its empty line.
pub async fn read_environment(reader: &mut (impl AsyncBufRead + Unpin)) -> Result<Environment, Broken> {
    let mut environment = Environment::default();
    for _ in 0..MAX_ENVIRONMENT_LINES {
        let line = read_line(reader).await?.ok_or(Broken::Closed)?;
        if line.is_empty() {
            return Ok(environment);
        }
        let field = line.split_once(": ").or_else(|| Some((line.strip_suffix(':')?, "")));
        let (name, value) = field.ok_or(Broken::Malformed("environment"))?;
        if !name.starts_with("agi_") || name.contains(char::is_whitespace) {
            return Err(Broken::Malformed("environment"));
        }
        environment.take(name, value.trim());
    }
    Err(Broken::Malformed("environment (too long)"))
}

impl Environment {
    fn take(&mut self, name: &str, value: &str) {
        let known = |value: &str| !value.is_empty() && value != "unknown";
        match name {
            "agi_network_script" => value.trim_start_matches('/').clone_into(&mut self.script),
            "agi_request" if self.script.is_empty() => self.script = script_of(value).to_owned(),
            "agi_uniqueid" if known(value) => self.uniqueid = Some(Private(value.to_owned())),
            "agi_callerid" if known(value) => self.callerid = Some(Private(value.to_owned())),
            _ => {
                let arg = name.strip_prefix("agi_arg_").and_then(|n| n.parse::<usize>().ok());
                if let Some(n) = arg.filter(|n| (1..=32).contains(n)) {
                    self.args.resize(self.args.len().max(n), String::new());
                    value.clone_into(&mut self.args[n - 1]);
                }
            }
        }
    }
}

/// The script path of an `agi://host:port/script?query` request.
fn script_of(request: &str) -> &str {
    let rest = request.split_once("://").map_or(request, |(_, rest)| rest);
    rest.split_once('/').map_or("", |(_, path)| path)
}

/// Parses a reply line that is not `HANGUP`; a `520-` line starts the usage text, read by
/// the caller up to its `520 ` line.
pub fn parse_reply(line: &str) -> Result<Reply, Broken> {
    let (code, rest) = (line.get(..3).unwrap_or(""), line.get(3..).unwrap_or(""));
    let rest = match rest.chars().next() {
        None => rest,
        Some(' ' | '-') => &rest[1..],
        Some(_) => return Err(Broken::Malformed("reply")),
    };
    match code {
        "200" => success(rest),
        "510" | "511" | "520" => Ok(Reply::Refused(code.parse().unwrap_or(510))),
        _ => Err(Broken::Malformed("reply")),
    }
}

fn success(rest: &str) -> Result<Reply, Broken> {
    let value = rest.strip_prefix("result=").ok_or(Broken::Malformed("reply"))?;
    let (number, rest) = value.split_once(' ').unwrap_or((value, ""));
    let result = number.parse().map_err(|_| Broken::Malformed("reply"))?;
    let data = rest.strip_prefix('(').and_then(|d| d.rfind(')').map(|end| d[..end].to_owned()));
    Ok(Reply::Success { result, data })
}

/// One command line: the words as they are, each argument quoted (`"` and `\` escaped).
pub fn command(words: &str, args: &[&str]) -> String {
    let mut line = String::with_capacity(words.len() + args.iter().map(|a| a.len() + 3).sum::<usize>() + 1);
    line.push_str(words);
    for arg in args {
        line.push_str(" \"");
        for c in arg.chars().filter(|c| !c.is_control()) {
            if c == '"' || c == '\\' {
                line.push('\\');
            }
            line.push(c);
        }
        line.push('"');
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_environment_is_read_to_its_empty_line_and_keeps_only_what_the_call_needs() {
        let text = "agi_network: yes\nagi_network_script: hotline\nagi_request: agi://127.0.0.1:4573/hotline\n\
                    agi_channel: PJSIP/caller-00000001\nagi_uniqueid: 1733580000.12\nagi_callerid: +77011234567\n\
                    agi_calleridname: Aigerim\nagi_dnid: 111\nagi_arg_1: c=00000000000000ab&n=main\n\nSTREAM";
        let mut reader = tokio::io::BufReader::new(text.as_bytes());
        let environment = read_environment(&mut reader).await.expect("read");
        assert_eq!(environment.script, "hotline");
        assert_eq!(environment.args, ["c=00000000000000ab&n=main"]);
        assert_eq!(environment.uniqueid.as_ref().map(Private::expose), Some("1733580000.12"));
        assert_eq!(environment.callerid.as_ref().map(Private::expose), Some("+77011234567"));
    }

    #[tokio::test]
    async fn an_environment_that_is_not_asterisks_is_malformed() {
        for text in ["GET / HTTP/1.1\r\n\r\n", "agi_request agi://x/hotline\n\n", "agi_x: y\n"] {
            let mut reader = tokio::io::BufReader::new(text.as_bytes());
            assert!(read_environment(&mut reader).await.is_err(), "{text:?}");
        }
        let long = format!("agi_arg_1: {}\n\n", "x".repeat(MAX_LINE));
        let mut reader = tokio::io::BufReader::new(long.as_bytes());
        assert!(matches!(read_environment(&mut reader).await, Err(Broken::Malformed(_))));
    }

    #[test]
    fn replies_are_parsed() {
        assert_eq!(parse_reply("200 result=57 endpos=9120").ok(), Some(Reply::Success { result: 57, data: None }));
        assert_eq!(
            parse_reply("200 result=1 (NOANSWER)").ok(),
            Some(Reply::Success { result: 1, data: Some("NOANSWER".into()) })
        );
        assert_eq!(parse_reply("200 result=-1").ok(), Some(Reply::Success { result: -1, data: None }));
        assert_eq!(parse_reply("511 Command Not Permitted on a dead channel").ok(), Some(Reply::Refused(511)));
        assert_eq!(parse_reply("520-Invalid command syntax.  Proper usage follows:").ok(), Some(Reply::Refused(520)));
        for bad in ["", "200", "200 result=x", "HTTP/1.1 200 OK", "300 result=1"] {
            assert!(parse_reply(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn arguments_are_quoted_as_asterisk_reads_them() {
        assert_eq!(
            command("STREAM FILE", &["http://x/a.wav", "0123456789*#"]),
            "STREAM FILE \"http://x/a.wav\" \"0123456789*#\"\n"
        );
        assert_eq!(
            command("SET VARIABLE", &["IVR_STATE", "a\"b\\c\nd"]),
            "SET VARIABLE \"IVR_STATE\" \"a\\\"b\\\\cd\"\n"
        );
        assert_eq!(command("ANSWER", &[]), "ANSWER\n");
    }
}
