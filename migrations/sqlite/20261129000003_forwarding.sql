-- Forwarding: notifications received, FAPI orders and their documents, attempts to push them
-- to SmartEmailing, and sync runs. The `notifications` and `orders` tables are also the durable
-- work queues (status + next_attempt_at + locked_until).

CREATE TABLE notifications (
    id             INTEGER PRIMARY KEY,
    connection_id  INTEGER NOT NULL REFERENCES connections (id),
    received_at    TEXT    NOT NULL,
    content_type   TEXT,
    remote_addr    TEXT,
    user_agent     TEXT,
    raw_body       TEXT    NOT NULL,
    -- Parsed fields; NULL when missing or malformed (then status is 'invalid').
    invoice_id     INTEGER,
    notified_time  TEXT,
    security       TEXT,
    -- queued, processing, processed, rejected, invalid, forwarding_off, failed
    status         TEXT    NOT NULL,
    status_reason  TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    processed_at   TEXT,
    order_id       INTEGER REFERENCES orders (id)
);
CREATE INDEX notifications_queue ON notifications (status, next_attempt_at);
CREATE INDEX notifications_by_connection ON notifications (connection_id, id);

-- One row per FAPI order (per connection): what SmartEmailing should hold, and whether it does.
CREATE TABLE orders (
    id              INTEGER PRIMARY KEY,
    connection_id   INTEGER NOT NULL REFERENCES connections (id),
    -- FAPI's order id (new_order), else 'doc-<first document id>'.
    order_key       TEXT    NOT NULL,
    -- The SmartEmailing e-shop code; fixed when the order is first seen.
    eshop_code      TEXT    NOT NULL,
    customer_email  TEXT,
    total           TEXT,
    currency        TEXT,
    -- unpaid, paid, cancelled (aggregated over the documents, only moves forward)
    fapi_state      TEXT    NOT NULL,
    -- The state SmartEmailing holds (after the last successful push).
    synced_state    TEXT,
    -- pending, synced, failed, skipped
    sync_status     TEXT    NOT NULL,
    status_reason   TEXT,
    -- webhook, reconciliation, historical-sync: how the order first arrived.
    source          TEXT    NOT NULL,
    fapi_created_at TEXT,
    fapi_numbers    TEXT,
    -- The exact order and contact last built for SmartEmailing (JSON), and their fingerprint.
    payload         TEXT,
    payload_hash    TEXT,
    synced_hash     TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    locked_until    TEXT,
    last_attempt_at TEXT,
    first_seen_at   TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    UNIQUE (connection_id, order_key)
);
CREATE INDEX orders_queue ON orders (sync_status, next_attempt_at);
CREATE INDEX orders_by_connection ON orders (connection_id, id);
CREATE INDEX orders_by_status ON orders (sync_status, id);
CREATE INDEX orders_by_email ON orders (customer_email, id);
CREATE INDEX orders_by_created ON orders (fapi_created_at, id);

-- The FAPI documents of each order, as last fetched.
CREATE TABLE order_documents (
    connection_id    INTEGER NOT NULL REFERENCES connections (id),
    invoice_id       INTEGER NOT NULL,
    order_id         INTEGER NOT NULL REFERENCES orders (id),
    number           TEXT,
    kind             TEXT    NOT NULL,
    last_modified_on TEXT,
    raw              TEXT    NOT NULL,
    fetched_at       TEXT    NOT NULL,
    PRIMARY KEY (connection_id, invoice_id)
);
CREATE INDEX order_documents_by_order ON order_documents (order_id);
CREATE INDEX order_documents_by_number ON order_documents (number);

-- Every push of an order to SmartEmailing, with the provider's answer.
CREATE TABLE order_attempts (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders (id),
    at          TEXT    NOT NULL,
    -- synced, retry, failed
    outcome     TEXT    NOT NULL,
    http_status INTEGER,
    message     TEXT,
    payload_hash TEXT
);
CREATE INDEX order_attempts_by_order ON order_attempts (order_id, id);

-- Reconciliations (and, later, historical syncs): who or what started them, and counts.
CREATE TABLE sync_runs (
    id            INTEGER PRIMARY KEY,
    connection_id INTEGER NOT NULL REFERENCES connections (id),
    kind          TEXT    NOT NULL,
    started_by    TEXT    NOT NULL,
    started_at    TEXT    NOT NULL,
    finished_at   TEXT,
    -- running, completed, failed (later also paused, cancelled)
    status        TEXT    NOT NULL,
    status_reason TEXT,
    total         INTEGER,
    seen          INTEGER NOT NULL DEFAULT 0,
    created       INTEGER NOT NULL DEFAULT 0,
    updated       INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sync_runs_by_connection ON sync_runs (connection_id, id);

-- Reconciliation's cursor: documents changed after this moment were looked at.
ALTER TABLE connections ADD COLUMN reconciled_until TEXT;
