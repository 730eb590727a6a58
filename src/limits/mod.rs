//! The AWS limits as pure arithmetic: functions of send times, counts and the clock, with no
//! I/O, so the ledger, the planner, the survey and the engine share one reading of each limit
//! and every edge is a fast unit test. [`budget`] is the rolling 24 h Start+Stop budget per
//! stream; [`key_room`] the streams counted under each customer-managed key against its limit.

pub mod budget;
pub mod key_room;

pub use key_room::{KeyChange, KeyRoom};
