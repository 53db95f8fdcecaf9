-- Historical sync: resumable runs with a checkpoint after every page.

ALTER TABLE sync_runs ADD COLUMN since TEXT;
-- Offset of the next FAPI page to fetch (documents ordered by id).
ALTER TABLE sync_runs ADD COLUMN cursor INTEGER NOT NULL DEFAULT 0;
-- counting, fetching, sending, done
ALTER TABLE sync_runs ADD COLUMN phase TEXT;
-- A pause or cancel asked for by a user, applied by the job between pages.
ALTER TABLE sync_runs ADD COLUMN requested TEXT;
ALTER TABLE sync_runs ADD COLUMN progress_at TEXT;
-- Documents fetched so far (the total is FAPI's count of documents).
ALTER TABLE sync_runs ADD COLUMN documents INTEGER NOT NULL DEFAULT 0;

-- At most one historical sync per connection that is not finished.
CREATE UNIQUE INDEX sync_runs_one_active_historical ON sync_runs (connection_id)
    WHERE kind = 'historical' AND status IN ('running', 'paused');
CREATE INDEX sync_runs_by_kind ON sync_runs (kind, id);

-- The historical run that queued an order's current content.
ALTER TABLE orders ADD COLUMN run_id INTEGER REFERENCES sync_runs (id);
CREATE INDEX orders_by_run ON orders (run_id, sync_status);
