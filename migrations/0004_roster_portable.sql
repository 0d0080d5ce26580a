-- The roster triggers of 0003, rewritten so that SQLite 3.37 and later can read the schema, and
-- the name sort key of a row without a name is its email.
--
-- 1. `group_concat(x, ',' ORDER BY …)` is SQLite 3.44+: Debian 12's sqlite3 (3.40) and Python's
--    sqlite3 module refuse to open a database whose schema holds it ("malformed database schema").
--    The roles of a membership are now concatenated from a subquery ordered by name (NOCASE; names
--    are unique NOCASE within an organization, so the order is total). SQLite keeps the ORDER BY of
--    a FROM-clause subquery whose outer query uses an aggregate other than count/min/max, so the
--    order stays deterministic. One pass computes roles, roles_key and roles_timed together.
-- 2. roster.sort_name (the `--sort name` key, also searched) falls back to the email when a row has
--    no name: invitations, and accounts with an empty name. Before, every invitation sorted first
--    with '' and page 1 of the name sort skipped them one by one.
--
-- Statements that run at query time (store::roster, usecases::members) may use newer syntax: they
-- run on the bundled SQLite only; the schema is what other tools must parse.

DROP TRIGGER roster_membership_insert;
DROP TRIGGER roster_membership_move;
DROP TRIGGER roster_account_update;
DROP TRIGGER roster_grant_insert;
DROP TRIGGER roster_grant_delete;
DROP TRIGGER roster_grant_update;
DROP TRIGGER roster_invitation_insert;
DROP TRIGGER roster_invitation_update;
DROP TRIGGER roster_role_rename;

UPDATE roster SET sort_name = email_norm WHERE sort_name = '';

-- ---------------------------------------------------------------- memberships

CREATE TRIGGER roster_membership_insert AFTER INSERT ON memberships
WHEN NOT EXISTS (SELECT 1 FROM roster_orgs WHERE organization_id = NEW.organization_id AND deferred = 1) BEGIN
    INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                        roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
    SELECT o.org, NEW.id, 0, a.email, a.email_norm, a.given_name, a.family_name,
           CASE WHEN a.sort_name = '' THEN a.email_norm ELSE a.sort_name END, x.roles, x.roles_key, x.roles_timed,
           CASE WHEN NEW.enabled THEN 0 ELSE 1 END, NEW.access_expires_at, NEW.access_expires_at, a.email_confirmed,
           NEW.enabled, a.created_at, a.last_login_at
    FROM accounts a, roster_orgs o,
         (SELECT group_concat(name, ',') AS roles, coalesce(lower(group_concat(name, ',')), '') AS roles_key,
                 coalesce(max(timed), 0) AS roles_timed
          FROM (SELECT r.name AS name, (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL) AS timed
                FROM access_grants g JOIN roles r ON r.id = g.role_id
                WHERE g.membership_id = NEW.id AND g.workspace_id IS NULL ORDER BY r.name COLLATE NOCASE)) x
    WHERE a.id = NEW.account_id AND o.organization_id = NEW.organization_id;
END;

-- Not done by Gatehouse today; kept correct anyway.
CREATE TRIGGER roster_membership_move AFTER UPDATE OF id, organization_id, account_id ON memberships BEGIN
    DELETE FROM roster WHERE entry_id = OLD.id;
    INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                        roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
    SELECT o.org, NEW.id, 0, a.email, a.email_norm, a.given_name, a.family_name,
           CASE WHEN a.sort_name = '' THEN a.email_norm ELSE a.sort_name END, x.roles, x.roles_key, x.roles_timed,
           CASE WHEN NEW.enabled THEN 0 ELSE 1 END, NEW.access_expires_at, NEW.access_expires_at, a.email_confirmed,
           NEW.enabled, a.created_at, a.last_login_at
    FROM accounts a, roster_orgs o,
         (SELECT group_concat(name, ',') AS roles, coalesce(lower(group_concat(name, ',')), '') AS roles_key,
                 coalesce(max(timed), 0) AS roles_timed
          FROM (SELECT r.name AS name, (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL) AS timed
                FROM access_grants g JOIN roles r ON r.id = g.role_id
                WHERE g.membership_id = NEW.id AND g.workspace_id IS NULL ORDER BY r.name COLLATE NOCASE)) x
    WHERE a.id = NEW.account_id AND o.organization_id = NEW.organization_id;
END;

-- ---------------------------------------------------------------- accounts

CREATE TRIGGER roster_account_update
AFTER UPDATE OF email, email_norm, given_name, family_name, sort_name, email_confirmed, created_at, last_login_at ON accounts BEGIN
    UPDATE roster SET email = NEW.email, email_norm = NEW.email_norm, given_name = NEW.given_name,
                      family_name = NEW.family_name,
                      sort_name = CASE WHEN NEW.sort_name = '' THEN NEW.email_norm ELSE NEW.sort_name END,
                      confirmed = NEW.email_confirmed, created_at = NEW.created_at, last_login_at = NEW.last_login_at
    WHERE entry_id IN (SELECT id FROM memberships WHERE account_id = NEW.id);
END;

-- ---------------------------------------------------------------- organization-scope grants of members

CREATE TRIGGER roster_grant_insert AFTER INSERT ON access_grants
WHEN NEW.membership_id IS NOT NULL AND NEW.workspace_id IS NULL
     AND NOT EXISTS (SELECT 1 FROM roster_orgs WHERE organization_id = NEW.organization_id AND deferred = 1) BEGIN
    UPDATE roster SET (roles, roles_key, roles_timed) =
        (SELECT group_concat(name, ','), coalesce(lower(group_concat(name, ',')), ''), coalesce(max(timed), 0)
         FROM (SELECT r.name AS name, (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL) AS timed
               FROM access_grants g JOIN roles r ON r.id = g.role_id
               WHERE g.membership_id = NEW.membership_id AND g.workspace_id IS NULL ORDER BY r.name COLLATE NOCASE))
    WHERE entry_id = NEW.membership_id;
END;

CREATE TRIGGER roster_grant_delete AFTER DELETE ON access_grants
WHEN OLD.membership_id IS NOT NULL AND OLD.workspace_id IS NULL BEGIN
    UPDATE roster SET (roles, roles_key, roles_timed) =
        (SELECT group_concat(name, ','), coalesce(lower(group_concat(name, ',')), ''), coalesce(max(timed), 0)
         FROM (SELECT r.name AS name, (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL) AS timed
               FROM access_grants g JOIN roles r ON r.id = g.role_id
               WHERE g.membership_id = OLD.membership_id AND g.workspace_id IS NULL ORDER BY r.name COLLATE NOCASE))
    WHERE entry_id = OLD.membership_id;
END;

CREATE TRIGGER roster_grant_update AFTER UPDATE OF membership_id, role_id, workspace_id, valid_from, expires_at ON access_grants BEGIN
    UPDATE roster SET (roles, roles_key, roles_timed) =
        (SELECT group_concat(name, ','), coalesce(lower(group_concat(name, ',')), ''), coalesce(max(timed), 0)
         FROM (SELECT r.name AS name, (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL) AS timed
               FROM access_grants g JOIN roles r ON r.id = g.role_id
               WHERE g.membership_id = roster.entry_id AND g.workspace_id IS NULL ORDER BY r.name COLLATE NOCASE))
    WHERE entry_id IN (OLD.membership_id, NEW.membership_id);
END;

-- ---------------------------------------------------------------- invitations

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

-- ---------------------------------------------------------------- roles (names are not changed today)

CREATE TRIGGER roster_role_rename AFTER UPDATE OF name ON roles BEGIN
    UPDATE roster SET roles = NEW.name, roles_key = lower(NEW.name)
    WHERE entry_id IN (SELECT id FROM invitations WHERE role_id = NEW.id AND status IN ('open', 'rejected'));
    UPDATE roster SET (roles, roles_key, roles_timed) =
        (SELECT group_concat(name, ','), coalesce(lower(group_concat(name, ',')), ''), coalesce(max(timed), 0)
         FROM (SELECT r.name AS name, (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL) AS timed
               FROM access_grants g JOIN roles r ON r.id = g.role_id
               WHERE g.membership_id = roster.entry_id AND g.workspace_id IS NULL ORDER BY r.name COLLATE NOCASE))
    WHERE entry_id IN (SELECT membership_id FROM access_grants WHERE role_id = NEW.id AND workspace_id IS NULL AND membership_id IS NOT NULL);
END;
