-- Team accounts, the first-admin setup link, and the audit log.
-- Times are UTC, stored as RFC 3339 text.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    language      TEXT    NOT NULL DEFAULT 'cs' CHECK (language IN ('cs', 'en')),
    -- Bumped when the password is reset or the account disabled: older sessions stop working.
    auth_version  INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

-- One-time links that create the first admin. Only a hash of the token is stored.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users (id),
    -- Kept as text so the entry stays readable whatever happens to the account later.
    actor_email   TEXT,
    action        TEXT NOT NULL,
    target        TEXT,
    details       TEXT,
    client_addr   TEXT
);
