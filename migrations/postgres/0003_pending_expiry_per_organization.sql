-- The expiry sweep at the start of a write looks only at the organizations the write locks (issue
-- 12): a write in one organization must not read, and throw away, the expiries another
-- organization has waiting (8,000 of them cost every write elsewhere 68 ms at 100k). These indexes
-- hold the same rows as the *_pending_expiry ones (expiries not yet recorded), keyed by
-- organization first, so that an organization's earliest pending expiry is one index probe and its
-- due expiries one range. The *_pending_expiry indexes stay for the sweeps over every organization
-- (the front doors' `orgs_with_unrecorded_expiry`, whole-database writes). SQLite has no twin: it
-- has one write lock per file, and its writes sweep every organization.
-- Append-only: change the schema with a new file, never by editing this one.

CREATE INDEX access_grants_org_pending_expiry ON access_grants (organization_id NULLS FIRST, expires_at NULLS FIRST)
    WHERE expires_at IS NOT NULL AND expiry_recorded = 0;
CREATE INDEX memberships_org_pending_expiry ON memberships (organization_id NULLS FIRST, access_expires_at NULLS FIRST)
    WHERE access_expires_at IS NOT NULL AND expiry_recorded = 0;
