//! Shared helpers of the zero-copy tests: a deterministic byte pattern,
//! senders and checkers of it, temp dirs that clean up, loopback pairs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The pattern repeats every `PERIOD` bytes, a prime, so it never lines up
/// with pipe, page or chunk sizes: a byte dropped or repeated anywhere shows.
pub const PERIOD: usize = (1 << 20) + 7;

pub const PIPE: u64 = ferry_io::zero_copy::DEFAULT_PIPE_SIZE as u64;

/// Sizes every pair is tried with: empty, one byte, odd, exactly the pipe,
/// larger than the pipe.
pub const SIZES: [u64; 6] = [0, 1, 4095, 65_537, PIPE, 3 * PIPE + 17];

/// The big size: 256 MiB.
pub const BIG: u64 = 256 << 20;

fn pattern() -> &'static [u8] {
    static PATTERN: OnceLock<Vec<u8>> = OnceLock::new();
    PATTERN.get_or_init(|| {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let once: Vec<u8> = (0..PERIOD)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        // Twice over, so any slice of up to PERIOD bytes is contiguous.
        once.repeat(2)
    })
}

/// The pattern's bytes `offset..offset + len` (len <= PERIOD).
pub fn slice(offset: u64, len: usize) -> &'static [u8] {
    let start = (offset % PERIOD as u64) as usize;
    &pattern()[start..start + len]
}

/// FNV-1a over the pattern's first `len` bytes, computed chunkwise.
pub fn expected_hash(len: u64) -> u64 {
    let mut hash = Fnv::default();
    let mut at = 0;
    while at < len {
        let n = (len - at).min(PERIOD as u64) as usize;
        hash.update(slice(at, n));
        at += n as u64;
    }
    hash.0
}

#[derive(Clone, Copy)]
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn update(&mut self, bytes: &[u8]) {
        // Eight bytes per step keeps 256 MiB under a second unoptimized-ish.
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().unwrap());
            self.0 = (self.0 ^ word).wrapping_mul(0x0100_0000_01b3);
        }
        for byte in chunks.remainder() {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// What arrived: exact count and hash. Compare with [`Received::expect`].
#[derive(Debug, PartialEq, Eq)]
pub struct Received {
    pub bytes: u64,
    pub hash: u64,
}

impl Received {
    pub fn expect(len: u64) -> Self {
        Received {
            bytes: len,
            hash: expected_hash(len),
        }
    }
}

/// Hashes bytes as they come; chunk boundaries do not change the hash
/// because the hash is fed in the same 8-byte words only when aligned, so
/// we buffer to keep the word alignment.
#[derive(Default)]
pub struct Hasher {
    hash: Fnv,
    carry: Vec<u8>,
    bytes: u64,
    /// Where the next PERIOD-sized block starts, to mirror expected_hash.
    in_block: usize,
}

impl Hasher {
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        // Feed in the same blocks expected_hash uses, so the words line up.
        while !bytes.is_empty() {
            let room = PERIOD - self.in_block - self.carry.len();
            let take = room.min(bytes.len());
            self.carry.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            let whole = self.carry.len() / 8 * 8;
            let block_done = self.in_block + self.carry.len() == PERIOD;
            let feed = if block_done { self.carry.len() } else { whole };
            self.hash.update(&self.carry[..feed]);
            self.carry.drain(..feed);
            self.in_block += feed;
            if block_done {
                self.in_block = 0;
            }
        }
    }

    pub fn finish(mut self) -> Received {
        let carry = std::mem::take(&mut self.carry);
        self.hash.update(&carry);
        Received {
            bytes: self.bytes,
            hash: self.hash.0,
        }
    }
}

/// Writes `len` pattern bytes to `writer` in 256 KiB chunks, then shuts it
/// down and drops it (a pipe's write end closes only when dropped).
pub async fn send<W: AsyncWrite + Unpin>(mut writer: W, len: u64) -> std::io::Result<()> {
    let mut at = 0;
    while at < len {
        let n = (len - at).min(256 * 1024) as usize;
        writer.write_all(slice(at, n)).await?;
        at += n as u64;
    }
    writer.shutdown().await
}

/// Reads `reader` to EOF, hashing.
pub async fn receive<R: AsyncRead + Unpin>(mut reader: R) -> std::io::Result<Received> {
    let mut hasher = Hasher::default();
    let mut buf = vec![0; 256 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(hasher.finish());
        }
        hasher.update(&buf[..n]);
    }
}

/// Hashes a file's contents.
pub fn hash_file(path: &Path) -> Received {
    use std::io::Read;
    let mut file = std::fs::File::open(path).unwrap();
    let mut hasher = Hasher::default();
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            return hasher.finish();
        }
        hasher.update(&buf[..n]);
    }
}

/// Writes a file of `len` pattern bytes.
pub fn write_file(path: &Path, len: u64) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let mut at = 0;
    while at < len {
        let n = (len - at).min(PERIOD as u64) as usize;
        file.write_all(slice(at, n)).unwrap();
        at += n as u64;
    }
}

/// A temp dir removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        Self::under(&std::env::temp_dir(), name)
    }

    pub fn under(base: &Path, name: &str) -> Self {
        let path = base.join(format!("ferry-zc-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A connected loopback TCP pair.
pub async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap());
    let (client, accepted) = tokio::join!(client, listener.accept());
    (client.unwrap(), accepted.unwrap().0)
}

/// Process CPU time (user + system) so far, from getrusage via /proc.
pub fn cpu_time() -> std::time::Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    // Fields 14 and 15 (utime, stime) are 11 and 12 after the command name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    std::time::Duration::from_millis(ticks * 10)
}

/// The pattern's bytes `offset..offset + len`, any length.
pub fn bytes(offset: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let n = (len - out.len()).min(PERIOD);
        out.extend_from_slice(slice(offset + out.len() as u64, n));
    }
    out
}
