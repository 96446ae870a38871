-- Asterisk dial strings on the roster (PostgreSQL): an operator or the switchboard of a line
-- that runs on Asterisk may be rung at a dial string (`PJSIP/desk-3`, `PJSIP/102@kz-trunk`),
-- dialled as written by the FastAGI dialect (docs/asterisk.md, "Dial targets"). The first
-- operators migration allowed only numbers and `sip:` URIs; this widens its CHECK and
-- changes nothing else. The same rule as migrations/sqlite.
--
-- The CHECK is a second line, as before: `ivr operators`, the API and the admin page parse
-- a target with `DialTarget::parse` (ivr/call_edge.rs), which is stricter (no `,`, `&`, `$`,
-- quotes or brackets that would change the `Dial` it goes into), and refuse a dial string
-- where a configured webhook dialect would have to dial it.
ALTER TABLE operators
    DROP CONSTRAINT operators_target_check,
    ADD CONSTRAINT operators_target_check CHECK (
        target ~ '^(sip:[^\s<>]{1,255}|\+?[0-9]{2,15})$'
        -- A dial string: a technology, '/', a resource of printable characters, under 256 in all.
        OR (target ~ '^[A-Za-z][A-Za-z0-9_]*/[!-~]+$' AND char_length(target) < 256)
    );
