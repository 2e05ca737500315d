//! Idle relayed connections hold (almost) no buffer memory: buffers are
//! allocated on the first byte and given back after a direction goes idle.
//! Measured with a counting global allocator against tokio's relay.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as for `dealloc` and `alloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CONNECTIONS: usize = 10_000;

type Relay = fn(DuplexStream, DuplexStream) -> Pin<Box<dyn Future<Output = ()>>>;

fn tokio_relay(mut a: DuplexStream, mut b: DuplexStream) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
    })
}

fn ferry_relay(mut a: DuplexStream, mut b: DuplexStream) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        let _ = ferry_io::copy_bidirectional(&mut a, &mut b).await;
    })
}

fn copier_relay(mut a: DuplexStream, mut b: DuplexStream) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        let _ = ferry_io::Copier::new().bidirectional(&mut a, &mut b).await;
    })
}

/// Bytes held per connection by `CONNECTIONS` relays, when idle from the
/// start and when idle after one byte each way (and two seconds of quiet).
fn held_per_connection(relay: Relay) -> (isize, isize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let mut peers = Vec::with_capacity(CONNECTIONS);
        let mut relays = Vec::with_capacity(CONNECTIONS);
        let mut ends = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let (client, a) = tokio::io::duplex(64);
            let (b, server) = tokio::io::duplex(64);
            peers.push((client, server));
            ends.push((a, b));
        }
        let before = LIVE.load(Ordering::Relaxed);
        for (a, b) in ends {
            relays.push(tokio::task::spawn_local(relay(a, b)));
        }
        // Let every relay run until it waits on its idle ends.
        tokio::time::sleep(Duration::from_millis(1)).await;
        let idle_from_start = LIVE.load(Ordering::Relaxed) - before;

        for (client, server) in &mut peers {
            client.write_all(b"?").await.unwrap();
            server.write_all(b"!").await.unwrap();
            let mut byte = [0; 1];
            server.read_exact(&mut byte).await.unwrap();
            client.read_exact(&mut byte).await.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle_after_use = LIVE.load(Ordering::Relaxed) - before;

        for relay in relays {
            relay.abort();
        }
        drop(peers);
        let per = |bytes: isize| bytes / CONNECTIONS as isize;
        (per(idle_from_start), per(idle_after_use))
    })
}

#[test]
fn idle_relays_hold_a_tenth_of_tokios_buffer_memory_or_less() {
    let tokio = held_per_connection(tokio_relay);
    let plain = held_per_connection(ferry_relay);
    let copier = held_per_connection(copier_relay);
    eprintln!("bytes per idle connection (from start, after use): tokio {tokio:?}, ferry_io::copy_bidirectional {plain:?}, Copier {copier:?}");
    // tokio holds two 8 KiB buffers per connection from the first poll on.
    let tokio_buffers = 2 * 8 * 1024;
    assert!(
        tokio.0 >= tokio_buffers,
        "tokio held only {} bytes",
        tokio.0
    );
    // Everything ferry holds, buffers and all, stays under a tenth of that.
    let bound = tokio_buffers / 10;
    assert!(
        plain.0 <= bound,
        "ferry_io::copy_bidirectional held {} bytes from the start",
        plain.0
    );
    assert!(
        copier.0 <= bound,
        "Copier held {} bytes from the start",
        copier.0
    );
    assert!(
        copier.1 <= bound,
        "Copier held {} bytes after going idle",
        copier.1
    );
}
