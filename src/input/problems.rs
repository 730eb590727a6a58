//! What is wrong with a fleet file: each [`Problem`] with its line, column and value, and
//! [`FleetErrors`], all of them, shown as one list (at most [`MAX_SHOWN`]).

use std::fmt;

/// How many problems are printed before the rest are only counted.
pub const MAX_SHOWN: usize = 50;

/// One problem of a fleet file. `line` is `None` for problems of the file as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<u64>,
    pub column: Option<String>,
    pub value: Option<String>,
    pub message: String,
}

/// Every problem found in a fleet file; displayed as a list, at most [`MAX_SHOWN`] of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FleetErrors {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for FleetErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A problem of the whole file (unreadable, empty, UTF-16) is said in one line that
        // names the file once.
        if let [p] = self.problems.as_slice()
            && p.line.is_none()
            && p.column.is_none()
        {
            return write!(
                f,
                "the fleet file {}: {}; nothing was sent",
                self.file, p.message
            );
        }
        let n = self.problems.len();
        write!(
            f,
            "{}: {n} problem{} in the fleet file, nothing was sent",
            self.file,
            if n == 1 { "" } else { "s" }
        )?;
        for p in self.problems.iter().take(MAX_SHOWN) {
            write!(f, "\n  ")?;
            if let Some(line) = p.line {
                write!(f, "line {line}")?;
            } else {
                write!(f, "file")?;
            }
            if let Some(column) = &p.column {
                write!(f, ", column {column}")?;
            }
            if let Some(value) = &p.value {
                write!(f, ", value {}", shown(value))?;
            }
            write!(f, ": {}", p.message)?;
        }
        if n > MAX_SHOWN {
            write!(f, "\n  ... and {} more", n - MAX_SHOWN)?;
        }
        Ok(())
    }
}

/// A value as shown in an error: quoted and escaped (so NULs and look-alikes are visible),
/// and cut short when long.
fn shown(value: &str) -> String {
    const MAX: usize = 80;
    if value.chars().count() <= MAX {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("{head:?}... ({} bytes)", value.len())
    }
}

/// A problem of the file as a whole.
pub(super) fn file_problem(message: impl Into<String>) -> Problem {
    Problem {
        line: None,
        column: None,
        value: None,
        message: message.into(),
    }
}
