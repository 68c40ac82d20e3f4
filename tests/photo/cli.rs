//! `photo-sync normalize`: files named by target and size, a line per input, JSON lines,
//! and exit code 2 with the reason when any input is refused.

use std::process::Command;

use photo_sync::samples;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_photo-sync"))
}

/// Run a command that must succeed; its output.
fn succeed(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A fresh folder, removed when the test ends.
fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("photo-sync-cli-{name}-"))
        .tempdir()
        .unwrap()
}

#[test]
fn normalize_writes_every_rendition_and_exits_zero() {
    let tmp = temp_dir("ok");
    let d = tmp.path();
    let input = d.join("alice.jpg");
    std::fs::write(
        &input,
        samples::jpeg(&samples::Portrait::new(700, 900, 1).render(), 90),
    )
    .unwrap();
    let out = succeed(
        bin()
            .arg("normalize")
            .arg(&input)
            .arg("--out")
            .arg(d.join("out")),
    );
    for name in [
        "m365.648",
        "sharepoint.300",
        "ad.96",
        "sharepoint.72",
        "sharepoint.48",
    ] {
        assert!(
            d.join("out").join(format!("alice.{name}.jpg")).is_file(),
            "{name} missing"
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("648x648") && text.contains(" ms"), "{text}");
}

#[test]
fn a_refused_input_gives_exit_code_2_and_its_reason_while_others_still_run() {
    let tmp = temp_dir("bad");
    let d = tmp.path();
    let good = d.join("good.png");
    std::fs::write(
        &good,
        samples::png_rgb(&samples::Portrait::new(300, 300, 1).render()),
    )
    .unwrap();
    let bad = d.join("tiny.jpg");
    std::fs::write(
        &bad,
        samples::jpeg(&samples::Portrait::new(40, 40, 1).render(), 90),
    )
    .unwrap();
    let out = bin()
        .args(["normalize", "--json", "--targets", "ad"])
        .arg(&bad)
        .arg(&good)
        .arg("--out")
        .arg(d.join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["ok"], false);
    assert_eq!(lines[0]["error"]["code"], "too_small");
    assert!(lines[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("40x40"));
    assert_eq!(lines[1]["ok"], true);
    assert_eq!(lines[1]["renditions"][0]["target"], "ad");
    assert_eq!(lines[1]["renditions"][0]["width"], 96);
    assert!(d.join("out/good.ad.96.jpg").is_file());
}

#[test]
fn a_missing_file_is_reported_not_fatal() {
    let tmp = temp_dir("missing");
    let d = tmp.path();
    let out = bin()
        .arg("normalize")
        .arg(d.join("nope.jpg"))
        .arg("--out")
        .arg(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("read_failed"));
}

#[test]
fn bad_arguments_are_refused_with_the_option_named() {
    let out = bin()
        .args(["normalize", "x.jpg", "--out", "o", "--quality", "90-60"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("quality"));
    let out = bin()
        .args(["normalize", "x.jpg", "--out", "o", "--targets", "exchange"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exchange"));
}

#[test]
fn samples_normalise_and_the_bad_ones_are_refused_as_expected() {
    let tmp = temp_dir("demo");
    let d = tmp.path();
    let samples = d.join("samples");
    let out = succeed(
        bin()
            .args(["samples", "--out"])
            .arg(samples)
            .arg("--normalize")
            .arg(d.join("out")),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0 unexpected results"), "{text}");
    assert!(text.contains("refused as expected (too_small)"), "{text}");
    assert!(!text.contains("FAILED"), "{text}");
    let written = std::fs::read_dir(d.join("out")).unwrap().count();
    assert_eq!(written % 5, 0, "five renditions per photo");
    assert!(written >= 5 * 20, "{written} files");
}
