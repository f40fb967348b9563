-- SHA-256 over everything an outpost fetches, as of its last permission rebuild: instances
-- report the hash they hold, so one running an outdated configuration shows. Empty until the
-- outpost next changes.
ALTER TABLE outposts ADD COLUMN config_hash TEXT NOT NULL DEFAULT '';
