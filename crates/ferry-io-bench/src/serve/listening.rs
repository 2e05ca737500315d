//! `listening_ports`: the TCP ports a process listens on, read from /proc.

use std::collections::HashSet;
use std::fs;
use std::io;

/// The TCP ports (IPv4 and IPv6) that process `pid` listens on: the socket
/// inodes among its open fds, looked up in its network namespace's socket
/// tables. So a relay told to listen on port 0 need not be asked which
/// port it got, and nothing has to connect to it to see that it is up.
///
/// # Errors
///
/// The process's fds cannot be read (it has exited, or is not ours).
///
/// # Examples
///
/// ```
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let port = listener.local_addr()?.port();
/// assert!(ferry_io_bench::listening_ports(std::process::id())?.contains(&port));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn listening_ports(pid: u32) -> io::Result<Vec<u16>> {
    let mut inodes = HashSet::new();
    for entry in fs::read_dir(format!("/proc/{pid}/fd"))? {
        // An fd closed while we look is simply not there.
        let Ok(target) = entry.and_then(|e| fs::read_link(e.path())) else {
            continue;
        };
        let inode = target
            .to_str()
            .and_then(|t| t.strip_prefix("socket:["))
            .and_then(|t| t.strip_suffix(']'))
            .and_then(|t| t.parse::<u64>().ok());
        inodes.extend(inode);
    }
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(&"0A"), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            if !inode
                .parse()
                .is_ok_and(|inode: u64| inodes.contains(&inode))
            {
                continue;
            }
            let port = local
                .rsplit(':')
                .next()
                .and_then(|hex| u16::from_str_radix(hex, 16).ok());
            ports.extend(port);
        }
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}
