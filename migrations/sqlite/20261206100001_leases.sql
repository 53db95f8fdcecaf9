-- Work that one replica at a time must do (a historical run, reconciliation, retention, the
-- alert checks) is held through a row here: taken when free or expired, renewed by its holder,
-- released when done. A replica that dies stops renewing, and another takes over at expiry.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
