-- Counters that caches in every process (replica) check: a change that cached copies must not
-- outlive bumps its counter in the same transaction; each process reads the counter at most
-- once a second and drops its cache when it moved.
CREATE TABLE generations (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL DEFAULT 0
);
INSERT INTO generations (name, value) VALUES ('connections', 0);
