//! End to end: hostile text stored in the ledger (a note is free text) never reaches the terminal
//! raw. `ledger show` and error messages print escape sequences, bidi controls and line breaks as
//! visible `\u{XXXX}` escapes.

use std::path::Path;
use std::process::{Command, Output};

fn rootkey(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .arg("--ledger")
        .arg(db)
        .args(args)
        .env("USER", "tester")
        .env_remove("ROOTKEY_CONFIG")
        .output()
        .unwrap()
}

/// Whether `haystack` holds `needle` as bytes.
fn has(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

const ESC: &[u8] = b"\x1b";
const RLO: &[u8] = "\u{202E}".as_bytes();
const LRI: &[u8] = "\u{2066}".as_bytes();

fn assert_nothing_raw(what: &str, bytes: &[u8]) {
    for (name, raw) in [
        ("ESC", ESC),
        ("U+202E", RLO),
        ("U+2066", LRI),
        ("BEL", b"\x07"),
    ] {
        assert!(
            !has(bytes, raw),
            "{what} carries a raw {name}:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn ledger_show_prints_hostile_note_text_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let o = rootkey(&db, &["ledger", "init", "--origin", "test.example/custody"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let text = "safe\x1b[2J\x1b[31m opened\u{202E}gnp.exe\u{2066}\nrootkey> checkout approved\x07";
    // rootkey refuses such text at the source, printing it escaped and writing nothing...
    let o = rootkey(&db, &["ledger", "note", "--actor", "operator", text]);
    assert_eq!(o.status.code(), Some(2));
    assert_nothing_raw("the refusal", &o.stderr);
    let o = rootkey(&db, &["ledger", "note", "--actor", "x\x1b[31m", "fine"]);
    assert_eq!(o.status.code(), Some(2));
    assert_nothing_raw("the refusal", &o.stderr);
    // ...so an insider holding the signing key writes it into the ledger directly, bypassing
    // every rule; `ledger show` still shows it (that is how people look into a broken ledger),
    // escaped, after a warning that the ledger failed verification.
    let mut l = rootkey::ledger::Ledger::open(&db, None).unwrap();
    let ev = rootkey::ledger::UnsignedEvent::new(
        "note",
        "x\x1b[31m",
        serde_json::json!({ "text": text }),
    )
    .unwrap();
    l.append(&ev, vec![]).unwrap();
    drop(l);

    let o = rootkey(&db, &["ledger", "show"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("FAILED verification"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_nothing_raw("ledger show", &o.stdout);
    assert_nothing_raw("ledger show's warning", &o.stderr);
    let out = String::from_utf8(o.stdout).unwrap();
    for shown in [
        "\\u{001B}[2J",
        "\\u{001B}[31m",
        "\\u{202E}",
        "\\u{2066}",
        "\\u{000A}",
        "\\u{0007}",
    ] {
        assert!(out.contains(shown), "missing {shown} in\n{out}");
    }
    assert!(out.contains("x\\u{001B}[31m"), "actor not escaped:\n{out}");
    // The newline in the note does not start a line of its own that could pass for a prompt.
    assert!(
        !out.lines()
            .any(|l| l.trim_start_matches(['│', ' ']).starts_with("rootkey>")),
        "{out}"
    );

    // JSON keeps the exact text (serde escapes the C0 controls); it is for programs.
    let o = rootkey(&db, &["--json", "ledger", "show"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["body"]["text"], text);
}

#[test]
fn error_messages_print_hostile_text_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("no\x1b[2Jsuch\u{202E}.db");
    let o = rootkey(&db, &["ledger", "show"]);
    assert_eq!(o.status.code(), Some(2));
    assert_nothing_raw("the error message", &o.stderr);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no\\u{001B}[2Jsuch\\u{202E}.db") && err.contains("does not exist"),
        "{err}"
    );
}
