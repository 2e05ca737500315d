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
use std::time::{Duration, Instant};

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
    assert_eq!(
        done.stderr,
        format!(
            "ferry: cannot connect to tls:localhost:{}: TLS handshake failed: the server's \
             certificate is for ferry.invalid, not for localhost: connect by one of those names\n",
            port_of(&done.stderr)
        )
    );
    assert!(done.stdout.is_empty());
}

/// The port in `tls:localhost:PORT` of a message.
fn port_of(message: &str) -> String {
    let after = message.split("tls:localhost:").nth(1).unwrap_or_default();
    after.chars().take_while(char::is_ascii_digit).collect()
}

#[test]
fn unknown_ca_is_refused() {
    let (signer, trusted) = (Ca::new("some other CA"), Ca::new("ferry test CA"));
    let (cert, key) = signer.issue(&["localhost"], false);
    let done = client_against(&cert, &key, &trusted, "tls-unknown-ca");
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(
        done.stderr.ends_with(
            "TLS handshake failed: the server's certificate is not signed by a CA ferry \
             trusts: give that CA's certificate with --tls-ca FILE (the server's own \
             certificate, if it signed itself)\n"
        ),
        "{}",
        done.stderr
    );
}

#[test]
fn a_ca_certificate_presented_as_a_servers_is_explained() {
    // `openssl req -x509` makes a CA certificate unless told otherwise, and
    // webpki refuses one as a server's own.
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    let as_ca = Ca {
        params,
        key: KeyPair::generate().unwrap(),
        cert,
    };
    let done = client_against(&as_ca.pem(), &key.serialize_pem(), &as_ca, "tls-ca-as-leaf");
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(
        done.stderr.contains(
            "TLS handshake failed: the server's certificate is a CA certificate, \
             not one for a server"
        ) && done.stderr.contains("basicConstraints=critical,CA:FALSE"),
        "{}",
        done.stderr
    );
    assert!(!done.stderr.contains("Other("), "{}", done.stderr);
}

#[test]
fn a_key_that_is_not_the_certificates_is_one_line() {
    let files = Files::new("tls-key-mismatch");
    let ca = Ca::new("ferry test CA");
    let (cert, _) = ca.issue(&["localhost"], false);
    let (_, other_key) = ca.issue(&["localhost"], false);
    let cert = files.write("cert.pem", &cert);
    let key = files.write("key.pem", &other_key);
    let done = run(&[
        "tls-listen:0",
        "null:",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
    ]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert_eq!(
        done.stderr,
        format!("ferry: bad --tls-key {key}: it is not the key of the certificate in {cert}\n")
    );
}

#[test]
fn an_encrypted_key_says_how_to_decrypt_it() {
    let files = Files::new("tls-encrypted-key");
    let ca = Ca::new("ferry test CA");
    let (cert, _) = ca.issue(&["localhost"], false);
    let cert = files.write("cert.pem", &cert);
    let body = "MIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI";
    for (name, pem) in [
        (
            "pkcs8.pem",
            format!(
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{body}\n-----END ENCRYPTED PRIVATE KEY-----\n"
            ),
        ),
        (
            "legacy.pem",
            format!(
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                 DEK-Info: AES-256-CBC,0123456789ABCDEF0123456789ABCDEF\n\n{body}\n\
                 -----END RSA PRIVATE KEY-----\n"
            ),
        ),
    ] {
        let key = files.write(name, &pem);
        let done = run(&["tls-listen:0", "null:", "--tls-cert", &cert, "--tls-key", &key]);
        assert_eq!(done.code, Some(2), "{}", done.stderr);
        assert_eq!(
            done.stderr,
            format!(
                "ferry: bad --tls-key {key}: the key is encrypted, and ferry reads only \
                 unencrypted keys: decrypt it with `openssl pkey -in {key} -out key.pem`\n"
            )
        );
    }
}

#[test]
fn pem_files_are_read_up_to_a_mebibyte() {
    // /dev/zero would be read until memory ran out, and a FIFO nobody
    // writes to would hang the start.
    let files = Files::new("tls-pem-bounds");
    let fifo = files.dir.path("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let ca = Ca::new("ferry test CA");
    let (cert, key) = ca.issue(&["localhost"], false);
    let (cert, key) = (files.write("cert.pem", &cert), files.write("key.pem", &key));
    for (args, expected) in [
        (
            vec!["-", "tls:localhost:9", "--tls-ca", "/dev/zero"],
            "ferry: bad --tls-ca /dev/zero: longer than 1 MiB; a PEM file of certificates takes a few KiB\n".to_string(),
        ),
        (
            vec!["tls-listen:0", "null:", "--tls-cert", "/dev/zero", "--tls-key", &key],
            "ferry: bad --tls-cert /dev/zero: longer than 1 MiB; a PEM file of certificates takes a few KiB\n".to_string(),
        ),
        (
            vec!["tls-listen:0", "null:", "--tls-cert", &cert, "--tls-key", "/dev/zero"],
            "ferry: bad --tls-key /dev/zero: longer than 1 MiB; a PEM file with a key takes a few KiB\n".to_string(),
        ),
        (
            vec!["-", "tls:localhost:9", "--tls-ca", &fifo],
            format!("ferry: bad --tls-ca {fifo}: no PEM certificate in it\n"),
        ),
    ] {
        let done = run(&args);
        assert_eq!(done.code, Some(2), "{args:?}: {}", done.stderr);
        assert_eq!(done.stderr, expected, "{args:?}");
    }
}

#[test]
fn a_refused_client_certificate_is_bad_input_with_a_hint() {
    // Under TLS 1.3 the server judges the client's certificate after the
    // client finished its handshake: the refusal comes on the first read.
    let files = Files::new("tls-client-refused");
    let ca = Ca::new("ferry test CA");
    let (server_cert, server_key) = ca.issue(&["localhost"], false);
    let stranger = Ca::new("stranger CA");
    let (stranger_cert, stranger_key) = stranger.issue(&["client"], false);
    let ca_file = files.write("ca.pem", &ca.pem());
    let backend = backend(xor_after_eof);
    let server = tls_server(
        &files,
        &server_cert,
        &server_key,
        &format!("tcp:127.0.0.1:{backend}"),
        &["--serve", "--tls-client-ca", &ca_file],
    );
    let target = format!("tls:localhost:{}", server.port());
    let done = run_with_stdin(&["-", &target, "--tls-ca", &ca_file, "--json"], b"hello");
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    let error = &done.json()["error"];
    assert_eq!(
        error["message"],
        format!(
            "cannot connect to {target}: the TLS server requires a client certificate: \
             give --tls-cert FILE and --tls-key FILE"
        )
    );
    let stranger_cert = files.write("stranger.pem", &stranger_cert);
    let stranger_key = files.write("stranger-key.pem", &stranger_key);
    let done = run_with_stdin(
        &[
            "-",
            &target,
            "--tls-ca",
            &ca_file,
            "--tls-cert",
            &stranger_cert,
            "--tls-key",
            &stranger_key,
        ],
        b"hello",
    );
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(
        done.stderr.starts_with(&format!(
            "ferry: cannot connect to {target}: the TLS server refused the client certificate"
        )),
        "{}",
        done.stderr
    );
    assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
}

#[test]
fn the_agreed_version_is_logged_in_words() {
    let files = Files::new("tls-version-words");
    let ca = Ca::new("ferry test CA");
    let (cert, key) = ca.issue(&["localhost"], false);
    let server = tls_server(&files, &cert, &key, "null:", &["-vv"]);
    let mut client = tls_client(server.port(), &client_config(&ca.pem(), None));
    // A one-way copy into null: does not answer: only the handshake counts.
    let _ = tls_exchange(&mut client, b"words");
    let line = server.wait_for_line("TLS established");
    assert!(
        line.contains("version=TLS 1.3") && !line.contains("Some("),
        "{line}"
    );
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
fn a_one_way_tls_server_answers_close_notify_with_its_own() {
    // ferry receives into a file: once the client's close_notify ended the
    // copy, ferry closes its side with a close_notify too, so a client that
    // reads to the end sees a clean end, not a truncation.
    let files = Files::new("tls-close-notify-back");
    let ca = Ca::new("ferry test CA");
    let (cert, key) = ca.issue(&["localhost"], false);
    let out = files.dir.path("out.bin");
    let ferry = tls_server(&files, &cert, &key, &out, &[]);
    let mut client = tls_client(ferry.port(), &client_config(&ca.pem(), None));
    let data = random_bytes(100 << 10, 3);
    let reply = tls_exchange(&mut client, &data).expect("EOF with close_notify, not a truncation");
    assert!(reply.is_empty());
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(std::fs::read(&out).unwrap() == data, "the file differs");
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
fn a_server_takes_tls_and_connects_with_tls() {
    // One invocation both accepts TLS and connects with it: its clients'
    // bytes go on, re-encrypted, to a ferry that serves TLS in front of a
    // plain backend, and come back changed, both ways checked.
    let files = Files::new("tls-both-sides");
    let ca = Ca::new("ferry test CA");
    let (cert, key) = ca.issue(&["localhost"], false);
    let ca_file = files.write("ca.pem", &ca.pem());
    let backend = backend(xor_after_eof);
    let upstream = tls_server(
        &files,
        &cert,
        &key,
        &format!("tcp:127.0.0.1:{backend}"),
        &["--serve"],
    );
    let server = tls_server(
        &files,
        &cert,
        &key,
        &format!("tls:localhost:{}", upstream.port()),
        &["--serve", "--tls-ca", &ca_file, "--stats"],
    );
    let port = server.port();
    let config = client_config(&ca.pem(), None);
    for i in 0..3u64 {
        let data = random_bytes((64 << 10) + i as usize * 991, 500 + i);
        let reply = tls_exchange(&mut tls_client(port, &config), &data)
            .unwrap_or_else(|error| panic!("client {i}: {error}"));
        assert!(reply == xor(&data), "client {i} got wrong bytes");
    }
    server.signal("INT");
    let done = server.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(
        done.stderr.contains("3 connections, 0 failed"),
        "{}",
        done.stderr
    );
    upstream.signal("INT");
    let done = upstream.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
}

#[test]
fn keep_listening_takes_tls_clients_one_after_another() {
    // To stdout, which --keep-listening opens for each connection.
    let files = Files::new("tls-keep-listening");
    let ca = Ca::new("ferry test CA");
    let (cert, key) = ca.issue(&["localhost"], false);
    let ferry = tls_server(&files, &cert, &key, "-", &["--keep-listening", "--json"]);
    let port = ferry.port();
    let config = client_config(&ca.pem(), None);
    let payloads: Vec<Vec<u8>> = (0..2)
        .map(|i| random_bytes(100_000 + i * 13, 600 + i as u64))
        .collect();
    for (i, payload) in payloads.iter().enumerate() {
        let mut client = tls_client(port, &config);
        client.write_all(payload).unwrap();
        client.conn.send_close_notify();
        client.flush().unwrap();
        ferry.wait_for_line(&format!("close id={}", i + 1));
    }
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let report = done.json();
    assert_eq!(report["connections"], 2);
    assert_eq!(report["failed_connections"], 0);
    assert!(
        done.stdout == payloads.concat(),
        "stdout is not the two payloads in order"
    );
}

#[test]
fn clients_slow_to_shake_hands_delay_only_each_other() {
    // Few relay slots, and 200 clients that begin a handshake a byte every
    // 100 ms (a slowloris's 1 byte/s, ten times faster) and never finish:
    // they hold handshake slots only, and clients that shake hands at once
    // are relayed at once.
    let files = Files::new("tls-slow");
    let ca = Ca::new("ferry test CA");
    let (cert, key) = ca.issue(&["localhost"], false);
    let backend = backend(xor_after_eof);
    let server = tls_server(
        &files,
        &cert,
        &key,
        &format!("tcp:127.0.0.1:{backend}"),
        &[
            "--serve",
            "--max-connections",
            "16",
            "--connect-timeout",
            "30s",
            "--metrics",
            "127.0.0.1:0",
        ],
    );
    let port = server.port();
    let metrics = server.metrics_port();
    // The start of a handshake record of 16 KiB.
    let mut record = vec![0x16, 0x03, 0x01, 0x40, 0x00, 0x01];
    record.resize(80, 0);
    let slowloris = Slowloris::start(port, 200, record, Duration::from_millis(100));
    let config = client_config(&ca.pem(), None);
    let delays = slowloris.assert_others_served(metrics, |i| {
        let started = Instant::now();
        let mut client = tls_client(port, &config);
        client
            .sock
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let data = random_bytes(1000, 300 + i);
        let reply =
            tls_exchange(&mut client, &data).unwrap_or_else(|error| panic!("client {i}: {error}"));
        assert!(reply == xor(&data), "client {i} got wrong bytes");
        started.elapsed()
    });
    eprintln!("TLS clients under 200 slow handshakes: {delays:?}");
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
