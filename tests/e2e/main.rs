//! The integration tests, linked once: one binary, one module per area, each driving the real
//! `firehose-sse` binary end to end against the sandbox (conformance also against moto) — but
//! `layout`, which reads the sources, and `docs`, which reads the documentation.
//! `cargo test --test e2e` runs them all; a module path filters them (`cargo test --test e2e
//! chaos::`).
//!
//! The tests share this process, so none of them may touch process-wide state: no
//! `std::env::set_var`, no change of the current directory (each child gets its own
//! environment and directory through `Command`), every server on a loopback port the OS
//! picked, every file in a temporary directory of its own. The shared resources, moto's and
//! the AWS CLI's virtualenvs under `target/`, are built once behind a `OnceLock` and a file
//! lock.

mod aws_cli;
mod common;
mod venv;

mod accounts;
mod apply;
mod chaos;
mod cli;
mod code_owned;
mod conformance;
mod docs;
mod documented;
mod first_look;
mod hostile;
mod hostile_input;
mod iam_policy;
mod kinesis_sources;
mod layout;
mod mistakes;
mod new_user;
mod plan;
mod producers;
mod readings;
mod reports;
mod review;
mod sandbox;
mod seed_commands;
mod undo;
mod waves;
