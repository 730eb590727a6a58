//! Saved plans. A plan is stored whole (settings and every item's decision), so
//! `apply --plan ID` carries out exactly what the operator read; a plan made while apply
//! streams is saved header first, its items as they are decided.

use rusqlite::{OptionalExtension, params};

use super::{Ledger, Result};
use crate::clock::EpochMillis;
use crate::input::Target;
use crate::model::{EncStatus, KeyChoice, StreamId, StreamStatus};
use crate::plan::{Action, Current, Item, Reason, Settings};

/// A plan as saved in the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedPlan {
    pub id: i64,
    pub created_at: EpochMillis,
    /// The oldest observation the plan relied on.
    pub observed_at: EpochMillis,
    /// The fleet file it was made from.
    pub fleet: String,
    pub settings: Settings,
    pub items: Vec<Item>,
    pub estimated_ms: EpochMillis,
}

pub(super) fn settings_json(s: &Settings) -> String {
    serde_json::json!({
        "reserve": s.reserve,
        "stream_budget": s.stream_budget,
        "window_ms": s.window,
        "cmk_limit": s.cmk_limit,
        "margin_ms": s.margin,
        "restore": s.restore,
        "skip_producer_check": s.skip_producer_check,
        "allow_producer_risk": s.allow_producer_risk,
        "skip_iac_owned": s.skip_iac_owned,
    })
    .to_string()
}

pub(super) fn settings_from_json(text: &str) -> Settings {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let d = Settings::default();
    let num = |k: &str, default: u64| v.get(k).and_then(|x| x.as_u64()).unwrap_or(default);
    Settings {
        reserve: num("reserve", d.reserve.into()) as u32,
        stream_budget: num("stream_budget", d.stream_budget.into()) as u32,
        window: num("window_ms", d.window as u64) as EpochMillis,
        cmk_limit: num("cmk_limit", d.cmk_limit.into()) as u32,
        margin: num("margin_ms", d.margin as u64) as EpochMillis,
        restore: v.get("restore").and_then(|x| x.as_bool()).unwrap_or(false),
        skip_producer_check: v
            .get("skip_producer_check")
            .and_then(|x| x.as_bool())
            .unwrap_or(false),
        allow_producer_risk: v
            .get("allow_producer_risk")
            .and_then(|x| x.as_bool())
            .unwrap_or(false),
        skip_iac_owned: v
            .get("skip_iac_owned")
            .and_then(|x| x.as_bool())
            .unwrap_or(false),
    }
}

/// A plan's settings as its JSON records them (the ledger's `plans.settings`, a plan file's
/// `settings`).
pub fn settings_document(s: &Settings) -> serde_json::Value {
    serde_json::from_str(&settings_json(s)).expect("settings are plain JSON")
}

/// The settings a JSON of [`settings_document`]'s shape records (a member absent: its default).
pub fn settings_from_document(doc: &serde_json::Value) -> Settings {
    settings_from_json(&doc.to_string())
}

/// What a plan's report shows beyond its items, recorded with the plan (`plans.review`) and
/// carried in its plan file: the per-key table, the warnings, the rates its estimate assumes,
/// the throttles met while observing, the waves it was made with (`plan --waves`), and where
/// its calls went (`commands::Place`, opaque here) with the shard it planned.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanReview {
    pub keys: Vec<crate::plan::KeyLine>,
    pub warnings: Vec<String>,
    pub start_tps: f64,
    pub describe_tps: f64,
    pub throttles: u32,
    pub waves: Option<crate::waves::WavePlan>,
    pub place: serde_json::Value,
    pub shard: Option<String>,
}

pub(super) fn insert_plan_items<'i>(
    conn: &rusqlite::Connection,
    plan_id: i64,
    items: impl IntoIterator<Item = &'i Item>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO plan_items (plan_id, seq, line, account, region, name, target_type,
             target_arn, action, reason, next_slot, cur_stream, cur_status, cur_type,
             cur_arn, budget_used, cur_source, cur_in_force_unknown, expect_type, expect_arn,
             producers, cur_source_encryption, owner)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21, ?22, ?23)
         ON CONFLICT (plan_id, seq) DO UPDATE SET
             account = excluded.account, action = excluded.action, reason = excluded.reason,
             next_slot = excluded.next_slot, cur_stream = excluded.cur_stream,
             cur_status = excluded.cur_status, cur_type = excluded.cur_type,
             cur_arn = excluded.cur_arn, budget_used = excluded.budget_used,
             cur_source = excluded.cur_source,
             cur_in_force_unknown = excluded.cur_in_force_unknown,
             producers = excluded.producers,
             cur_source_encryption = excluded.cur_source_encryption, owner = excluded.owner",
    )?;
    for item in items {
        let t = &item.target;
        let cur = item.current.as_ref();
        let cur_key = cur.and_then(|c| c.key.as_ref());
        stmt.execute(params![
            plan_id,
            item.seq as i64,
            t.line as i64,
            item.account(),
            t.region,
            t.name,
            t.key.key_type().as_str(),
            t.key.key_arn().map(|a| a.as_str()),
            item.action.as_str(),
            item.reason.map(Reason::as_str),
            item.next_slot,
            cur.map(|c| c.stream_status.as_str().to_owned()),
            cur.map(|c| c.status.as_str().to_owned()),
            cur_key.map(|k| k.key_type().as_str()),
            cur_key.and_then(|k| k.key_arn()).map(|a| a.as_str()),
            item.budget_used,
            cur.and_then(|c| c.source_arn.as_deref()),
            cur.is_some_and(|c| c.in_force_unknown),
            t.expect.as_ref().map(|k| k.key_type().as_str()),
            t.expect
                .as_ref()
                .and_then(|k| k.key_arn())
                .map(|a| a.as_str()),
            item.producers
                .as_ref()
                .map(|p| serde_json::to_string(p).expect("producers serialize")),
            cur.and_then(|c| c.source_encryption.as_ref())
                .map(|e| serde_json::to_string(e).expect("source encryption serializes")),
            item.owner
                .as_ref()
                .map(|o| serde_json::to_string(o).expect("owner serializes")),
        ])?;
    }
    Ok(())
}

/// A `plan_items` row of plan `id` (columns as `load_plan` selects them) as the item it saved.
fn plan_item(id: i64, r: &rusqlite::Row<'_>) -> rusqlite::Result<Item> {
    let target_type: String = r.get(5)?;
    let target_arn: Option<String> = r.get(6)?;
    let account: Option<String> = r.get(2)?;
    let region: String = r.get(3)?;
    let name: String = r.get(4)?;
    let cur_stream: Option<String> = r.get(10)?;
    let cur_status: Option<String> = r.get(11)?;
    let cur_type: Option<String> = r.get(12)?;
    let cur_arn: Option<String> = r.get(13)?;
    let action: String = r.get(7)?;
    let reason: Option<String> = r.get(8)?;
    let corrupt = |what: &str| {
        rusqlite::Error::InvalidColumnType(
            0,
            format!("plan {id}: {what}"),
            rusqlite::types::Type::Text,
        )
    };
    let key = KeyChoice::from_parts(&target_type, target_arn.as_deref())
        .ok_or_else(|| corrupt("target key"))?;
    let current = match (cur_stream, cur_status) {
        (Some(stream), Some(status)) => Some(Current {
            stream_status: StreamStatus::parse(&stream),
            status: EncStatus::parse(&status),
            key: cur_type.and_then(|t| KeyChoice::from_parts(&t, cur_arn.as_deref())),
            source_arn: r.get(15)?,
            source_encryption: json_column(r, 20).map_err(|_| corrupt("source encryption"))?,
            in_force_unknown: r.get(16)?,
        }),
        _ => None,
    };
    let stream = match (&account, &current) {
        (Some(account), Some(_)) => Some(StreamId {
            account: account.clone(),
            region: region.clone(),
            name: name.clone(),
        }),
        _ => None,
    };
    Ok(Item {
        seq: r.get::<_, i64>(0)? as usize,
        target: Target {
            line: r.get::<_, i64>(1)? as u64,
            name,
            region: region.into(),
            account: account.map(Into::into),
            key,
            expect: r.get::<_, Option<String>>(17)?.and_then(|t| {
                KeyChoice::from_parts(&t, r.get::<_, Option<String>>(18).ok().flatten().as_deref())
            }),
        },
        stream,
        action: Action::parse(&action).ok_or_else(|| corrupt("action"))?,
        reason: reason.as_deref().and_then(Reason::parse),
        next_slot: r.get(9)?,
        current,
        budget_used: r.get(14)?,
        producers: json_column(r, 19)
            .map_err(|_| corrupt("producers"))?
            .map(Box::new),
        owner: json_column(r, 21)
            .map_err(|_| corrupt("owner"))?
            .map(Box::new),
    })
}

/// A nullable column holding JSON, read back; `Err` when it is not JSON of that shape.
fn json_column<T: serde::de::DeserializeOwned>(
    r: &rusqlite::Row<'_>,
    idx: usize,
) -> Result<Option<T>, ()> {
    match r.get::<_, Option<String>>(idx).map_err(|_| ())? {
        Some(json) => serde_json::from_str(&json).map(Some).map_err(|_| ()),
        None => Ok(None),
    }
}

impl Ledger {
    /// Saves a plan and its items in one transaction; returns its id.
    pub fn save_plan(
        &self,
        fleet: &str,
        settings: &Settings,
        observed_at: EpochMillis,
        items: &[Item],
        estimated_ms: EpochMillis,
    ) -> Result<i64> {
        self.atomic(|tx| {
            let plan_id = self.create_plan(fleet, settings, observed_at, estimated_ms)?;
            insert_plan_items(tx, plan_id, items)?;
            Ok(plan_id)
        })
    }

    /// Saves a plan's header; its items follow with [`Ledger::record_decisions`] as they
    /// are decided.
    pub fn create_plan(
        &self,
        fleet: &str,
        settings: &Settings,
        observed_at: EpochMillis,
        estimated_ms: EpochMillis,
    ) -> Result<i64> {
        self.conn().execute(
            "INSERT INTO plans (created_at, observed_at, fleet, settings, estimated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                self.now(),
                observed_at,
                fleet,
                settings_json(settings),
                estimated_ms
            ],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    /// A plan's items counted per region and action, without loading them.
    pub fn plan_counts(&self, plan_id: i64) -> Result<Vec<(String, Action, u64)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT region, action, COUNT(*) FROM plan_items WHERE plan_id = ?1 GROUP BY region, action",
        )?;
        let rows = stmt.query_map([plan_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)? as u64,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (region, action, n) = row?;
            if let Some(action) = Action::parse(&action) {
                out.push((region, action, n));
            }
        }
        Ok(out)
    }

    /// Records the estimated apply time of a plan completed item by item.
    pub fn set_plan_estimate(&self, plan_id: i64, estimated_ms: EpochMillis) -> Result<()> {
        self.conn().execute(
            "UPDATE plans SET estimated_ms = ?2 WHERE id = ?1",
            params![plan_id, estimated_ms],
        )?;
        Ok(())
    }

    /// Loads a saved plan, or `None` when there is no plan with that id.
    pub fn load_plan(&self, id: i64) -> Result<Option<SavedPlan>> {
        let head = self
            .conn()
            .query_row(
                "SELECT created_at, observed_at, fleet, settings, estimated_ms FROM plans WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, EpochMillis>(0)?,
                        r.get::<_, EpochMillis>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, EpochMillis>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((created_at, observed_at, fleet, settings, estimated_ms)) = head else {
            return Ok(None);
        };
        let mut stmt = self.conn().prepare_cached(
            "SELECT seq, line, account, region, name, target_type, target_arn, action, reason,
                    next_slot, cur_stream, cur_status, cur_type, cur_arn, budget_used,
                    cur_source, cur_in_force_unknown, expect_type, expect_arn, producers,
                    cur_source_encryption, owner
             FROM plan_items WHERE plan_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([id], |r| plan_item(id, r))?;
        let items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Some(SavedPlan {
            id,
            created_at,
            observed_at,
            fleet,
            settings: settings_from_json(&settings),
            items,
            estimated_ms,
        }))
    }

    /// Records a plan's hash and what its report shows beyond its items.
    pub fn set_plan_review(&self, plan_id: i64, hash: &str, review: &PlanReview) -> Result<()> {
        let json = serde_json::to_string(review).expect("a review serializes");
        self.conn().execute(
            "UPDATE plans SET hash = ?2, review = ?3 WHERE id = ?1",
            params![plan_id, hash, json],
        )?;
        Ok(())
    }

    /// A plan's hash and review, each `None` when not recorded (a plan made by `apply`, or by
    /// an earlier version); a review this version cannot read is `None` too.
    pub fn plan_review(&self, plan_id: i64) -> Result<(Option<String>, Option<PlanReview>)> {
        let row: Option<(Option<String>, Option<String>)> = self
            .conn()
            .query_row(
                "SELECT hash, review FROM plans WHERE id = ?1",
                [plan_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (hash, review) = row.unwrap_or_default();
        Ok((hash, review.and_then(|j| serde_json::from_str(&j).ok())))
    }

    /// The plan of this hash in the ledger (the oldest, should there be several).
    pub fn plan_by_hash(&self, hash: &str) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id FROM plans WHERE hash = ?1 ORDER BY id LIMIT 1",
                [hash],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The fleet file a plan was made from.
    pub fn plan_fleet(&self, plan_id: i64) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT fleet FROM plans WHERE id = ?1", [plan_id], |r| {
                r.get(0)
            })
            .optional()?)
    }
}
