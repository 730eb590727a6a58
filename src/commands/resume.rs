//! `resume [RUN]`: wiring only. Take the lock and carry an unfinished run on from where it
//! stopped — where it ran, with the roles it assumed; its streams in flight reconciled first,
//! those it had not observed yet observed as it goes, a rollout in waves wave by wave.

use super::running::{Run, carry_out, config, exit_code, take_lock};
use super::session::IN_PROCESS_SANDBOX;
use super::{LedgerMode, Place, Session, waves};
use crate::apply::feed::ToObserve;
use crate::apply::{self, Feed};
use crate::engine::Track;
use crate::error::{Exit, UsageError};
use crate::input::Target;
use crate::ledger::{LockGuard, RunRow};
use crate::model::Interner;
use crate::options::{Global, ResumeOptions, RunOptions};
use crate::plan::Settings;

pub async fn resume(args: &ResumeOptions) -> anyhow::Result<Exit> {
    // The run is resumed where it ran when no endpoint is given now: read it first.
    let ledger = Session::open_ledger(&args.global, LedgerMode::Existing)?;
    let then = match args.run_id {
        Some(id) => ledger.run(id)?,
        None => ledger.unfinished_apply(None)?,
    };
    let global = &*Place::endpoint_of_record(
        &args.global,
        then.as_ref().and_then(Place::of_run).as_ref(),
        args.run.sandbox.is_some(),
        &then.map_or_else(String::new, |r| format!("run {}", r.id)),
    );
    let session = Session::open_on(
        ledger,
        global,
        &args.run.pace,
        args.run.sandbox.as_ref(),
        None,
    )
    .await?;
    let ledger = &session.ledger;
    let place = session.place().await;
    let lock = take_lock(ledger)?;
    ledger.abandon_planless_runs()?;
    let run = match args.run_id {
        Some(id) => ledger.run(id)?.filter(|r| r.carries_out()).ok_or_else(|| {
            UsageError::new(format!("no apply run {id} in {}", ledger.path().display()))
        })?,
        None => match ledger.unfinished_apply(None)? {
            Some(run) => run,
            None => {
                eprintln!(
                    "Nothing to resume: every apply run in {} has finished.",
                    ledger.path().display()
                );
                lock.release()?;
                return Ok(Exit::Ok);
            }
        },
    };
    let exit = resume_locked(
        global,
        &session,
        &lock,
        run,
        &args.run,
        &place,
        args.override_gate,
    )
    .await?;
    lock.release()?;
    Ok(exit)
}

/// Continues a run; the caller holds the lock.
/// The run is resumed where it ran: refused when that was an in-process sandbox (gone with
/// its process) or another endpoint or account than now, and with the roles it assumed.
async fn take_up_place(
    session: &Session,
    row: &RunRow,
    options: &RunOptions,
    place: &Place,
) -> anyhow::Result<()> {
    let Some(then) = Place::of_run(row) else {
        return Ok(());
    };
    if then.endpoint == IN_PROCESS_SANDBOX {
        return Err(UsageError::new(format!(
            "run {} ran against an in-process sandbox, which ended with its process: there \
             is nothing to resume it against. Start a new run",
            row.id
        ))
        .into());
    }
    place.check(
        &then,
        &format!("run {}", row.id),
        options.allow_endpoint_change,
    )?;
    Place::adopt_roles(&then, session).await?;
    Ok(())
}

pub(super) async fn resume_locked(
    global: &Global,
    session: &Session,
    lock: &LockGuard<'_>,
    row: RunRow,
    options: &RunOptions,
    place: &Place,
    override_gate: bool,
) -> anyhow::Result<Exit> {
    let ledger = &session.ledger;
    session.accounts.set_run(row.id);
    take_up_place(session, &row, options, place).await?;
    lock.set_run(row.id)?;
    let settings = match row.plan_id {
        Some(p) => ledger.load_plan(p)?.map(|p| p.settings).unwrap_or_default(),
        None => Settings::default(),
    };
    // A rollout in waves goes on wave by wave, from where its waves stand.
    if let Some(plan) = row.arguments().waves().cloned() {
        let fleet = match row.plan_id {
            Some(p) => ledger.plan_fleet(p)?.unwrap_or_default(),
            None => String::new(),
        };
        if !global.quiet {
            eprintln!("Resuming run {}, a rollout in waves.", row.id);
        }
        let rollout = waves::Rollout {
            row: ledger.reopen_run(row.id)?,
            plan,
            fleet,
            settings,
            options,
            lock,
            place,
            override_gate,
        };
        return waves::roll_out(global, session, rollout).await;
    }
    let rows = ledger.run_items(row.id)?;
    let mut names = Interner::default();
    let mut tracks: Vec<Track> = rows
        .iter()
        .filter_map(|row| apply::track_from_row(row, &mut names))
        .collect();
    // Streams the run had not observed yet are observed and decided as it goes on.
    let (seqs, undecided): (Vec<usize>, Vec<Target>) = rows
        .iter()
        .filter(|r| r.action.is_none())
        .map(|r| (r.seq, r.target()))
        .unzip();
    drop(rows);
    let unknown = apply::reconcile_in_flight(ledger, &mut tracks)?;
    if !global.quiet {
        let open = tracks.iter().filter(|t| !t.phase.is_terminal()).count();
        let unknown = match unknown {
            0 => String::new(),
            n => format!(", {n} call(s) with an unknown outcome to reconcile"),
        };
        eprintln!(
            "Resuming run {}: {open} of {} streams not finished{unknown}.",
            row.id,
            tracks.len()
        );
    }
    let run = ledger.reopen_run(row.id)?;
    let feed = match (undecided.is_empty(), row.plan_id) {
        (false, Some(plan_id)) => {
            let fleet = ledger.plan_fleet(plan_id)?.unwrap_or_default();
            let to_observe = ToObserve {
                fleet: &fleet,
                targets: undecided,
                seqs,
                settings,
            };
            let (feed, first) =
                Feed::start(ledger, &session.clients(), run.id(), to_observe).await?;
            Some((feed, options.pace.plan(), first))
        }
        _ => None,
    };
    let now = ledger.now();
    let mut items = tracks
        .into_iter()
        .map(|t| apply::new_item(ledger, t, now))
        .collect::<Result<Vec<_>, _>>()?;
    let feed = feed.map(|(feed, pace, first)| {
        items.extend(first);
        (feed, pace)
    });
    let run = Run {
        row: run,
        items,
        feed,
        config: config(options, settings),
        title: "Apply",
    };
    Ok(exit_code(&carry_out(global, session, run).await?))
}
