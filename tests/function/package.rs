//! `photo-sync package`: both zips read back by another implementation (Python's
//! `zipfile`, CRCs checked), with the executable executable, the repository's host.json
//! and function folders in the Functions zip, and `bootstrap` alone in the Lambda zip.

use std::process::Command;

use super::rig::temp_dir;

#[test]
fn packages_hold_what_each_host_expects() {
    let tmp = temp_dir("package");
    let out = tmp.path();
    let exe = env!("CARGO_BIN_EXE_photo-sync");
    let run = Command::new(exe)
        .args(["package", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let script = r#"
import json, stat, sys, zipfile
out = {}
for name in sys.argv[1:]:
    z = zipfile.ZipFile(name)
    assert z.testzip() is None, "bad CRC in " + name
    out[name] = {i.filename: {"mode": stat.S_IMODE(i.external_attr >> 16), "size": i.file_size,
                              "text": z.read(i).decode() if i.filename.endswith(".json") else None,
                              "head": z.read(i)[:4].hex()}
                 for i in z.infolist()}
print(json.dumps(out))
"#;
    let functions = out.join("photo-sync-functions.zip");
    let lambda = out.join("photo-sync-lambda.zip");
    // The running build makes a Lambda zip only when it has the Lambda host.
    assert_eq!(lambda.exists(), cfg!(feature = "lambda"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        stdout.contains("no Lambda zip"),
        !cfg!(feature = "lambda"),
        "{stdout}"
    );
    // Named explicitly, an executable is taken at its word (a small ELF stands in for a
    // release build: the test build's binary is hundreds of MB).
    let small = out.join("small-elf");
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.extend((0..50_000u32).map(|i| (i % 251) as u8));
    std::fs::write(&small, &elf).unwrap();
    let run = Command::new(exe)
        .args(["package", "--out"])
        .arg(out)
        .arg("--binary")
        .arg(&small)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let py = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&functions)
        .arg(&lambda)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let listing: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    let f = &listing[functions.to_str().unwrap()];
    let binary_len = elf.len() as u64;
    assert_eq!(f["photo-sync"]["mode"], 0o755);
    assert_eq!(f["photo-sync"]["size"], binary_len);
    assert_eq!(f["photo-sync"]["head"], "7f454c46", "an ELF executable");
    let root = env!("CARGO_MANIFEST_DIR");
    assert_eq!(
        f["host.json"]["text"].as_str().unwrap(),
        std::fs::read_to_string(format!("{root}/host.json")).unwrap()
    );
    for name in [
        "hr-webhook",
        "lifecycle",
        "notifications",
        "reconcile",
        "sync-user",
    ] {
        let entry = &f[format!("{name}/function.json")];
        let repo =
            std::fs::read_to_string(format!("{root}/functions/{name}/function.json")).unwrap();
        assert_eq!(entry["text"].as_str().unwrap(), repo, "{name}");
        assert_eq!(entry["mode"], 0o644);
    }
    assert_eq!(
        f.as_object().unwrap().len(),
        7,
        "nothing else in the Functions zip"
    );
    let l = &listing[lambda.to_str().unwrap()];
    assert_eq!(l.as_object().unwrap().len(), 1);
    assert_eq!(l["bootstrap"]["mode"], 0o755);
    assert_eq!(l["bootstrap"]["size"], binary_len);

    // Not a Linux executable: refused with a sentence, nothing written.
    let bogus = out.join("not-elf");
    std::fs::write(&bogus, b"MZ\x90\x00").unwrap();
    let out2 = out.join("second");
    let run = Command::new(exe)
        .args(["package", "--out"])
        .arg(&out2)
        .arg("--binary")
        .arg(&bogus)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("not a Linux (ELF) executable"));
    assert!(!out2.exists());
}
