//! `host.json` and every `functions/*/function.json` against the router and the custom
//! handler protocol (m365-facts Part B §4): forwarded functions have exactly an HTTP
//! trigger and an HTTP output and are served at `/api/<name>`; the timer and the queue
//! trigger arrive as envelopes at `/<name>`, with the binding names the handlers read.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use photo_sync::triggers::{router, JOBS_BINDING, MESSAGE_BINDING};
use serde_json::Value;
use tower::ServiceExt as _;

use super::rig::{rig, sandbox_config};

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_json_matches_a_route_the_router_serves() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let host = read(&root.join("host.json"));
    assert_eq!(host["version"], "2.0");
    assert_eq!(host["customHandler"]["enableForwardingHttpRequest"], true);
    assert_eq!(
        host["customHandler"]["description"]["defaultExecutablePath"],
        "photo-sync"
    );
    assert_eq!(host["extensions"]["http"]["routePrefix"], "api");
    assert_eq!(host["extensions"]["queues"]["messageEncoding"], "base64");

    let r = rig(sandbox_config(10), &[]).await;
    let app = router(r.app.clone());
    let mut names: Vec<String> = std::fs::read_dir(root.join("functions"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("function.json").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "hr-webhook",
            "lifecycle",
            "notifications",
            "reconcile",
            "sync-user"
        ]
    );
    let mut queue_in = None;
    let mut queue_out = None;
    for name in &names {
        let f = read(&root.join("functions").join(name).join("function.json"));
        let bindings = f["bindings"].as_array().unwrap();
        let kinds: Vec<&str> = bindings
            .iter()
            .map(|b| b["type"].as_str().unwrap())
            .collect();
        let forwarded = kinds == ["httpTrigger", "http"];
        let path = if forwarded {
            let trigger = &bindings[0];
            assert_eq!(
                trigger["route"],
                name.as_str(),
                "{name}: route = folder name"
            );
            assert_eq!(trigger["methods"], serde_json::json!(["post"]));
            format!("/api/{name}")
        } else {
            assert!(
                !kinds.contains(&"http"),
                "{name}: extra bindings switch off forwarding (B§4.2)"
            );
            format!("/{name}")
        };
        for b in bindings {
            match b["type"].as_str().unwrap() {
                "queueTrigger" => {
                    assert_eq!(b["name"], MESSAGE_BINDING);
                    queue_in = b["queueName"].as_str().map(str::to_string);
                }
                "queue" => {
                    assert_eq!(b["name"], JOBS_BINDING);
                    queue_out = b["queueName"].as_str().map(str::to_string);
                }
                "timerTrigger" => {
                    let s = b["schedule"].as_str().unwrap();
                    assert!(
                        s.starts_with('%') || s.split_whitespace().count() == 6,
                        "{s}"
                    );
                }
                _ => {}
            }
        }
        // The route exists: anything but 404/405 (bodies are deliberately empty).
        let resp = app
            .clone()
            .oneshot(Request::post(&path).body(Body::from("{}")).unwrap())
            .await
            .unwrap();
        assert!(
            !matches!(
                resp.status(),
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
            ),
            "{path}: {}",
            resp.status()
        );
    }
    let q = queue_in.unwrap();
    assert_eq!(
        Some(q.clone()),
        queue_out,
        "the timer feeds the queue sync-user reads"
    );
    assert!(q
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    // The ping the host waits for.
    let resp = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_in_the_hosts_encodings_are_read_leniently() {
    let r = rig(sandbox_config(10), &[]).await;
    let app = router(r.app.clone());
    let call = |path: &'static str, body: String| {
        let app = app.clone();
        async move {
            let resp = app
                .oneshot(Request::post(path).body(Body::from(body)).unwrap())
                .await
                .unwrap();
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    // The timer object as a JSON string, as some host versions send it.
    let timer = serde_json::json!({"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":true}).to_string();
    let (status, reply) = call(
        "/reconcile",
        serde_json::json!({"Data":{"timer": timer},"Metadata":{"sys":"{}"}}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert!(reply["Outputs"][JOBS_BINDING].is_array());
    assert!(reply["Logs"][0].as_str().unwrap().contains("past due"));
    assert_eq!(reply["ReturnValue"]["checked"], 10);
    // A queue message double-encoded, DequeueCount a string (B§4.2).
    let user = r.sandbox.tenant().users()[0].id.clone();
    let msg = serde_json::to_string(
        &serde_json::json!({"v":1,"user":{"id": user},"cause":"manual"}).to_string(),
    )
    .unwrap();
    let (status, reply) = call(
        "/sync-user",
        format!(r#"{{"Data":{{"msg":{msg}}},"Metadata":{{"DequeueCount":"1"}}}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["ReturnValue"]["userId"], user.as_str());
    // A message that is no job: 200 with the reason, and in the poison queue.
    let (status, reply) = call(
        "/sync-user",
        r#"{"Data":{"msg":"\"hello\""},"Metadata":{"DequeueCount":1}}"#.into(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(reply["Logs"][0].as_str().unwrap().contains("poisoned"));
    assert_eq!(r.queue.poisoned().await.unwrap().len(), 1);
    // Not an envelope: 400 with a reason in Logs.
    for bad in ["[1,2]", "{\"Data\":5}", "nope"] {
        let (status, reply) = call("/sync-user", bad.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(!reply["Logs"][0].as_str().unwrap_or("").is_empty());
    }
}
