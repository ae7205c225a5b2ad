//! The test servers and the proxy themselves: what the fleet tests rely on.

use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use crate::redis_server::{RedisServer, Reply, send_command, send_on};
use crate::tcp_proxy::{Link, TcpProxy};

/// How long a test waits for what must happen at once (a reply, a close).
const PATIENCE: Duration = Duration::from_secs(5);

/// How long a test waits for what must not happen (a reply across a partition).
const SILENCE: Duration = Duration::from_millis(200);

/// A `PING`'s reply, as written.
const PONG: &str = "+PONG\r\n";

/// Whether a read or write failed by timing out (the kind differs by platform).
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Asserts that a command got no answer: it timed out.
fn assert_silent(outcome: io::Result<String>) {
    let error = outcome.unwrap_err();
    assert!(is_timeout(&error), "{error:?}");
}

/// Asserts that a command failed at once: the connection was closed, reset or refused.
fn assert_closed(outcome: io::Result<String>) {
    let error = outcome.unwrap_err();
    assert!(!is_timeout(&error), "{error:?}");
}

/// A server, a proxy to it, and a connection through the proxy that has answered a `PING`
/// (every read and write on it bounded by `timeout`).
async fn proxied_connection(timeout: Duration) -> (RedisServer, TcpProxy, TcpStream) {
    let server = RedisServer::start();
    let proxy = TcpProxy::start(server.addr()).await;
    let mut connection = connect(proxy.addr(), timeout);
    assert_eq!(send_on(&mut connection, &["PING"]).unwrap(), PONG);
    (server, proxy, connection)
}

/// A connection of its own, every read and write bounded by `timeout`.
fn connect(addr: SocketAddr, timeout: Duration) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, timeout).unwrap();
    stream.set_read_timeout(Some(timeout)).unwrap();
    stream.set_write_timeout(Some(timeout)).unwrap();
    stream
}

/// The message of a panic caught by `catch_unwind`.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| {
            payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
        })
        .unwrap_or_default()
}

#[test]
fn a_server_answers_ping_on_its_own_loopback_port_with_its_statistics_reset() {
    let mut server = RedisServer::start();
    assert!(server.is_running());
    assert_eq!(
        server.addr(),
        SocketAddr::from(([127, 0, 0, 1], server.port()))
    );
    assert_eq!(
        server.url(),
        format!("redis://127.0.0.1:{}/", server.port())
    );
    // Only the reset is counted: the readiness checks before it are not.
    assert_eq!(
        server.info_commandstats(),
        BTreeMap::from([("config|resetstat".to_owned(), 1)])
    );
    assert_eq!(server.command(&["PING"]), PONG);
}

#[test]
fn replies_of_every_kind_are_read_whole() {
    let server = RedisServer::start();
    assert_eq!(server.command(&["SET", "key", "value"]), "+OK\r\n");
    assert_eq!(server.command(&["GET", "key"]), "$5\r\nvalue\r\n");
    assert_eq!(server.command(&["GET", "missing"]), "$-1\r\n");
    assert_eq!(server.command(&["DBSIZE"]), ":1\r\n");
    assert_eq!(server.command(&["KEYS", "*"]), "*1\r\n$3\r\nkey\r\n");
    assert_eq!(server.command(&["PEXPIRE", "key", "60000"]), ":1\r\n");
    let ttl = server.reply(&["PTTL", "key"]).as_integer().unwrap();
    assert!((1..=60_000).contains(&ttl), "PTTL {ttl}");
    assert!(
        server
            .command(&["NO-SUCH-COMMAND"])
            .starts_with("-ERR unknown command"),
    );
    // Larger than one read: the reply is gathered across reads.
    let large = "x".repeat(100_000);
    server.command(&["SET", "large", &large]);
    assert_eq!(
        server.reply(&["GET", "large"]),
        Reply::Bulk(Some(large.clone()))
    );
    let keys = server.reply(&["KEYS", "*"]);
    let mut keys: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key.as_text().unwrap())
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["key", "large"]);
}

#[test]
fn a_reply_is_incomplete_until_its_last_byte() {
    let raw = b"*4\r\n$3\r\nabc\r\n:-7\r\n$-1\r\n+OK\r\n";
    let whole = Reply::Array(Some(vec![
        Reply::Bulk(Some("abc".to_owned())),
        Reply::Integer(-7),
        Reply::Bulk(None),
        Reply::Simple("OK".to_owned()),
    ]));
    for end in 0..raw.len() {
        assert_eq!(Reply::parse(&raw[..end]), Ok(None), "{end} bytes");
    }
    assert_eq!(Reply::parse(raw), Ok(Some((whole.clone(), raw.len()))));
    // What follows the reply is not part of it.
    let mut followed = raw.to_vec();
    followed.extend_from_slice(b"+NEXT\r\n");
    assert_eq!(Reply::parse(&followed), Ok(Some((whole, raw.len()))));
    assert_eq!(
        Reply::parse(b"-ERR wrong\r\n"),
        Ok(Some((Reply::Error("ERR wrong".to_owned()), 12)))
    );
    assert_eq!(Reply::parse(b"*-1\r\n"), Ok(Some((Reply::Array(None), 5))));
    assert_eq!(
        Reply::parse(b":1x\r\n"),
        Err("RESP number \"1x\": invalid digit found in string".to_owned())
    );
    assert_eq!(
        Reply::parse(b"?1\r\n"),
        Err("unknown RESP type byte '?'".to_owned())
    );
    assert_eq!(
        Reply::parse(b"$2\r\nabc\r\n"),
        Err("a bulk string of 2 bytes is not followed by CRLF".to_owned())
    );
}

#[test]
fn a_restarted_server_listens_on_the_same_port_and_is_empty() {
    let mut server = RedisServer::start();
    let port = server.port();
    server.command(&["SET", "key", "value"]);
    server.restart();
    assert!(server.is_running());
    assert_eq!(server.port(), port);
    assert_eq!(server.command(&["PING"]), PONG);
    assert_eq!(server.command(&["DBSIZE"]), ":0\r\n");

    // From stopped too.
    server.stop();
    server.restart();
    assert_eq!(server.port(), port);
    assert_eq!(server.command(&["PING"]), PONG);
}

#[test]
fn a_stopped_server_refuses_connections_and_frees_its_port() {
    let mut server = RedisServer::start();
    server.stop();
    assert!(!server.is_running());
    let refused = send_command(server.addr(), &["PING"], PATIENCE).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
    TcpListener::bind(server.addr()).expect("the port is free");
    // Stopping twice is harmless.
    server.stop();
}

#[test]
fn a_dropped_server_is_gone_with_its_directory() {
    let server = RedisServer::start();
    let (addr, log) = (server.addr(), server.log_path());
    assert!(log.exists());
    drop(server);
    assert!(!log.parent().unwrap().exists());
    let refused = send_command(addr, &["PING"], PATIENCE).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn a_restart_on_a_port_taken_meanwhile_fails_saying_so() {
    let mut server = RedisServer::start();
    server.stop();
    let _squatter = TcpListener::bind(server.addr()).unwrap();
    let failure = catch_unwind(AssertUnwindSafe(|| server.restart())).unwrap_err();
    let message = panic_message(failure);
    let expected = format!(
        "redis-server on 127.0.0.1:{} did not start: its port is taken",
        server.port()
    );
    assert!(message.starts_with(&expected), "{message}");
    assert!(message.contains("Address already in use"), "{message}");
    assert!(!server.is_running());
}

#[test]
fn a_missing_binary_fails_saying_how_to_install_it() {
    let failure =
        catch_unwind(|| RedisServer::start_program("redis-server-not-installed")).unwrap_err();
    let message = panic_message(failure);
    assert!(
        message.starts_with("redis-server-not-installed not found on PATH"),
        "{message}"
    );
    assert!(
        message.contains("apt-get install -y redis-server"),
        "{message}"
    );
}

#[test]
fn two_servers_at_once_have_ports_and_data_of_their_own() {
    let first = RedisServer::start();
    let second = RedisServer::start();
    assert_ne!(first.port(), second.port());
    first.command(&["SET", "key", "value"]);
    assert_eq!(first.command(&["DBSIZE"]), ":1\r\n");
    assert_eq!(second.command(&["DBSIZE"]), ":0\r\n");
}

#[test]
fn the_statistics_count_the_commands_sent() {
    let server = RedisServer::start();
    // The reset at the start, not this reading itself.
    let before = server.total_commands();
    assert_eq!(before, 1);
    for _ in 0..3 {
        server.command(&["SET", "key", "value"]);
    }
    server.command(&["GET", "key"]);
    let calls = server.info_commandstats();
    assert_eq!(calls["set"], 3);
    assert_eq!(calls["get"], 1);
    assert_eq!(calls["info"], 1);
    // The four commands and the two earlier readings.
    assert_eq!(server.total_commands(), before + 6);
}

// The proxy's tests block their own thread on std I/O: the proxy runs on the worker.

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_proxy_forwards_commands_and_counts_connections() {
    let server = RedisServer::start();
    let proxy = TcpProxy::start(server.addr()).await;
    assert_eq!(proxy.url(), format!("redis://{}/", proxy.addr()));
    assert_eq!(proxy.link(), Link::Forwarding);
    assert_eq!(
        send_command(proxy.addr(), &["PING"], PATIENCE).unwrap(),
        PONG
    );
    let mut connection = connect(proxy.addr(), PATIENCE);
    for _ in 0..2 {
        assert_eq!(send_on(&mut connection, &["PING"]).unwrap(), PONG);
    }
    assert_eq!(proxy.connections(), 2);
    assert_eq!(server.info_commandstats()["ping"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_partition_silences_every_connection_and_healing_closes_them_for_new_ones() {
    let (server, proxy, mut before) = proxied_connection(SILENCE).await;

    proxy.partition();
    assert_eq!(proxy.link(), Link::Partitioned);
    assert_silent(send_on(&mut before, &["PING"]));
    let mut during = connect(proxy.addr(), SILENCE);
    assert_silent(send_on(&mut during, &["PING"]));
    // Not answered and not delivered either: the server saw only the first PING.
    assert_eq!(server.info_commandstats()["ping"], 1);

    proxy.heal();
    assert_eq!(proxy.link(), Link::Forwarding);
    for mut held in [before, during] {
        held.set_read_timeout(Some(PATIENCE)).unwrap();
        assert_closed(send_on(&mut held, &["PING"]));
    }
    assert_eq!(
        send_command(proxy.addr(), &["PING"], PATIENCE).unwrap(),
        PONG
    );
    assert_eq!(server.info_commandstats()["ping"], 2);
    assert_eq!(proxy.connections(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_refusal_closes_every_connection_until_healed() {
    let (server, proxy, mut before) = proxied_connection(PATIENCE).await;

    proxy.refuse();
    assert_eq!(proxy.link(), Link::Refusing);
    assert_closed(send_on(&mut before, &["PING"]));
    assert_closed(send_command(proxy.addr(), &["PING"], PATIENCE));
    assert_eq!(server.info_commandstats()["ping"], 1);

    proxy.heal();
    assert_eq!(
        send_command(proxy.addr(), &["PING"], PATIENCE).unwrap(),
        PONG
    );
    assert_eq!(proxy.connections(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_last_switch_decides_and_healing_twice_is_healing() {
    let server = RedisServer::start();
    let proxy = TcpProxy::start(server.addr()).await;
    proxy.refuse();
    proxy.partition();
    assert_eq!(proxy.link(), Link::Partitioned);
    assert_silent(send_command(proxy.addr(), &["PING"], SILENCE));
    proxy.heal();
    proxy.heal();
    assert_eq!(proxy.link(), Link::Forwarding);
    assert_eq!(
        send_command(proxy.addr(), &["PING"], PATIENCE).unwrap(),
        PONG
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_dropped_proxy_closes_its_port_and_its_connections() {
    let (_server, proxy, mut open) = proxied_connection(PATIENCE).await;
    let addr = proxy.addr();
    drop(proxy);

    assert_closed(send_on(&mut open, &["PING"]));
    // Its tasks end on the worker, shortly after the drop.
    let deadline = Instant::now() + PATIENCE;
    loop {
        match TcpStream::connect_timeout(&addr, PATIENCE) {
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => break,
            outcome => assert!(Instant::now() < deadline, "still listening: {outcome:?}"),
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
