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

/// A fresh folder.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique(&format!("photo-sync-{tag}-")));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
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

pub fn sqlite_ledger() -> Arc<dyn Ledger> {
    Arc::new(SqliteLedger::open(&temp_dir("ledger").join("l.db")).unwrap())
}

pub async fn table_ledger() -> Arc<dyn Ledger> {
    let table = TableClient::new(azurite_client(), &unique("ledger")).unwrap();
    Arc::new(TableLedger::open(table).await.unwrap())
}

pub fn sqlite_photos() -> Arc<dyn PhotoStore> {
    let db = photo_sync::ledger::db::Db::open(&temp_dir("photos").join("p.db")).unwrap();
    Arc::new(SqlitePhotoStore::with_db(db).unwrap())
}

pub async fn blob_photos() -> Arc<dyn PhotoStore> {
    let container = ContainerClient::new(azurite_client(), &unique("photos-")).unwrap();
    Arc::new(BlobPhotoStore::open(container).await.unwrap())
}
