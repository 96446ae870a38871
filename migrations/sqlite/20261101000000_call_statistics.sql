-- Anonymous call statistics (SQLite). See README, "Statistics and privacy".
--
-- What is NEVER stored here, in any column: the caller's or the called number (From, To,
-- Caller, Called), any location field the provider sends (*City, *State, *Zip, *Country),
-- CallSid, AccountSid, or an IP address. The only id is the service's own call id (a keyed
-- hash of CallSid whose key lives in the memory of the process that answered, so nobody
-- holding this file, nor the provider's logs, can tie a row to a call). Times are a start
-- minute and durations in seconds; no row holds an exact time of day.
--
-- Three tables:
--   call_steps    raw: one row per step of a call, the idempotency key and what happened
--   calls         raw: one row per call, refolded from its steps on every write
--   daily_totals  aggregates: what reports read; kept exact in the same transaction
-- Retention (IVR_RETENTION_DAYS) deletes old raw rows; aggregates are kept for ever.
--
-- Booleans are INTEGER 0/1, days are TEXT 'YYYY-MM-DD', times TEXT RFC 3339 (UTC): the
-- forms sqlx writes for Rust's bool, chrono::NaiveDate and chrono::DateTime<Utc>.

-- One row per step of a call (a webhook the provider sent, or its status callback).
-- The primary key is the idempotency key: a provider re-delivering a webhook repeats the
-- call state's step counter, so the second insert of (call_id, seq) does nothing, and a
-- spool replayed twice counts once.
CREATE TABLE call_steps (
    -- The service's call id: 64 random-looking bits, stored as a signed integer.
    call_id    INTEGER NOT NULL,
    -- The call state's step counter (0 = the incoming call). 65536 is the record of how
    -- the call ended, from the provider's status callback.
    seq        INTEGER NOT NULL CHECK (seq >= 0 AND seq <= 65536),
    -- The UTC day of the step: what retention deletes by.
    day        TEXT    NOT NULL,
    -- Only on step 0: when the call started, truncated to the minute.
    started_at TEXT,
    -- Seconds since the call started, when the instance that answered the call saw this step.
    elapsed    INTEGER CHECK (elapsed >= 0),
    -- What happened in this step: a JSON array of anonymous events such as
    -- {"e":"entered","node":"main"}, {"e":"key","node":"main","key":"3"},
    -- {"e":"topic","topic":"evidence"}, {"e":"dialled","emergency":true,"outcome":"busy"}.
    events     TEXT    NOT NULL CHECK (json_valid(events)),
    PRIMARY KEY (call_id, seq)
) WITHOUT ROWID;

CREATE INDEX call_steps_by_day ON call_steps (day);

-- One row per call: the fold of all its steps, replaced whole when a step arrives (steps
-- may arrive out of order, from a replayed spool or from several instances).
CREATE TABLE calls (
    call_id             INTEGER PRIMARY KEY,
    -- The UTC day the call started (until its first step arrives: the day it was first seen).
    day                 TEXT    NOT NULL,
    -- To the minute; NULL until step 0 is stored. Calls without it are not in daily_totals.
    started_at          TEXT,
    -- 1 for rows made by `ivr demo-data`. Reports say when synthetic calls are included.
    synthetic           INTEGER NOT NULL DEFAULT 0 CHECK (synthetic IN (0, 1)),
    -- 'kk' or 'ru'; NULL when the caller hung up before choosing.
    language            TEXT    CHECK (language IN ('kk', 'ru')),
    -- Guidance topics heard, comma-separated, in the order first heard.
    topics              TEXT    NOT NULL DEFAULT '',
    -- The menu path: nodes entered and keys pressed, 'language:1 welcome main:3 evidence:0 operator'
    -- ('node:-' is a timeout).
    path                TEXT    NOT NULL DEFAULT '',
    -- The last node entered: where the caller was when the call ended.
    exit_node           TEXT,
    -- emergency > operator > failed_transfer > self_service > abandoned: the first that applies.
    outcome             TEXT    NOT NULL
        CHECK (outcome IN ('self_service', 'operator', 'emergency', 'abandoned', 'failed_transfer')),
    invalid_keys        INTEGER NOT NULL DEFAULT 0,
    timeouts            INTEGER NOT NULL DEFAULT 0,
    emergency_transfers INTEGER NOT NULL DEFAULT 0,
    operator_transfers  INTEGER NOT NULL DEFAULT 0,
    operator_answered   INTEGER NOT NULL DEFAULT 0 CHECK (operator_answered IN (0, 1)),
    -- Transfer results in order, 'police:busy operator:completed'.
    dial_results        TEXT    NOT NULL DEFAULT '',
    -- Seconds in the menus: until the first transfer, else until the call ended, else
    -- until the last step seen.
    ivr_seconds         INTEGER,
    -- Seconds until the first transfer (police or operator); NULL if none.
    seconds_to_transfer INTEGER,
    -- The provider's final CallStatus (completed, busy, no-answer, failed, canceled), when
    -- its status callback reached the instance that answered the call.
    ended               TEXT,
    -- 1 when the same number had called within the previous 24 hours (an in-memory check;
    -- the number itself is never kept).
    repeat_caller       INTEGER NOT NULL DEFAULT 0 CHECK (repeat_caller IN (0, 1))
);

CREATE INDEX calls_by_day ON calls (day);

-- The daily aggregates every report reads. A row is (UTC day, metric, key) -> value, for
-- example ('2026-03-08', 'outcome', 'emergency') -> 4 or ('2026-03-08', 'hour', '17') -> 31.
-- Averages are kept as a sum and a count (keys 'sum' and 'calls'), so they add up over days.
-- Metrics: calls, synthetic, language, outcome, topic, emergency_calls, operator_calls,
-- operator_answered, ivr_seconds, transfer_seconds, invalid_keys, timeouts, dial, ended,
-- exit_node, hour, repeat_callers (see ivr/stats/totals.rs).
CREATE TABLE daily_totals (
    day    TEXT    NOT NULL,
    metric TEXT    NOT NULL,
    key    TEXT    NOT NULL DEFAULT '',
    value  INTEGER NOT NULL,
    PRIMARY KEY (day, metric, key)
) WITHOUT ROWID;
