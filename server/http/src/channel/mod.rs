//! The outpost channel: authentik's websocket at `/ws/outpost/<uuid>/` (spec §4).
//!
//! An outpost instance connects with its bearer token, says HELLO every 10 s (its state is
//! kept in the shared cache with a 15 s expiry), and is sent TRIGGER_UPDATE whenever what it
//! sees changed and SESSION_END when a login session ends. Changes reach every replica's
//! instances through the bus: the services publish after commit, and each replica's
//! [`OutpostHub`] pushes to the instances connected to it. A slow or dead instance never holds
//! up the others: each has a small queue, and one that fills is disconnected (it reconnects
//! and refetches).
pub mod protocol;

mod hub;
mod socket;

pub use hub::OutpostHub;
pub use socket::outpost_socket;
