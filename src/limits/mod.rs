//! The AWS limits as pure arithmetic, shared by the planner, the survey and the engine: the
//! per-key stream count ([`key_room`]).

pub mod key_room;

pub use key_room::{KeyChange, KeyRoom};

pub use crate::ledger::budget;
