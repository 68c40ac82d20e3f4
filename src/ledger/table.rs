//! The Azure Table ledger (`PHOTOSYNC_LEDGER=table:ACCOUNT/TABLE`): the same records as
//! the SQLite ledger, in one table, so any number of Functions instances share it.
//!
//! Layout (one entity per record, every write one request):
//! - users: PartitionKey `u` + the first character of the row key, RowKey the user id;
//!   properties `upn`, `source` and `failure` (JSON, empty when none) and `t_<target>`
//!   per target (JSON, empty once cleared). Because the partition key is a prefix of the
//!   row key, the service's (PartitionKey, RowKey) order is the id order, so the
//!   roster pages in id order while writes spread over many partitions.
//! - cursors: PartitionKey `c`; subscriptions: `s`; dedupe claims: `d` + first character.
//!
//! Keys escape `%`, `/`, `\`, `#`, `?` and control characters (which the service
//! refuses in keys) as `%XX`, by [`row_key`] alone.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{
    FailureRecord, Ledger, LedgerError, SourceRecord, SubscriptionRecord, TargetRecord, UserState,
};
use crate::storage::table::{odata_literal, BatchOp, Entity, TableClient, BATCH_LIMIT};
use crate::storage::StorageError;

/// How many batches of `note_users` run at once.
const BATCH_CONCURRENCY: usize = 8;

/// The ledger in an Azure Table.
#[derive(Debug, Clone)]
pub struct TableLedger {
    table: TableClient,
}

/// The row key for an id: the id with the characters Table keys refuse (and `%`)
/// written as `%XX` of their UTF-8 bytes.
pub fn row_key(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for c in id.chars() {
        let refused = matches!(c, '%' | '/' | '\\' | '#' | '?') || c.is_control();
        if refused {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The id a row key stands for.
pub fn id_of(rk: &str) -> String {
    percent_encoding::percent_decode_str(rk)
        .decode_utf8_lossy()
        .into_owned()
}

fn shard(prefix: &str, rk: &str) -> String {
    let mut pk = prefix.to_string();
    if let Some(c) = rk.chars().next() {
        pk.push(c);
    }
    pk
}

/// A number as a fixed-width string, so string order is number order in filters.
fn padded(n: i64) -> String {
    format!("{:020}", n.max(0))
}

fn target_prop(target: &str) -> Result<String, LedgerError> {
    if target.is_empty() || !target.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(LedgerError::Config(format!(
            "target name {target:?} cannot be a Table property (letters and digits only)"
        )));
    }
    Ok(format!("t_{target}"))
}

fn text_or_empty<T: serde::Serialize>(value: Option<&T>) -> Value {
    Value::String(
        value
            .map(|v| serde_json::to_string(v).unwrap_or_default())
            .unwrap_or_default(),
    )
}

fn parse_json<T: serde::de::DeserializeOwned>(
    entity: &Entity,
    prop: &str,
) -> Result<Option<T>, LedgerError> {
    match entity.str(prop) {
        None | Some("") => Ok(None),
        Some(text) => serde_json::from_str(text)
            .map(Some)
            .map_err(|e| LedgerError::Corrupt(format!("{prop} of {}: {e}", entity.row_key()))),
    }
}

fn user_state(entity: &Entity) -> Result<UserState, LedgerError> {
    let mut targets = BTreeMap::new();
    for (name, value) in &entity.props {
        let Some(target) = name.strip_prefix("t_") else {
            continue;
        };
        match value.as_str() {
            None | Some("") => {}
            Some(text) => {
                let record: TargetRecord = serde_json::from_str(text).map_err(|e| {
                    LedgerError::Corrupt(format!("{name} of {}: {e}", entity.row_key()))
                })?;
                targets.insert(target.to_string(), record);
            }
        }
    }
    Ok(UserState {
        upn: entity
            .str("upn")
            .filter(|u| !u.is_empty())
            .map(str::to_string),
        source: parse_json(entity, "source")?,
        targets,
        failure: parse_json(entity, "failure")?,
    })
}

fn props(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

impl TableLedger {
    /// The ledger in `table`, which is created when missing.
    pub async fn open(table: TableClient) -> Result<Self, LedgerError> {
        table.ensure().await?;
        Ok(Self { table })
    }

    async fn merge_user(
        &self,
        user_id: &str,
        fields: Map<String, Value>,
    ) -> Result<(), LedgerError> {
        let rk = row_key(user_id);
        Ok(self.table.merge(&shard("u", &rk), &rk, fields).await?)
    }
}

#[async_trait::async_trait]
impl Ledger for TableLedger {
    async fn user(&self, user_id: &str) -> Result<Option<UserState>, LedgerError> {
        let rk = row_key(user_id);
        match self.table.get(&shard("u", &rk), &rk).await? {
            Some(entity) => Ok(Some(user_state(&entity)?)),
            None => Ok(None),
        }
    }

    async fn note_users(&self, users: &[(String, Option<String>)]) -> Result<(), LedgerError> {
        // One operation per entity per batch (a service rule): the last word per id wins,
        // and a known UPN is never replaced by "unknown".
        let mut by_partition: BTreeMap<String, BTreeMap<String, Option<String>>> = BTreeMap::new();
        for (id, upn) in users {
            let rk = row_key(id);
            let slot = by_partition
                .entry(shard("u", &rk))
                .or_default()
                .entry(rk)
                .or_default();
            if upn.is_some() {
                slot.clone_from(upn);
            }
        }
        let mut batches = Vec::new();
        for (pk, rows) in by_partition {
            let ops: Vec<BatchOp> = rows
                .into_iter()
                .map(|(rk, upn)| {
                    let fields = upn
                        .map(|u| props(vec![("upn", Value::String(u))]))
                        .unwrap_or_default();
                    BatchOp::Merge(rk, fields)
                })
                .collect();
            for chunk in ops.chunks(BATCH_LIMIT) {
                batches.push((pk.clone(), chunk.to_vec()));
            }
        }
        use futures::StreamExt as _;
        let table = self.table.clone();
        let results: Vec<Result<(), StorageError>> = futures::stream::iter(batches)
            .map(move |(pk, ops)| {
                let table = table.clone();
                async move { table.batch(&pk, &ops).await }
            })
            .buffer_unordered(BATCH_CONCURRENCY)
            .collect()
            .await;
        results
            .into_iter()
            .collect::<Result<(), _>>()
            .map_err(Into::into)
    }

    async fn put_source(
        &self,
        user_id: &str,
        upn: Option<&str>,
        source: &SourceRecord,
    ) -> Result<(), LedgerError> {
        let mut fields = props(vec![("source", text_or_empty(Some(source)))]);
        if let Some(upn) = upn {
            fields.insert("upn".into(), Value::String(upn.into()));
        }
        self.merge_user(user_id, fields).await
    }

    async fn put_target(
        &self,
        user_id: &str,
        target: &str,
        record: &TargetRecord,
    ) -> Result<(), LedgerError> {
        let prop = target_prop(target)?;
        self.merge_user(user_id, props(vec![(&prop, text_or_empty(Some(record)))]))
            .await
    }

    async fn clear_target(&self, user_id: &str, target: &str) -> Result<(), LedgerError> {
        let prop = target_prop(target)?;
        let rk = row_key(user_id);
        // Only an existing user: clearing must not create one.
        match self.table.get(&shard("u", &rk), &rk).await? {
            None => Ok(()),
            Some(_) => {
                self.merge_user(user_id, props(vec![(&prop, Value::String(String::new()))]))
                    .await
            }
        }
    }

    async fn put_failure(
        &self,
        user_id: &str,
        failure: Option<&FailureRecord>,
    ) -> Result<(), LedgerError> {
        self.merge_user(user_id, props(vec![("failure", text_or_empty(failure))]))
            .await
    }

    async fn forget_user(&self, user_id: &str) -> Result<(), LedgerError> {
        let rk = row_key(user_id);
        self.table.delete(&shard("u", &rk), &rk, None).await?;
        Ok(())
    }

    async fn users(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, UserState)>, LedgerError> {
        let filter = match after {
            Some(after) => {
                let rk = row_key(after);
                format!(
                    "PartitionKey ge {} and PartitionKey lt 'v' and RowKey gt {}",
                    odata_literal(&shard("u", &rk)),
                    odata_literal(&rk)
                )
            }
            None => "PartitionKey ge 'u' and PartitionKey lt 'v'".to_string(),
        };
        let rows = self.table.query(&filter, limit).await?;
        rows.iter()
            .map(|e| Ok((id_of(e.row_key()), user_state(e)?)))
            .collect()
    }

    async fn cursor(&self, name: &str) -> Result<Option<String>, LedgerError> {
        Ok(self
            .table
            .get("c", &row_key(name))
            .await?
            .and_then(|e| e.str("value").map(str::to_string)))
    }

    async fn set_cursor(&self, name: &str, value: Option<&str>) -> Result<(), LedgerError> {
        let rk = row_key(name);
        match value {
            Some(v) => {
                self.table
                    .put(
                        "c",
                        &rk,
                        props(vec![("value", Value::String(v.into()))]),
                        None,
                    )
                    .await?
            }
            None => drop(self.table.delete("c", &rk, None).await?),
        }
        Ok(())
    }

    async fn subscriptions(&self) -> Result<Vec<SubscriptionRecord>, LedgerError> {
        let rows = self.table.query("PartitionKey eq 's'", usize::MAX).await?;
        rows.iter()
            .map(|e| {
                let field = |name: &str| {
                    e.str(name).map(str::to_string).ok_or_else(|| {
                        LedgerError::Corrupt(format!("subscription {} has no {name}", e.row_key()))
                    })
                };
                Ok(SubscriptionRecord {
                    id: id_of(e.row_key()),
                    resource: field("resource")?,
                    notification_url: field("notification_url")?,
                    expires_at: field("expires_at")?.parse().map_err(|_| {
                        LedgerError::Corrupt(format!("subscription {} expiry", e.row_key()))
                    })?,
                })
            })
            .collect()
    }

    async fn put_subscription(&self, sub: &SubscriptionRecord) -> Result<(), LedgerError> {
        let fields = props(vec![
            ("resource", json!(sub.resource)),
            ("notification_url", json!(sub.notification_url)),
            ("expires_at", json!(padded(sub.expires_at))),
        ]);
        Ok(self.table.put("s", &row_key(&sub.id), fields, None).await?)
    }

    async fn delete_subscription(&self, id: &str) -> Result<(), LedgerError> {
        self.table.delete("s", &row_key(id), None).await?;
        Ok(())
    }

    async fn claim(&self, key: &str, now: i64, expires_at: i64) -> Result<bool, LedgerError> {
        let rk = row_key(key);
        let pk = shard("d", &rk);
        // A nonce tells our own insert, landed but retried after a lost answer, from
        // somebody else's claim.
        let nonce = format!("{:016x}", crate::rest::Jitter::new().sample().to_bits());
        let fields = || {
            props(vec![
                ("expires_at", json!(padded(expires_at))),
                ("nonce", json!(nonce)),
            ])
        };
        for _ in 0..3 {
            match self.table.insert(&pk, &rk, fields()).await {
                Ok(()) => return Ok(true),
                Err(e) if e.is_conflict() => {}
                Err(e) => return Err(e.into()),
            }
            let Some(existing) = self.table.get(&pk, &rk).await? else {
                continue; // released meanwhile: try the insert again
            };
            if existing.str("nonce") == Some(nonce.as_str()) {
                return Ok(true);
            }
            let held_until: i64 = existing
                .str("expires_at")
                .and_then(|v| v.parse().ok())
                .unwrap_or(i64::MAX);
            if held_until > now {
                return Ok(false);
            }
            return match self
                .table
                .put(&pk, &rk, fields(), Some(&existing.etag))
                .await
            {
                Ok(()) => Ok(true),
                Err(e) if e.is_precondition_failed() || e.is_not_found() => Ok(false),
                Err(e) => Err(e.into()),
            };
        }
        Err(LedgerError::Unavailable(format!(
            "dedupe key {key:?} kept changing under us"
        )))
    }

    async fn release(&self, key: &str) -> Result<(), LedgerError> {
        let rk = row_key(key);
        self.table.delete(&shard("d", &rk), &rk, None).await?;
        Ok(())
    }

    async fn purge_expired(&self, now: i64) -> Result<u64, LedgerError> {
        let filter = format!(
            "PartitionKey ge 'd' and PartitionKey lt 'e' and expires_at le {}",
            odata_literal(&padded(now))
        );
        let rows = self.table.query(&filter, usize::MAX).await?;
        let mut by_partition: BTreeMap<String, Vec<BatchOp>> = BTreeMap::new();
        for e in &rows {
            let pk = e.str("PartitionKey").unwrap_or_default().to_string();
            by_partition
                .entry(pk)
                .or_default()
                .push(BatchOp::Delete(e.row_key().to_string()));
        }
        let mut purged = 0u64;
        for (pk, ops) in by_partition {
            for chunk in ops.chunks(BATCH_LIMIT) {
                match self.table.batch(&pk, chunk).await {
                    Ok(()) => purged += chunk.len() as u64,
                    // One row went meanwhile (released): delete the rest one by one.
                    Err(e) if e.is_not_found() => {
                        for op in chunk {
                            if let BatchOp::Delete(rk) = op {
                                if self.table.delete(&pk, rk, None).await? {
                                    purged += 1;
                                }
                            }
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_keys_escape_what_tables_refuse_and_round_trip() {
        for id in ["0a1b-2c", "a/b\\c#d?e%f", "tab\there", "émile", ""] {
            let rk = row_key(id);
            assert!(
                !rk.contains(['/', '\\', '#', '?']) && !rk.chars().any(char::is_control),
                "{rk}"
            );
            assert_eq!(id_of(&rk), id);
        }
        assert_eq!(row_key("a/b"), "a%2Fb");
    }

    #[test]
    fn partition_is_a_prefix_so_key_order_is_id_order() {
        let mut ids = vec!["b2", "a9", "a10", "ff", "0z", "b"];
        let mut keyed: Vec<(String, String)> = ids
            .iter()
            .map(|i| (shard("u", &row_key(i)), row_key(i)))
            .collect();
        keyed.sort();
        ids.sort();
        let back: Vec<String> = keyed.into_iter().map(|(_, rk)| id_of(&rk)).collect();
        assert_eq!(back, ids);
        assert!(padded(9) < padded(10));
    }
}
