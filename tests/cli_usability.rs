//! The CLI as scripts and new users meet it, through the real binary: PINs from stdin, a file
//! descriptor or a variable; errors as JSON; exit statuses; account ids as the console prints
//! them.

#[path = "support/moto.rs"]
mod moto;
mod station;

use std::process::{Command, Output, Stdio};

use station::{stderr, stdout, Station, ACCT, PIN};

fn rootkey(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args(args)
        .env_remove("ROOTKEY_DEVICE")
        .env_remove("ROOTKEY_CONFIG")
        .env_remove("ROOTKEY_LEDGER")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The JSON object a `--json` error writes as the last line of stderr (guidance for the people
/// at the station comes before it).
fn json_error(o: &Output) -> serde_json::Value {
    let err = stderr(o);
    let last = err.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(last).expect("stderr ends in JSON");
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    v
}

#[test]
fn json_errors_are_json_on_stderr_for_usage_and_runtime_errors() {
    let o = rootkey(&["--json", "ledger", "frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let v = json_error(&o);
    assert_eq!(v["error"]["code"], "usage");
    assert!(v["error"]["hint"].as_str().is_some());

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing.db");
    let o = rootkey(&[
        "--json",
        "--ledger",
        missing.to_str().unwrap(),
        "ledger",
        "show",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let v = json_error(&o);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing.db"),
        "{v}"
    );
    // Without --json the same error is for people.
    let o = rootkey(&["--ledger", missing.to_str().unwrap(), "ledger", "show"]);
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
}

#[test]
fn account_ids_are_taken_as_the_console_prints_them_and_checked_everywhere() {
    let s = Station::new();
    s.onboarded();
    let dashed = "1111-2222-3333";
    assert_eq!(dashed.replace('-', ""), ACCT);
    let o = s.run(&["--json", "keys", "enrolled", "--account", dashed]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2, "{v}");
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["account_id"] == ACCT));

    for bad in [
        "1111-2222-333",
        "1111_2222_3333",
        "1111-2222 3333",
        "11112222333x",
    ] {
        for args in [
            vec!["keys", "enrolled", "--account", bad],
            vec!["aws", "posture", "--account", bad],
            vec!["audit", "--account", bad],
            vec!["enroll", "confirm", "--account", bad, "--custodians", "a,b"],
            vec!["account", "close", "--account", bad],
        ] {
            let o = s.run(&args);
            assert_eq!(o.status.code(), Some(2), "{args:?}");
            assert!(
                stderr(&o).contains("not an AWS account id"),
                "{args:?}: {}",
                stderr(&o)
            );
        }
    }
}

#[test]
fn pins_come_from_stdin_or_a_file_descriptor_one_per_line() {
    let s = Station::empty();
    let key = s.soft("alice.json");
    // alice.json has the test PIN: change it through descriptor 3, stdin left alone.
    std::fs::write(s.path("pins.txt"), format!("{PIN}\n13579\n")).unwrap();
    let o = Command::new("bash")
        .arg("-c")
        .arg("exec 3<\"$1\"; shift; exec \"$@\"")
        .arg("pin-fd")
        .arg(s.path("pins.txt"))
        .arg(env!("CARGO_BIN_EXE_rootkey"))
        .args(["--device", &key, "keys", "set-pin", "--pin-fd", "3"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("PIN changed"), "{}", stderr(&o));

    // A descriptor that is not open is an error naming it, not a prompt or a hang.
    let o = s
        .cmd()
        .args(["--device", &key, "keys", "attest", "--pin-fd", "9"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("descriptor 9"), "{}", stderr(&o));

    // Stdin that ends before the PIN: says what was missing.
    let o = s
        .cmd()
        .args(["--device", &key, "keys", "attest", "--pin-stdin"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("ended before it"), "{}", stderr(&o));

    // The old PIN no longer works, the new one does, from a named variable.
    let o = s
        .cmd()
        .env("NEW_PIN", "13579")
        .args(["--device", &key, "keys", "attest", "--pin-env", "NEW_PIN"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("attStmt") || stdout(&o).contains("att"),
        "evidence JSON"
    );

    // Two PIN sources at once is a usage error.
    let o = s
        .cmd()
        .args(["keys", "attest", "--pin-stdin", "--pin-fd", "3"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn refused_possession_proof_exits_1_with_a_json_code() {
    let s = Station::new();
    let (p, _) = s.onboarded();
    let o = s.run(&[
        "--json",
        "--device",
        &s.soft("k2.json"),
        "keys",
        "verify",
        "--key",
        &p,
        "--custodians",
        "alice",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json_error(&o);
    assert_eq!(v["error"]["code"], "possession_refused");
}

#[test]
fn config_init_writes_a_template_that_parses_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/config.toml");
    let p = path.to_str().unwrap();
    let o = rootkey(&["config", "init", "--path", p]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let template = std::fs::read_to_string(&path).unwrap();
    for section in ["[policy]", "[policy.custodian]", "[aws]", "[ledger.anchor]"] {
        assert!(template.contains(section), "template lacks {section}");
    }
    // Uncommenting every default line gives a valid configuration equal to the defaults.
    let uncommented: String = template
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if rest.contains(" = ") && !rest.starts_with("min_certification") => {
                format!("{rest}\n")
            }
            _ => format!("{l}\n"),
        })
        .collect();
    let full = dir.path().join("full.toml");
    std::fs::write(&full, &uncommented).unwrap();
    let shown = |cfg: &str| {
        let o = rootkey(&["--json", "--config", cfg, "config", "show"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .filter(|s| s["key"].as_str().unwrap().contains('.'))
            .map(|s| {
                (
                    s["key"].to_string(),
                    s["value"].to_string(),
                    s["source"].to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let from_template = shown(p);
    let from_full = shown(full.to_str().unwrap());
    assert_eq!(from_template.len(), from_full.len());
    for ((k1, v1, s1), (k2, v2, s2)) in from_template.iter().zip(&from_full) {
        assert_eq!(
            (k1, v1),
            (k2, v2),
            "the template's comment is not the default"
        );
        assert_eq!(s1, "\"default\"");
        // min_certification's default is "unset", which TOML cannot write.
        if !k2.contains("min_certification") {
            assert!(s2.contains("full.toml"), "{k2} came from {s2}");
        }
    }

    // Never overwritten.
    std::fs::write(&path, "[aws]\ncompany_domains = [\"x.example\"]\n").unwrap();
    let o = rootkey(&["config", "init", "--path", p]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("x.example"));
}

#[test]
fn config_show_says_where_each_value_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[policy.custodian]\nrequire_pin = false\n").unwrap();
    let c = cfg.to_str().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args([
            "--json",
            "--config",
            c,
            "--device",
            "soft:/x/k.json",
            "config",
            "show",
        ])
        .env("ROOTKEY_LEDGER", "/srv/custody/ledger.db")
        .env_remove("ROOTKEY_DEVICE")
        .env_remove("ROOTKEY_CONFIG")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let get = |key: &str| {
        let s = v
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == key)
            .unwrap();
        (
            s["value"].as_str().unwrap().to_string(),
            s["source"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(
        get("ledger"),
        ("/srv/custody/ledger.db".into(), "env ROOTKEY_LEDGER".into())
    );
    assert_eq!(get("config"), (c.to_string(), "flag --config".into()));
    assert_eq!(
        get("device"),
        ("soft:/x/k.json".into(), "flag --device".into())
    );
    assert_eq!(
        get("policy.custodian.require_pin"),
        ("false".into(), format!("file {c}"))
    );
    assert_eq!(get("policy.require_pin"), ("true".into(), "default".into()));

    // A setting no layer knows is an error, as it is for every command.
    std::fs::write(&cfg, "[policy]\nrequire_pn = false\n").unwrap();
    let o = rootkey(&["--config", c, "config", "show"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("require_pn"), "{}", stderr(&o));
    std::fs::write(&cfg, "[polcy]\nrequire_pin = false\n").unwrap();
    let o = rootkey(&["--config", c, "config", "show"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("[polcy]"), "{}", stderr(&o));
    // The same for a command that reads the file for its own section.
    let evidence = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/custody/demo/aws-evidence.json"
    );
    let o = rootkey(&["--config", c, "aws", "posture", "--evidence-in", evidence]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("[polcy]"), "{}", stderr(&o));
    // A misspelt anchor table is not "no anchor": every command says publishing is off.
    std::fs::write(&cfg, "[ledger.ancor]\nto = \"s3://b/p\"\n").unwrap();
    let o = rootkey(&[
        "--config",
        c,
        "keys",
        "list",
        "--device",
        "soft:/nonexistent.json",
    ]);
    assert!(
        stderr(&o).contains("WARNING: automatic publishing is off: [ledger.ancor]"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn tables_are_plain_in_a_pipe_and_fit_a_narrow_terminal() {
    // A pipe: no box drawing, one line per row.
    let o = rootkey(&["config", "show"]);
    let out = stdout(&o);
    assert!(out.lines().count() > 10);
    assert!(!out.contains(['│', '┆', '─', '═', '\u{1b}']), "{out}");
    assert!(out
        .lines()
        .any(|l| l.contains("policy.require_pin") && l.contains("default")));

    // A 60-column terminal (script(1) gives the binary a pty): drawn, and no line wider.
    let o = Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "stty cols 60; {} config show",
            env!("CARGO_BIN_EXE_rootkey")
        ))
        .arg("/dev/null")
        .env_remove("ROOTKEY_CONFIG")
        .env_remove("ROOTKEY_LEDGER")
        .env_remove("ROOTKEY_DEVICE")
        .stdin(Stdio::null())
        .output()
        .expect("script(1) from util-linux");
    let out = stdout(&o);
    assert!(out.contains('│'), "{out}");
    for line in out.lines() {
        let line = line.trim_end_matches('\r');
        assert!(
            line.chars().count() <= 60,
            "{} columns: {line}",
            line.chars().count()
        );
    }
}

#[test]
fn a_custodian_device_for_someone_not_approving_is_an_error() {
    let s = Station::new();
    let (p, _) = s.onboarded();
    let before = s.len();
    // A typo in the id would otherwise leave alice's approval to whatever key is plugged in.
    let base = [
        "checkout",
        "--key",
        &p,
        "--reason",
        "r",
        "--ticket",
        "T-1",
        "--window",
        "1h",
        "--requester",
        "alice",
        "--approver",
        "bob",
    ];
    for (extra, says) in [
        (vec![format!("alcie={}", s.soft("alice.json"))], "alcie"),
        (vec![format!("carol={}", s.soft("carol.json"))], "carol"),
        (
            vec![
                format!("alice={}", s.soft("alice.json")),
                format!("alice={}", s.soft("bob.json")),
            ],
            "twice",
        ),
    ] {
        let mut c = s.cmd();
        c.args(["--pin-env", "ROOTKEY_TEST_PIN"]).args(base);
        for d in &extra {
            c.args(["--custodian-device", d]);
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
    }
    assert_eq!(s.len(), before, "nothing recorded");
    // Naming exactly the approvers works.
    let mut c = s.cmd();
    c.args(["--pin-env", "ROOTKEY_TEST_PIN"]).args(base);
    for who in ["alice", "bob"] {
        c.args([
            "--custodian-device",
            &format!("{who}={}", s.soft(&format!("{who}.json"))),
        ]);
    }
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn keys_identify_names_the_credential_the_key_in_hand_holds() {
    let s = Station::new();
    let (p, b) = s.onboarded();
    let stranger = s.new_key("stranger.json");
    let before = s.len();
    let identify = |spec: &str| {
        let o = s.run(&["--json", "--device", spec, "keys", "identify"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let v = identify(&s.soft("k1.json"));
    assert_eq!(v["holds"], format!("root key {p} of account {ACCT}"), "{v}");
    assert!(v["model"].as_str().unwrap().contains("NOT HARDWARE"), "{v}");
    assert!(v["firmware_version"].as_str().is_some(), "{v}");
    assert_eq!(v["aaguid"], "03182ce0-2096-4c47-81aa-eb4fedc46cca");
    let v = identify(&s.soft("k2.json"));
    assert_eq!(v["holds"], format!("root key {b} of account {ACCT}"), "{v}");
    // A custodian's key (with a PIN: the probe asks for it through the PIN source).
    let v = identify(&s.soft("bob.json"));
    assert_eq!(v["holds"], "the custodian key of bob (Bob Okafor)", "{v}");
    let v = identify(&stranger);
    assert!(v["holds"].is_null(), "{v}");
    // For people: the same answer in a table.
    let o = s.run(&["--device", &s.soft("k1.json"), "keys", "identify"]);
    assert!(
        stdout(&o).contains(&format!("root key {p}")),
        "{}",
        stdout(&o)
    );
    assert_eq!(s.len(), before, "identify records nothing");
}

#[test]
fn verbose_shows_device_commands_and_aws_calls_without_secrets() {
    let s = Station::empty();
    let key = s.soft("alice.json");
    let o = s
        .cmd()
        .args([
            "-v",
            "--pin-env",
            "ROOTKEY_TEST_PIN",
            "--device",
            &key,
            "keys",
            "attest",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("authenticatorMakeCredential"), "{err}");
    assert!(err.contains("pin=given"), "{err}");
    assert!(!err.contains(PIN), "the PIN itself is never shown: {err}");
    // Without -v, none of it.
    let o = s
        .cmd()
        .args([
            "--pin-env",
            "ROOTKEY_TEST_PIN",
            "--device",
            &key,
            "keys",
            "attest",
        ])
        .output()
        .unwrap();
    assert!(!stderr(&o).contains("authenticatorMakeCredential"));

    let moto = moto::Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("none.toml"), "").unwrap();
    let posture = |v: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_rootkey"))
            .arg(v)
            .args(["--json", "aws", "posture", "--region", "us-east-1"])
            .args(["--endpoint-url", &moto.url()])
            .env("AWS_ACCESS_KEY_ID", "AKIDNEVERSHOWN")
            .env("AWS_SECRET_ACCESS_KEY", "testing-secret-never-shown")
            .env("AWS_CONFIG_FILE", dir.path().join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
            .env("ROOTKEY_CONFIG", dir.path().join("none.toml"))
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap();
        (o.status.code(), stderr(&o), o.stdout)
    };
    let (code, err, out) = posture("-vv");
    assert!(
        err.contains("aws: sts:GetCallerIdentity (127.0.0.1"),
        "{err}"
    );
    assert!(err.contains("aws: iam:GetAccountSummary"), "{err}");
    assert!(err.contains("HTTP 200"), "-vv shows how calls ended: {err}");
    for secret in ["AKIDNEVERSHOWN", "testing-secret-never-shown"] {
        assert!(!err.contains(secret), "{err}");
    }
    // stdout is the same JSON report, untouched by -v (one run: moto's CloudTrail retries are slow).
    assert_eq!(code, Some(1), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out).expect("stdout is the JSON report");
    assert_eq!(v["accounts"][0]["account_id"], "123456789012");
}

#[test]
fn yes_goes_through_the_enter_steps_at_a_terminal() {
    let s = Station::new();
    let (p, _) = s.onboarded();
    // script(1) gives the binary a terminal on stdin, so steps wait for Enter unless --yes; its
    // own stdin is empty, so a wait ends in "stdin closed" instead of hanging.
    let run = |yes: bool| {
        let mut line = format!(
            "timeout 20 {} --pin-env ROOTKEY_TEST_PIN{} checkout --key {p} --reason r \
             --ticket T-1 --window 1h --requester alice --approver bob",
            env!("CARGO_BIN_EXE_rootkey"),
            if yes { " --yes" } else { "" }
        );
        for who in ["alice", "bob"] {
            line += &format!(
                " --custodian-device {who}={}",
                s.soft(&format!("{who}.json"))
            );
        }
        let o = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env("ROOTKEY_LEDGER", s.path("ledger.db"))
            .env("ROOTKEY_CONFIG", s.path("none.toml"))
            .env("ROOTKEY_TEST_PIN", PIN)
            .env_remove("ROOTKEY_DEVICE")
            .stdin(Stdio::null())
            .output()
            .expect("script(1) from util-linux");
        (o.status.code(), stdout(&o))
    };
    let before = s.len();
    let (code, out) = run(false);
    assert_ne!(code, Some(0), "waited for Enter and got none: {out}");
    assert!(out.contains("[Enter to continue"), "{out}");
    assert_eq!(s.len(), before);
    let (code, out) = run(true);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("[Enter to continue"), "{out}");
    assert!(
        out.contains("insert your key"),
        "the steps are still shown: {out}"
    );
    assert_eq!(s.len(), before + 1);
}
