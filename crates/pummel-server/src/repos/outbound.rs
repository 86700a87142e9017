//! Which hosts the server itself may fetch from or post to for a user:
//! git URLs, notification webhooks.
//!
//! The service must not be a way into the network it runs in, so a
//! repository or webhook of a user who is not an admin may not point at
//! loopback, private, link-local (cloud metadata) or unspecified addresses.
//! Admins (trusted) may: their repositories and receivers are often next
//! door. The check resolves the host now; the network policy of the
//! service (allowed networks, set by an admin) replaces this stand-in where
//! it exists.

use std::net::IpAddr;

/// Refuses `host:port` when it resolves to a network a user may not reach.
pub(crate) async fn check(host: &str, port: u16, trusted: bool) -> Result<(), String> {
    if trusted {
        return Ok(());
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    for addr in addrs {
        if !public(addr.ip()) {
            return Err(format!(
                "{host} resolves to {}, a loopback, private or link-local address: only an admin may \
                 use such hosts",
                addr.ip()
            ));
        }
    }
    Ok(())
}

fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                // 100.64.0.0/10, carrier-grade NAT.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// Host and port of a git URL (`https://`, `http://`, `ssh://`, `git://`,
/// or scp-like `user@host:path`); None for a local path.
pub(crate) fn git_host(url: &str) -> Option<(String, u16)> {
    if let Some((scheme, rest)) = url.split_once("://") {
        let default = match scheme {
            "https" => 443,
            "http" => 80,
            "ssh" => 22,
            "git" => 9418,
            _ => return None,
        };
        let authority = rest.split('/').next().unwrap_or("");
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        return Some(split_port(authority, default));
    }
    // scp-like: [user@]host:path, never a local path starting with / or .
    if url.starts_with('/') || url.starts_with('.') {
        return None;
    }
    let (authority, _) = url.split_once(':')?;
    let host = authority.rsplit('@').next().unwrap_or(authority);
    Some((host.to_owned(), 22))
}

pub(crate) fn split_port(authority: &str, default: u16) -> (String, u16) {
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
        Some((host, port)) if port.parse::<u16>().is_ok() => {
            (host.to_owned(), port.parse().unwrap_or(default))
        }
        _ => (authority.to_owned(), default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_git_urls() {
        assert_eq!(
            git_host("https://git.example.com/a/b.git"),
            Some(("git.example.com".into(), 443))
        );
        assert_eq!(
            git_host("git://127.0.0.1:9000/r"),
            Some(("127.0.0.1".into(), 9000))
        );
        assert_eq!(
            git_host("git@github.com:o/r.git"),
            Some(("github.com".into(), 22))
        );
        assert_eq!(git_host("/srv/repo"), None);
    }

    #[tokio::test]
    async fn loopback_is_for_admins_only() {
        assert!(check("127.0.0.1", 80, false).await.is_err());
        assert!(check("::1", 80, false).await.is_err());
        assert!(check("169.254.169.254", 80, false).await.is_err());
        assert!(check("127.0.0.1", 80, true).await.is_ok());
        assert!(public("93.184.216.34".parse().unwrap()));
    }
}
