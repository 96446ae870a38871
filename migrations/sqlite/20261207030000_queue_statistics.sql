-- The operators' queue in the statistics (SQLite): for each call, whether and how its caller
-- waited in the queue, and per day how many calls each operator answered. See
-- docs/statistics.md, "The operators' queue". The same as migrations/postgres.
--
-- Still nothing that identifies the caller: a position, seconds and a word, as every other
-- column of `calls`. The queue's own ticket (queue_callers.ticket) is never written here,
-- nor anywhere that could link it to a call. Which operator answered a call is NOT kept
-- per call: only how many calls each operator answered on a day (operator_answers below),
-- which no call row points to.

-- The caller's position when they joined the queue (1: next), from the call's first
-- 'queued' step record. NULL if the caller never waited: they were rung at once, or never
-- asked for a person.
ALTER TABLE calls ADD COLUMN queue_position INTEGER CHECK (queue_position >= 1);

-- Seconds from joining the queue to the first ring out of it; if never rung, to leaving it
-- for the main menu or the police, else to the call's end (or, before the end's record
-- arrives, its last step). NULL if the caller never waited, or the steps carry no times.
ALTER TABLE calls ADD COLUMN queue_seconds INTEGER CHECK (queue_seconds >= 0);

-- How the wait ended, the first that applies (NULL if the caller never waited):
--   answered:   an operator (of any route, the switchboard included) answered after they
--               waited;
--   overflowed: not answered, but rung out of the queue by an overflow route (operators of
--               the other language, or the switchboard);
--   left:       gave up their place for the main menu or the police while
--               waiting, before being rung (the busy menu and advice keep it);
--   abandoned:  anything else: hung up while waiting or during their ring, never answered.
ALTER TABLE calls ADD COLUMN queue_outcome TEXT
    CHECK (queue_outcome IN ('answered', 'overflowed', 'left', 'abandoned'));

-- Whether any ring after waiting went by an overflow route (any_language or switchboard),
-- answered or not: an overflowed call that was answered is 'answered' above and counted
-- here too. (SQLite adds one column per statement, so the CHECK may name only it.)
ALTER TABLE calls ADD COLUMN queue_overflowed INTEGER NOT NULL DEFAULT 0 CHECK (queue_overflowed IN (0, 1));

-- How many calls each operator answered, per day: incremented by the operator state writer
-- in the transaction that puts the operator on a call (a repeated report of the same
-- answer counts once). Never linked to a call or a caller. No foreign key: an operator
-- removed from the roster keeps their past counts (shown by id).
CREATE TABLE operator_answers (
    -- the UTC day as 'YYYY-MM-DD' text, as every SQLite day here the operator answered.
    day         TEXT    NOT NULL,
    -- The roster entry's id (operators.id; identities are never reused).
    operator_id INTEGER NOT NULL,
    -- Calls answered that day.
    answered    INTEGER NOT NULL DEFAULT 0 CHECK (answered >= 0),
    PRIMARY KEY (day, operator_id)
);

-- daily_totals needs no change; it gains the queue's metrics, each keyed by the caller's
-- language ('kk', 'ru', 'none') first (see ivr/stats/totals.rs):
--   queue_calls       key language: calls that waited;
--   queue_outcome     key 'language:outcome': calls by how the wait ended;
--   queue_overflowed  key language: calls rung by an overflow route after waiting;
--   queue_seconds     keys 'language:sum' and 'language:calls': an average wait;
--   queue_wait        key 'language:seconds': calls that waited exactly that long (the
--                     longest wait of a range is its highest key);
--   queue_position    key 'language:position': calls that joined at that position.
