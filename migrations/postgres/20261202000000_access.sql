-- Who may use the administrators' dashboard and API (PostgreSQL): the same tables as
-- migrations/sqlite, with PostgreSQL's own types. See README, "Access".
--
-- Three roles: 'admin' (everything), 'analyst' (reports only), 'operator' (their own
-- availability only). People sign in with a name and password and get a session cookie;
-- programs call the API with a bearer token. Nothing here is about callers.
--
-- No secret is stored as it is: passwords as argon2id PHC strings, tokens and session
-- cookies as the hex SHA-256 of their random 32 bytes (a high-entropy secret needs no slow
-- hash; a leaked table still lets nobody in). The server is stateless, so sessions and the
-- login throttle live here, shared by every `ivr serve` instance.

CREATE TABLE users (
    id            BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- What the person types to sign in; shown in the page header.
    name          TEXT        NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 64),
    role          TEXT        NOT NULL CHECK (role IN ('admin', 'analyst', 'operator')),
    -- For role 'operator': their entry in `operators`. Not a foreign key, so removing an
    -- operator from the roster never fails on an account; the account then matches no one.
    operator_id   BIGINT      CHECK ((role = 'operator') = (operator_id IS NOT NULL)),
    password_hash TEXT        NOT NULL,
    -- The dashboard's language, remembered per user: 'kk' or 'ru'.
    language      TEXT        NOT NULL DEFAULT 'kk' CHECK (language IN ('kk', 'ru')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- What the token is for ("monthly export", "operator app, Aigerim"), for listing and revoking.
    label       TEXT        NOT NULL CHECK (char_length(label) BETWEEN 1 AND 100),
    role        TEXT        NOT NULL CHECK (role IN ('admin', 'analyst', 'operator')),
    operator_id BIGINT      CHECK ((role = 'operator') = (operator_id IS NOT NULL)),
    token_hash  TEXT        NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    -- SHA-256 of the cookie's value: the cookie itself is only in the browser.
    id_hash    TEXT        PRIMARY KEY,
    -- Signing a user out everywhere is deleting their sessions; removing the user does it.
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The token every form of this session must carry (CSRF).
    csrf       TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Failed sign-ins, per name typed, for the throttle: after 5 in 15 minutes the name is
-- refused for the rest of the window, whatever the password. Rows older than the window
-- are deleted as new failures come in; a successful sign-in clears the name's rows.
CREATE TABLE login_failures (
    name TEXT        NOT NULL,
    at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_by_name ON login_failures (name, at);
