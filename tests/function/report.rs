//! The HTML report in a real browser (headless Chromium): it parses, shows every user
//! the ledger lists with their photo, the poison queue with its reasons, and runs no
//! script; hostile names from the directory are shown as text, never as markup.

use photo_sync::ledger::unix_now;
use photo_sync::photostore::InboxPhoto;
use photo_sync::queue::{Cause, Job, JobSink, UserRef};

use super::rig::{rig, sandbox_config, temp_dir};

fn chromium() -> &'static str {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if std::path::Path::new(c).exists() {
            return c;
        }
    }
    panic!("Chromium is needed for the report test: run scripts/test.sh, which installs it (apt-get install chromium)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_renders_in_a_browser_with_users_photos_and_reasons() {
    let r = rig(sandbox_config(12), &[]).await;
    let t = r.sandbox.tenant();
    let users = r.hr_users();
    let (id, employee, _) = users[0].clone();
    // A hostile display of a UPN in the directory.
    t.update_user(&id, |u| {
        u.user_principal_name = "x<script>alert(1)</script>@contoso.com".into()
    })
    .unwrap();
    r.app
        .engine()
        .photos()
        .put_inbox(
            "evt-r",
            &InboxPhoto {
                event_type: "photo.updated".into(),
                bytes: users[1].2.to_vec(),
                content_type: Some("image/jpeg".into()),
                photo_url: None,
                crop: None,
                received_at: unix_now(),
            },
        )
        .await
        .unwrap();
    let job = Job {
        v: 1,
        user: UserRef {
            employee_id: Some(employee),
            ..UserRef::default()
        },
        cause: Cause::Hr,
        hr_event: Some("evt-r".into()),
    };
    r.queue.send(&[job]).await.unwrap();
    r.queue
        .send_raw(vec!["<b>not a job</b>".into()])
        .await
        .unwrap();
    r.drain().await;

    let engine = r.app.engine();
    let report = photo_sync::report::collect(
        engine.ledger().as_ref(),
        engine.photos().as_ref(),
        r.queue.poisoned().await.unwrap(),
        true,
    )
    .await
    .unwrap();
    assert_eq!(report.users.len(), 1);
    let tmp = temp_dir("report");
    let dir = tmp.path();
    let page = dir.join("report.html");
    std::fs::write(&page, photo_sync::report::render(&report, "test report")).unwrap();
    let out = std::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The browser built the tables we wrote.
    assert!(dom.contains("id=\"user-table\""), "{dom}");
    assert_eq!(dom.matches("data-user=").count(), 1);
    assert!(dom.contains(&format!("data-user=\"{id}\"")));
    assert!(dom.contains("<img alt=\"\" src=\"data:image/jpeg;base64,"));
    assert!(dom.contains("m365: written"));
    // The poison queue with its reason; markup from the message shown as text.
    assert!(dom.contains("id=\"poison-table\""));
    assert!(dom.contains("&lt;b&gt;not a job&lt;/b&gt;"));
    assert!(dom.contains("not JSON"));
    // Nothing hostile became markup.
    assert!(!dom.contains("<script"), "{dom}");
    assert!(dom.contains("x&lt;script&gt;alert(1)&lt;/script&gt;@contoso.com"));
    // And a screenshot is made (the page lays out).
    let shot = dir.join("report.png");
    let status = std::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,800",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.join("profile2").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real rendering, not a blank page"
    );
}
