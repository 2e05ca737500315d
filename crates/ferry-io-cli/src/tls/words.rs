//! rustls's errors as a person reads them: what was wrong with a
//! certificate or a handshake, in plain words, and what to do about it.

use rustls::{AlertDescription, CertificateError, Error};

/// Whose certificate a handshake judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// ferry is the client (`tls:`): the server's.
    Server,
    /// ferry is the server (`tls-listen:`): the client's.
    Client,
}

/// Why a handshake (or the first records after it) failed.
pub fn handshake(error: &Error, peer: Peer) -> String {
    let whose = match peer {
        Peer::Server => "the server's",
        Peer::Client => "the client's",
    };
    match error {
        Error::InvalidCertificate(certificate) => self::certificate(certificate, whose, peer),
        Error::AlertReceived(alert) => match refusal(*alert) {
            Some(refused) => refused,
            None => format!("the peer ended the handshake: {}", alert_words(*alert)),
        },
        Error::NoCertificatesPresented => match peer {
            Peer::Client => {
                "the client sent no certificate, and --tls-client-ca requires one".to_string()
            }
            Peer::Server => "the server sent no certificate".to_string(),
        },
        Error::InvalidMessage(_)
        | Error::InappropriateMessage { .. }
        | Error::InappropriateHandshakeMessage { .. } => {
            "the peer does not speak TLS (or not the TLS ferry expects)".to_string()
        }
        Error::PeerIncompatible(why) => format!(
            "the peer and ferry have no TLS version or cipher suite in common ({})",
            camel_words(&format!("{why:?}"))
        ),
        other => other.to_string(),
    }
}

/// What a TLS server's alert about ferry's own client certificate says,
/// with the next step; `None` for an alert about anything else.
pub fn refusal(alert: AlertDescription) -> Option<String> {
    Some(match alert {
        AlertDescription::CertificateRequired => {
            "the TLS server requires a client certificate: give --tls-cert FILE and --tls-key FILE"
                .to_string()
        }
        AlertDescription::BadCertificate
        | AlertDescription::UnsupportedCertificate
        | AlertDescription::CertificateRevoked
        | AlertDescription::CertificateExpired
        | AlertDescription::CertificateUnknown
        | AlertDescription::UnknownCA
        | AlertDescription::AccessDenied => format!(
            "the TLS server refused the client certificate of --tls-cert ({}): \
             give one it trusts, signed by the CA it checks clients against",
            alert_words(alert)
        ),
        _ => return None,
    })
}

/// A certificate error: whose certificate, what is wrong with it, what to do.
fn certificate(error: &CertificateError, whose: &str, peer: Peer) -> String {
    let trust = match peer {
        Peer::Server => {
            "give that CA's certificate with --tls-ca FILE (the server's own \
                         certificate, if it signed itself)"
        }
        Peer::Client => "only a CA in --tls-client-ca is trusted",
    };
    match error {
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => {
            // rustls gives each name as `DnsName("host")` or `IpAddress(..)`.
            let bare = |name: &String| {
                let inner = name
                    .split_once('(')
                    .and_then(|(_, rest)| rest.strip_suffix(')'))
                    .unwrap_or(name);
                inner.trim_matches('"').to_string()
            };
            let names = match presented.as_slice() {
                [] => "no name".to_string(),
                names => names.iter().map(bare).collect::<Vec<_>>().join(" and "),
            };
            format!(
                "{whose} certificate is for {names}, not for {}: connect by one of those names",
                expected.to_str()
            )
        }
        CertificateError::NotValidForName => {
            format!("{whose} certificate is not for the name ferry connected to")
        }
        CertificateError::UnknownIssuer => {
            format!("{whose} certificate is not signed by a CA ferry trusts: {trust}")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("{whose} certificate expired: it needs a new one")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("{whose} certificate is not valid yet (or this machine's clock is wrong)")
        }
        CertificateError::Revoked => format!("{whose} certificate was revoked"),
        CertificateError::BadSignature => {
            format!("{whose} certificate's signature does not match its issuer")
        }
        CertificateError::BadEncoding => format!("{whose} certificate is not a valid certificate"),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            let purpose = match peer {
                Peer::Server => "a TLS server",
                Peer::Client => "a TLS client",
            };
            format!("{whose} certificate is not for {purpose} (its extended key usage)")
        }
        CertificateError::Other(other) => match other.0.downcast_ref::<webpki::Error>() {
            Some(webpki::Error::CaUsedAsEndEntity) => format!(
                "{whose} certificate is a CA certificate, not one for a {}: `openssl req -x509` \
                 makes CA certificates unless given -addext basicConstraints=critical,CA:FALSE; \
                 make one with that, or sign a leaf certificate with the CA",
                match peer {
                    Peer::Server => "server",
                    Peer::Client => "client",
                }
            ),
            Some(webpki::Error::EndEntityUsedAsCa) => {
                format!("{whose} certificate chain has a leaf certificate where its CA should be")
            }
            Some(other) => format!(
                "{whose} certificate is not acceptable: {}",
                camel_words(&format!("{other:?}"))
            ),
            None => format!("{whose} certificate is not acceptable: {other}"),
        },
        other => format!(
            "{whose} certificate is not acceptable: {}",
            camel_words(&format!("{other:?}"))
        ),
    }
}

/// An alert's name in words: `UnknownCA` → `unknown CA`.
fn alert_words(alert: AlertDescription) -> String {
    camel_words(&format!("{alert:?}"))
}

/// `CamelCase` as words, keeping runs of capitals (`CA`) whole; whatever
/// follows a `(` (a variant's fields) is dropped.
fn camel_words(name: &str) -> String {
    let name = name.split('(').next().unwrap_or(name);
    let chars: Vec<char> = name.chars().collect();
    let mut words = String::new();
    for (at, &c) in chars.iter().enumerate() {
        let next_lower = chars.get(at + 1).is_some_and(|next| next.is_lowercase());
        let prev_lower = at > 0 && chars[at - 1].is_lowercase();
        if at > 0 && c.is_uppercase() && (prev_lower || next_lower) {
            words.push(' ');
        }
        if c.is_uppercase() && next_lower {
            words.extend(c.to_lowercase());
        } else {
            words.push(c);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_words() {
        assert_eq!(camel_words("UnknownCA"), "unknown CA");
        assert_eq!(camel_words("CertificateRequired"), "certificate required");
        assert_eq!(camel_words("Other(OtherError(x))"), "other");
    }

    #[test]
    fn no_rust_debug_text_reaches_the_reader() {
        let message = handshake(
            &Error::InvalidCertificate(CertificateError::UnknownIssuer),
            Peer::Server,
        );
        assert!(message.contains("--tls-ca"), "{message}");
        let message = handshake(
            &Error::AlertReceived(AlertDescription::CertificateRequired),
            Peer::Server,
        );
        assert!(
            message.contains("--tls-cert FILE and --tls-key FILE"),
            "{message}"
        );
        let message = handshake(
            &Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                expected: rustls::pki_types::ServerName::try_from("localhost").unwrap(),
                presented: vec!["DnsName(\"ferry.invalid\")".to_string()],
            }),
            Peer::Server,
        );
        assert!(
            message.contains("is for ferry.invalid, not for localhost") && !message.contains('('),
            "{message}"
        );
    }
}
