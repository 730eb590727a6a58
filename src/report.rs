//! Presentation: colour decisions and the human-readable renderings of what the engine did.
//! The engine never prints; this module draws.

use crate::cli::ColorChoice;

/// Whether to colour output: `on`/`off` decide; `auto` colours a terminal unless `NO_COLOR`
/// is set to a non-empty value (https://no-color.org).
pub fn color_enabled(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::On => true,
        ColorChoice::Off => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// A borderless table in the style of `terraform` and `kubectl` output.
pub fn table<const N: usize>(header: [&str; N]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    table.set_header(header);
    table
}
