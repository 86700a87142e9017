//! TLS client configuration (rustls).

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Which application protocols to offer in ALPN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Alpn {
    Http1,
    Http2,
}

/// A scenario's client TLS settings (`tls: { cert, key, ca, insecure }` in
/// `defaults` or on a request): a client certificate for servers that ask
/// for one, a private CA to trust, or no verification at all; one distinct
/// set of them.
///
/// The files are read and parsed when the scenario loads, so a missing file
/// or a key that does not match its certificate is an error at the file's
/// line and column, not a run full of handshake failures. Requests that
/// write the same settings share one profile, and the run builds one TLS
/// configuration per profile, never one per request.
#[derive(Debug)]
pub(crate) struct ClientTls {
    /// The client certificate and its chain, with its private key.
    pub identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    /// Certificates trusted besides the usual roots (`ca`).
    pub ca: Vec<CertificateDer<'static>>,
    /// Accept any server certificate (`insecure: true`).
    pub insecure: bool,
    /// The settings as written (paths and `insecure`): requests that write
    /// the same ones share the profile.
    pub key: String,
}

/// Which profile in `Plan::tls_profiles` a request uses.
pub(crate) type TlsProfileId = usize;

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
    config.alpn_protocols = alpn_protocols(alpn);
    Arc::new(config)
}

fn alpn_protocols(alpn: Alpn) -> Vec<Vec<u8>> {
    match alpn {
        Alpn::Http1 => vec![b"http/1.1".to_vec()],
        Alpn::Http2 => vec![b"h2".to_vec()],
    }
}

/// A client config for a scenario's `tls:` settings: its client certificate,
/// its CA trusted besides the usual roots, or (`insecure`, or `-k` for the
/// whole run) any server certificate.
fn profile_config(
    profile: &ClientTls,
    roots: impl FnOnce() -> RootCertStore,
    insecure: bool,
    alpn: Alpn,
) -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = if insecure || profile.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
    } else {
        let mut roots = roots();
        for ca in &profile.ca {
            roots.add(ca.clone())?;
        }
        builder.with_root_certificates(roots)
    };
    let mut config = match &profile.identity {
        Some((chain, key)) => builder.with_client_auth_cert(chain.clone(), key.clone_key())?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn_protocols(alpn);
    Ok(Arc::new(config))
}

/// Checks, when a scenario loads, that its `tls:` settings make a config:
/// the key is one TLS can sign with and belongs to the certificate, and the
/// CA certificates parse. (The usual roots are left out: they do not change
/// the answer and cost milliseconds to load.)
pub(crate) fn check_client_tls(profile: &ClientTls) -> Result<(), rustls::Error> {
    profile_config(profile, RootCertStore::empty, false, Alpn::Http1).map(|_| ())
}

/// The TLS client configuration of one run, shared by all its sessions and
/// built at most once, for the first TLS origin any of them meets.
///
/// Building a configuration that verifies certificates loads the root
/// certificates (the platform's, read from disk and parsed, and the bundled
/// ones): milliseconds of CPU. Built per origin and per worker thread, that
/// cost grew with every host a scenario reached; built lazily, a run that
/// never meets TLS does not pay it at all.
///
/// A scenario's `tls:` profiles get one configuration each, built the same
/// way (once, on first use): requests map to a handful of configurations,
/// never to one of their own.
#[derive(Clone, Debug)]
pub(crate) struct SharedClientConfig {
    insecure: bool,
    config: Arc<OnceLock<Arc<ClientConfig>>>,
    /// The same, offering HTTP/2 in ALPN (requests with `http2`).
    config_h2: Arc<OnceLock<Arc<ClientConfig>>>,
    profiles: Arc<[ProfileConfig]>,
}

/// A `tls:` profile and its configurations once built (HTTP/1.1, HTTP/2).
#[derive(Debug)]
struct ProfileConfig {
    profile: Arc<ClientTls>,
    config: OnceLock<Result<Arc<ClientConfig>, rustls::Error>>,
    config_h2: OnceLock<Result<Arc<ClientConfig>, rustls::Error>>,
}

impl SharedClientConfig {
    /// A configuration for HTTP/1.1 that, with `insecure`, accepts any
    /// certificate (see [`client_config`]).
    pub(crate) fn new(insecure: bool) -> SharedClientConfig {
        SharedClientConfig::with_profiles(insecure, &[])
    }

    /// The run's configuration and one per scenario `tls:` profile (in
    /// `Plan::tls_profiles` order).
    pub(crate) fn with_profiles(insecure: bool, profiles: &[Arc<ClientTls>]) -> SharedClientConfig {
        SharedClientConfig {
            insecure,
            config: Arc::default(),
            config_h2: Arc::default(),
            profiles: profiles
                .iter()
                .map(|p| ProfileConfig {
                    profile: p.clone(),
                    config: OnceLock::new(),
                    config_h2: OnceLock::new(),
                })
                .collect(),
        }
    }

    /// The configuration, built on the first call.
    pub(crate) fn get(&self) -> Arc<ClientConfig> {
        self.config
            .get_or_init(|| client_config(self.insecure, Alpn::Http1))
            .clone()
    }

    /// The configuration of a `tls:` profile (`None`: the run's) offering
    /// `alpn`, built on the first call. It fails only for settings the
    /// loader would have refused, or a profile the plan does not have.
    pub(crate) fn for_profile(
        &self,
        profile: Option<TlsProfileId>,
        alpn: Alpn,
    ) -> Result<Arc<ClientConfig>, rustls::Error> {
        let Some(id) = profile else {
            return Ok(match alpn {
                Alpn::Http1 => self.get(),
                Alpn::Http2 => self
                    .config_h2
                    .get_or_init(|| client_config(self.insecure, Alpn::Http2))
                    .clone(),
            });
        };
        let Some(p) = self.profiles.get(id) else {
            return Err(rustls::Error::General(format!("no TLS profile {id}")));
        };
        let cell = match alpn {
            Alpn::Http1 => &p.config,
            Alpn::Http2 => &p.config_h2,
        };
        cell.get_or_init(|| profile_config(&p.profile, root_store, self.insecure, alpn))
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
