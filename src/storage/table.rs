//! Table service operations the ledger needs: create a table, read, insert, replace
//! (optionally only if unchanged), merge, delete one entity, query a key range with
//! continuation, and entity group transactions of up to 100 operations on one
//! partition. Entities are JSON objects (`odata=nometadata`); keys are escaped by
//! [`key_path`] and [`odata_literal`], one function each.

use bytes::Bytes;
use reqwest::Method;
use serde_json::{Map, Value};

use super::{Service, StorageClient, StorageError, StorageRequest};

/// Most operations in one entity group transaction (Table service limit).
pub const BATCH_LIMIT: usize = 100;

const JSON: &str = "application/json";
const NO_METADATA: &str = "application/json;odata=nometadata";

/// An entity as read: its properties (keys included) and its ETag.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// Every property, `PartitionKey` and `RowKey` included (`Timestamp` too).
    pub props: Map<String, Value>,
    /// The ETag for `If-Match`.
    pub etag: String,
}

impl Entity {
    /// A string property.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.props.get(name).and_then(Value::as_str)
    }

    /// The row key.
    pub fn row_key(&self) -> &str {
        self.str("RowKey").unwrap_or_default()
    }
}

/// One write inside an entity group transaction.
#[derive(Debug, Clone)]
pub enum BatchOp {
    /// Insert or merge these properties.
    Merge(String, Map<String, Value>),
    /// Delete the row, whatever its ETag (a missing row fails the whole batch).
    Delete(String),
}

/// One table.
#[derive(Debug, Clone)]
pub struct TableClient {
    client: StorageClient,
    table: String,
}

/// An OData string literal: quoted, single quotes doubled.
pub fn odata_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The resource path of one entity: `/{table}(PartitionKey='…',RowKey='…')`, each key
/// an OData literal, percent-encoded for the path.
pub fn key_path(table: &str, pk: &str, rk: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    // Unreserved characters and the quote stay; everything else is encoded.
    const KEY: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'\'');
    let enc = |v: &str| utf8_percent_encode(&odata_literal(v), KEY).to_string();
    format!("/{table}(PartitionKey={},RowKey={})", enc(pk), enc(rk))
}

impl TableClient {
    /// The table `table` on `client`'s account.
    pub fn new(client: StorageClient, table: &str) -> Result<Self, StorageError> {
        let ok = (3..=63).contains(&table.len())
            && table.starts_with(|c: char| c.is_ascii_alphabetic())
            && table.chars().all(|c| c.is_ascii_alphanumeric());
        if !ok {
            return Err(StorageError::Config(format!(
                "{table:?} is not a table name (3 to 63 letters and digits, starting with a letter)"
            )));
        }
        Ok(Self {
            client,
            table: table.to_string(),
        })
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.table
    }

    /// Creates the table; an existing one is fine.
    pub async fn ensure(&self) -> Result<(), StorageError> {
        let body = serde_json::json!({ "TableName": self.table }).to_string();
        let req = StorageRequest::new(Service::Table, Method::POST, "/Tables")
            .header("Accept", NO_METADATA)
            .header("Prefer", "return-no-content")
            .body(JSON, body);
        self.client
            .send_unless(&req, StorageError::is_conflict)
            .await
            .map(drop)
    }

    /// One entity, `None` when it does not exist.
    pub async fn get(&self, pk: &str, rk: &str) -> Result<Option<Entity>, StorageError> {
        let req = StorageRequest::new(Service::Table, Method::GET, key_path(&self.table, pk, rk))
            .header("Accept", NO_METADATA);
        match self.client.send(&req).await {
            Ok(resp) => {
                let etag = resp.header("etag").unwrap_or_default().to_string();
                let props = parse_object(&resp.body)?;
                Ok(Some(Entity { props, etag }))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Inserts a new entity; a 409 (`EntityAlreadyExists`) error when the key is taken.
    pub async fn insert(
        &self,
        pk: &str,
        rk: &str,
        props: Map<String, Value>,
    ) -> Result<(), StorageError> {
        let body = with_keys(pk, rk, props);
        let req = StorageRequest::new(Service::Table, Method::POST, format!("/{}", self.table))
            .header("Accept", NO_METADATA)
            .header("Prefer", "return-no-content")
            .body(JSON, body);
        self.client.send(&req).await.map(drop)
    }

    /// Replaces (or inserts) an entity. With `if_match`, only if its ETag still is that
    /// (a 412 error otherwise).
    pub async fn put(
        &self,
        pk: &str,
        rk: &str,
        props: Map<String, Value>,
        if_match: Option<&str>,
    ) -> Result<(), StorageError> {
        let mut req =
            StorageRequest::new(Service::Table, Method::PUT, key_path(&self.table, pk, rk))
                .header("Accept", NO_METADATA)
                .body(JSON, with_keys(pk, rk, props));
        if let Some(etag) = if_match {
            req = req.header("If-Match", etag);
        }
        self.client.send(&req).await.map(drop)
    }

    /// Inserts, or merges these properties into, an entity (others are kept).
    pub async fn merge(
        &self,
        pk: &str,
        rk: &str,
        props: Map<String, Value>,
    ) -> Result<(), StorageError> {
        let method =
            Method::from_bytes(b"MERGE").map_err(|e| StorageError::Config(e.to_string()))?;
        let req = StorageRequest::new(Service::Table, method, key_path(&self.table, pk, rk))
            .header("Accept", NO_METADATA)
            .body(JSON, with_keys(pk, rk, props));
        self.client.send(&req).await.map(drop)
    }

    /// Deletes an entity; a missing one is fine. With `if_match`, only that version.
    pub async fn delete(
        &self,
        pk: &str,
        rk: &str,
        if_match: Option<&str>,
    ) -> Result<bool, StorageError> {
        let req = StorageRequest::new(
            Service::Table,
            Method::DELETE,
            key_path(&self.table, pk, rk),
        )
        .header("Accept", NO_METADATA)
        .header("If-Match", if_match.unwrap_or("*"));
        self.client
            .send_unless(&req, StorageError::is_not_found)
            .await
            .map(|r| r.is_some())
    }

    /// Entities matching `filter` (an OData filter built with [`odata_literal`]), in key
    /// order, at most `limit`, following continuation tokens.
    pub async fn query(&self, filter: &str, limit: usize) -> Result<Vec<Entity>, StorageError> {
        let mut out = Vec::new();
        let mut next: Option<(String, String)> = None;
        loop {
            let want = limit.saturating_sub(out.len()).min(1000);
            if want == 0 {
                return Ok(out);
            }
            let mut req =
                StorageRequest::new(Service::Table, Method::GET, format!("/{}()", self.table))
                    .header("Accept", NO_METADATA)
                    .query("$filter", filter)
                    .query("$top", want.to_string());
            if let Some((npk, nrk)) = &next {
                req = req.query("NextPartitionKey", npk.clone());
                if !nrk.is_empty() {
                    req = req.query("NextRowKey", nrk.clone());
                }
            }
            let resp = self.client.send(&req).await?;
            let page = parse_object(&resp.body)?;
            let rows = page
                .get("value")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("a query answer without \"value\""))?;
            for row in rows {
                let props = row
                    .as_object()
                    .cloned()
                    .ok_or_else(|| bad("a query row that is not an object"))?;
                let etag = props
                    .get("odata.etag")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                out.push(Entity { props, etag });
            }
            next = resp.header("x-ms-continuation-nextpartitionkey").map(|pk| {
                (
                    pk.to_string(),
                    resp.header("x-ms-continuation-nextrowkey")
                        .unwrap_or_default()
                        .to_string(),
                )
            });
            if next.is_none() {
                return Ok(out);
            }
        }
    }

    /// Runs up to [`BATCH_LIMIT`] operations on one partition as one entity group
    /// transaction: all succeed or none.
    pub async fn batch(&self, pk: &str, ops: &[BatchOp]) -> Result<(), StorageError> {
        if ops.is_empty() {
            return Ok(());
        }
        if ops.len() > BATCH_LIMIT {
            return Err(StorageError::Config(format!(
                "{} operations in one batch (at most {BATCH_LIMIT})",
                ops.len()
            )));
        }
        let batch = format!("batch_{}", boundary_id(pk, ops.len()));
        let changeset = format!("changeset_{}", boundary_id(&batch, 1));
        let base = self.client.account().endpoint(Service::Table).to_string();
        let mut body =
            format!("--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n");
        for (i, op) in ops.iter().enumerate() {
            body.push_str(&format!(
                "--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            ));
            match op {
                BatchOp::Merge(rk, props) => {
                    let json = with_keys(pk, rk, props.clone());
                    body.push_str(&format!(
                        "MERGE {base}{} HTTP/1.1\r\nContent-Type: application/json\r\nAccept: {NO_METADATA}\r\nContent-ID: {}\r\nDataServiceVersion: 3.0;\r\n\r\n{json}\r\n",
                        key_path(&self.table, pk, rk),
                        i + 1
                    ));
                }
                BatchOp::Delete(rk) => body.push_str(&format!(
                    "DELETE {base}{} HTTP/1.1\r\nAccept: {NO_METADATA}\r\nIf-Match: *\r\nContent-ID: {}\r\nDataServiceVersion: 3.0;\r\n\r\n",
                    key_path(&self.table, pk, rk),
                    i + 1
                )),
            }
        }
        body.push_str(&format!("--{changeset}--\r\n--{batch}--\r\n"));
        let req = StorageRequest::new(Service::Table, Method::POST, "/$batch")
            .header("DataServiceVersion", "3.0;")
            .header("MaxDataServiceVersion", "3.0;NetFx")
            .header("Accept", NO_METADATA)
            .body(
                &format!("multipart/mixed; boundary={batch}"),
                Bytes::from(body),
            );
        let resp = self.client.send(&req).await?;
        check_batch_answer(&resp.body)
    }
}

/// A batch answers 202 as a whole; each operation's own status line is inside. The
/// first failing one (the service stops there) becomes the error.
fn check_batch_answer(body: &[u8]) -> Result<(), StorageError> {
    let text = String::from_utf8_lossy(body);
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("HTTP/1.1 ") else {
            continue;
        };
        let status: u16 = rest.get(..3).and_then(|s| s.parse().ok()).unwrap_or(0);
        if !(200..300).contains(&status) {
            let after = &text[text.find(line).unwrap_or(0)..];
            let json_start = after.find('{').unwrap_or(after.len());
            let json: Option<Value> = after[json_start..]
                .lines()
                .next()
                .and_then(|l| serde_json::from_str(l).ok());
            let err = json.as_ref().and_then(|j| j.get("odata.error"));
            return Err(StorageError::Service {
                service: "table",
                status,
                code: err
                    .and_then(|e| e["code"].as_str())
                    .unwrap_or_default()
                    .to_string(),
                message: err
                    .and_then(|e| e["message"]["value"].as_str().or(e["message"].as_str()))
                    .unwrap_or("a batch operation failed")
                    .to_string(),
            });
        }
    }
    Ok(())
}

fn boundary_id(seed: &str, n: usize) -> String {
    use sha2::Digest as _;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let digest = sha2::Sha256::digest(format!("{seed}/{n}/{now}").as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

fn with_keys(pk: &str, rk: &str, mut props: Map<String, Value>) -> String {
    props.insert("PartitionKey".into(), Value::String(pk.into()));
    props.insert("RowKey".into(), Value::String(rk.into()));
    Value::Object(props).to_string()
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, StorageError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad("an answer that is not a JSON object")),
        Err(e) => Err(bad(&format!("an answer that is not JSON: {e}"))),
    }
}

fn bad(detail: &str) -> StorageError {
    StorageError::BadAnswer {
        service: "table",
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_literals_then_percent_encoded() {
        assert_eq!(
            key_path("t", "u0", "0a-b"),
            "/t(PartitionKey='u0',RowKey='0a-b')"
        );
        assert_eq!(
            key_path("t", "d", "o'brien x"),
            "/t(PartitionKey='d',RowKey='o''brien%20x')"
        );
        assert_eq!(
            key_path("t", "d", "é"),
            "/t(PartitionKey='d',RowKey='%C3%A9')"
        );
        assert_eq!(odata_literal("a'b"), "'a''b'");
    }

    #[test]
    fn batch_answer_failure_is_found() {
        let ok = "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_1\r\n\r\n--changesetresponse_1\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n--changesetresponse_1--\r\n--batchresponse_1--";
        assert!(check_batch_answer(ok.as_bytes()).is_ok());
        let bad = "--b\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n{\"odata.error\":{\"code\":\"ResourceNotFound\",\"message\":{\"lang\":\"en-US\",\"value\":\"1:The specified resource does not exist.\"}}}\r\n--b--";
        let e = check_batch_answer(bad.as_bytes()).unwrap_err();
        assert!(e.is_not_found(), "{e}");
        assert_eq!(e.code(), Some("ResourceNotFound"));
    }
}
