//! One runner process: started with its stdin and stdout as the protocol's
//! pipes and its stderr as its log, greeted, and read a bounded line at a
//! time.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::sync::mpsc;

use super::protocol::{self, Hello, MAX_LINE};
use crate::scenario::runner::RunnerSpec;

/// How long a runner has to answer pummel's hello (an interpreter that
/// imports a large test module takes a while).
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// A runner process started and greeted before the load began, on no
/// runtime yet: its worker adopts it ([`Process::adopt`]).
pub(crate) struct Ready {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::process::ChildStdout,
    stderr: std::process::ChildStderr,
    client: String,
}

/// The process itself: started on the worker's runtime (a restart) or
/// before it (the first, adopted).
pub(super) enum ChildHandle {
    Async(Child),
    Std(std::process::Child),
}

impl ChildHandle {
    /// Kills the process (if it still runs) and reaps it.
    pub(super) async fn kill_and_wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        match self {
            ChildHandle::Async(child) => {
                let _ = child.start_kill();
                child.wait().await
            }
            ChildHandle::Std(child) => {
                if let Some(status) = child.try_wait()? {
                    return Ok(status);
                }
                let _ = child.kill();
                loop {
                    if let Some(status) = child.try_wait()? {
                        return Ok(status);
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }
}

/// A started, greeted runner process.
pub(super) struct Process {
    pub(super) child: ChildHandle,
    /// Lines to its stdin; a task writes them, as many as are waiting in
    /// one write, so a burst of starts costs one system call.
    pub(super) input: mpsc::UnboundedSender<String>,
    pub(super) output: BufReader<ChildStdout>,
    pub(super) log: Option<BufReader<ChildStderr>>,
    pub(super) client: String,
}

/// A line read with a bound on its length.
pub(super) enum Line {
    Text,
    TooLong,
    End,
}

/// Reads one line into `buf` (without its newline), at most [`MAX_LINE`]
/// bytes; a longer one is skipped to its end and reported as such.
pub(super) async fn read_line(
    reader: &mut (impl AsyncBufRead + Unpin),
    buf: &mut Vec<u8>,
) -> std::io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buf.is_empty() && !too_long {
                Line::End
            } else if too_long {
                Line::TooLong
            } else {
                Line::Text
            });
        }
        let (chunk, found) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if !too_long && buf.len() + chunk.len() <= MAX_LINE {
            buf.extend_from_slice(chunk);
        } else {
            too_long = true;
            buf.clear();
        }
        let used = found.unwrap_or(available.len());
        reader.consume(used);
        if found.is_some() {
            return Ok(if too_long { Line::TooLong } else { Line::Text });
        }
    }
}

/// A task that writes the lines sent to the returned channel to `stdin`,
/// as many as are waiting in one write, so a burst of starts costs one
/// system call.
fn writer(stdin: tokio::process::ChildStdin) -> mpsc::UnboundedSender<String> {
    let (input, mut queue) = mpsc::unbounded_channel::<String>();
    tokio::task::spawn_local(async move {
        let mut stdin = stdin;
        let mut batch = String::new();
        while let Some(line) = queue.recv().await {
            batch.clear();
            batch.push_str(&line);
            while let Ok(more) = queue.try_recv() {
                batch.push_str(&more);
            }
            if stdin.write_all(batch.as_bytes()).await.is_err() || stdin.flush().await.is_err() {
                // The process is gone: its reader says so.
                break;
            }
        }
    });
    input
}

impl Process {
    /// Takes over a process started before the load, on this worker's runtime.
    pub(super) fn adopt(ready: Ready) -> std::io::Result<Process> {
        Ok(Process {
            child: ChildHandle::Std(ready.child),
            input: writer(tokio::process::ChildStdin::from_std(ready.stdin)?),
            output: BufReader::with_capacity(
                1 << 16,
                tokio::process::ChildStdout::from_std(ready.stdout)?,
            ),
            log: Some(BufReader::new(tokio::process::ChildStderr::from_std(
                ready.stderr,
            )?)),
            client: ready.client,
        })
    }
}

/// Starts `n` runner processes at once and greets each, before the load:
/// a runner that cannot start stops the run before it began, and the load
/// does not count the interpreters' start-up. `origin` is pummel's clock
/// origin.
pub(crate) fn start_all(spec: &RunnerSpec, n: u32, origin: Instant) -> Result<Vec<Ready>, String> {
    let (program, args) = spec.command();
    let mut started = Vec::new();
    for _ in 0..n {
        let child = std::process::Command::new(&program)
            .args(&args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start `{program}`: {e}"));
        match child {
            Ok(c) => started.push(c),
            Err(e) => {
                for mut c in started {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                return Err(e);
            }
        }
    }
    let greetings: Vec<_> = started
        .into_iter()
        .map(|child| {
            let program = program.clone();
            let timeout_ms = spec.iteration_timeout.as_millis();
            std::thread::spawn(move || greet(child, origin, timeout_ms, &program))
        })
        .collect();
    let mut ready = Vec::new();
    let mut failure = None;
    for g in greetings {
        match g.join() {
            Ok(Ok(r)) => ready.push(r),
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(_) => failure = failure.or(Some("a runner's greeting failed".to_owned())),
        }
    }
    match failure {
        None => Ok(ready),
        Some(e) => {
            for mut r in ready {
                let _ = r.child.kill();
                let _ = r.child.wait();
            }
            Err(e)
        }
    }
}

/// Reads the runner's hello, a byte at a time (nothing past its line may
/// be read here: the rest belongs to the worker), then writes pummel's with
/// its clock: the runner is waiting for it, so the moment it reads the clock
/// is the moment it was written.
fn greet(
    mut child: std::process::Child,
    origin: Instant,
    iteration_timeout_ms: u128,
    program: &str,
) -> Result<Ready, String> {
    use std::io::{Read, Write};
    let (Some(mut stdin), Some(mut stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(format!("`{program}` started without its pipes"));
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let name = program.to_owned();
    let reader = std::thread::spawn(move || {
        let program = name;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        let outcome = loop {
            match stdout.read(&mut byte) {
                Ok(0) => break Err(format!("`{program}` ended without saying hello")),
                Ok(_) if byte[0] == b'\n' => break Ok(()),
                Ok(_) if line.len() < 4096 => line.push(byte[0]),
                Ok(_) => break Err(format!("`{program}` wrote a first line over 4 KiB")),
                Err(e) => break Err(format!("reading from `{program}`: {e}")),
            }
        };
        let _ = tx.send(());
        (outcome, line, stdout)
    });
    let timed_out = rx.recv_timeout(HELLO_TIMEOUT).is_err();
    let fail =
        |mut child: std::process::Child, stderr: std::process::ChildStderr, message: String| {
            let _ = child.kill();
            let _ = child.wait();
            let tail = std_tail(stderr);
            Err(if tail.is_empty() {
                message
            } else {
                format!("{message}; it said:\n{tail}")
            })
        };
    if timed_out {
        return fail(
            child,
            stderr,
            format!(
                "`{program}` did not say hello within {}s",
                HELLO_TIMEOUT.as_secs()
            ),
        );
    }
    let Ok((outcome, line, stdout)) = reader.join() else {
        return fail(child, stderr, format!("reading from `{program}` failed"));
    };
    if let Err(message) = outcome {
        return fail(child, stderr, message);
    }
    let runner_hello = match serde_json::from_slice::<Hello>(&line) {
        Ok(h) if h.pummel_runner == protocol::VERSION => h,
        Ok(h) => {
            return fail(
                child,
                stderr,
                format!(
                    "`{program}` speaks runner protocol version {}, pummel speaks {}",
                    h.pummel_runner,
                    protocol::VERSION
                ),
            )
        }
        Err(_) => {
            return fail(
                child,
                stderr,
                format!(
                    "`{program}` did not speak the runner protocol: its first line was {:?}",
                    String::from_utf8_lossy(&line[..line.len().min(200)])
                ),
            )
        }
    };
    let hello = protocol::hello(origin.elapsed().as_nanos() as u64, iteration_timeout_ms);
    if let Err(e) = stdin
        .write_all(hello.as_bytes())
        .and_then(|()| stdin.flush())
    {
        return fail(child, stderr, format!("writing to `{program}`: {e}"));
    }
    Ok(Ready {
        child,
        stdin,
        stdout,
        stderr,
        client: runner_hello.client.unwrap_or_default(),
    })
}

/// The last lines of a dead process's stderr (bounded).
fn std_tail(stderr: std::process::ChildStderr) -> String {
    use std::io::Read;
    let mut text = Vec::new();
    let _ = stderr.take(1 << 20).read_to_end(&mut text);
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..]
        .iter()
        .map(|l| l.chars().take(500).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Starts a runner process and exchanges hellos (the runner's first, then
/// pummel's). `origin` is pummel's clock origin: the hello carries the time
/// since it.
pub(super) async fn start(spec: &RunnerSpec, origin: Instant) -> Result<Process, String> {
    let (program, args) = spec.command();
    let mut command = Command::new(&program);
    command
        .args(&args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(format!("`{program}` started without its pipes"));
    };
    let input = writer(stdin);
    let mut output = BufReader::with_capacity(1 << 16, stdout);
    let mut log = BufReader::new(stderr);
    let mut buf = Vec::new();
    let greeted = tokio::time::timeout(HELLO_TIMEOUT, read_line(&mut output, &mut buf)).await;
    let hello = match greeted {
        Err(_) => Err(format!(
            "`{program}` did not say hello within {}s",
            HELLO_TIMEOUT.as_secs()
        )),
        Ok(Err(e)) => Err(format!("reading from `{program}`: {e}")),
        Ok(Ok(Line::Text)) => serde_json::from_slice::<Hello>(&buf).map_err(|_| {
            format!(
                "`{program}` did not speak the runner protocol: its first line was {:?}",
                String::from_utf8_lossy(&buf[..buf.len().min(200)])
            )
        }),
        Ok(Ok(_)) => Err(format!("`{program}` ended without saying hello")),
    };
    let hello = match hello {
        Ok(h) => h,
        Err(message) => {
            let _ = child.start_kill();
            let tail = read_tail(&mut log).await;
            return Err(if tail.is_empty() {
                message
            } else {
                format!("{message}; it said:\n{tail}")
            });
        }
    };
    if hello.pummel_runner != protocol::VERSION {
        let _ = child.start_kill();
        return Err(format!(
            "`{program}` speaks runner protocol version {}, pummel speaks {}",
            hello.pummel_runner,
            protocol::VERSION
        ));
    }
    // pummel's hello goes second: the runner is waiting for it, so the
    // moment it reads the clock is the moment it was written.
    let clock = origin.elapsed().as_nanos() as u64;
    let _ = input.send(protocol::hello(clock, spec.iteration_timeout.as_millis()));
    Ok(Process {
        child: ChildHandle::Async(child),
        input,
        output,
        log: Some(log),
        client: hello.client.unwrap_or_default(),
    })
}

/// The last lines a process wrote to its stderr before it ended (bounded),
/// to say why it failed.
pub(super) async fn read_tail(log: &mut BufReader<ChildStderr>) -> String {
    const KEEP: usize = 12;
    let mut lines: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let mut buf = Vec::new();
    let read_all = async {
        while let Ok(Line::Text | Line::TooLong) = read_line(log, &mut buf).await {
            if lines.len() == KEEP {
                lines.pop_front();
            }
            lines.push_back(String::from_utf8_lossy(&buf[..buf.len().min(500)]).into_owned());
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), read_all).await;
    Vec::from(lines).join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_read_whole_and_overlong_ones_skipped() {
        let long = "x".repeat(MAX_LINE + 10);
        let text = format!("one\n{long}\ntwo\nlast");
        let mut reader = BufReader::with_capacity(64, text.as_bytes());
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        loop {
            match read_line(&mut reader, &mut buf).await.unwrap() {
                Line::Text => seen.push(String::from_utf8(buf.clone()).unwrap()),
                Line::TooLong => seen.push("(too long)".into()),
                Line::End => break,
            }
        }
        assert_eq!(seen, vec!["one", "(too long)", "two", "last"]);
    }
}
