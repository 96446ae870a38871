//! What the benchmarks that run `ivr serve` in a process of its own (`agi`, `queue`) need of
//! it alike: a free port for it, whether it answers yet, and its log lines as text.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};

/// A free loopback port for the service to listen on.
pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port")
}

/// Whether `GET /healthz` answers 200 (the listeners are bound once it does).
pub fn healthy(http: SocketAddr) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(http) else { return false };
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {http}\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

/// A text log line without its ANSI colour codes.
pub fn without_colours(line: &str) -> String {
    let mut text = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            text.push(c);
        }
    }
    text
}
