-- Keys shared by every `ivr serve` instance on this database, and the callers of the last
-- 24 hours as salted hashes (PostgreSQL). See README, "Statistics and privacy" and
-- "Several instances behind a load balancer".
--
-- Why: behind a load balancer, any instance may answer any webhook of a call. The status
-- callback and a provider's redelivery of the incoming-call webhook carry only the
-- provider's call id (Twilio CallSid, jambonz call_sid), which must never be stored. Every
-- instance turns it into the same statistics call id with HMAC-SHA-256 under the day's key
-- below, so the rows link whichever instance answers, across restarts, and the raw id is
-- never written. The "called before within 24 hours" flag works the same way with the
-- day's caller salt, and the callers seen in the last 24 hours are kept here, as hashes,
-- so that every instance sees them.
--
-- The instances never wait on these tables while answering a call: a background task
-- reads the keys into memory (today's, yesterday's and tomorrow's, so midnight needs no
-- database), and another records the callers after the webhook was answered.

-- One row per UTC day and purpose. Whichever instance first needs a day's key makes a
-- random one and inserts it with ON CONFLICT DO NOTHING, then reads back what is stored:
-- two instances racing both end up with the row that won. Keys are made a day ahead.
-- Rows older than yesterday are deleted (yesterday's stays so that the status callback of
-- a call that started before midnight still finds its call): after that, nobody can link
-- a row of `calls` to a provider's call id, nor test a number against recent_callers.
-- Instances also mix their provider secrets (IVR_TWILIO_AUTH_TOKEN,
-- IVR_JAMBONZ_WEBHOOK_SECRET) into each key in memory, so this table alone is not enough.
CREATE TABLE daily_keys (
    -- The UTC day of a call's start that the key serves.
    day     DATE  NOT NULL,
    -- 'call': the key of the statistics call id (from the provider's call id);
    -- 'caller': the salt of the caller hash (from the caller's number).
    purpose TEXT  NOT NULL CHECK (purpose IN ('call', 'caller')),
    -- 32 random bytes.
    key     BYTEA NOT NULL CHECK (octet_length(key) = 32),
    PRIMARY KEY (day, purpose)
);

-- The callers of the last 24 hours, one row per number and UTC day: the first 16 bytes of
-- HMAC-SHA-256(the day's caller salt, the number). No call id and no number. Rows not seen
-- for 24 hours are deleted.
CREATE TABLE recent_callers (
    hash        BYTEA   PRIMARY KEY CHECK (octet_length(hash) = 16),
    -- The last minute this hash called, in minutes since 1970-01-01 UTC.
    seen_minute BIGINT  NOT NULL,
    -- The last call of this hash came within 24 hours of an earlier one.
    repeated    BOOLEAN NOT NULL DEFAULT FALSE,
    -- The first 8 bytes of HMAC-SHA-256(the day's caller salt, the statistics call id) of
    -- the last call: tells a provider's redelivery of the same call (not a repeat) from a
    -- new call. Only an instance, holding the salt mixed with its provider secrets, can
    -- compute it; a reader of the database alone cannot tie it to a row of `calls`.
    last_call   BYTEA   NOT NULL CHECK (octet_length(last_call) = 8)
);

CREATE INDEX recent_callers_by_minute ON recent_callers (seen_minute);
