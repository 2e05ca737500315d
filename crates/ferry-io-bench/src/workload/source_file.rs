//! `SourceFile`: the file the file workloads copy from, written once per
//! workload into a temporary directory, and the hash its copies must match.

use std::fs::File;
use std::hash::{DefaultHasher, Hasher};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::ends::{pattern, PATTERN_LEN};

/// A file of known content and hash in a temporary directory (removed on
/// drop), with room beside it for the copy.
#[derive(Debug)]
pub(super) struct SourceFile {
    dir: tempfile::TempDir,
    path: PathBuf,
    len: u64,
    hash: u64,
}

impl SourceFile {
    /// Writes `len` bytes: the pattern, each [`PATTERN_LEN`] block stamped
    /// with its index, so a copy that drops, repeats or reorders blocks
    /// changes the hash. Writing leaves the file in the page cache, where
    /// the workloads mean to read it from.
    pub(super) fn create(len: u64) -> io::Result<SourceFile> {
        let dir = tempfile::Builder::new()
            .prefix("ferry-io-bench-")
            .tempdir()?;
        let path = dir.path().join("source");
        let mut file = io::BufWriter::new(File::create(&path)?);
        let mut hash = StreamHash::new();
        let mut block = pattern().to_vec();
        let mut left = len;
        let mut index = 0u64;
        while left > 0 {
            block[..8].copy_from_slice(&index.to_le_bytes());
            let n = left.min(PATTERN_LEN as u64) as usize;
            file.write_all(&block[..n])?;
            hash.update(&block[..n]);
            left -= n as u64;
            index += 1;
        }
        file.into_inner().map_err(io::IntoInnerError::into_error)?;
        Ok(SourceFile {
            dir,
            path,
            len,
            hash: hash.finish(),
        })
    }

    /// Where the file is.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Where a copy of it goes: beside it, in the same file system.
    pub(super) fn destination(&self) -> PathBuf {
        self.dir.path().join("copy")
    }

    /// Its length in bytes.
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// The [`StreamHash`] of its content.
    pub(super) fn hash(&self) -> u64 {
        self.hash
    }
}

/// A hash of a byte stream that does not depend on how the stream was cut
/// into pieces (SipHash's streaming `write`).
#[derive(Debug, Default)]
pub(super) struct StreamHash(DefaultHasher);

impl StreamHash {
    pub(super) fn new() -> StreamHash {
        StreamHash::default()
    }

    pub(super) fn update(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }

    pub(super) fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// The length and [`StreamHash`] of the file at `path` (blocking).
pub(super) fn hash_file(path: &Path) -> io::Result<(u64, u64)> {
    let mut file = File::open(path)?;
    let mut hash = StreamHash::new();
    let mut buf = vec![0u8; PATTERN_LEN];
    let mut len = 0;
    loop {
        match file.read(&mut buf)? {
            0 => return Ok((len, hash.finish())),
            n => {
                hash.update(&buf[..n]);
                len += n as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_hashes_as_created_and_a_reordered_copy_does_not() {
        let len = 3 * PATTERN_LEN as u64 + 11;
        let source = SourceFile::create(len).expect("create");
        assert_eq!(
            hash_file(source.path()).expect("hash"),
            (len, source.hash())
        );

        // The same blocks, the first two swapped: same length, same bytes
        // but for the stamps, different hash.
        let bytes = std::fs::read(source.path()).expect("read");
        let mut swapped = bytes[PATTERN_LEN..2 * PATTERN_LEN].to_vec();
        swapped.extend_from_slice(&bytes[..PATTERN_LEN]);
        swapped.extend_from_slice(&bytes[2 * PATTERN_LEN..]);
        std::fs::write(source.destination(), &swapped).expect("write");
        let (copied_len, copied_hash) = hash_file(&source.destination()).expect("hash");
        assert_eq!(copied_len, len);
        assert_ne!(copied_hash, source.hash());
    }
}
