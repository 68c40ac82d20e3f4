//! Whatever a script sends gets Graph's status and error body
//! (`{"error":{"code","message","innerError"}}`): unknown routes, unknown versions,
//! wrong methods, malformed JSON, huge bodies. Never a panic, never a hang (the client
//! gives up after 30 s, so a hang fails the rule).

use serde_json::json;

use crate::target::Target;

#[tokio::test]
async fn unknown_routes_and_versions_get_graph_errors() {
    let t = Target::new(&[]).await;
    let a = t.get("/nothingHere").await;
    assert_eq!(a.graph_error(400), "BadRequest");
    assert!(a.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("nothingHere"));
    let a = t.get(&format!("{}/v9.9/users", t.graph)).await;
    assert_eq!(a.graph_error(400), "BadRequest", "unknown version");
    let a = t.get(&format!("{}/users", t.graph)).await;
    assert_eq!(
        a.graph_error(400),
        "BadRequest",
        "no version (msgraph-sample-blazor-clientside#94)"
    );
    assert_eq!(a.json()["error"]["message"], "Invalid version.");
}

#[tokio::test]
async fn wrong_methods_get_405_in_graph_shape() {
    let t = Target::new(&[]).await;
    for (method, path) in [
        (reqwest::Method::DELETE, "/users"),
        (reqwest::Method::PUT, "/users/delta"),
        (reqwest::Method::GET, "/$batch"),
    ] {
        let a = t
            .send(
                t.http
                    .request(method.clone(), t.url(path))
                    .bearer_auth(&t.token),
            )
            .await;
        a.graph_error(405);
    }
}

#[tokio::test]
async fn malformed_json_gets_400_in_graph_shape() {
    let t = Target::new(&[]).await;
    for path in ["/$batch", "/subscriptions"] {
        for body in ["{not json", "[]", "\"a string\"", ""] {
            t.post_raw(path, body).await.graph_error(400);
        }
    }
    let a = t
        .post(
            "/$batch",
            &json!({"requests": [{"id": "1", "method": "GET"}]}),
        )
        .await;
    a.graph_error(400);
}

/// m365-facts A§1.2: the REST request-size limit is 4 MB.
#[tokio::test]
async fn bodies_over_four_megabytes_get_413_in_graph_shape() {
    let t = Target::new(&[]).await;
    let huge = format!(
        "{{\"requests\": [], \"pad\": \"{}\"}}",
        "x".repeat(5 * 1024 * 1024)
    );
    for path in ["/$batch", "/subscriptions"] {
        t.post_raw(path, huge.clone()).await.graph_error(413);
    }
}
