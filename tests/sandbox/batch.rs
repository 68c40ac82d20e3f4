//! `$batch` (m365-facts B§2.2).

use std::collections::HashSet;

use base64::Engine as _;
use photo_sync::sandbox::Sandbox;
use serde_json::{json, Value};

use crate::helpers::{client, graph_token, start_with};

async fn batch(sb: &Sandbox, token: &str, body: Value) -> (u16, Value) {
    let r = client()
        .post(format!("{}/v1.0/$batch", sb.endpoints().graph_url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn gets(ids: &[String]) -> Vec<Value> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| json!({"id": (i + 1).to_string(), "method": "GET", "url": format!("/users/{id}?$select=id")}))
        .collect()
}

#[tokio::test]
async fn batches_over_twenty_or_with_duplicate_ids_are_refused_whole() {
    let sb = start_with(30, |_| {}).await;
    let token = graph_token(&sb).await;
    let ids: Vec<String> = sb.tenant().users().into_iter().map(|u| u.id).collect();
    let (status, v) = batch(&sb, &token, json!({"requests": gets(&ids[..21])})).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "BadRequest");
    let mut dup = gets(&ids[..2]);
    dup[1]["id"] = json!("1");
    assert_eq!(batch(&sb, &token, json!({"requests": dup})).await.0, 400);
    assert_eq!(batch(&sb, &token, json!({"nope": []})).await.0, 400);
    sb.shutdown().await;
}

#[tokio::test]
async fn twenty_items_all_answer_out_of_order() {
    let sb = start_with(30, |_| {}).await;
    let token = graph_token(&sb).await;
    let ids: Vec<String> = sb
        .tenant()
        .users()
        .into_iter()
        .map(|u| u.id)
        .take(20)
        .collect();
    let (status, v) = batch(&sb, &token, json!({"requests": gets(&ids)})).await;
    assert_eq!(status, 200);
    let responses = v["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 20);
    let order: Vec<String> = responses
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    assert_ne!(order, expected, "answers come back shuffled");
    assert_eq!(order.iter().collect::<HashSet<_>>().len(), 20);
    for r in responses {
        assert_eq!(r["status"], 200);
        let i: usize = r["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(r["body"]["id"], ids[i - 1].as_str());
    }
    let stats = sb.tenant().stats();
    assert_eq!((stats.batch_envelopes, stats.batch_items), (1, 20));
    sb.shutdown().await;
}

#[tokio::test]
async fn dependents_of_a_failed_request_get_424_and_binary_bodies_are_base64() {
    let sb = start_with(60, |_| {}).await;
    let token = graph_token(&sb).await;
    let t = sb.tenant();
    let with_photo = t
        .users()
        .into_iter()
        .find(|u| t.photo(&u.id).is_some())
        .unwrap()
        .id;
    let body = json!({"requests": [
        {"id": "a", "method": "GET", "url": "/users/ghost@contoso.com"},
        {"id": "b", "method": "GET", "url": "/users?$top=1", "dependsOn": ["a"]},
        {"id": "c", "method": "GET", "url": format!("/users/{with_photo}/photo/$value")},
        {"id": "d", "method": "GET", "url": "/users?$top=1", "dependsOn": ["c"]},
    ]});
    let (status, v) = batch(&sb, &token, body).await;
    assert_eq!(status, 200);
    let by_id = |id: &str| {
        v["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("a")["status"], 404);
    assert_eq!(
        by_id("a")["body"]["error"]["code"],
        "Request_ResourceNotFound"
    );
    assert_eq!(by_id("b")["status"], 424);
    assert_eq!(by_id("d")["status"], 200);
    let c = by_id("c");
    assert_eq!(c["headers"]["Content-Type"], "image/jpeg");
    let jpeg = base64::engine::general_purpose::STANDARD
        .decode(c["body"].as_str().unwrap())
        .unwrap();
    assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF]);
    sb.shutdown().await;
}

#[tokio::test]
async fn items_are_throttled_one_by_one_with_retry_after_in_their_headers() {
    let sb = start_with(30, |c| c.limits.resource_units_small = 10).await;
    let token = graph_token(&sb).await;
    let ids: Vec<String> = sb
        .tenant()
        .users()
        .into_iter()
        .map(|u| u.id)
        .take(20)
        .collect();
    let requests: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"id": i.to_string(), "method": "GET", "url": format!("/users/{id}")}))
        .collect();
    let (status, v) = batch(&sb, &token, json!({"requests": requests})).await;
    assert_eq!(
        status, 200,
        "the envelope succeeds even when items are throttled"
    );
    let responses = v["responses"].as_array().unwrap();
    let ok = responses.iter().filter(|r| r["status"] == 200).count();
    let throttled: Vec<&Value> = responses.iter().filter(|r| r["status"] == 429).collect();
    assert_eq!(ok, 5, "10 RU / 2 RU per GET user");
    assert_eq!(throttled.len(), 15);
    for r in throttled {
        let wait: f64 = r["headers"]["Retry-After"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(wait >= 1.0);
    }
    sb.shutdown().await;
}
