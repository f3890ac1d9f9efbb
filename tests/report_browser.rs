//! The audit report as a person sees it: a real audit through the real binary (the demo's story,
//! two more audits recorded so the trend has points), opened in headless Chromium. The checks are
//! on what the browser laid out and painted, not on the HTML text: the verdict is visible in the
//! first screen, no identifier wraps, every account has a badge, every chart has a size, the
//! screenshot shows the verdict's colour where the verdict is; in light and dark, wide and narrow;
//! and the page prints. The "how to verify this report" steps the page shows are then run.
//!
//! Needs the Debian package `chromium` (`scripts/deps --test`). Without it the test is skipped
//! with a message, except under CI (`CI=true`), where a missing browser fails it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

/// The demo's PIN for every soft key (src/cli/demo.rs).
const DEMO_PIN: &str = "246810";

fn rootkey(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .current_dir(dir)
        .args(args)
        .env_remove("ROOTKEY_LEDGER")
        .env_remove("ROOTKEY_CONFIG")
        .env_remove("ROOTKEY_DEVICE")
        .env("ROOTKEY_DEMO_PIN", DEMO_PIN)
        .output()
        .expect("run rootkey")
}

/// The browser, or `None` (with the reason printed) when the test may be skipped.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
    });
    if found.is_none() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "chromium is not installed: CI must run the report's browser test (scripts/deps --test installs it)"
        );
        eprintln!("SKIPPED report_browser: chromium is not installed (run scripts/deps --test)");
    }
    found
}

/// Runs headless Chromium on `page` with `args`; kills it after a minute.
fn browse(chrome: &Path, profile: &Path, args: &[&str], page: &Path) -> Vec<u8> {
    let url = format!("file://{}", page.display());
    let mut child = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 60 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "chromium {args:?} failed: {status}");
    reader.join().unwrap().unwrap()
}

/// Collects what the browser laid out into the DOM, base64 JSON in `#layout-facts` (the page
/// itself has no script; this copy gets one).
const PROBE: &str = r#"<script>(function(){
const rect = e => { const b = e.getBoundingClientRect(); return {top:b.top,bottom:b.bottom,left:b.left,right:b.right,width:b.width,height:b.height}; };
const cs = e => getComputedStyle(e);
const v = document.getElementById('verdict'), s = document.getElementById('scope');
const ids = [...document.querySelectorAll('.id, .nw')];
const facts = {
  viewport: {w: innerWidth, h: innerHeight},
  dark: matchMedia('(prefers-color-scheme: dark)').matches,
  page_width: document.documentElement.scrollWidth,
  verdict: v && {text: v.innerText, rect: rect(v), color: cs(v).color, background: cs(v).backgroundColor,
                 visibility: cs(v).visibility, display: cs(v).display},
  scope: s && {text: s.innerText, rect: rect(s)},
  body: {color: cs(document.body).color, background: cs(document.body).backgroundColor},
  ids: ids.length,
  wrapped: ids.filter(e => e.getClientRects().length !== 1).map(e => e.textContent),
  badges: [...document.querySelectorAll('li.badge')].map(b => ({text: b.innerText, rect: rect(b),
                 color: cs(b).color, background: cs(b).backgroundColor})),
  charts: [...document.querySelectorAll('svg.chart')].map(c => ({label: c.getAttribute('aria-label'), rect: rect(c),
                 painted: [...c.querySelectorAll('rect')].filter(x => { const b = x.getBoundingClientRect(); return b.width > 0 && b.height > 0; }).length})),
  groups: [...document.querySelectorAll('section.sev-group h3')].map(h => h.innerText),
  findings: document.querySelectorAll('article.finding').length,
  statuses: [...document.querySelectorAll('article.finding .status')].filter(e => e.getBoundingClientRect().width > 0).map(e => e.innerText),
  todo: [...document.querySelectorAll('article.finding .todo')].filter(e => e.getBoundingClientRect().height > 0).length,
  passed: [...document.querySelectorAll('#passed + .scroll tbody tr')].filter(e => e.getBoundingClientRect().height > 0).length,
  commands: [...document.querySelectorAll('code.cmd')].map(c => c.innerText),
  too_wide: [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 0.5
      && e.parentElement.getBoundingClientRect().right <= innerWidth + 0.5
      && !(e.parentElement.closest('.scroll, pre'))).map(e => e.outerHTML.slice(0, 120)),
};
const out = document.createElement('pre');
out.id = 'layout-facts';
out.textContent = btoa(unescape(encodeURIComponent(JSON.stringify(facts))));
document.body.appendChild(out);
})();</script>"#;

/// Lays `page` out at `width`×`height` (dark or light) and returns the facts [`PROBE`] wrote.
fn layout(chrome: &Path, dir: &Path, page: &str, width: u32, height: u32, dark: bool) -> Value {
    let probed = dir.join(format!("probe-{width}-{dark}.html"));
    assert_eq!(page.matches("</body>").count(), 1);
    std::fs::write(&probed, page.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let size = format!("--window-size={width},{height}");
    let mut args = vec![size.as_str(), "--dump-dom"];
    if dark {
        args.push("--force-dark-mode");
    }
    let dom = String::from_utf8(browse(chrome, &dir.join("profile"), &args, &probed)).unwrap();
    let start = dom
        .find("<pre id=\"layout-facts\">")
        .expect("the probe ran and wrote its facts")
        + "<pre id=\"layout-facts\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let json = base64::engine::general_purpose::STANDARD
        .decode(dom[start..end].trim())
        .unwrap();
    let facts: Value = serde_json::from_slice(&json).unwrap();
    // Kept beside the screenshots, for whoever looks into a failure.
    let keep = shots().join(format!(
        "layout-{width}-{}.json",
        if dark { "dark" } else { "light" }
    ));
    std::fs::write(keep, serde_json::to_string_pretty(&facts).unwrap()).unwrap();
    facts
}

/// Where the screenshots, the PDF and the layout facts are kept (under target/).
fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report_browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `rgb(r, g, b)` / `rgba(r, g, b, a)` → components.
fn rgb(css: &Value) -> [f64; 3] {
    let s = css.as_str().unwrap();
    let inner = &s[s.find('(').unwrap() + 1..s.find(')').unwrap()];
    let v: Vec<f64> = inner
        .split(',')
        .map(|p| p.trim().parse().unwrap())
        .collect();
    [v[0], v[1], v[2]]
}

/// WCAG 2 contrast ratio of two colours.
fn contrast(a: [f64; 3], b: [f64; 3]) -> f64 {
    let lum = |c: [f64; 3]| {
        let ch = |x: f64| {
            let x = x / 255.0;
            if x <= 0.03928 {
                x / 12.92
            } else {
                ((x + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(c[0]) + 0.7152 * ch(c[1]) + 0.0722 * ch(c[2])
    };
    let (x, y) = (lum(a), lum(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// What a reader must see, at any width and in either colour scheme.
fn assert_readable(f: &Value, accounts: usize, trend_points: usize) {
    let ctx = format!(
        "{}x{} dark={}",
        f["viewport"]["w"], f["viewport"]["h"], f["dark"]
    );
    let v = &f["verdict"];
    assert_eq!(
        v["text"].as_str().unwrap().lines().next(),
        Some("FAIL"),
        "{ctx}"
    );
    assert_eq!(v["visibility"], "visible", "{ctx}");
    let (top, bottom) = (
        v["rect"]["top"].as_f64().unwrap(),
        v["rect"]["bottom"].as_f64().unwrap(),
    );
    assert!(
        v["rect"]["width"].as_f64().unwrap() > 200.0,
        "{ctx}: verdict too small {v}"
    );
    assert!(
        top >= 0.0 && bottom <= f["viewport"]["h"].as_f64().unwrap(),
        "{ctx}: verdict not in the first screen {v}"
    );
    let scope = &f["scope"];
    assert!(
        scope["text"]
            .as_str()
            .unwrap()
            .contains("1 account from evidence:"),
        "{ctx}"
    );
    assert!(
        scope["rect"]["bottom"].as_f64().unwrap() <= f["viewport"]["h"].as_f64().unwrap(),
        "{ctx}: scope below the first screen"
    );
    assert!(
        contrast(rgb(&v["color"]), rgb(&v["background"])) >= 4.5,
        "{ctx}: verdict contrast {v}"
    );
    assert!(
        contrast(rgb(&f["body"]["color"]), rgb(&f["body"]["background"])) >= 7.0,
        "{ctx}: body contrast"
    );

    // Identifiers stay whole; the page itself never scrolls sideways (tables scroll inside).
    assert!(
        f["ids"].as_u64().unwrap() > 50,
        "{ctx}: ids marked: {}",
        f["ids"]
    );
    assert_eq!(
        f["wrapped"],
        Value::Array(vec![]),
        "{ctx}: identifiers broken across lines"
    );
    assert!(
        f["page_width"].as_f64().unwrap() <= f["viewport"]["w"].as_f64().unwrap(),
        "{ctx}: the page scrolls sideways: {}",
        f["too_wide"]
    );

    let badges = f["badges"].as_array().unwrap();
    assert_eq!(badges.len(), accounts, "{ctx}: one badge per account");
    for b in badges {
        assert!(
            b["text"].as_str().unwrap().contains("CRITICAL"),
            "{ctx}: {b}"
        );
        assert!(
            b["rect"]["bottom"].as_f64().unwrap() <= f["viewport"]["h"].as_f64().unwrap(),
            "{ctx}: badge below the first screen"
        );
        assert!(
            contrast(rgb(&b["color"]), rgb(&b["background"])) >= 4.5,
            "{ctx}: badge contrast {b}"
        );
    }
    let charts = f["charts"].as_array().unwrap();
    assert_eq!(charts.len(), 5, "{ctx}: {charts:?}");
    for c in charts {
        assert!(
            c["rect"]["width"].as_f64().unwrap() > 100.0
                && c["rect"]["height"].as_f64().unwrap() > 5.0,
            "{ctx}: empty chart {c}"
        );
    }
    let trend = charts
        .iter()
        .find(|c| c["label"].as_str().unwrap().contains("each recorded audit"))
        .unwrap();
    // Per point a track and a bar: every audit of the demo's story has findings.
    assert_eq!(
        trend["painted"].as_u64().unwrap(),
        2 * trend_points as u64,
        "{ctx}: {trend}"
    );
    assert_eq!(f["groups"][0], "CRITICAL (1)", "{ctx}");
    // Every finding card shows its status and the remediation to do; passed checks are listed.
    let statuses = f["statuses"].as_array().unwrap();
    assert_eq!(
        statuses.len() as u64,
        f["findings"].as_u64().unwrap(),
        "{ctx}"
    );
    assert!(
        statuses.iter().all(|s| s == "OPEN" || s == "ACCEPTED"),
        "{ctx}: {statuses:?}"
    );
    assert_eq!(
        f["todo"], f["findings"],
        "{ctx}: a finding without its remediation"
    );
    assert!(
        f["passed"].as_u64().unwrap() >= 5,
        "{ctx}: passed checks {}",
        f["passed"]
    );
    assert!(f["findings"].as_u64().unwrap() >= 7, "{ctx}");
}

/// The screenshot is a page, not a blank, and shows the verdict's colour where the verdict is.
fn assert_painted(png_path: &Path, facts: &Value) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(
        channels >= 3 && info.bit_depth == png::BitDepth::Eight,
        "{info:?}"
    );
    let px = |x: u32, y: u32| {
        let i = (y as usize * info.width as usize + x as usize) * channels;
        [buf[i], buf[i + 1], buf[i + 2]]
    };
    let mut colours = std::collections::BTreeSet::new();
    for y in (0..info.height).step_by(3) {
        for x in (0..info.width).step_by(3) {
            colours.insert(px(x, y));
        }
    }
    assert!(
        colours.len() > 100,
        "screenshot nearly blank: {} colours",
        colours.len()
    );
    let want = rgb(&facts["verdict"]["background"]).map(|c| c as i32);
    let r = &facts["verdict"]["rect"];
    let (x0, y0) = (
        r["left"].as_f64().unwrap() as u32,
        r["top"].as_f64().unwrap() as u32,
    );
    let (x1, y1) = (
        r["right"].as_f64().unwrap() as u32,
        r["bottom"].as_f64().unwrap() as u32,
    );
    let (mut hit, mut all) = (0u32, 0u32);
    for y in y0..y1.min(info.height) {
        for x in x0..x1.min(info.width) {
            all += 1;
            let p = px(x, y).map(i32::from);
            if (0..3).all(|i| (p[i] - want[i]).abs() <= 6) {
                hit += 1;
            }
        }
    }
    assert!(
        all > 0 && hit * 2 > all,
        "the verdict banner is not painted where the DOM puts it: {hit}/{all}"
    );
}

#[test]
fn the_report_reads_right_in_a_real_browser() {
    let Some(chrome) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = rootkey(tmp.path(), &["demo", "--dir", dir.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two more audits recorded with the auditor's key: with the demo's, the trend has three.
    let audit = |out: &str, record: bool| {
        let mut args = vec![
            "--ledger",
            "ledger.db",
            "--config",
            "rootkey.toml",
            "--pin-env",
            "ROOTKEY_DEMO_PIN",
            "audit",
            "--evidence-in",
            "aws-evidence.json",
            "--since-checkpoint",
            "auditor-checkpoint.txt",
            // The demo's unexplained sign-in stays in the period.
            "--since",
            "90d",
            "--format",
            "html",
            "--out",
            out,
        ];
        if record {
            args.extend([
                "--approvers",
                "dana",
                "--custodian-device",
                "dana=soft:keys/dana.json",
            ]);
        } else {
            args.push("--no-record");
        }
        let o = rootkey(&dir, &args);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    audit("second.html", true);
    let said = audit("report.html", true);
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();

    let wide = layout(&chrome, &dir, &page, 1280, 900, false);
    assert_readable(&wide, 1, 3);
    assert_readable(&layout(&chrome, &dir, &page, 500, 900, false), 1, 3);
    let dark = layout(&chrome, &dir, &page, 1280, 900, true);
    assert!(dark["dark"].as_bool().unwrap());
    assert_readable(&dark, 1, 3);
    assert_ne!(
        dark["body"]["background"], wide["body"]["background"],
        "dark mode changes the page"
    );

    // The screenshot a person would look at (kept for them under target/).
    let shots = shots();
    let report = dir.join("report.html");
    for (name, extra) in [
        ("report.png", None),
        ("report-dark.png", Some("--force-dark-mode")),
    ] {
        let png = shots.join(name);
        let _ = std::fs::remove_file(&png);
        let mut args = vec![
            "--window-size=1280,900".to_string(),
            format!("--screenshot={}", png.display()),
        ];
        args.extend(extra.map(String::from));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        browse(&chrome, &dir.join("profile"), &args, &report);
        assert_painted(&png, if extra.is_some() { &dark } else { &wide });
        eprintln!("screenshot: {}", png.display());
    }

    // The print view renders.
    let pdf = shots.join("report.pdf");
    let _ = std::fs::remove_file(&pdf);
    browse(
        &chrome,
        &dir.join("profile"),
        &[
            &format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer",
        ],
        &report,
    );
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(
        bytes.starts_with(b"%PDF-") && bytes.len() > 20_000,
        "print view: {} bytes",
        bytes.len()
    );

    // The steps the page gives to verify it work as written.
    let commands: Vec<&str> = wide["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(commands[0], "sha256sum REPORT-FILE");
    let show: Vec<&str> = commands[1].split_whitespace().collect();
    assert_eq!(
        show[..6],
        ["rootkey", "--ledger", "LEDGER", "--json", "ledger", "show"]
    );
    let mut args: Vec<&str> = show[1..]
        .iter()
        .map(|a| if *a == "LEDGER" { "ledger.db" } else { a })
        .collect();
    let o = rootkey(&dir, &args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let entries: Value = serde_json::from_slice(&o.stdout).unwrap();
    let entry = &entries[0];
    assert_eq!(entry["kind"], "audit.completed");
    let digest = hex::encode(rootkey::webauthn::sha256(page.as_bytes()));
    assert_eq!(
        entry["body"]["report_sha256"],
        digest.as_str(),
        "the entry the page names records this page"
    );
    assert!(
        said.contains(&format!("recorded as ledger entry {}", entry["seq"])),
        "{said}"
    );
    let prove: Vec<&str> = commands[3].split_whitespace().collect();
    args = prove[1..]
        .iter()
        .map(|a| if *a == "LEDGER" { "ledger.db" } else { a })
        .collect();
    let o = rootkey(&dir, &args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
