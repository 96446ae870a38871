-- The operator queue (SQLite): callers waiting for a person, one queue per language, so that
-- callers are offered to operators in order of arrival and an operator is offered one caller
-- at a time. See docs/operators.md, "The queue". The same tables as migrations/postgres;
-- times are RFC 3339 text in UTC, as in every SQLite table here, so they sort as text.
--
-- Nothing here is about who calls: no number, no platform call id, no call id of the
-- statistics. A caller's `ticket` is a random number drawn when they join; it travels only in
-- their own call's state (webhook URLs, the FastAGI channel variable) and links to nothing
-- stored anywhere else. A row is deleted when its caller leaves the queue (put through,
-- gave up, moved on); a caller who hung up never asks again, and their row stops counting
-- once `due_at` has passed, and is deleted ten minutes later by another caller's ask (each
-- instance deletes such rows at most once a minute).
CREATE TABLE queue_callers (
    -- The caller's random ticket (see above).
    ticket        INTEGER PRIMARY KEY,
    -- The queue: 'kk', 'ru', or NULL for a caller who chose no language (a silent caller at
    -- the language choice), whom every operator may take.
    language      TEXT    CHECK (language IN ('kk', 'ru')),
    -- When they joined: the order callers are offered in. Carried in the call's state too,
    -- so a caller whose row was lost joins again in the same place.
    joined_at     TEXT    NOT NULL,
    -- When their call is due to ask for its place again: after what it hears now (a few
    -- seconds of waiting, or a piece of guidance), plus a margin. Past it, the caller has
    -- hung up (or their instance stopped and no other took the call over): nobody counts
    -- them, in positions or on the desk.
    due_at        TEXT    NOT NULL,
    -- Being rung: an operator is reserved for them until then (the ring timeout and a
    -- margin). NULL while waiting.
    offered_until TEXT
);

-- Who is ahead of a caller: the waiting callers of one language, in order of arrival.
CREATE INDEX queue_callers_in_order ON queue_callers (language, joined_at);

-- The reservation on the operator's side: the ticket of the caller an operator is being rung
-- for, until when. While set and not past, no other caller rings them; it ends when the ring
-- ends (answered: they are on a call; not answered: free again, now the most recently free,
-- so the next free operator is offered the caller), or by itself when `offered_until`
-- passes (the instance ringing them stopped). Answering, a call's end and being made away
-- end it too; a ring not answered, as a state change, does not: the ring's end releases it
-- by ticket. A reservation is written only while the operator is still free and not
-- reserved (an upsert with a condition, in the asking caller's write transaction).
--
-- "Longest free" is `activity_since` of a 'free' row: when they last became free (a call's
-- wrap-up ending counts from `wrap_up_until`). An operator with no row is free since ever;
-- the first reservation of one writes their row, 'free' since 1970-01-01, which still
-- sorts before every other.
-- (SQLite adds one column per statement, and a CHECK on an added column may name only it:
-- both are set and cleared together by the one statement that writes them.)
ALTER TABLE operator_states ADD COLUMN offered_ticket INTEGER;
ALTER TABLE operator_states ADD COLUMN offered_until TEXT;
