//! Where state and jobs live, chosen once from the settings (PRODUCT.md §6, §7):
//!
//! | setting | values | default |
//! |---|---|---|
//! | `PHOTOSYNC_LEDGER` | `sqlite:PATH`, `table:ACCOUNT/TABLE` (or `table:TABLE` on the host's storage account) | `sqlite:photo-sync.db` |
//! | `PHOTOSYNC_PHOTO_STORE` | `sqlite` (in the ledger's file), `blob:ACCOUNT/CONTAINER` | beside the ledger: `sqlite`, or `blob:` the table's account `/photo-sync-photos` |
//! | `PHOTOSYNC_QUEUE` | `local` (durable SQLite queue), `azure:ACCOUNT/QUEUE` (or `azure`) | `azure` on the Functions host or with a table ledger, else `local` |
//!
//! An Azure account is reached with the connection string in
//! `PHOTOSYNC_STORAGE_CONNECTION` / `AzureWebJobsStorage` when that names it, else with
//! the configured credential (managed identity) — see [`StorageAccount::from_env`].

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use crate::auth::TokenSource;
use crate::config::{Cloud, ConfigError, Env};
use crate::ledger::db::Db;
use crate::ledger::{Ledger, SqliteLedger, TableLedger};
use crate::photostore::{BlobPhotoStore, PhotoStore, SqlitePhotoStore};
use crate::queue::{AzureQueue, JobSink, LocalQueue, Poison, DEFAULT_QUEUE};
use crate::rest::RetryPolicy;
use crate::storage::blob::ContainerClient;
use crate::storage::queue::QueueClient;
use crate::storage::table::TableClient;
use crate::storage::{StorageAccount, StorageClient};

/// The default photo container beside a table ledger.
pub const DEFAULT_CONTAINER: &str = "photo-sync-photos";

/// Where the ledger lives (`PHOTOSYNC_LEDGER`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerLocation {
    /// `sqlite:PATH` (default `sqlite:photo-sync.db`).
    Sqlite(PathBuf),
    /// `table:ACCOUNT/TABLE`; an empty account is the host's (`AzureWebJobsStorage`).
    Table {
        /// Storage account name ("" = the host's).
        account: String,
        /// Table name.
        table: String,
    },
}

/// Where accepted photos live (`PHOTOSYNC_PHOTO_STORE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoStoreLocation {
    /// In the SQLite ledger's file.
    Sqlite,
    /// `blob:ACCOUNT/CONTAINER`.
    Blob {
        /// Storage account name ("" = the host's).
        account: String,
        /// Container name.
        container: String,
    },
}

/// Where jobs go (`PHOTOSYNC_QUEUE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueLocation {
    /// The durable local queue in the SQLite file.
    Local,
    /// `azure:ACCOUNT/QUEUE`.
    Azure {
        /// Storage account name ("" = the host's).
        account: String,
        /// Queue name (the `sync-user` function's `queueName`).
        queue: String,
    },
}

/// The three locations, read and checked together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    /// The ledger.
    pub ledger: LedgerLocation,
    /// The photo store.
    pub photos: PhotoStoreLocation,
    /// The job queue.
    pub queue: QueueLocation,
}

fn account_and_name(
    key: &'static str,
    value: &str,
    rest: &str,
    default_name: Option<&str>,
) -> Result<(String, String), ConfigError> {
    let invalid = |why: &str| ConfigError::Invalid {
        key,
        value: value.to_string(),
        why: why.to_string(),
    };
    match rest.split_once('/') {
        Some((account, name)) if !name.trim().is_empty() => {
            Ok((account.trim().to_string(), name.trim().to_string()))
        }
        Some(_) => Err(invalid("ACCOUNT/NAME with a name after the slash")),
        None if rest.trim().is_empty() => default_name
            .map(|n| (String::new(), n.to_string()))
            .ok_or_else(|| invalid("ACCOUNT/NAME")),
        None => Ok((String::new(), rest.trim().to_string())),
    }
}

impl Locations {
    /// Reads `PHOTOSYNC_LEDGER`, `PHOTOSYNC_PHOTO_STORE` and `PHOTOSYNC_QUEUE`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let value = env
            .get("PHOTOSYNC_LEDGER")
            .unwrap_or("sqlite:photo-sync.db");
        let ledger = match value.split_once(':') {
            Some(("sqlite", path)) if !path.trim().is_empty() => {
                LedgerLocation::Sqlite(PathBuf::from(path.trim()))
            }
            Some(("table", rest)) => {
                let (account, table) = account_and_name("PHOTOSYNC_LEDGER", value, rest, None)?;
                LedgerLocation::Table { account, table }
            }
            _ => {
                return Err(ConfigError::Invalid {
                    key: "PHOTOSYNC_LEDGER",
                    value: value.to_string(),
                    why: "sqlite:PATH or table:ACCOUNT/TABLE".into(),
                })
            }
        };
        let table_account = match &ledger {
            LedgerLocation::Table { account, .. } => Some(account.clone()),
            LedgerLocation::Sqlite(_) => None,
        };
        let photos = match env.get("PHOTOSYNC_PHOTO_STORE") {
            None => match &table_account {
                Some(account) => PhotoStoreLocation::Blob {
                    account: account.clone(),
                    container: DEFAULT_CONTAINER.into(),
                },
                None => PhotoStoreLocation::Sqlite,
            },
            Some("sqlite") if table_account.is_none() => PhotoStoreLocation::Sqlite,
            Some(v) => match v.split_once(':') {
                Some(("blob", rest)) => {
                    let (account, container) = account_and_name(
                        "PHOTOSYNC_PHOTO_STORE",
                        v,
                        rest,
                        Some(DEFAULT_CONTAINER),
                    )?;
                    PhotoStoreLocation::Blob { account, container }
                }
                _ => {
                    return Err(ConfigError::Invalid {
                        key: "PHOTOSYNC_PHOTO_STORE",
                        value: v.to_string(),
                        why: "sqlite (with a sqlite ledger) or blob:ACCOUNT/CONTAINER".into(),
                    })
                }
            },
        };
        let on_functions = env.get("FUNCTIONS_CUSTOMHANDLER_PORT").is_some();
        let queue = match env.get("PHOTOSYNC_QUEUE") {
            None if on_functions || table_account.is_some() => QueueLocation::Azure {
                account: table_account.clone().unwrap_or_default(),
                queue: DEFAULT_QUEUE.into(),
            },
            None | Some("local") => QueueLocation::Local,
            Some("azure") => QueueLocation::Azure {
                account: String::new(),
                queue: DEFAULT_QUEUE.into(),
            },
            Some(v) => match v.split_once(':') {
                Some(("azure", rest)) => {
                    let (account, queue) =
                        account_and_name("PHOTOSYNC_QUEUE", v, rest, Some(DEFAULT_QUEUE))?;
                    QueueLocation::Azure { account, queue }
                }
                _ => {
                    return Err(ConfigError::Invalid {
                        key: "PHOTOSYNC_QUEUE",
                        value: v.to_string(),
                        why: "local, azure or azure:ACCOUNT/QUEUE".into(),
                    })
                }
            },
        };
        Ok(Self {
            ledger,
            photos,
            queue,
        })
    }
}

/// The opened backends.
pub struct Backends {
    /// The ledger.
    pub ledger: Arc<dyn Ledger>,
    /// The photo store.
    pub photos: Arc<dyn PhotoStore>,
    /// Where producers put jobs.
    pub sink: Arc<dyn JobSink>,
    /// Where hopeless messages go.
    pub poison: Arc<dyn Poison>,
    /// The local queue, when jobs go there (the standalone worker runs it).
    pub local_queue: Option<LocalQueue>,
    /// The Azure queue, when jobs go there.
    pub azure_queue: Option<AzureQueue>,
}

/// Opens (creating on first use) every backend the locations name.
pub async fn open(
    locations: &Locations,
    env: &Env,
    cloud: Cloud,
    tokens: Arc<dyn TokenSource>,
) -> anyhow::Result<Backends> {
    let mut db: Option<Db> = None;
    let sqlite_db = |db: &mut Option<Db>, path: &PathBuf| -> anyhow::Result<Db> {
        if let Some(d) = db {
            return Ok(d.clone());
        }
        let d = Db::open(path)?;
        *db = Some(d.clone());
        Ok(d)
    };
    let account = |name: &str| -> anyhow::Result<StorageClient> {
        let account = StorageAccount::from_env(env, name, cloud, Some(Arc::clone(&tokens)))?;
        Ok(StorageClient::new(account, RetryPolicy::default())?)
    };
    let sqlite_path = match &locations.ledger {
        LedgerLocation::Sqlite(path) => path.clone(),
        // The local queue (if chosen) still needs a file.
        LedgerLocation::Table { .. } => PathBuf::from(
            env.get("PHOTOSYNC_LOCAL_QUEUE_FILE")
                .unwrap_or("photo-sync-queue.db"),
        ),
    };
    let ledger: Arc<dyn Ledger> = match &locations.ledger {
        LedgerLocation::Sqlite(path) => Arc::new(SqliteLedger::with_db(sqlite_db(&mut db, path)?)?),
        LedgerLocation::Table {
            account: name,
            table,
        } => {
            let table = TableClient::new(account(name)?, table)?;
            Arc::new(
                TableLedger::open(table)
                    .await
                    .context("opening the Table ledger")?,
            )
        }
    };
    let photos: Arc<dyn PhotoStore> = match &locations.photos {
        PhotoStoreLocation::Sqlite => Arc::new(SqlitePhotoStore::with_db(sqlite_db(
            &mut db,
            &sqlite_path,
        )?)?),
        PhotoStoreLocation::Blob {
            account: name,
            container,
        } => {
            let container = ContainerClient::new(account(name)?, container)?;
            Arc::new(
                BlobPhotoStore::open(container)
                    .await
                    .context("opening the Blob photo store")?,
            )
        }
    };
    match &locations.queue {
        QueueLocation::Local => {
            let queue = LocalQueue::with_db(sqlite_db(&mut db, &sqlite_path)?)?;
            Ok(Backends {
                ledger,
                photos,
                sink: Arc::new(queue.clone()),
                poison: Arc::new(queue.clone()),
                local_queue: Some(queue),
                azure_queue: None,
            })
        }
        QueueLocation::Azure {
            account: name,
            queue,
        } => {
            let client = account(name)?;
            let jobs = QueueClient::new(client.clone(), queue)?;
            let poison = QueueClient::new(client, &format!("{queue}-poison"))?;
            let queue = AzureQueue::open(jobs, poison)
                .await
                .context("opening the Azure Storage queue")?;
            Ok(Backends {
                ledger,
                photos,
                sink: Arc::new(queue.clone()),
                poison: Arc::new(queue.clone()),
                local_queue: None,
                azure_queue: Some(queue),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Locations, ConfigError> {
        Locations::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults_follow_the_ledger_and_the_host() {
        let l = read(&[]).unwrap();
        assert_eq!(l.ledger, LedgerLocation::Sqlite("photo-sync.db".into()));
        assert_eq!(
            (l.photos, l.queue),
            (PhotoStoreLocation::Sqlite, QueueLocation::Local)
        );
        let l = read(&[("PHOTOSYNC_LEDGER", "table:contoso/photosync")]).unwrap();
        assert_eq!(
            l.photos,
            PhotoStoreLocation::Blob {
                account: "contoso".into(),
                container: DEFAULT_CONTAINER.into()
            }
        );
        assert_eq!(
            l.queue,
            QueueLocation::Azure {
                account: "contoso".into(),
                queue: DEFAULT_QUEUE.into()
            }
        );
        let l = read(&[("FUNCTIONS_CUSTOMHANDLER_PORT", "3000")]).unwrap();
        assert_eq!(
            l.queue,
            QueueLocation::Azure {
                account: String::new(),
                queue: DEFAULT_QUEUE.into()
            }
        );
        let l = read(&[
            ("PHOTOSYNC_LEDGER", "table:photosync"),
            ("PHOTOSYNC_QUEUE", "local"),
        ])
        .unwrap();
        assert_eq!(
            l.ledger,
            LedgerLocation::Table {
                account: String::new(),
                table: "photosync".into()
            }
        );
        assert_eq!(l.queue, QueueLocation::Local);
    }

    #[test]
    fn bad_values_name_the_key() {
        for (key, value) in [
            ("PHOTOSYNC_LEDGER", "postgres:x"),
            ("PHOTOSYNC_LEDGER", "table:acct/"),
            ("PHOTOSYNC_PHOTO_STORE", "s3:bucket"),
            ("PHOTOSYNC_QUEUE", "kafka"),
        ] {
            let e = read(&[(key, value)]).unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
        // A Table ledger with the photo store in SQLite would split state across hosts.
        let e = read(&[
            ("PHOTOSYNC_LEDGER", "table:a/b"),
            ("PHOTOSYNC_PHOTO_STORE", "sqlite"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("PHOTOSYNC_PHOTO_STORE"));
    }
}
