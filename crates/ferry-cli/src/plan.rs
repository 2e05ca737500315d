//! From what was typed to what will run: flags and addresses are checked
//! and converted here, once, into a [`Plan`]; nothing later re-checks a flag.

use std::time::Duration;

use ferry::zero_copy::ZeroCopyMode;
use ferry::{Copier, MemoryBudget, Progress, RateLimiter, StopSignal};

use crate::address::Address;
use crate::closing;
use crate::flags::{Cli, OutputFlags, ZeroCopy};
use crate::messages::{self, Failure};
use crate::units::Timeout;

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
        let serving = shape == Shape::Serve;
        if flags.zero_copy == ZeroCopy::Always {
            if let Some(address) = [&src, &dst]
                .into_iter()
                .find(|address| matches!(address, Address::Stdio | Address::Zero | Address::Null))
            {
                return Err(messages::zero_copy_always_refused(format!(
                    "with \"{address}\""
                )));
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
                buffer_memory: serving
                    .then(|| usize::try_from(cli.serve.max_buffer_memory).unwrap_or(usize::MAX)),
                append: flags.append,
                zero_copy: flags.zero_copy.into(),
            },
            max_connections: cli.serve.max_connections as usize,
            output: cli.output,
        })
    }

    /// Whether both directions move: a relay, or each connection of a server.
    pub fn two_way(&self) -> bool {
        self.shape != Shape::OneWay
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

    /// How long a socket ferry wrote to may be drained before it is closed
    /// (see [`closing`]).
    pub fn drain_for(&self) -> Duration {
        self.linger.unwrap_or(closing::AT_MOST)
    }
}

/// A server's idle timeout unless told otherwise, as nginx's `proxy_timeout`.
const SERVE_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// How long a single copy or relay may finish after the first signal.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a server's running relays may finish after the first signal.
const SERVE_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
