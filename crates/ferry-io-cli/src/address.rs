//! Addresses: what `SRC` and `DST` mean, parsed and checked before anything opens.
//!
//! An address is intent only ("TLS to this host and port"): it holds what
//! was written, and nothing built from it, so every module may name one.
//! What opening it needs besides (TLS configurations, timeouts) the plan
//! gives the endpoints.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// Where bytes come from or go to, as written on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// `-`: stdin as a source, stdout as a destination, both in a relay.
    Stdio,
    /// A path or `file:PATH`.
    File(PathBuf),
    /// `tcp:HOST:PORT[,bind=ADDR[:PORT]]`: connect.
    Tcp {
        /// Host name or IP address (without brackets).
        host: String,
        /// Port, 1 to 65535.
        port: u16,
        /// The local address and port to connect from.
        bind: Option<Bind>,
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
    /// `tls:HOST:PORT[,bind=ADDR[:PORT]]`: connect over TCP, then speak TLS,
    /// verifying the server as HOST.
    Tls {
        /// Host name or IP address (without brackets); also the name the
        /// server's certificate must carry.
        host: String,
        /// Port, 1 to 65535.
        port: u16,
        /// The local address and port to connect from.
        bind: Option<Bind>,
    },
    /// `tls-listen:[HOST:]PORT`: accept over TCP, then speak TLS.
    TlsListen {
        /// Host name or IP address to bind (without brackets).
        host: String,
        /// Port; 0 lets the system choose.
        port: u16,
    },
    /// `exec:CMD ARGS…`: run a program (no shell); its stdin and stdout are the end.
    Exec {
        /// The command as written.
        command: String,
        /// The command split into words as a shell would, without running one.
        argv: Vec<String>,
    },
    /// `sh:COMMAND`: run COMMAND with `/bin/sh -c`; its stdin and stdout are the end.
    Sh(String),
    /// `udp:HOST:PORT`: send datagrams to, and receive them from, one peer.
    Udp {
        /// Host name or IP address (without brackets).
        host: String,
        /// Port, 1 to 65535.
        port: u16,
    },
    /// `udp-listen:[HOST:]PORT`: receive datagrams, answer their senders.
    UdpListen {
        /// Host name or IP address to bind (without brackets).
        host: String,
        /// Port; 0 lets the system choose.
        port: u16,
    },
    /// `fd:N`: accept on a listening socket passed by systemd socket
    /// activation (`LISTEN_FDS`, `LISTEN_PID`) as file descriptor N.
    Fd(u32),
}

/// The local end a connecting socket binds before it connects
/// (`bind=ADDR[:PORT]`, `--bind`): an IP address, a port, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bind {
    /// The local IP address; `None` for "any address of the peer's family".
    pub ip: Option<IpAddr>,
    /// The local port; 0 lets the system choose.
    pub port: u16,
}

impl Bind {
    /// Parses `ADDR`, `ADDR:PORT`, `[IPV6]`, `[IPV6]:PORT` or `:PORT`, with
    /// ADDR an IP address (binding is to this machine's addresses; no names).
    ///
    /// # Errors
    ///
    /// What was expected, for the caller to put after the value.
    pub fn parse(text: &str) -> Result<Bind, String> {
        const EXPECTED: &str =
            "expected ADDR[:PORT] with an IP address, like 127.0.0.2, 127.0.0.2:5000, [::1]:5000 or :5000";
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Bind {
                ip: Some(ip),
                port: 0,
            });
        }
        if let Ok(socket) = text.parse::<SocketAddr>() {
            return Ok(Bind {
                ip: Some(socket.ip()),
                port: socket.port(),
            });
        }
        if let Some(port) = text.strip_prefix(':') {
            let port = port.parse::<u16>().map_err(|_| EXPECTED.to_string())?;
            return Ok(Bind { ip: None, port });
        }
        if let Some(ip) = text
            .strip_prefix('[')
            .and_then(|text| text.strip_suffix(']'))
        {
            let ip = ip
                .parse::<std::net::Ipv6Addr>()
                .map_err(|_| EXPECTED.to_string())?;
            return Ok(Bind {
                ip: Some(IpAddr::V6(ip)),
                port: 0,
            });
        }
        Err(EXPECTED.to_string())
    }
}

impl fmt::Display for Bind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ip, self.port) {
            (Some(ip), 0) => write!(f, "{ip}"),
            (Some(ip), port) => write!(f, "{}", SocketAddr::new(ip, port)),
            (None, port) => write!(f, ":{port}"),
        }
    }
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
const TYPES: &str = "-, PATH, file:PATH, tcp:HOST:PORT, tcp-listen:[HOST:]PORT, unix:PATH, unix-listen:PATH, tls:HOST:PORT, tls-listen:[HOST:]PORT, exec:CMD, sh:COMMAND, udp:HOST:PORT, udp-listen:[HOST:]PORT, fd:N, zero: or null:";

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
            "tcp" | "tls" => {
                let kind = kind.to_ascii_lowercase();
                let (target, options) = match rest.split_once(',') {
                    Some((target, options)) => (target, Some(options)),
                    None => (rest, None),
                };
                let (host, port) = split_host_port(target, false)
                    .map_err(|why| bad(&format!("expected {kind}:HOST:PORT ({why})")))?;
                if port == 0 {
                    return Err(bad(&format!(
                        "expected {kind}:HOST:PORT with a port from 1 to 65535"
                    )));
                }
                let bind = match options {
                    Some(options) => Some(parse_bind_option(options).map_err(|why| bad(&why))?),
                    None => None,
                };
                Ok(if kind == "tcp" {
                    Address::Tcp { host, port, bind }
                } else {
                    Address::Tls { host, port, bind }
                })
            }
            "tcp-listen" => {
                let (host, port) = split_host_port(rest, true)
                    .map_err(|why| bad(&format!("expected tcp-listen:[HOST:]PORT ({why})")))?;
                Ok(Address::TcpListen { host, port })
            }
            "tls-listen" => {
                let (host, port) = split_host_port(rest, true)
                    .map_err(|why| bad(&format!("expected tls-listen:[HOST:]PORT ({why})")))?;
                Ok(Address::TlsListen { host, port })
            }
            "udp" => {
                let (host, port) = split_host_port(rest, false)
                    .map_err(|why| bad(&format!("expected udp:HOST:PORT ({why})")))?;
                if port == 0 {
                    return Err(bad("expected udp:HOST:PORT with a port from 1 to 65535"));
                }
                Ok(Address::Udp { host, port })
            }
            "udp-listen" => {
                let (host, port) = split_host_port(rest, true)
                    .map_err(|why| bad(&format!("expected udp-listen:[HOST:]PORT ({why})")))?;
                Ok(Address::UdpListen { host, port })
            }
            "exec" => {
                let argv = shlex::split(rest).ok_or_else(|| {
                    bad("expected exec:CMD ARGS... with balanced quotes and no trailing backslash")
                })?;
                if argv.is_empty() {
                    return Err(bad("expected exec:CMD ARGS... (the program to run)"));
                }
                Ok(Address::Exec {
                    command: rest.to_string(),
                    argv,
                })
            }
            "sh" if !rest.trim().is_empty() => Ok(Address::Sh(rest.to_string())),
            "sh" => Err(bad("expected sh:COMMAND (the shell command to run)")),
            "unix" if !rest.is_empty() => Ok(Address::Unix(PathBuf::from(rest))),
            "unix" => Err(bad("expected unix:PATH")),
            "unix-listen" if !rest.is_empty() => Ok(Address::UnixListen(PathBuf::from(rest))),
            "unix-listen" => Err(bad("expected unix-listen:PATH")),
            "fd" => match rest.parse::<u32>() {
                Ok(fd) if fd >= 3 => Ok(Address::Fd(fd)),
                _ => Err(bad(
                    "expected fd:N with N a passed socket's descriptor, 3 or more (systemd passes the first as fd:3)",
                )),
            },
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

    /// True for addresses that accept connections (or, for `udp-listen:`,
    /// datagrams from any sender).
    pub fn is_listening(&self) -> bool {
        matches!(
            self,
            Address::TcpListen { .. }
                | Address::UnixListen(_)
                | Address::TlsListen { .. }
                | Address::UdpListen { .. }
                | Address::Fd(_)
        )
    }

    /// True for addresses that reach out to a peer: connecting sockets and
    /// programs. They are opened once a listening address has accepted.
    pub fn is_connecting(&self) -> bool {
        matches!(
            self,
            Address::Tcp { .. }
                | Address::Unix(_)
                | Address::Tls { .. }
                | Address::Exec { .. }
                | Address::Sh(_)
        )
    }

    /// True for addresses that carry bytes both ways: sockets, programs and `-`.
    pub fn is_two_way(&self) -> bool {
        !matches!(self, Address::File(_) | Address::Zero | Address::Null)
    }

    /// True for addresses that can be opened afresh for every connection of
    /// `--serve`: connecting sockets, programs, `zero:` and `null:`.
    pub fn is_per_connection(&self) -> bool {
        matches!(
            self,
            Address::Tcp { .. }
                | Address::Unix(_)
                | Address::Tls { .. }
                | Address::Exec { .. }
                | Address::Sh(_)
                | Address::Zero
                | Address::Null
        )
    }

    /// True for the UDP addresses, which carry datagrams rather than a byte stream.
    pub fn is_datagram(&self) -> bool {
        matches!(self, Address::Udp { .. } | Address::UdpListen { .. })
    }
}

/// Parses the options after `tcp:HOST:PORT,` (only `bind=ADDR[:PORT]`).
fn parse_bind_option(options: &str) -> Result<Bind, String> {
    let mut bind = None;
    for option in options.split(',') {
        match option.split_once('=') {
            Some(("bind", value)) if bind.is_none() => {
                bind = Some(Bind::parse(value).map_err(|why| format!("bad bind={value}: {why}"))?)
            }
            Some(("bind", _)) => return Err("bind= given twice".to_string()),
            _ => {
                return Err(format!(
                    "unknown option {option:?}; expected bind=ADDR[:PORT]"
                ))
            }
        }
    }
    bind.ok_or_else(|| "expected bind=ADDR[:PORT] after the comma".to_string())
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
            Address::Tcp { host, port, bind } => {
                write!(f, "tcp:{}:{port}", bracket(host))?;
                match bind {
                    Some(bind) => write!(f, ",bind={bind}"),
                    None => Ok(()),
                }
            }
            Address::TcpListen { host, port } => {
                write!(f, "tcp-listen:{}:{port}", bracket(host))
            }
            Address::Tls { host, port, bind } => {
                write!(f, "tls:{}:{port}", bracket(host))?;
                match bind {
                    Some(bind) => write!(f, ",bind={bind}"),
                    None => Ok(()),
                }
            }
            Address::TlsListen { host, port } => {
                write!(f, "tls-listen:{}:{port}", bracket(host))
            }
            Address::Exec { command, .. } => write!(f, "exec:{command}"),
            Address::Sh(command) => write!(f, "sh:{command}"),
            Address::Udp { host, port } => write!(f, "udp:{}:{port}", bracket(host)),
            Address::UdpListen { host, port } => {
                write!(f, "udp-listen:{}:{port}", bracket(host))
            }
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
            Address::UnixListen(path) => write!(f, "unix-listen:{}", path.display()),
            Address::Fd(fd) => write!(f, "fd:{fd}"),
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
///
/// # Errors
///
/// What is wrong, for the caller to put after what it expected.
pub fn split_host_port(text: &str, host_optional: bool) -> Result<(String, u16), String> {
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
                port: 80,
                bind: None,
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
    fn parses_the_reaching_types() {
        assert_eq!(
            Address::parse("tcp:h:80,bind=127.0.0.2:5000"),
            Ok(Address::Tcp {
                host: "h".into(),
                port: 80,
                bind: Some(Bind {
                    ip: Some("127.0.0.2".parse().unwrap()),
                    port: 5000
                }),
            })
        );
        assert_eq!(
            Address::parse("tls:[::1]:443,bind=[::1]").map(|a| a.to_string()),
            Ok("tls:[::1]:443,bind=::1".to_string())
        );
        assert_eq!(
            Bind::parse(":7000"),
            Ok(Bind {
                ip: None,
                port: 7000
            })
        );
        assert_eq!(
            Address::parse("exec:printf '%s\\n' 'a b' c"),
            Ok(Address::Exec {
                command: "printf '%s\\n' 'a b' c".into(),
                argv: vec!["printf".into(), "%s\\n".into(), "a b".into(), "c".into()],
            })
        );
        assert_eq!(
            Address::parse("sh:echo hi | tr a-z A-Z"),
            Ok(Address::Sh("echo hi | tr a-z A-Z".into()))
        );
        assert_eq!(
            Address::parse("udp-listen:9000"),
            Ok(Address::UdpListen {
                host: "127.0.0.1".into(),
                port: 9000
            })
        );
        assert!(Address::parse("tls-listen:0").is_ok_and(|a| a.is_listening()));
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
            "udp:x:0",
            "tcp:x:1,bind=localhost",
            "tcp:x:1,bind=1.2.3.4:99999",
            "tcp:x:1,bind=",
            "tcp:x:1,nodelay",
            "exec:",
            "exec:'unbalanced",
            "sh:",
            "tls:host",
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
