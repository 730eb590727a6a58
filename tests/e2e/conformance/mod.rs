//! Conformance: the same end-to-end scenarios against two implementations of the Firehose and
//! KMS APIs, moto server (independent of us, its shapes generated from AWS's service models) and
//! our own sandbox. A misunderstanding of the wire protocol shared by our client and our sandbox
//! passes every other test; here it shows as the moto test of a scenario failing while the
//! sandbox one passes (each scenario is a module with a `moto` and a `sandbox` test).
//!
//! moto comes from a virtualenv made once under `target/conformance-venv` (`python3 -m venv`,
//! then `pip install 'moto[server]>=5.2,<5.3'`) and reused; without Python 3, venv or pip, or
//! without access to PyPI, the moto tests fail saying what to install. Each test starts its own
//! server on a free loopback port, seeds it through the SDK as any AWS user would
//! (CreateDeliveryStream, KMS CreateKey, Start encryption for the streams that must already be
//! encrypted), runs the real binary against it, and checks both our reports and a direct
//! Describe of every stream.
//!
//! What moto does not model (no ENABLING phase, no budget or key limits, no throttle) is tested
//! against the sandbox alone, elsewhere. Where moto 5.2 differs from AWS:
//! - It echoes destinations as given; the Rust SDK refuses a description whose S3 destination
//!   lacks `BufferingHints`, `CompressionFormat` or `EncryptionConfiguration`, so seeding sets
//!   them (AWS always returns them).
//! - A never-encrypted stream has no `DeliveryStreamEncryptionConfiguration` (AWS: `Status`
//!   DISABLED); after a Stop it keeps the old `KeyType`/`KeyARN` beside `Status` DISABLED (our
//!   sandbox shows no key). Our client reads a missing status as DISABLED and takes the key in
//!   force from ENABLED observations only, so the stopped streams here must be enabled again.
//! - `KeyUsage` is null (AWS: always set): our client reads it as ENCRYPT_DECRYPT for a
//!   SYMMETRIC_DEFAULT key. `DisableKey` by key ARN is HTTP 500: seeding passes the key id.
//! - Start is accepted on a KinesisStreamAsSource stream (AWS: InvalidArgumentException); Start
//!   without an encryption input and Stop on a never-encrypted stream are HTTP 500. Our planner
//!   never starts a non-DirectPut stream (scenario 2 would see it ENABLED), always sends the
//!   input, and stops only a stream it sees encrypted (scenario 5 stops streams scenario 2's
//!   apply enabled).
//!
//! Setup apart from scenarios: `moto` makes the virtualenv and runs the server, `backend` puts
//! moto or our sandbox behind one interface, `sdk` seeds a backend through the SDK and reads it
//! back with a direct Describe, `mixed` is the fleet of scenarios 1, 2, 3 and 5; `scenarios` holds
//! those five scenarios, `organization` scenario 6 (three member accounts reached with
//! `--assume-role`: moto makes them through Organizations, the sandbox is started with them),
//! `producers` scenario 7 (the producer check: moto lists principals and key policies but has no
//! policy simulator), `waves` scenario 8 (a rollout in waves halted by an alarm) and `tls` the
//! private certificate authority test (moto over HTTPS).

mod backend;
mod mixed;
pub mod moto;
mod organization;
mod producers;
mod scenarios;
mod sdk;
mod tls;
mod waves;

use backend::Backend;
use producers::producers_of_a_stream_moving_to_a_key;
use scenarios::{
    apply_of_a_mixed_fleet, inventory_of_a_region, plan_of_a_mixed_fleet,
    resume_after_kill_9_converges, rollback_of_a_mixed_apply,
};
use waves::waves_halted_by_an_alarm;

const REGION: &str = "us-east-1";

/// Each scenario as two tests, `<scenario>::moto` and `<scenario>::sandbox`.
macro_rules! on_both {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn moto() {
                super::$scenario(&super::Backend::moto());
            }

            #[test]
            fn sandbox() {
                super::$scenario(&super::Backend::sandbox());
            }
        }
    )*};
}

on_both!(
    plan_of_a_mixed_fleet,
    apply_of_a_mixed_fleet,
    inventory_of_a_region,
    resume_after_kill_9_converges,
    rollback_of_a_mixed_apply,
    producers_of_a_stream_moving_to_a_key,
    waves_halted_by_an_alarm,
);
