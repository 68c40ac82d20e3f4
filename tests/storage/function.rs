//! The function as it runs on Azure, with every state on Azure Storage (Azurite): the
//! ledger in a Table, photos in a Blob container, jobs on a Storage queue. An HR webhook
//! puts its job on the queue; the job is handed to `/sync-user` in the Functions host's
//! envelope exactly as the host would (message double-encoded, DequeueCount a string);
//! a second instance on the same settings sees the same state; hopeless messages end in
//! the poison queue with their reason.

use photo_sync::host::{build, Deployment};
use photo_sync::ledger::unix_now;
use photo_sync::sandbox::{standard_webhook_signature, HrPhotoMode, Sandbox, SandboxConfig};
use photo_sync::storage::queue::QueueClient;
use photo_sync::triggers::router;
use serde_json::{json, Value};

use super::azurite::{azurite, unique};
use super::backends::azurite_client;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn serve(d: &Deployment) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(d.app.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

async fn envelope(base: &str, function: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/{function}"))
        .header("content-type", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hr_photo_travels_through_the_storage_queue_to_every_store() {
    let sandbox = Sandbox::start(SandboxConfig {
        users: 15,
        seed: 7,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let (env, auth) = sandbox.endpoints().client_env("secret").unwrap();
    let (table, container, queue) = (unique("ledger"), unique("photos-"), unique("jobs-"));
    let env = env
        .with(
            "PHOTOSYNC_STORAGE_CONNECTION",
            azurite().connection_string.clone(),
        )
        .with(
            "PHOTOSYNC_LEDGER",
            format!("table:devstoreaccount1/{table}"),
        )
        .with(
            "PHOTOSYNC_PHOTO_STORE",
            format!("blob:devstoreaccount1/{container}"),
        )
        .with("PHOTOSYNC_QUEUE", format!("azure:devstoreaccount1/{queue}"))
        .with("PHOTOSYNC_HR_WEBHOOK_SECRET", SECRET)
        .with("PHOTOSYNC_HR_PHOTO_HOSTS", "hr.example.com");
    let one = build(&env, auth.clone()).await.unwrap();
    assert!(
        one.local_queue.is_none() && one.azure_queue.is_some(),
        "jobs go to the Storage queue"
    );
    let base = serve(&one).await;

    // An HR photo for a user with a mailbox.
    let t = sandbox.tenant();
    let users = t.users();
    let (user, employee, photo) = users
        .iter()
        .filter(|u| u.account_enabled && u.has_mailbox)
        .find_map(|u| {
            let e = u.employee_id.clone()?;
            Some((u.id.clone(), e.clone(), t.hr_photo(&e)?))
        })
        .unwrap();
    t.hr_set_photo(&employee, &photo);
    let uploads_before = t.photo(&user).map_or(0, |p| p.upload_count);
    let event = t
        .hr_event(&employee, HrPhotoMode::Inline)
        .unwrap()
        .to_string();
    let now = unix_now();
    let sig = standard_webhook_signature(SECRET, "msg_azure_1", now, &event).unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/hr-webhook"))
        .header("webhook-id", "msg_azure_1")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", sig)
        .body(event)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);

    // The job is on the Storage queue, base64 as the host reads it.
    let jobs = QueueClient::new(azurite_client(), &queue).unwrap();
    let got = jobs.receive(32, 60).await.unwrap();
    assert_eq!(got.len(), 1, "one job for one webhook");
    let message = got[0].text.clone();
    let job: Value = serde_json::from_str(&message).unwrap();
    assert_eq!(job["cause"], "hr");
    assert_eq!(job["hrEvent"], "msg_azure_1");

    // The host hands it to sync-user: the message JSON-encoded once more.
    let invocation = json!({"Data": {"msg": serde_json::to_string(&message).unwrap()}, "Metadata": {"DequeueCount": "1", "Id": got[0].id}});
    let (status, reply) = envelope(&base, "sync-user", invocation.clone()).await;
    assert_eq!(status, 200, "{reply}");
    jobs.delete(&got[0].id, got[0].pop_receipt.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        t.photo(&user).unwrap().upload_count,
        uploads_before + 1,
        "written to Microsoft 365 once"
    );

    // A second instance on the same settings sees what the first recorded.
    let two = build(&env, auth).await.unwrap();
    let state = two
        .app
        .engine()
        .ledger()
        .user(&user)
        .await
        .unwrap()
        .expect("the Table holds the user");
    assert_eq!(state.source.as_ref().unwrap().origin, "hr");
    assert!(state.targets.contains_key("m365"));
    let stored = two
        .app
        .engine()
        .photos()
        .photo(&user)
        .await
        .unwrap()
        .expect("the Blob holds the photo");
    assert_eq!(stored.origin, "hr");
    assert!(stored.for_target("m365").next().unwrap().jpeg.len() > 1000);

    // Redelivered (the host retries after a lost answer): nothing written again.
    let base_two = serve(&two).await;
    let (status, _) = envelope(&base_two, "sync-user", invocation).await;
    assert_eq!(status, 200);
    assert_eq!(
        t.photo(&user).unwrap().upload_count,
        uploads_before + 1,
        "a repeated job writes nothing"
    );

    // A message that can never succeed: 200 to the host, poisoned with its reason.
    let bad = json!({"Data": {"msg": "\"{\\\"hello\\\":1}\""}, "Metadata": {"DequeueCount": "1"}});
    let (status, _) = envelope(&base, "sync-user", bad).await;
    assert_eq!(status, 200);
    let poisoned = one.azure_queue.as_ref().unwrap().poisoned().await.unwrap();
    assert_eq!(poisoned.len(), 1);
    assert!(poisoned[0].body.contains("hello"), "{:?}", poisoned[0]);
    assert!(
        poisoned[0].reason.contains("not a job"),
        "{}",
        poisoned[0].reason
    );

    // The timer: the user just synced is not queued again.
    let (status, reply) = envelope(
        &base,
        "reconcile",
        json!({"Data": {"tick": {"IsPastDue": false}}, "Metadata": {}}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let queued: Vec<String> = reply["Outputs"]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j.as_str().unwrap().to_string())
        .collect();
    assert!(!queued.iter().any(|j| j.contains(&user)), "{queued:?}");
}
