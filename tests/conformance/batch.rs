//! JSON batching (m365-facts B§2.2): at most 20 requests, unique ids (400 for the whole
//! batch otherwise), answers matched by id and possibly out of order, per-item status
//! and per-item `Retry-After` when an item is throttled.

use serde_json::{json, Value};

use crate::target::Target;

async fn some_ids(t: &Target, n: usize) -> Vec<String> {
    let a = t.get(&format!("/users?$top={n}&$select=id")).await;
    assert_eq!(a.status, 200);
    a.json()["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|u| u["id"].as_str().map(str::to_owned))
        .collect()
}

fn gets(ids: &[String]) -> Vec<Value> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| json!({"id": (i + 1).to_string(), "method": "GET", "url": format!("/users/{id}?$select=id")}))
        .collect()
}

/// Over 20 requests, a repeated id or a body without `requests`: 400 for the batch.
#[tokio::test]
async fn malformed_batches_are_refused_whole() {
    let t = Target::new(&[]).await;
    let mut ids = some_ids(&t, 21).await;
    while ids.len() < 21 {
        ids.push(ids[0].clone());
    }
    t.post("/$batch", &json!({"requests": gets(&ids[..21])}))
        .await
        .graph_error(400);
    let mut dup = gets(&ids[..2]);
    dup[1]["id"] = json!("1");
    t.post("/$batch", &json!({"requests": dup}))
        .await
        .graph_error(400);
    t.post("/$batch", &json!({"nope": []}))
        .await
        .graph_error(400);
}

/// Twenty requests: twenty answers, one per id, each with its own status; the order is
/// the service's (the sandbox shuffles, as Graph may).
#[tokio::test]
async fn twenty_requests_get_twenty_answers_matched_by_id() {
    let t = Target::new(&[]).await;
    let ids = some_ids(&t, 19).await;
    let mut requests = gets(&ids);
    requests.push(json!({"id": "missing", "method": "GET", "url": "/users/00000000-0000-0000-0000-000000000000"}));
    let mut out_of_order = false;
    for _ in 0..3 {
        let a = t.post("/$batch", &json!({ "requests": requests })).await;
        assert_eq!(a.status, 200);
        let responses = a.json()["responses"]
            .as_array()
            .cloned()
            .expect("responses");
        assert_eq!(responses.len(), 20);
        let order: Vec<&str> = responses.iter().filter_map(|r| r["id"].as_str()).collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        let mut expected: Vec<String> = (1..=19).map(|i| i.to_string()).collect();
        expected.push("missing".into());
        expected.sort_unstable();
        assert_eq!(sorted, expected, "one answer per id");
        let asked: Vec<&str> = requests.iter().filter_map(|r| r["id"].as_str()).collect();
        out_of_order |= order != asked;
        for r in &responses {
            let want = if r["id"] == "missing" { 404 } else { 200 };
            assert_eq!(r["status"], want, "{r}");
            if r["id"] != "missing" {
                let id = &ids[r["id"].as_str().unwrap().parse::<usize>().unwrap() - 1];
                assert_eq!(
                    r["body"]["id"].as_str(),
                    Some(id.as_str()),
                    "answers match by id"
                );
            } else {
                assert!(
                    r["body"]["error"]["code"].is_string(),
                    "item errors in Graph's shape"
                );
            }
        }
    }
    if t.is_sandbox() {
        assert!(
            out_of_order,
            "the sandbox answers out of order, as Graph may"
        );
    }
}

/// B§2.2/B§2.3: items are throttled one by one; each throttled item is a 429 with its
/// own `Retry-After`, while the envelope is 200.
#[tokio::test]
async fn throttled_items_carry_their_own_retry_after() {
    let t = Target::new(&["--throttle", "harsh"]).await;
    if t.stop_unless(t.is_sandbox(), "a real tenant is not throttled on demand") {
        return;
    }
    let ids = some_ids(&t, 20).await;
    let mut throttled = Vec::new();
    for _ in 0..12 {
        let a = t.post("/$batch", &json!({ "requests": gets(&ids) })).await;
        assert_eq!(a.status, 200, "the envelope succeeds");
        let responses = a.json()["responses"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        throttled.extend(responses.into_iter().filter(|r| r["status"] == 429));
        if !throttled.is_empty() {
            break;
        }
    }
    assert!(
        !throttled.is_empty(),
        "--throttle harsh throttles batch items"
    );
    for r in &throttled {
        let wait: f64 = r["headers"]["Retry-After"]
            .as_str()
            .expect("Retry-After in the item's headers")
            .parse()
            .expect("seconds");
        assert!(wait > 0.0);
        assert!(r["body"]["error"]["code"].is_string());
    }
}
