-- Alerts by e-mail and in the app, the e-mail outbox, and the reminders' calendar.

-- Every e-mail the bridge sends goes through this table: a worker sends what is due, retries
-- with backoff and records the server's answer, so a restart loses none.
CREATE TABLE emails (
    id              INTEGER PRIMARY KEY,
    -- test, alert, invitation
    kind            TEXT    NOT NULL,
    to_address      TEXT    NOT NULL,
    user_id         INTEGER REFERENCES users (id),
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    -- An iCalendar attachment and its method (REQUEST, CANCEL), if any.
    calendar        TEXT,
    calendar_method TEXT,
    -- The reminder an invitation is about: its cancellation goes to the same people.
    reminder_id     INTEGER REFERENCES reminders (id),
    status          TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT
);
CREATE INDEX emails_due ON emails (next_attempt_at) WHERE status = 'queued';

-- What the team was told: the bell lists these, e-mails are made from them.
CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY,
    -- failed_orders, credentials, notifications_missing, historical_run, reminder
    kind          TEXT    NOT NULL,
    -- 1: the condition this kind reports has ended.
    resolved      INTEGER NOT NULL DEFAULT 0 CHECK (resolved IN (0, 1)),
    connection_id INTEGER REFERENCES connections (id),
    -- Only this user sees it (the person who started a historical sync); NULL: the team.
    user_id       INTEGER REFERENCES users (id),
    -- The facts the texts are made from (JSON).
    details       TEXT    NOT NULL,
    -- One alert per event (a run, a reminder); NULL for conditions and digests.
    dedup_key     TEXT    UNIQUE,
    created_at    TEXT    NOT NULL
);

-- Conditions that are alerting now: the same condition never alerts twice while it lasts.
CREATE TABLE alert_conditions (
    kind          TEXT    NOT NULL,
    connection_id INTEGER NOT NULL REFERENCES connections (id),
    since         TEXT    NOT NULL,
    PRIMARY KEY (kind, connection_id)
);

-- The failed-orders digest of each connection: when it was last sent (at most one an hour).
CREATE TABLE failed_order_digests (
    connection_id INTEGER PRIMARY KEY REFERENCES connections (id),
    sent_at       TEXT    NOT NULL
);
-- When a digest last told this order's failure; a later failure (updated_at) is told again.
ALTER TABLE orders ADD COLUMN failure_alerted_at TEXT;

-- Each user's choice of alerts by e-mail; a kind without a row takes the role's default.
CREATE TABLE alert_preferences (
    user_id INTEGER NOT NULL REFERENCES users (id),
    kind    TEXT    NOT NULL,
    email   INTEGER NOT NULL CHECK (email IN (0, 1)),
    PRIMARY KEY (user_id, kind)
);

-- The bell: alerts up to this id have been read.
ALTER TABLE users ADD COLUMN alerts_read_up_to INTEGER NOT NULL DEFAULT 0;
-- The personal calendar feed (/calendar/<secret>.ics): a hash of the secret, or NULL.
ALTER TABLE users ADD COLUMN calendar_token_hash TEXT;
CREATE UNIQUE INDEX users_calendar_token ON users (calendar_token_hash)
    WHERE calendar_token_hash IS NOT NULL;

-- iCalendar's SEQUENCE of the reminder's event: bumped when it is cancelled.
ALTER TABLE reminders ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0;

-- The "notifications are not arriving" check counts what reconciliation found per connection.
CREATE INDEX orders_by_source ON orders (connection_id, source, first_seen_at);
CREATE INDEX emails_by_reminder ON emails (reminder_id) WHERE reminder_id IS NOT NULL;
