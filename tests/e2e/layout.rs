//! The source's shape, checked by reading it (no binary is run): modules of one parent never
//! import each other in a circle (in the tool and in the sandbox crate), and the engine — with
//! every module it names, and every module those name — imports no I/O: not tokio, not an AWS
//! SDK crate, not rusqlite, not governor. The engine is a state machine driven on a manual
//! clock; the moment it can name the runtime, the SDK or the ledger, that stops being
//! guaranteed.
//!
//! The reading is lexical: comments and literals are dropped, `use` trees expanded, `crate::`,
//! `super::` and `self::` paths resolved (through a parent's `pub use` too), inline modules
//! (`mod tests { ... }`) followed. A path that names an item is an edge to the module that
//! holds it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Crates the engine must not reach: the runtime, the SDK, the ledger's driver, the pacer's.
fn is_io_crate(name: &str) -> bool {
    matches!(name, "tokio" | "rusqlite" | "governor") || name.starts_with("aws_")
}

#[test]
fn no_module_imports_its_siblings_in_a_circle() {
    for root in ["src", "crates/sandbox/src"] {
        let tree = Tree::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join(root));
        let circles = tree.circles();
        assert!(
            circles.is_empty(),
            "modules of {root} import each other in a circle (each: a parent, then its \
             children that depend on one another, with one import of each):\n{}",
            circles.join("\n")
        );
    }
}

#[test]
fn the_engine_and_what_it_names_import_no_runtime_sdk_ledger_or_pacer() {
    let tree = Tree::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let found = tree.io_reached_from("engine");
    assert!(
        found.is_empty(),
        "the engine reaches I/O crates (a file, the line, the crate; then how the engine \
         reaches that file's module):\n{}",
        found.join("\n")
    );
}

/// One source file: its module, and what it names.
struct File {
    path: PathBuf,
    module: Vec<String>,
    /// Paths into the crate it names, resolved to absolute module paths, with their lines.
    internal: Vec<(Vec<String>, usize)>,
    /// Paths outside the crate (the first segment: a crate's name), with their lines.
    external: Vec<(String, usize)>,
    /// `pub use` re-exports: the name as seen from this file's module → what it names.
    reexports: Vec<(String, Vec<String>)>,
}

/// Every file of a crate, read.
struct Tree {
    root: PathBuf,
    files: Vec<File>,
}

impl Tree {
    fn read(root: &Path) -> Tree {
        let mut paths = Vec::new();
        rust_files(root, &mut paths);
        paths.sort();
        let mut tree = Tree {
            root: root.to_owned(),
            files: Vec::new(),
        };
        for path in paths {
            let module = module_of(root, &path);
            let text = std::fs::read_to_string(&path).unwrap();
            let file = tree.scan(path, module, &tokens(&text));
            tree.files.push(file);
        }
        tree
    }

    /// Whether `module` is a module of the crate (a file of its own).
    fn is_module(&self, module: &[String]) -> bool {
        let mut path = self.root.clone();
        path.extend(module);
        module.is_empty() || path.with_extension("rs").is_file() || path.join("mod.rs").is_file()
    }

    /// The modules an absolute path names: its longest prefix that is a module, and — when
    /// that module re-exports the item — the module it takes it from, and so on.
    fn modules_named(&self, path: &[String]) -> Vec<Vec<String>> {
        let mut path = path.to_vec();
        let mut named = Vec::new();
        for _ in 0..8 {
            let mut k = path.len();
            while k > 0 && !self.is_module(&path[..k]) {
                k -= 1;
            }
            named.push(path[..k].to_vec());
            let Some(name) = path.get(k) else {
                return named;
            };
            let reexported = self
                .files
                .iter()
                .filter(|f| f.module == path[..k])
                .flat_map(|f| &f.reexports)
                .find(|(n, target)| n == name && target.as_slice() != path.as_slice())
                .map(|(_, target)| target.clone());
            match reexported {
                Some(mut target) => {
                    target.extend_from_slice(&path[k + 1..]);
                    path = target;
                }
                None => return named,
            }
        }
        named
    }

    /// Walks a file's tokens: `use` trees and paths, resolved against the module they sit in.
    fn scan(&self, path: PathBuf, module: Vec<String>, tokens: &[Token]) -> File {
        let mut file = File {
            path,
            module: module.clone(),
            internal: Vec::new(),
            external: Vec::new(),
            reexports: Vec::new(),
        };
        // Inline modules open at a brace depth: (name, depth).
        let mut inline: Vec<(String, usize)> = Vec::new();
        let mut depth = 0;
        let mut i = 0;
        while i < tokens.len() {
            let here = || -> Vec<String> {
                let inline = inline.iter().map(|(name, _)| name.clone());
                module.iter().cloned().chain(inline).collect()
            };
            match tokens[i].text.as_str() {
                "{" => depth += 1,
                "}" => {
                    depth -= 1;
                    if inline.last().is_some_and(|(_, d)| *d == depth) {
                        inline.pop();
                    }
                }
                "mod" if tokens.get(i + 2).is_some_and(|t| t.text == "{") => {
                    inline.push((tokens[i + 1].text.clone(), depth));
                }
                "use" => {
                    let public =
                        i > 0 && (tokens[i - 1].text == "pub" || tokens[i - 1].text == ")");
                    let line = tokens[i].line;
                    i += 1;
                    let mut trees = Vec::new();
                    use_tree(tokens, &mut i, Vec::new(), &mut trees);
                    for (segments, alias) in trees {
                        let resolved = self.resolve(&here(), &segments, &mut file, line);
                        if let (true, Some(target), Some(name)) = (public, resolved, alias) {
                            file.reexports.push((name, target));
                        }
                    }
                    continue;
                }
                _ if tokens[i].is_ident()
                    && tokens.get(i + 1).is_some_and(|t| t.text == "::")
                    && (i == 0 || tokens[i - 1].text != "::") =>
                {
                    let line = tokens[i].line;
                    let mut segments = vec![tokens[i].text.clone()];
                    while tokens.get(i + 1).is_some_and(|t| t.text == "::")
                        && tokens.get(i + 2).is_some_and(Token::is_ident)
                    {
                        segments.push(tokens[i + 2].text.clone());
                        i += 2;
                    }
                    self.resolve(&here(), &segments, &mut file, line);
                }
                _ => {}
            }
            i += 1;
        }
        file
    }

    /// Records what a path names from module `here`; returns the absolute path when it is the
    /// crate's.
    fn resolve(
        &self,
        here: &[String],
        segments: &[String],
        file: &mut File,
        line: usize,
    ) -> Option<Vec<String>> {
        let mut segments = segments.to_vec();
        if segments.last().is_some_and(|s| s == "self" || s == "*") {
            segments.pop();
        }
        let (first, rest) = segments.split_first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" => here.to_vec(),
            "super" => here[..here.len().saturating_sub(1)].to_vec(),
            name => {
                let mut child = here.to_vec();
                child.push(name.to_owned());
                if !self.is_module(&child) {
                    file.external.push((name.to_owned(), line));
                    return None;
                }
                here.to_vec()
            }
        };
        let mut rest = if first == "crate" || first == "self" || first == "super" {
            rest
        } else {
            &segments[..]
        };
        while rest.first().is_some_and(|s| s == "super") {
            base.pop();
            rest = &rest[1..];
        }
        base.extend_from_slice(rest);
        file.internal.push((base.clone(), line));
        Some(base)
    }

    /// For every parent, its children that depend on one another in a circle.
    fn circles(&self) -> Vec<String> {
        // parent → child → (sibling it names → where).
        let mut edges: BTreeMap<Vec<String>, BTreeMap<String, BTreeMap<String, String>>> =
            BTreeMap::new();
        for file in &self.files {
            let named = file.internal.iter().flat_map(|(path, line)| {
                self.modules_named(path).into_iter().map(move |m| (m, line))
            });
            for (target, line) in named {
                let shared = file
                    .module
                    .iter()
                    .zip(&target)
                    .take_while(|(a, b)| a == b)
                    .count();
                let (Some(from), Some(to)) = (file.module.get(shared), target.get(shared)) else {
                    continue; // a module naming itself, an ancestor or a descendant
                };
                let at = format!("{}:{line}", self.shown(&file.path));
                edges
                    .entry(file.module[..shared].to_vec())
                    .or_default()
                    .entry(from.clone())
                    .or_default()
                    .entry(to.clone())
                    .or_insert(at);
            }
        }
        let mut found = Vec::new();
        for (parent, graph) in &edges {
            for component in strongly_connected(graph) {
                let parent = match parent.is_empty() {
                    true => "the crate root".to_owned(),
                    false => parent.join("::"),
                };
                let mut lines = vec![format!("in {parent}: {}", component.join(", "))];
                for from in &component {
                    for (to, at) in &graph[from] {
                        if component.contains(to) {
                            lines.push(format!("  {from} names {to} ({at})"));
                        }
                    }
                }
                found.push(lines.join("\n"));
            }
        }
        found
    }

    /// Every use of an I/O crate in the module `start` or in a module it reaches.
    fn io_reached_from(&self, start: &str) -> Vec<String> {
        // Top-level module → how it is reached from `start`.
        let mut reached: BTreeMap<String, String> = BTreeMap::new();
        reached.insert(start.to_owned(), start.to_owned());
        let mut queue = vec![start.to_owned()];
        while let Some(top) = queue.pop() {
            let how = reached[&top].clone();
            for file in self.files.iter().filter(|f| f.module.first() == Some(&top)) {
                let named = file
                    .internal
                    .iter()
                    .flat_map(|(p, _)| self.modules_named(p));
                for target in named {
                    if let Some(next) = target.first()
                        && !reached.contains_key(next)
                    {
                        reached.insert(next.clone(), format!("{how} → {next}"));
                        queue.push(next.clone());
                    }
                }
            }
        }
        let mut found = Vec::new();
        for file in &self.files {
            let Some(how) = file.module.first().and_then(|top| reached.get(top)) else {
                continue;
            };
            // Each crate once per file, at its first use.
            let mut seen = BTreeSet::new();
            for (name, line) in file.external.iter().filter(|(n, _)| is_io_crate(n)) {
                if seen.insert(name) {
                    found.push(format!("{}:{line}: {name} ({how})", self.shown(&file.path)));
                }
            }
        }
        found
    }

    fn shown(&self, path: &Path) -> String {
        let top = Path::new(env!("CARGO_MANIFEST_DIR"));
        path.strip_prefix(top).unwrap_or(path).display().to_string()
    }
}

/// The module a file is: `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `src/lib.rs` the root.
fn module_of(root: &Path, path: &Path) -> Vec<String> {
    let relative = path.strip_prefix(root).unwrap().with_extension("");
    let mut module: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        module.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        module.pop();
    }
    module
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Expands one `use` tree from `*i` (which ends past its `;`, or at the `,` or `}` that ends
/// it in a group) into its paths, each with the name it brings in.
fn use_tree(
    tokens: &[Token],
    i: &mut usize,
    mut path: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    loop {
        let Some(token) = tokens.get(*i) else { return };
        match token.text.as_str() {
            "::" => *i += 1,
            "{" => {
                *i += 1;
                while tokens.get(*i).is_some_and(|t| t.text != "}") {
                    use_tree(tokens, i, path.clone(), out);
                    if tokens.get(*i).is_some_and(|t| t.text == ",") {
                        *i += 1;
                    }
                }
                *i += 1;
                break;
            }
            "*" => {
                *i += 1;
                path.push("*".into());
                out.push((path, None));
                break;
            }
            "as" => {
                let alias = tokens.get(*i + 1).map(|t| t.text.clone());
                *i += 2;
                out.push((path, alias));
                break;
            }
            _ if token.is_ident() => {
                path.push(token.text.clone());
                *i += 1;
            }
            _ => {
                let name = path.last().filter(|n| *n != "self").cloned().or_else(|| {
                    // `a::b::{self}` brings `b` in.
                    path.iter().rev().nth(1).cloned()
                });
                out.push((path, name));
                break;
            }
        }
    }
    if tokens.get(*i).is_some_and(|t| t.text == ";") {
        *i += 1;
    }
}

/// Tarjan's strongly connected components of more than one node.
fn strongly_connected(graph: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<String, BTreeMap<String, String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flat_map(|e| e.keys()) {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    self.low.insert(v, self.low[v].min(self.low[w]));
                } else if self.on_stack.contains(w) {
                    self.low.insert(v, self.low[v].min(self.index[w]));
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

/// A token of Rust source with its line: an identifier, `::`, or one other character.
struct Token {
    text: String,
    line: usize,
}

impl Token {
    fn is_ident(&self) -> bool {
        self.text
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
    }
}

/// The tokens of Rust source, without comments, string and character literals.
fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            _ if c.is_whitespace() => i += 1,
            '/' if at(i + 1) == '/' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if at(i + 1) == '*' => {
                let mut depth = 0;
                loop {
                    match (at(i), at(i + 1)) {
                        ('/', '*') => (depth, i) = (depth + 1, i + 2),
                        ('*', '/') => {
                            (depth, i) = (depth - 1, i + 2);
                            if depth == 0 {
                                break;
                            }
                        }
                        ('\0', _) => break,
                        (ch, _) => {
                            line += usize::from(ch == '\n');
                            i += 1;
                        }
                    }
                }
            }
            '"' => i = skip_string(&chars, i + 1, 0, &mut line),
            'r' | 'b' if raw_string_start(&chars, i).is_some() => {
                let (hashes, open) = raw_string_start(&chars, i).unwrap();
                i = skip_string(&chars, open + 1, hashes, &mut line);
            }
            'b' if at(i + 1) == '\'' => i = skip_char(&chars, i + 1),
            '\'' if at(i + 1) == '\\' || at(i + 2) == '\'' => i = skip_char(&chars, i),
            '\'' => i += 1, // a lifetime
            ':' if at(i + 1) == ':' => {
                out.push(Token {
                    text: "::".into(),
                    line,
                });
                i += 2;
            }
            _ if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
                out.push(Token {
                    text: chars[start..i].iter().collect(),
                    line,
                });
            }
            _ => {
                out.push(Token {
                    text: c.to_string(),
                    line,
                });
                i += 1;
            }
        }
    }
    out
}

/// At the start of a token, `r"`, `r#"`, `br##"`...: the number of `#` and where the opening
/// quote is.
fn raw_string_start(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let r = if chars[i] == 'b' { i + 1 } else { i };
    if chars.get(r) != Some(&'r') {
        return None;
    }
    let hashes = chars[r + 1..].iter().take_while(|c| **c == '#').count();
    let quote = r + 1 + hashes;
    (chars.get(quote) == Some(&'"')).then_some((hashes, quote))
}

/// Past the end of a string whose contents start at `i`, closed by `"` and `hashes` `#`.
fn skip_string(chars: &[char], mut i: usize, hashes: usize, line: &mut usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' if hashes == 0 => {
                *line += usize::from(chars.get(i + 1) == Some(&'\n'));
                i += 2;
            }
            '"' if chars[i + 1..]
                .iter()
                .take(hashes)
                .filter(|c| **c == '#')
                .count()
                == hashes =>
            {
                return i + 1 + hashes;
            }
            c => {
                *line += usize::from(c == '\n');
                i += 1;
            }
        }
    }
    i
}

/// Past the end of a character literal whose opening quote is at `i`.
fn skip_char(chars: &[char], i: usize) -> usize {
    let mut j = i + 1;
    if chars.get(j) == Some(&'\\') {
        j += 2;
    } else {
        j += 1;
    }
    while j < chars.len() && chars[j] != '\'' {
        j += 1;
    }
    j + 1
}
