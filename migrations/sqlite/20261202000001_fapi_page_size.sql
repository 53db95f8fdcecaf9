-- The page size FAPI accepted for this connection's list requests, once it refused a larger
-- one (its maximum is not documented); NULL until then.
ALTER TABLE connections ADD COLUMN fapi_page_size INTEGER;
