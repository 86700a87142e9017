//! Fetching a repository with the `git` command line.
//!
//! Secrets never reach argv (visible in `ps`) nor the URL (echoed in git's
//! messages): an access token goes in as an HTTP header through
//! `GIT_CONFIG_*` variables, a deploy key as a 0600 file that
//! `GIT_SSH_COMMAND` names and that is removed after the fetch. Only the
//! http, https, ssh and git transports are allowed (and local paths for
//! repositories an admin registered): `ext::` would run commands.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use tokio::process::Command;

use super::remote::{Pinned, Remote, Transport};

/// How long one git command may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(120);

/// Variables that would send git through a proxy or another ssh: the
/// proxy would resolve the host itself, out of the policy's sight.
const CLEARED: [&str; 12] = [
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "GIT_PROXY_COMMAND",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_CONFIG_PARAMETERS",
];

/// A repository's credential, opened.
pub(crate) enum Credential {
    /// `TOKEN` or `USER:TOKEN`, sent as HTTP basic authentication.
    Token(String),
    /// A private SSH key (OpenSSH format).
    DeployKey(String),
}

/// Where and how to fetch.
pub(crate) struct Source<'a> {
    pub(crate) branch: &'a str,
    pub(crate) credential: Option<&'a Credential>,
    pub(crate) remote: &'a Remote,
    /// The URL and settings that keep git on the checked addresses.
    pub(crate) pinned: &'a Pinned,
    /// An ssh remote's host keys (`TYPE BASE64` lines) as given at
    /// registration or learned on the first fetch; None: not known yet.
    pub(crate) host_key: Option<&'a str>,
}

/// What a fetch brought.
pub(crate) struct Synced {
    pub(crate) commit: String,
    /// The host key an ssh remote showed on its first fetch (trusted on
    /// first use, to be recorded and required from then on).
    pub(crate) learned_host_key: Option<String>,
}

/// Brings `checkout` to the tip of the branch (cloning it the first time).
pub(crate) async fn sync(
    source: &Source<'_>,
    checkout: &Path,
    scratch: &Path,
) -> Result<Synced, String> {
    let key_file = match source.credential {
        Some(Credential::DeployKey(key)) => Some(ScratchFile::write(scratch, "key", key)?),
        _ => None,
    };
    let known_hosts = if source.remote.transport == Transport::Ssh {
        let alias = source.remote.host_key_alias();
        let lines: String = source
            .host_key
            .unwrap_or("")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| format!("{alias} {}\n", l.trim()))
            .collect();
        Some(ScratchFile::write(scratch, "known_hosts", &lines)?)
    } else {
        None
    };
    let env = environment(source, key_file.as_ref(), known_hosts.as_ref());
    let url = source.pinned.url.as_str();
    if checkout.join(".git").is_dir() {
        git(&env, Some(checkout), &["remote", "set-url", "origin", url]).await?;
        git(
            &env,
            Some(checkout),
            &["fetch", "--no-tags", "--prune", "origin", source.branch],
        )
        .await?;
        git(
            &env,
            Some(checkout),
            &["reset", "--hard", "--quiet", "FETCH_HEAD"],
        )
        .await?;
        git(&env, Some(checkout), &["clean", "-fdxq"]).await?;
    } else {
        if let Some(parent) = checkout.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot make {}: {e}", parent.display()))?;
        }
        let _ = std::fs::remove_dir_all(checkout);
        let target = checkout.to_string_lossy().into_owned();
        git(
            &env,
            None,
            &[
                "clone",
                "--quiet",
                "--no-tags",
                "--single-branch",
                "--branch",
                source.branch,
                "--",
                url,
                &target,
            ],
        )
        .await?;
    }
    let commit = git(&env, Some(checkout), &["rev-parse", "HEAD"]).await?;
    let learned_host_key = match (&known_hosts, source.host_key) {
        (Some(file), None) => learned(&file.path),
        _ => None,
    };
    Ok(Synced {
        commit: commit.trim().to_owned(),
        learned_host_key,
    })
}

/// The keys ssh wrote to an empty known-hosts file (`accept-new`), without
/// the host name: `TYPE BASE64` lines.
fn learned(known_hosts: &Path) -> Option<String> {
    let text = std::fs::read_to_string(known_hosts).ok()?;
    let keys: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace().skip(1);
            Some(format!("{} {}", fields.next()?, fields.next()?))
        })
        .collect();
    (!keys.is_empty()).then(|| keys.join("\n"))
}

/// `text` quoted for the shell git runs `GIT_SSH_COMMAND` with.
fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn environment(
    source: &Source<'_>,
    key_file: Option<&ScratchFile>,
    known_hosts: Option<&ScratchFile>,
) -> Vec<(String, String)> {
    // Only the remote's own transport: a redirect or a submodule to
    // another one is refused by git itself.
    let protocol = match source.remote.transport {
        Transport::Http => "http",
        Transport::Https => "https",
        Transport::Ssh => "ssh",
        Transport::Git => "git",
        Transport::Local => "file",
    };
    let mut env = vec![
        ("GIT_TERMINAL_PROMPT".to_owned(), "0".to_owned()),
        ("GIT_ALLOW_PROTOCOL".to_owned(), protocol.to_owned()),
        // No system or user configuration may add helpers or rewrite URLs.
        ("GIT_CONFIG_NOSYSTEM".to_owned(), "1".to_owned()),
        ("GIT_CONFIG_GLOBAL".to_owned(), "/dev/null".to_owned()),
    ];
    let mut config = source.pinned.config.clone();
    if let Some(Credential::Token(token)) = source.credential {
        let basic = if token.contains(':') {
            token.clone()
        } else {
            format!("x-access-token:{token}")
        };
        let encoded = base64::engine::general_purpose::STANDARD.encode(basic);
        config.push((
            "http.extraHeader".to_owned(),
            format!("Authorization: Basic {encoded}"),
        ));
    }
    if let Some(known_hosts) = known_hosts {
        env.push(("GIT_SSH_VARIANT".to_owned(), "ssh".to_owned()));
        env.push((
            "GIT_SSH_COMMAND".to_owned(),
            ssh_command(source, key_file, known_hosts),
        ));
    }
    env.push(("GIT_CONFIG_COUNT".to_owned(), config.len().to_string()));
    for (i, (key, value)) in config.into_iter().enumerate() {
        env.push((format!("GIT_CONFIG_KEY_{i}"), key));
        env.push((format!("GIT_CONFIG_VALUE_{i}"), value));
    }
    env
}

/// The ssh command git runs: no configuration file of the host (no
/// ProxyCommand, no other identities), no agent, the deploy key only, and
/// the host key checked against what the repository recorded — or, on the
/// first fetch of a repository registered without one, learned
/// (`accept-new`) and recorded.
fn ssh_command(
    source: &Source<'_>,
    key_file: Option<&ScratchFile>,
    known_hosts: &ScratchFile,
) -> String {
    let strict = if source.host_key.is_some() {
        "yes"
    } else {
        "accept-new"
    };
    let mut options = vec![
        "BatchMode=yes".to_owned(),
        "IdentitiesOnly=yes".to_owned(),
        "IdentityAgent=none".to_owned(),
        format!("StrictHostKeyChecking={strict}"),
        format!("UserKnownHostsFile={}", known_hosts.path.display()),
        "GlobalKnownHostsFile=/dev/null".to_owned(),
        "HashKnownHosts=no".to_owned(),
        "UpdateHostKeys=no".to_owned(),
        "ConnectTimeout=20".to_owned(),
    ];
    if key_file.is_none() {
        options.push("PubkeyAuthentication=no".to_owned());
    }
    options.extend(source.pinned.ssh_options.iter().cloned());
    let mut command = "ssh -F /dev/null".to_owned();
    if let Some(key) = key_file {
        command.push_str(&format!(
            " -i {}",
            shell_quoted(&key.path.to_string_lossy())
        ));
    }
    for option in options {
        command.push_str(&format!(" -o {}", shell_quoted(&option)));
    }
    command
}

/// Runs git; its stdout, or its complaint.
async fn git(
    env: &[(String, String)],
    dir: Option<&Path>,
    args: &[&str],
) -> Result<String, String> {
    let mut command = Command::new("git");
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command.args(args).env_remove("GIT_DIR");
    for name in CLEARED {
        command.env_remove(name);
    }
    command
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let verb = args.first().copied().unwrap_or("git");
    let output = tokio::time::timeout(GIT_TIMEOUT, command.output())
        .await
        .map_err(|_| format!("git {verb} took more than {} s", GIT_TIMEOUT.as_secs()))?
        .map_err(|e| format!("cannot run git (is it installed?): {e}"))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let said: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = said[said.len().saturating_sub(3)..].join(" / ");
    match explain(&stderr) {
        Some(why) => Err(format!("git {verb} failed: {why} ({tail})")),
        None => Err(format!("git {verb} failed: {tail}")),
    }
}

/// What git's (or ssh's) complaint means, for the causes a user can fix.
fn explain(stderr: &str) -> Option<&'static str> {
    if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || stderr.contains("Host key verification failed")
    {
        return Some(
            "the ssh host key is not the one recorded for this repository (re-register it with \
             the host's current key if it changed on purpose)",
        );
    }
    if stderr.contains("Permission denied (publickey") {
        return Some("the ssh server refused the deploy key");
    }
    if stderr.contains("Authentication failed")
        || stderr.contains("The requested URL returned error: 401")
    {
        return Some("the server refused the access token");
    }
    if stderr.contains("redirect") {
        return Some("the server answered with a redirect, and redirects are not followed");
    }
    None
}

/// A private file written for one fetch (a deploy key, a known-hosts
/// list), removed on drop.
struct ScratchFile {
    path: PathBuf,
}

impl ScratchFile {
    fn write(scratch: &Path, what: &str, text: &str) -> Result<ScratchFile, String> {
        std::fs::create_dir_all(scratch)
            .map_err(|e| format!("cannot make {}: {e}", scratch.display()))?;
        let mut name = [0u8; 8];
        getrandom::fill(&mut name).map_err(|e| format!("cannot make random bytes: {e}"))?;
        let path = scratch.join(format!("{what}-{}", crate::sealed::hex(&name)));
        let mut text = text.trim_end().to_owned();
        if !text.is_empty() {
            text.push('\n');
        }
        crate::sealed::write_private(&path, &text)
            .map_err(|e| format!("cannot write the {what} file: {e}"))?;
        Ok(ScratchFile { path })
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
