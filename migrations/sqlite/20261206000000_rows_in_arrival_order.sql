-- Statistics rows in arrival order (SQLite). See README, "Statistics and privacy", and
-- BENCHMARKS.md, "Statistics writer throughput".
--
-- Why: the call id is a keyed hash (see 20261204000000_shared_daily_keys.sql), so it is
-- random. Until now it was the key the wide rows of `call_steps` and `calls` were stored
-- in, and with it `call_steps_by_day` and `calls_by_day` were ordered by it within a day:
-- every batch of statistics landed on random pages of four B-trees, and SQLite's log
-- received a whole 4 KiB page for each (about 9 KiB of log per record written). Now the
-- wide rows are appended in the order they arrive (an INTEGER PRIMARY KEY that only
-- grows), where a batch fills a few pages at the end of the table; the random call id
-- lives only in narrow unique indexes (a few bytes an entry, so they stay small and a
-- batch dirties few of their pages). `calls_by_day` follows arrival order within a day.
-- `call_steps_by_day` is gone: retention deletes a call's records with its row (see
-- ivr/stats/store/sql.rs), so nothing reads records by day.
--
-- Columns, their meaning and their constraints are those of the earlier migrations,
-- unchanged; only how the rows are keyed changes. Existing rows are copied in day order.

CREATE TABLE call_steps_in_order (
    -- Arrival order: only grows. Nothing outside this database refers to it.
    id         INTEGER PRIMARY KEY,
    call_id    INTEGER NOT NULL,
    seq        INTEGER NOT NULL CHECK (seq >= 0 AND seq <= 65536),
    day        TEXT    NOT NULL,
    started_at TEXT,
    elapsed    INTEGER CHECK (elapsed >= 0),
    events     TEXT    NOT NULL CHECK (json_valid(events))
);

INSERT INTO call_steps_in_order (call_id, seq, day, started_at, elapsed, events)
SELECT call_id, seq, day, started_at, elapsed, events FROM call_steps ORDER BY day, call_id, seq;

DROP TABLE call_steps;
ALTER TABLE call_steps_in_order RENAME TO call_steps;

-- The idempotency key, as before: a record whose (call_id, seq) is stored is not stored again.
CREATE UNIQUE INDEX call_steps_by_call ON call_steps (call_id, seq);

CREATE TABLE calls_in_order (
    -- Arrival order: only grows. Nothing outside this database refers to it.
    id                  INTEGER PRIMARY KEY,
    call_id             INTEGER NOT NULL,
    day                 TEXT    NOT NULL,
    started_at          TEXT,
    synthetic           INTEGER NOT NULL DEFAULT 0 CHECK (synthetic IN (0, 1)),
    language            TEXT    CHECK (language IN ('kk', 'ru')),
    topics              TEXT    NOT NULL DEFAULT '',
    path                TEXT    NOT NULL DEFAULT '',
    exit_node           TEXT,
    outcome             TEXT    NOT NULL
        CHECK (outcome IN ('self_service', 'operator', 'emergency', 'abandoned', 'failed_transfer')),
    invalid_keys        INTEGER NOT NULL DEFAULT 0,
    timeouts            INTEGER NOT NULL DEFAULT 0,
    emergency_transfers INTEGER NOT NULL DEFAULT 0,
    operator_transfers  INTEGER NOT NULL DEFAULT 0,
    operator_answered   INTEGER NOT NULL DEFAULT 0 CHECK (operator_answered IN (0, 1)),
    dial_results        TEXT    NOT NULL DEFAULT '',
    ivr_seconds         INTEGER,
    seconds_to_transfer INTEGER,
    ended               TEXT,
    repeat_caller       INTEGER NOT NULL DEFAULT 0 CHECK (repeat_caller IN (0, 1)),
    operators_rung      TEXT    NOT NULL DEFAULT '',
    operator_rounds     INTEGER NOT NULL DEFAULT 0 CHECK (operator_rounds >= 0),
    seconds_to_answer   INTEGER CHECK (seconds_to_answer >= 0)
);

INSERT INTO calls_in_order (call_id, day, started_at, synthetic, language, topics, path, exit_node, outcome,
    invalid_keys, timeouts, emergency_transfers, operator_transfers, operator_answered, dial_results,
    ivr_seconds, seconds_to_transfer, ended, repeat_caller, operators_rung, operator_rounds, seconds_to_answer)
SELECT call_id, day, started_at, synthetic, language, topics, path, exit_node, outcome,
    invalid_keys, timeouts, emergency_transfers, operator_transfers, operator_answered, dial_results,
    ivr_seconds, seconds_to_transfer, ended, repeat_caller, operators_rung, operator_rounds, seconds_to_answer
FROM calls ORDER BY day, started_at, call_id;

DROP TABLE calls;
ALTER TABLE calls_in_order RENAME TO calls;

-- One row per call, found by its id (the refold's upsert is ON CONFLICT (call_id)).
CREATE UNIQUE INDEX calls_by_call ON calls (call_id);
-- Reports and retention read calls by day.
CREATE INDEX calls_by_day ON calls (day);
