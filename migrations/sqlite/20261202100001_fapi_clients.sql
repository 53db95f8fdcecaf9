-- FAPI client records (GET /clients/{id}) of the buyers, per connection: what the contact
-- sent to SmartEmailing needs of them (company, phone). Refreshed when a document of the client
-- newer than `document_modified_on` arrives; deleted when the buyer is forgotten.
CREATE TABLE fapi_clients (
    connection_id        INTEGER NOT NULL REFERENCES connections (id),
    client_id            INTEGER NOT NULL,
    company              TEXT,
    phone                TEXT,
    -- The last modification of the newest document the record was fetched for.
    document_modified_on TEXT,
    fetched_at           TEXT    NOT NULL,
    PRIMARY KEY (connection_id, client_id)
);

-- How each SmartEmailing account (by user name, lower case) spells the cancelled status of an
-- order, once it refused the other spelling: 'cancelled' (its documentation) or 'canceled'
-- (its PHP clients).
CREATE TABLE smartemailing_accounts (
    username           TEXT PRIMARY KEY,
    cancelled_spelling TEXT NOT NULL CHECK (cancelled_spelling IN ('cancelled', 'canceled'))
);
