//! The arithmetic of the rolling 24 h Start+Stop budget, as pure functions over the send times
//! of a stream's counted attempts. The ledger feeds them; the planner and dispatcher use them.
//!
//! An attempt sent at `t` counts at `now` when `now - window < t <= now`: it leaves the window at
//! exactly `t + window`.

use crate::clock::{DAY, EpochMillis};

/// Start+Stop calls AWS allows per stream per rolling window.
pub const STREAM_BUDGET: u32 = 25;
/// The rolling window of [`STREAM_BUDGET`].
pub const WINDOW: EpochMillis = DAY;

/// Send times, in time order, from `(sent_at, budget_full)` rows: each row counts once, and a
/// refusal for a spent budget adds copies of its time until [`STREAM_BUDGET`] are counted up to
/// it — the service told us the budget was full then, whoever spent it.
pub fn with_refusals(rows: &[(EpochMillis, bool)]) -> Vec<EpochMillis> {
    let mut out = Vec::with_capacity(rows.len());
    for &(at, full) in rows {
        out.push(at);
        if full {
            let counted = out.len();
            out.extend(std::iter::repeat_n(
                at,
                (STREAM_BUDGET as usize).saturating_sub(counted),
            ));
        }
    }
    out
}

/// Calls counted at `now` among `sent` (any order).
pub fn used(sent: &[EpochMillis], now: EpochMillis, window: EpochMillis) -> u32 {
    sent.iter()
        .filter(|&&t| t > now - window && t <= now)
        .count() as u32
}

/// The earliest time at or after `now` when fewer than `allowed` calls are counted, i.e. when
/// one more call may be made without exceeding `allowed`. `now` itself when there is room.
/// `allowed == 0` never frees: `None`.
pub fn next_slot(
    sent: &[EpochMillis],
    now: EpochMillis,
    window: EpochMillis,
    allowed: u32,
) -> Option<EpochMillis> {
    if allowed == 0 {
        return None;
    }
    let mut in_window: Vec<EpochMillis> = sent
        .iter()
        .copied()
        .filter(|&t| t > now - window && t <= now)
        .collect();
    let count = in_window.len();
    if count < allowed as usize {
        return Some(now);
    }
    in_window.sort_unstable();
    // Once the (count - allowed + 1) oldest have left the window, count - (that) < allowed.
    Some(in_window[count - allowed as usize] + window)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: EpochMillis = 10 * DAY;

    #[test]
    fn window_edges() {
        // Exactly 24 h old: out. One millisecond younger: in. In the future: out.
        assert_eq!(used(&[NOW - DAY], NOW, DAY), 0);
        assert_eq!(used(&[NOW - DAY + 1], NOW, DAY), 1);
        assert_eq!(used(&[NOW], NOW, DAY), 1);
        assert_eq!(used(&[NOW + 1], NOW, DAY), 0);
    }

    #[test]
    fn twenty_five_calls_then_the_oldest_frees_a_slot() {
        let sent: Vec<EpochMillis> = (0..25).map(|i| NOW - DAY + 1_000 * (i + 1)).collect();
        assert_eq!(used(&sent, NOW, DAY), 25);
        // Full budget: the first slot is when the oldest leaves.
        assert_eq!(next_slot(&sent, NOW, DAY, 25), Some(sent[0] + DAY));
        // With a reserve of 1 (24 allowed), two must leave: the second-oldest decides.
        assert_eq!(next_slot(&sent, NOW, DAY, 24), Some(sent[1] + DAY));
        // At that instant the window indeed holds only 23.
        assert_eq!(used(&sent, sent[1] + DAY, DAY), 23);
        assert_eq!(used(&sent, sent[1] + DAY - 1, DAY), 24);
    }

    #[test]
    fn room_now() {
        assert_eq!(next_slot(&[NOW - 5], NOW, DAY, 24), Some(NOW));
        assert_eq!(next_slot(&[], NOW, DAY, 0), None);
    }

    #[test]
    fn a_refusal_for_a_spent_budget_fills_it_for_a_window() {
        let rows = [(NOW - 100, false), (NOW - 50, true)];
        let sent = with_refusals(&rows);
        assert_eq!(sent.len(), STREAM_BUDGET as usize);
        assert_eq!(used(&sent, NOW, DAY), STREAM_BUDGET);
        // Room again only when the refusal is a window old.
        assert_eq!(next_slot(&sent, NOW, DAY, 24), Some(NOW - 50 + DAY));
        assert_eq!(with_refusals(&[(NOW, false)]), vec![NOW]);
    }

    #[test]
    fn unordered_input() {
        let sent = [NOW - 10, NOW - 30, NOW - 20];
        assert_eq!(next_slot(&sent, NOW, DAY, 2), Some(NOW - 20 + DAY));
    }
}
