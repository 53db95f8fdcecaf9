-- A connection's field mapping: extra FAPI fields sent to SmartEmailing (JSON list of rules;
-- empty = the built-in mapping only).
ALTER TABLE connections ADD COLUMN field_mapping TEXT NOT NULL DEFAULT '[]';

-- The buyer's IČ and DIČ from FAPI's client record, for the mapping. Records cached before
-- lack them: they are fetched again with the next document of their client.
ALTER TABLE fapi_clients ADD COLUMN ic TEXT;
ALTER TABLE fapi_clients ADD COLUMN dic TEXT;
UPDATE fapi_clients SET document_modified_on = NULL;

-- A historical run that re-sends the orders it reads with the current mapping, even those
-- whose documents did not change.
ALTER TABLE sync_runs ADD COLUMN resend INTEGER NOT NULL DEFAULT 0;
