//! Blob service operations the photo store needs: create a container, put a block blob
//! (optionally only if absent), get and delete one. Blob names are escaped for the
//! path by [`blob_path`].

use bytes::Bytes;
use reqwest::Method;

use super::{Service, StorageClient, StorageError, StorageRequest};

/// One container.
#[derive(Debug, Clone)]
pub struct ContainerClient {
    client: StorageClient,
    container: String,
}

/// The path of a blob: `/{container}/{name}`, each `/`-separated segment
/// percent-encoded (a name's slashes are virtual folders).
pub fn blob_path(container: &str, name: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const SEG: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/');
    format!("/{container}/{}", utf8_percent_encode(name, SEG))
}

impl ContainerClient {
    /// The container `container` on `client`'s account.
    pub fn new(client: StorageClient, container: &str) -> Result<Self, StorageError> {
        let ok = (3..=63).contains(&container.len())
            && container
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !container.starts_with('-')
            && !container.ends_with('-')
            && !container.contains("--");
        if !ok {
            return Err(StorageError::Config(format!(
                "{container:?} is not a container name (3 to 63 lower-case letters, digits and single hyphens)"
            )));
        }
        Ok(Self {
            client,
            container: container.to_string(),
        })
    }

    /// Creates the container (private); an existing one is fine.
    pub async fn ensure(&self) -> Result<(), StorageError> {
        let req = StorageRequest::new(Service::Blob, Method::PUT, format!("/{}", self.container))
            .query("restype", "container");
        self.client
            .send_unless(&req, StorageError::is_conflict)
            .await
            .map(drop)
    }

    /// Writes a block blob. With `only_if_absent`, an existing blob is left as it is and
    /// `false` comes back.
    pub async fn put(
        &self,
        name: &str,
        content_type: &str,
        body: Bytes,
        only_if_absent: bool,
    ) -> Result<bool, StorageError> {
        let mut req =
            StorageRequest::new(Service::Blob, Method::PUT, blob_path(&self.container, name))
                .header("x-ms-blob-type", "BlockBlob")
                .body(content_type, body);
        if only_if_absent {
            req = req.header("If-None-Match", "*");
        }
        match self.client.send(&req).await {
            Ok(_) => Ok(true),
            Err(e) if only_if_absent && (e.is_conflict() || e.is_precondition_failed()) => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Reads a blob, `None` when it does not exist.
    pub async fn get(&self, name: &str) -> Result<Option<Bytes>, StorageError> {
        let req = StorageRequest::new(Service::Blob, Method::GET, blob_path(&self.container, name));
        match self.client.send(&req).await {
            Ok(resp) => Ok(Some(resp.body)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes a blob; a missing one is fine.
    pub async fn delete(&self, name: &str) -> Result<(), StorageError> {
        let req = StorageRequest::new(
            Service::Blob,
            Method::DELETE,
            blob_path(&self.container, name),
        );
        self.client
            .send_unless(&req, StorageError::is_not_found)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_names_keep_folders_and_encode_the_rest() {
        assert_eq!(blob_path("c", "photos/ab-1.json"), "/c/photos/ab-1.json");
        assert_eq!(
            blob_path("c", "inbox/a b#?%.json"),
            "/c/inbox/a%20b%23%3F%25.json"
        );
    }
}
