-- Engagement reminders. "Due" is derived (scheduled and due_at has passed), so a reminder that
-- fell due while the server was down is due when it starts again.
CREATE TABLE reminders (
    id            INTEGER PRIMARY KEY,
    connection_id INTEGER NOT NULL REFERENCES connections (id),
    due_at        TEXT    NOT NULL,
    note          TEXT,
    -- The completed historical sync the due time was computed from; NULL: from the moment of
    -- scheduling.
    after_run     INTEGER REFERENCES sync_runs (id),
    created_by    TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    -- scheduled, done, cancelled
    status        TEXT    NOT NULL CHECK (status IN ('scheduled', 'done', 'cancelled')),
    finished_by   TEXT,
    finished_at   TEXT
);
-- One scheduled reminder per connection and due time: scheduling twice acts once.
CREATE UNIQUE INDEX reminders_one_per_due_time ON reminders (connection_id, due_at)
    WHERE status = 'scheduled';
CREATE INDEX reminders_by_status ON reminders (status, due_at);

-- The overview counts waiting and failed orders per connection.
CREATE INDEX orders_by_connection_status ON orders (connection_id, sync_status);
