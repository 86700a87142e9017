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

/// How long one git command may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(120);

/// A repository's credential, opened.
pub(crate) enum Credential {
    /// `TOKEN` or `USER:TOKEN`, sent as HTTP basic authentication.
    Token(String),
    /// A private SSH key (OpenSSH format).
    DeployKey(String),
}

/// Where and how to fetch.
pub(crate) struct Source<'a> {
    pub(crate) url: &'a str,
    pub(crate) branch: &'a str,
    pub(crate) credential: Option<&'a Credential>,
    /// Local paths and `file://` allowed (an admin's repository).
    pub(crate) local_allowed: bool,
}

/// Brings `checkout` to the tip of the branch (cloning it the first time);
/// returns the commit.
pub(crate) async fn sync(
    source: &Source<'_>,
    checkout: &Path,
    scratch: &Path,
) -> Result<String, String> {
    let key_file = match source.credential {
        Some(Credential::DeployKey(key)) => Some(KeyFile::write(scratch, key)?),
        _ => None,
    };
    let env = environment(source, key_file.as_ref().map(|k| k.path.as_path()));
    if checkout.join(".git").is_dir() {
        git(
            &env,
            Some(checkout),
            &["remote", "set-url", "origin", source.url],
        )
        .await?;
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
                source.url,
                &target,
            ],
        )
        .await?;
    }
    let commit = git(&env, Some(checkout), &["rev-parse", "HEAD"]).await?;
    Ok(commit.trim().to_owned())
}

fn environment(source: &Source<'_>, key_file: Option<&Path>) -> Vec<(String, String)> {
    let protocols = if source.local_allowed {
        "http:https:ssh:git:file"
    } else {
        "http:https:ssh:git"
    };
    let mut env = vec![
        ("GIT_TERMINAL_PROMPT".to_owned(), "0".to_owned()),
        ("GIT_ALLOW_PROTOCOL".to_owned(), protocols.to_owned()),
        // No system or user configuration may add helpers or rewrite URLs.
        ("GIT_CONFIG_NOSYSTEM".to_owned(), "1".to_owned()),
        ("GIT_CONFIG_GLOBAL".to_owned(), "/dev/null".to_owned()),
    ];
    let mut config: Vec<(String, String)> = Vec::new();
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
    if let Some(key) = key_file {
        env.push((
            "GIT_SSH_COMMAND".to_owned(),
            format!(
                "ssh -i '{}' -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new",
                key.display()
            ),
        ));
    }
    env.push(("GIT_CONFIG_COUNT".to_owned(), config.len().to_string()));
    for (i, (key, value)) in config.into_iter().enumerate() {
        env.push((format!("GIT_CONFIG_KEY_{i}"), key));
        env.push((format!("GIT_CONFIG_VALUE_{i}"), value));
    }
    env
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
    command
        .args(args)
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
    Err(format!("git {verb} failed: {tail}"))
}

/// A deploy key written for one fetch, removed on drop.
struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    fn write(scratch: &Path, key: &str) -> Result<KeyFile, String> {
        std::fs::create_dir_all(scratch)
            .map_err(|e| format!("cannot make {}: {e}", scratch.display()))?;
        let mut name = [0u8; 8];
        getrandom::fill(&mut name).map_err(|e| format!("cannot make random bytes: {e}"))?;
        let path = scratch.join(format!("key-{}", crate::sealed::hex(&name)));
        let mut text = key.trim_end().to_owned();
        text.push('\n');
        crate::sealed::write_private(&path, &text)
            .map_err(|e| format!("cannot write the deploy key file: {e}"))?;
        Ok(KeyFile { path })
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
