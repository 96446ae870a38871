-- How fast each operators' queue moves (PostgreSQL): one row each time a caller is rung out of
-- a language's queue, so that a waiting caller can be told an honest expected wait (their
-- position times the time between rings in their queue over the last 15 minutes; nothing is
-- said when fewer than three rings happened then). See docs/operators.md, "The queue".
--
-- A language and a time, nothing else: no ticket, no operator, no caller. Written by the ask
-- that rings (in its transaction), read when a waiting caller is told their place, and rows
-- older than an hour are deleted by the asks now and then.
CREATE TABLE queue_rings (
    -- The queue: 'kk', 'ru', or NULL for callers who chose no language.
    language TEXT CHECK (language IN ('kk', 'ru')),
    -- When the caller was rung out of it.
    rung_at  TIMESTAMPTZ NOT NULL
);

-- The rings of one queue since a moment.
CREATE INDEX queue_rings_by_time ON queue_rings (language, rung_at);
