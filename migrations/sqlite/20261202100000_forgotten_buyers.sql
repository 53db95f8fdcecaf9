-- Buyers forgotten under GDPR ("delete" on the Contacts page), per connection. The e-mail is
-- kept only as a keyed hash (HMAC-SHA256 with the secret key, see platform::crypto), never as
-- the address: a document of such a buyer is recorded without personal data and never sent.
CREATE TABLE forgotten_buyers (
    connection_id INTEGER NOT NULL REFERENCES connections (id),
    email_hash    TEXT    NOT NULL,
    -- What the bridge writes in place of the address ('forgotten-<contact id>@invalid').
    marker        TEXT    NOT NULL,
    forgotten_at  TEXT    NOT NULL,
    PRIMARY KEY (connection_id, email_hash)
);

-- 1 when the order's buyer was forgotten: the order keeps its history, without personal data.
ALTER TABLE orders ADD COLUMN buyer_forgotten INTEGER NOT NULL DEFAULT 0;
