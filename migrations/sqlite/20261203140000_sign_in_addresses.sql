-- Addresses each user has signed in from. While failed attempts from elsewhere hold an
-- e-mail's sign-in limit, a sign-in from one of these addresses is held to the address's own
-- limit only, so nobody can lock a user out from afar.

CREATE TABLE sign_in_addresses (
    user_id      INTEGER NOT NULL REFERENCES users (id),
    client_addr  TEXT    NOT NULL,
    last_used_at TEXT    NOT NULL,
    PRIMARY KEY (user_id, client_addr)
) WITHOUT ROWID;
