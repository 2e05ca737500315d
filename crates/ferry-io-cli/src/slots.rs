//! The relay server's two pools of slots: connections still in their
//! handshake phase (sending their PROXY header, shaking hands for TLS)
//! take one of `--max-handshakes`, relays one of `--max-connections`. A
//! client slow to begin holds a handshake slot only, so it can delay other
//! clients slow to begin, never one that is ready to be relayed.
//!
//! A slot is taken right after `accept`, before the connection gets a
//! task: beyond a pool's size each accepting thread holds one connection
//! waiting for a slot and the rest wait in the listen backlog, rather than
//! pile up as tasks. (Taken before `accept`, a slot would sit idle with a
//! thread whose listener gets no connection while another thread's
//! connections wait.) A connection whose handshake is over waits for a
//! relay slot holding its handshake slot, so the connections waiting
//! inside ferry stay bounded too.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The pools of one server.
#[derive(Debug)]
pub struct Slots {
    /// None when connections have no handshake phase: they are relays
    /// from their accept.
    handshakes: Option<Arc<Semaphore>>,
    relays: Arc<Semaphore>,
}

/// A connection's place in one of the pools, given back on drop.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    relaying: bool,
}

impl Slots {
    /// `relays` relay slots and, when connections begin with a handshake,
    /// `handshakes` slots for that phase.
    pub fn new(relays: usize, handshakes: Option<usize>) -> Slots {
        Slots {
            handshakes: handshakes.map(|size| Arc::new(Semaphore::new(size))),
            relays: Arc::new(Semaphore::new(relays)),
        }
    }

    /// Waits for the slot a connection just accepted needs: a handshake
    /// slot when connections begin with a handshake, a relay slot
    /// otherwise. `None` once the pools are closed (they never are while
    /// the server runs).
    pub async fn after_accept(&self) -> Option<Slot> {
        match &self.handshakes {
            Some(handshakes) => take(handshakes, false).await,
            None => take(&self.relays, true).await,
        }
    }

    /// The relay slot of a connection whose handshake is over, for `slot`:
    /// waits for a free one, then gives the handshake slot back.
    pub async fn relay(&self, slot: Slot) -> Option<Slot> {
        if slot.relaying {
            return Some(slot);
        }
        let relay = take(&self.relays, true).await;
        drop(slot);
        relay
    }
}

async fn take(pool: &Arc<Semaphore>, relaying: bool) -> Option<Slot> {
    let permit = pool.clone().acquire_owned().await.ok()?;
    Some(Slot {
        _permit: permit,
        relaying,
    })
}
