//! A rollout in waves, as the ledger keeps it: each wave of a run with its state (pending →
//! running → baking → passed | failed), its bake's end on the wall clock, the gate's reasons
//! when it failed; every gate reading with its time; each failed gate gone past with
//! `--override-gate`, with who and when; and the wave of each run item.

use rusqlite::{OptionalExtension, params};

use super::{Ledger, Result};
use crate::clock::EpochMillis;
use crate::waves::gate::Reading;

/// Where a wave stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaveState {
    Pending,
    Running,
    Baking,
    Passed,
    Failed,
}

impl WaveState {
    pub fn as_str(self) -> &'static str {
        match self {
            WaveState::Pending => "pending",
            WaveState::Running => "running",
            WaveState::Baking => "baking",
            WaveState::Passed => "passed",
            WaveState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> WaveState {
        match text {
            "running" => WaveState::Running,
            "baking" => WaveState::Baking,
            "passed" => WaveState::Passed,
            "failed" => WaveState::Failed,
            _ => WaveState::Pending,
        }
    }
}

/// One wave of a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WaveRow {
    pub wave: usize,
    pub streams: usize,
    pub state: WaveState,
    pub started_at: Option<EpochMillis>,
    pub ended_at: Option<EpochMillis>,
    pub bake_until: Option<EpochMillis>,
    pub decided_at: Option<EpochMillis>,
    /// Failed: the gate's reasons.
    pub why: Vec<String>,
    /// Gone past with `--override-gate`: by whom, when.
    pub overridden: Option<(String, EpochMillis)>,
}

/// A stream of a wave: its item number, its first call of the run, when it was ENABLED.
pub type StreamTimes = (usize, Option<EpochMillis>, Option<EpochMillis>);

impl Ledger {
    /// Records a run's waves (each its streams' item numbers), all pending.
    pub fn record_waves(&self, run_id: i64, waves: &[Vec<usize>]) -> Result<()> {
        self.atomic(|tx| {
            let mut wave_row = tx.prepare_cached(
                "INSERT INTO waves (run_id, wave, streams, state) VALUES (?1, ?2, ?3, 'pending')
                 ON CONFLICT (run_id, wave) DO NOTHING",
            )?;
            let mut item =
                tx.prepare_cached("UPDATE run_items SET wave = ?3 WHERE run_id = ?1 AND seq = ?2")?;
            for (i, seqs) in waves.iter().enumerate() {
                wave_row.execute(params![run_id, i as i64 + 1, seqs.len() as i64])?;
                for seq in seqs {
                    item.execute(params![run_id, *seq as i64, i as i64 + 1])?;
                }
            }
            Ok(())
        })
    }

    /// A run's waves, in order (none for a run without waves).
    pub fn waves(&self, run_id: i64) -> Result<Vec<WaveRow>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT w.wave, w.streams, w.state, w.started_at, w.ended_at, w.bake_until,
                    w.decided_at, w.why,
                    (SELECT who FROM gate_overrides o WHERE o.run_id = w.run_id AND o.wave = w.wave
                     ORDER BY o.at DESC LIMIT 1),
                    (SELECT at FROM gate_overrides o WHERE o.run_id = w.run_id AND o.wave = w.wave
                     ORDER BY o.at DESC LIMIT 1)
             FROM waves w WHERE w.run_id = ?1 ORDER BY w.wave",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            let why: Option<String> = r.get(7)?;
            let who: Option<String> = r.get(8)?;
            let at: Option<EpochMillis> = r.get(9)?;
            Ok(WaveRow {
                wave: r.get::<_, i64>(0)? as usize,
                streams: r.get::<_, i64>(1)? as usize,
                state: WaveState::parse(&r.get::<_, String>(2)?),
                started_at: r.get(3)?,
                ended_at: r.get(4)?,
                bake_until: r.get(5)?,
                decided_at: r.get(6)?,
                why: why
                    .and_then(|w| serde_json::from_str(&w).ok())
                    .unwrap_or_default(),
                overridden: who.zip(at),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The item numbers of one wave of a run.
    pub fn wave_items(&self, run_id: i64, wave: usize) -> Result<Vec<usize>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT seq FROM run_items WHERE run_id = ?1 AND wave = ?2 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![run_id, wave as i64], |r| {
            Ok(r.get::<_, i64>(0)? as usize)
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A wave begins (again, on resume: its first start is kept).
    pub fn wave_running(&self, run_id: i64, wave: usize) -> Result<()> {
        self.conn().execute(
            "UPDATE waves SET state = 'running', started_at = COALESCE(started_at, ?3)
             WHERE run_id = ?1 AND wave = ?2",
            params![run_id, wave as i64, self.now()],
        )?;
        Ok(())
    }

    /// Every stream of the wave has ended: it bakes until `until` (kept if it already bakes).
    pub fn wave_baking(&self, run_id: i64, wave: usize, until: EpochMillis) -> Result<()> {
        self.conn().execute(
            "UPDATE waves SET state = 'baking', ended_at = COALESCE(ended_at, ?3),
                 bake_until = COALESCE(bake_until, ?4)
             WHERE run_id = ?1 AND wave = ?2",
            params![run_id, wave as i64, self.now(), until],
        )?;
        Ok(())
    }

    /// The wave's gate held to the end of its bake.
    pub fn wave_passed(&self, run_id: i64, wave: usize) -> Result<()> {
        self.conn().execute(
            "UPDATE waves SET state = 'passed', decided_at = ?3 WHERE run_id = ?1 AND wave = ?2",
            params![run_id, wave as i64, self.now()],
        )?;
        Ok(())
    }

    /// The wave's gate failed, for these reasons.
    pub fn wave_failed(&self, run_id: i64, wave: usize, why: &[String]) -> Result<()> {
        let why = serde_json::to_string(why).expect("strings serialize");
        self.conn().execute(
            "UPDATE waves SET state = 'failed', decided_at = ?3, why = ?4
             WHERE run_id = ?1 AND wave = ?2",
            params![run_id, wave as i64, self.now(), why],
        )?;
        Ok(())
    }

    /// A failed gate gone past: recorded with who, and the wave taken as passed.
    pub fn override_gate(&self, run_id: i64, wave: usize, who: &str) -> Result<()> {
        self.atomic(|tx| {
            tx.execute(
                "INSERT INTO gate_overrides (run_id, wave, at, who) VALUES (?1, ?2, ?3, ?4)",
                params![run_id, wave as i64, self.now(), who],
            )?;
            tx.execute(
                "UPDATE waves SET state = 'passed' WHERE run_id = ?1 AND wave = ?2",
                params![run_id, wave as i64],
            )?;
            Ok(())
        })
    }

    /// Records one reading of a wave's gate.
    pub fn record_reading(&self, run_id: i64, wave: usize, reading: &Reading) -> Result<()> {
        let json = serde_json::to_string(reading).expect("a reading serializes");
        self.conn().execute(
            "INSERT INTO gate_readings (run_id, wave, at, reading) VALUES (?1, ?2, ?3, ?4)",
            params![run_id, wave as i64, reading.at, json],
        )?;
        Ok(())
    }

    /// The readings of a wave's gate, oldest first.
    pub fn readings(&self, run_id: i64, wave: usize) -> Result<Vec<Reading>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT reading FROM gate_readings WHERE run_id = ?1 AND wave = ?2 ORDER BY at, id",
        )?;
        let rows = stmt.query_map(params![run_id, wave as i64], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            if let Ok(reading) = serde_json::from_str(&row?) {
                out.push(reading);
            }
        }
        Ok(out)
    }

    /// The newest reading of a wave's gate.
    pub fn last_reading(&self, run_id: i64, wave: usize) -> Result<Option<Reading>> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT reading FROM gate_readings WHERE run_id = ?1 AND wave = ?2
                 ORDER BY at DESC, id DESC LIMIT 1",
                params![run_id, wave as i64],
                |r| r.get(0),
            )
            .optional()?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// When each stream of a wave was first sent a call in this run, and when it was seen at
    /// its target: the gate's "before" and "after".
    pub fn wave_times(&self, run_id: i64, wave: usize) -> Result<Vec<StreamTimes>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT i.seq,
                    (SELECT MIN(a.sent_at) FROM attempts a JOIN streams s ON s.id = a.stream_id
                     WHERE a.run_id = i.run_id AND (i.account IS NULL OR s.account = i.account)
                       AND s.region = i.region
                       AND s.name = i.name AND a.state != 'not_sent'),
                    i.enabled_at
             FROM run_items i WHERE i.run_id = ?1 AND i.wave = ?2 ORDER BY i.seq",
        )?;
        let rows = stmt.query_map(params![run_id, wave as i64], |r| {
            Ok((r.get::<_, i64>(0)? as usize, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
