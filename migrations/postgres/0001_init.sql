-- Gatehouse schema for PostgreSQL, version 1: the SQLite schema of migrations/0001_init.sql,
-- 0002_member_list.sql, 0003_roster.sql, 0004_roster_portable.sql, 0005_workspace_scopes.sql and
-- 0005b_invitation_role_history.sql and 0006_sessions.sql as it stands after all of them, in
-- PostgreSQL's terms (columns added by a later SQLite migration come last, as there).
-- Append-only: change the schema with a new file, never by editing this one.
--
-- How SQLite's types are carried: integers (times in seconds, counters, SQLite's 0/1 flags) are
-- BIGINT; blobs are BYTEA; text is TEXT COLLATE "C", which compares and sorts byte by byte as
-- SQLite's BINARY does; the names SQLite compares with COLLATE NOCASE (workspaces, roles, service
-- accounts) are citext, whose comparisons and order equal NOCASE for ASCII (beyond ASCII citext
-- folds case as the database's LC_CTYPE does, where SQLite folds none). Every index column is
-- NULLS FIRST, SQLite's place for NULLs, which the SQL facade asks for in every ORDER BY.

CREATE EXTENSION IF NOT EXISTS citext;

-- SQLite's functions that the core's SQL calls and PostgreSQL lacks.
CREATE FUNCTION instr(haystack text, needle text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN strpos(haystack, needle);

CREATE FUNCTION group_concat_step(acc text, value text, sep text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN value IS NULL THEN acc WHEN acc IS NULL THEN value ELSE acc || sep || value END;
CREATE FUNCTION group_concat_step(acc text, value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN group_concat_step(acc, value, ',');
CREATE AGGREGATE group_concat(text, text) (SFUNC = group_concat_step, STYPE = text);
CREATE AGGREGATE group_concat(text) (SFUNC = group_concat_step, STYPE = text);

CREATE TABLE accounts (
    id               TEXT COLLATE "C" PRIMARY KEY,
    email            TEXT COLLATE "C" NOT NULL,
    email_norm       TEXT COLLATE "C" NOT NULL UNIQUE,
    given_name       TEXT COLLATE "C" NOT NULL,
    family_name      TEXT COLLATE "C" NOT NULL,
    sort_name        TEXT COLLATE "C" NOT NULL,
    password_hash    TEXT COLLATE "C",
    email_confirmed  BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    last_login_at    BIGINT
);

CREATE TABLE signin_attempts (
    email_norm       TEXT COLLATE "C" PRIMARY KEY,
    failures         BIGINT NOT NULL,
    locked_until     BIGINT,
    last_failure_at  BIGINT NOT NULL
);

CREATE TABLE organizations (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    slug        TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    workspace_access TEXT COLLATE "C" NOT NULL DEFAULT 'separate' CHECK (workspace_access IN ('separate', 'inherit'))
);

CREATE TABLE workspaces (
    id               TEXT COLLATE "C" PRIMARY KEY,
    organization_id  TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             citext COLLATE "C" NOT NULL,
    created_at       BIGINT NOT NULL,
    UNIQUE (organization_id, name)
);

CREATE TABLE custom_permissions (
    organization_id  TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             TEXT COLLATE "C" NOT NULL,
    description      TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (organization_id, name)
);

CREATE TABLE roles (
    id               TEXT COLLATE "C" NOT NULL,
    organization_id  TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             citext COLLATE "C" NOT NULL,
    description      TEXT COLLATE "C" NOT NULL DEFAULT '',
    is_owner         BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    -- Rights are computed by joining grants to roles: the key carries what that join reads.
    PRIMARY KEY (id) INCLUDE (is_owner),
    UNIQUE (organization_id, name)
);
CREATE UNIQUE INDEX roles_one_owner ON roles (organization_id) WHERE is_owner = 1;

CREATE TABLE role_permissions (
    role_id     TEXT COLLATE "C" NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (role_id, permission)
);

CREATE TABLE memberships (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    organization_id    TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    account_id         TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    enabled            BIGINT NOT NULL DEFAULT 1,
    access_expires_at  BIGINT,
    expiry_recorded    BIGINT NOT NULL DEFAULT 0,
    joined_at          BIGINT NOT NULL,
    -- `check` finds the caller's membership here and reads whether it is current from the index.
    UNIQUE (organization_id, account_id) INCLUDE (id, enabled, access_expires_at)
);
CREATE INDEX memberships_account ON memberships (account_id NULLS FIRST);
CREATE INDEX memberships_pending_expiry ON memberships (access_expires_at NULLS FIRST)
    WHERE access_expires_at IS NOT NULL AND expiry_recorded = 0;
CREATE INDEX memberships_org_enabled
    ON memberships (organization_id NULLS FIRST, enabled NULLS FIRST, access_expires_at NULLS FIRST);

CREATE TABLE service_accounts (
    id               TEXT COLLATE "C" PRIMARY KEY,
    organization_id  TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             citext COLLATE "C" NOT NULL,
    token_hash       BYTEA NOT NULL UNIQUE,
    token_prefix     TEXT COLLATE "C" NOT NULL,
    expires_at       BIGINT,
    created_by       TEXT COLLATE "C",
    created_at       BIGINT NOT NULL,
    last_used_at     BIGINT,
    revoked_at       BIGINT,
    created_by_account TEXT COLLATE "C" REFERENCES accounts(id) ON DELETE SET NULL,
    UNIQUE (organization_id, name)
);

CREATE TABLE access_grants (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    organization_id     TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    membership_id       TEXT COLLATE "C" REFERENCES memberships(id) ON DELETE CASCADE,
    service_account_id  TEXT COLLATE "C" REFERENCES service_accounts(id) ON DELETE CASCADE,
    role_id             TEXT COLLATE "C" NOT NULL REFERENCES roles(id) ON DELETE RESTRICT,
    workspace_id        TEXT COLLATE "C" REFERENCES workspaces(id) ON DELETE CASCADE,
    valid_from          BIGINT,
    expires_at          BIGINT,
    expiry_recorded     BIGINT NOT NULL DEFAULT 0,
    granted_by          TEXT COLLATE "C",
    granted_at          BIGINT NOT NULL,
    CHECK ((membership_id IS NULL) <> (service_account_id IS NULL))
);
-- Rights of a member or a service account: the grants and their times, without the table.
CREATE INDEX access_grants_membership ON access_grants (membership_id NULLS FIRST, workspace_id NULLS FIRST)
    INCLUDE (role_id, valid_from, expires_at);
CREATE INDEX access_grants_service_account ON access_grants (service_account_id NULLS FIRST)
    INCLUDE (role_id, workspace_id, valid_from, expires_at);
CREATE INDEX access_grants_role ON access_grants (role_id NULLS FIRST);
CREATE INDEX access_grants_pending_expiry ON access_grants (expires_at NULLS FIRST)
    WHERE expires_at IS NOT NULL AND expiry_recorded = 0;

CREATE TABLE invitations (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    organization_id    TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email              TEXT COLLATE "C" NOT NULL,
    email_norm         TEXT COLLATE "C" NOT NULL,
    -- NULL once the role is deleted (an accepted, rejected or revoked invitation keeps role_name).
    role_id            TEXT COLLATE "C" REFERENCES roles(id) ON DELETE SET NULL,
    access_expires_at  BIGINT,
    valid_until        BIGINT NOT NULL,
    token_hash         BYTEA NOT NULL UNIQUE,
    status             TEXT COLLATE "C" NOT NULL CHECK (status IN ('open', 'accepted', 'rejected', 'revoked')),
    invited_by         TEXT COLLATE "C",
    created_at         BIGINT NOT NULL,
    last_sent_at       BIGINT NOT NULL,
    times_sent         BIGINT NOT NULL DEFAULT 1,
    responded_at       BIGINT,
    workspace_id       TEXT COLLATE "C" REFERENCES workspaces(id) ON DELETE CASCADE,
    role_name          TEXT COLLATE "C",
    -- An open invitation always has its role: deleting a role an open invitation uses fails.
    CHECK (status <> 'open' OR role_id IS NOT NULL)
);
CREATE UNIQUE INDEX invitations_one_open ON invitations (organization_id, email_norm) WHERE status = 'open';
CREATE INDEX invitations_org_email ON invitations (organization_id NULLS FIRST, email_norm NULLS FIRST);
CREATE INDEX invitations_org_status
    ON invitations (organization_id NULLS FIRST, status NULLS FIRST, valid_until NULLS FIRST);

CREATE TABLE audit_events (
    seq              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    id               TEXT COLLATE "C" NOT NULL UNIQUE,
    organization_id  TEXT COLLATE "C" NOT NULL,
    actor            TEXT COLLATE "C" NOT NULL,
    action           TEXT COLLATE "C" NOT NULL,
    target           TEXT COLLATE "C" NOT NULL,
    details          TEXT COLLATE "C" NOT NULL,
    at               BIGINT NOT NULL,
    prev_hash        TEXT COLLATE "C" NOT NULL,
    hash             TEXT COLLATE "C" NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (organization_id NULLS FIRST, seq NULLS FIRST);

CREATE TABLE audit_heads (
    organization_id  TEXT COLLATE "C" PRIMARY KEY,
    last_seq         BIGINT NOT NULL,
    last_hash        TEXT COLLATE "C" NOT NULL,
    events           BIGINT NOT NULL
);

-- Sessions of people signed in to the local service; only the token's SHA-256 is kept.
CREATE TABLE sessions (
    id          TEXT COLLATE "C" PRIMARY KEY,
    account_id  TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX sessions_account ON sessions (account_id NULLS FIRST);

-- ------------------------------------------------------------------------------------------ the roster
-- The member list as one table, kept in step with memberships, accounts, access_grants, invitations,
-- roles and organizations by the triggers below (SQLite's 0003_roster.sql says what each column
-- holds; 0004 made a row without a name sort by its email). SQLite's triggers fire per row as each row changes; these fire per row at the end of each
-- statement, and each recomputes from the base tables, so the roster ends the same.

CREATE TABLE roster_orgs (
    org              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    organization_id  TEXT COLLATE "C" NOT NULL UNIQUE,
    deferred         BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE roster (
    rid            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    org            BIGINT NOT NULL,
    entry_id       TEXT COLLATE "C" NOT NULL UNIQUE,
    kind           BIGINT NOT NULL,
    email          TEXT COLLATE "C" NOT NULL,
    email_norm     TEXT COLLATE "C" NOT NULL,
    given_name     TEXT COLLATE "C" NOT NULL,
    family_name    TEXT COLLATE "C" NOT NULL,
    sort_name      TEXT COLLATE "C" NOT NULL,
    roles          TEXT COLLATE "C",
    roles_key      TEXT COLLATE "C" NOT NULL,
    roles_timed    BIGINT NOT NULL,
    cls            BIGINT NOT NULL,
    until          BIGINT,
    expires        BIGINT,
    confirmed      BIGINT NOT NULL,
    enabled        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_login_at  BIGINT
);

CREATE TABLE roster_counts (
    org        BIGINT NOT NULL,
    roles_key  TEXT COLLATE "C" NOT NULL,
    cls        BIGINT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (org, roles_key, cls)
);

-- One index per sort, its key the whole order of a walk (SQLite's indexes end in the row id
-- implicitly; here rid is named), so that a page is read in index order, filters included.
CREATE INDEX roster_by_email ON roster (org NULLS FIRST, email_norm NULLS FIRST, cls NULLS FIRST,
    until NULLS FIRST, roles_key NULLS FIRST, sort_name NULLS FIRST, rid NULLS FIRST);
CREATE INDEX roster_by_name ON roster (org NULLS FIRST, sort_name NULLS FIRST, email_norm NULLS FIRST,
    cls NULLS FIRST, until NULLS FIRST, roles_key NULLS FIRST, rid NULLS FIRST);
CREATE INDEX roster_by_role ON roster (org NULLS FIRST, roles_key NULLS FIRST, email_norm NULLS FIRST,
    cls NULLS FIRST, until NULLS FIRST, sort_name NULLS FIRST, rid NULLS FIRST);
CREATE INDEX roster_by_created ON roster (org NULLS FIRST, created_at NULLS FIRST, email_norm NULLS FIRST,
    cls NULLS FIRST, until NULLS FIRST, roles_key NULLS FIRST, sort_name NULLS FIRST, rid NULLS FIRST);
CREATE INDEX roster_by_last_login ON roster (org NULLS FIRST, last_login_at NULLS FIRST, email_norm NULLS FIRST,
    cls NULLS FIRST, until NULLS FIRST, roles_key NULLS FIRST, sort_name NULLS FIRST, rid NULLS FIRST);
CREATE INDEX roster_by_expires ON roster (org NULLS FIRST, expires NULLS FIRST, email_norm NULLS FIRST,
    cls NULLS FIRST, until NULLS FIRST, roles_key NULLS FIRST, sort_name NULLS FIRST, rid NULLS FIRST);
-- Status counts: one range per status, the search and role filters read from the index.
CREATE INDEX roster_scan ON roster (org NULLS FIRST, cls NULLS FIRST, until NULLS FIRST)
    INCLUDE (roles_key, email_norm, sort_name);
CREATE INDEX roster_timed ON roster (org NULLS FIRST) WHERE roles_timed = 1;

-- What a roster row is made of, once each.

-- The organization-scope role names of a membership, comma-separated, without case in the order.
CREATE FUNCTION roster_roles(mid text) RETURNS text LANGUAGE sql STABLE
    RETURN (SELECT string_agg(r.name::text, ',' ORDER BY r.name) FROM access_grants g JOIN roles r ON r.id = g.role_id
            WHERE g.membership_id = mid AND g.workspace_id IS NULL);

-- 1 when a grant behind those roles starts or ends.
CREATE FUNCTION roster_roles_timed(mid text) RETURNS bigint LANGUAGE sql STABLE
    RETURN (SELECT CASE WHEN EXISTS (SELECT 1 FROM access_grants g WHERE g.membership_id = mid AND g.workspace_id IS NULL
                                      AND (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL)) THEN 1 ELSE 0 END);

-- Whether a bulk load is writing the organization's rows (store::roster::defer).
CREATE FUNCTION roster_deferred(organization text) RETURNS boolean LANGUAGE sql STABLE
    RETURN EXISTS (SELECT 1 FROM roster_orgs WHERE organization_id = organization AND deferred = 1);

CREATE FUNCTION roster_add_membership(mid text) RETURNS void LANGUAGE sql BEGIN ATOMIC
    INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                        roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
    SELECT o.org, m.id, 0, a.email, a.email_norm, a.given_name, a.family_name,
           CASE WHEN a.sort_name = '' THEN a.email_norm ELSE a.sort_name END, roster_roles(m.id),
           lower(coalesce(roster_roles(m.id), '') COLLATE "C"), roster_roles_timed(m.id),
           CASE WHEN m.enabled <> 0 THEN 0 ELSE 1 END, m.access_expires_at, m.access_expires_at, a.email_confirmed,
           m.enabled, a.created_at, a.last_login_at
    FROM memberships m JOIN accounts a ON a.id = m.account_id JOIN roster_orgs o ON o.organization_id = m.organization_id
    WHERE m.id = mid;
END;

CREATE FUNCTION roster_add_invitation(iid text) RETURNS void LANGUAGE sql BEGIN ATOMIC
    INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                        roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
    SELECT o.org, i.id, 1, i.email, i.email_norm, '', '', i.email_norm, r.name, lower(r.name::text COLLATE "C"), 0,
           CASE WHEN i.status = 'open' THEN 2 ELSE 3 END, CASE WHEN i.status = 'open' THEN i.valid_until END,
           i.access_expires_at, 0, 0, i.created_at, NULL
    FROM invitations i JOIN roles r ON r.id = i.role_id JOIN roster_orgs o ON o.organization_id = i.organization_id
    WHERE i.id = iid AND i.status IN ('open', 'rejected');
END;

CREATE FUNCTION roster_refresh_roles(mid text) RETURNS void LANGUAGE sql BEGIN ATOMIC
    UPDATE roster SET roles = roster_roles(mid), roles_key = lower(coalesce(roster_roles(mid), '') COLLATE "C"),
                      roles_timed = roster_roles_timed(mid)
    WHERE entry_id = mid;
END;

-- ------------------------------------------------------------------------- counts follow the roster

CREATE FUNCTION roster_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE roster_counts SET n = n - 1 WHERE org = OLD.org AND roles_key = OLD.roles_key AND cls = OLD.cls;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO roster_counts (org, roles_key, cls, n) VALUES (NEW.org, NEW.roles_key, NEW.cls, 1)
            ON CONFLICT (org, roles_key, cls) DO UPDATE SET n = roster_counts.n + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER roster_counts_insert AFTER INSERT ON roster
    FOR EACH ROW EXECUTE FUNCTION roster_counts_follow();
CREATE TRIGGER roster_counts_delete AFTER DELETE ON roster
    FOR EACH ROW EXECUTE FUNCTION roster_counts_follow();
CREATE TRIGGER roster_counts_update AFTER UPDATE OF org, roles_key, cls ON roster
    FOR EACH ROW WHEN (OLD.org IS DISTINCT FROM NEW.org OR OLD.roles_key IS DISTINCT FROM NEW.roles_key
                       OR OLD.cls IS DISTINCT FROM NEW.cls)
    EXECUTE FUNCTION roster_counts_follow();

-- ------------------------------------------------------------------------------------ organizations

CREATE FUNCTION roster_org_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO roster_orgs (organization_id) VALUES (NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER roster_org_insert AFTER INSERT ON organizations
    FOR EACH ROW EXECUTE FUNCTION roster_org_insert();

CREATE FUNCTION roster_org_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM roster WHERE org = (SELECT org FROM roster_orgs WHERE organization_id = OLD.id);
    DELETE FROM roster_counts WHERE org = (SELECT org FROM roster_orgs WHERE organization_id = OLD.id);
    DELETE FROM roster_orgs WHERE organization_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER roster_org_delete AFTER DELETE ON organizations
    FOR EACH ROW EXECUTE FUNCTION roster_org_delete();

-- -------------------------------------------------------------------------------------- memberships

CREATE FUNCTION roster_membership_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT roster_deferred(NEW.organization_id) THEN
        PERFORM roster_add_membership(NEW.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER roster_membership_insert AFTER INSERT ON memberships
    FOR EACH ROW EXECUTE FUNCTION roster_membership_insert();

CREATE FUNCTION roster_membership_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE roster SET cls = CASE WHEN NEW.enabled <> 0 THEN 0 ELSE 1 END, until = NEW.access_expires_at,
                      expires = NEW.access_expires_at, enabled = NEW.enabled
    WHERE entry_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER roster_membership_update AFTER UPDATE OF enabled, access_expires_at ON memberships
    FOR EACH ROW EXECUTE FUNCTION roster_membership_update();

-- Not done by Gatehouse today; kept correct anyway.
CREATE FUNCTION roster_membership_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM roster WHERE entry_id = OLD.id;
    PERFORM roster_add_membership(NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER roster_membership_move AFTER UPDATE OF id, organization_id, account_id ON memberships
    FOR EACH ROW EXECUTE FUNCTION roster_membership_move();

CREATE FUNCTION roster_entry_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM roster WHERE entry_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER roster_membership_delete AFTER DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION roster_entry_delete();

-- ----------------------------------------------------------------------------------------- accounts

CREATE FUNCTION roster_account_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE roster SET email = NEW.email, email_norm = NEW.email_norm, given_name = NEW.given_name,
                      family_name = NEW.family_name,
                      sort_name = CASE WHEN NEW.sort_name = '' THEN NEW.email_norm ELSE NEW.sort_name END,
                      confirmed = NEW.email_confirmed,
                      created_at = NEW.created_at, last_login_at = NEW.last_login_at
    WHERE entry_id IN (SELECT id FROM memberships WHERE account_id = NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER roster_account_update
    AFTER UPDATE OF email, email_norm, given_name, family_name, sort_name, email_confirmed, created_at, last_login_at
    ON accounts FOR EACH ROW EXECUTE FUNCTION roster_account_update();

-- ------------------------------------------------------------------- organization-scope grants of members

CREATE FUNCTION roster_grant_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT roster_deferred(NEW.organization_id) THEN
        PERFORM roster_refresh_roles(NEW.membership_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER roster_grant_insert AFTER INSERT ON access_grants
    FOR EACH ROW WHEN (NEW.membership_id IS NOT NULL AND NEW.workspace_id IS NULL)
    EXECUTE FUNCTION roster_grant_insert();

CREATE FUNCTION roster_grant_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM roster_refresh_roles(OLD.membership_id);
    RETURN NULL;
END $$;
CREATE TRIGGER roster_grant_delete AFTER DELETE ON access_grants
    FOR EACH ROW WHEN (OLD.membership_id IS NOT NULL AND OLD.workspace_id IS NULL)
    EXECUTE FUNCTION roster_grant_delete();

CREATE FUNCTION roster_grant_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.membership_id IS NOT NULL THEN
        PERFORM roster_refresh_roles(OLD.membership_id);
    END IF;
    IF NEW.membership_id IS NOT NULL AND NEW.membership_id IS DISTINCT FROM OLD.membership_id THEN
        PERFORM roster_refresh_roles(NEW.membership_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER roster_grant_update AFTER UPDATE OF membership_id, role_id, workspace_id, valid_from, expires_at
    ON access_grants FOR EACH ROW EXECUTE FUNCTION roster_grant_update();

-- -------------------------------------------------------------------------------------- invitations

CREATE FUNCTION roster_invitation_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT roster_deferred(NEW.organization_id) THEN
        PERFORM roster_add_invitation(NEW.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER roster_invitation_insert AFTER INSERT ON invitations
    FOR EACH ROW WHEN (NEW.status IN ('open', 'rejected'))
    EXECUTE FUNCTION roster_invitation_insert();

CREATE FUNCTION roster_invitation_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM roster WHERE entry_id = OLD.id;
    PERFORM roster_add_invitation(NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER roster_invitation_update
    AFTER UPDATE OF id, organization_id, email, email_norm, role_id, access_expires_at, valid_until, status, created_at
    ON invitations FOR EACH ROW EXECUTE FUNCTION roster_invitation_update();

CREATE TRIGGER roster_invitation_delete AFTER DELETE ON invitations
    FOR EACH ROW EXECUTE FUNCTION roster_entry_delete();

-- ------------------------------------------------------------------- roles (names are not changed today)

CREATE FUNCTION roster_role_rename() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE roster SET roles = NEW.name, roles_key = lower(NEW.name::text COLLATE "C")
    WHERE entry_id IN (SELECT id FROM invitations WHERE role_id = NEW.id AND status IN ('open', 'rejected'));
    PERFORM roster_refresh_roles(g.membership_id)
    FROM (SELECT DISTINCT membership_id FROM access_grants
          WHERE role_id = NEW.id AND workspace_id IS NULL AND membership_id IS NOT NULL) g;
    RETURN NULL;
END $$;
CREATE TRIGGER roster_role_rename AFTER UPDATE OF name ON roles
    FOR EACH ROW EXECUTE FUNCTION roster_role_rename();
