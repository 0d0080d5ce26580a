-- The roster's status counters (roster_counts) follow the roster once per statement instead of once
-- per row. 0001's row triggers added or took 1 for every roster row written: a statement that
-- writes many rows (store::roster::rebuild after `demo`, a bulk invite's rows, a bulk disable)
-- updated the same few counter rows once per row, and inside one transaction every update of a row
-- walks the versions the earlier ones left: `demo` of 100k members on PostgreSQL wrote 706 rows/s.
-- These triggers read the statement's rows (transition tables), count them per (org, roles_key,
-- cls) and change each counter once. What they count is what 0001's counted, for every path that
-- writes the roster, so nothing has to turn them off (ALTER TABLE … DISABLE TRIGGER, which
-- `migrate --to` did, locks the table against every reader of a live database).
-- Append-only: change the schema with a new file, never by editing this one.

DROP TRIGGER roster_counts_insert ON roster;
DROP TRIGGER roster_counts_delete ON roster;
DROP TRIGGER roster_counts_update ON roster;
DROP FUNCTION roster_counts_follow();

-- Rows added: each counter up by its rows (made when it is new).
CREATE FUNCTION roster_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO roster_counts (org, roles_key, cls, n)
    SELECT org, roles_key, cls, count(*) FROM roster_added GROUP BY org, roles_key, cls
    ON CONFLICT (org, roles_key, cls) DO UPDATE SET n = roster_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE TRIGGER roster_counts_insert AFTER INSERT ON roster
    REFERENCING NEW TABLE AS roster_added
    FOR EACH STATEMENT EXECUTE FUNCTION roster_counts_added();

-- Rows removed: each counter that exists down by its rows (an organization being deleted has
-- lost its counters already: nothing is made for it, as 0001's UPDATE made nothing).
CREATE FUNCTION roster_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE roster_counts c SET n = c.n - d.n
    FROM (SELECT org, roles_key, cls, count(*) AS n FROM roster_removed GROUP BY org, roles_key, cls) d
    WHERE c.org = d.org AND c.roles_key = d.roles_key AND c.cls = d.cls;
    RETURN NULL;
END $$;
CREATE TRIGGER roster_counts_delete AFTER DELETE ON roster
    REFERENCING OLD TABLE AS roster_removed
    FOR EACH STATEMENT EXECUTE FUNCTION roster_counts_removed();

-- Rows changed: the difference per counter, old rows out and new rows in; a statement that
-- changed no counted column (a last login, a name) nets to nothing and writes nothing. A
-- transition table cannot go with a column list (`UPDATE OF …`), so this runs after every UPDATE
-- of the roster, and the netting does what 0001's column list and WHEN did.
CREATE FUNCTION roster_counts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A counter is either lowered or raised (the moves are summed per counter), so the UPDATE and
    -- the INSERT of this one statement never touch the same row.
    WITH moved AS (
        SELECT org, roles_key, cls, sum(n) AS n FROM (
            SELECT org, roles_key, cls, 1 AS n FROM roster_changed_new
            UNION ALL
            SELECT org, roles_key, cls, -1 FROM roster_changed_old
        ) moves
        GROUP BY org, roles_key, cls HAVING sum(n) <> 0
    ), lowered AS (
        UPDATE roster_counts c SET n = c.n + d.n FROM moved d
        WHERE d.n < 0 AND c.org = d.org AND c.roles_key = d.roles_key AND c.cls = d.cls
    )
    INSERT INTO roster_counts (org, roles_key, cls, n)
    SELECT org, roles_key, cls, n FROM moved WHERE n > 0
    ON CONFLICT (org, roles_key, cls) DO UPDATE SET n = roster_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE TRIGGER roster_counts_update AFTER UPDATE ON roster
    REFERENCING OLD TABLE AS roster_changed_old NEW TABLE AS roster_changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION roster_counts_changed();
