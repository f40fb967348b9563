//! This replica's live outpost connections, and the fan-out to them from the bus.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::ws::Utf8Bytes;
use garrison_bus::{Message, RecvError, Topic};
use garrison_services::Services;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::protocol::Frame;
use crate::Metrics;

/// Frames waiting for one connection. A connection whose queue is full is behind by this many
/// frames (it stopped reading): it is disconnected rather than slowing anyone else down.
const QUEUE: usize = 64;

/// What the writer of one connection sends next.
#[derive(Clone, Debug)]
pub(crate) enum Outbound {
    /// An encoded frame (encoded once for every recipient).
    Text(Utf8Bytes),
    /// Close with this code and reason.
    Close(u16, &'static str),
}

pub(crate) struct Registration {
    pub id: u64,
    pub outbound: mpsc::Receiver<Outbound>,
    /// Flips to true when the hub drops the connection (queue full, token rotated).
    pub dropped: watch::Receiver<bool>,
    pub sender: mpsc::Sender<Outbound>,
}

struct Connection {
    sender: mpsc::Sender<Outbound>,
    drop: watch::Sender<bool>,
}

#[derive(Default)]
struct Inner {
    by_outpost: RwLock<HashMap<Uuid, HashMap<u64, Connection>>>,
    next_id: AtomicU64,
}

/// The connections of this replica. Cheap to clone.
#[derive(Clone)]
pub struct OutpostHub {
    inner: Arc<Inner>,
    metrics: Metrics,
}

impl OutpostHub {
    /// A hub that follows the bus: what the services announce after a commit reaches the
    /// instances connected here.
    pub fn start(services: &Services, metrics: Metrics) -> Self {
        let hub = Self {
            inner: Arc::default(),
            metrics,
        };
        let weak = Arc::downgrade(&hub.inner);
        let metrics = hub.metrics.clone();
        let bus = services.bus().clone();
        tokio::spawn(async move {
            let mut messages = match bus.subscribe(Topic::Outposts).await {
                Ok(messages) => messages,
                Err(error) => {
                    tracing::error!(%error, "outpost channel cannot follow changes; instances will only see them at their interval refresh");
                    return;
                }
            };
            loop {
                let received = messages.recv().await;
                let Some(inner) = weak.upgrade() else { return };
                let hub = OutpostHub {
                    inner,
                    metrics: metrics.clone(),
                };
                match received {
                    Ok(envelope) => hub.deliver(&envelope.message),
                    // Some changes were missed: every instance refetches.
                    Err(RecvError::Lagged(_)) => hub.broadcast(&Frame::trigger_update()),
                    Err(RecvError::Closed) => return,
                }
            }
        });
        hub
    }

    fn deliver(&self, message: &Message) {
        match message {
            Message::OutpostChanged { outpost } => {
                self.send_to_outpost(*outpost, &Frame::trigger_update())
            }
            Message::OutpostTokenRotated { outpost } => self.close_outpost(*outpost),
            Message::SessionEnded { session_id } => self.broadcast(&Frame::session_end(session_id)),
            _ => {}
        }
    }

    pub(crate) fn register(&self, outpost: Uuid) -> Registration {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, outbound) = mpsc::channel(QUEUE);
        let (drop, dropped) = watch::channel(false);
        self.inner
            .by_outpost
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(outpost)
            .or_default()
            .insert(
                id,
                Connection {
                    sender: sender.clone(),
                    drop,
                },
            );
        Registration {
            id,
            outbound,
            dropped,
            sender,
        }
    }

    pub(crate) fn unregister(&self, outpost: Uuid, id: u64) {
        let mut map = self
            .inner
            .by_outpost
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(connections) = map.get_mut(&outpost) {
            connections.remove(&id);
            if connections.is_empty() {
                map.remove(&outpost);
            }
        }
    }

    /// How many instances of `outpost` are connected to this replica.
    pub fn connected(&self, outpost: Uuid) -> usize {
        self.inner
            .by_outpost
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&outpost)
            .map_or(0, HashMap::len)
    }

    /// Queues `text` for one connection; a full queue drops the connection.
    fn offer(&self, connection: &Connection, text: &Utf8Bytes) {
        match connection.sender.try_send(Outbound::Text(text.clone())) {
            Ok(()) => self.metrics.outpost_frame_sent(),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.metrics.outpost_connection_dropped("queue_full");
                let _ = connection.drop.send(true);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    pub fn send_to_outpost(&self, outpost: Uuid, frame: &Frame) {
        let text = Utf8Bytes::from(frame.encode());
        let map = self
            .inner
            .by_outpost
            .read()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(connections) = map.get(&outpost) {
            for connection in connections.values() {
                self.offer(connection, &text);
            }
        }
    }

    fn broadcast(&self, frame: &Frame) {
        let text = Utf8Bytes::from(frame.encode());
        let map = self
            .inner
            .by_outpost
            .read()
            .unwrap_or_else(|p| p.into_inner());
        for connection in map.values().flat_map(HashMap::values) {
            self.offer(connection, &text);
        }
    }

    /// Tells every instance of `outpost` to reconnect (its token changed).
    fn close_outpost(&self, outpost: Uuid) {
        let map = self
            .inner
            .by_outpost
            .read()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(connections) = map.get(&outpost) {
            for connection in connections.values() {
                if connection
                    .sender
                    .try_send(Outbound::Close(
                        4001,
                        "token rotated; reconnect with the new token",
                    ))
                    .is_err()
                {
                    let _ = connection.drop.send(true);
                }
            }
        }
    }
}
