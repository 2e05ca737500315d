//! The fuzz targets' cases, replayed in the test suite: every file of the
//! committed corpus (`fuzz/corpus/<target>/`), then a few hundred seeded
//! random inputs, each checked by the fuzz harness (`fuzz_harness/`).
//!
//! A failure names the corpus file or the seed, what broke, and the case.
//! To fuzz further, see `scripts/fuzz`.

mod fuzz_harness;

use std::collections::VecDeque;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

/// Random inputs per target, on top of the corpus.
const RANDOM_CASES: u64 = 300;

type Target = fn(&[u8]) -> Result<(), String>;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("corpus {}: {err}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("read corpus file");
            (path.display().to_string(), bytes)
        })
        .collect()
}

/// Bytes from a seeded xorshift, 0 to 600 of them: enough for a header and
/// a few dozen steps per end. For even seeds every byte is below
/// [`fuzz_harness::input::ENDING_TAGS`], so no step fails (only a byte
/// offset can) and most of those copies run to their end.
fn random_input(seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let len = (next() % 601) as usize;
    let calm = seed % 2 == 0;
    (0..len)
        .map(|_| match calm {
            true => (next() % u64::from(fuzz_harness::input::ENDING_TAGS)) as u8,
            false => next() as u8,
        })
        .collect()
}

/// Runs `target` on each input and fails with every case that broke.
fn replay(target: Target, inputs: impl IntoIterator<Item = (String, Vec<u8>)>) {
    let mut failures = Vec::new();
    let mut count = 0;
    for (name, bytes) in inputs {
        count += 1;
        let outcome = catch_unwind(AssertUnwindSafe(|| target(&bytes)))
            .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(&panic))));
        if let Err(why) = outcome {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases broke an invariant:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn random(target: &str) -> impl Iterator<Item = (String, Vec<u8>)> + '_ {
    (0..RANDOM_CASES).map(move |seed| (format!("{target} seed {seed}"), random_input(seed)))
}

#[test]
fn engine_corpus_keeps_the_invariants() {
    replay(fuzz_harness::run_engine, corpus("engine"));
}

#[test]
fn engine_random_scripts_keep_the_invariants() {
    replay(fuzz_harness::run_engine, random("engine"));
}

#[test]
fn copy_buf_corpus_keeps_the_invariants() {
    replay(fuzz_harness::run_copy_buf, corpus("copy_buf"));
}

#[test]
fn copy_buf_random_scripts_keep_the_invariants() {
    replay(fuzz_harness::run_copy_buf, random("copy_buf"));
}

#[test]
fn relay_corpus_keeps_the_invariants() {
    replay(fuzz_harness::run_relay, corpus("relay"));
}

#[test]
fn relay_random_scripts_keep_the_invariants() {
    replay(fuzz_harness::run_relay, random("relay"));
}

/// A buffered reader that hands out its chunks in order, an empty chunk
/// being an EOF, and the same chunk until it is consumed.
struct Chunks(VecDeque<Vec<u8>>);

impl AsyncRead for Chunks {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        unreachable!("copy_buf reads through poll_fill_buf")
    }
}

impl AsyncBufRead for Chunks {
    fn poll_fill_buf(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let me = self.get_mut();
        if me.0.front().is_some_and(Vec::is_empty) {
            // Hand out the EOF once, then whatever comes after it.
            me.0.pop_front();
            return Poll::Ready(Ok(&[]));
        }
        Poll::Ready(Ok(me.0.front().map_or(&[][..], Vec::as_slice)))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let me = self.get_mut();
        if let Some(chunk) = me.0.front_mut() {
            chunk.drain(..amt);
            if chunk.is_empty() {
                me.0.pop_front();
            }
        }
    }
}

/// A writer whose first flush is `Pending` (after waking the task).
#[derive(Default)]
struct SlowFirstFlush {
    data: Vec<u8>,
    flushes: usize,
}

impl AsyncWrite for SlowFirstFlush {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().data.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        me.flushes += 1;
        if me.flushes == 1 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Found by the `copy_buf` fuzz target (once a bug, now a regression test). When the flush that follows the
/// reader's EOF returns `Pending`, the next poll of `copy_buf` calls
/// `poll_fill_buf` again instead of only finishing the flush: bytes a reader
/// produces after its EOF (a terminal after Ctrl-D, a file that grows) are
/// copied and counted as part of this copy, and a reader that blocks after
/// its EOF holds up a copy that had only its flush left. `copy` does not do
/// this: its engine remembers the EOF. Fixed: the `copy_buf` loop now
/// remembers it too.
#[tokio::test]
async fn copy_buf_does_not_read_past_eof() {
    let chunks = [b"abc".to_vec(), Vec::new(), b"late".to_vec()];
    let mut reader = Chunks(chunks.into_iter().collect());
    let mut writer = SlowFirstFlush::default();
    let copied = ferry_io::copy_buf(&mut reader, &mut writer).await.unwrap();
    assert_eq!(
        (copied, writer.data.as_slice()),
        (3, &b"abc"[..]),
        "copy_buf went on past the EOF"
    );
}
