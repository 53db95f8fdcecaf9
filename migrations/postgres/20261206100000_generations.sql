-- Counters that caches in every replica check (see migrations/sqlite, same name).
CREATE TABLE generations (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL DEFAULT 0
);
INSERT INTO generations (name, value) VALUES ('connections', 0);
