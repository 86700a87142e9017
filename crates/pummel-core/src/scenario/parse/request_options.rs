//! Request options that say how a request travels rather than what it
//! carries: `follow_redirects` and `proxy` (on a request and in
//! `defaults`), `hosts` (in `defaults`).

use std::net::IpAddr;
use std::sync::Arc;

use crate::http::proxy::ProxySetting;
use crate::http::ProxyUrl;

use super::decoder::Decoder;
use crate::http::session::MAX_REDIRECTS_LIMIT;
use crate::scenario::yaml::{Kind, Node};

impl Decoder<'_> {
    /// `follow_redirects: false | true | N`: how many redirects a request
    /// follows before its last response is the step's (`false` is 0, so a
    /// 302 can be checked and its `Location` captured; `true` is the
    /// default, 10).
    pub(super) fn follow_redirects(&mut self, node: &Node) -> Option<u32> {
        match node.kind {
            Kind::Bool(false) => Some(0),
            Kind::Bool(true) => Some(crate::http::session::DEFAULT_MAX_REDIRECTS),
            Kind::Int(_) => self
                .int(
                    node,
                    "`follow_redirects`",
                    0,
                    i64::from(MAX_REDIRECTS_LIMIT),
                )
                .and_then(|n| u32::try_from(n).ok()),
            _ => {
                self.err(
                    node.span,
                    format!(
                        "`follow_redirects` must be true, false or a number of redirects \
                         (0 to {MAX_REDIRECTS_LIMIT}), found {}",
                        node.type_name()
                    ),
                );
                None
            }
        }
    }

    /// `hosts: { NAME: IP }`: where a host name goes instead of a DNS
    /// lookup. The address is an IP literal, checked now.
    pub(super) fn hosts(&mut self, node: &Node) -> Vec<(String, IpAddr)> {
        let Some(entries) = self.map_entries(
            node,
            "`hosts` must be a mapping of host names to IP addresses",
        ) else {
            return Vec::new();
        };
        let mut out: Vec<(String, IpAddr)> = Vec::new();
        for (k, v) in entries {
            let Some(name) = self.scalar(k, "a host name") else {
                continue;
            };
            let name = name.to_ascii_lowercase();
            if name.is_empty() || name.contains(['/', ':', ' ']) {
                self.err(
                    k.span,
                    format!(
                        "`{name}` is not a host name (write the name alone, no scheme or port)"
                    ),
                );
                continue;
            }
            if out.iter().any(|(n, _)| *n == name) {
                self.err(k.span, format!("host `{name}` is given twice"));
                continue;
            }
            let Some(text) = self.scalar(v, "an IP address") else {
                continue;
            };
            let bare = text.trim_start_matches('[').trim_end_matches(']');
            match bare.parse::<IpAddr>() {
                Ok(ip) => out.push((name, ip)),
                Err(_) => self.err(
                    v.span,
                    format!("host `{name}`: `{text}` is not an IP address (127.0.0.1, ::1)"),
                ),
            }
        }
        out
    }

    /// `proxy: http://[user:password@]host:port | false`: the HTTP proxy
    /// requests go through (`false`: none, whatever the defaults say). The
    /// URL may take its credentials from `{{ env.NAME }}`, resolved now.
    pub(super) fn proxy(&mut self, node: &Node) -> ProxySetting {
        let text = match &node.kind {
            Kind::Bool(false) => return ProxySetting::Direct,
            Kind::Str(text) => text.clone(),
            _ => {
                self.err(
                    node.span,
                    format!(
                        "`proxy` must be a proxy URL (http://host:port) or false, found {}",
                        node.type_name()
                    ),
                );
                return ProxySetting::Inherit;
            }
        };
        let (text, at) = if text.contains("{{") {
            let Some(template) = self.template(node, "`proxy`") else {
                return ProxySetting::Inherit;
            };
            let env = std::mem::take(&mut self.env);
            let resolved = crate::scenario::target_template::env_only_text(
                template,
                node.span,
                "`proxy`",
                &env,
                &mut self.problems,
            );
            self.env = env;
            match resolved {
                Some((text, at)) => (text, at.unwrap_or(node.span)),
                None => return ProxySetting::Inherit,
            }
        } else {
            (text, node.span)
        };
        match ProxyUrl::parse(&text) {
            Ok(proxy) => {
                let id = match self.proxies.iter().position(|p| **p == proxy) {
                    Some(i) => i,
                    None => {
                        self.proxies.push(Arc::new(proxy));
                        self.proxies.len() - 1
                    }
                };
                ProxySetting::Via(id)
            }
            Err(e) => {
                self.err(at, format!("`proxy`: {e}"));
                ProxySetting::Inherit
            }
        }
    }
}
