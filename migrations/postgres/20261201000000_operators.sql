-- The operator roster (PostgreSQL): the 111 operators a caller can be transferred to. The
-- same table as migrations/sqlite, with PostgreSQL's own types. See README, "Operators".
--
-- Managed with `ivr operators …` and the `/api/v1/operators` API, which validate every
-- value before it gets here; the CHECKs below are a second line, for anyone editing the
-- database by hand. The call path never reads this table: each `ivr serve` instance reloads
-- it into an in-memory snapshot every IVR_ROSTER_REFRESH_MS, and at once after a change made
-- through its own API, so a transfer never waits on it. Other instances see a change at
-- their next reload.
--
-- Nothing here is about callers. The operators' own numbers live only in this table: the
-- statistics record how many operators were rung, never whom.
CREATE TABLE operators (
    -- Stable id, used by the CLI, the API and sign-in accounts of role `operator`. An
    -- identity is never reused, so an operator's token can never come to point at another
    -- person's roster entry.
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The name administrators know the operator by: 1 to 100 characters.
    name       TEXT        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- Where to ring them: an E.164-style number ('+77172000000', 2 to 15 digits after an
    -- optional '+') or a SIP URI ('sip:operator1@pbx.example.kz'). Two operators never
    -- share one: the first to answer takes the call, so a shared line would ring twice.
    target     TEXT        NOT NULL UNIQUE
        CHECK (target ~ '^(sip:[^\s<>]{1,255}|\+?[0-9]{2,15})$'),
    -- The languages they take calls in: 'kk', 'ru' or 'both'. A caller is rung through to
    -- operators of their language first, to anyone available only when none is.
    languages  TEXT        NOT NULL CHECK (languages IN ('kk', 'ru', 'both')),
    -- True while they take calls; operators switch it themselves through the API.
    available  BOOLEAN     NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
