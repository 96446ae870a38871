//! Asterisk at the other end of one FastAGI connection: a command sent, its reply read
//! within a time limit. Asterisk writes `HANGUP` on its own when the caller hangs up (and
//! then still answers the command in flight), so the line is noted, not taken as a reply.

use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};

use super::codec::{self, Broken, Environment, Reply};

/// How one command's wait for its reply ended.
pub type Answered = Result<Reply, Ended>;

/// Why the conversation stops.
#[derive(Debug)]
pub enum Ended {
    /// The caller hung up (`HANGUP`, a dead channel, or the connection closed): recorded.
    HungUp,
    /// Asterisk stopped answering or said something it never says: not recorded, the
    /// dialplan's failover carries the call on.
    Broken(Broken),
    /// Asterisk did not answer in time.
    Silent,
    /// The drain ended: the connection is closed and the dialplan carries the call on.
    Drained,
}

/// One FastAGI connection's two halves.
pub struct Peer<S> {
    reader: BufReader<ReadHalf<S>>,
    writer: WriteHalf<S>,
    /// Set once Asterisk wrote `HANGUP`.
    pub hung_up: bool,
}

impl<S: AsyncRead + AsyncWrite> Peer<S> {
    /// The peer on `stream`.
    pub fn new(stream: S) -> Peer<S> {
        let (reader, writer) = tokio::io::split(stream);
        Peer { reader: BufReader::with_capacity(1024, reader), writer, hung_up: false }
    }

    /// The environment Asterisk sends first, within `wait`.
    pub async fn environment(&mut self, wait: Duration) -> Result<Environment, Ended> {
        match tokio::time::timeout(wait, codec::read_environment(&mut self.reader)).await {
            Ok(Ok(environment)) => Ok(environment),
            Ok(Err(Broken::Closed)) => Err(Ended::HungUp),
            Ok(Err(broken)) => Err(Ended::Broken(broken)),
            Err(_) => Err(Ended::Silent),
        }
    }

    /// Sends `line` (a [`codec::command`]) and reads its reply, waiting at most `wait`.
    pub async fn send(&mut self, line: &str, wait: Duration) -> Answered {
        self.writer.write_all(line.as_bytes()).await.map_err(|_| Ended::HungUp)?;
        match tokio::time::timeout(wait, reply(&mut self.reader, &mut self.hung_up)).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(Broken::Closed | Broken::Io(_))) => Err(Ended::HungUp),
            Ok(Err(broken)) => Err(Ended::Broken(broken)),
            Err(_) => Err(Ended::Silent),
        }
    }

    /// Closes the writing half: Asterisk sees the conversation end.
    pub async fn close(mut self) {
        let _ = self.writer.shutdown().await;
    }
}

async fn reply(reader: &mut (impl AsyncBufRead + Unpin), hung_up: &mut bool) -> Result<Reply, Broken> {
    loop {
        let line = codec::read_line(reader).await?.ok_or(Broken::Closed)?;
        if line == "HANGUP" {
            *hung_up = true;
            continue;
        }
        let reply = codec::parse_reply(&line)?;
        if line.starts_with("520-") {
            while !codec::read_line(reader).await?.ok_or(Broken::Closed)?.starts_with("520 ") {}
        }
        return Ok(reply);
    }
}
