//! Connecting to PostgreSQL, for the store and for the election's own
//! connection: TLS by rustls with the web's root certificates
//! (`tokio-postgres-rustls`), no OpenSSL.

use std::sync::Arc;

use super::sql::DbError;

/// Connects over TLS when the server offers it (rustls, the web's roots;
/// `sslmode=require` insists, `disable` never asks).
pub fn connect(config: &postgres::Config) -> Result<postgres::Client, DbError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))?)
}
