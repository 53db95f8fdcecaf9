-- Buyers the bridge sent orders for, per connection, and whether SmartEmailing has them in a
-- list. The Contacts page lists those checked and found in none.
CREATE TABLE contacts (
    id             INTEGER PRIMARY KEY,
    connection_id  INTEGER NOT NULL REFERENCES connections (id),
    -- As sent to SmartEmailing (orders.customer_email); after a GDPR delete a marker
    -- 'forgotten-<id>@invalid'.
    email          TEXT    NOT NULL,
    name           TEXT,
    se_contact_id  INTEGER,
    -- 1: confirmed in at least one list; 0: in none; NULL: not checked yet.
    in_list        INTEGER,
    blacklisted    INTEGER NOT NULL DEFAULT 0,
    checked_at     TEXT,
    -- 1 after the contact's orders were synced: look the contact up in SmartEmailing.
    check_due      INTEGER NOT NULL DEFAULT 1,
    forgotten_at   TEXT,
    UNIQUE (connection_id, email)
);
CREATE INDEX contacts_by_state ON contacts (connection_id, in_list, blacklisted, forgotten_at);
CREATE INDEX contacts_check_due ON contacts (connection_id) WHERE check_due = 1;

-- Refreshes from SmartEmailing and bulk actions (move, blacklist, delete): durable jobs.
CREATE TABLE contact_jobs (
    id            INTEGER PRIMARY KEY,
    connection_id INTEGER NOT NULL REFERENCES connections (id),
    kind          TEXT    NOT NULL CHECK (kind IN ('refresh', 'move', 'blacklist', 'delete')),
    list_id       INTEGER,
    list_name     TEXT,
    -- The form's one-time key: a double submit or a retried request finds the same job.
    request_key   TEXT    UNIQUE,
    started_by    TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    -- queued, running, completed, failed
    status        TEXT    NOT NULL,
    status_reason TEXT,
    total         INTEGER,
    done          INTEGER NOT NULL DEFAULT 0,
    succeeded     INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    -- refresh: the next SmartEmailing offset
    cursor        INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,
    finished_at   TEXT
);
CREATE INDEX contact_jobs_by_status ON contact_jobs (status, id);
CREATE INDEX contact_jobs_by_connection ON contact_jobs (connection_id, id);

-- The contacts of a bulk action and what happened to each.
CREATE TABLE contact_job_items (
    job_id     INTEGER NOT NULL REFERENCES contact_jobs (id),
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    email      TEXT    NOT NULL,
    -- pending, done, failed
    status     TEXT    NOT NULL,
    message    TEXT,
    PRIMARY KEY (job_id, contact_id)
);
CREATE INDEX contact_job_items_by_status ON contact_job_items (job_id, status);
