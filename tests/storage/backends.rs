//! Each backend under test, fresh per test: a new SQLite file, or a new table /
//! container / queue on the shared Azurite.

use std::sync::Arc;

use photo_sync::ledger::{Ledger, SqliteLedger, TableLedger};
use photo_sync::photostore::{BlobPhotoStore, PhotoStore, SqlitePhotoStore};
use photo_sync::rest::RetryPolicy;
use photo_sync::storage::blob::ContainerClient;
use photo_sync::storage::table::TableClient;
use photo_sync::storage::{StorageAccount, StorageClient};

use super::azurite::{azurite, unique};

/// A fresh folder, removed when the guard is dropped.
pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("photo-sync-{tag}-"))
        .tempdir()
        .unwrap()
}

/// A client for the shared Azurite with a short retry policy.
pub fn azurite_client() -> StorageClient {
    let account = StorageAccount::from_connection_string(&azurite().connection_string).unwrap();
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    StorageClient::new(account, policy).unwrap()
}

/// A ledger in a fresh SQLite file, and the guard of its folder.
pub fn sqlite_ledger() -> (Arc<dyn Ledger>, tempfile::TempDir) {
    let dir = temp_dir("ledger");
    let ledger = SqliteLedger::open(&dir.path().join("l.db")).unwrap();
    (Arc::new(ledger), dir)
}

pub async fn table_ledger() -> Arc<dyn Ledger> {
    let table = TableClient::new(azurite_client(), &unique("ledger")).unwrap();
    Arc::new(TableLedger::open(table).await.unwrap())
}

/// A photo store in a fresh SQLite file, and the guard of its folder.
pub fn sqlite_photos() -> (Arc<dyn PhotoStore>, tempfile::TempDir) {
    let dir = temp_dir("photos");
    let db = photo_sync::ledger::db::Db::open(&dir.path().join("p.db")).unwrap();
    (Arc::new(SqlitePhotoStore::with_db(db).unwrap()), dir)
}

pub async fn blob_photos() -> Arc<dyn PhotoStore> {
    let container = ContainerClient::new(azurite_client(), &unique("photos-")).unwrap();
    Arc::new(BlobPhotoStore::open(container).await.unwrap())
}
