-- Statistics rows in arrival order (PostgreSQL). See README, "Statistics and privacy", and
-- the SQLite migration of the same name.
--
-- On SQLite this migration re-keys `call_steps` and `calls` so that their wide rows are
-- appended in arrival order instead of being stored by the random call id. PostgreSQL
-- already stores rows in a heap in arrival order and keeps its keys in separate indexes,
-- so only what both databases now share changes here: retention deletes a call's records
-- with its row (see ivr/stats/store/sql.rs), so nothing reads records by day any more and
-- the index that served it is dropped (one less index to update per record written).

DROP INDEX call_steps_by_day;
