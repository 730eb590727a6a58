//! The documentation, checked by reading it (no binary is run): every relative link of every
//! Markdown file in the repository opens — its file exists and its `#anchor` is a heading of
//! that file, as GitHub makes anchors — and so does every reference to a document in the code
//! (`docs/design.md#the-key-limit` in a comment). The code refers to no document outside the
//! repository, and README.md stays an overview (at most 300 lines; the rest is in `docs/`).
//! Every command README.md and the guides show in a `sh` block parses with the program's own
//! definitions: none names a flag that does not exist.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// README.md's length: what it is, "Run it now", the commands, install, exit codes, links.
const README_MAX_LINES: usize = 300;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_relative_link_of_every_markdown_file_opens() {
    let root = root();
    let files = files_under(&root, &|p| p.extension().is_some_and(|e| e == "md"));
    assert!(
        files.iter().any(|f| f.ends_with("README.md")),
        "no Markdown file found under {}",
        root.display()
    );
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, raw) in prose(&text) {
            for needle in outside_documents() {
                if raw.contains(needle.as_str()) {
                    broken.push(format!(
                        "{}:{line}: \"{needle}\" names a document outside the repository: \
                         point to docs/design.md",
                        relative(&root, file)
                    ));
                }
            }
        }
        for link in links(&text) {
            if let Err(why) = opens(file, &link.target) {
                broken.push(format!(
                    "{}:{}: ({}) {why}",
                    relative(&root, file),
                    link.line,
                    link.target
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links that do not open (file:line: (link) why):\n{}",
        broken.join("\n")
    );
}

#[test]
fn every_document_the_code_refers_to_is_in_the_repository_and_opens() {
    let root = root();
    let this_file = root.join(file!());
    let mut broken = Vec::new();
    let dirs = [
        "src",
        "crates",
        "tests",
        "benches",
        "scripts",
        ".ci",
        "migrations",
    ];
    for dir in dirs {
        let code = files_under(&root.join(dir), &|p| {
            let ext = p.extension().and_then(|e| e.to_str());
            matches!(ext, None | Some("rs" | "py" | "sh" | "sql" | "toml"))
        });
        for file in code.iter().filter(|f| **f != this_file) {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            for (n, line) in text.lines().enumerate() {
                let at = format!("{}:{}", relative(&root, file), n + 1);
                for needle in &outside_documents() {
                    if line.contains(needle.as_str()) {
                        broken.push(format!(
                            "{at}: \"{needle}\" names a document outside the repository: \
                             point to docs/design.md"
                        ));
                    }
                }
                for reference in document_references(line) {
                    if let Err(why) = opens(&root.join("README.md"), &reference) {
                        broken.push(format!("{at}: ({reference}) {why}"));
                    }
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "references in the code that do not open (file:line: (reference) why):\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_readme_is_an_overview_of_at_most_300_lines() {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = text.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, more than {README_MAX_LINES}: move the detail to a page \
         of docs/ and link it"
    );
    assert!(
        text.contains("cargo test"),
        "README.md must keep the test command `cargo test` (.ci/run runs it)"
    );
}

/// The checks themselves, on made-up documents: a missing file, a missing anchor and a
/// reference outside the repository are found; headings become anchors as on GitHub.
#[test]
fn the_checks_find_what_they_are_for() {
    assert_eq!(slug("The 24 h budget"), "the-24-h-budget");
    assert_eq!(slug("`report --format html`"), "report---format-html");
    assert_eq!(
        slug("Many accounts (an AWS Organization)"),
        "many-accounts-an-aws-organization"
    );
    assert_eq!(
        slug("Ground truth: `GET /_sandbox/stats`"),
        "ground-truth-get-_sandboxstats"
    );
    assert_eq!(slug("[Links](x.md) *and* émphasis"), "links-and-émphasis");
    let text = "# A\n\n```md\n[in code](nowhere.md)\n# not a heading\n```\n\n## A\n\
                see `[code](nowhere.md)` and [b](#a-1), [c](#not-a-heading) ![p](x.png \"t\")\n";
    let targets: Vec<_> = links(text)
        .into_iter()
        .map(|l| (l.line, l.target))
        .collect();
    assert_eq!(
        targets,
        [
            (9, "#a-1".to_owned()),
            (9, "#not-a-heading".to_owned()),
            (9, "x.png".to_owned())
        ]
    );
    assert_eq!(
        anchors(text),
        BTreeSet::from(["a".to_owned(), "a-1".to_owned()])
    );

    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.md");
    std::fs::write(&page, text).unwrap();
    std::fs::write(dir.path().join("other.md"), "# Other page\n").unwrap();
    assert_eq!(opens(&page, "#a-1"), Ok(()));
    assert_eq!(opens(&page, "other.md#other-page"), Ok(()));
    assert!(
        opens(&page, "#not-a-heading")
            .unwrap_err()
            .contains("no heading")
    );
    assert!(
        opens(&page, "other.md#nope")
            .unwrap_err()
            .contains("no heading")
    );
    assert!(
        opens(&page, "missing.md")
            .unwrap_err()
            .contains("no such file")
    );
    assert!(opens(&page, "https://example.com/x").is_ok());
    assert_eq!(
        document_references("//! The limit (docs/design.md#the-key-limit; see README.md)."),
        ["docs/design.md#the-key-limit", "README.md"]
    );
    assert!(document_references("// https://github.com/o/r/blob/main/README.md").is_empty());
    assert!(document_references("include_str!(\"../../README.md\")").is_empty());
    assert!(document_references("writes target/bench/results.md and results.md").is_empty());
}

/// How documents outside the repository were cited (a name in capitals, then a section sign): the
/// repository's own design document, docs/design.md, is cited instead.
fn outside_documents() -> [String; 2] {
    [format!("{} §", "DESIGN"), format!("{} §", "STYLE")]
}

/// A link found in a Markdown file: its line and its target as written.
#[derive(Debug)]
struct Link {
    line: usize,
    target: String,
}

/// Does `target`, written in `from`, open? An absolute URL is not checked here; a relative
/// path must exist (from `from`'s directory); an anchor must be a heading of the Markdown file
/// it names (GitHub's `#L10` line anchors are allowed on other files).
fn opens(from: &Path, target: &str) -> Result<(), String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return Ok(());
    }
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (target, None),
    };
    let file = if path.is_empty() {
        from.to_path_buf()
    } else {
        normalize(&from.parent().unwrap().join(path))
    };
    if !file.exists() {
        return Err(format!("no such file: {}", file.display()));
    }
    let Some(anchor) = anchor else { return Ok(()) };
    if file.extension().is_none_or(|e| e != "md") {
        let line_anchor = anchor.strip_prefix('L').is_some_and(|n| {
            n.split("-L")
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
        return if line_anchor {
            Ok(())
        } else {
            Err(format!("#{anchor} on a file that is not Markdown"))
        };
    }
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    if anchors(&text).contains(anchor) {
        Ok(())
    } else {
        Err(format!(
            "no heading of {} makes the anchor #{anchor}",
            file.display()
        ))
    }
}

/// The lines of a Markdown text outside fenced code blocks, with their numbers (from 1).
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(open), Some(m)) if open == m => fence = None,
            (None, None) => lines.push((n + 1, line)),
            _ => {}
        }
    }
    lines
}

/// A line with its inline code spans (`` `…` ``) blanked out.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(' ');
        } else {
            out.push(if in_code { ' ' } else { c });
        }
    }
    out
}

/// Every inline link and image of a Markdown text (`[text](target)`, `![alt](target "title")`),
/// outside code.
fn links(text: &str) -> Vec<Link> {
    let mut found = Vec::new();
    for (line, raw) in prose(text) {
        let clean = without_code_spans(raw);
        let mut rest = clean.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            let target = after[..end].split_whitespace().next().unwrap_or("");
            let target = target.trim_start_matches('<').trim_end_matches('>');
            if !target.is_empty() {
                found.push(Link {
                    line,
                    target: target.to_owned(),
                });
            }
            rest = &after[end..];
        }
    }
    found
}

/// The anchors GitHub makes of a Markdown text's headings (a repeated heading gets `-1`, `-2`…).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (_, line) in prose(text) {
        let hashes = line.bytes().take_while(|&b| b == b'#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(line[hashes..].trim().trim_end_matches('#').trim());
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// GitHub's anchor of a heading: its text (a link's text, not its target), lower-case, with
/// every character but letters, digits, `-`, `_` and spaces dropped, and spaces made `-`.
fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let end = after.find(')').map_or(after.len(), |e| e + 1);
        text.push_str(&rest[..at]);
        rest = &after[end..];
    }
    text.push_str(rest);
    text.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The documents a line of code names, as paths from the repository's root: a page of `docs/`,
/// a Markdown file with an anchor (`….md#anchor`), or one named in capitals (`README.md`,
/// `crates/sandbox/README.md`). A file a program writes (`target/bench/results.md`) is none.
fn document_references(line: &str) -> Vec<String> {
    let is_path = |c: char| c.is_ascii_alphanumeric() || "_./-#".contains(c);
    let mut found = Vec::new();
    for word in line.split(|c: char| !is_path(c)) {
        let word = word.trim_end_matches(['.', '#']);
        let (path, anchor) = word.split_once('#').unwrap_or((word, ""));
        let Some(stem) = path.strip_suffix(".md") else {
            continue;
        };
        let name = stem.rsplit('/').next().unwrap_or(stem);
        let relative = !path.starts_with(['.', '/']) && !path.starts_with("target/");
        let document = path.starts_with("docs/")
            || !anchor.is_empty()
            || (!name.is_empty() && name.bytes().all(|b| !b.is_ascii_lowercase()));
        if relative && document {
            found.push(word.to_owned());
        }
    }
    found
}

/// Every file under `dir` that `keep` keeps, outside `target/`, `.git/` and hidden directories.
fn files_under(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name != "target" && !(name.starts_with('.') && name != ".ci") {
                found.extend(files_under(&path, keep));
            }
        } else if keep(&path) {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// `a/b/../c` as `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn relative(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
}

/// The commands a document shows in its `sh` blocks, as typed: each line that runs the program
/// (`firehose-sse …` or `cargo run --release -- …`), cut before a comment, a redirection, a
/// pipe or a second command, split into words (the program's name first). Lines with quotes
/// are left out: splitting them needs a shell.
fn shown_commands(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut shown = Vec::new();
    let mut in_sh = false;
    // A line ending in `\` goes on on the next.
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (n, line) in text.lines().enumerate() {
        let (body, goes_on) = match line.strip_suffix('\\') {
            Some(body) => (body, true),
            None => (line, false),
        };
        match lines.last_mut() {
            Some((_, last)) if open => last.push_str(body.trim_start()),
            _ => lines.push((n, body.to_owned())),
        }
        open = goes_on;
    }
    for (n, line) in lines {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_sh = !in_sh && trimmed == "```sh";
            continue;
        }
        let typed = trimmed
            .strip_prefix("cargo run --release -- ")
            .map(|rest| format!("firehose-sse {rest}"))
            .unwrap_or_else(|| trimmed.to_owned());
        if !in_sh || !typed.starts_with("firehose-sse ") || typed.contains(['\'', '"']) {
            continue;
        }
        let cut = typed
            .split(" #")
            .next()
            .unwrap()
            .split(['>', '|', ';', '&'])
            .next()
            .unwrap()
            .to_owned();
        shown.push((n + 1, cut.split_whitespace().map(str::to_owned).collect()));
    }
    shown
}

#[test]
fn every_command_the_readme_and_the_guides_show_parses() {
    let root = root();
    let mut files = vec![
        root.join("README.md"),
        root.join("docs/first-time-against-aws.md"),
    ];
    files.extend(files_under(&root.join("docs/commands"), &|p| {
        p.extension().is_some_and(|e| e == "md")
    }));
    let mut wrong = Vec::new();
    let mut checked = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, words) in shown_commands(&text) {
            checked += 1;
            if let Err(e) = firehose_sse::cli::try_parse_from(&words) {
                let first = e.to_string().lines().next().unwrap_or_default().to_owned();
                wrong.push(format!(
                    "{}:{line}: `{}`: {first}",
                    relative(&root, &file),
                    words.join(" ")
                ));
            }
        }
    }
    assert!(checked >= 40, "only {checked} commands found");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_command_reader_finds_what_it_is_for() {
    let text = "```sh\nfirehose-sse plan f.csv -q   # note\ncargo run --release -- report > r.csv\n\
                firehose-sse report --query 'items[0]'\nfirehose-sse status \\\n  7\n```\n\n\
                firehose-sse not-in-a-block\n```cron\nfirehose-sse plan x.csv\n```\n";
    let shown: Vec<_> = shown_commands(text)
        .into_iter()
        .map(|(n, w)| (n, w.join(" ")))
        .collect();
    assert_eq!(
        shown,
        [
            (2, "firehose-sse plan f.csv -q".to_owned()),
            (3, "firehose-sse report".to_owned()),
            (5, "firehose-sse status 7".to_owned())
        ]
    );
}
