//! TLS client configuration (rustls).

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Which application protocols to offer in ALPN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Alpn {
    Http1,
    Http2,
}

/// Builds a client config that trusts the Mozilla roots (webpki-roots) and the
/// platform's native roots, or — with `insecure` — any certificate at all
/// (for self-signed test servers; the user asked for it with `-k`).
pub(crate) fn client_config(insecure: bool, alpn: Alpn) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions");
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(root_store())
            .with_no_client_auth()
    };
    config.alpn_protocols = match alpn {
        Alpn::Http1 => vec![b"http/1.1".to_vec()],
        Alpn::Http2 => vec![b"h2".to_vec()],
    };
    Arc::new(config)
}

/// The TLS client configuration of one run, shared by all its sessions and
/// built at most once, for the first TLS origin any of them meets.
///
/// Building a configuration that verifies certificates loads the root
/// certificates (the platform's, read from disk and parsed, and the bundled
/// ones): milliseconds of CPU. Built per origin and per worker thread, that
/// cost grew with every host a scenario reached; built lazily, a run that
/// never meets TLS does not pay it at all.
#[derive(Clone, Debug)]
pub(crate) struct SharedClientConfig {
    insecure: bool,
    config: Arc<OnceLock<Arc<ClientConfig>>>,
}

impl SharedClientConfig {
    /// A configuration for HTTP/1.1 that, with `insecure`, accepts any
    /// certificate (see [`client_config`]).
    pub(crate) fn new(insecure: bool) -> SharedClientConfig {
        SharedClientConfig {
            insecure,
            config: Arc::default(),
        }
    }

    /// The configuration, built on the first call.
    pub(crate) fn get(&self) -> Arc<ClientConfig> {
        self.config
            .get_or_init(|| client_config(self.insecure, Alpn::Http1))
            .clone()
    }
}

fn root_store() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // Native roots add a company's private CA, for instance. Failing to read
    // them is not fatal: the webpki roots remain.
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    roots
}

/// The verifier behind `--insecure`: checks signatures are well-formed but
/// trusts any certificate chain and name.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
