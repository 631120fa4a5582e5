//! TLS to the server with rustls (pure Rust, ring's primitives: no OpenSSL to
//! find or link), checking the certificate as libpq's `sslmode` says:
//!
//! | mode | encrypted | chain checked | host checked |
//! |---|---|---|---|
//! | `disable` | no | – | – |
//! | `allow`, `prefer` | when the server offers it | no | no |
//! | `require` | yes | only with a root file (libpq does the same) | no |
//! | `verify-ca` | yes | yes | no |
//! | `verify-full` | yes | yes | yes |

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, Error as TlsError, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::connect::{Roots, TlsSetup};
use crate::backend::{BackendError, BackendResult, ErrorKind};

pub fn connector(setup: &TlsSetup) -> BackendResult<MakeRustlsConnect> {
  let provider = Arc::new(rustls::crypto::ring::default_provider());
  let builder = ClientConfig::builder_with_provider(provider.clone())
    .with_safe_default_protocol_versions()
    .map_err(|e| BackendError::internal(format!("cannot set up TLS: {e}")))?;
  let config = if setup.verifies_chain() {
    let roots = Arc::new(load_roots(&setup.roots)?);
    let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
      .build()
      .map_err(|e| invalid(format!("cannot use the trusted certificates: {e}")))?;
    if setup.verifies_host() {
      builder.with_webpki_verifier(webpki).with_no_client_auth()
    } else {
      builder.dangerous().with_custom_certificate_verifier(Arc::new(ChainOnly { webpki })).with_no_client_auth()
    }
  } else {
    builder.dangerous().with_custom_certificate_verifier(Arc::new(NoCheck { provider })).with_no_client_auth()
  };
  Ok(MakeRustlsConnect::new(config))
}

fn load_roots(roots: &Roots) -> BackendResult<RootCertStore> {
  let mut store = RootCertStore::empty();
  let certs: Vec<CertificateDer<'static>> = match roots {
    Roots::System => {
      let found = rustls_native_certs::load_native_certs();
      if found.certs.is_empty() {
        return Err(invalid("no trusted certificates found on this system; give sslrootcert (or ssl.ca)"));
      }
      found.certs
    }
    Roots::File(path) => CertificateDer::pem_file_iter(path)
      .and_then(|it| it.collect::<Result<Vec<_>, _>>())
      .map_err(|e| invalid(format!("cannot read the root certificate file {path}: {e}")))?,
    Roots::Pem(text) => CertificateDer::pem_slice_iter(text.as_bytes())
      .collect::<Result<Vec<_>, _>>()
      .map_err(|e| invalid(format!("cannot read ssl.ca as PEM: {e}")))?,
  };
  let (added, _) = store.add_parsable_certificates(certs);
  if added == 0 {
    return Err(invalid("the trusted certificates given hold no usable certificate"));
  }
  Ok(store)
}

/// `verify-ca`: the chain must lead to a trusted root; the name in the
/// certificate may be any.
#[derive(Debug)]
struct ChainOnly {
  webpki: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
  fn verify_server_cert(
    &self,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
    ocsp: &[u8],
    now: UnixTime,
  ) -> Result<ServerCertVerified, TlsError> {
    match self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
      Err(TlsError::InvalidCertificate(CertificateError::NotValidForName))
      | Err(TlsError::InvalidCertificate(CertificateError::NotValidForNameContext { .. })) => Ok(ServerCertVerified::assertion()),
      other => other,
    }
  }

  fn verify_tls12_signature(
    &self,
    m: &[u8],
    c: &CertificateDer<'_>,
    d: &DigitallySignedStruct,
  ) -> Result<HandshakeSignatureValid, TlsError> {
    self.webpki.verify_tls12_signature(m, c, d)
  }

  fn verify_tls13_signature(
    &self,
    m: &[u8],
    c: &CertificateDer<'_>,
    d: &DigitallySignedStruct,
  ) -> Result<HandshakeSignatureValid, TlsError> {
    self.webpki.verify_tls13_signature(m, c, d)
  }

  fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
    self.webpki.supported_verify_schemes()
  }
}

/// `prefer` / `require` without roots: encrypted, the certificate unchecked
/// (as libpq). The handshake's signatures are still checked, so the session
/// is bound to the certificate the server showed.
#[derive(Debug)]
struct NoCheck {
  provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for NoCheck {
  fn verify_server_cert(
    &self,
    _: &CertificateDer<'_>,
    _: &[CertificateDer<'_>],
    _: &ServerName<'_>,
    _: &[u8],
    _: UnixTime,
  ) -> Result<ServerCertVerified, TlsError> {
    Ok(ServerCertVerified::assertion())
  }

  fn verify_tls12_signature(
    &self,
    m: &[u8],
    c: &CertificateDer<'_>,
    d: &DigitallySignedStruct,
  ) -> Result<HandshakeSignatureValid, TlsError> {
    verify_tls12_signature(m, c, d, &self.provider.signature_verification_algorithms)
  }

  fn verify_tls13_signature(
    &self,
    m: &[u8],
    c: &CertificateDer<'_>,
    d: &DigitallySignedStruct,
  ) -> Result<HandshakeSignatureValid, TlsError> {
    verify_tls13_signature(m, c, d, &self.provider.signature_verification_algorithms)
  }

  fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
    self.provider.signature_verification_algorithms.supported_schemes()
  }
}

fn invalid(message: impl Into<String>) -> BackendError {
  BackendError::new(ErrorKind::Invalid, message)
}
