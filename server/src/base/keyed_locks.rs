//! One async lock per key (an order number), created on demand and dropped when no one
//! holds or waits for it: concurrent requests about one order take turns, requests about
//! different orders never wait for each other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Debug, Default)]
pub struct KeyedLocks {
    locks: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

/// A held turn for one key; dropping it lets the next waiter in.
#[derive(Debug)]
pub struct KeyedTurn<'a> {
    owner: &'a KeyedLocks,
    key: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl KeyedLocks {
    pub async fn lock(&self, key: &str) -> KeyedTurn<'_> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(locks.entry(key.to_owned()).or_default())
        };
        KeyedTurn {
            owner: self,
            key: key.to_owned(),
            guard: Some(lock.lock_owned().await),
        }
    }

    /// How many keys have a lock right now (tests: none are left behind).
    pub fn len(&self) -> usize {
        self.locks.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for KeyedTurn<'_> {
    fn drop(&mut self) {
        let mut locks = self.owner.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Released under the map's lock, so no one can pick up the entry in between.
        drop(self.guard.take());
        // The map's reference is the only one left: no holder and no waiter.
        if locks
            .get(&self.key)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            locks.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_holder_per_key_and_nothing_left_behind() {
        let locks = Arc::new(KeyedLocks::default());
        let first = locks.lock("a").await;
        // Another key is not blocked.
        drop(locks.lock("b").await);
        let waiter = {
            let locks = Arc::clone(&locks);
            tokio::spawn(async move {
                let _turn = locks.lock("a").await;
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "the second turn waits for the first");
        drop(first);
        waiter.await.unwrap_or_default();
        assert!(locks.is_empty());
    }
}
