//! From what was typed to what will run: flags and addresses are checked
//! and converted here, once, into a [`Plan`]; nothing later re-checks a flag.

use std::time::Duration;

use ferry::zero_copy::ZeroCopyMode;
use ferry::{Copier, Progress, RateLimiter, StopSignal};

use crate::address::Address;
use crate::closing;
use crate::flags::{Cli, OutputFlags, ZeroCopy};
use crate::messages::{self, Failure};
use crate::units::Bytes;

/// What one invocation of `ferry` does.
#[derive(Debug)]
pub struct Plan {
    /// Where bytes come from.
    pub src: Address,
    /// Where bytes go.
    pub dst: Address,
    /// One copy, one relay, or a server.
    pub shape: Shape,
    /// How every copy runs.
    pub copy: CopyPlan,
    /// With [`Shape::Serve`]: how many relays may run at once.
    pub max_connections: usize,
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
}

/// How every copy of a plan runs.
#[derive(Clone, Debug)]
pub struct CopyPlan {
    /// A fixed buffer size, or the library's default policy.
    pub buffer_size: Option<usize>,
    /// Bytes per direction.
    pub limit: Option<u64>,
    /// Bytes per second for the whole invocation (with `--serve`, the server).
    pub rate_limit: Option<u64>,
    /// With `--serve`, bytes per second for each connection.
    pub rate_limit_per_connection: Option<u64>,
    /// Fail after this long with nothing moving; also bounds connecting.
    pub idle_timeout: Option<Duration>,
    /// How long a half-closed relay may go on, and running relays after Ctrl-C.
    pub linger: Option<Duration>,
    /// Append to a destination file.
    pub append: bool,
    /// Whether the kernel may move the bytes.
    pub zero_copy: ZeroCopyMode,
}

impl Plan {
    /// Checks `cli` and turns it into a plan.
    ///
    /// # Errors
    ///
    /// A [`Failure::Input`] for address combinations and flags that cannot
    /// work together.
    pub fn new(cli: Cli) -> Result<Plan, Failure> {
        let (Some(src), Some(dst)) = (cli.src, cli.dst) else {
            return Err(messages::missing_addresses());
        };
        if src.is_listening() && dst.is_listening() {
            return Err(Failure::input(
                format!("bad addresses \"{src}\" and \"{dst}\""),
                "both are listening; at most one address may listen",
            ));
        }
        if matches!(src, Address::Null) {
            return Err(messages::null_is_a_destination());
        }
        if matches!(dst, Address::Zero) {
            return Err(messages::zero_is_a_source());
        }
        let shape = if cli.serve.serve {
            if !src.is_listening() {
                return Err(Failure::input(
                    format!("bad SRC \"{src}\" for --serve"),
                    "expected tcp-listen: or unix-listen:",
                ));
            }
            if !dst.is_per_connection() {
                return Err(Failure::input(
                    format!("bad DST \"{dst}\" for --serve"),
                    "expected an address opened once per connection: tcp:, unix: or null:",
                ));
            }
            Shape::Serve
        } else if src.is_two_way()
            && dst.is_two_way()
            && !(src == Address::Stdio && dst == Address::Stdio)
        {
            // `- -` is plain stdin to stdout, not stdio relayed to itself.
            Shape::Relay
        } else {
            Shape::OneWay
        };
        let flags = cli.copy;
        // A server flag without --serve is an error: the run would end
        // after one connection, which is not what whoever set a server's
        // limit wanted. A flag that merely has nothing to act on is a
        // warning: ignoring it changes no byte.
        if cli.serve.max_connections.is_some() && shape != Shape::Serve {
            return Err(messages::needs_serve("--max-connections"));
        }
        let mut warnings = Vec::new();
        if flags.append && !matches!(dst, Address::File(_)) {
            warnings.push(messages::no_effect(
                "--append",
                &dst,
                "only a file is appended to",
            ));
        }
        if flags.zero_copy == ZeroCopy::Always {
            if let Some(address) = [&src, &dst]
                .into_iter()
                .find(|address| matches!(address, Address::Zero | Address::Null))
            {
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
            shape,
            copy: CopyPlan {
                buffer_size: flags.buffer_size,
                limit: flags.limit,
                rate_limit: flags.rate_limit,
                rate_limit_per_connection: flags.rate_limit_per_connection,
                idle_timeout: flags.idle_timeout,
                linger: flags.linger,
                append: flags.append,
                zero_copy: flags.zero_copy.into(),
            },
            max_connections: cli.serve.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS) as usize,
            output: cli.output,
            warnings,
        })
    }

    /// Whether both directions move: a relay, or each connection of a server.
    pub fn two_way(&self) -> bool {
        self.shape != Shape::OneWay
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
        let mut copier = Copier::new()
            .progress(progress.clone())
            .stop_on(stop.clone());
        copier = match self.buffer_size {
            Some(size) => copier.buffer_size(size),
            None => copier.adaptive_buffer(ferry::DEFAULT_BUF_SIZE, MAX_BUF_SIZE),
        };
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
                Bytes(ferry::DEFAULT_BUF_SIZE as u64),
                Bytes(MAX_BUF_SIZE as u64)
            ),
        }
    }

    /// How long a socket ferry wrote to may be drained before it is closed
    /// (see [`closing`]).
    pub fn drain_for(&self) -> Duration {
        self.linger.unwrap_or(closing::AT_MOST)
    }
}

/// How many relays `--serve` runs at once unless `--max-connections` says.
const DEFAULT_MAX_CONNECTIONS: u32 = 1024;

/// The most a busy copy's adaptive buffer grows to. The library stops at
/// 256 KiB; a relay through 1 MiB buffers measured 1.1× to 1.15× faster
/// under iperf3 on loopback, and beat splice there. An idle copy gives its
/// buffer back either way.
const MAX_BUF_SIZE: usize = 1 << 20;
