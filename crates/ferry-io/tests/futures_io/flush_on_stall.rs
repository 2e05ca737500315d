//! A futures-io copy flushes a buffered writer whenever its reader stalls,
//! so a peer that answers only after seeing the bytes cannot deadlock it;
//! `futures::io::copy`, which flushes only at EOF, deadlocks on the same peer.

use std::net::Shutdown;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use smol::future::FutureExt as _;
use smol::net::unix::UnixStream;
use smol::Task;

use crate::support::run_smol;

const ROUNDS: u8 = 100;

/// What the copy reads from and writes to, and the peer on the other ends.
struct Exchange {
    reader: UnixStream,
    /// Holds every byte until flushed: only a flush on stall frees them.
    writer: BufWriter<UnixStream>,
    /// How many rounds the peer has seen echoed.
    rounds: Arc<AtomicU8>,
    peer: Task<()>,
}

/// The peer sends one byte, then waits to see it come back before sending the next.
fn exchange() -> Exchange {
    let (mut to_copy, reader) = UnixStream::pair().unwrap();
    let (writer, mut from_copy) = UnixStream::pair().unwrap();
    let rounds = Arc::new(AtomicU8::new(0));
    let seen = rounds.clone();
    let peer = smol::spawn(async move {
        for round in 0..ROUNDS {
            to_copy.write_all(&[round]).await.unwrap();
            let mut echoed = [0u8; 1];
            from_copy.read_exact(&mut echoed).await.unwrap();
            assert_eq!(echoed[0], round);
            seen.fetch_add(1, Ordering::Relaxed);
        }
        to_copy.shutdown(Shutdown::Write).unwrap();
    });
    Exchange {
        reader,
        writer: BufWriter::new(writer),
        rounds,
        peer,
    }
}

#[test]
fn copy_flushes_when_the_reader_waits_on_the_writer() {
    let Exchange {
        mut reader,
        mut writer,
        rounds,
        peer,
    } = exchange();
    run_smol(async {
        let copied = ferry_io::futures::copy(&mut reader, &mut writer)
            .await
            .unwrap();
        assert_eq!(copied, u64::from(ROUNDS));
        peer.await;
    });
    assert_eq!(rounds.load(Ordering::Relaxed), ROUNDS);
}

#[test]
fn copy_buf_flushes_when_the_reader_waits_on_the_writer() {
    let Exchange {
        reader,
        mut writer,
        rounds,
        peer,
    } = exchange();
    let mut reader = BufReader::new(reader);
    run_smol(async {
        let copied = ferry_io::futures::copy_buf(&mut reader, &mut writer)
            .await
            .unwrap();
        assert_eq!(copied, u64::from(ROUNDS));
        peer.await;
    });
    assert_eq!(rounds.load(Ordering::Relaxed), ROUNDS);
}

/// The comparison the tests above make, kept honest: the same peer, the
/// same `BufWriter`, and `futures::io::copy` never gets past the first round.
#[test]
fn futures_io_copy_deadlocks_on_the_same_peer() {
    let Exchange {
        mut reader,
        mut writer,
        rounds,
        peer,
    } = exchange();
    let finished = run_smol(async {
        let copy = async { Some(futures::io::copy(&mut reader, &mut writer).await) };
        let deadline = async {
            smol::Timer::after(Duration::from_millis(500)).await;
            None
        };
        copy.or(deadline).await
    });
    assert!(
        finished.is_none(),
        "futures::io::copy finished: {finished:?}"
    );
    assert_eq!(rounds.load(Ordering::Relaxed), 0);
    drop(peer);
}
