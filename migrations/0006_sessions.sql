-- Sessions of people signed in to the local service (`gatehouse serve`, POST /v1/sessions).
-- The bearer token is shown once; only its SHA-256 is kept, like every token. A session ends at
-- `expires_at` or when revoked (DELETE /v1/sessions/current); the person's rights are still
-- computed afresh on every request, so a session never carries a role.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE INDEX sessions_account ON sessions (account_id);
