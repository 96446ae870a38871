//! The half of a write that is the same on every database: which records are new, what
//! each touched call's row becomes, and how the daily totals move.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};

use crate::stats::call::CallRow;
use crate::stats::record::Record;
use crate::stats::totals::DailyTotals;

/// Rows per multi-row statement: far below both databases' limits on bind parameters.
pub const CHUNK: usize = 500;

/// The `calls` columns, in the order [`push_call_row!`] binds them.
pub const CALL_COLUMNS: &str = "call_id, day, started_at, synthetic, language, topics, path, exit_node, outcome, \
     invalid_keys, timeouts, emergency_transfers, operator_transfers, operator_answered, dial_results, \
     ivr_seconds, seconds_to_transfer, ended, repeat_caller, operators_rung, operator_rounds, seconds_to_answer, \
     queue_position, queue_seconds, queue_outcome, queue_overflowed";

/// A refolded row replaces the stored one whole.
pub const CALL_UPSERT: &str = " ON CONFLICT (call_id) DO UPDATE SET day = excluded.day, \
     started_at = excluded.started_at, synthetic = excluded.synthetic, language = excluded.language, \
     topics = excluded.topics, path = excluded.path, exit_node = excluded.exit_node, \
     outcome = excluded.outcome, invalid_keys = excluded.invalid_keys, timeouts = excluded.timeouts, \
     emergency_transfers = excluded.emergency_transfers, operator_transfers = excluded.operator_transfers, \
     operator_answered = excluded.operator_answered, dial_results = excluded.dial_results, \
     ivr_seconds = excluded.ivr_seconds, seconds_to_transfer = excluded.seconds_to_transfer, \
     ended = excluded.ended, repeat_caller = excluded.repeat_caller, operators_rung = excluded.operators_rung, \
     operator_rounds = excluded.operator_rounds, seconds_to_answer = excluded.seconds_to_answer, \
     queue_position = excluded.queue_position, queue_seconds = excluded.queue_seconds, \
     queue_outcome = excluded.queue_outcome, queue_overflowed = excluded.queue_overflowed";

/// Totals move by the delta; a day's row is created by its first call.
pub const TOTALS_UPSERT: &str =
    " ON CONFLICT (day, metric, key) DO UPDATE SET value = daily_totals.value + excluded.value";

/// Binds one [`CallRow`] as a tuple of [`CALL_COLUMNS`]; the same for either database.
macro_rules! push_call_row {
    ($tuple:expr, $row:expr) => {{
        let row: &$crate::stats::call::CallRow = $row;
        $tuple
            .push_bind(row.call_id)
            .push_bind(row.day)
            .push_bind(row.started_at)
            .push_bind(row.synthetic)
            .push_bind(row.language.as_deref())
            .push_bind(row.topics.as_str())
            .push_bind(row.path.as_str())
            .push_bind(row.exit_node.as_deref())
            .push_bind(row.outcome.as_str())
            .push_bind(row.invalid_keys)
            .push_bind(row.timeouts)
            .push_bind(row.emergency_transfers)
            .push_bind(row.operator_transfers)
            .push_bind(row.operator_answered)
            .push_bind(row.dial_results.as_str())
            .push_bind(row.ivr_seconds)
            .push_bind(row.seconds_to_transfer)
            .push_bind(row.ended.as_deref())
            .push_bind(row.repeat_caller)
            .push_bind(row.operators_rung.as_str())
            .push_bind(row.operator_rounds)
            .push_bind(row.seconds_to_answer)
            .push_bind(row.queue_position)
            .push_bind(row.queue_seconds)
            .push_bind(row.queue_outcome.as_deref())
            .push_bind(row.queue_overflowed);
    }};
}
pub(crate) use push_call_row;

/// A stored record as read back from `call_steps`.
#[derive(sqlx::FromRow)]
pub struct StepRow {
    pub call_id: i64,
    pub seq: i32,
    pub day: NaiveDate,
    pub started_at: Option<DateTime<Utc>>,
    pub elapsed: Option<i32>,
    pub events: String,
}

impl StepRow {
    pub fn into_record(self) -> Result<Record, serde_json::Error> {
        Ok(Record {
            call: self.call_id,
            seq: self.seq,
            day: self.day,
            started_at: self.started_at,
            elapsed: self.elapsed,
            events: serde_json::from_str(&self.events)?,
        })
    }
}

/// The events column: JSON, readable with the database's own JSON functions.
pub fn events_json(record: &Record) -> String {
    serde_json::to_string(&record.events).unwrap_or_else(|_| "[]".to_owned())
}

/// The first of each `(call, seq)` in a batch, ordered by call: the order locks are taken in.
pub fn unique(records: &[Record]) -> Vec<&Record> {
    let mut seen = HashSet::new();
    let mut unique: Vec<&Record> = records.iter().filter(|r| seen.insert((r.call, r.seq))).collect();
    unique.sort_by_key(|r| (r.call, r.seq));
    unique
}

/// The distinct calls of a batch ([`unique`] sorted it by call).
pub fn calls_of(records: &[&Record]) -> Vec<i64> {
    let mut calls: Vec<i64> = records.iter().map(|r| r.call).collect();
    calls.dedup();
    calls
}

/// What to write after the new records of a batch are in.
pub struct WritePlan {
    /// The refolded rows of every touched call, sorted by call id.
    pub calls: Vec<CallRow>,
    pub totals: DailyTotals,
}

/// A batch weighed against what its calls already have stored (read under the write lock,
/// so nothing else is added meanwhile): the records that are new, and the stored records of
/// the calls that get new ones, decoded. Reading first and inserting plain rows, rather than
/// inserting and reading back, keeps the rows that travel back from the database to the
/// calls' older records, usually a few, instead of every record of the batch twice.
pub fn split_new<'a>(
    records: &[&'a Record],
    stored: Vec<StepRow>,
) -> Result<(Vec<&'a Record>, Vec<Record>), serde_json::Error> {
    let keys: HashSet<(i64, i32)> = stored.iter().map(|row| (row.call_id, row.seq)).collect();
    let new: Vec<&Record> = records.iter().copied().filter(|r| !keys.contains(&(r.call, r.seq))).collect();
    let calls: HashSet<i64> = new.iter().map(|r| r.call).collect();
    let older = stored.into_iter().filter(|row| calls.contains(&row.call_id)).map(StepRow::into_record);
    Ok((new, older.collect::<Result<_, _>>()?))
}

/// `older`: the records stored before this write of the calls that got new records;
/// `new`: those new records. Each call's contribution before the new records is taken
/// away, and its contribution with them added.
pub fn plan(older: &[Record], new: &[&Record]) -> WritePlan {
    let mut by_call: BTreeMap<i64, (Vec<&Record>, usize)> = BTreeMap::new();
    for record in older {
        let (records, before) = by_call.entry(record.call).or_default();
        records.push(record);
        *before += 1;
    }
    for record in new {
        by_call.entry(record.call).or_default().0.push(record);
    }
    let mut plan = WritePlan { calls: Vec::with_capacity(by_call.len()), totals: DailyTotals::default() };
    for (call, (records, before)) in by_call {
        if before > 0 {
            plan.totals.add_call(&CallRow::fold(call, &records[..before]), -1);
        }
        let row = CallRow::fold(call, &records);
        plan.totals.add_call(&row, 1);
        plan.calls.push(row);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::call::tests::{end, entered, into_evidence, key, record};

    /// A call into the evidence topic's 20 s part at 10 s; ended `lasted` seconds in, and
    /// a key on the part at 11 s.
    fn call(lasted: i32) -> (Vec<Record>, Record, Record) {
        let key = record(3, 11, vec![key("evidence_1", '2'), entered("main")]);
        (into_evidence(Some(20)), end(Some(lasted)), key)
    }

    /// The moves of the outcome and topic totals.
    fn moves(plan: &WritePlan) -> Vec<(String, i64)> {
        let rows = plan.totals.rows().filter(|(_, metric, _, _)| ["outcome", "topic"].contains(metric));
        rows.map(|(_, metric, key, value)| (format!("{metric}:{key}"), value)).collect()
    }

    fn pairs(expected: &[(&str, i64)]) -> Vec<(String, i64)> {
        expected.iter().map(|(name, value)| ((*name).to_owned(), *value)).collect()
    }

    #[test]
    fn an_end_in_the_middle_of_the_part_takes_the_topic_and_the_self_service_back() {
        let (steps, end, _) = call(13);
        let plan = plan(&steps, &[&end]);
        let expected = [("outcome:abandoned", 1), ("outcome:self_service", -1), ("topic:evidence", -1)];
        assert_eq!(moves(&plan), pairs(&expected));
    }

    #[test]
    fn an_end_past_the_part_moves_neither() {
        let (steps, end, _) = call(30);
        assert_eq!(moves(&plan(&steps, &[&end])), []);
    }

    #[test]
    fn a_key_arriving_after_the_end_makes_the_topic_heard() {
        let (mut steps, end, key) = call(13);
        steps.push(end);
        let plan = plan(&steps, &[&key]);
        let expected = [("outcome:abandoned", -1), ("outcome:self_service", 1), ("topic:evidence", 1)];
        assert_eq!(moves(&plan), pairs(&expected));
    }

    #[test]
    fn the_end_stored_first_then_the_steps_count_abandoned_once() {
        let (steps, end, _) = call(13);
        let plan = plan(std::slice::from_ref(&end), &steps.iter().collect::<Vec<_>>());
        assert_eq!(moves(&plan), pairs(&[("outcome:abandoned", 1)]));
    }
}
