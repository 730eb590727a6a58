//! What the producer check keeps: each account's pass over its IAM principals (with its time,
//! read again instead of asking IAM while it is younger than the plan's age) and, per plan,
//! what the check did. A planned stream's producers are a column of its plan item.

use rusqlite::{OptionalExtension, params};

use super::{Ledger, Result};
use crate::clock::EpochMillis;
use crate::producers::{CheckSummary, Details};

impl Ledger {
    /// Records a pass over `account`'s principals, taken now.
    pub fn save_iam_pass(
        &self,
        account: &str,
        run_id: Option<i64>,
        details: &Details,
    ) -> Result<()> {
        let json = serde_json::to_string(details).expect("details serialize");
        self.conn().execute(
            "INSERT INTO iam_passes (account, taken_at, run_id, details) VALUES (?1, ?2, ?3, ?4)",
            params![account, self.now(), run_id, json],
        )?;
        Ok(())
    }

    /// The newest pass over `account`'s principals taken at `since` or later, with its time.
    /// A pass this binary cannot read is no pass.
    pub fn recent_iam_pass(
        &self,
        account: &str,
        since: EpochMillis,
    ) -> Result<Option<(EpochMillis, Details)>> {
        let row: Option<(EpochMillis, String)> = self
            .conn()
            .query_row(
                "SELECT taken_at, details FROM iam_passes WHERE account = ?1 AND taken_at >= ?2
                 ORDER BY taken_at DESC, id DESC LIMIT 1",
                params![account, since],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.and_then(|(at, json)| serde_json::from_str(&json).ok().map(|d| (at, d))))
    }

    /// Records what a plan's producer check did.
    pub fn set_plan_producer_check(&self, plan_id: i64, summary: &CheckSummary) -> Result<()> {
        let json = serde_json::to_string(summary).expect("summary serializes");
        self.conn().execute(
            "UPDATE plans SET producer_check = ?2 WHERE id = ?1",
            params![plan_id, json],
        )?;
        Ok(())
    }

    /// What a plan's producer check did (`None`: none was made, or a ledger from before it).
    pub fn plan_producer_check(&self, plan_id: i64) -> Result<Option<CheckSummary>> {
        let json: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT producer_check FROM plans WHERE id = ?1",
                [plan_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(json.flatten().and_then(|j| serde_json::from_str(&j).ok()))
    }
}

/// A planned stream's producers as the plan recorded them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedProducers {
    pub seq: usize,
    pub account: Option<String>,
    pub region: String,
    pub name: String,
    pub producers: crate::producers::StreamProducers,
}

impl Ledger {
    /// Every stream of `plan_id` whose producers were checked, in plan order.
    pub fn plan_producers(&self, plan_id: i64) -> Result<Vec<PlannedProducers>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT seq, account, region, name, producers FROM plan_items
             WHERE plan_id = ?1 AND producers IS NOT NULL ORDER BY seq",
        )?;
        let rows = stmt.query_map([plan_id], |r| {
            Ok((
                r.get::<_, i64>(0)? as usize,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, account, region, name, json) = row?;
            // A record this binary cannot read is left out rather than failing the report.
            if let Ok(producers) = serde_json::from_str(&json) {
                out.push(PlannedProducers {
                    seq,
                    account,
                    region,
                    name,
                    producers,
                });
            }
        }
        Ok(out)
    }
}
