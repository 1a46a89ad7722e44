//! The `/secapi` listener: WeChat's mutual-TLS endpoints (v2 refunds). Its server
//! certificate and every merchant's client certificate (the merchant API certificate,
//! `apiclient_cert.pem`) are issued by the simulator's root, derived from the seed. A
//! connection without a client certificate is accepted, so the request gets WeChat's
//! answer ("No required SSL certificate was sent") instead of a bare TLS failure; one
//! with a certificate the root did not issue fails the handshake.
//! `GET /sim/merchants/{mch_id}/tls` hands a backend what it needs ([`SandboxTls`]).

use std::any::Any;
use std::sync::Arc;

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;
use actix_web::{HttpResponse, web};
use base64::Engine as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::refund::v2::ClientCertificate;
use crate::state::Sim;
use crate::v3::forge::{self, ForgeError, Role};

/// What a backend needs to call `/secapi` as a merchant. Sandbox material.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxTls {
    /// `https://127.0.0.1:PORT`: the base URL of `/secapi/pay/refund`.
    pub secapi_base_url: String,
    /// The simulator's root: trust it for the `/secapi` server.
    pub ca_pem: String,
    /// The merchant's certificate (`apiclient_cert.pem`) and key (`apiclient_key.pem`).
    pub client_cert_pem: String,
    /// `None` for a merchant that registered its own certificate.
    pub client_key_pem: Option<String>,
    /// The same as `apiclient_cert.p12` as WeChat has long issued it: legacy PKCS#12
    /// (RC2-40 encryption, HMAC-SHA1; OpenSSL 3 opens it only with `-legacy`), password
    /// `p12_password`.
    pub client_p12_base64: Option<String>,
    /// The mch_id, as WeChat sets it.
    pub p12_password: String,
}

impl std::fmt::Debug for SandboxTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxTls")
            .field("secapi_base_url", &self.secapi_base_url)
            .finish_non_exhaustive()
    }
}

fn der_of(pem: &str, what: &str) -> Result<Vec<u8>, ForgeError> {
    pem_rfc7468::decode_vec(pem.as_bytes())
        .map(|(_, der)| der)
        .map_err(|e| ForgeError::new(what.to_owned(), e))
}

/// The listener's TLS configuration: its certificate, and client certificates checked
/// against the simulator's root (optional at the handshake, required by the handler).
pub(crate) fn server_config(seed: u64) -> Result<rustls::ServerConfig, ForgeError> {
    let fail = |why: &dyn std::fmt::Display| ForgeError::new("secapi TLS", why);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let root = forge::certificate(seed, "", Role::Authority)?;
    let server = forge::certificate(seed, "", Role::TlsServer)?;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(der_of(&root.pem, "root")?))
        .map_err(|e| fail(&e))?;
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .allow_unauthenticated()
            .build()
            .map_err(|e| fail(&e))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der_of(
        &server.key.private_pem,
        "server key",
    )?));
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(&e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(der_of(
                &server.pem,
                "server certificate",
            )?)],
            key,
        )
        .map_err(|e| fail(&e))
}

/// Puts the client certificate's CN on the connection (for the refund handler).
pub(crate) fn on_connect(connection: &dyn Any, data: &mut Extensions) {
    let common_name = connection
        .downcast_ref::<TlsStream<TcpStream>>()
        .and_then(|tls| tls.get_ref().1.peer_certificates()?.first().cloned())
        .and_then(|der| wxpay_core::v3::Certificate::from_der(&der).ok())
        .and_then(|certificate| certificate.common_name().map(str::to_owned));
    data.insert(ClientCertificate(common_name));
}

/// The merchant's TLS material (its API certificate and key, a legacy `.p12`).
pub fn sandbox_tls(
    seed: u64,
    merchant: &crate::MerchantConfig,
    secapi_base_url: &str,
) -> Result<SandboxTls, ForgeError> {
    let root = forge::certificate(seed, "", Role::Authority)?;
    let (client_cert_pem, client_key_pem) = match &merchant.merchant_certificate_pem {
        Some(pem) => (pem.clone(), None),
        None => {
            let issued = forge::certificate(seed, &merchant.mch_id, Role::Merchant)?;
            (issued.pem.clone(), Some(issued.key.private_pem.clone()))
        }
    };
    let client_p12_base64 = match &client_key_pem {
        None => None,
        Some(key) => Some(base64::engine::general_purpose::STANDARD.encode(legacy_p12(
            &client_cert_pem,
            key,
            &merchant.mch_id,
        )?)),
    };
    Ok(SandboxTls {
        secapi_base_url: secapi_base_url.to_owned(),
        ca_pem: root.pem.clone(),
        client_cert_pem,
        client_key_pem,
        client_p12_base64,
        p12_password: merchant.mch_id.clone(),
    })
}

/// A PKCS#12 file the way WeChat's merchant platform has long issued them.
fn legacy_p12(cert_pem: &str, key_pem: &str, password: &str) -> Result<Vec<u8>, ForgeError> {
    use p12_keystore::{
        Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKeyChain,
    };
    let fail = |why: &dyn std::fmt::Display| ForgeError::new("apiclient_cert.p12", why);
    let certificate =
        Certificate::from_der(&der_of(cert_pem, "certificate")?).map_err(|e| fail(&e))?;
    let chain = PrivateKeyChain::new(der_of(key_pem, "key")?, [1u8; 20], [certificate]);
    let mut store = KeyStore::new();
    store.add_entry("Tenpay Certificate", KeyStoreEntry::PrivateKeyChain(chain));
    store
        .writer(password)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd40BitRc4Cbc)
        .mac_algorithm(MacAlgorithm::HmacSha1)
        .encryption_iterations(2048)
        .mac_iterations(2048)
        .write()
        .map_err(|e| fail(&e))
}

/// `GET /sim/merchants/{mch_id}/tls`.
pub(crate) async fn tls(sim: web::Data<Arc<Sim>>, mch_id: web::Path<String>) -> HttpResponse {
    let merchant = sim
        .state()
        .merchant_by_mch_id(&mch_id)
        .map(|m| m.config.clone());
    let Some(merchant) = merchant else {
        return HttpResponse::NotFound().json(json!({ "error": "no such merchant" }));
    };
    let (seed, url) = (sim.seed, sim.secapi_url().unwrap_or_default());
    match tokio::task::spawn_blocking(move || sandbox_tls(seed, &merchant, &url)).await {
        Ok(Ok(material)) => HttpResponse::Ok().json(material),
        Ok(Err(error)) => {
            HttpResponse::InternalServerError().json(json!({ "error": error.to_string() }))
        }
        Err(error) => {
            HttpResponse::InternalServerError().json(json!({ "error": error.to_string() }))
        }
    }
}
