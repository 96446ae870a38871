-- The operator roster (SQLite): the 111 operators a caller can be transferred to. See
-- README, "Operators".
--
-- Managed with `ivr operators …` and the `/api/v1/operators` API, which validate every
-- value before it gets here; the CHECKs below are a second line, for anyone editing the
-- file by hand. The call path never reads this table: each `ivr serve` instance reloads it
-- into an in-memory snapshot every IVR_ROSTER_REFRESH_MS, so a transfer never waits on it.
--
-- Nothing here is about callers. The operators' own numbers live only in this table: the
-- statistics record how many operators were rung, never whom.
--
-- Booleans are INTEGER 0/1, times TEXT RFC 3339 (UTC): the forms sqlx writes for Rust's
-- bool and chrono::DateTime<Utc>.
CREATE TABLE operators (
    -- Stable id, used by the CLI, the API and sign-in accounts of role `operator`.
    -- AUTOINCREMENT: the id of a removed operator is never given to someone else, so an
    -- operator's token can never come to point at another person's roster entry.
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The name administrators know the operator by: 1 to 100 characters.
    name       TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Where to ring them: an E.164-style number ('+77172000000', 2 to 15 digits after an
    -- optional '+') or a SIP URI ('sip:operator1@pbx.example.kz'). Two operators never
    -- share one: the first to answer takes the call, so a shared line would ring twice.
    target     TEXT    NOT NULL UNIQUE
        CHECK ((target GLOB 'sip:?*' AND length(target) < 260) OR
               (target GLOB '[+0-9][0-9]*' AND target NOT GLOB '?*[^0-9]*' AND length(target) BETWEEN 2 AND 16)),
    -- The languages they take calls in: 'kk', 'ru' or 'both'. A caller is rung through to
    -- operators of their language first, to anyone available only when none is.
    languages  TEXT    NOT NULL CHECK (languages IN ('kk', 'ru', 'both')),
    -- 1 while they take calls; operators switch it themselves through the API.
    available  INTEGER NOT NULL DEFAULT 1 CHECK (available IN (0, 1)),
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
