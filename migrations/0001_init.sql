-- Gatehouse schema, version 1.
-- Times are whole seconds since the Unix epoch (UTC); ids are UUID v7 text.
-- Append-only: change the schema with a new file, never by editing this one.

CREATE TABLE accounts (
    id               TEXT PRIMARY KEY,
    email            TEXT NOT NULL,
    email_norm       TEXT NOT NULL UNIQUE,          -- lower-cased, trimmed: emails compare case-insensitively
    given_name       TEXT NOT NULL,
    family_name      TEXT NOT NULL,
    sort_name        TEXT NOT NULL,                 -- lower(given || ' ' || family): the name sort key
    password_hash    TEXT,                          -- argon2id PHC string; NULL = cannot sign in (demo data)
    email_confirmed  INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    last_login_at    INTEGER
);

-- Failed sign-ins are counted per normalized email, whether or not an account has it, so that the
-- lockout answer never tells whether the email exists.
CREATE TABLE signin_attempts (
    email_norm       TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    locked_until     INTEGER,
    last_failure_at  INTEGER NOT NULL
);

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE workspaces (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    UNIQUE (organization_id, name COLLATE NOCASE)
);

-- Custom permissions an organization defines; the built-in catalogue lives in code.
CREATE TABLE custom_permissions (
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (organization_id, name)
);

CREATE TABLE roles (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    is_owner         INTEGER NOT NULL DEFAULT 0,    -- the fixed owner role: every permission, not editable
    created_at       INTEGER NOT NULL,
    UNIQUE (organization_id, name COLLATE NOCASE)
);
CREATE UNIQUE INDEX roles_one_owner ON roles(organization_id) WHERE is_owner = 1;

CREATE TABLE role_permissions (
    role_id     TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission  TEXT NOT NULL,
    PRIMARY KEY (role_id, permission)
) WITHOUT ROWID;

CREATE TABLE memberships (
    id                 TEXT PRIMARY KEY,
    organization_id    TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    enabled            INTEGER NOT NULL DEFAULT 1,
    access_expires_at  INTEGER,
    expiry_recorded    INTEGER NOT NULL DEFAULT 0,  -- 1 once access.expired was audited for this expiry
    joined_at          INTEGER NOT NULL,
    UNIQUE (organization_id, account_id)
);
CREATE INDEX memberships_account ON memberships(account_id);
CREATE INDEX memberships_pending_expiry ON memberships(access_expires_at)
    WHERE access_expires_at IS NOT NULL AND expiry_recorded = 0;

CREATE TABLE service_accounts (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    token_hash       BLOB NOT NULL UNIQUE,          -- SHA-256 of the token; the token itself is never stored
    token_prefix     TEXT NOT NULL,                 -- the visible start of the token, to recognise it
    expires_at       INTEGER,
    created_by       TEXT,                          -- actor label, kept when that person is removed
    created_at       INTEGER NOT NULL,
    last_used_at     INTEGER,
    revoked_at       INTEGER,
    UNIQUE (organization_id, name COLLATE NOCASE)
);

-- A role given to a member (membership_id) or a service account, at organization scope
-- (workspace_id NULL) or in one workspace.
CREATE TABLE access_grants (
    id                  TEXT PRIMARY KEY,
    organization_id     TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    membership_id       TEXT REFERENCES memberships(id) ON DELETE CASCADE,
    service_account_id  TEXT REFERENCES service_accounts(id) ON DELETE CASCADE,
    role_id             TEXT NOT NULL REFERENCES roles(id) ON DELETE RESTRICT,
    workspace_id        TEXT REFERENCES workspaces(id) ON DELETE CASCADE,
    valid_from          INTEGER,
    expires_at          INTEGER,
    expiry_recorded     INTEGER NOT NULL DEFAULT 0,
    granted_by          TEXT,
    granted_at          INTEGER NOT NULL,
    CHECK ((membership_id IS NULL) <> (service_account_id IS NULL))
);
CREATE INDEX access_grants_membership ON access_grants(membership_id, workspace_id);
CREATE INDEX access_grants_service_account ON access_grants(service_account_id);
CREATE INDEX access_grants_role ON access_grants(role_id);
CREATE INDEX access_grants_pending_expiry ON access_grants(expires_at)
    WHERE expires_at IS NOT NULL AND expiry_recorded = 0;

CREATE TABLE invitations (
    id                 TEXT PRIMARY KEY,
    organization_id    TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email              TEXT NOT NULL,
    email_norm         TEXT NOT NULL,
    role_id            TEXT NOT NULL REFERENCES roles(id) ON DELETE RESTRICT,
    access_expires_at  INTEGER,
    valid_until        INTEGER NOT NULL,
    token_hash         BLOB NOT NULL UNIQUE,        -- SHA-256 of the current token
    status             TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'rejected', 'revoked')),
    invited_by         TEXT,
    created_at         INTEGER NOT NULL,
    last_sent_at       INTEGER NOT NULL,
    times_sent         INTEGER NOT NULL DEFAULT 1,
    responded_at       INTEGER
);
-- At most one open invitation per email and organization (rule 4).
CREATE UNIQUE INDEX invitations_one_open ON invitations(organization_id, email_norm) WHERE status = 'open';
CREATE INDEX invitations_org_email ON invitations(organization_id, email_norm);

-- The audit log: one chain of hashes per organization ('' for events that belong to none, such as
-- failed sign-ins). Each event's hash covers its fields and the previous event's hash.
CREATE TABLE audit_events (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    organization_id  TEXT NOT NULL,                 -- no foreign key: the log outlives what it speaks of
    actor            TEXT NOT NULL,
    action           TEXT NOT NULL,
    target           TEXT NOT NULL,
    details          TEXT NOT NULL,                 -- JSON
    at               INTEGER NOT NULL,
    prev_hash        TEXT NOT NULL,
    hash             TEXT NOT NULL
);
CREATE INDEX audit_events_org ON audit_events(organization_id, seq);

-- The head of each chain, written with every event, so that deleting the newest events shows too.
CREATE TABLE audit_heads (
    organization_id  TEXT PRIMARY KEY,
    last_seq         INTEGER NOT NULL,
    last_hash        TEXT NOT NULL,
    events           INTEGER NOT NULL
);
