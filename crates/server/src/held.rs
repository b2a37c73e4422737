//! Places kept in queues for callers waiting for a callback (virtual hold), between the switch
//! and the store: what the switch reports is written by the notice writer
//! (`crate::notices`), and at start the places whose caller's callback task is still open are
//! given back to the switch, which puts the callers back in line ([`restore`]).

use std::time::{Instant, SystemTime};

use crossbar_store::{HeldPlace as StoredPlace, Store, StoreError};
use crossbar_switch::{HeldPlace, Switch};

/// The store's row for a place the switch kept.
pub fn stored(place: &HeldPlace) -> StoredPlace {
    StoredPlace {
        call: place.call.clone(),
        queue: place.queue.clone(),
        customer: place.customer.clone(),
        did: place.did.clone(),
        vip: place.vip,
        joined_at_ms: place.joined_at_ms,
    }
}

/// Puts back in line the callers the store holds places for (before the first call); returns
/// how many.
pub async fn restore(
    store: &Store,
    switch: &mut Switch,
    now: Instant,
    wall: SystemTime,
) -> Result<usize, StoreError> {
    let places = store
        .held_places()
        .await?
        .into_iter()
        .map(|place| HeldPlace {
            call: place.call,
            queue: place.queue,
            customer: place.customer,
            did: place.did,
            vip: place.vip,
            joined_at_ms: place.joined_at_ms,
        })
        .collect();
    Ok(switch.restore_held(now, wall, places))
}
