//! The Examples section of each command's `--help` (clap's `after_long_help`, so `-h` stays
//! short): the lines an operator types. Each is parsed by the tests with the same definitions
//! it documents (`cli::tests`), so none can name a flag that does not exist.

/// The exit codes, under the program's `-h` and `--help` alike.
macro_rules! exit_codes {
    () => {
        "Exit codes: 0 ok, 1 runtime error, 2 usage or input error (nothing was called), 3 some \
         streams failed, 4 some streams deferred, 5 a wave's health gate failed, 6 streams \
         skipped for a cause you can fix, 130 interrupted."
    };
}

pub const EXIT_CODES: &str = exit_codes!();

/// The whole program's `--help`: the examples, then the exit codes.
pub const PROGRAM: &str = concat!(
    "Examples:
  firehose-sse plan fleet.csv          # dry run: what would happen, and why
  firehose-sse apply --plan 1          # carry that plan out (asks first)
  firehose-sse status                  # where the newest run stands
  firehose-sse rollback --dry-run      # what undoing it would do

",
    exit_codes!()
);

pub const PLAN: &str = "\
Examples:
  firehose-sse plan fleet.csv
  firehose-sse plan fleet.csv --out plan.json --format md > plan.md
  firehose-sse plan fleet.csv --detailed-exitcode -q    # exit 2: changes
  firehose-sse plan plans/example.csv --sandbox         # on an emulator";

pub const INVENTORY: &str = "\
Examples:
  firehose-sse inventory --region us-east-1
  firehose-sse inventory --region us-east-1 --region eu-west-1 --out fleet.csv
  firehose-sse inventory --organization --assume-role firehose-sse --out org.csv";

pub const AUDIT: &str = "\
Examples:
  firehose-sse audit --region us-east-1
  firehose-sse audit --region us-east-1 --out-policies policies
  firehose-sse audit --organization --assume-role firehose-sse --format csv";

pub const APPLY: &str = "\
Examples:
  firehose-sse apply --plan 1                  # a plan `plan` saved
  firehose-sse apply --plan plan.json --yes    # a plan file (plan --out)
  firehose-sse apply fleet.csv --yes           # observe, decide, apply
  firehose-sse apply fleet.csv --yes --waves 1,5%,100% --alarm orders-errors";

pub const RESUME: &str = "\
Examples:
  firehose-sse resume                      # the newest unfinished run
  firehose-sse resume 7
  firehose-sse resume 7 --override-gate    # past a failed health gate";

pub const ROLLBACK: &str = "\
Examples:
  firehose-sse rollback --dry-run          # the rollback's plan, saved
  firehose-sse rollback --plan 2           # that plan carried out
  firehose-sse rollback --yes              # undo the newest apply
  firehose-sse rollback 7 --yes";

pub const STATUS: &str = "\
Examples:
  firehose-sse status
  firehose-sse status 7 --output json
  firehose-sse status --ledger shard-1.db --ledger shard-2.db";

pub const REPORT: &str = "\
Examples:
  firehose-sse report
  firehose-sse report 7 --format csv > outcome.csv
  firehose-sse report --format html > run.html
  firehose-sse report --ledger shard-1.db --ledger shard-2.db --format md";

pub const SHOW: &str = "\
Examples:
  firehose-sse show plan.json
  firehose-sse show plan.json --format md > plan.md";

pub const HISTORY: &str = "\
Examples:
  firehose-sse history
  firehose-sse history --output json";

pub const SANDBOX: &str = "\
Examples:
  firehose-sse sandbox                     # serves http://127.0.0.1:4599
  firehose-sse sandbox --streams 300 --latency 1s
  firehose-sse sandbox --fleet plans/example.sandbox.json --listen 127.0.0.1:0";

pub const START: &str = "\
Examples:
  firehose-sse start-delivery-stream-encryption --delivery-stream-name orders
  firehose-sse start-delivery-stream-encryption --generate-cli-skeleton
  firehose-sse start-delivery-stream-encryption --cli-input-json file://in.json";

pub const STOP: &str = "\
Examples:
  firehose-sse stop-delivery-stream-encryption --delivery-stream-name orders
  firehose-sse stop-delivery-stream-encryption --cli-input-json file://in.json";

pub const COMPLETIONS: &str = "\
Examples:
  firehose-sse completions bash > /etc/bash_completion.d/firehose-sse
  firehose-sse completions zsh > ~/.zfunc/_firehose-sse    # fpath+=~/.zfunc
  firehose-sse completions fish > ~/.config/fish/completions/firehose-sse.fish
  firehose-sse completions powershell >> $PROFILE";

pub const MAN: &str = "\
Examples:
  firehose-sse man | man -l -
  firehose-sse man rollback | man -l -
  firehose-sse man > /usr/local/share/man/man1/firehose-sse.1";
