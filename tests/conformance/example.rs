//! The README's worked example ("Try your own scripts against the sandbox") is
//! `scripts/sandbox-example.sh`; it runs here, start to end, against this build.

use std::process::Command;

#[test]
fn the_readme_example_script_runs_against_the_sandbox() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/sandbox-example.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_photo-sync"))
        .env("PORT", port.to_string())
        .output()
        .expect("bash runs the example");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.matches("\nuser ").count() + usize::from(text.starts_with("user ")),
        3,
        "{text}"
    );
    assert!(text.contains("upload 200"), "{text}");
    assert!(text.contains("read back 96x96: "), "{text}");
    assert!(text.contains("\"code\":\"UnsupportedMediaType\""), "{text}");
    assert!(
        text.contains("\"code\":\"InvalidAuthenticationToken\""),
        "{text}"
    );
    let photo = text
        .lines()
        .find(|l| l.starts_with("photo "))
        .expect("photo line");
    assert!(photo.contains("etag \""), "{photo}");
}
