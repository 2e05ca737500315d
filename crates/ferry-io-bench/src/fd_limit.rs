//! `raise_fd_limit`: as many open files as this process may have.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Lifts the soft limit on open files to the hard one (the scaling scenario
/// holds two sockets per connection, and the usual soft limit is 1024) and
/// returns the limit now in force (`u64::MAX` for none).
pub fn raise_fd_limit() -> u64 {
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return limit.maximum.unwrap_or(u64::MAX);
        }
    }
    limit.current.unwrap_or(u64::MAX)
}
