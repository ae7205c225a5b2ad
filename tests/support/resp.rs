//! A small RESP2 client over a plain `std::net::TcpStream`: one command, its whole reply.
//! The tests read what a Redis server saw through it, apart from the client under test.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Sends one command to the server at `addr` (directly, or through a proxy) on a new
/// connection, and returns its reply as written, RESP framing included (as text: bytes
/// that are not UTF-8 are replaced). `timeout` bounds the connection, and then each write
/// and each read.
///
/// # Errors
///
/// As [`send_on`], and when the connection fails.
pub fn send_command(addr: SocketAddr, args: &[&str], timeout: Duration) -> io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    send_on(&mut stream, args)
}

/// Sends one command on an open connection and returns its reply as written, RESP framing
/// included. The stream's own timeouts apply (none unless set).
///
/// # Errors
///
/// When writing or reading fails or times out (`WouldBlock` or `TimedOut`, by platform),
/// the connection is closed before the reply is complete (`UnexpectedEof`), or the reply
/// is not RESP (`InvalidData`).
pub fn send_on(stream: &mut TcpStream, args: &[&str]) -> io::Result<String> {
    stream.write_all(&encode_command(args))?;
    let mut received = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        match Reply::parse(&received) {
            Ok(Some((_, length))) => {
                received.truncate(length);
                return Ok(String::from_utf8_lossy(&received).into_owned());
            }
            Ok(None) => {}
            Err(error) => return Err(io::Error::new(io::ErrorKind::InvalidData, error)),
        }
        match stream.read(&mut chunk)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            read => received.extend_from_slice(&chunk[..read]),
        }
    }
}

/// A command as RESP: an array of bulk strings.
fn encode_command(args: &[&str]) -> Vec<u8> {
    assert!(!args.is_empty(), "a command needs at least its name");
    let mut encoded = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        encoded.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        encoded.extend_from_slice(arg.as_bytes());
        encoded.extend_from_slice(b"\r\n");
    }
    encoded
}

/// A reply in RESP2 (what a connection speaks unless it says `HELLO 3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`.
    Simple(String),
    /// `-ERR ...`: the whole message, its code included.
    Error(String),
    /// `:42`.
    Integer(i64),
    /// `$3 abc`; `None` for `$-1` (e.g. `GET` of a missing key).
    Bulk(Option<String>),
    /// `*2 ...`; `None` for `*-1`.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The reply at the start of `bytes` and its length in bytes, or `None` when `bytes`
    /// holds only part of it.
    ///
    /// # Errors
    ///
    /// When `bytes` does not start with a RESP2 reply; the message says what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Option<(Reply, usize)>, String> {
        let Some(line_end) = bytes.windows(2).position(|pair| pair == b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&bytes[1.min(line_end)..line_end])
            .map_err(|error| format!("a RESP line is not UTF-8: {error}"))?;
        let after_line = line_end + 2;
        let integer = || {
            line.parse::<i64>()
                .map_err(|error| format!("RESP number {line:?}: {error}"))
        };
        // A bulk string's or an array's length: `None` for `-1`, RESP's null.
        let length = || {
            let length = integer()?;
            if length < 0 {
                return Ok(None);
            }
            usize::try_from(length)
                .map(Some)
                .map_err(|_| format!("RESP length {length} does not fit in memory"))
        };
        let reply = match bytes[0] {
            b'+' => Reply::Simple(line.to_owned()),
            b'-' => Reply::Error(line.to_owned()),
            b':' => Reply::Integer(integer()?),
            b'$' => {
                let Some(size) = length()? else {
                    return Ok(Some((Reply::Bulk(None), after_line)));
                };
                let end = after_line + size;
                let Some(framed) = bytes.get(after_line..end + 2) else {
                    return Ok(None);
                };
                if &framed[size..] != b"\r\n" {
                    return Err(format!(
                        "a bulk string of {size} bytes is not followed by CRLF"
                    ));
                }
                let text = String::from_utf8_lossy(&framed[..size]).into_owned();
                return Ok(Some((Reply::Bulk(Some(text)), end + 2)));
            }
            b'*' => {
                let Some(count) = length()? else {
                    return Ok(Some((Reply::Array(None), after_line)));
                };
                let mut items = Vec::with_capacity(count.min(1024));
                let mut parsed = after_line;
                for _ in 0..count {
                    let Some((item, item_length)) = Reply::parse(&bytes[parsed..])? else {
                        return Ok(None);
                    };
                    items.push(item);
                    parsed += item_length;
                }
                return Ok(Some((Reply::Array(Some(items)), parsed)));
            }
            other => return Err(format!("unknown RESP type byte {:?}", char::from(other))),
        };
        Ok(Some((reply, after_line)))
    }

    /// An integer reply's value.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Reply::Integer(value) => Some(*value),
            _ => None,
        }
    }

    /// A simple or (non-null) bulk string's text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Reply::Simple(text) | Reply::Bulk(Some(text)) => Some(text),
            _ => None,
        }
    }

    /// A (non-null) array's items.
    pub fn as_array(&self) -> Option<&[Reply]> {
        match self {
            Reply::Array(Some(items)) => Some(items),
            _ => None,
        }
    }
}
