//! From what was typed to what will run: flags and addresses are checked
//! and converted here, once, into a [`Plan`]; nothing later re-checks a flag.

use std::path::PathBuf;
use std::time::Duration;

use ferry_io::zero_copy::ZeroCopyMode;
use ferry_io::{Copier, MemoryBudget, Progress, RateLimiter, StopSignal};

use crate::access::Access;
use crate::address::{Address, Bind};
use crate::closing::{self, Closing};
use crate::endpoint::{OpenOptions, Role};
use crate::flags::{
    AcceptProxy, AccessFlags, AccessLogFormat, Balance, Cli, ConnectionFlags, CopyFlags,
    OutputFlags, RelayFlags, SendProxy, ServeFlags, TlsFlags, ZeroCopy,
};
use crate::messages::{self, Failure};
use crate::tls::{self, TlsClient, TlsServer, TlsSettings};
use crate::transfer::Way;
use crate::units::{Bytes, Timeout};

/// What one invocation of `ferry` does.
#[derive(Debug)]
pub struct Plan {
    /// Where bytes come from.
    pub src: Address,
    /// Where bytes go (with several DSTs, the first).
    pub dst: Address,
    /// Every DST, in order: the upstreams a server spreads its connections
    /// over; just `dst` for everything else.
    pub upstreams: Vec<Address>,
    /// One copy, one relay, or a server.
    pub shape: Shape,
    /// How every copy runs.
    pub copy: CopyPlan,
    /// With [`Shape::Serve`]: how many relays may run at once.
    pub max_connections: usize,
    /// With [`Shape::Serve`]: how many connections may be sending their
    /// PROXY header or shaking hands for TLS at once.
    pub max_handshakes: usize,
    /// With [`Shape::Serve`]: the threads it accepts and relays on (see
    /// [`server_threads`]).
    pub threads: usize,
    /// The server configuration every `tls-listen:` address accepts with,
    /// loaded once; `None` when no address listens for TLS.
    pub tls_server: Option<TlsServer>,
    /// Who may connect to a server.
    pub access: Access,
    /// What a server does around the bytes, and how sockets are set.
    pub relay: RelayPlan,
    /// What to print.
    pub output: OutputFlags,
    /// Flags that were given but have no effect here, each as one line.
    pub warnings: Vec<String>,
}

/// The kind of transfer a plan runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// SRC to DST.
    OneWay,
    /// Both ways between two two-way addresses, with half-close.
    Relay,
    /// Accept on SRC and relay each connection to a fresh DST.
    Serve,
    /// Accept on SRC, one connection after another, each copied to the same
    /// DST (`--keep-listening`).
    KeepListening,
    /// Relay datagrams (`udp:`, `udp-listen:`, `-`), each kept whole.
    Datagrams,
    /// Receive datagrams on `udp-listen:` and relay each client address's
    /// to a fresh `udp:` socket of its own (`--serve`).
    DatagramServer,
}

/// What a relay server does around the bytes (PROXY protocol, several
/// upstreams, access log, metrics), and the options of relayed sockets.
#[derive(Clone, Debug)]
pub struct RelayPlan {
    /// Read a PROXY header of this version from every client.
    pub accept_proxy: Option<AcceptProxy>,
    /// How long a client may take to send its PROXY header.
    pub proxy_timeout: Duration,
    /// Write a PROXY header of this version to every upstream.
    pub send_proxy: Option<SendProxy>,
    /// How the upstream of each connection is picked.
    pub balance: Balance,
    /// How long an upstream that refused is skipped.
    pub upstream_backoff: Duration,
    /// Where the access log goes: a file, or stdout for `None`.
    pub access_log: Option<Option<PathBuf>>,
    /// The access log's lines.
    pub access_log_format: AccessLogFormat,
    /// Where the metrics are served: host and port.
    pub metrics: Option<(String, u16)>,
    /// TCP keepalive on relayed TCP sockets, after this long idle.
    pub keepalive: Option<Duration>,
    /// Share the listening port with other processes (`SO_REUSEPORT`).
    pub reuse_port: bool,
}

/// How every copy of a plan runs.
#[derive(Clone, Debug)]
pub struct CopyPlan {
    /// A fixed buffer size; without it, the library's default policy.
    pub buffer_size: Option<usize>,
    /// Bytes per direction.
    pub limit: Option<u64>,
    /// Bytes per second for the whole invocation (with `--serve`, the server).
    pub rate_limit: Option<u64>,
    /// With `--serve`, bytes per second for each connection.
    pub rate_limit_per_connection: Option<u64>,
    /// Fail after this long with nothing moving.
    pub idle_timeout: Option<Duration>,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long a half-closed relay may go on.
    pub linger: Option<Duration>,
    /// After the first signal, how long what runs may finish.
    pub shutdown_timeout: Duration,
    /// With [`Shape::Serve`]: the buffer memory all relays may grow into.
    pub buffer_memory: Option<usize>,
    /// Append to a destination file.
    pub append: bool,
    /// Whether the kernel may move the bytes.
    pub zero_copy: ZeroCopyMode,
    /// Which directions a relay copies (`-u`, `-U`).
    pub way: Way,
    /// The client configuration every `tls:` address connects with, loaded
    /// once; `None` when no address connects with TLS.
    pub tls_client: Option<TlsClient>,
}

impl Plan {
    /// Checks `cli` and turns it into a plan.
    ///
    /// # Errors
    ///
    /// A [`Failure::Input`] for address combinations and flags that cannot
    /// work together.
    pub fn new(cli: Cli) -> Result<Plan, Failure> {
        let (Some(mut src), Some(mut dst)) = (cli.src, cli.dst.first().cloned()) else {
            return Err(messages::missing_addresses());
        };
        let mut upstreams = cli.dst;
        let serve = cli.serve.serve;
        if let (Some(extra), false) = (upstreams.get(1), serve) {
            return Err(messages::several_dsts(extra));
        }
        if src.is_listening() && upstreams.iter().any(Address::is_listening) {
            return Err(Failure::input(
                format!("bad addresses \"{src}\" and \"{dst}\""),
                "both are listening; at most one address may listen",
            ));
        }
        if matches!(src, Address::Null) {
            return Err(messages::null_is_a_destination());
        }
        if upstreams.contains(&Address::Zero) {
            return Err(messages::zero_is_a_source());
        }
        let connection = &cli.connection;
        let shape = if src.is_datagram() || upstreams.iter().any(Address::is_datagram) {
            if let Some(extra) = upstreams.get(1) {
                return Err(Failure::input(
                    format!("bad DST \"{extra}\""),
                    "a UDP server relays to one udp: address",
                ));
            }
            datagram_shape(
                &src,
                &dst,
                &cli.copy,
                &cli.output,
                connection,
                &cli.relay,
                serve,
            )?
        } else if serve {
            if !src.is_listening() {
                return Err(Failure::input(
                    format!("bad SRC \"{src}\" for --serve"),
                    "expected tcp-listen:, tls-listen: or unix-listen:",
                ));
            }
            if let Some(dst) = upstreams.iter().find(|dst| !dst.is_per_connection()) {
                return Err(Failure::input(
                    format!("bad DST \"{dst}\" for --serve"),
                    "expected an address opened once per connection: tcp:, tls:, unix:, exec:, sh: or null:",
                ));
            }
            Shape::Serve
        } else if connection.keep_listening {
            keep_listening_shape(&src, &dst, connection)?
        } else if src.is_two_way()
            && dst.is_two_way()
            && !(src == Address::Stdio && dst == Address::Stdio)
        {
            // `- -` is plain stdin to stdout, not stdio relayed to itself.
            Shape::Relay
        } else {
            Shape::OneWay
        };
        let way = way(&src, &dst, shape, connection)?;
        if let Some(bind) = connection.bind {
            apply_bind(&mut src, &mut upstreams, bind)?;
        }
        let (tls_client, tls_server) = load_tls(&src, &upstreams, &cli.tls)?;
        dst = upstreams[0].clone();
        let flags = cli.copy;
        let serving = shape == Shape::Serve;
        // A server flag without a server is an error (see server_flags). A
        // flag that merely has nothing to act on is a warning: ignoring it
        // changes no byte.
        server_flags(&cli.serve, &cli.relay, &cli.access, &flags, &cli.connection)?;
        let relay = relay_plan(&cli.serve, cli.relay, &src, &upstreams)?;
        let mut warnings = Vec::new();
        let accept_proxy = relay.accept_proxy.is_some();
        let (access, max_handshakes) =
            access_plan(&cli.access, &src, shape, accept_proxy, &mut warnings)?;
        let tcp = |address: &Address| {
            matches!(
                address,
                Address::Tcp { .. }
                    | Address::Tls { .. }
                    | Address::TcpListen { .. }
                    | Address::TlsListen { .. }
                    | Address::Fd(_)
            )
        };
        if relay.keepalive.is_some() && !tcp(&src) && !upstreams.iter().any(tcp) {
            warnings.push(messages::no_effect(
                "--keepalive",
                &src,
                "only TCP connections have keepalive",
            ));
        }
        let threads = if serving { server_threads() } else { 1 };
        if serving {
            let most = cli.serve.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
            warnings.extend(fd_shortage(most, threads, &upstreams, flags.zero_copy));
        }
        if flags.append && !matches!(dst, Address::File(_)) {
            warnings.push(messages::no_effect(
                "--append",
                &dst,
                "only a file is appended to",
            ));
        }
        if flags.zero_copy == ZeroCopy::Always {
            if let Some(address) = [&src, &dst].into_iter().find(|address| {
                matches!(
                    address,
                    Address::Zero | Address::Null | Address::Tls { .. } | Address::TlsListen { .. }
                )
            }) {
                return Err(messages::zero_copy_always_refused(format!(
                    "with \"{address}\""
                )));
            }
            // In a relay, stdin and stdout are one end read and written
            // through memory; alone, `-` may be a pipe, a socket or a file,
            // and the library finds out when the copy starts.
            if shape != Shape::OneWay && [&src, &dst].contains(&&Address::Stdio) {
                return Err(Failure::input(
                    "cannot use --zero-copy always with \"-\" in a relay",
                    "stdin and stdout are relayed through memory",
                ));
            }
            if flags.append {
                return Err(Failure::input(
                    "cannot use --zero-copy always with --append",
                    "the kernel's copy calls do not write to a file opened for appending",
                ));
            }
        }
        Ok(Plan {
            src,
            dst,
            upstreams,
            shape,
            copy: CopyPlan {
                buffer_size: flags.buffer_size,
                limit: flags.limit,
                rate_limit: flags.rate_limit,
                rate_limit_per_connection: flags.rate_limit_per_connection,
                // A server's default, as nginx's proxy_timeout: idle clients
                // must not hold --max-connections forever.
                idle_timeout: match flags.idle_timeout {
                    Some(Timeout(timeout)) => timeout,
                    None if serving => Some(SERVE_IDLE_TIMEOUT),
                    None => None,
                },
                connect_timeout: flags.connect_timeout,
                linger: flags.linger,
                shutdown_timeout: flags.shutdown_timeout.unwrap_or(if serving {
                    SERVE_SHUTDOWN_TIMEOUT
                } else {
                    SHUTDOWN_TIMEOUT
                }),
                buffer_memory: serving.then(|| {
                    let bytes = cli.serve.max_buffer_memory.unwrap_or(MAX_BUFFER_MEMORY);
                    usize::try_from(bytes).unwrap_or(usize::MAX)
                }),
                append: flags.append,
                zero_copy: flags.zero_copy.into(),
                way,
                tls_client,
            },
            max_connections: cli.serve.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS) as usize,
            max_handshakes,
            threads,
            tls_server,
            access,
            relay,
            output: cli.output,
            warnings,
        })
    }

    /// Whether both directions move: a relay, or each connection of a server.
    pub fn two_way(&self) -> bool {
        self.shape != Shape::OneWay
    }

    /// DST as written, for reports: the upstreams separated by spaces when
    /// there are several.
    pub fn dsts(&self) -> String {
        let dsts: Vec<String> = self.upstreams.iter().map(ToString::to_string).collect();
        dsts.join(" ")
    }

    /// Whether the data goes to stdout: DST is `-`, or `-` is an end of a relay.
    pub fn data_on_stdout(&self) -> bool {
        self.dst == Address::Stdio || (self.two_way() && self.src == Address::Stdio)
    }
}

impl CopyPlan {
    /// The library's copier for this plan: every byte moved is added to
    /// `progress`, and `stop` ends copies gracefully.
    pub fn copier(&self, progress: &Progress, stop: &StopSignal) -> Copier {
        // A relay that does not end well ends with a reset, so no peer takes
        // a truncated stream for a complete one.
        let mut copier = Copier::new()
            .progress(progress.clone())
            .stop_on(stop.clone())
            .propagate_resets(true);
        if let Some(bytes) = self.buffer_memory {
            copier = copier.memory_budget(MemoryBudget::new(bytes));
        }
        if let Some(size) = self.buffer_size {
            copier = copier.buffer_size(size);
        }
        if let Some(limit) = self.limit {
            copier = copier.limit(limit);
        }
        if let Some(rate) = self.rate_limit {
            // One limiter: with --serve every connection shares it.
            copier = copier.rate_limit(RateLimiter::new(rate));
        }
        if let Some(timeout) = self.idle_timeout {
            copier = copier.idle_timeout(timeout);
        }
        if let Some(linger) = self.linger {
            copier = copier.linger(linger);
        }
        copier
    }

    /// `copier` with this plan's per-connection rate limit, a fresh one for
    /// each connection (or each invocation, without `--serve`).
    pub fn for_connection(&self, copier: &Copier) -> Copier {
        match self.rate_limit_per_connection {
            Some(rate) => copier.clone().rate_limit(RateLimiter::new(rate)),
            None => copier.clone(),
        }
    }

    /// The buffers a copy uses, for logs: `fixed 64.0 KiB` or
    /// `adaptive 8.0 KiB to 1.0 MiB`.
    pub fn buffer(&self) -> String {
        match self.buffer_size {
            Some(size) => format!("fixed {}", Bytes(size as u64)),
            None => format!(
                "adaptive {} to {}",
                Bytes(ferry_io::DEFAULT_BUF_SIZE as u64),
                Bytes(ferry_io::DEFAULT_MAX_BUF_SIZE as u64)
            ),
        }
    }

    /// How to open an address that is `role` in a copy, both ways or not.
    pub fn open_options(&self, role: Role, two_way: bool) -> OpenOptions<'_> {
        OpenOptions {
            role,
            two_way,
            append: self.append,
            connect_timeout: self.connect_timeout,
            tls: self.tls_client.as_ref(),
        }
    }

    /// How the ends of a transfer are readied for closing (see [`closing`]).
    pub fn closing(&self) -> Closing {
        Closing {
            drain_for: self.linger.unwrap_or(closing::AT_MOST),
            // Without a byte limit or a linger, a relay ends well only once
            // it has read each end to its end of stream.
            relays_read_all: self.limit.is_none() && self.linger.is_none(),
        }
    }
}

/// Checks a UDP pair: datagrams go between `udp:`, `udp-listen:` and `-`,
/// and the options that count or pace a byte stream do not apply.
fn datagram_shape(
    src: &Address,
    dst: &Address,
    copy: &CopyFlags,
    output: &OutputFlags,
    connection: &ConnectionFlags,
    relay: &RelayFlags,
    serve: bool,
) -> Result<Shape, Failure> {
    let carries_datagrams = |address: &Address| address.is_datagram() || *address == Address::Stdio;
    if !carries_datagrams(src) || !carries_datagrams(dst) {
        return Err(Failure::input(
            format!("bad addresses \"{src}\" and \"{dst}\""),
            "datagrams go between udp:, udp-listen: and - only (a byte stream would lose their boundaries)",
        ));
    }
    if serve && !(matches!(src, Address::UdpListen { .. }) && matches!(dst, Address::Udp { .. })) {
        return Err(Failure::input(
            format!("bad addresses \"{src}\" and \"{dst}\" for --serve"),
            "a UDP server relays udp-listen: to udp:",
        ));
    }
    let refused = [
        (copy.rate_limit.is_some(), "--rate-limit"),
        (
            copy.rate_limit_per_connection.is_some(),
            "--rate-limit-per-connection",
        ),
        (output.progress, "--progress"),
        (copy.append, "--append"),
        (copy.zero_copy == ZeroCopy::Always, "--zero-copy always"),
        (connection.bind.is_some(), "--bind"),
        (connection.keep_listening, "--keep-listening"),
        (relay.accept_proxy.is_some(), "--accept-proxy"),
        (relay.send_proxy.is_some(), "--send-proxy"),
        (relay.access_log.is_some(), "--access-log"),
        (relay.metrics.is_some(), "--metrics"),
        (relay.keepalive.is_some(), "--keepalive"),
    ];
    if let Some((_, flag)) = refused.into_iter().find(|(given, _)| *given) {
        return Err(Failure::input(
            format!("cannot use {flag} with UDP"),
            "datagrams are relayed one by one, outside the byte-stream engine",
        ));
    }
    Ok(if serve {
        Shape::DatagramServer
    } else {
        Shape::Datagrams
    })
}

/// Checks `--keep-listening`: a listening SRC into a file, stdout or `null:`.
fn keep_listening_shape(
    src: &Address,
    dst: &Address,
    connection: &ConnectionFlags,
) -> Result<Shape, Failure> {
    if !src.is_listening() {
        return Err(Failure::input(
            format!("bad SRC \"{src}\" for --keep-listening"),
            "expected tcp-listen:, tls-listen: or unix-listen:",
        ));
    }
    if !matches!(dst, Address::File(_) | Address::Stdio | Address::Null) {
        return Err(Failure::input(
            format!("bad DST \"{dst}\" for --keep-listening"),
            "expected a file, - or null: (to relay every connection, use --serve)",
        ));
    }
    if connection.src_to_dst || connection.dst_to_src {
        return Err(Failure::input(
            "cannot use -u or -U with --keep-listening",
            "every connection is copied SRC to DST already",
        ));
    }
    Ok(Shape::KeepListening)
}

/// The directions `-u` and `-U` ask for. `-U` needs DST readable and SRC
/// writable: two two-way addresses.
fn way(
    src: &Address,
    dst: &Address,
    shape: Shape,
    connection: &ConnectionFlags,
) -> Result<Way, Failure> {
    if connection.dst_to_src {
        if !(src.is_two_way() && dst.is_two_way()) || shape == Shape::OneWay {
            return Err(Failure::input(
                "cannot use -U here",
                "DST to SRC needs two two-way addresses (sockets, programs or -)",
            ));
        }
        return Ok(Way::Backward);
    }
    Ok(if connection.src_to_dst {
        Way::Forward
    } else {
        Way::Both
    })
}

/// Gives `--bind` to the connecting `tcp:` and `tls:` addresses that have no
/// `,bind=` of their own.
fn apply_bind(src: &mut Address, dsts: &mut [Address], bind: Bind) -> Result<(), Failure> {
    let mut applies = false;
    for address in std::iter::once(src).chain(dsts) {
        if let Address::Tcp { bind: own, .. } | Address::Tls { bind: own, .. } = address {
            applies = true;
            own.get_or_insert(bind);
        }
    }
    if !applies {
        return Err(Failure::input(
            "cannot use --bind here",
            "it binds the local end of tcp: and tls: addresses, and there is none",
        ));
    }
    Ok(())
}

/// Loads the TLS configurations the `tls:` and `tls-listen:` addresses
/// use, once for all: the client's when one connects, the server's when
/// one listens. A `--tls-*` flag that no address uses is a mistake.
fn load_tls(
    src: &Address,
    dsts: &[Address],
    flags: &TlsFlags,
) -> Result<(Option<TlsClient>, Option<TlsServer>), Failure> {
    let any = |wanted: fn(&Address) -> bool| wanted(src) || dsts.iter().any(wanted);
    let client = any(|address| matches!(address, Address::Tls { .. }));
    let server = any(|address| matches!(address, Address::TlsListen { .. }));
    let unused = [
        (flags.tls_ca.is_some() && !client, "--tls-ca", "tls:"),
        (flags.tls_insecure && !client, "--tls-insecure", "tls:"),
        (
            flags.tls_client_ca.is_some() && !server,
            "--tls-client-ca",
            "tls-listen:",
        ),
        (
            flags.tls_cert.is_some() && !client && !server,
            "--tls-cert",
            "tls: or tls-listen:",
        ),
    ];
    if let Some((_, flag, wanted)) = unused.into_iter().find(|(unused, ..)| *unused) {
        return Err(Failure::input(
            format!("cannot use {flag} here"),
            format!("it applies to {wanted} addresses, and there is none"),
        ));
    }
    let settings = TlsSettings::from(flags);
    let client = client.then(|| tls::client(&settings)).transpose()?;
    if client.is_some() && settings.insecure {
        crate::stderr::line(messages::TLS_INSECURE);
    }
    let server = server.then(|| tls::server(&settings)).transpose()?;
    Ok((client, server))
}

impl From<&TlsFlags> for TlsSettings {
    fn from(flags: &TlsFlags) -> TlsSettings {
        TlsSettings {
            ca: flags.tls_ca.clone(),
            identity: flags.tls_cert.clone().zip(flags.tls_key.clone()),
            client_ca: flags.tls_client_ca.clone(),
            insecure: flags.tls_insecure,
        }
    }
}

/// The one rule for a server's flags: a flag about a server's connections
/// needs a server, `--serve` (or, for the two that `--keep-listening` has
/// too, either), and says what it would have done; a flag that shapes
/// another needs that one. A run that ended after one connection is not
/// what whoever set a server's flag wanted.
fn server_flags(
    flags: &ServeFlags,
    relay: &RelayFlags,
    access: &AccessFlags,
    copy: &CopyFlags,
    connection: &ConnectionFlags,
) -> Result<(), Failure> {
    let (serve, keep_listening) = (flags.serve, connection.keep_listening);
    let serve_only = [
        (
            flags.max_connections.is_some(),
            "--max-connections",
            "it limits how many connections a server relays at once",
        ),
        (
            flags.max_buffer_memory.is_some(),
            "--max-buffer-memory",
            "it bounds the memory of all a server's buffers together",
        ),
        (
            relay.metrics.is_some(),
            "--metrics",
            "it serves a server's counts of its connections",
        ),
        (
            relay.access_log.is_some(),
            "--access-log",
            "it logs each connection a server relays",
        ),
        (
            relay.accept_proxy.is_some(),
            "--accept-proxy",
            "it reads the PROXY header a load balancer sends before each client",
        ),
        (
            relay.send_proxy.is_some(),
            "--send-proxy",
            "it sends each upstream a PROXY header with its client's address",
        ),
        (
            flags.balance.is_some(),
            "--balance",
            "it spreads a server's connections over its upstreams",
        ),
        (
            flags.upstream_backoff.is_some(),
            "--upstream-backoff",
            "it skips a server's upstreams that refused",
        ),
        (
            !access.allow.is_empty(),
            "--allow",
            "it lets only the clients it names use a server",
        ),
        (
            !access.deny.is_empty(),
            "--deny",
            "it refuses the clients it names at a server",
        ),
        (
            !access.accept_proxy_from.is_empty(),
            "--accept-proxy-from",
            "it says whose PROXY headers a server believes",
        ),
        (
            access.max_connections_per_source.is_some(),
            "--max-connections-per-source",
            "it limits a server's connections from each client address",
        ),
        (
            access.max_handshakes.is_some(),
            "--max-handshakes",
            "it bounds a server's clients still sending a PROXY header or shaking hands",
        ),
    ];
    if let Some((_, flag, does)) = serve_only.into_iter().find(|(given, ..)| *given && !serve) {
        return Err(messages::needs_server(flag, "--serve", does));
    }
    let either = [
        (
            flags.reuse_port,
            "--reuse-port",
            "it shares a server's port with other processes",
        ),
        (
            copy.rate_limit_per_connection.is_some(),
            "--rate-limit-per-connection",
            "it limits each connection of a server (for one copy, use --rate-limit)",
        ),
    ];
    if let Some((_, flag, does)) = either
        .into_iter()
        .find(|(given, ..)| *given && !serve && !keep_listening)
    {
        return Err(messages::needs_server(
            flag,
            "--serve or --keep-listening",
            does,
        ));
    }
    if relay.proxy_timeout.is_some() && relay.accept_proxy.is_none() {
        return Err(messages::needs_flag(
            "--proxy-timeout",
            "--accept-proxy",
            "it bounds the wait for a client's PROXY header",
        ));
    }
    if relay.access_log_format.is_some() && relay.access_log.is_none() {
        return Err(messages::needs_flag(
            "--access-log-format",
            "--access-log",
            "it sets the lines of the access log",
        ));
    }
    Ok(())
}

/// Checks the relay server's flags: `--send-proxy` needs an upstream
/// that a header can precede, `--reuse-port` a TCP port.
fn relay_plan(
    serve: &ServeFlags,
    flags: RelayFlags,
    src: &Address,
    upstreams: &[Address],
) -> Result<RelayPlan, Failure> {
    if flags.send_proxy.is_some() {
        if let Some(dst) = upstreams.iter().find(|dst| {
            !matches!(
                dst,
                Address::Tcp { .. } | Address::Unix(_) | Address::Exec { .. } | Address::Sh(_)
            )
        }) {
            return Err(Failure::input(
                format!("cannot use --send-proxy with \"{dst}\""),
                "the header goes before the bytes of a tcp:, unix:, exec: or sh: upstream",
            ));
        }
    }
    if serve.reuse_port && !matches!(src, Address::TcpListen { .. } | Address::TlsListen { .. }) {
        return Err(Failure::input(
            "cannot use --reuse-port here",
            "it shares the port of a tcp-listen: or tls-listen: SRC, and there is none",
        ));
    }
    let access_log = flags
        .access_log
        .map(|path| (path.as_os_str() != "-").then_some(path));
    Ok(RelayPlan {
        accept_proxy: flags.accept_proxy,
        proxy_timeout: flags.proxy_timeout.unwrap_or(PROXY_TIMEOUT),
        send_proxy: flags.send_proxy,
        balance: serve.balance.unwrap_or(Balance::RoundRobin),
        upstream_backoff: serve.upstream_backoff.unwrap_or(UPSTREAM_BACKOFF),
        access_log,
        access_log_format: flags.access_log_format.unwrap_or(AccessLogFormat::Text),
        metrics: flags.metrics,
        keepalive: flags.keepalive,
        reuse_port: serve.reuse_port,
    })
}

/// Checks who may connect: `--allow`, `--deny`, `--accept-proxy-from`,
/// `--max-connections-per-source` and `--max-handshakes` are server flags,
/// and need clients with IP addresses. Returns the rules and the size of
/// the handshake pool; a flag with nothing to act on, or a network written
/// with host bits, adds a warning.
fn access_plan(
    flags: &AccessFlags,
    src: &Address,
    shape: Shape,
    accept_proxy: bool,
    warnings: &mut Vec<String>,
) -> Result<(Access, usize), Failure> {
    let networks = [
        (&flags.allow, "--allow"),
        (&flags.deny, "--deny"),
        (&flags.accept_proxy_from, "--accept-proxy-from"),
    ];
    // The rules that check a client's address, and the one that checks
    // the peer's.
    let client_rules = [
        (!flags.allow.is_empty(), "--allow"),
        (!flags.deny.is_empty(), "--deny"),
        (
            flags.max_connections_per_source.is_some(),
            "--max-connections-per-source",
        ),
    ];
    let peer_rule = (!flags.accept_proxy_from.is_empty(), "--accept-proxy-from");
    let pool = (flags.max_handshakes.is_some(), "--max-handshakes");
    // Without --serve, server_flags has refused them all already.
    if peer_rule.0 && !accept_proxy {
        return Err(messages::needs_flag(
            "--accept-proxy-from",
            "--accept-proxy",
            "it says whose PROXY headers to believe",
        ));
    }
    if shape == Shape::DatagramServer && pool.0 {
        return Err(Failure::input(
            "cannot use --max-handshakes with UDP",
            "datagrams have no handshake",
        ));
    }
    if matches!(src, Address::UnixListen(_)) {
        // A Unix socket's peer has no IP address, and its client only the
        // one a PROXY header gives.
        let unmatched = if accept_proxy {
            first_given([&peer_rule])
        } else {
            first_given(client_rules.iter().chain([&peer_rule]))
        };
        if let Some(flag) = unmatched {
            return Err(Failure::input(
                format!("cannot use {flag} with \"{src}\""),
                "a unix-listen: peer has no IP address to check (with --accept-proxy, a client's PROXY header gives one)",
            ));
        }
    }
    let handshaking = accept_proxy || matches!(src, Address::TlsListen { .. });
    if flags.max_handshakes.is_some() && shape == Shape::Serve && !handshaking {
        warnings.push(messages::no_effect(
            "--max-handshakes",
            src,
            "its connections have no PROXY header or TLS handshake",
        ));
    }
    for (list, flag) in networks {
        for network in list.iter().filter(|network| network.trunc() != **network) {
            warnings.push(messages::host_bits_ignored(flag, network));
        }
    }
    let access = Access::new(
        &flags.allow,
        &flags.deny,
        &flags.accept_proxy_from,
        flags.max_connections_per_source.map(|n| n as usize),
    );
    let max_handshakes = flags.max_handshakes.unwrap_or(DEFAULT_MAX_HANDSHAKES) as usize;
    Ok((access, max_handshakes))
}

/// The flag of the first of `flags` that was given (`(given, flag)`).
fn first_given<'a>(
    flags: impl IntoIterator<Item = &'a (bool, &'static str)>,
) -> Option<&'static str> {
    flags
        .into_iter()
        .find(|(given, _)| *given)
        .map(|(_, flag)| *flag)
}

/// The threads a server accepts and relays on, each with a runtime and a
/// listener of its own, so that a connection's sockets, its task and every
/// wake-up stay on one thread: one per core, as nginx's `worker_processes
/// auto` and HAProxy's default `nbthread` have. A server held to fewer
/// than [`FEW_FDS`] open files runs on one: each thread costs a runtime's
/// descriptors and a listener, which it would take from connections.
fn server_threads() -> usize {
    use rustix::process::{getrlimit, Resource};
    let fds = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    if fds < FEW_FDS {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// The open-file limit under which a server keeps to one thread.
const FEW_FDS: u64 = 256;

/// The warning for a server whose open-file limit cannot hold
/// `max_connections` relays: past it accepts fail and clients are reset.
/// A relay holds its two sockets, a program's pipes in place of a socket,
/// and with `--zero-copy always` two splice pipes; each thread keeps a few
/// empty splice pipes for reuse, and the rest of ferry a handful more.
fn fd_shortage(
    max_connections: u32,
    threads: usize,
    upstreams: &[Address],
    zero_copy: ZeroCopy,
) -> Option<String> {
    let pooled = threads * ferry_io::zero_copy::POOLED_PIPES * 2;
    let own = 16 + u64::try_from(pooled).unwrap_or(u64::MAX);
    let program = upstreams
        .iter()
        .any(|upstream| matches!(upstream, Address::Exec { .. } | Address::Sh(_)));
    let per_relay = 2 + u64::from(program) + if zero_copy == ZeroCopy::Always { 4 } else { 0 };
    let needed = own.saturating_add(u64::from(max_connections) * per_relay);
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let most = limit.current?;
    (most < needed).then(|| messages::too_few_fds(max_connections, needed, most))
}

/// How long a client may take to send its PROXY header unless told otherwise.
const PROXY_TIMEOUT: Duration = Duration::from_secs(5);

/// The buffer memory of a server's relays together unless told otherwise.
const MAX_BUFFER_MEMORY: u64 = 256 << 20;

/// How long an upstream that refused is skipped unless told otherwise.
const UPSTREAM_BACKOFF: Duration = Duration::from_secs(10);

/// A server's idle timeout unless told otherwise, as nginx's `proxy_timeout`.
const SERVE_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// How long a single copy or relay may finish after the first signal.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a server's running relays may finish after the first signal.
const SERVE_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// How many relays `--serve` runs at once unless `--max-connections` says.
const DEFAULT_MAX_CONNECTIONS: u32 = 1024;

/// How many connections may be in their handshake phase at once unless
/// `--max-handshakes` says: as many as relays by default, each holding one
/// socket and at most a TLS handshake's state.
const DEFAULT_MAX_HANDSHAKES: u32 = 1024;
