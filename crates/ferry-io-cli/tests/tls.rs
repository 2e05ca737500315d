//! `tls:` and `tls-listen:`: verification (host name, issuer, expiry),
//! client certificates, `close_notify`, and TLS termination under `--serve`,
//! with certificates made by each test (rcgen) and rustls peers.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::thread;

use common::*;
use rcgen::{
    date_time_ymd, BasicConstraints, Certificate, CertificateParams, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

fn xor(data: &[u8]) -> Vec<u8> {
    data.iter().map(|b| b ^ 0x5a).collect()
}

/// A certificate authority of the test's own.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    cert: Certificate,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Ca { params, key, cert }
    }

    /// A leaf certificate for `names`, valid now unless `expired`; returns
    /// (certificate PEM, key PEM).
    fn issue(&self, names: &[&str], expired: bool) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "ferry test");
        if expired {
            params.not_before = date_time_ymd(2000, 1, 1);
            params.not_after = date_time_ymd(2001, 1, 1);
        }
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }
}

/// PEM files in a temporary directory.
struct Files {
    dir: TempDir,
}

impl Files {
    fn new(name: &str) -> Files {
        Files {
            dir: TempDir::new(name),
        }
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(ca_pem: &str, identity: Option<(&str, &str)>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

fn server_config(cert: &str, key: &str) -> Arc<ServerConfig> {
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            CertificateDer::pem_slice_iter(cert.as_bytes())
                .map(Result::unwrap)
                .collect(),
            PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
        )
        .unwrap();
    Arc::new(config)
}

/// A rustls client on a blocking socket to 127.0.0.1:`port`, as `localhost`.
fn tls_client(
    port: u16,
    config: &Arc<ClientConfig>,
) -> rustls::StreamOwned<ClientConnection, TcpStream> {
    let name = ServerName::try_from("localhost").unwrap();
    let connection = ClientConnection::new(config.clone(), name).unwrap();
    rustls::StreamOwned::new(connection, connect(port))
}

/// Sends `data`, then `close_notify` (TLS's half-close), and reads to the
/// peer's `close_notify`: an EOF without one is an error in rustls.
fn tls_exchange(
    stream: &mut rustls::StreamOwned<ClientConnection, TcpStream>,
    data: &[u8],
) -> std::io::Result<Vec<u8>> {
    stream.write_all(data)?;
    stream.conn.send_close_notify();
    stream.flush()?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    Ok(reply)
}

/// `ferry tls-listen:0 DST` with the given certificate, verbose, so its port can be read.
fn tls_server(files: &Files, cert: &str, key: &str, dst: &str, extra: &[&str]) -> Ferry {
    let cert = files.write("server-cert.pem", cert);
    let key = files.write("server-key.pem", key);
    let mut args = vec![
        "-v",
        "tls-listen:0",
        dst,
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
    ];
    args.extend_from_slice(extra);
    Ferry::spawn(&args)
}

#[test]
fn round_trip_with_verification_both_ends_ferry() {
    let files = Files::new("tls-round-trip");
    let ca = Ca::new("ferry test CA");
    let (cert, key) = ca.issue(&["localhost"], false);
    let backend = backend(xor_after_eof);
    let server = tls_server(
        &files,
        &cert,
        &key,
        &format!("tcp:127.0.0.1:{backend}"),
        &["--json"],
    );
    let ca_file = files.write("ca.pem", &ca.pem());
    let data = random_bytes(2 << 20, 1);
    let client = run_with_stdin(
        &[
            "-",
            &format!("tls:localhost:{}", server.port()),
            "--tls-ca",
            &ca_file,
            "--json",
        ],
        &data,
    );
    assert_eq!(client.code, Some(0), "{}", client.stderr);
    assert!(client.stdout == xor(&data), "the reply differs");
    let report = client.json();
    assert_eq!(report["src_to_dst"]["bytes"], data.len());
    assert_eq!(report["dst_to_src"]["bytes"], data.len());
    assert_eq!(report["path"], "buffered");
    let server = server.wait(DEADLINE);
    assert_eq!(server.code, Some(0), "{}", server.stderr);
    assert_eq!(server.json()["src_to_dst"]["bytes"], data.len());
}

/// Runs `ferry - tls:localhost:PORT --tls-ca CA` against a server showing
/// `cert`, and returns how the client ended.
fn client_against(cert: &str, key: &str, trusted: &Ca, name: &str) -> Finished {
    let files = Files::new(name);
    let server = tls_server(&files, cert, key, "null:", &[]);
    let ca_file = files.write("ca.pem", &trusted.pem());
    let port = server.port();
    run_with_stdin(
        &["-", &format!("tls:localhost:{port}"), "--tls-ca", &ca_file],
        b"must not arrive",
    )
}

#[test]
fn wrong_host_name_is_refused() {
    let ca = Ca::new("ferry test CA");
    let (cert, key) = ca.issue(&["ferry.invalid"], false);
    let done = client_against(&cert, &key, &ca, "tls-wrong-name");
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(
        done.stderr.contains("TLS handshake failed") && done.stderr.contains("not valid for name"),
        "{}",
        done.stderr
    );
    assert!(done.stdout.is_empty());
}

#[test]
fn unknown_ca_is_refused() {
    let (signer, trusted) = (Ca::new("some other CA"), Ca::new("ferry test CA"));
    let (cert, key) = signer.issue(&["localhost"], false);
    let done = client_against(&cert, &key, &trusted, "tls-unknown-ca");
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(done.stderr.contains("UnknownIssuer"), "{}", done.stderr);
}

#[test]
fn expired_certificate_is_refused() {
    let ca = Ca::new("ferry test CA");
    let (cert, key) = ca.issue(&["localhost"], true);
    let done = client_against(&cert, &key, &ca, "tls-expired");
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(
        done.stderr.contains("certificate expired"),
        "{}",
        done.stderr
    );
}

#[test]
fn insecure_skips_verification_and_says_so() {
    let ca = Ca::new("some other CA");
    let (cert, key) = ca.issue(&["ferry.invalid"], false);
    let files = Files::new("tls-insecure");
    let backend = backend(xor_after_eof);
    let server = tls_server(
        &files,
        &cert,
        &key,
        &format!("tcp:127.0.0.1:{backend}"),
        &[],
    );
    let done = run_with_stdin(
        &[
            "-",
            &format!("tls:localhost:{}", server.port()),
            "--tls-insecure",
        ],
        b"anyway",
    );
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, xor(b"anyway"));
    assert!(
        done.stderr.contains("warning: --tls-insecure") && done.stderr.contains("NOT verified"),
        "{}",
        done.stderr
    );
}

#[test]
fn client_certificate_requirement_is_enforced() {
    let files = Files::new("tls-client-cert");
    let ca = Ca::new("ferry test CA");
    let (server_cert, server_key) = ca.issue(&["localhost"], false);
    let (client_cert, client_key) = ca.issue(&["client"], false);
    let stranger = Ca::new("stranger CA");
    let (stranger_cert, stranger_key) = stranger.issue(&["client"], false);
    let ca_file = files.write("ca.pem", &ca.pem());
    let upstream_connections = Arc::new(AtomicUsize::new(0));
    let seen = upstream_connections.clone();
    let backend = backend(move |stream| {
        seen.fetch_add(1, Ordering::SeqCst);
        xor_after_eof(stream)
    });
    let server = tls_server(
        &files,
        &server_cert,
        &server_key,
        &format!("tcp:127.0.0.1:{backend}"),
        &["--serve", "--tls-client-ca", &ca_file],
    );
    let port = server.port();

    // No certificate, and one from a CA the server does not trust: refused,
    // and the upstream is never connected for them.
    for identity in [None, Some((&stranger_cert[..], &stranger_key[..]))] {
        let config = client_config(&ca.pem(), identity);
        let refused = tls_exchange(&mut tls_client(port, &config), b"let me in");
        assert!(
            refused.is_err(),
            "a client without a trusted certificate got {refused:?}"
        );
    }
    server.wait_for_line("TLS handshake failed");

    // A certificate the CA signed: in.
    let config = client_config(&ca.pem(), Some((&client_cert, &client_key)));
    let reply = tls_exchange(&mut tls_client(port, &config), b"let me in").unwrap();
    assert_eq!(reply, xor(b"let me in"));
    assert_eq!(upstream_connections.load(Ordering::SeqCst), 1);
    server.signal("INT");
    let done = server.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(
        done.stderr.matches("TLS handshake failed").count(),
        2,
        "{}",
        done.stderr
    );
}

#[test]
fn close_notify_reaches_a_rustls_client() {
    // ferry serves a file over TLS to the first client and closes: the
    // rustls client's read_to_end succeeds only after a close_notify.
    let files = Files::new("tls-close-notify-server");
    let ca = Ca::new("ferry test CA");
    let (cert, key) = ca.issue(&["localhost"], false);
    let data = random_bytes(1 << 20, 2);
    let source = files.dir.path("data");
    std::fs::write(&source, &data).unwrap();
    let cert_file = files.write("cert.pem", &cert);
    let key_file = files.write("key.pem", &key);
    let ferry = Ferry::spawn(&[
        "-v",
        &source,
        "tls-listen:0",
        "--tls-cert",
        &cert_file,
        "--tls-key",
        &key_file,
    ]);
    let mut client = tls_client(ferry.port(), &client_config(&ca.pem(), None));
    let mut got = Vec::new();
    client
        .read_to_end(&mut got)
        .expect("EOF with close_notify, not a truncation");
    assert!(got == data, "the file differs");
    assert_eq!(ferry.wait(DEADLINE).code, Some(0));
}

#[test]
fn close_notify_reaches_a_rustls_server() {
    // ferry sends a file to a rustls server and closes: the server's
    // read_to_end succeeds only after a close_notify.
    let files = Files::new("tls-close-notify-client");
    let ca = Ca::new("ferry test CA");
    let (cert, key) = ca.issue(&["localhost"], false);
    let config = server_config(&cert, &key);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (send, received) = channel();
    thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        socket.set_read_timeout(Some(DEADLINE)).unwrap();
        let connection = ServerConnection::new(config).unwrap();
        let mut stream = rustls::StreamOwned::new(connection, socket);
        let mut got = Vec::new();
        let read = stream.read_to_end(&mut got).map(|_| got);
        let _ = stream.sock.shutdown(Shutdown::Both);
        send.send(read).unwrap();
    });
    let data = random_bytes(1 << 20, 3);
    let source = files.dir.path("data");
    std::fs::write(&source, &data).unwrap();
    let ca_file = files.write("ca.pem", &ca.pem());
    let done = run(&[
        &source,
        &format!("tls:localhost:{port}"),
        "--tls-ca",
        &ca_file,
    ]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let got = received
        .recv_timeout(DEADLINE)
        .unwrap()
        .expect("EOF with close_notify, not a truncation");
    assert!(got == data, "the file differs");
}

#[test]
fn termination_under_serve_with_100_concurrent_clients() {
    // The headline: TLS in front of a plain upstream, every client's bytes
    // checked both ways.
    let files = Files::new("tls-terminate");
    let ca = Ca::new("ferry test CA");
    let (cert, key) = ca.issue(&["localhost"], false);
    let backend = backend(xor_after_eof);
    let server = tls_server(
        &files,
        &cert,
        &key,
        &format!("tcp:127.0.0.1:{backend}"),
        &["--serve", "--stats"],
    );
    let port = server.port();
    let config = client_config(&ca.pem(), None);
    let clients: Vec<_> = (0..100u64)
        .map(|i| {
            let config = config.clone();
            thread::spawn(move || {
                let data = random_bytes((32 << 10) + i as usize * 997, 200 + i);
                let reply = tls_exchange(&mut tls_client(port, &config), &data)
                    .unwrap_or_else(|error| panic!("client {i}: {error}"));
                assert!(reply == xor(&data), "client {i} got wrong bytes");
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    server.signal("INT");
    let done = server.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(
        done.stderr.contains("100 connections, 0 failed"),
        "{}",
        done.stderr
    );
}

#[test]
fn limit_applies_to_tls_ends() {
    // ferry to ferry over TLS, one-way, with the engine's options: exactly
    // --limit bytes land in the file behind the TLS server.
    let files = Files::new("tls-limit");
    let ca = Ca::new("ferry test CA");
    let (cert, key) = ca.issue(&["localhost"], false);
    let out = files.dir.path("out.bin");
    let server = tls_server(&files, &cert, &key, &out, &["--json"]);
    let ca_file = files.write("ca.pem", &ca.pem());
    let client = run(&[
        "zero:",
        &format!("tls:localhost:{}", server.port()),
        "--tls-ca",
        &ca_file,
        "-n",
        "300K",
        "--idle-timeout",
        "10s",
        "--json",
    ]);
    assert_eq!(client.code, Some(0), "{}", client.stderr);
    assert_eq!(client.json()["src_to_dst"]["bytes"], 300 << 10);
    let server = server.wait(DEADLINE);
    assert_eq!(server.code, Some(0), "{}", server.stderr);
    assert_eq!(server.json()["src_to_dst"]["bytes"], 300 << 10);
    assert_eq!(std::fs::read(&out).unwrap(), vec![0; 300 << 10]);
}

#[test]
fn tls_flags_without_a_tls_address_are_refused() {
    let done = run(&["zero:", "null:", "-n", "1", "--tls-insecure"]);
    assert_eq!(done.code, Some(2));
    assert!(
        done.stderr
            .starts_with("ferry: cannot use --tls-insecure here: it applies to tls: addresses"),
        "{}",
        done.stderr
    );
    let done = run(&["tls-listen:0", "null:"]);
    assert_eq!(done.code, Some(2));
    assert!(
        done.stderr
            .contains("give --tls-cert FILE and --tls-key FILE"),
        "{}",
        done.stderr
    );
}

#[test]
fn a_second_signal_cuts_tls_relays_off_at_once() {
    let files = Files::new("tls-second-signal");
    let ca = Ca::new("ferry test CA");
    let (cert, key) = ca.issue(&["localhost"], false);
    // An upstream that never reads: what is sent to it backs up.
    let backend = backend(|stream| {
        thread::sleep(std::time::Duration::from_secs(30));
        drop(stream);
    });
    let server = tls_server(
        &files,
        &cert,
        &key,
        &format!("tcp:127.0.0.1:{backend}"),
        &["--serve", "--shutdown-timeout", "10m"],
    );
    let port = server.port();
    let mut client = tls_client(port, &client_config(&ca.pem(), None));
    client.write_all(b"half a request").unwrap();
    client.flush().unwrap();
    server.wait_for_line(" open");
    // A tls: client end too, whose server never answers.
    let ca_file = files.write("ca.pem", &ca.pem());
    let one_way = Ferry::spawn(&[
        "zero:",
        &format!("tls:localhost:{port}"),
        "--tls-ca",
        &ca_file,
        "--shutdown-timeout",
        "10m",
    ]);
    thread::sleep(std::time::Duration::from_millis(300));
    for ferry in [one_way, server] {
        ferry.signal("INT");
        ferry.wait_for_line("finishing");
        ferry.signal("INT");
        let done = ferry.wait(std::time::Duration::from_secs(5));
        assert_eq!(done.code, Some(1), "{}", done.stderr);
    }
}
