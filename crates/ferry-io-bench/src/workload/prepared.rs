//! `Prepared`: a workload with its shared allocations, ready to run once per
//! implementation and round.

use std::fmt;
use std::io;
use std::sync::Arc;

use super::source_file::SourceFile;
use super::{
    duplex, file_file, file_tcp, mem_fill, mem_pattern, ping_pong, slice_vec, tcp_recv, tcp_relay,
    unix_recv, Workload,
};
use crate::ends::pattern;
use crate::{Implementation, Measurement};

/// A workload ready to run: what all its runs share is allocated here once,
/// never inside a timed part.
pub struct Prepared {
    workload: Workload,
    amount: u64,
    state: State,
}

enum State {
    Nothing,
    Pattern(Arc<[u8]>),
    Slice {
        source: Arc<[u8]>,
        /// Taken by a run and handed back when it ends.
        destination: Option<Vec<u8>>,
    },
    File {
        source: Arc<SourceFile>,
        /// The implementations whose copy has had its content checked.
        checked: Vec<Implementation>,
    },
}

impl Prepared {
    pub(super) fn new(workload: Workload, amount: u64) -> io::Result<Prepared> {
        let state = match workload {
            Workload::MemPattern => State::Pattern(pattern()),
            Workload::SliceVec => {
                let len = usize::try_from(amount).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{amount} bytes do not fit in memory"),
                    )
                })?;
                State::Slice {
                    source: slice_vec::source(len),
                    destination: Some(slice_vec::destination(len)),
                }
            }
            Workload::FileFile | Workload::FileTcp => State::File {
                source: Arc::new(SourceFile::create(amount)?),
                checked: Vec::new(),
            },
            _ => State::Nothing,
        };
        Ok(Prepared {
            workload,
            amount,
            state,
        })
    }

    /// The workload this runs.
    pub fn workload(&self) -> Workload {
        self.workload
    }

    /// Bytes per run, or round trips for [`Workload::PingPong`].
    pub fn amount(&self) -> u64 {
        self.amount
    }

    /// Runs the workload once with `imp`, as a task of the current runtime
    /// (so on a worker thread of a multi-thread runtime), and returns what
    /// was measured.
    ///
    /// The file workloads check each implementation's content once, by
    /// hash, on its first run: file-file after the timed part, file-tcp in
    /// an untimed run of its own before it (hashing on the receiving side
    /// would slow the copy down).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::Unsupported`] if `imp` does not apply to this
    /// workload; [`io::ErrorKind::InvalidData`] if the wrong amount (or
    /// content, where it is checked) arrived; any I/O error of the run.
    ///
    /// # Panics
    ///
    /// Panics outside a tokio runtime.
    pub async fn run(&mut self, imp: Implementation) -> io::Result<Measurement> {
        if !self.workload.supports(imp) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{imp} does not apply to {}", self.workload),
            ));
        }
        let (workload, amount) = (self.workload, self.amount);
        match &mut self.state {
            State::Slice {
                source,
                destination,
            } => {
                let taken = destination.take().ok_or_else(|| {
                    io::Error::other("an earlier run failed and kept the destination")
                })?;
                let (measured, back) = spawn(slice_vec::run(imp, source.clone(), taken)).await?;
                *destination = Some(back);
                Ok(measured)
            }
            State::Pattern(pattern) => spawn(mem_pattern::run(imp, pattern.clone(), amount)).await,
            State::File { source, checked } => {
                let first = !checked.contains(&imp);
                let measured = if workload == Workload::FileTcp {
                    if first {
                        spawn(file_tcp::check(imp, source.clone())).await?;
                    }
                    spawn(file_tcp::run(imp, source.clone())).await?
                } else {
                    spawn(file_file::run(imp, source.clone(), first)).await?
                };
                if first {
                    checked.push(imp);
                }
                Ok(measured)
            }
            State::Nothing => match workload {
                Workload::MemFill => spawn(mem_fill::run(imp, amount)).await,
                Workload::Duplex => spawn(duplex::run(imp, amount)).await,
                Workload::UnixRecv => spawn(unix_recv::run(imp, amount)).await,
                Workload::TcpRecv => spawn(tcp_recv::run(imp, amount)).await,
                Workload::TcpRelay => spawn(tcp_relay::run(imp, amount)).await,
                Workload::PingPong => spawn(ping_pong::run(imp, amount)).await,
                Workload::MemPattern
                | Workload::SliceVec
                | Workload::FileFile
                | Workload::FileTcp => Err(io::Error::other(format!(
                    "{workload} was prepared without its buffers"
                ))),
            },
        }
    }
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepared")
            .field("workload", &self.workload)
            .field("amount", &self.amount)
            .finish_non_exhaustive()
    }
}

/// Runs `run` as its own task, where a copy in an application would run.
async fn spawn<T: Send + 'static>(
    run: impl std::future::Future<Output = io::Result<T>> + Send + 'static,
) -> io::Result<T> {
    tokio::spawn(run).await.map_err(io::Error::other)?
}
