-- Asterisk dial strings on the roster (SQLite): an operator or the switchboard of a line
-- that runs on Asterisk may be rung at a dial string (`PJSIP/desk-3`, `PJSIP/102@kz-trunk`),
-- dialled as written by the FastAGI dialect (docs/asterisk.md, "Dial targets"). The first
-- operators migration allowed only numbers and `sip:` URIs; this widens its CHECK and
-- changes nothing else. The same rule as migrations/postgres.
--
-- The CHECK is a second line, as before: `ivr operators`, the API and the admin page parse
-- a target with `DialTarget::parse` (ivr/call_edge.rs), which is stricter, and refuse a dial
-- string where a configured webhook dialect would have to dial it.
--
-- SQLite cannot change a CHECK in place, so the table is rebuilt (its rows, ids and the
-- AUTOINCREMENT counter kept), inside the migration's transaction. Foreign keys are on
-- there, and dropping the old table deletes its rows first, which would take every
-- operator's row of `operator_states` with it (ON DELETE CASCADE): those rows are kept aside
-- in a temporary table and put back once the new table has the old one's name.
CREATE TABLE operators_widened (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- A number ('+77172000000'), a SIP URI ('sip:operator1@pbx.example.kz') or, new here, an
    -- Asterisk dial string: a technology, '/', printable characters, under 256 in all.
    target     TEXT    NOT NULL UNIQUE
        CHECK ((target GLOB 'sip:?*' AND length(target) < 260) OR
               (target GLOB '[+0-9][0-9]*' AND target NOT GLOB '?*[^0-9]*' AND length(target) BETWEEN 2 AND 16) OR
               (target GLOB '[A-Za-z]*/?*' AND target NOT GLOB '*[^!-~]*' AND length(target) < 256)),
    languages  TEXT    NOT NULL CHECK (languages IN ('kk', 'ru', 'both')),
    available  INTEGER NOT NULL DEFAULT 1 CHECK (available IN (0, 1)),
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);

INSERT INTO operators_widened (id, name, target, languages, available, created_at, updated_at)
    SELECT id, name, target, languages, available, created_at, updated_at FROM operators;

-- The AUTOINCREMENT counter: the id of an operator removed before today is never reused.
DELETE FROM sqlite_sequence WHERE name = 'operators_widened';
INSERT INTO sqlite_sequence (name, seq) SELECT 'operators_widened', seq FROM sqlite_sequence WHERE name = 'operators';

CREATE TEMPORARY TABLE operator_states_kept AS SELECT * FROM operator_states;
DROP TABLE operators;
ALTER TABLE operators_widened RENAME TO operators;
INSERT INTO operator_states SELECT * FROM operator_states_kept;
DROP TABLE operator_states_kept;
