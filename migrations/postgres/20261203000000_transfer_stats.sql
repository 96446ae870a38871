-- Operator transfer statistics (PostgreSQL): for each call, how its operator transfers were
-- routed, how many rounds of ringing the caller waited through, and how long an operator
-- took to pick up. See README, "Statistics and privacy".
--
-- Still nothing that identifies the caller, and nothing that identifies an operator: the
-- counts say how many were rung and by which rule, never whom, and no operator's number or
-- name is ever written here.

-- Per operator transfer, in order: the rule that chose who to ring (language: operators of
-- the caller's language; any_language: nobody available spoke it; switchboard: nobody on
-- the roster was available; nobody: not even a switchboard) and how many were rung at once,
-- as 'language:3 any_language:1'.
ALTER TABLE calls ADD COLUMN operators_rung TEXT NOT NULL DEFAULT '';

-- The most rounds of ringing the caller waited through (1 = the first ring); 0 without an
-- operator transfer.
ALTER TABLE calls ADD COLUMN operator_rounds INTEGER NOT NULL DEFAULT 0 CHECK (operator_rounds >= 0);

-- Seconds from the start of the first answered operator transfer (its short announcement
-- included) to an operator picking up: the time to the Dial callback less the provider's
-- DialCallDuration. NULL when no transfer was answered, or when the instance that answered
-- the call did not see both ends of it.
ALTER TABLE calls ADD COLUMN seconds_to_answer INTEGER CHECK (seconds_to_answer >= 0);

-- daily_totals needs no change; it gains three metrics (see ivr/stats/totals.rs):
-- answer_seconds (keys 'sum' and 'calls'), operator_route (key: the rule, value: transfers)
-- and operators_rung (key 'sum': parties rung over all transfers).
