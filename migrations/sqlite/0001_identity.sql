-- Identity and authorisation core. Timestamps are RFC 3339 UTC text and UUIDs are text so that
-- SQLite flavour: flags are INTEGER 0/1 here (BOOLEAN in PostgreSQL); codec::flag reads both.
-- both stores decode through one code path; see ARCHITECTURE.md ("Two stores, one code path").

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    -- argon2id PHC string; '' is an unusable password (service accounts).
    password TEXT NOT NULL DEFAULT '',
    password_change_date TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT TRUE,
    type TEXT NOT NULL DEFAULT 'internal',
    path TEXT NOT NULL DEFAULT 'users',
    attributes TEXT NOT NULL DEFAULT '{}',
    last_login TEXT,
    date_joined TEXT NOT NULL,
    last_updated TEXT NOT NULL
);

CREATE TABLE groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    is_superuser INTEGER NOT NULL DEFAULT FALSE,
    attributes TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    last_updated TEXT NOT NULL
);

CREATE TABLE group_parents (
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    parent_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, parent_id)
);

CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);

CREATE TABLE roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    managed TEXT UNIQUE
);

CREATE TABLE group_roles (
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, role_id)
);

CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);

-- The permission catalogue: one row per authentik `app_label.codename`.
CREATE TABLE permissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_label TEXT NOT NULL,
    model TEXT NOT NULL,
    codename TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (app_label, codename)
);

-- object_pk '' means a global (model-level) permission. '' rather than NULL keeps the unique
-- constraint identical on both stores.
CREATE TABLE role_permissions (
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES permissions(id) ON DELETE CASCADE,
    object_pk TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (role_id, permission_id, object_pk)
);

CREATE TABLE user_permissions (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES permissions(id) ON DELETE CASCADE,
    object_pk TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, permission_id, object_pk)
);

CREATE TABLE tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    identifier TEXT NOT NULL UNIQUE,
    -- SHA-256 of the key, for lookup; the key itself only sealed with the server's secret key.
    key_hash TEXT NOT NULL UNIQUE,
    key_sealed TEXT NOT NULL,
    intent TEXT NOT NULL DEFAULT 'api',
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    expires TEXT,
    expiring INTEGER NOT NULL DEFAULT TRUE,
    managed TEXT UNIQUE,
    created TEXT NOT NULL,
    last_updated TEXT NOT NULL
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SHA-256 of the cookie value: a copy of this table does not yield live sessions.
    key_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created TEXT NOT NULL,
    expires TEXT NOT NULL,
    client_ip TEXT,
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    action TEXT NOT NULL,
    app TEXT NOT NULL,
    username TEXT NOT NULL DEFAULT '',
    user_json TEXT NOT NULL DEFAULT '{}',
    context TEXT NOT NULL DEFAULT '{}',
    client_ip TEXT,
    created TEXT NOT NULL,
    expires TEXT
);
CREATE INDEX events_created ON events(created);
CREATE INDEX events_action ON events(action);

-- Server-wide settings that must survive restarts and be shared by replicas
-- (the generated secret key, the one-time setup token).
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

INSERT INTO permissions (app_label, model, codename, name) VALUES
    ('authentik_core', 'user', 'add_user', 'Can add User'),
    ('authentik_core', 'user', 'change_user', 'Can change User'),
    ('authentik_core', 'user', 'delete_user', 'Can delete User'),
    ('authentik_core', 'user', 'view_user', 'Can view User'),
    ('authentik_core', 'user', 'reset_user_password', 'Reset Password'),
    ('authentik_core', 'user', 'impersonate', 'Can impersonate other users'),
    ('authentik_core', 'group', 'add_group', 'Can add Group'),
    ('authentik_core', 'group', 'change_group', 'Can change Group'),
    ('authentik_core', 'group', 'delete_group', 'Can delete Group'),
    ('authentik_core', 'group', 'view_group', 'Can view Group'),
    ('authentik_core', 'group', 'add_user_to_group', 'Add user to group'),
    ('authentik_core', 'group', 'remove_user_from_group', 'Remove user from group'),
    ('authentik_core', 'token', 'add_token', 'Can add Token'),
    ('authentik_core', 'token', 'change_token', 'Can change Token'),
    ('authentik_core', 'token', 'delete_token', 'Can delete Token'),
    ('authentik_core', 'token', 'view_token', 'Can view Token'),
    ('authentik_core', 'token', 'view_token_key', 'View token''s key'),
    ('authentik_core', 'token', 'set_token_key', 'Set a token''s key'),
    ('authentik_rbac', 'role', 'add_role', 'Can add Role'),
    ('authentik_rbac', 'role', 'change_role', 'Can change Role'),
    ('authentik_rbac', 'role', 'delete_role', 'Can delete Role'),
    ('authentik_rbac', 'role', 'view_role', 'Can view Role'),
    ('authentik_rbac', 'role', 'assign_role_permissions', 'Can assign permissions to roles'),
    ('authentik_rbac', 'role', 'unassign_role_permissions', 'Can unassign permissions from roles'),
    ('authentik_events', 'event', 'add_event', 'Can add Event'),
    ('authentik_events', 'event', 'change_event', 'Can change Event'),
    ('authentik_events', 'event', 'delete_event', 'Can delete Event'),
    ('authentik_events', 'event', 'view_event', 'Can view Event'),
    ('authentik_outposts', 'outpost', 'add_outpost', 'Can add Outpost'),
    ('authentik_outposts', 'outpost', 'change_outpost', 'Can change Outpost'),
    ('authentik_outposts', 'outpost', 'delete_outpost', 'Can delete Outpost'),
    ('authentik_outposts', 'outpost', 'view_outpost', 'Can view Outpost');
