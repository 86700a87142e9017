//! The addresses a run may connect to, when someone other than the person
//! at the keyboard decides: a shared server's agents are given one with each
//! plan, so a target, a redirect or a `hosts:` entry that points into the
//! agent's own network is refused at connect time, not only at submit time.
//!
//! It is consulted once per origin per worker thread, when the origin's
//! addresses are first known (connectors are cached), never per request: a
//! run without a filter pays one `Option` test per new origin.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// Says whether an address may be connected to.
#[derive(Clone)]
pub struct ConnectFilter(Arc<dyn Fn(IpAddr) -> bool + Send + Sync>);

impl ConnectFilter {
    /// A filter that allows the addresses for which `allows` is true.
    pub fn new(allows: impl Fn(IpAddr) -> bool + Send + Sync + 'static) -> ConnectFilter {
        ConnectFilter(Arc::new(allows))
    }

    /// Whether every one of `addrs` is allowed: a host with one address
    /// outside is refused whole, as a name that answers both a public and a
    /// private address is how DNS rebinding hides.
    pub(crate) fn allows_all(&self, addrs: &[std::net::SocketAddr]) -> bool {
        addrs.iter().all(|a| (self.0)(a.ip()))
    }
}

impl fmt::Debug for ConnectFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConnectFilter")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::SocketAddr;

    use super::*;
    use crate::http::proxy::ProxySetting;
    use crate::http::session::{Connectors, SessionOptions};
    use crate::http::TargetUrl;
    use crate::ErrorKind;

    fn connectors(filter: Option<ConnectFilter>) -> std::rc::Rc<Connectors> {
        let mut hosts = HashMap::new();
        hosts.insert("inside.test".to_owned(), IpAddr::from([127, 0, 0, 1]));
        hosts.insert("outside.test".to_owned(), IpAddr::from([127, 0, 0, 2]));
        let known = HashMap::from([(
            ("planned.test".to_owned(), 80),
            vec![
                SocketAddr::from(([127, 0, 0, 2], 80)),
                SocketAddr::from(([127, 0, 0, 1], 80)),
            ],
        )]);
        Connectors::new(
            SessionOptions {
                hosts,
                connect_filter: filter,
                ..SessionOptions::default()
            },
            known,
        )
    }

    #[tokio::test(flavor = "current_thread")]
    async fn origins_outside_the_filter_are_refused_before_any_connect() {
        let only_2 = ConnectFilter::new(|ip| ip == IpAddr::from([127, 0, 0, 2]));
        let c = connectors(Some(only_2));
        let url = |u: &str| TargetUrl::parse(u).unwrap();
        assert!(c
            .get(
                &url("http://outside.test/"),
                None,
                false,
                ProxySetting::Inherit,
                false
            )
            .await
            .is_ok());
        assert!(c
            .get(
                &url("http://127.0.0.2:8/"),
                None,
                false,
                ProxySetting::Inherit,
                false
            )
            .await
            .is_ok());
        for refused in [
            "http://inside.test/",
            "http://127.0.0.1:8/",
            "http://planned.test/",
        ] {
            assert_eq!(
                c.get(&url(refused), None, false, ProxySetting::Inherit, false)
                    .await
                    .err(),
                Some(ErrorKind::AddressRefused),
                "{refused}"
            );
        }
        // Without a filter, nothing is refused.
        let open = connectors(None);
        assert!(open
            .get(
                &url("http://inside.test/"),
                None,
                false,
                ProxySetting::Inherit,
                false
            )
            .await
            .is_ok());
        assert!(open
            .get(
                &url("http://planned.test/"),
                None,
                false,
                ProxySetting::Inherit,
                false
            )
            .await
            .is_ok());
    }
}
