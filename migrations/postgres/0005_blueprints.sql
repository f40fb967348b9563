-- Blueprint instances (authentik's BlueprintInstance): a blueprint the server keeps, its text in
-- `content` (path '') or in a file of the blueprints directory (path relative to it), with its
-- context and what its last run did. Objects a blueprint wrote are not linked to it: deleting an
-- instance leaves them, as in authentik.

CREATE TABLE blueprint_instances (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- '' (database content), 'oci://…', or a file relative to the blueprints directory.
    path TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    -- JSON objects.
    context TEXT NOT NULL DEFAULT '{}',
    metadata TEXT NOT NULL DEFAULT '{}',
    -- When the last run ended (successful or not); the creation time before any run.
    last_applied TEXT NOT NULL,
    -- SHA-512 (hex) of the text last applied successfully.
    last_applied_hash TEXT NOT NULL DEFAULT '',
    -- successful | warning | error | orphaned | unknown
    status TEXT NOT NULL DEFAULT 'unknown',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    -- JSON list of model names; never filled (vestigial in authentik too).
    managed_models TEXT NOT NULL DEFAULT '[]',
    managed TEXT UNIQUE,
    -- Garrison's own: the last run's outcome as JSON; NULL before the first run.
    last_result TEXT,
    created TEXT NOT NULL,
    last_updated TEXT NOT NULL
);
CREATE INDEX blueprint_instances_path ON blueprint_instances(path);

INSERT INTO permissions (app_label, model, codename, name) VALUES
    ('authentik_blueprints', 'blueprintinstance', 'add_blueprintinstance', 'Can add Blueprint Instance'),
    ('authentik_blueprints', 'blueprintinstance', 'change_blueprintinstance', 'Can change Blueprint Instance'),
    ('authentik_blueprints', 'blueprintinstance', 'delete_blueprintinstance', 'Can delete Blueprint Instance'),
    ('authentik_blueprints', 'blueprintinstance', 'view_blueprintinstance', 'Can view Blueprint Instance');
