//! Tiny servers on 127.0.0.1 for the tests that judge what pummel put on the wire: plain std
//! `TcpListener` threads that record every request head (with its arrival time and connection),
//! count connections, and answer well or badly on purpose; and a counting TCP relay in front of
//! `pummel target`, for protocols these servers do not speak (HTTP/2).
//!
//! Every server stops accepting when dropped; its connection threads end when pummel closes its
//! side, which it does when it exits.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// How a [`Server`] answers.
#[derive(Clone, Copy)]
pub(crate) enum Behaviour {
    /// `200 ok` to every request, keep-alive; `extra` are more header lines, each ending `\r\n`.
    Answer { extra: &'static str },
    /// Connections 0, 2, 4, … are reset (closed with the request unread, so the kernel sends an
    /// RST); connections 1, 3, 5, … answer one request `200 ok` with `Connection: close`.
    ResetEveryOther,
    /// Answers every request with the status line `HTTP/1.1 abc`.
    Malformed,
    /// Answers every request with two `200 ok` responses in one write: the second answers
    /// nothing that was asked.
    AnswerTwice,
}

/// A request as it reached a [`Server`].
pub(crate) struct Seen {
    pub(crate) at: Instant,
    /// The connection it came on, numbered from 0 in accept order.
    pub(crate) conn: u64,
    /// The request line and headers, lines joined by `\n`.
    pub(crate) head: String,
}

#[derive(Default)]
struct Log {
    connections: AtomicU64,
    requests: Mutex<Vec<Seen>>,
}

/// A misbehaving (or merely recording) HTTP/1.1 server, stopped on drop.
pub(crate) struct Server {
    addr: SocketAddr,
    log: Arc<Log>,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub(crate) fn start(behaviour: Behaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let log = Arc::new(Log::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (log2, stop2) = (Arc::clone(&log), Arc::clone(&stop));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let n = log2.connections.fetch_add(1, Ordering::SeqCst);
                let log = Arc::clone(&log2);
                std::thread::spawn(move || serve(conn, n, behaviour, &log));
            }
        });
        Server { addr, log, stop }
    }

    /// `http://127.0.0.1:PORT`, without the trailing slash.
    pub(crate) fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub(crate) fn connections(&self) -> u64 {
        self.log.connections.load(Ordering::SeqCst)
    }

    /// The heads of the requests received so far, in arrival order.
    pub(crate) fn heads(&self) -> Vec<String> {
        self.requests(|s| s.head.clone())
    }

    /// The arrival times of the requests received so far.
    pub(crate) fn arrivals(&self) -> Vec<Instant> {
        self.requests(|s| s.at)
    }

    /// The first request's arrival on each connection, by connection.
    pub(crate) fn first_per_connection(&self) -> Vec<Instant> {
        let mut first: std::collections::BTreeMap<u64, Instant> = std::collections::BTreeMap::new();
        for (conn, at) in self.requests(|s| (s.conn, s.at)) {
            first.entry(conn).or_insert(at);
        }
        first.into_values().collect()
    }

    fn requests<T>(&self, each: impl Fn(&Seen) -> T) -> Vec<T> {
        let seen = self
            .log
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        seen.iter().map(each).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(conn: TcpStream, n: u64, behaviour: Behaviour, log: &Log) {
    if matches!(behaviour, Behaviour::ResetEveryOther) && n.is_multiple_of(2) {
        // Wait for the request, leave it unread and close: the unread bytes make the kernel
        // answer with an RST instead of a FIN.
        let mut byte = [0u8; 1];
        let _ = conn.peek(&mut byte);
        drop(conn);
        return;
    }
    let Ok(mut writer) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    while let Some(head) = read_head(&mut reader) {
        log.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Seen {
                at: Instant::now(),
                conn: n,
                head,
            });
        let answer = match behaviour {
            Behaviour::Answer { extra } => {
                format!("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n{extra}\r\nok")
            }
            Behaviour::ResetEveryOther => {
                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_owned()
            }
            Behaviour::Malformed => "HTTP/1.1 abc\r\ncontent-length: 0\r\n\r\n".to_owned(),
            Behaviour::AnswerTwice => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".repeat(2),
        };
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
        if matches!(behaviour, Behaviour::ResetEveryOther) {
            // Close after the answer, reading what the client may still send so the close is a
            // FIN, not an RST.
            let _ = writer.shutdown(Shutdown::Write);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
            return;
        }
    }
}

/// Reads one request head (and skips its `Content-Length` body); `None` at end of stream.
fn read_head(reader: &mut impl BufRead) -> Option<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let length = lines
        .iter()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    std::io::copy(&mut reader.take(length), &mut std::io::sink()).ok()?;
    Some(lines.join("\n"))
}

/// A TCP relay on 127.0.0.1 to another address that counts the connections made through it.
pub(crate) struct CountingRelay {
    addr: SocketAddr,
    connections: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl CountingRelay {
    pub(crate) fn start(to: SocketAddr) -> CountingRelay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let connections = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stop2) = (Arc::clone(&connections), Arc::clone(&stop));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = conn else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(to) else {
                    continue;
                };
                pump(&client, &server);
                pump(&server, &client);
            }
        });
        CountingRelay {
            addr,
            connections,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT`, without the trailing slash.
    pub(crate) fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for CountingRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Copies `from` to `to` on a thread of its own until `from` ends, then ends `to`'s writing side.
fn pump(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
}
