//! The AWS limits as pure arithmetic: functions of send times, counts and the clock, with no
//! I/O, so the ledger, the planner and the engine share one reading of each limit and every
//! edge is a fast unit test. `budget` is the rolling 24 h Start+Stop budget per stream.

pub mod budget;
