//! `photo-sync sandbox` as a command: options it refuses say why and exit non-zero; a
//! port already taken is named; the control plane refuses what it cannot use.

use std::process::Command;

use reqwest::Method;
use serde_json::json;

use crate::target::Target;

fn sandbox(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_photo-sync"))
        .arg("sandbox")
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn refused_options_say_why() {
    for (args, says) in [
        (&["--users", "5"][..], "--users 5"),
        (&["--rate-429", "2"][..], "--rate-429 2"),
        (
            &["--throttle", "sometimes"][..],
            "possible values: off, documented, harsh",
        ),
        (
            &["--no-photo-shape", "png"][..],
            "possible values: 404, gif, mixed",
        ),
        (&["--delta-expired", "500"][..], "possible values: 400, 410"),
    ] {
        let (code, stderr) = sandbox(args);
        assert!(matches!(code, Some(1 | 2)), "{args:?}: {code:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let (code, stderr) = sandbox(&["--port", &port]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")) && stderr.contains("in use"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_control_plane_refuses_what_it_cannot_use() {
    let t = Target::sandbox(&[]).await;
    let a = t
        .control(
            Method::POST,
            "/users",
            Some(json!({"displayName": "No UPN"})),
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(a.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("userPrincipalName"));
    let a = t
        .control(
            Method::PATCH,
            "/users/nobody",
            Some(json!({"jobTitle": "x"})),
        )
        .await;
    assert_eq!(
        (a.status, a.json()["error"]["code"].as_str()),
        (404, Some("NoSuchUser"))
    );
    let a = t
        .control(Method::POST, "/clock/advance", Some(json!({"seconds": -1})))
        .await;
    assert_eq!(a.status, 400);
    let users = t.sandbox_users().await;
    let upn = users[0]["userPrincipalName"].as_str().unwrap();
    let a = t
        .control(
            Method::POST,
            "/users",
            Some(json!({"userPrincipalName": upn.to_uppercase(), "displayName": "Twin"})),
        )
        .await;
    assert_eq!(a.status, 409, "UPNs are unique whatever their case");
    let a = t
        .send(
            t.http
                .put(format!(
                    "{}/users/{}/photo",
                    t.endpoint("control_url"),
                    users[0]["id"].as_str().unwrap()
                ))
                .body("not a photo"),
        )
        .await;
    assert_eq!(
        (a.status, a.json()["error"]["code"].as_str()),
        (400, Some("BadPhoto"))
    );
}
