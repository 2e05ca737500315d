//! TLS settings: the certificates and keys to use ([`TlsSettings`], which
//! the plan fills from the `--tls-*` flags), loaded once, before anything
//! opens, into the rustls configurations that every `tls:` and
//! `tls-listen:` end of the invocation shares.
//!
//! rustls with the `ring` provider does the cryptography (no OpenSSL); the
//! protocol versions and cipher suites are rustls's safe defaults (TLS 1.3
//! and 1.2). `insecure` holds the verifier `--tls-insecure` asks for;
//! `words` tells rustls's errors in plain words.
//!
//! A PEM file is read up to [`PEM_MOST`] and without waiting for a FIFO's
//! writer: `/dev/zero` or a FIFO nobody writes is one line of bad input,
//! not a process that grows or hangs.

mod insecure;
pub mod words;

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::messages::{describe, Failure};

/// The certificates and keys TLS uses, as PEM files. Errors name the flag
/// each file came from.
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    /// The CA certificates that verify `tls:` servers (`--tls-ca`); `None`
    /// for the system's trusted roots.
    pub ca: Option<PathBuf>,
    /// The certificate chain to present and its private key (`--tls-cert`,
    /// `--tls-key`): required to serve, a client certificate to connect.
    pub identity: Option<(PathBuf, PathBuf)>,
    /// The CA that must have signed every client's certificate
    /// (`--tls-client-ca`); `None` to ask clients for none.
    pub client_ca: Option<PathBuf>,
    /// Do not verify `tls:` servers at all (`--tls-insecure`).
    pub insecure: bool,
}

/// The client configuration every `tls:` end of the invocation connects
/// with, loaded once by [`client`].
#[derive(Clone, Debug)]
pub struct TlsClient(Arc<ClientConfig>);

/// The server configuration every `tls-listen:` end of the invocation
/// accepts with, loaded once by [`server`].
#[derive(Clone, Debug)]
pub struct TlsServer(Arc<ServerConfig>);

impl TlsClient {
    /// The loaded configuration.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.0
    }
}

impl TlsServer {
    /// The loaded configuration.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.0
    }
}

/// The one crypto provider: `ring` builds with a C compiler alone
/// (`aws-lc-rs` needs cmake).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Loads the client configuration: the server is verified against
/// `--tls-ca` or the system's roots (or not at all with `--tls-insecure`),
/// and `--tls-cert`/`--tls-key` are presented when the server asks.
///
/// # Errors
///
/// A [`Failure::Input`] naming the flag and file that could not be used,
/// or saying that the system has no trusted roots.
pub fn client(settings: &TlsSettings) -> Result<TlsClient, Failure> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| Failure::input("cannot set up TLS", error))?;
    let builder = if settings.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(insecure::AnyServer::new(provider)))
    } else {
        let roots = match &settings.ca {
            Some(path) => roots("--tls-ca", path)?,
            None => system_roots()?,
        };
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|error| Failure::input("cannot set up TLS", error))?;
        builder.with_webpki_verifier(verifier)
    };
    let config = match &settings.identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(chain("--tls-cert", cert)?, private_key(key)?)
            .map_err(|error| key_refused(key, cert, &error))?,
        None => builder.with_no_client_auth(),
    };
    Ok(TlsClient(Arc::new(config)))
}

/// Loads the server configuration: `--tls-cert`/`--tls-key` are required,
/// and with `--tls-client-ca` every client must present a certificate that
/// CA signed.
///
/// # Errors
///
/// A [`Failure::Input`] naming the flag and file that could not be used.
pub fn server(settings: &TlsSettings) -> Result<TlsServer, Failure> {
    let Some((cert, key)) = &settings.identity else {
        return Err(Failure::input(
            "tls-listen: needs a certificate",
            "give --tls-cert FILE and --tls-key FILE (PEM)",
        ));
    };
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| Failure::input("cannot set up TLS", error))?;
    let builder = match &settings.client_ca {
        Some(path) => {
            let roots = roots("--tls-client-ca", path)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|error| {
                    Failure::input(format!("bad --tls-client-ca {}", path.display()), error)
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(chain("--tls-cert", cert)?, private_key(key)?)
        .map_err(|error| key_refused(key, cert, &error))?;
    Ok(TlsServer(Arc::new(config)))
}

/// `--tls-key` that rustls would not pair with `--tls-cert`.
fn key_refused(key: &Path, cert: &Path, error: &rustls::Error) -> Failure {
    let why = match error {
        rustls::Error::InconsistentKeys(_) => {
            format!("it is not the key of the certificate in {}", cert.display())
        }
        error => error.to_string(),
    };
    Failure::input(format!("bad --tls-key {}", key.display()), why)
}

/// The most of a PEM file that is read: a certificate chain or a key takes
/// a few KiB, a bundle of every public root about 200 KiB.
pub const PEM_MOST: u64 = 1 << 20;

/// The bytes of a PEM file (at most [`PEM_MOST`]; `holds` says what such a
/// file holds, for the message when it is longer).
fn read_pem(flag: &str, path: &Path, holds: &str) -> Result<Vec<u8>, Failure> {
    let bad = |why: String| Failure::input(format!("bad {flag} {}", path.display()), why);
    // Non-blocking, so that opening a FIFO does not wait for a writer;
    // then blocking again, so that reading it waits for one that is there.
    let nonblocking = rustix::fs::OFlags::NONBLOCK.bits() as i32;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nonblocking)
        .open(path)
        .map_err(|error| bad(describe(&error)))?;
    rustix::fs::fcntl_setfl(&file, rustix::fs::OFlags::empty())
        .map_err(|error| bad(describe(&error.into())))?;
    let mut bytes = Vec::new();
    file.take(PEM_MOST + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| bad(describe(&error)))?;
    if bytes.len() as u64 > PEM_MOST {
        return Err(bad(format!(
            "longer than 1 MiB; a PEM file {holds} takes a few KiB"
        )));
    }
    Ok(bytes)
}

/// The CA certificates in a PEM file, as roots of trust.
fn roots(flag: &str, path: &Path) -> Result<RootCertStore, Failure> {
    let mut roots = RootCertStore::empty();
    for certificate in chain(flag, path)? {
        roots
            .add(certificate)
            .map_err(|error| Failure::input(format!("bad {flag} {}", path.display()), error))?;
    }
    Ok(roots)
}

/// The system's trusted roots (the files OpenSSL would read).
fn system_roots() -> Result<RootCertStore, Failure> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _unparsable) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(Failure::input(
            "cannot verify TLS servers",
            "no trusted root certificates found on this system; give --tls-ca FILE",
        ));
    }
    Ok(roots)
}

/// Every certificate in a PEM file, in order; at least one.
fn chain(flag: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, Failure> {
    let bad = |why: String| Failure::input(format!("bad {flag} {}", path.display()), why);
    let bytes = read_pem(flag, path, "of certificates")?;
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| bad(pem_error(&error)))?;
    if certificates.is_empty() {
        return Err(bad("no PEM certificate in it".to_string()));
    }
    Ok(certificates)
}

/// The first private key in a PEM file (PKCS#8, PKCS#1 or SEC1), which
/// must not be encrypted.
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, Failure> {
    let bad = |why: String| Failure::input(format!("bad --tls-key {}", path.display()), why);
    let bytes = read_pem("--tls-key", path, "with a key")?;
    if encrypted(&bytes) {
        return Err(bad(format!(
            "the key is encrypted, and ferry reads only unencrypted keys: decrypt it with \
             `openssl pkey -in {} -out key.pem`",
            path.display()
        )));
    }
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| {
        bad(match error {
            pem::Error::NoItemsFound => "no PEM private key in it".to_string(),
            error => pem_error(&error),
        })
    })
}

/// Whether a PEM key is encrypted: PKCS#8's own form, or OpenSSL's older
/// one with its `Proc-Type` header.
fn encrypted(pem: &[u8]) -> bool {
    let has = |needle: &[u8]| pem.windows(needle.len()).any(|window| window == needle);
    has(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") || has(b"Proc-Type: 4,ENCRYPTED")
}

fn pem_error(error: &pem::Error) -> String {
    match error {
        pem::Error::Io(error) => describe(error),
        error => format!("not a PEM file: {error}"),
    }
}
