//! Addresses: what `SRC` and `DST` mean, parsed and checked before anything opens.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Where bytes come from or go to, as written on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// `-`: stdin as a source, stdout as a destination, both in a relay.
    Stdio,
    /// A path or `file:PATH`.
    File(PathBuf),
    /// `tcp:HOST:PORT`: connect.
    Tcp {
        /// Host name or IP address (without brackets).
        host: String,
        /// Port, 1 to 65535.
        port: u16,
    },
    /// `tcp-listen:[HOST:]PORT`: accept.
    TcpListen {
        /// Host name or IP address to bind (without brackets).
        host: String,
        /// Port; 0 lets the system choose.
        port: u16,
    },
    /// `unix:PATH`: connect.
    Unix(PathBuf),
    /// `unix-listen:PATH`: accept.
    UnixListen(PathBuf),
    /// `zero:`: endless zeros.
    Zero,
    /// `null:`: discard everything.
    Null,
}

/// What was wrong with an address: the text shown after `bad address "..."`.
#[derive(Debug, PartialEq, Eq)]
pub struct AddressError {
    /// The address as the user wrote it.
    pub text: String,
    /// What was expected instead.
    pub expected: String,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad address {:?}: {}", self.text, self.expected)
    }
}

impl std::error::Error for AddressError {}

/// Every address type, for error messages.
const TYPES: &str = "-, PATH, file:PATH, tcp:HOST:PORT, tcp-listen:[HOST:]PORT, unix:PATH, unix-listen:PATH, zero: or null:";

impl Address {
    /// Parses an address such as `tcp:[::1]:8080` or `file:out.bin`.
    ///
    /// # Errors
    ///
    /// An [`AddressError`] naming the address and what was expected.
    pub fn parse(text: &str) -> Result<Address, AddressError> {
        let bad = |expected: &str| AddressError {
            text: text.to_string(),
            expected: expected.to_string(),
        };
        if text == "-" {
            return Ok(Address::Stdio);
        }
        if text.is_empty() {
            return Err(bad(&format!("expected one of {TYPES}")));
        }
        if looks_like_host_port(text) {
            return Err(bad(&format!(
                "looks like HOST:PORT; write tcp:{text} to connect, or ./{text} for a file"
            )));
        }
        let Some((kind, rest)) = text.split_once(':') else {
            return Ok(Address::File(PathBuf::from(text)));
        };
        // A path that merely contains a colon (`./a:b`, `/x:y`) stays a path.
        if kind.contains('/') || kind.contains('.') {
            return Ok(Address::File(PathBuf::from(text)));
        }
        let kind_lower = kind.to_ascii_lowercase();
        if let (Some(host_port), "tcp" | "tcp-listen") =
            (rest.strip_prefix("//"), kind_lower.as_str())
        {
            return Err(bad(&format!(
                "expected {kind}:[HOST:]PORT without \"//\", like {kind}:{host_port}"
            )));
        }
        match kind_lower.as_str() {
            "file" if !rest.is_empty() => Ok(Address::File(PathBuf::from(rest))),
            "file" => Err(bad("expected file:PATH")),
            "tcp" => {
                let (host, port) = split_host_port(rest, false)
                    .map_err(|why| bad(&format!("expected tcp:HOST:PORT ({why})")))?;
                if port == 0 {
                    return Err(bad("expected tcp:HOST:PORT with a port from 1 to 65535"));
                }
                Ok(Address::Tcp { host, port })
            }
            "tcp-listen" => {
                let (host, port) = split_host_port(rest, true)
                    .map_err(|why| bad(&format!("expected tcp-listen:[HOST:]PORT ({why})")))?;
                Ok(Address::TcpListen { host, port })
            }
            "unix" if !rest.is_empty() => Ok(Address::Unix(PathBuf::from(rest))),
            "unix" => Err(bad("expected unix:PATH")),
            "unix-listen" if !rest.is_empty() => Ok(Address::UnixListen(PathBuf::from(rest))),
            "unix-listen" => Err(bad("expected unix-listen:PATH")),
            "zero" if rest.is_empty() => Ok(Address::Zero),
            "zero" => Err(bad("expected zero: with nothing after the colon")),
            "null" if rest.is_empty() => Ok(Address::Null),
            "null" => Err(bad("expected null: with nothing after the colon")),
            _ if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()) => Err(bad(&format!(
                "unknown address type \"{kind}:\"; write tcp:{text} to connect to HOST:PORT, or ./{text} for a file"
            ))),
            _ => Err(bad(&format!(
                "unknown address type \"{kind}:\"; expected one of {TYPES} (write ./{text} for a file)"
            ))),
        }
    }

    /// True for addresses that accept connections.
    pub fn is_listening(&self) -> bool {
        matches!(self, Address::TcpListen { .. } | Address::UnixListen(_))
    }

    /// True for addresses that connect to a listening peer.
    pub fn is_connecting(&self) -> bool {
        matches!(self, Address::Tcp { .. } | Address::Unix(_))
    }

    /// True for addresses that carry bytes both ways: sockets and `-`.
    pub fn is_two_way(&self) -> bool {
        !matches!(self, Address::File(_) | Address::Zero | Address::Null)
    }

    /// True for addresses that can be opened afresh for every connection of
    /// `--serve`: connecting sockets, `zero:` and `null:`.
    pub fn is_per_connection(&self) -> bool {
        matches!(
            self,
            Address::Tcp { .. } | Address::Unix(_) | Address::Zero | Address::Null
        )
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bracket = |host: &str| {
            if host.contains(':') {
                format!("[{host}]")
            } else {
                host.to_string()
            }
        };
        match self {
            Address::Stdio => f.write_str("-"),
            Address::File(path) => write!(f, "file:{}", path.display()),
            Address::Tcp { host, port } => write!(f, "tcp:{}:{port}", bracket(host)),
            Address::TcpListen { host, port } => {
                write!(f, "tcp-listen:{}:{port}", bracket(host))
            }
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
            Address::UnixListen(path) => write!(f, "unix-listen:{}", path.display()),
            Address::Zero => f.write_str("zero:"),
            Address::Null => f.write_str("null:"),
        }
    }
}

/// Whether `text`, taken for a path, is more likely a `HOST:PORT` missing
/// its `tcp:` (`127.0.0.1:80`, `[::1]:80`, `example.com:443`): a host of
/// IP-address or domain-name characters with a dot or brackets, then a
/// port number.
fn looks_like_host_port(text: &str) -> bool {
    let Some((host, port)) = text.rsplit_once(':') else {
        return false;
    };
    let port_like = (1..=5).contains(&port.len()) && port.chars().all(|c| c.is_ascii_digit());
    let bracketed = host.starts_with('[') && host.ends_with(']');
    let named = host.contains('.')
        && !host.starts_with('.')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    port_like && (bracketed || named)
}

/// Splits `HOST:PORT`, `[V6]:PORT` or, when `host_optional`, a bare `PORT`
/// (host 127.0.0.1: listening on every interface must be asked for).
fn split_host_port(text: &str, host_optional: bool) -> Result<(String, u16), String> {
    let (host, port) = if let Some(after_bracket) = text.strip_prefix('[') {
        let (host, rest) = after_bracket
            .split_once(']')
            .ok_or("missing ] after the IPv6 address")?;
        let port = rest.strip_prefix(':').ok_or("missing port")?;
        (host.to_string(), port)
    } else {
        match text.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => {
                return Err("write an IPv6 address in brackets, like [::1]:8080".to_string())
            }
            Some((host, port)) => (host.to_string(), port),
            None if host_optional => ("127.0.0.1".to_string(), text),
            None => return Err("missing port".to_string()),
        }
    };
    if host.is_empty() {
        return Err("missing host".to_string());
    }
    // The resolver reads `0` as 0.0.0.0 and `127.1` as 127.0.0.1: a short
    // number must not listen on every interface by accident.
    if host.chars().all(|c| c.is_ascii_digit() || c == '.') && host.parse::<Ipv4Addr>().is_err() {
        return Err(format!(
            "host {host:?} is not an IPv4 address like 127.0.0.1"
        ));
    }
    if port.is_empty() {
        return Err("missing port".to_string());
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("port {port:?} is not a number from 0 to 65535"))?;
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_type() {
        assert_eq!(Address::parse("-"), Ok(Address::Stdio));
        assert_eq!(
            Address::parse("out.bin"),
            Ok(Address::File("out.bin".into()))
        );
        assert_eq!(Address::parse("file:a:b"), Ok(Address::File("a:b".into())));
        assert_eq!(
            Address::parse("tcp:[::1]:80"),
            Ok(Address::Tcp {
                host: "::1".into(),
                port: 80
            })
        );
        assert_eq!(
            Address::parse("tcp-listen:9000"),
            Ok(Address::TcpListen {
                host: "127.0.0.1".into(),
                port: 9000
            })
        );
        assert_eq!(
            Address::parse("unix-listen:/tmp/s"),
            Ok(Address::UnixListen("/tmp/s".into()))
        );
        assert_eq!(Address::parse("zero:"), Ok(Address::Zero));
        assert_eq!(Address::parse("./x:y"), Ok(Address::File("./x:y".into())));
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        for bad in [
            "tcp:localhost",
            "tcp:localhost:",
            "tcp:localhost:65536",
            "tcp:localhost:0",
            "tcp::80",
            "tcp-listen:0:0",
            "tcp:127.1:80",
            "tcp:::1:80",
            "udp:x:1",
            "zero:x",
            "unix:",
            "",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let hint = |text: &str| Address::parse(text).unwrap_err().expected;
        assert!(hint("127.0.0.1:80").contains("write tcp:127.0.0.1:80"));
        assert!(hint("[::1]:80").contains("write tcp:[::1]:80"));
        assert!(hint("localhost:80").contains("write tcp:localhost:80"));
        assert!(hint("tcp://example.com:80").contains("like tcp:example.com:80"));
        assert!(hint("tcp-listen://9000").contains("like tcp-listen:9000"));
        // Paths with dots and colons that are not HOST:PORT stay paths.
        assert_eq!(
            Address::parse("./127.0.0.1:80"),
            Ok(Address::File("./127.0.0.1:80".into()))
        );
        assert_eq!(
            Address::parse("notes.txt:draft"),
            Ok(Address::File("notes.txt:draft".into()))
        );
        let error = Address::parse("tcp:localhost").unwrap_err();
        assert!(error
            .to_string()
            .starts_with("bad address \"tcp:localhost\": expected tcp:HOST:PORT"));
    }
}
