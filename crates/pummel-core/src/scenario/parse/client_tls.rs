//! `tls: { cert, key, ca, insecure }`: client TLS settings, read and checked
//! when the file loads (see [`crate::http::tls::ClientTls`]).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::decoder::Decoder;
use crate::http::tls::{ClientTls, TlsProfileId};
use crate::scenario::yaml::Node;

/// The most bytes a certificate or key file may hold: PEM files are a few
/// kilobytes; anything larger is the wrong file.
const MAX_PEM_BYTES: u64 = 1 << 20;

impl Decoder<'_> {
    /// Decodes a `tls` mapping into a profile, shared with any earlier one
    /// written the same.
    pub(super) fn client_tls(&mut self, node: &Node) -> Option<TlsProfileId> {
        let f = self.fields(node, "`tls`", &["cert", "key", "ca", "insecure"])?;
        let cert = f
            .get("cert")
            .and_then(|n| Some((n, self.string(n, "`tls.cert`")?)));
        let key = f
            .get("key")
            .and_then(|n| Some((n, self.string(n, "`tls.key`")?)));
        let ca = f
            .get("ca")
            .and_then(|n| Some((n, self.string(n, "`tls.ca`")?)));
        let insecure = f
            .get("insecure")
            .and_then(|n| self.bool(n, "`tls.insecure`"))
            .unwrap_or(false);
        let id_key = format!(
            "cert={:?} key={:?} ca={:?} insecure={insecure}",
            cert.as_ref().map(|c| &c.1),
            key.as_ref().map(|k| &k.1),
            ca.as_ref().map(|c| &c.1),
        );
        if let Some(i) = self.tls_profiles.iter().position(|p| p.key == id_key) {
            return Some(i);
        }
        let identity = match (cert, key) {
            (Some((cn, cp)), Some((kn, kp))) => {
                let chain = self.pem_certs(cn, &cp, "`tls.cert`")?;
                let key = self.pem_key(kn, &kp)?;
                Some((chain, key))
            }
            (Some(_), None) => {
                self.err(
                    f.key_span("cert"),
                    "`tls.cert` needs `key`: the client certificate's private key file",
                );
                return None;
            }
            (None, Some(_)) => {
                self.err(
                    f.key_span("key"),
                    "`tls.key` needs `cert`: the client certificate file",
                );
                return None;
            }
            (None, None) => None,
        };
        let ca = match ca {
            Some((n, path)) => self.pem_certs(n, &path, "`tls.ca`")?,
            None => Vec::new(),
        };
        let profile = ClientTls {
            identity,
            ca,
            insecure,
            key: id_key,
        };
        // A key that is not the certificate's, or of a kind TLS cannot use,
        // is found now rather than in every handshake of the run.
        if let Err(e) = crate::http::tls::check_client_tls(&profile) {
            let message = match e {
                rustls::Error::InconsistentKeys(_) => {
                    "`tls.key` is not the key of the certificate in `tls.cert`".to_owned()
                }
                e => format!("`tls`: the certificates and key cannot be used: {e}"),
            };
            self.err(f.key_span("key"), message);
            return None;
        }
        self.tls_profiles.push(Arc::new(profile));
        Some(self.tls_profiles.len() - 1)
    }

    fn pem_file(&mut self, node: &Node, path: &str, what: &str) -> Option<(Vec<u8>, String)> {
        let full = self.base_dir.join(Path::new(path));
        match crate::limits::read_file(&full, MAX_PEM_BYTES) {
            Ok(bytes) => Some((bytes, full.display().to_string())),
            Err(e) => {
                self.err(
                    node.span,
                    format!("{what}: cannot read {}: {e}", full.display()),
                );
                None
            }
        }
    }

    fn pem_certs(
        &mut self,
        node: &Node,
        path: &str,
        what: &str,
    ) -> Option<Vec<CertificateDer<'static>>> {
        let (bytes, shown) = self.pem_file(node, path, what)?;
        let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&bytes).collect();
        match certs {
            Ok(certs) if !certs.is_empty() => Some(certs),
            Ok(_) => {
                self.err(
                    node.span,
                    format!(
                        "{what}: {shown} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
                    ),
                );
                None
            }
            Err(e) => {
                self.err(node.span, format!("{what}: {shown} is not valid PEM: {e}"));
                None
            }
        }
    }

    fn pem_key(&mut self, node: &Node, path: &str) -> Option<PrivateKeyDer<'static>> {
        let (bytes, shown) = self.pem_file(node, path, "`tls.key`")?;
        match PrivateKeyDer::from_pem_slice(&bytes) {
            Ok(key) => Some(key),
            Err(e) => {
                self.err(
                    node.span,
                    format!("`tls.key`: {shown} holds no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"),
                );
                None
            }
        }
    }
}
