//! A TCP proxy on loopback between the clients under test and their server, with a switch
//! for the faults a network has: a partition (bytes stop flowing, nothing is answered, so
//! clients time out) and a refusal (connections are closed and reset), then healing.
//!
//! Its tasks run on the tokio runtime that started it, and stop when it is dropped. A test
//! that blocks its own thread on I/O through the proxy needs a multi-thread runtime, so that
//! the proxy's tasks run meanwhile.

use std::future::pending;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Bytes flow both ways.
    Forwarding,
    /// Nothing flows and nothing is closed: a blackhole, as a network partition looks to
    /// both ends (new connections are accepted, then left silent).
    Partitioned,
    /// Every connection is closed with a reset, new ones as soon as they are accepted.
    Refusing,
}

/// A running proxy to one target.
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    link: watch::Sender<Link>,
    connections: Arc<AtomicUsize>,
    acceptor: JoinHandle<()>,
}

impl TcpProxy {
    /// Starts a proxy on `127.0.0.1`, on a port of the system's choosing, forwarding to
    /// `target`. Must be called inside a tokio runtime.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap_or_else(|error| panic!("the proxy cannot listen on loopback: {error}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|error| panic!("the proxy's address: {error}"));
        let (link, links) = watch::channel(Link::Forwarding);
        let connections = Arc::new(AtomicUsize::new(0));
        let acceptor = tokio::spawn(accept(listener, target, links, Arc::clone(&connections)));
        Self {
            addr,
            link,
            connections,
            acceptor,
        }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A Redis URL to the target through the proxy: `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// The connections accepted since the start, whatever happened to them.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// What it does now.
    pub fn link(&self) -> Link {
        *self.link.borrow()
    }

    /// From now on, no byte read from either end is forwarded, on existing connections and
    /// new ones, and none is closed: the clients see timeouts. Bytes in flight when this is
    /// called may still arrive.
    pub fn partition(&self) {
        self.set(Link::Partitioned);
    }

    /// New connections are forwarded again; the existing ones (silent since a partition) are
    /// closed, so that clients reconnect.
    pub fn heal(&self) {
        self.set(Link::Forwarding);
    }

    /// Closes the existing connections and resets each new one as soon as it is accepted
    /// (the client's connect may succeed; its first read or write then fails). Callers see
    /// the connections closed shortly after this returns, not at once.
    pub fn refuse(&self) {
        self.set(Link::Refusing);
    }

    /// Connections act on changes only: setting the link it has does nothing.
    fn set(&self, new: Link) {
        self.link.send_if_modified(|link| {
            let changed = *link != new;
            *link = new;
            changed
        });
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        // Its connections are in the acceptor's `JoinSet`, aborted with it; they also end
        // when `link` is dropped.
        self.acceptor.abort();
    }
}

/// Accepts connections and serves each in a task of its own, reaping finished ones so that
/// the set holds only live connections.
async fn accept(
    listener: TcpListener,
    target: SocketAddr,
    links: watch::Receiver<Link>,
    accepted: Arc<AtomicUsize>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            client = listener.accept() => {
                // A failed accept concerns that connection only.
                let Ok((client, _)) = client else { continue };
                accepted.fetch_add(1, Ordering::SeqCst);
                connections.spawn(serve(client, target, links.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// How forwarding ended.
enum Ended {
    /// One end closed or failed.
    Closed,
    /// The link changed, or the proxy is gone.
    LinkChanged,
}

/// One connection, from its accept to its close.
async fn serve(client: TcpStream, target: SocketAddr, mut links: watch::Receiver<Link>) {
    if *links.borrow_and_update() != Link::Forwarding {
        return close_as_the_link_says(&client, &mut links).await;
    }
    let upstream = tokio::select! {
        upstream = TcpStream::connect(target) => match upstream {
            Ok(upstream) => upstream,
            // The target is down: so is this connection.
            Err(_) => return reset(&client),
        },
        _ = links.changed() => return close_as_the_link_says(&client, &mut links).await,
    };
    let ended = tokio::select! {
        _ = forward(&client, &upstream, links.clone()) => Ended::Closed,
        _ = forward(&upstream, &client, links.clone()) => Ended::Closed,
        _ = links.changed() => Ended::LinkChanged,
    };
    if let Ended::LinkChanged = ended {
        close_as_the_link_says(&client, &mut links).await;
    }
}

/// A connection that is not to forward (any more): a partition holds it open and silent
/// until the link changes again; a refusal resets it; healing closes it, so that the
/// client reconnects. The caller's drop closes it.
async fn close_as_the_link_says(client: &TcpStream, links: &mut watch::Receiver<Link>) {
    if *links.borrow_and_update() == Link::Partitioned {
        // Left unread: nothing from either end is answered. An error means the proxy is
        // gone, which closes it too.
        let _ = links.changed().await;
    }
    if *links.borrow_and_update() == Link::Refusing {
        reset(client);
    }
}

/// Makes the coming close a reset (`RST`) rather than an orderly end of stream.
fn reset(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

/// Copies bytes from `from` to `to` until `from` ends or either fails; once the link has
/// changed it forwards nothing more, even bytes it has read, and waits to be dropped.
async fn forward(from: &TcpStream, to: &TcpStream, links: watch::Receiver<Link>) -> io::Result<()> {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        from.readable().await?;
        let read = match from.try_read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
            Err(error) => return Err(error),
        };
        if links.has_changed().unwrap_or(true) {
            return pending().await;
        }
        let mut written = 0;
        while written < read {
            to.writable().await?;
            match to.try_write(&buffer[written..read]) {
                Ok(count) => written += count,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
        }
    }
}
