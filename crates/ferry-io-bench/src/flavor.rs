//! `Flavor`: the tokio runtime the copies, clients and backends run on.

use std::io;

use serde::{Deserialize, Serialize};

/// The tokio runtime the copies run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flavor {
    /// A multi-thread runtime with this many workers.
    MultiThread {
        /// Worker threads.
        workers: usize,
    },
    /// A current-thread runtime: the copy shares its thread with every other task.
    CurrentThread,
}

impl Default for Flavor {
    /// A multi-thread runtime with 2 workers.
    fn default() -> Self {
        Flavor::MultiThread { workers: 2 }
    }
}

impl Flavor {
    /// A runtime of this flavor with I/O and time enabled.
    pub(crate) fn build(self) -> io::Result<tokio::runtime::Runtime> {
        let mut builder = match self {
            Flavor::MultiThread { workers } => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(workers.max(1));
                builder
            }
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        };
        builder.enable_all().build()
    }
}
