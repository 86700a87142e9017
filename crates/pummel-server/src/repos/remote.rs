//! Where a repository's git URL points, and how git is made to connect
//! only to an address the network policy checked.
//!
//! git resolves host names itself (libcurl for http(s), the ssh client for
//! ssh, git's own code for git://). Checking a name and then letting git
//! look it up again would let DNS answer differently the second time (a
//! rebinding attack), so the server resolves once with
//! `policy::fetch::resolve_checked` and pins every transport to what it
//! checked:
//!
//! - http(s): libcurl's resolve cache, `-c http.curloptResolve=HOST:PORT:ADDR`,
//!   so TLS still verifies the host's name; redirects are refused
//!   (`http.followRedirects=false`), since a redirect is a new host nobody
//!   checked;
//! - ssh: `ssh -o HostName=ADDR` with `HostKeyAlias` set to the URL's host,
//!   so the host key is still checked for the name the user registered;
//! - git://: the URL itself, with the address in place of the name (the
//!   protocol has no authentication or TLS that the name would serve).
//!
//! A local path or `file://` is not a network fetch: only an admin's
//! repository may be one.

use std::net::{IpAddr, SocketAddr};

use crate::policy::fetch::{self, FetchError};
use crate::policy::NetworkPolicy;

/// How git reaches a repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Http,
    Https,
    Ssh,
    Git,
    /// A path on the server or a `file://` URL.
    Local,
}

/// A git URL taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Remote {
    pub(crate) transport: Transport,
    /// Without IPv6 brackets; empty for a local path.
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Remote {
    /// Reads `url`: `https://`, `http://`, `ssh://`, `git://`, scp-like
    /// `user@host:path`, or a local path / `file://`.
    pub(crate) fn parse(url: &str) -> Result<Remote, String> {
        if url.starts_with('-') || (url.contains("::") && !url.contains("://")) {
            // `-…` would be an option to git; `transport::…` runs a helper.
            return Err(format!("{url:?} is not a git URL"));
        }
        if let Some((scheme, rest)) = url.split_once("://") {
            let (transport, default) = match scheme {
                "https" => (Transport::Https, 443),
                "http" => (Transport::Http, 80),
                "ssh" | "git+ssh" | "ssh+git" => (Transport::Ssh, 22),
                "git" => (Transport::Git, 9418),
                "file" => return Ok(Remote::local()),
                other => {
                    return Err(format!(
                        "{url:?}: the {other}:// transport is not allowed (use https://, http://, \
                         ssh://, git:// or user@host:path)"
                    ))
                }
            };
            let authority = rest.split('/').next().unwrap_or("");
            if authority.contains('@') && transport != Transport::Ssh {
                return Err(
                    "credentials do not go in the URL: give them with --token-env or --deploy-key \
                     (they are then stored encrypted)"
                        .to_owned(),
                );
            }
            let authority = authority.rsplit('@').next().unwrap_or(authority);
            let (host, port) = split_port(authority, default);
            if host.is_empty() {
                return Err(format!("{url:?} has no host"));
            }
            return Ok(Remote {
                transport,
                host,
                port,
            });
        }
        // scp-like: [user@]host:path, never a local path (starting with /
        // or ., or without a colon before the first slash).
        if url.starts_with('/') || url.starts_with('.') {
            return Ok(Remote::local());
        }
        let Some((authority, _)) = url.split_once(':') else {
            return Ok(Remote::local());
        };
        if authority.contains('/') {
            return Ok(Remote::local());
        }
        let host = authority.rsplit('@').next().unwrap_or(authority);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        Ok(Remote {
            transport: Transport::Ssh,
            host: host.to_owned(),
            port: 22,
        })
    }

    fn local() -> Remote {
        Remote {
            transport: Transport::Local,
            host: String::new(),
            port: 0,
        }
    }

    /// The name ssh's known-hosts lines use for this host: `host`, or
    /// `[host]:port` off port 22.
    pub(crate) fn host_key_alias(&self) -> String {
        if self.port == 22 {
            self.host.clone()
        } else {
            format!("[{}]:{}", self.host, self.port)
        }
    }
}

/// Host keys as a user gives them (a public key line, known-hosts lines or
/// `ssh-keyscan` output) as the `TYPE BASE64` lines the server keeps.
pub(crate) fn host_keys(text: &str) -> Result<String, String> {
    use base64::Engine as _;
    let mut keys = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let at = fields.iter().position(|f| {
            ["ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-"]
                .iter()
                .any(|p| f.starts_with(p))
        });
        let (Some(at), false) = (at, line.starts_with('@')) else {
            return Err(format!(
                "host key {line:?}: expected a public key (ssh-ed25519 AAAA…) or a known_hosts \
                 line (host ssh-ed25519 AAAA…), as `ssh-keyscan -p PORT HOST` prints"
            ));
        };
        let blob = fields.get(at + 1).copied().unwrap_or("");
        if base64::engine::general_purpose::STANDARD
            .decode(blob)
            .is_err()
            || blob.is_empty()
        {
            return Err(format!(
                "host key {line:?}: the key after {} is not base64",
                fields[at]
            ));
        }
        keys.push(format!("{} {blob}", fields[at]));
    }
    if keys.is_empty() {
        return Err("the host key is empty".to_owned());
    }
    Ok(keys.join("\n"))
}

/// `host[:port]` (IPv6 in brackets) into host and port.
fn split_port(authority: &str, default: u16) -> (String, u16) {
    if let Some(rest) = authority.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            let port = after
                .strip_prefix(':')
                .and_then(|p| p.parse().ok())
                .unwrap_or(default);
            return (host.to_owned(), port);
        }
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => match port.parse::<u16>() {
            Ok(port) => (host.to_owned(), port),
            Err(_) => (authority.to_owned(), default),
        },
        None => (authority.to_owned(), default),
    }
}

/// What git is given so that it connects only to checked addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pinned {
    /// The URL git is given (git:// has the address in place of the name).
    pub(crate) url: String,
    /// `-c` settings, passed through `GIT_CONFIG_*`.
    pub(crate) config: Vec<(String, String)>,
    /// Options for the ssh command line.
    pub(crate) ssh_options: Vec<String>,
    /// The addresses git may connect to.
    pub(crate) addrs: Vec<SocketAddr>,
}

/// Resolves `remote`'s host once under `policy` and pins git to the
/// checked addresses. `url` is the repository's URL as registered.
pub(crate) async fn pin(
    policy: &NetworkPolicy,
    remote: &Remote,
    url: &str,
) -> Result<Pinned, FetchError> {
    let mut pinned = Pinned {
        url: url.to_owned(),
        ..Pinned::default()
    };
    // Whatever the transport: no redirects and no proxy (a proxy would
    // resolve the name itself, out of the policy's sight).
    pinned
        .config
        .push(("http.followRedirects".to_owned(), "false".to_owned()));
    pinned.config.push(("http.proxy".to_owned(), String::new()));
    if remote.transport == Transport::Local {
        return Ok(pinned);
    }
    let addrs = fetch::resolve_checked(policy, &remote.host, remote.port).await?;
    pinned.addrs.clone_from(&addrs);
    let literal = remote.host.parse::<IpAddr>().is_ok();
    match remote.transport {
        Transport::Http | Transport::Https if !literal => {
            let list: Vec<String> = addrs.iter().map(|a| bracketed(a.ip())).collect();
            pinned.config.push((
                "http.curloptResolve".to_owned(),
                format!("{}:{}:{}", remote.host, remote.port, list.join(",")),
            ));
        }
        Transport::Git if !literal => {
            let first = addrs.first().map(|a| bracketed(a.ip())).unwrap_or_default();
            pinned.url = replace_host(url, &remote.host, &first);
        }
        Transport::Ssh => {
            let first = addrs
                .first()
                .map(|a| a.ip().to_string())
                .unwrap_or_default();
            pinned.ssh_options = vec![
                format!("HostName={first}"),
                format!("HostKeyAlias={}", remote.host_key_alias()),
                // The key is checked under the alias only: the address
                // is ours, not something to remember.
                "CheckHostIP=no".to_owned(),
            ];
        }
        _ => {}
    }
    Ok(pinned)
}

fn bracketed(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// `url` with its (first) `host` replaced by `by`.
fn replace_host(url: &str, host: &str, by: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((user, hostport)) => (format!("{user}@"), hostport),
        None => (String::new(), authority),
    };
    let hostport = hostport.replacen(host, by, 1);
    format!("{scheme}://{user}{hostport}/{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(url: &str) -> (Transport, String, u16) {
        let r = Remote::parse(url).unwrap();
        (r.transport, r.host, r.port)
    }

    #[test]
    fn urls_are_taken_apart() {
        assert_eq!(
            remote("https://git.example.com/a/b.git"),
            (Transport::Https, "git.example.com".into(), 443)
        );
        assert_eq!(
            remote("git://127.0.0.1:9000/r"),
            (Transport::Git, "127.0.0.1".into(), 9000)
        );
        assert_eq!(
            remote("git@github.com:o/r.git"),
            (Transport::Ssh, "github.com".into(), 22)
        );
        assert_eq!(
            remote("ssh://git@[::1]:2222/srv/r.git"),
            (Transport::Ssh, "::1".into(), 2222)
        );
        assert_eq!(remote("/srv/repo").0, Transport::Local);
        assert_eq!(remote("file:///srv/repo").0, Transport::Local);
        assert_eq!(remote("repo/with:colon").0, Transport::Local);
        for bad in [
            "ext::sh -c touch% /tmp/x",
            "-uhelp",
            "https://user:pw@host/r",
            "ftp://host/r",
            "https:///r",
        ] {
            assert!(Remote::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_key_aliases_follow_known_hosts() {
        assert_eq!(
            Remote::parse("git@h:r").unwrap().host_key_alias(),
            "h".to_owned()
        );
        assert_eq!(
            Remote::parse("ssh://git@h:2222/r")
                .unwrap()
                .host_key_alias(),
            "[h]:2222".to_owned()
        );
    }

    #[test]
    fn host_keys_are_read_from_the_usual_spellings() {
        let key =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
        assert_eq!(host_keys(key).unwrap(), key);
        assert_eq!(
            host_keys(&format!(
                "# 127.0.0.2:2222 SSH-2.0\n[127.0.0.2]:2222 {key}\n"
            ))
            .unwrap(),
            key
        );
        assert_eq!(host_keys(&format!("{key} root@box")).unwrap(), key);
        assert!(host_keys("").is_err());
        assert!(host_keys("ssh-ed25519 !!!").is_err());
        assert!(host_keys(&format!("@revoked * {key}")).is_err());
        assert!(host_keys("hello").is_err());
    }

    #[tokio::test]
    async fn each_transport_is_pinned_to_the_checked_address() {
        let policy = NetworkPolicy::restricted(vec!["127.0.0.0/8".parse().unwrap()]);
        let url = "https://localhost:8443/r.git";
        let pinned = pin(&policy, &Remote::parse(url).unwrap(), url)
            .await
            .unwrap();
        let resolve = pinned
            .config
            .iter()
            .find(|(k, _)| k == "http.curloptResolve")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert!(resolve.starts_with("localhost:8443:127."), "{resolve}");
        assert!(pinned
            .config
            .contains(&("http.followRedirects".into(), "false".into())));

        let url = "git://localhost:9418/r";
        let pinned = pin(&policy, &Remote::parse(url).unwrap(), url)
            .await
            .unwrap();
        assert!(pinned.url.starts_with("git://127."), "{}", pinned.url);
        assert!(pinned.url.ends_with(":9418/r"), "{}", pinned.url);

        let url = "ssh://git@localhost:2222/srv/r.git";
        let pinned = pin(&policy, &Remote::parse(url).unwrap(), url)
            .await
            .unwrap();
        assert!(pinned.ssh_options[0].starts_with("HostName=127."));
        assert_eq!(pinned.ssh_options[1], "HostKeyAlias=[localhost]:2222");
        assert_eq!(pinned.url, url);
    }

    #[tokio::test]
    async fn a_refused_host_gets_no_pin() {
        let policy = NetworkPolicy::restricted(vec!["127.0.0.2".parse().unwrap()]);
        for url in [
            "https://127.0.0.1/r",
            "git://[::1]/r",
            "git@169.254.169.254:r",
            "ssh://localhost/r",
        ] {
            let err = pin(&policy, &Remote::parse(url).unwrap(), url)
                .await
                .unwrap_err();
            assert!(matches!(err, FetchError::Refused { .. }), "{url}: {err}");
        }
        let url = "git://127.0.0.2:9/r";
        assert!(pin(&policy, &Remote::parse(url).unwrap(), url)
            .await
            .is_ok());
    }
}
