//! Scale benchmark (no harness; `scripts/bench` runs it and reads its JSON): how the pure
//! planner and the ledger's budget queries hold up at fleet sizes far beyond a normal run.
//!
//! - **plan**: `Planner::decide` over N pre-built observations (default 100,000) of a mixed
//!   fleet (enable, rekey onto customer keys, noop, skip, budget defer), plus `plan::estimate`.
//! - **ledger**: a ledger holding M attempts (default 1,000,000) over S streams (default
//!   100,000, sent over the last 48 h) and an apply run whose items are the planned fleet;
//!   times `Ledger::budget_used` per stream (what the dispatcher asks before every Start) and
//!   `Ledger::all_counted_sends` (what a plan asks once for the whole fleet). The ledger is left
//!   at `--ledger PATH` so the caller can time `firehose-sse status` on it.
//!
//! The attempts are bulk-loaded with plain SQL in one transaction (the public API commits each
//! attempt on its own, as apply must, which would take far longer than the queries measured);
//! the schema itself comes from `Ledger::open`, and the run from the public API.
//!
//! ```sh
//! cargo bench --bench scale -- --rows 100000 --attempts 1000000 --ledger /tmp/l.db
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use firehose_sse::clock::{Clock, DAY, EpochMillis, HOUR, SystemClock};
use firehose_sse::engine::Phase;
use firehose_sse::input::Target;
use firehose_sse::ledger::{Ledger, RunArgs, RunKind, RunOutcome};
use firehose_sse::model::{
    EncStatus, Encryption, KeyChoice, KeyObservation, KmsKeyArn, SourceType, StreamId,
    StreamObservation, StreamStatus,
};
use firehose_sse::plan::{self, Action, Item, Pace, Planner, Seen, Settings};
use serde_json::json;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
/// Customer keys the rekeyed tenth of the fleet is spread over (well under 500 each).
const KEYS: usize = 400;

struct Args {
    rows: usize,
    streams: usize,
    attempts: usize,
    queries: usize,
    ledger: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        rows: 100_000,
        streams: 100_000,
        attempts: 1_000_000,
        queries: 10_000,
        ledger: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().expect("a value after the flag");
        match flag.as_str() {
            "--rows" => a.rows = value().parse().expect("--rows N"),
            "--streams" => a.streams = value().parse().expect("--streams N"),
            "--attempts" => a.attempts = value().parse().expect("--attempts N"),
            "--queries" => a.queries = value().parse().expect("--queries N"),
            "--ledger" => a.ledger = Some(PathBuf::from(value())),
            // `cargo bench` passes --bench to every bench target.
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// A small deterministic generator, so every run measures the same fleet.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn name(i: usize) -> String {
    format!("stream-{i:06}")
}

fn key_arn(k: usize) -> KmsKeyArn {
    KmsKeyArn::parse(&format!(
        "arn:aws:kms:{REGION}:{ACCOUNT}:key/{:08x}-0000-4000-8000-{k:012x}",
        k
    ))
    .expect("valid key ARN")
}

fn id(i: usize) -> StreamId {
    StreamId {
        account: ACCOUNT.into(),
        region: REGION.into(),
        name: name(i),
    }
}

/// One fleet row, what observation found for it, and its counted sends.
fn fleet(rows: usize, now: EpochMillis) -> Vec<(Target, Seen, Vec<EpochMillis>)> {
    let mut rng = Lcg(42);
    (0..rows)
        .map(|i| {
            let roll = rng.below(100);
            let cmk = KeyChoice::Customer(key_arn(i % KEYS));
            let (key, source, enc, current_key, sends) = match roll {
                // 70 %: unencrypted DirectPut, to the AWS-owned key.
                0..70 => (
                    KeyChoice::AwsOwned,
                    SourceType::DirectPut,
                    EncStatus::Disabled,
                    None,
                    rng.below(3) as usize,
                ),
                // 10 %: AWS-owned → a customer key (rekey).
                70..80 => (
                    cmk.clone(),
                    SourceType::DirectPut,
                    EncStatus::Enabled,
                    Some(KeyChoice::AwsOwned),
                    rng.below(3) as usize,
                ),
                // 10 %: already at the target.
                80..90 => (
                    cmk.clone(),
                    SourceType::DirectPut,
                    EncStatus::Enabled,
                    Some(cmk.clone()),
                    1,
                ),
                // 5 %: not DirectPut.
                90..95 => (
                    KeyChoice::AwsOwned,
                    SourceType::KinesisStreamAsSource,
                    EncStatus::Disabled,
                    None,
                    0,
                ),
                // 5 %: budget spent (24 of 25 in the window, reserve 1): deferred.
                _ => (
                    KeyChoice::AwsOwned,
                    SourceType::DirectPut,
                    EncStatus::Disabled,
                    None,
                    24,
                ),
            };
            let target = Target {
                line: i as u64 + 2,
                name: name(i),
                region: REGION.into(),
                account: None,
                key,
                expect: None,
            };
            let in_force = (enc == EncStatus::Enabled)
                .then(|| current_key.clone())
                .flatten();
            let seen = Seen::Found {
                obs: StreamObservation {
                    id: id(i),
                    arn: format!(
                        "arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{}",
                        name(i)
                    ),
                    source,
                    source_arn: None,
                    status: StreamStatus::Active,
                    encryption: Encryption {
                        status: enc,
                        key: current_key,
                        failure: None,
                    },
                },
                in_force,
                in_force_unknown: false,
            };
            let sends = (0..sends)
                .map(|s| now - 20 * HOUR + s as EpochMillis * 1_000)
                .collect();
            (target, seen, sends)
        })
        .collect()
}

fn keys() -> HashMap<String, KeyObservation> {
    (0..KEYS)
        .map(|k| {
            let arn = key_arn(k);
            (
                arn.as_str().to_owned(),
                KeyObservation {
                    arn,
                    found: true,
                    state: "Enabled".into(),
                    spec: "SYMMETRIC_DEFAULT".into(),
                    usage: "ENCRYPT_DECRYPT".into(),
                    manager: "CUSTOMER".into(),
                    readable: true,
                },
            )
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

/// Decides the whole fleet; returns the items and the time the decisions took.
fn bench_plan(rows: usize, now: EpochMillis) -> (Vec<Item>, serde_json::Value) {
    let built = Instant::now();
    let fleet = fleet(rows, now);
    let keys = keys();
    let build = built.elapsed();

    let begun = Instant::now();
    let mut planner = Planner::new(Settings::default(), HashMap::new(), keys, now);
    let items: Vec<Item> = fleet
        .iter()
        .enumerate()
        .map(|(seq, (target, seen, sends))| planner.decide(seq, target, seen, sends))
        .collect();
    let decide = begun.elapsed();
    let begun = Instant::now();
    let estimate = plan::estimate(
        &items,
        Pace {
            start_tps: 5.0,
            describe_tps: 5.0,
        },
        true,
    );
    let estimate_time = begun.elapsed();
    let summary = plan::Summary::of(&items);
    let out = json!({
        "rows": rows,
        "build_ms": ms(build),
        "decide_ms": ms(decide),
        "decide_us_per_row": decide.as_secs_f64() * 1e6 / rows.max(1) as f64,
        "estimate_ms": ms(estimate_time),
        "estimated_apply_s": estimate as f64 / 1000.0,
        "summary": summary,
    });
    (items, out)
}

fn bench_ledger(args: &Args, items: &[Item], now: EpochMillis) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = args
        .ledger
        .clone()
        .unwrap_or_else(|| dir.path().join("scale.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ledger = Ledger::open(&path, clock).expect("ledger");

    // Bulk load: streams and attempts in one transaction.
    let loaded = Instant::now();
    {
        let mut conn = rusqlite::Connection::open(&path).expect("open");
        conn.pragma_update(None, "synchronous", "OFF")
            .expect("pragma");
        let tx = conn.transaction().expect("tx");
        {
            let mut streams = tx
                .prepare(
                    "INSERT INTO streams (id, account, region, name, arn, source_type, status,
                         enc_status, key_type, key_arn, in_force_type, in_force_arn, observed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'DirectPut', 'ACTIVE', 'ENABLED',
                             'AWS_OWNED_CMK', NULL, 'AWS_OWNED_CMK', NULL, ?6)",
                )
                .expect("prepare");
            for i in 0..args.streams {
                streams
                    .execute(rusqlite::params![
                        i as i64 + 1,
                        ACCOUNT,
                        REGION,
                        name(i),
                        format!(
                            "arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{}",
                            name(i)
                        ),
                        now
                    ])
                    .expect("stream");
            }
            let mut attempts = tx
                .prepare(
                    "INSERT INTO attempts (stream_id, op, key_type, sent_at, state, completed_at)
                     VALUES (?1, ?2, 'AWS_OWNED_CMK', ?3, 'ok', ?3)",
                )
                .expect("prepare");
            let mut rng = Lcg(7);
            let per_stream = args.attempts.div_ceil(args.streams.max(1));
            let mut n = 0;
            'outer: for s in 0..args.streams {
                for _ in 0..per_stream {
                    if n == args.attempts {
                        break 'outer;
                    }
                    // Sent at any time in the last 48 h: about half count in the window.
                    let sent = now - rng.below(2 * DAY as u64) as EpochMillis;
                    let op = if rng.below(2) == 0 { "start" } else { "stop" };
                    attempts
                        .execute(rusqlite::params![s as i64 + 1, op, sent])
                        .expect("attempt");
                    n += 1;
                }
            }
        }
        tx.commit().expect("commit");
    }
    let load = loaded.elapsed();

    // The newest apply run: the planned fleet, every stream done.
    let begun = Instant::now();
    let run_args = RunArgs::Unknown(json!({}));
    let run = ledger
        .start_run(RunKind::Apply, None, &run_args)
        .expect("run");
    let rows: Vec<(Item, Phase, Option<KeyChoice>)> = items
        .iter()
        .map(|item| {
            let phase = match item.action {
                Action::Enable
                | Action::Rekey
                | Action::Disable
                | Action::Restore
                | Action::Noop => Phase::Done,
                Action::Skip => Phase::Skipped,
                Action::Defer => Phase::Deferred,
            };
            (item.clone(), phase, None)
        })
        .collect();
    ledger.insert_run_items(run.id(), &rows).expect("run items");
    run.finish(RunOutcome::Deferred).expect("end run");
    let run_insert = begun.elapsed();

    // Budget queries for random streams, as the dispatcher makes one before every Start.
    let mut rng = Lcg(99);
    let mut times = Vec::with_capacity(args.queries);
    let mut used_total = 0u64;
    let query_now = ledger.now();
    for _ in 0..args.queries {
        let stream = id(rng.below(args.streams.max(1) as u64) as usize);
        let t = Instant::now();
        used_total += u64::from(ledger.budget_used(&stream, query_now).expect("budget"));
        times.push(t.elapsed());
    }
    times.sort_unstable();
    let mean = times.iter().sum::<Duration>().as_secs_f64() * 1e6 / times.len().max(1) as f64;

    let t = Instant::now();
    let all = ledger.all_counted_sends(query_now).expect("all sends");
    let all_time = t.elapsed();
    let counted: usize = all.values().map(Vec::len).sum();
    drop(ledger);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if args.ledger.is_some() {
        // Left for the caller (status timing); the temp dir would delete it.
        std::mem::forget(dir);
    }
    json!({
        "streams": args.streams,
        "attempts": args.attempts,
        "run_items": items.len(),
        "path": path.display().to_string(),
        "file_mib": size as f64 / (1024.0 * 1024.0),
        "load_s": load.as_secs_f64(),
        "run_insert_ms": ms(run_insert),
        "budget_used": {
            "queries": args.queries,
            "mean_us": mean,
            "p50_us": percentile(&times, 0.5),
            "p99_us": percentile(&times, 0.99),
            "max_us": percentile(&times, 1.0),
            "mean_used": used_total as f64 / args.queries.max(1) as f64,
        },
        "all_counted_sends": {
            "ms": ms(all_time),
            "streams": all.len(),
            "sends": counted,
        },
    })
}

fn main() {
    let args = args();
    let now = SystemClock.now();
    let (items, plan) = bench_plan(args.rows, now);
    let ledger = bench_ledger(&args, &items, now);
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({"plan": plan, "ledger": ledger})).expect("json")
    );
}
