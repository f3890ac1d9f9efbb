//! The man page and shell completions come from the parser's own definitions.

use std::process::Command;

fn rootkey(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args(args)
        .output()
        .expect("run rootkey");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn man_page_is_roff_and_names_every_command() {
    let (code, page) = rootkey(&["man"]);
    assert_eq!(code, Some(0));
    assert!(page.contains(".TH rootkey 1"), "{page}");
    for cmd in [
        "ledger",
        "keys",
        "attest",
        "aws",
        "custodian",
        "enroll",
        "checkout",
        "checkin",
        "audit",
        "demo",
    ] {
        assert!(page.contains(cmd), "man page lacks {cmd}");
    }
}

#[test]
fn completions_know_the_subcommands_and_refuse_unknown_shells() {
    let (code, script) = rootkey(&["completions", "bash"]);
    assert_eq!(code, Some(0));
    assert!(
        script.contains("rootkey__subcmd__checkout"),
        "bash script lacks checkout"
    );
    assert!(
        script.contains("--since-checkpoint"),
        "bash script lacks audit flags"
    );
    let (code, _) = rootkey(&["completions", "tcsh"]);
    assert_eq!(code, Some(2), "an unknown shell is a usage error");
}

#[test]
fn man_page_has_the_expected_sections_and_refers_to_no_missing_page() {
    let (code, page) = rootkey(&["man"]);
    assert_eq!(code, Some(0));
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH COMMANDS",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH EXAMPLES",
    ] {
        assert!(page.contains(section), "man page lacks {section}");
    }
    // Every subcommand is described here; there are no rootkey-ledger(1) pages to point at.
    assert!(page.contains("rootkey ledger verify"), "{page}");
    let refs: Vec<&str> = page
        .split(|c: char| c.is_whitespace() || c == '`')
        .filter(|w| {
            let w = w.trim_end_matches([',', '.', ':', ')']);
            w.ends_with("(1)") || w.ends_with("(5)") || w.ends_with("(8)")
        })
        .collect();
    assert!(
        refs.iter().all(|r| r.starts_with("rootkey(1)")),
        "references to pages that do not exist: {refs:?}"
    );
    // Every variable a flag reads is listed, and the exit statuses match the README's table.
    for var in [
        "ROOTKEY_LEDGER",
        "ROOTKEY_CONFIG",
        "ROOTKEY_DEVICE",
        "XDG_DATA_HOME",
    ] {
        assert!(page.contains(var), "ENVIRONMENT lacks {var}");
    }
    let exit = section(&page, ".SH \"EXIT STATUS\"");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for code in 0..=2 {
        assert!(exit.contains(&format!("\\fB{code}\\fR")), "{exit}");
        assert!(
            readme.contains(&format!("| {code} |")),
            "README's exit status table lacks {code}"
        );
    }
    assert!(!exit.contains("\\fB3\\fR"));
}

/// The text of one `.SH` section of a roff page.
fn section<'a>(page: &'a str, heading: &str) -> &'a str {
    let start = page.find(heading).expect("section present");
    let rest = &page[start + heading.len()..];
    &rest[..rest.find("\n.SH").unwrap_or(rest.len())]
}

#[test]
fn completions_offer_enum_values() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, script) = rootkey(&["completions", shell]);
        assert_eq!(code, Some(0));
        for value in ["md", "html", "json"] {
            assert!(
                script.contains(value),
                "{shell} completions lack --format {value}"
            );
        }
    }
    let (_, bash) = rootkey(&["completions", "bash"]);
    assert!(
        bash.contains("md html json"),
        "bash offers the formats together"
    );
}

/// Every `rootkey ...` command line in a fenced code block of README.md and docs/*.md, joined
/// across `\` continuations, with its file and line.
fn documented_commands() -> Vec<(String, usize, String)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = vec![format!("{root}/README.md")];
    for entry in std::fs::read_dir(format!("{root}/docs")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "md") {
            files.push(p.display().to_string());
        }
    }
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let (mut fence, mut i) = (None::<String>, 0);
        while i < lines.len() {
            let t = lines[i].trim();
            if let Some(lang) = t.strip_prefix("```") {
                fence = if fence.is_some() {
                    None
                } else {
                    Some(lang.to_string())
                };
                i += 1;
                continue;
            }
            // Diagrams and sample output are not commands.
            let is_code = fence
                .as_deref()
                .is_some_and(|l| !matches!(l, "text" | "json" | "toml"));
            let line = t.strip_prefix("$ ").unwrap_or(t);
            if is_code && starts_with_rootkey(line) {
                let start = i + 1;
                let mut full = line.to_string();
                while full.ends_with('\\') && i + 1 < lines.len() {
                    full.pop();
                    i += 1;
                    full.push(' ');
                    full.push_str(lines[i].trim());
                }
                let name = file
                    .trim_start_matches(root)
                    .trim_start_matches('/')
                    .to_string();
                out.push((name, start, full));
            }
            i += 1;
        }
    }
    out
}

fn starts_with_rootkey(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    first == "rootkey" || first.ends_with("/rootkey")
}

/// A shell word as the docs write it, with the shell's expansions the runbooks use replaced by
/// values of the right form.
fn expand(word: &str, vkey: &str) -> Option<String> {
    if word == "$(cat records/ledger-vkey.txt)" || word == "$(cat ledger-vkey.txt)" {
        return Some(vkey.to_string());
    }
    if word.contains("$(") {
        return None;
    }
    Some(word.to_string())
}

#[test]
fn every_documented_command_parses_with_the_real_definition() {
    use clap::Parser;
    // A real verifier key, as `ledger init` prints it, for the runbooks' `$(cat ...vkey.txt)`.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let o = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args([
            "--ledger",
            db.to_str().unwrap(),
            "ledger",
            "init",
            "--origin",
            "docs.example/c",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let vkey = rootkey::ledger::Ledger::open_readonly(&db)
        .unwrap()
        .verifier_key()
        .encode();

    let commands = documented_commands();
    assert!(
        commands.len() >= 30,
        "found only {} commands",
        commands.len()
    );
    let mut failures = Vec::new();
    for (file, line, text) in &commands {
        let Some(words) = shlex::split(text) else {
            failures.push(format!("{file}:{line}: unbalanced quotes: {text}"));
            continue;
        };
        // The command ends where the shell's pipes, lists and redirections begin.
        let words: Vec<String> = words
            .into_iter()
            .take_while(|w| {
                !matches!(w.as_str(), "|" | "&&" | "||" | ";" | "&" | ">" | "<" | "2>")
                    && !w.starts_with(['>', '<', '#'])
                    && !w
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_digit() && w[1..].starts_with(['>', '<']))
            })
            .collect();
        let Some(args) = words
            .iter()
            .map(|w| expand(w, &vkey))
            .collect::<Option<Vec<_>>>()
        else {
            failures.push(format!(
                "{file}:{line}: a shell expansion this test does not know: {text}"
            ));
            continue;
        };
        if let Err(e) = rootkey::cli::Cli::try_parse_from(&args) {
            let first = e.to_string().lines().next().unwrap_or_default().to_string();
            failures.push(format!("{file}:{line}: {text}\n    {first}"));
        }
    }
    assert!(
        failures.is_empty(),
        "documented commands that do not parse:\n{}",
        failures.join("\n")
    );
}

/// `./scripts/demo` on a fresh clone says it is building, with an estimate, and lets cargo show
/// its progress (no `--quiet`) before it runs the demo. A stand-in `cargo` on PATH records how
/// it was called and "builds" a binary that only reports it ran, so no real build happens here.
#[test]
fn scripts_demo_announces_the_build_and_shows_cargo_progress() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    let target = dir.path().join("target");
    std::fs::create_dir_all(&bin).unwrap();
    let cargo = bin.join("cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\necho \"cargo $*\" >&2\necho '   Compiling rootkey (stand-in)' >&2\n\
         mkdir -p \"$CARGO_TARGET_DIR/debug\"\n\
         printf '#!/bin/sh\\necho \"demo ran: $*\"\\n' > \"$CARGO_TARGET_DIR/debug/rootkey\"\n\
         chmod +x \"$CARGO_TARGET_DIR/debug/rootkey\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = || {
        Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/demo"))
            .arg("--dir")
            .arg(dir.path().join("d"))
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap()
    };
    let o = run();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let announce = err
        .find("first build of rootkey")
        .expect("announces the first build");
    assert!(err.contains("minutes"), "gives an estimate: {err}");
    let build = err
        .find("cargo build --locked --bin rootkey")
        .expect("cargo builds");
    assert!(announce < build, "announces before building: {err}");
    assert!(!err.contains("--quiet"), "cargo's progress is shown: {err}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("demo ran: demo --dir"));
    // Built already: no first-build estimate.
    let o = run();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("first build"), "{err}");
    assert!(err.contains("up to date"), "{err}");
}
