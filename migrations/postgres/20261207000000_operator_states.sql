-- Operator states (PostgreSQL): what the line knows of each operator beyond the roster, so
-- that no caller rings an operator who is on a call, in wrap-up or away, whichever instance
-- takes the call. See docs/operators.md, "Operator states". The same table as
-- migrations/sqlite, with PostgreSQL's own types.
--
-- An operator's state is read from two places, never stored twice:
--   away      operators.available = FALSE (the roster's switch, as before; `away_reason`
--             below says why);
--   otherwise `activity` below: 'on_call' (answered a transfer, until it ends), 'wrap_up'
--             (a call ended; until `wrap_up_until`, IVR_WRAP_UP_SECONDS after it), or
--             'free': available. A wrap-up ends by itself when `wrap_up_until` passes:
--             nothing has to write for it.
-- An operator with no row here (added before this migration, or by an older `ivr` during
-- a rolling upgrade) is free, with no unanswered ring counted.
--
-- Written by whichever instance the platform reports to (an operator answered, the call
-- ended, a ring was not answered), by the API and by `ivr operators state`, each change one
-- transaction that locks the operator's roster row first, so two instances reporting at
-- once apply one after the other; read into each instance's in-memory roster every
-- IVR_ROSTER_REFRESH_MS. Transfers never wait on it.
--
-- Nothing here is about callers: no number, no platform call id, no call id of the
-- statistics. `transfer` is a random number drawn for one transfer's ring, which travels
-- only in that transfer's own webhook URLs: it tells which operator's call ended, and
-- links to nothing stored anywhere else.
CREATE TABLE operator_states (
    -- The roster entry; the row goes with it when the operator is removed.
    operator_id      BIGINT      PRIMARY KEY REFERENCES operators (id) ON DELETE CASCADE,
    -- What the line last saw of them: 'free', 'on_call' or 'wrap_up'.
    activity         TEXT        NOT NULL CHECK (activity IN ('free', 'on_call', 'wrap_up')),
    -- When that activity began.
    activity_since   TIMESTAMPTZ NOT NULL,
    -- When a wrap-up ends; set only in wrap-up.
    wrap_up_until    TIMESTAMPTZ CHECK ((activity = 'wrap_up') = (wrap_up_until IS NOT NULL)),
    -- The transfer they answered (see above); set only on a call.
    transfer         BIGINT      CHECK ((activity = 'on_call') = (transfer IS NOT NULL)),
    -- Rings in a row they did not answer while free; at 2 they are made away.
    unanswered_rings INTEGER     NOT NULL DEFAULT 0 CHECK (unanswered_rings >= 0),
    -- Why they are away, while operators.available = FALSE: 'operator' (they said so),
    -- 'administrator' (someone else did), 'unanswered_rings' (the line did, after two
    -- rings in a row not answered). NULL when not recorded (made unavailable before this
    -- migration).
    away_reason      TEXT        CHECK (away_reason IN ('operator', 'administrator', 'unanswered_rings')),
    -- When they were made away, with the reason.
    away_since       TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL
);
