-- Connected accounts: one FAPI account paired with one SmartEmailing account.
-- API keys and the webhook token are stored encrypted (AES-256-GCM, nonce || ciphertext);
-- the webhook token is looked up by its SHA-256 hash.

CREATE TABLE connections (
    id                    INTEGER PRIMARY KEY,
    name                  TEXT    NOT NULL,
    eshop_name            TEXT    NOT NULL,
    fapi_login            TEXT    NOT NULL,
    fapi_api_key          BLOB    NOT NULL,
    se_username           TEXT    NOT NULL,
    se_api_key            BLOB    NOT NULL,
    webhook_token         BLOB    NOT NULL,
    webhook_token_hash    TEXT    NOT NULL UNIQUE,
    forwarding_enabled    INTEGER NOT NULL DEFAULT 0 CHECK (forwarding_enabled IN (0, 1)),
    -- The moment forwarding was last switched on; orders created before it are not forwarded.
    forwarding_enabled_at TEXT,
    default_list_id       INTEGER,
    default_list_name     TEXT,
    -- Result of the latest live credential check, per side: 'ok', 'wrong_credentials',
    -- 'unreachable', 'timeout' or 'failed', with the provider's message.
    fapi_checked_at       TEXT,
    fapi_check            TEXT,
    fapi_check_message    TEXT,
    se_checked_at         TEXT,
    se_check              TEXT,
    se_check_message      TEXT,
    created_at            TEXT    NOT NULL,
    updated_at            TEXT    NOT NULL,
    -- Deleted connections stay, so the history of their orders remains readable.
    deleted_at            TEXT
);

CREATE UNIQUE INDEX connections_live_name ON connections (name) WHERE deleted_at IS NULL;
