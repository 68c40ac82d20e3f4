//! One SQLite file shared by the ledger, the photo store and the local queue: opening it
//! (WAL, a busy timeout), versioned migrations per component, and running blocking
//! statements off the async runtime.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::LedgerError;

/// A connection to the shared SQLite file. Cheap to clone; statements run one at a time
/// on a blocking thread (SQLite serialises writers anyway).
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

impl Db {
    /// Opens (creating it and its folder on first use) the SQLite file at `path`.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                LedgerError::Config(format!("cannot create folder {}: {e}", dir.display()))
            })?;
        }
        let conn = Connection::open(path).map_err(|e| {
            LedgerError::Config(format!("cannot open SQLite file {}: {e}", path.display()))
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(unavailable)?;
        // WAL: readers never block the writer; NORMAL is durable across process crashes
        // (only an OS crash can lose the last commits).
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(unavailable)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(unavailable)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
        )
        .map_err(unavailable)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies `migrations[i]` for every version above the component's stored one, each
    /// in its own transaction.
    pub fn migrate(&self, component: &str, migrations: &[&str]) -> Result<(), LedgerError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let current: i64 = conn
            .query_row(
                "SELECT version FROM schema_migrations WHERE component = ?1",
                [component],
                |r| r.get(0),
            )
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(0),
                other => Err(other),
            })
            .map_err(unavailable)?;
        let known = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
        if current > known {
            return Err(LedgerError::Config(format!(
                "the {component} schema in {} is version {current}, newer than this build's {known}",
                self.path.display()
            )));
        }
        for (i, sql) in migrations.iter().enumerate().skip(current as usize) {
            let tx = conn.transaction().map_err(unavailable)?;
            tx.execute_batch(sql).map_err(unavailable)?;
            tx.execute(
                "INSERT INTO schema_migrations (component, version) VALUES (?1, ?2)
                 ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                rusqlite::params![component, i as i64 + 1],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
        }
        Ok(())
    }

    /// Runs `f` with the connection on a blocking thread.
    pub async fn run<T, F>(&self, f: F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| LedgerError::Unavailable(format!("ledger task failed: {e}")))?
        .map_err(unavailable)
    }
}

/// A SQLite failure as a ledger error.
pub fn unavailable(e: rusqlite::Error) -> LedgerError {
    LedgerError::Unavailable(format!("SQLite: {e}"))
}
