//! A real `redis-server` for the tests, one per test: started on a free loopback port in a
//! temporary directory of its own, saving nothing, and killed (its directory removed) when
//! dropped. It can be stopped and restarted on the same port, as a store that crashes and
//! comes back empty.
//!
//! Its `command` helpers read what the server saw (`INFO commandstats`, `DBSIZE`, `PTTL`,
//! ...) over a connection of their own, apart from the client under test.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

#[path = "resp.rs"]
mod resp;
pub use resp::{Reply, send_command, send_on};

/// How long a server may take to answer its first `PING` before the test gives up.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`RedisServer::command`] waits to connect, then to send, then for each part of
/// the reply.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The pause between two readiness checks of a starting server.
const POLL_INTERVAL: Duration = Duration::from_millis(2);

/// Free ports tried in turn: another process may take the port between our probe of it
/// and the server's bind.
const PORT_ATTEMPTS: usize = 5;

/// The lines of the server's logs quoted when it fails to start.
const LOG_TAIL_LINES: usize = 20;

/// A `redis-server` process of the test's own, listening on `127.0.0.1`.
#[derive(Debug)]
pub struct RedisServer {
    program: OsString,
    port: u16,
    /// Its working directory and logs; removed when dropped, after the process is killed.
    dir: tempfile::TempDir,
    /// `None` once stopped.
    child: Option<Child>,
}

/// Why a server did not come up.
#[derive(Debug)]
enum StartFailure {
    /// Another process listens on the port.
    PortTaken,
    /// It exited by itself.
    Exited(ExitStatus),
    /// No `+PONG` within [`START_TIMEOUT`].
    NoAnswer,
}

impl RedisServer {
    /// Starts `redis-server` (from `PATH`) on a free loopback port and returns once it
    /// answers `PING`. Its statistics are then reset, so that `INFO commandstats` counts
    /// only the reset itself (`config|resetstat`) before the test's own commands.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not installed (saying how to install it), or when it does not
    /// answer within [`START_TIMEOUT`] (quoting its log).
    pub fn start() -> Self {
        Self::start_program("redis-server")
    }

    /// [`RedisServer::start`] with another binary of the same command line (a
    /// `redis-server` elsewhere than on `PATH`, or `valkey-server`).
    pub fn start_program(program: impl AsRef<OsStr>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("redis-test-")
            .tempdir()
            .unwrap_or_else(|error| panic!("cannot create a directory for redis-server: {error}"));
        let mut server = Self {
            program: program.as_ref().to_owned(),
            port: 0,
            dir,
            child: None,
        };
        for attempt in 1..=PORT_ATTEMPTS {
            server.port = free_port();
            match server.launch() {
                Ok(()) => return server,
                Err(StartFailure::PortTaken) if attempt < PORT_ATTEMPTS => {}
                Err(failure) => panic!("{}", server.failure_message(&failure)),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// The URL that clients connect with: `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr())
    }

    /// The port it listens on; the same across [`RedisServer::restart`].
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Kills the server (`SIGKILL`: a crash, not a shutdown) and waits for it to exit, so
    /// that its port is free when this returns. Its data is lost. Does nothing when it is
    /// already stopped.
    pub fn stop(&mut self) {
        if let Err(error) = self.kill() {
            panic!("cannot stop redis-server on port {}: {error}", self.port);
        }
    }

    /// Starts the server again on the same port and directory (killing it first when it
    /// runs), empty, and returns once it answers `PING`; its statistics are reset as by
    /// [`RedisServer::start`].
    ///
    /// # Panics
    ///
    /// When it does not come up, for example because another process took its port
    /// meanwhile.
    pub fn restart(&mut self) {
        self.stop();
        if let Err(failure) = self.launch() {
            panic!("{}", self.failure_message(&failure));
        }
    }

    /// Whether the process runs: started, not stopped, and not exited by itself.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Sends one command (its name and arguments, e.g. `&["PTTL", "key"]`) on a
    /// connection of its own and returns the reply as the server wrote it, RESP framing
    /// included: `"+PONG\r\n"`, `":3\r\n"`, `"$-1\r\n"`, ...
    ///
    /// # Panics
    ///
    /// When the server cannot be reached, or does not reply within [`COMMAND_TIMEOUT`].
    pub fn command(&self, args: &[&str]) -> String {
        send_command(self.addr(), args, COMMAND_TIMEOUT).unwrap_or_else(|error| {
            panic!(
                "redis-server on port {}: {args:?} failed: {error}",
                self.port
            )
        })
    }

    /// [`RedisServer::command`], its reply parsed.
    pub fn reply(&self, args: &[&str]) -> Reply {
        let raw = self.command(args);
        match Reply::parse(raw.as_bytes()) {
            Ok(Some((reply, _))) => reply,
            _ => unreachable!("`send_command` returns only complete replies"),
        }
    }

    /// The calls per command since the start (or the last `CONFIG RESETSTAT`), from `INFO
    /// commandstats`, by Redis's lowercase names (`"get"`, `"evalsha"`, `"config|set"`).
    /// Counts the `INFO` calls of earlier readings, not this one's own.
    pub fn info_commandstats(&self) -> BTreeMap<String, u64> {
        let info = self.info("commandstats");
        info.lines()
            .filter_map(|line| line.strip_prefix("cmdstat_"))
            .map(|line| {
                let (name, fields) = line
                    .split_once(':')
                    .unwrap_or_else(|| panic!("commandstats line without ':': {line:?}"));
                let calls = fields
                    .split(',')
                    .find_map(|field| field.strip_prefix("calls="))
                    .and_then(|calls| calls.parse().ok())
                    .unwrap_or_else(|| panic!("commandstats line without calls=N: {line:?}"));
                (name.to_owned(), calls)
            })
            .collect()
    }

    /// The commands the server processed since the start (or the last `CONFIG
    /// RESETSTAT`), from `INFO stats`' `total_commands_processed`: the `INFO` calls of
    /// earlier readings included, this one's own not.
    pub fn total_commands(&self) -> u64 {
        let info = self.info("stats");
        let value = info_field(&info, "total_commands_processed");
        value.parse().unwrap_or_else(|error| {
            panic!("INFO stats: total_commands_processed {value:?} is not a count: {error}")
        })
    }

    /// The text of one `INFO` section.
    fn info(&self, section: &str) -> String {
        match self.reply(&["INFO", section]) {
            Reply::Bulk(Some(text)) => text,
            other => panic!("INFO {section}: expected a bulk string, got {other:?}"),
        }
    }

    /// Spawns the server on `self.port` and waits for its `+PONG`.
    fn launch(&mut self) -> Result<(), StartFailure> {
        let log = self.log_path();
        // Only this launch's lines tell why it failed: an earlier one may have logged a bind
        // error on another port.
        let log_start = fs::metadata(&log).map_or(0, |metadata| metadata.len());
        let console = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.console_path())
            .unwrap_or_else(|error| panic!("cannot create redis-server's console log: {error}"));
        let console_too = console
            .try_clone()
            .unwrap_or_else(|error| panic!("cannot share redis-server's console log: {error}"));
        let child = Command::new(&self.program)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--protected-mode", "yes"])
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(console)
            .stderr(console_too)
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(error) if error.kind() == io::ErrorKind::NotFound => panic!(
                "{} not found on PATH: the fleet tests start real Redis servers; install \
                 Debian's `redis-server` package (`apt-get install -y redis-server`, as \
                 `.ci/run` does)",
                self.program.to_string_lossy()
            ),
            Err(error) => panic!("cannot run {}: {error}", self.program.to_string_lossy()),
        };
        let pid = child.id();
        // Held here from now on, so that a panic below still kills it (`Drop`).
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let exited = self
                .child
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                let log = read_from(&log, log_start);
                return Err(if log.contains("Address already in use") {
                    StartFailure::PortTaken
                } else {
                    StartFailure::Exited(status)
                });
            }
            let ping = send_command(self.addr(), &["PING"], POLL_INTERVAL * 50);
            if ping.is_ok_and(|reply| reply == "+PONG\r\n") {
                // Another process that took the port would answer too: ours then fails to
                // bind, and exits.
                if info_field(&self.info("server"), "process_id") != pid.to_string() {
                    let _ = self.kill();
                    return Err(StartFailure::PortTaken);
                }
                self.command(&["CONFIG", "RESETSTAT"]);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = self.kill();
                return Err(StartFailure::NoAnswer);
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn kill(&mut self) -> io::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        // An error here means it has exited already: `wait` reaps it either way.
        let _ = child.kill();
        child.wait().map(drop)
    }

    fn failure_message(&self, failure: &StartFailure) -> String {
        let why = match failure {
            StartFailure::PortTaken => "its port is taken by another process".to_owned(),
            StartFailure::Exited(status) => format!("it exited ({status})"),
            StartFailure::NoAnswer => format!("it did not answer PING within {START_TIMEOUT:?}"),
        };
        format!(
            "redis-server on 127.0.0.1:{} did not start: {why}\n--- {} (last lines) ---\n{}\
             --- its console (last lines) ---\n{}",
            self.port,
            self.log_path().display(),
            tail(&read_from(&self.log_path(), 0)),
            tail(&read_from(&self.console_path(), 0)),
        )
    }

    /// The server's log file (in its temporary directory, removed when it is dropped): a
    /// failing test may quote it.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    /// Its stdout and stderr: what it says before its log file is open.
    fn console_path(&self) -> PathBuf {
        self.dir.path().join("console.log")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // Not `stop`: no panic while a failing test unwinds.
        let _ = self.kill();
    }
}

/// A port free on `127.0.0.1` when this returns (the system's choice).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|error| panic!("cannot find a free loopback port: {error}"))
}

/// A file's text from byte `start` on (empty when it cannot be read).
fn read_from(path: &std::path::Path, start: u64) -> String {
    let mut text = Vec::new();
    let _ = File::open(path).and_then(|mut file| {
        file.seek(SeekFrom::Start(start))?;
        file.read_to_end(&mut text)
    });
    String::from_utf8_lossy(&text).into_owned()
}

/// The last [`LOG_TAIL_LINES`] lines of `text`, each ending with a newline.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[start..]
        .iter()
        .map(|line| format!("{line}\n"))
        .collect()
}

/// A field's value in an `INFO` reply (`name:value` lines).
///
/// # Panics
///
/// When the field is missing.
fn info_field<'a>(info: &'a str, name: &str) -> &'a str {
    info.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("INFO has no field {name:?}"))
        .trim()
}
