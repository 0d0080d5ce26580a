-- The roster: the member list as one table, one row per membership and per invitation shown in it
-- (open or rejected), kept in step with memberships, accounts, access_grants, invitations and roles
-- by the triggers below, inside whatever transaction changes those tables. A page of `members list`
-- walks one index in sort order instead of sorting the UNION of memberships and invitations.
--
-- Status depends on the time, so the roster stores its inputs, never the status itself:
--   cls 0 enabled membership: 'expired' when until <= now, else 'active'   (until = access_expires_at)
--   cls 1 disabled membership: 'disabled'
--   cls 2 open invitation:     'invitation_expired' when until <= now, else 'pending' (until = valid_until)
--   cls 3 rejected invitation: 'rejected'
-- roles: the organization-scope role names (invitation: its role), comma-separated, in NOCASE order;
-- roles_key = lower(coalesce(roles, '')), the role sort key. roles_timed = 1 when a grant behind
-- roles has a start or an end: then the roles at a given moment are computed from access_grants.

-- A small integer per organization, so that every roster index does not repeat a 36-byte id.
-- deferred = 1 while a bulk load (demo) writes an organization's rows: the insert triggers below
-- then leave its roster alone, and the load rebuilds it in the same transaction (store::roster).
CREATE TABLE roster_orgs (
    org              INTEGER PRIMARY KEY,
    organization_id  TEXT NOT NULL UNIQUE,
    deferred         INTEGER NOT NULL DEFAULT 0
);
INSERT INTO roster_orgs (organization_id) SELECT id FROM organizations ORDER BY created_at, id;

CREATE TABLE roster (
    rid            INTEGER PRIMARY KEY,
    org            INTEGER NOT NULL,
    entry_id       TEXT NOT NULL UNIQUE,         -- memberships.id or invitations.id
    kind           INTEGER NOT NULL,             -- 0 membership, 1 invitation
    email          TEXT NOT NULL,
    email_norm     TEXT NOT NULL,
    given_name     TEXT NOT NULL,
    family_name    TEXT NOT NULL,
    sort_name      TEXT NOT NULL,                -- '' for an invitation
    roles          TEXT,
    roles_key      TEXT NOT NULL,
    roles_timed    INTEGER NOT NULL,
    cls            INTEGER NOT NULL,
    until          INTEGER,
    expires        INTEGER,                      -- access_expires_at (membership or invitation)
    confirmed      INTEGER NOT NULL,
    enabled        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    last_login_at  INTEGER
);

-- Status counts per organization, role key and cls; 'expired' and 'invitation_expired' are then
-- counted on roster_scan ranges (cls, until <= now).
CREATE TABLE roster_counts (
    org        INTEGER NOT NULL,
    roles_key  TEXT NOT NULL,
    cls        INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (org, roles_key, cls)
) WITHOUT ROWID;

-- The backfill, before the indexes (building an index over sorted data is faster than growing it).
INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                    roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
SELECT o.org, m.id, 0, a.email, a.email_norm, a.given_name, a.family_name, a.sort_name, (SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = m.id AND g.workspace_id IS NULL),
       lower(coalesce((SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = m.id AND g.workspace_id IS NULL), '')), EXISTS (SELECT 1 FROM access_grants g WHERE g.membership_id = m.id AND g.workspace_id IS NULL AND (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL)), CASE WHEN m.enabled THEN 0 ELSE 1 END, m.access_expires_at,
       m.access_expires_at, a.email_confirmed, m.enabled, a.created_at, a.last_login_at
FROM memberships m JOIN accounts a ON a.id = m.account_id JOIN roster_orgs o ON o.organization_id = m.organization_id;

INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                    roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
SELECT o.org, i.id, 1, i.email, i.email_norm, '', '', '', r.name, lower(r.name), 0,
       CASE WHEN i.status = 'open' THEN 2 ELSE 3 END, CASE WHEN i.status = 'open' THEN i.valid_until END,
       i.access_expires_at, 0, 0, i.created_at, NULL
FROM invitations i JOIN roles r ON r.id = i.role_id JOIN roster_orgs o ON o.organization_id = i.organization_id
WHERE i.status IN ('open', 'rejected');

INSERT INTO roster_counts (org, roles_key, cls, n) SELECT org, roles_key, cls, count(*) FROM roster GROUP BY org, roles_key, cls;

-- The member list no longer reads accounts in name or creation order: 0002's indexes for that go.
DROP INDEX IF EXISTS accounts_sort_name;
DROP INDEX IF EXISTS accounts_created;

-- One index per sort, each carrying the filter columns, so that a filtered page never leaves it.
CREATE INDEX roster_by_email ON roster(org, email_norm, cls, until, roles_key, sort_name);
CREATE INDEX roster_by_name ON roster(org, sort_name, email_norm, cls, until, roles_key);
CREATE INDEX roster_by_role ON roster(org, roles_key, email_norm, cls, until, sort_name);
CREATE INDEX roster_by_created ON roster(org, created_at, email_norm, cls, until, roles_key, sort_name);
CREATE INDEX roster_by_last_login ON roster(org, last_login_at, email_norm, cls, until, roles_key, sort_name);
CREATE INDEX roster_by_expires ON roster(org, expires, email_norm, cls, until, roles_key, sort_name);
-- Status counts: one range per status.
CREATE INDEX roster_scan ON roster(org, cls, until, roles_key, email_norm, sort_name);
CREATE INDEX roster_timed ON roster(org) WHERE roles_timed = 1;

-- ---------------------------------------------------------------- counts follow the roster

CREATE TRIGGER roster_counts_insert AFTER INSERT ON roster BEGIN
    INSERT INTO roster_counts (org, roles_key, cls, n) VALUES (NEW.org, NEW.roles_key, NEW.cls, 1)
        ON CONFLICT (org, roles_key, cls) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER roster_counts_delete AFTER DELETE ON roster BEGIN
    UPDATE roster_counts SET n = n - 1 WHERE org = OLD.org AND roles_key = OLD.roles_key AND cls = OLD.cls;
END;

CREATE TRIGGER roster_counts_update AFTER UPDATE OF org, roles_key, cls ON roster
WHEN OLD.org IS NOT NEW.org OR OLD.roles_key IS NOT NEW.roles_key OR OLD.cls IS NOT NEW.cls BEGIN
    UPDATE roster_counts SET n = n - 1 WHERE org = OLD.org AND roles_key = OLD.roles_key AND cls = OLD.cls;
    INSERT INTO roster_counts (org, roles_key, cls, n) VALUES (NEW.org, NEW.roles_key, NEW.cls, 1)
        ON CONFLICT (org, roles_key, cls) DO UPDATE SET n = n + 1;
END;

-- ---------------------------------------------------------------- organizations

CREATE TRIGGER roster_org_insert AFTER INSERT ON organizations BEGIN
    INSERT INTO roster_orgs (organization_id) VALUES (NEW.id);
END;

CREATE TRIGGER roster_org_delete AFTER DELETE ON organizations BEGIN
    DELETE FROM roster WHERE org = (SELECT org FROM roster_orgs WHERE organization_id = OLD.id);
    DELETE FROM roster_counts WHERE org = (SELECT org FROM roster_orgs WHERE organization_id = OLD.id);
    DELETE FROM roster_orgs WHERE organization_id = OLD.id;
END;

-- ---------------------------------------------------------------- memberships

CREATE TRIGGER roster_membership_insert AFTER INSERT ON memberships
WHEN NOT EXISTS (SELECT 1 FROM roster_orgs WHERE organization_id = NEW.organization_id AND deferred = 1) BEGIN
    INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                        roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
    SELECT o.org, NEW.id, 0, a.email, a.email_norm, a.given_name, a.family_name, a.sort_name, (SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = NEW.id AND g.workspace_id IS NULL),
           lower(coalesce((SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = NEW.id AND g.workspace_id IS NULL), '')), EXISTS (SELECT 1 FROM access_grants g WHERE g.membership_id = NEW.id AND g.workspace_id IS NULL AND (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL)), CASE WHEN NEW.enabled THEN 0 ELSE 1 END, NEW.access_expires_at,
           NEW.access_expires_at, a.email_confirmed, NEW.enabled, a.created_at, a.last_login_at
    FROM accounts a, roster_orgs o WHERE a.id = NEW.account_id AND o.organization_id = NEW.organization_id;
END;

CREATE TRIGGER roster_membership_update AFTER UPDATE OF enabled, access_expires_at ON memberships BEGIN
    UPDATE roster SET cls = CASE WHEN NEW.enabled THEN 0 ELSE 1 END, until = NEW.access_expires_at,
                      expires = NEW.access_expires_at, enabled = NEW.enabled
    WHERE entry_id = NEW.id;
END;

-- Not done by Gatehouse today; kept correct anyway.
CREATE TRIGGER roster_membership_move AFTER UPDATE OF id, organization_id, account_id ON memberships BEGIN
    DELETE FROM roster WHERE entry_id = OLD.id;
    INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                        roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
    SELECT o.org, NEW.id, 0, a.email, a.email_norm, a.given_name, a.family_name, a.sort_name, (SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = NEW.id AND g.workspace_id IS NULL),
           lower(coalesce((SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = NEW.id AND g.workspace_id IS NULL), '')), EXISTS (SELECT 1 FROM access_grants g WHERE g.membership_id = NEW.id AND g.workspace_id IS NULL AND (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL)), CASE WHEN NEW.enabled THEN 0 ELSE 1 END, NEW.access_expires_at,
           NEW.access_expires_at, a.email_confirmed, NEW.enabled, a.created_at, a.last_login_at
    FROM accounts a, roster_orgs o WHERE a.id = NEW.account_id AND o.organization_id = NEW.organization_id;
END;

CREATE TRIGGER roster_membership_delete AFTER DELETE ON memberships BEGIN
    DELETE FROM roster WHERE entry_id = OLD.id;
END;

-- ---------------------------------------------------------------- accounts

CREATE TRIGGER roster_account_update
AFTER UPDATE OF email, email_norm, given_name, family_name, sort_name, email_confirmed, created_at, last_login_at ON accounts BEGIN
    UPDATE roster SET email = NEW.email, email_norm = NEW.email_norm, given_name = NEW.given_name,
                      family_name = NEW.family_name, sort_name = NEW.sort_name, confirmed = NEW.email_confirmed,
                      created_at = NEW.created_at, last_login_at = NEW.last_login_at
    WHERE entry_id IN (SELECT id FROM memberships WHERE account_id = NEW.id);
END;

-- ---------------------------------------------------------------- organization-scope grants of members

CREATE TRIGGER roster_grant_insert AFTER INSERT ON access_grants
WHEN NEW.membership_id IS NOT NULL AND NEW.workspace_id IS NULL
     AND NOT EXISTS (SELECT 1 FROM roster_orgs WHERE organization_id = NEW.organization_id AND deferred = 1) BEGIN
    UPDATE roster SET roles = (SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = NEW.membership_id AND g.workspace_id IS NULL),
                      roles_key = lower(coalesce((SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = NEW.membership_id AND g.workspace_id IS NULL), '')),
                      roles_timed = EXISTS (SELECT 1 FROM access_grants g WHERE g.membership_id = NEW.membership_id AND g.workspace_id IS NULL AND (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL))
    WHERE entry_id = NEW.membership_id;
END;

CREATE TRIGGER roster_grant_delete AFTER DELETE ON access_grants
WHEN OLD.membership_id IS NOT NULL AND OLD.workspace_id IS NULL BEGIN
    UPDATE roster SET roles = (SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = OLD.membership_id AND g.workspace_id IS NULL),
                      roles_key = lower(coalesce((SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = OLD.membership_id AND g.workspace_id IS NULL), '')),
                      roles_timed = EXISTS (SELECT 1 FROM access_grants g WHERE g.membership_id = OLD.membership_id AND g.workspace_id IS NULL AND (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL))
    WHERE entry_id = OLD.membership_id;
END;

CREATE TRIGGER roster_grant_update AFTER UPDATE OF membership_id, role_id, workspace_id, valid_from, expires_at ON access_grants BEGIN
    UPDATE roster SET roles = (SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = roster.entry_id AND g.workspace_id IS NULL),
                      roles_key = lower(coalesce((SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = roster.entry_id AND g.workspace_id IS NULL), '')),
                      roles_timed = EXISTS (SELECT 1 FROM access_grants g WHERE g.membership_id = roster.entry_id AND g.workspace_id IS NULL AND (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL))
    WHERE entry_id IN (OLD.membership_id, NEW.membership_id);
END;

-- ---------------------------------------------------------------- invitations

CREATE TRIGGER roster_invitation_insert AFTER INSERT ON invitations
WHEN NEW.status IN ('open', 'rejected') AND NOT EXISTS (SELECT 1 FROM roster_orgs WHERE organization_id = NEW.organization_id AND deferred = 1) BEGIN
    INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                        roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
    SELECT o.org, NEW.id, 1, NEW.email, NEW.email_norm, '', '', '', r.name, lower(r.name), 0,
           CASE WHEN NEW.status = 'open' THEN 2 ELSE 3 END, CASE WHEN NEW.status = 'open' THEN NEW.valid_until END,
           NEW.access_expires_at, 0, 0, NEW.created_at, NULL
    FROM roles r, roster_orgs o WHERE r.id = NEW.role_id AND o.organization_id = NEW.organization_id;
END;

CREATE TRIGGER roster_invitation_update
AFTER UPDATE OF id, organization_id, email, email_norm, role_id, access_expires_at, valid_until, status, created_at ON invitations BEGIN
    DELETE FROM roster WHERE entry_id = OLD.id;
    INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                        roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
    SELECT o.org, NEW.id, 1, NEW.email, NEW.email_norm, '', '', '', r.name, lower(r.name), 0,
           CASE WHEN NEW.status = 'open' THEN 2 ELSE 3 END, CASE WHEN NEW.status = 'open' THEN NEW.valid_until END,
           NEW.access_expires_at, 0, 0, NEW.created_at, NULL
    FROM roles r, roster_orgs o
    WHERE r.id = NEW.role_id AND o.organization_id = NEW.organization_id AND NEW.status IN ('open', 'rejected');
END;

CREATE TRIGGER roster_invitation_delete AFTER DELETE ON invitations BEGIN
    DELETE FROM roster WHERE entry_id = OLD.id;
END;

-- ---------------------------------------------------------------- roles (names are not changed today)

CREATE TRIGGER roster_role_rename AFTER UPDATE OF name ON roles BEGIN
    UPDATE roster SET roles = NEW.name, roles_key = lower(NEW.name)
    WHERE entry_id IN (SELECT id FROM invitations WHERE role_id = NEW.id AND status IN ('open', 'rejected'));
    UPDATE roster SET roles = (SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = roster.entry_id AND g.workspace_id IS NULL),
                      roles_key = lower(coalesce((SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = roster.entry_id AND g.workspace_id IS NULL), '')),
                      roles_timed = EXISTS (SELECT 1 FROM access_grants g WHERE g.membership_id = roster.entry_id AND g.workspace_id IS NULL AND (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL))
    WHERE entry_id IN (SELECT membership_id FROM access_grants WHERE role_id = NEW.id AND workspace_id IS NULL AND membership_id IS NOT NULL);
END;
