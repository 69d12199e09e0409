//! futures-rustls over corio TCP with no glue: a TLS 1.3 round trip on loopback with a
//! certificate made by rcgen, and a handshake that fails for an unknown certificate.

use std::sync::Arc;

use corio::net::{TcpListener, TcpStream};
use futures_rustls::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use futures_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use futures_rustls::{TlsAcceptor, TlsConnector};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A self-signed certificate for `localhost` and a server config that presents it.
fn server_config() -> (CertificateDer<'static>, Arc<ServerConfig>) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = made.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    (cert, Arc::new(config))
}

fn client_config(trusted: CertificateDer<'static>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(trusted).unwrap();
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

#[corio::test]
async fn a_tls_round_trip_over_loopback() {
    let (cert, server_config) = server_config();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = corio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = TlsAcceptor::from(server_config).accept(tcp).await.unwrap();
        let mut buf = vec![0u8; 5];
        tls.read_exact(&mut buf).await.unwrap();
        buf.make_ascii_uppercase();
        tls.write_all(&buf).await.unwrap();
        tls.write_all(&vec![b'z'; 200_000]).await.unwrap();
        tls.close().await.unwrap(); // close_notify, then the TCP write side
        let (_, conn) = tls.get_ref();
        conn.protocol_version()
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = TlsConnector::from(client_config(cert))
        .connect(name, tcp)
        .await
        .unwrap();
    tls.write_all(b"hello").await.unwrap();
    let mut reply = Vec::new();
    tls.read_to_end(&mut reply).await.unwrap();
    assert_eq!(&reply[..5], b"HELLO");
    assert_eq!(reply.len(), 5 + 200_000);
    assert!(reply[5..].iter().all(|&b| b == b'z'));
    assert_eq!(
        server.await.unwrap(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
}

#[corio::test]
async fn an_untrusted_certificate_fails_the_handshake() {
    // The client trusts a different self-signed certificate only.
    let (other_cert, _) = server_config();
    let (_cert, config) = server_config();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    corio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        // The client aborts the handshake; the server sees an error, not a panic.
        assert!(TlsAcceptor::from(config).accept(tcp).await.is_err());
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let err = TlsConnector::from(client_config(other_cert))
        .connect(name, tcp)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
}
