//! A `MemoryBudget` bounds what grown buffers hold across copies: growth
//! stops when it is spent, copies go on, and every byte comes back.

use std::future::poll_fn;
use std::pin::Pin;

use ferry_io::{Copier, CopyBuffer, MemoryBudget};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

/// Sends `total` bytes into a Unix socket pair and copies them out with
/// `engine`; returns the engine and the bytes copied.
async fn copy_from_a_socket(mut engine: CopyBuffer, total: usize) -> (CopyBuffer, u64) {
    let (mut tx, mut rx) = UnixStream::pair().unwrap();
    let sending = tokio::spawn(async move {
        let chunk = vec![9u8; 1 << 20];
        for _ in 0..total >> 20 {
            tx.write_all(&chunk).await.unwrap();
        }
    });
    let mut sink = tokio::io::sink();
    let copied = poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut rx), Pin::new(&mut sink)))
        .await
        .unwrap();
    sending.await.unwrap();
    (engine, copied)
}

#[tokio::test]
async fn a_spent_budget_stops_growth_not_the_copy() {
    let budget = MemoryBudget::new(0);
    let engine = CopyBuffer::new().memory_budget(budget.clone());
    let (engine, copied) = copy_from_a_socket(engine, 16 << 20).await;
    assert_eq!(copied, 16 << 20);
    assert_eq!(engine.capacity(), ferry_io::DEFAULT_BUF_SIZE);
    assert_eq!(budget.used(), 0);
}

#[tokio::test]
async fn growth_takes_from_the_budget_and_gives_back() {
    let budget = MemoryBudget::new(1 << 20);
    let engine = CopyBuffer::new().memory_budget(budget.clone());
    let (mut engine, copied) = copy_from_a_socket(engine, 16 << 20).await;
    assert_eq!(copied, 16 << 20);
    let grown = engine.capacity();
    assert!(grown > ferry_io::DEFAULT_BUF_SIZE, "the buffer never grew");
    assert_eq!(budget.used(), grown - ferry_io::DEFAULT_BUF_SIZE);
    assert!(engine.release());
    assert_eq!(budget.used(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_sharing_a_budget_never_hold_more_than_it() {
    const LIMIT: usize = 512 * 1024;
    let budget = MemoryBudget::new(LIMIT);
    let copier = Copier::new().memory_budget(budget.clone());
    let mut copies = Vec::new();
    for _ in 0..8 {
        let copier = copier.clone();
        copies.push(tokio::spawn(async move {
            let (mut tx, mut rx) = UnixStream::pair().unwrap();
            let sending = tokio::spawn(async move {
                let chunk = vec![3u8; 1 << 20];
                for _ in 0..16 {
                    tx.write_all(&chunk).await.unwrap();
                }
            });
            let copied = copier.copy(&mut rx, &mut tokio::io::sink()).await.unwrap();
            sending.await.unwrap();
            copied
        }));
    }
    let mut most = 0;
    while copies.iter().any(|copy| !copy.is_finished()) {
        most = most.max(budget.used());
        assert!(budget.used() <= LIMIT);
        tokio::task::yield_now().await;
    }
    for copy in copies {
        assert_eq!(copy.await.unwrap(), 16 << 20);
    }
    assert!(most > 0, "no buffer ever grew");
    assert_eq!(budget.used(), 0, "a finished copy holds nothing");
}
