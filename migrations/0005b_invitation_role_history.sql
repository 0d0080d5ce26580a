-- A role may be deleted while no grant or open invitation uses it (PRODUCT.md §1); invitations
-- that were accepted, rejected or revoked keep the role's name for history. Before, the foreign key
-- from invitations.role_id was ON DELETE RESTRICT, so any invitation ever made with a role kept
-- it forever. SQLite cannot alter a foreign key: the table is rebuilt with
--   role_id    NULL once the role is deleted (ON DELETE SET NULL; never for an open invitation),
--   role_name  the role's name, kept by `store::invitations::keep_role_name` just before the role
--              is deleted (NULL while the role exists: the name is read from `roles`),
-- and its indexes and triggers recreated exactly as they stood (0001, 0002, 0003, 0004).
-- The schema's triggers on other tables name `invitations`: legacy_alter_table keeps the RENAME
-- from re-checking them while no table of that name exists.

CREATE TABLE invitations_new (
    id                 TEXT PRIMARY KEY,
    organization_id    TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email              TEXT NOT NULL,
    email_norm         TEXT NOT NULL,
    role_id            TEXT REFERENCES roles(id) ON DELETE SET NULL,
    access_expires_at  INTEGER,
    valid_until        INTEGER NOT NULL,
    token_hash         BLOB NOT NULL UNIQUE,        -- SHA-256 of the current token
    status             TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'rejected', 'revoked')),
    invited_by         TEXT,
    created_at         INTEGER NOT NULL,
    last_sent_at       INTEGER NOT NULL,
    times_sent         INTEGER NOT NULL DEFAULT 1,
    responded_at       INTEGER,
    workspace_id       TEXT REFERENCES workspaces(id) ON DELETE CASCADE,
    role_name          TEXT,
    -- An open invitation always has its role: deleting a role an open invitation uses fails.
    CHECK (status <> 'open' OR role_id IS NOT NULL)
);
INSERT INTO invitations_new (id, organization_id, email, email_norm, role_id, access_expires_at, valid_until,
                             token_hash, status, invited_by, created_at, last_sent_at, times_sent, responded_at,
                             workspace_id)
SELECT id, organization_id, email, email_norm, role_id, access_expires_at, valid_until, token_hash, status,
       invited_by, created_at, last_sent_at, times_sent, responded_at, workspace_id
FROM invitations;
DROP TABLE invitations;
PRAGMA legacy_alter_table = ON;
ALTER TABLE invitations_new RENAME TO invitations;
PRAGMA legacy_alter_table = OFF;

-- The indexes of 0001 and 0002.
-- At most one open invitation per email and organization (rule 4).
CREATE UNIQUE INDEX invitations_one_open ON invitations(organization_id, email_norm) WHERE status = 'open';
CREATE INDEX invitations_org_email ON invitations(organization_id, email_norm);
CREATE INDEX invitations_org_status ON invitations(organization_id, status, valid_until);

-- The roster triggers on invitations: insert and update as 0004 rewrote them, delete as 0003 made it.
CREATE TRIGGER roster_invitation_insert AFTER INSERT ON invitations
WHEN NEW.status IN ('open', 'rejected') AND NOT EXISTS (SELECT 1 FROM roster_orgs WHERE organization_id = NEW.organization_id AND deferred = 1) BEGIN
    INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                        roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
    SELECT o.org, NEW.id, 1, NEW.email, NEW.email_norm, '', '', NEW.email_norm, r.name, lower(r.name), 0,
           CASE WHEN NEW.status = 'open' THEN 2 ELSE 3 END, CASE WHEN NEW.status = 'open' THEN NEW.valid_until END,
           NEW.access_expires_at, 0, 0, NEW.created_at, NULL
    FROM roles r, roster_orgs o WHERE r.id = NEW.role_id AND o.organization_id = NEW.organization_id;
END;

CREATE TRIGGER roster_invitation_update
AFTER UPDATE OF id, organization_id, email, email_norm, role_id, access_expires_at, valid_until, status, created_at ON invitations BEGIN
    DELETE FROM roster WHERE entry_id = OLD.id;
    INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                        roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
    SELECT o.org, NEW.id, 1, NEW.email, NEW.email_norm, '', '', NEW.email_norm, r.name, lower(r.name), 0,
           CASE WHEN NEW.status = 'open' THEN 2 ELSE 3 END, CASE WHEN NEW.status = 'open' THEN NEW.valid_until END,
           NEW.access_expires_at, 0, 0, NEW.created_at, NULL
    FROM roles r, roster_orgs o
    WHERE r.id = NEW.role_id AND o.organization_id = NEW.organization_id AND NEW.status IN ('open', 'rejected');
END;

CREATE TRIGGER roster_invitation_delete AFTER DELETE ON invitations BEGIN
    DELETE FROM roster WHERE entry_id = OLD.id;
END;
