//! WebSocket steps: `ws_connect`, `ws_send`, `ws_receive`, `ws_ping`, `ws_close`.

use std::time::Duration;

use super::decoder::{Decoder, Fields};
use crate::scenario::template::Template;
use crate::scenario::websocket::{WsAction, WsConnect, WsMessage, DEFAULT_WAIT};
use crate::scenario::yaml::{Kind, Node};

/// How long to wait for the peer: the mapping's `timeout`, or the default.
fn wait(d: &mut Decoder<'_>, f: &Fields<'_>) -> Duration {
    f.get("timeout")
        .and_then(|n| d.positive_duration(n, "`timeout`"))
        .unwrap_or(DEFAULT_WAIT)
}

impl Decoder<'_> {
    /// A WebSocket step's action, from the value of its keyword.
    pub(super) fn decode_ws_action(
        &mut self,
        keyword: &str,
        node: &Node,
        capture: Option<&Node>,
    ) -> Option<WsAction> {
        match keyword {
            "ws_connect" => self.decode_ws_connect(node),
            "ws_send" => self.decode_ws_send(node),
            "ws_expect" => self.decode_ws_expect(node, capture),
            "ws_receive" => self.decode_ws_receive(node),
            "ws_hold" => Some(WsAction::Hold(self.positive_duration(node, "`ws_hold`")?)),
            "ws_ping" => self.decode_ws_ping(node),
            "ws_close" => self.decode_ws_close(node),
            _ => None,
        }
    }

    /// A socket URL written whole (or a scheme written out) that could only
    /// fail, in every iteration, is an error where it is written: a bad
    /// port, a scheme that is not ws, wss, http or https.
    fn check_ws_url(&mut self, url: &Template, node: &Node) {
        let src = url.source().trim_start();
        let lower = src.get(..8).unwrap_or(src).to_ascii_lowercase();
        if lower.starts_with("ws://") || lower.starts_with("wss://") {
            if let Some(literal) = url.as_literal() {
                if let Err(e) = crate::ws::WsUrl::parse(literal) {
                    self.err(node.span, format!("`ws_connect`: {e}"));
                }
            }
        } else if src.starts_with('/')
            || src.starts_with("{{")
            || lower.starts_with("http://")
            || lower.starts_with("https://")
        {
            self.check_url(url, node);
        } else {
            self.err(
                node.span,
                "`ws_connect` must start with / (relative to `target`) or ws://, wss://, http:// or https://",
            );
        }
    }

    /// `ws_connect: URL`, or a mapping with `url`, `headers`, `protocols`,
    /// `timeout`, and how the socket travels: `tls` and `proxy`, as a
    /// request's.
    fn decode_ws_connect(&mut self, node: &Node) -> Option<WsAction> {
        if let Kind::Str(_) = node.kind {
            let url = self.template(node, "`ws_connect`")?;
            self.check_ws_url(&url, node);
            return Some(WsAction::Connect(WsConnect::to(url)));
        }
        let f = self.fields(
            node,
            "`ws_connect`",
            &["url", "headers", "protocols", "timeout", "tls", "proxy"],
        )?;
        let Some(url_node) = f.get("url") else {
            self.missing(&f, f.span, "`ws_connect` needs `url`");
            return None;
        };
        let url = self.template(url_node, "`url`")?;
        self.check_ws_url(&url, url_node);
        let mut connect = WsConnect::to(url);
        connect.headers = f
            .get("headers")
            .map(|n| self.decode_headers(n))
            .unwrap_or_default();
        connect.protocols = match f.get("protocols") {
            None => Vec::new(),
            Some(n) => match &n.kind {
                Kind::Seq(items) => items
                    .iter()
                    .filter_map(|i| self.string(i, "a subprotocol"))
                    .collect(),
                _ => self.string(n, "`protocols`").into_iter().collect(),
            },
        };
        connect.timeout = f
            .get("timeout")
            .and_then(|n| self.positive_duration(n, "`timeout`"));
        connect.tls = f.get("tls").and_then(|n| self.client_tls(n));
        if let Some(n) = f.get("proxy") {
            connect.proxy = self.proxy(n);
        }
        Some(WsAction::Connect(connect))
    }

    /// `ws_send: TEXT`, or `{ text: … }` or `{ json: … }`.
    fn decode_ws_send(&mut self, node: &Node) -> Option<WsAction> {
        if let Kind::Str(_) = node.kind {
            return Some(WsAction::Send(WsMessage::Text(
                self.template(node, "`ws_send`")?,
            )));
        }
        let f = self.fields(node, "`ws_send`", &["text", "json"])?;
        match (f.get("text"), f.get("json")) {
            (Some(t), None) => Some(WsAction::Send(WsMessage::Text(self.template(t, "`text`")?))),
            (None, Some(j)) => Some(WsAction::Send(WsMessage::Json(self.decode_json_body(j)?))),
            (Some(_), Some(_)) => {
                self.err(
                    f.key_span("json"),
                    "`ws_send` takes `text` or `json`, not both",
                );
                None
            }
            (None, None) => {
                self.missing(&f, f.span, "`ws_send` needs `text` or `json`");
                None
            }
        }
    }

    /// `ws_expect`: tests on the next message, and what to capture from it.
    fn decode_ws_expect(&mut self, node: &Node, capture: Option<&Node>) -> Option<WsAction> {
        let f = self.fields(node, "`ws_expect`", &["body", "jsonpath", "timeout"])?;
        // The message tests are the body and JSONPath checks of a response.
        let tests: Vec<(Node, Node)> = match &node.kind {
            Kind::Map(entries) => entries
                .iter()
                .filter(|(k, _)| k.as_str() != Some("timeout"))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        let checks = if tests.is_empty() {
            Vec::new()
        } else {
            self.decode_checks(&Node {
                kind: Kind::Map(tests),
                ..node.clone()
            })
        };
        let timeout = wait(self, &f);
        let captures = capture.map(|n| self.decode_captures(n)).unwrap_or_default();
        Some(WsAction::Expect {
            checks,
            captures,
            timeout,
        })
    }

    /// `ws_receive: COUNT`, or a mapping with `count` and `timeout`.
    fn decode_ws_receive(&mut self, node: &Node) -> Option<WsAction> {
        if let Kind::Int(_) = node.kind {
            let count = self.int(node, "`ws_receive`", 1, 1_000_000)? as u32;
            return Some(WsAction::Receive {
                count,
                timeout: DEFAULT_WAIT,
            });
        }
        let f = self.fields(node, "`ws_receive`", &["count", "timeout"])?;
        let count = match f.get("count") {
            Some(n) => self.int(n, "`count`", 1, 1_000_000)? as u32,
            None => 1,
        };
        Some(WsAction::Receive {
            count,
            timeout: wait(self, &f),
        })
    }

    /// `ws_ping`: `true`, a timeout, or a mapping with `timeout`.
    fn decode_ws_ping(&mut self, node: &Node) -> Option<WsAction> {
        if let Kind::Map(_) = node.kind {
            let f = self.fields(node, "`ws_ping`", &["timeout"])?;
            return Some(WsAction::Ping {
                timeout: wait(self, &f),
            });
        }
        // `ws_ping: {}`-less forms: `ws_ping: true` or a timeout.
        match &node.kind {
            Kind::Bool(true) | Kind::Null => Some(WsAction::Ping {
                timeout: DEFAULT_WAIT,
            }),
            _ => Some(WsAction::Ping {
                timeout: self.positive_duration(node, "`ws_ping`")?,
            }),
        }
    }

    /// `ws_close`: `true`, a close code, or a mapping with `code` and `reason`.
    fn decode_ws_close(&mut self, node: &Node) -> Option<WsAction> {
        match &node.kind {
            Kind::Bool(true) | Kind::Null => {
                return Some(WsAction::Close {
                    code: 1000,
                    reason: String::new(),
                })
            }
            Kind::Int(_) => {
                let code = self.int(node, "`ws_close`", 1000, 4999)? as u16;
                return Some(WsAction::Close {
                    code,
                    reason: String::new(),
                });
            }
            _ => {}
        }
        let f = self.fields(node, "`ws_close`", &["code", "reason"])?;
        let code = match f.get("code") {
            Some(n) => self.int(n, "`code`", 1000, 4999)? as u16,
            None => 1000,
        };
        let reason = f
            .get("reason")
            .and_then(|n| self.string(n, "`reason`"))
            .unwrap_or_default();
        if reason.len() > 123 {
            self.err(f.key_span("reason"), "a close reason is at most 123 bytes");
        }
        Some(WsAction::Close { code, reason })
    }
}
