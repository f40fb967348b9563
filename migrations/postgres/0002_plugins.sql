-- The plugin registry: what is installed, from where, what the operator granted it, and
-- whether it runs. Components live in plugin_components, by digest, so listing never reads
-- them and two plugins built from the same bytes share one copy.
CREATE TABLE plugins (
    name TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    kind TEXT NOT NULL,
    wit_version TEXT NOT NULL,
    -- builtin | directory | upload | oci
    source TEXT NOT NULL,
    -- A path, an uploaded file's name, or an OCI reference pinned by digest.
    source_ref TEXT NOT NULL,
    digest TEXT NOT NULL,
    -- JSON arrays of capability strings (secret:NAME, outbound-http:ORIGIN, docker, kubernetes).
    requested TEXT NOT NULL,
    granted TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    deadline_ms BIGINT NOT NULL,
    memory_mib BIGINT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);

-- Uploaded and OCI components (built-in and directory plugins are read from their source).
CREATE TABLE plugin_components (
    digest TEXT PRIMARY KEY,
    bytes BYTEA NOT NULL
);

INSERT INTO permissions (app_label, model, codename, name) VALUES
    ('garrison_plugins', 'plugin', 'add_plugin', 'Can install Plugin'),
    ('garrison_plugins', 'plugin', 'change_plugin', 'Can grant, enable and disable Plugin'),
    ('garrison_plugins', 'plugin', 'delete_plugin', 'Can remove Plugin'),
    ('garrison_plugins', 'plugin', 'view_plugin', 'Can view Plugin');
