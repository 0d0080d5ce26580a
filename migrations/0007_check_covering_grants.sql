-- `check` reads the grants of the person asked and of the caller by membership: their role and
-- times came from the table row, one more page of a random person per check. With them in the
-- index the grants are read from the index alone, as on PostgreSQL since its 0001 (INCLUDE), so
-- there is no PostgreSQL twin. Same name and leading columns: what used the old index uses this one.
-- check_parts at 100k, same binary, this file against one without (load 10-12): a computed check
-- 0.82-0.92x, a kept answer's miss 0.81-0.92x.
DROP INDEX access_grants_membership;
CREATE INDEX access_grants_membership ON access_grants(membership_id, workspace_id, role_id, valid_from, expires_at);
