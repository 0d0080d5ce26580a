-- memberships_org_enabled (0002) served the member list before the roster (0003) did. Nothing
-- filters memberships by organization and `enabled` any more: the statements that ask for an
-- organization's memberships are planned on the UNIQUE (organization_id, account_id) index alike.
-- Yet every enable or disable moved its entry, at a random place: on a 1M `demo`, a disable of
-- 10,000 wrote 32,478 pages to the WAL with it and 27,526 without (-15 %); 2,870,018 VM steps
-- against 2,990,019. Dropping it takes 0.1 s at 1M. PostgreSQL keeps its twin (not measured there).
DROP INDEX memberships_org_enabled;
