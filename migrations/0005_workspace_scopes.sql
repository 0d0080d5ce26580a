-- Scopes (PRODUCT.md rule 11) and who a service account counts as (rule 9).

-- How an organization's scopes relate: 'separate' (the default: an organization role gives nothing
-- inside a workspace, a workspace grant gives no organization permission) or 'inherit' (organization
-- roles apply in every workspace too). Organizations that exist already keep what they had, which
-- was 'inherit'.
ALTER TABLE organizations ADD COLUMN workspace_access TEXT NOT NULL DEFAULT 'separate'
    CHECK (workspace_access IN ('separate', 'inherit'));
UPDATE organizations SET workspace_access = 'inherit';

-- An invitation to one workspace only: accepting it makes a membership whose only grant is the
-- invitation's role in that workspace. NULL: an invitation to the organization.
ALTER TABLE invitations ADD COLUMN workspace_id TEXT REFERENCES workspaces(id) ON DELETE CASCADE;

-- The person a service account counts as (its creator, or the person a creating service account
-- counted as): it may not act on that person in any way they could not act on themselves.
-- created_by stays the label shown in the audit log.
ALTER TABLE service_accounts ADD COLUMN created_by_account TEXT REFERENCES accounts(id) ON DELETE SET NULL;
UPDATE service_accounts SET created_by_account =
    (SELECT a.id FROM accounts a WHERE a.email = service_accounts.created_by OR a.email_norm = lower(trim(service_accounts.created_by)) LIMIT 1);
-- A service account made by another service account counts as the person that one counted as.
UPDATE service_accounts SET created_by_account =
    (SELECT s2.created_by_account FROM service_accounts s2
     WHERE s2.organization_id = service_accounts.organization_id AND 'service-account:' || s2.name = service_accounts.created_by)
WHERE created_by_account IS NULL AND created_by LIKE 'service-account:%';
