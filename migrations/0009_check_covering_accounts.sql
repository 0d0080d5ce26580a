-- `check` finds the person asked by email and then their membership by the account's id: with the
-- unique index on email alone that is an index page and then the account's table row, one more
-- B-tree descent into a random person's pages per computed check. With the id in an index by
-- email, the account is read from the index alone. `rights::asked_at_once` names it (INDEXED BY):
-- without statistics SQLite's planner prefers the unique index. On a 1M demo file, the person's
-- lookup fetched 19.1 pages (8.7 cache misses) and fetches 16.1 (7.3) with it.
-- The membership's row is still read: an index by account carrying `enabled` and the expiry saved
-- 3 more pages, but would move an entry on every enable and disable (which 0008 took away from
-- bulk disables). No PostgreSQL twin: indexes for SQLite's planner only.
CREATE INDEX accounts_email_id ON accounts(email_norm, id);
