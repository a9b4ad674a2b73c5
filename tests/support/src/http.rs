//! A plain HTTP/1.0 GET to a loopback port: enough for the health and
//! version endpoints of the daemons the harness starts, with no client
//! library in between.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// `GET path` to 127.0.0.1:port: the whole answer (status line, headers,
/// body), if the port answered.
pub fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    Some(answer)
}
