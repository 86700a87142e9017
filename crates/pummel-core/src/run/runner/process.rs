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

/// A started, greeted runner process.
pub(super) struct Process {
    pub(super) child: Child,
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

/// Starts a runner process and exchanges hellos. `origin` is pummel's
/// clock origin: the hello carries the time since it.
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
    let clock = origin.elapsed().as_nanos() as u64;
    let _ = input.send(protocol::hello(clock, spec.iteration_timeout.as_millis()));
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
    Ok(Process {
        child,
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
