//! `photo-sync demo` as a command: the whole flow against the sandbox ends with nothing
//! left to do, every HR webhook accepted, photos written to both targets, and the report.

#[test]
fn demo_runs_the_whole_flow_and_leaves_nothing_to_do() {
    let tmp = super::rig::temp_dir("demo");
    let dir = tmp.path();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_photo-sync"))
        .args(["demo", "--users", "60", "--seed", "3", "--json", "--dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["users"], 60);
    assert_eq!(s["checked"], 60);
    assert_eq!(
        s["finalEnqueued"], 0,
        "the last reconcile finds nothing: {s}"
    );
    let answers = s["hrAnswers"].as_object().unwrap();
    assert_eq!(
        answers.keys().collect::<Vec<_>>(),
        ["202"],
        "every HR webhook accepted: {s}"
    );
    assert!(s["total"]["written"]["m365"].as_u64().unwrap() > 0);
    assert!(s["total"]["written"]["sharepoint"].as_u64().unwrap() > 0);
    assert_eq!(s["total"]["poisoned"], 0);
    // The too-small HR photo is the one failure, with its reason.
    let failed = s["total"]["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0][1].as_str().unwrap().contains("96x96"));
    // Drift was found and repaired.
    let drift = &s["steps"][3]["jobs"];
    assert!(drift["written"]["m365"].as_u64().unwrap() >= 1, "{drift}");
    assert!(std::fs::read_to_string(dir.join("demo-report.html"))
        .unwrap()
        .contains("user-table"));
}
