//! `completions` and `man`: the command line described for shells and for man(1), generated
//! from the same definitions it is parsed with ([`crate::cli::command`]), so neither can offer
//! a command or option this version does not have.

use crate::error::{Exit, UsageError};

/// The program's name in both: the one it is installed as.
const NAME: &str = "firehose-sse";

/// `completions SHELL`: the completion script on standard output.
pub fn completions(shell: clap_complete::Shell) -> Exit {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut crate::cli::command(), NAME, &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    if shell == clap_complete::Shell::Bash {
        script = bash_states_agree(&script);
    }
    crate::report::stdout(&script);
    Exit::Ok
}

/// clap_complete's bash script spells the state of a command two ways when the program's name
/// has a hyphen: the loop that reads the words reaches `firehose__sse__subcmd__plan`, while
/// the arms that offer a command's options are labelled `firehose__subcmd__sse__subcmd__plan`,
/// so nothing after a command's name would complete. The arms are spelt as the loop does
/// (`cli::shell_completions_offer_every_command_and_each_command_its_options` would fail
/// without it).
fn bash_states_agree(script: &str) -> String {
    script.replace("firehose__subcmd__sse", "firehose__sse")
}

/// `man [COMMAND]`: the manual page (roff, section 1) of the program, or of one command
/// (`firehose-sse-COMMAND(1)`, the name the program's page refers to it by), on standard
/// output.
pub fn man(command: Option<&str>) -> anyhow::Result<Exit> {
    let mut program = crate::cli::command().name(NAME).bin_name(NAME);
    // Built, each command has the global options and its page's name (`firehose-sse-plan`).
    program.build();
    let page = match command {
        None => program,
        Some(name) => match program.find_subcommand(name) {
            Some(sub) => sub.clone(),
            None => {
                let mut names: Vec<&str> = program
                    .get_subcommands()
                    .map(|c| c.get_name())
                    .filter(|n| *n != "help")
                    .collect();
                names.sort_unstable();
                return Err(UsageError::new(format!(
                    "no command {name:?}: the pages are those of {}",
                    names.join(", ")
                ))
                .into());
            }
        },
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff)?;
    crate::report::stdout(&String::from_utf8_lossy(&roff));
    Ok(Exit::Ok)
}
