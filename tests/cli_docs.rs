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
