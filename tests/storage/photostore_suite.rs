//! One suite for every photo store: SQLite and Azure Blob (Azurite).

use photo_sync::photostore::{InboxPhoto, PhotoStore, StoredPhoto, StoredRendition};

use super::backends::{blob_photos, sqlite_photos};

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(#[tokio::test] async fn $name() { let (store, _dir) = super::sqlite_photos(); super::$name(&*store).await; })* }
        mod blob { $(#[tokio::test] async fn $name() { super::$name(&*super::blob_photos().await).await; })* }
    };
}

both!(photos_round_trip_and_replace, inbox_is_idempotent_per_event);

fn photo(seed: u8) -> StoredPhoto {
    let jpeg = |side: u32| {
        (0..side * 37)
            .map(|i| (i as u8).wrapping_mul(seed))
            .collect::<Vec<u8>>()
    };
    StoredPhoto {
        origin: "hr".into(),
        source_sha256: format!("{seed:064x}"),
        phash: u64::MAX - u64::from(seed),
        accepted_at: 1_700_000_000,
        renditions: vec![
            StoredRendition {
                target: "m365".into(),
                side: 648,
                jpeg: jpeg(648),
            },
            StoredRendition {
                target: "ad".into(),
                side: 96,
                jpeg: jpeg(96),
            },
        ],
    }
}

async fn photos_round_trip_and_replace(s: &dyn PhotoStore) {
    for id in [
        "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "guest_x.com#EXT#@t.onmicrosoft.com",
        "a/b",
        "ü ö",
    ] {
        assert_eq!(s.photo(id).await.unwrap(), None);
        s.put_photo(id, &photo(3)).await.unwrap();
        assert_eq!(s.photo(id).await.unwrap(), Some(photo(3)), "{id}");
        s.put_photo(id, &photo(4)).await.unwrap();
        assert_eq!(s.photo(id).await.unwrap(), Some(photo(4)));
        s.delete_photo(id).await.unwrap();
        assert_eq!(s.photo(id).await.unwrap(), None);
        s.delete_photo(id).await.unwrap();
    }
    // "a/b" and "a" are different users (no folder tricks).
    s.put_photo("a/b", &photo(5)).await.unwrap();
    assert_eq!(s.photo("a").await.unwrap(), None);
}

async fn inbox_is_idempotent_per_event(s: &dyn PhotoStore) {
    let item = |n: u8| InboxPhoto {
        event_type: "photo.updated".into(),
        bytes: vec![n; 1000],
        content_type: Some("image/jpeg".into()),
        photo_url: None,
        crop: Some([1, 2, 300, 300]),
        received_at: 1_700_000_000,
    };
    assert_eq!(
        s.inbox("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W").await.unwrap(),
        None
    );
    s.put_inbox("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", &item(1))
        .await
        .unwrap();
    s.put_inbox("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", &item(2))
        .await
        .unwrap();
    assert_eq!(
        s.inbox("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W").await.unwrap(),
        Some(item(1)),
        "the first delivery is kept"
    );
    s.delete_inbox("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
        .await
        .unwrap();
    assert_eq!(
        s.inbox("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W").await.unwrap(),
        None
    );
    s.delete_inbox("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
        .await
        .unwrap();
}
