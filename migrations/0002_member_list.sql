-- Indexes for the member list's sorts and filters (search, status, role) at a million members.
CREATE INDEX accounts_sort_name ON accounts(sort_name, email_norm);
CREATE INDEX accounts_created ON accounts(created_at, email_norm);
CREATE INDEX memberships_org_enabled ON memberships(organization_id, enabled, access_expires_at);
CREATE INDEX invitations_org_status ON invitations(organization_id, status, valid_until);
