//! The gates a Start passes before it is sent (docs/design.md#the-gates-of-a-start), as pure
//! functions: the stream's budget above the reserve, and room under its customer key's limit.
//! (Concurrency is a count per region kept by the engine; the token is taken by the Start worker.)

use crate::clock::EpochMillis;
use crate::limits::{KeyRoom, budget};
use crate::plan::Settings;

/// What the budget says about sending one more call now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetGate {
    /// There is a call above the reserve.
    Pass,
    /// A call frees within the allowed wait: try again at this time.
    WaitUntil(EpochMillis),
    /// None frees within the allowed wait: defer, with the time it frees (if ever).
    Defer(Option<EpochMillis>),
}

/// The budget gate: `sends` are the stream's counted send times, `max_wait` how long an item
/// may wait for its next slot before it is deferred.
pub fn budget_gate(
    sends: &[EpochMillis],
    now: EpochMillis,
    settings: &Settings,
    max_wait: EpochMillis,
) -> BudgetGate {
    let allowed = settings.allowed();
    if budget::used(sends, now, settings.counted_window()) < allowed {
        return BudgetGate::Pass;
    }
    match budget::next_slot(sends, now, settings.counted_window(), allowed) {
        // One millisecond past the slot: the call sent at the edge has left the window.
        Some(slot) if slot - now <= max_wait => BudgetGate::WaitUntil(slot.max(now) + 1),
        slot => BudgetGate::Defer(slot),
    }
}

/// What the key's limit says about one more stream under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyGate {
    /// A slot was taken for the stream.
    Taken,
    /// The key is full, but an open item moving a stream away from it may free a slot: wait.
    Wait,
    /// The key is full and nothing in the run can free it.
    Full,
}

/// The key gate: takes a slot under `arn` when there is room; `may_free` says whether some
/// open item of the run is moving a stream away from the key.
pub fn key_gate(room: &mut KeyRoom, arn: &str, may_free: bool) -> KeyGate {
    if room.take(arn) {
        KeyGate::Taken
    } else if may_free && !room.is_full(arn) {
        KeyGate::Wait
    } else {
        KeyGate::Full
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::clock::DAY;

    const NOW: EpochMillis = 10 * DAY;

    #[test]
    fn the_budget_gate_passes_waits_or_defers() {
        let settings = Settings::default(); // 25 per day, reserve 1: 24 allowed
        let sends: Vec<EpochMillis> = (0..24).map(|i| NOW - DAY + 1_000 * (i + 1)).collect();
        assert_eq!(
            budget_gate(&sends[..23], NOW, &settings, 0),
            BudgetGate::Pass
        );
        // Full: the oldest leaves the window at sends[0] + DAY, 1 s from now, and its slot is
        // used once the margin has passed too.
        let slot = sends[0] + DAY + settings.margin;
        assert_eq!(
            budget_gate(&sends, NOW, &settings, 0),
            BudgetGate::Defer(Some(slot))
        );
        assert_eq!(
            budget_gate(&sends, NOW, &settings, slot - NOW),
            BudgetGate::WaitUntil(slot + 1)
        );
        let no_margin = Settings {
            margin: 0,
            ..settings
        };
        assert_eq!(
            budget_gate(&sends, NOW, &no_margin, 1_000),
            BudgetGate::WaitUntil(sends[0] + DAY + 1)
        );
        let never = Settings {
            reserve: 25,
            ..settings
        };
        assert_eq!(budget_gate(&[], NOW, &never, DAY), BudgetGate::Defer(None));
    }

    #[test]
    fn the_key_gate_takes_a_slot_or_says_why_not() {
        let mut room = KeyRoom::new(1, HashMap::new());
        assert_eq!(key_gate(&mut room, "k", false), KeyGate::Taken);
        assert_eq!(key_gate(&mut room, "k", true), KeyGate::Wait);
        assert_eq!(key_gate(&mut room, "k", false), KeyGate::Full);
        assert_eq!(room.count("k"), 1);
        // Once the service said the key is full, nothing we may free makes room.
        room.free("k");
        room.mark_full("k");
        assert_eq!(key_gate(&mut room, "k", true), KeyGate::Full);
    }
}
