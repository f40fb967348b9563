-- Outposts and what they serve: certificate keypairs, providers, applications, service
-- connections, brands. Secrets in them (private keys, provider secrets, kubeconfigs) are kept
-- only sealed under the server's key, like token keys.

CREATE TABLE certificate_keypairs (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- PEM; public, so kept in clear.
    certificate_data TEXT NOT NULL,
    -- The PEM private key, sealed; NULL when the pair has no key.
    key_sealed TEXT,
    fingerprint_sha256 TEXT NOT NULL,
    fingerprint_sha1 TEXT NOT NULL,
    cert_expiry TEXT NOT NULL,
    cert_subject TEXT NOT NULL,
    key_type TEXT,
    managed TEXT UNIQUE,
    created TEXT NOT NULL,
    last_updated TEXT NOT NULL
);

-- One table for every provider kind: the fields all kinds share are columns; a kind's own
-- settings are JSON (`settings`), its secrets sealed JSON (`secrets_sealed`).
CREATE TABLE providers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    -- proxy | ldap | radius | rac
    kind TEXT NOT NULL,
    -- Flows stay outside Garrison: opaque references kept for the official client.
    authentication_flow TEXT,
    authorization_flow TEXT,
    invalidation_flow TEXT,
    property_mappings TEXT NOT NULL DEFAULT '[]',
    certificate TEXT REFERENCES certificate_keypairs(uuid) ON DELETE SET NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    secrets_sealed TEXT,
    created TEXT NOT NULL,
    last_updated TEXT NOT NULL
);

CREATE TABLE applications (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    -- A provider serves at most one application.
    provider_id BIGINT UNIQUE REFERENCES providers(id) ON DELETE SET NULL,
    meta_launch_url TEXT NOT NULL DEFAULT '',
    meta_icon TEXT NOT NULL DEFAULT '',
    meta_description TEXT NOT NULL DEFAULT '',
    meta_publisher TEXT NOT NULL DEFAULT '',
    open_in_new_tab INTEGER NOT NULL DEFAULT 0,
    meta_hide INTEGER NOT NULL DEFAULT 0,
    group_name TEXT NOT NULL DEFAULT '',
    policy_engine_mode TEXT NOT NULL DEFAULT 'any',
    created TEXT NOT NULL,
    last_updated TEXT NOT NULL
);

CREATE TABLE application_backchannel_providers (
    application_uuid TEXT NOT NULL REFERENCES applications(uuid) ON DELETE CASCADE,
    provider_id BIGINT NOT NULL UNIQUE REFERENCES providers(id) ON DELETE CASCADE,
    PRIMARY KEY (application_uuid, provider_id)
);

CREATE TABLE service_connections (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- docker | kubernetes
    kind TEXT NOT NULL,
    local INTEGER NOT NULL DEFAULT 0,
    -- docker: the engine's URL (unix://, tcp://, https://, ssh://)
    url TEXT NOT NULL DEFAULT '',
    tls_verification TEXT REFERENCES certificate_keypairs(uuid) ON DELETE SET NULL,
    tls_authentication TEXT REFERENCES certificate_keypairs(uuid) ON DELETE SET NULL,
    -- kubernetes: the kubeconfig as sealed JSON; NULL for in-cluster ({}).
    kubeconfig_sealed TEXT,
    verify_ssl INTEGER NOT NULL DEFAULT 1,
    created TEXT NOT NULL,
    last_updated TEXT NOT NULL
);

CREATE TABLE outposts (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- proxy | ldap | radius | rac
    type TEXT NOT NULL,
    service_connection TEXT REFERENCES service_connections(uuid) ON DELETE SET NULL,
    -- OutpostConfig as JSON, stored as given (unknown keys kept).
    config TEXT NOT NULL,
    managed TEXT UNIQUE,
    -- What the deployment backend last reported (the backends fill it; {} until then).
    deploy_state TEXT NOT NULL DEFAULT '{}',
    -- Why the last permission rebuild could not expand a provider (shown on the page).
    expansion_error TEXT,
    created TEXT NOT NULL,
    last_updated TEXT NOT NULL
);

CREATE TABLE outpost_providers (
    outpost_uuid TEXT NOT NULL REFERENCES outposts(uuid) ON DELETE CASCADE,
    provider_id BIGINT NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
    PRIMARY KEY (outpost_uuid, provider_id)
);

CREATE TABLE brands (
    uuid TEXT PRIMARY KEY,
    domain TEXT NOT NULL UNIQUE,
    is_default INTEGER NOT NULL DEFAULT 0,
    -- branding_* texts and flow references, as JSON.
    settings TEXT NOT NULL DEFAULT '{}',
    web_certificate TEXT REFERENCES certificate_keypairs(uuid) ON DELETE SET NULL,
    client_certificates TEXT NOT NULL DEFAULT '[]',
    attributes TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    last_updated TEXT NOT NULL
);

INSERT INTO permissions (app_label, model, codename, name) VALUES
    ('authentik_outposts', 'dockerserviceconnection', 'add_dockerserviceconnection', 'Can add Docker Service-Connection'),
    ('authentik_outposts', 'dockerserviceconnection', 'change_dockerserviceconnection', 'Can change Docker Service-Connection'),
    ('authentik_outposts', 'dockerserviceconnection', 'delete_dockerserviceconnection', 'Can delete Docker Service-Connection'),
    ('authentik_outposts', 'dockerserviceconnection', 'view_dockerserviceconnection', 'Can view Docker Service-Connection'),
    ('authentik_outposts', 'kubernetesserviceconnection', 'add_kubernetesserviceconnection', 'Can add Kubernetes Service-Connection'),
    ('authentik_outposts', 'kubernetesserviceconnection', 'change_kubernetesserviceconnection', 'Can change Kubernetes Service-Connection'),
    ('authentik_outposts', 'kubernetesserviceconnection', 'delete_kubernetesserviceconnection', 'Can delete Kubernetes Service-Connection'),
    ('authentik_outposts', 'kubernetesserviceconnection', 'view_kubernetesserviceconnection', 'Can view Kubernetes Service-Connection'),
    ('authentik_outposts', 'outpost', 'view_outpost_token', 'View and rotate an Outpost''s token'),
    ('authentik_providers_proxy', 'proxyprovider', 'add_proxyprovider', 'Can add Proxy Provider'),
    ('authentik_providers_proxy', 'proxyprovider', 'change_proxyprovider', 'Can change Proxy Provider'),
    ('authentik_providers_proxy', 'proxyprovider', 'delete_proxyprovider', 'Can delete Proxy Provider'),
    ('authentik_providers_proxy', 'proxyprovider', 'view_proxyprovider', 'Can view Proxy Provider'),
    ('authentik_providers_ldap', 'ldapprovider', 'add_ldapprovider', 'Can add LDAP Provider'),
    ('authentik_providers_ldap', 'ldapprovider', 'change_ldapprovider', 'Can change LDAP Provider'),
    ('authentik_providers_ldap', 'ldapprovider', 'delete_ldapprovider', 'Can delete LDAP Provider'),
    ('authentik_providers_ldap', 'ldapprovider', 'view_ldapprovider', 'Can view LDAP Provider'),
    ('authentik_providers_ldap', 'ldapprovider', 'search_full_directory', 'Search full LDAP directory'),
    ('authentik_providers_radius', 'radiusprovider', 'add_radiusprovider', 'Can add Radius Provider'),
    ('authentik_providers_radius', 'radiusprovider', 'change_radiusprovider', 'Can change Radius Provider'),
    ('authentik_providers_radius', 'radiusprovider', 'delete_radiusprovider', 'Can delete Radius Provider'),
    ('authentik_providers_radius', 'radiusprovider', 'view_radiusprovider', 'Can view Radius Provider'),
    ('authentik_providers_rac', 'racprovider', 'add_racprovider', 'Can add RAC Provider'),
    ('authentik_providers_rac', 'racprovider', 'change_racprovider', 'Can change RAC Provider'),
    ('authentik_providers_rac', 'racprovider', 'delete_racprovider', 'Can delete RAC Provider'),
    ('authentik_providers_rac', 'racprovider', 'view_racprovider', 'Can view RAC Provider'),
    ('authentik_core', 'application', 'add_application', 'Can add Application'),
    ('authentik_core', 'application', 'change_application', 'Can change Application'),
    ('authentik_core', 'application', 'delete_application', 'Can delete Application'),
    ('authentik_core', 'application', 'view_application', 'Can view Application'),
    ('authentik_crypto', 'certificatekeypair', 'add_certificatekeypair', 'Can add Certificate-Key Pair'),
    ('authentik_crypto', 'certificatekeypair', 'change_certificatekeypair', 'Can change Certificate-Key Pair'),
    ('authentik_crypto', 'certificatekeypair', 'delete_certificatekeypair', 'Can delete Certificate-Key Pair'),
    ('authentik_crypto', 'certificatekeypair', 'view_certificatekeypair', 'Can view Certificate-Key Pair'),
    ('authentik_crypto', 'certificatekeypair', 'view_certificatekeypair_certificate', 'View Certificate-Key pair''s certificate'),
    ('authentik_crypto', 'certificatekeypair', 'view_certificatekeypair_key', 'View Certificate-Key pair''s private key'),
    ('authentik_brands', 'brand', 'add_brand', 'Can add Brand'),
    ('authentik_brands', 'brand', 'change_brand', 'Can change Brand'),
    ('authentik_brands', 'brand', 'delete_brand', 'Can delete Brand'),
    ('authentik_brands', 'brand', 'view_brand', 'Can view Brand');
