-- Finds an earlier notification of the same invoice (a replay is answered without asking FAPI).
CREATE INDEX notifications_by_invoice ON notifications (invoice_id);
