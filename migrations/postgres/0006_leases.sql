-- Leases: which replica may do a piece of scheduled work (blueprint discovery, cleanup and the
-- watcher's applies) right now. A lease is taken when it is free, expired or already held by
-- the same replica, in one statement, so two replicas never both hold it. `holder` is the
-- replica's id (its name on the bus); `expires` is a fixed-width RFC 3339 timestamp like every
-- other, so text order is time order.

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires TEXT NOT NULL
);
