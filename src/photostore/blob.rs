//! The photo store in an Azure Blob container (`PHOTOSYNC_PHOTO_STORE=blob:ACCOUNT/
//! CONTAINER`): one JSON blob per user under `photos/` and per HR event under `inbox/`,
//! names escaped by the ledger's [`row_key`] (so `/` in an id never makes a folder).
//! Private container; managed identity or a connection string, like the ledger.

use bytes::Bytes;

use super::{InboxPhoto, PhotoStore, StoreError, StoredPhoto};
use crate::ledger::row_key;
use crate::storage::blob::ContainerClient;

/// The photo store in a Blob container.
#[derive(Debug, Clone)]
pub struct BlobPhotoStore {
    container: ContainerClient,
}

fn photo_name(user_id: &str) -> String {
    format!("photos/{}.json", row_key(user_id))
}

fn inbox_name(event_id: &str) -> String {
    format!("inbox/{}.json", row_key(event_id))
}

fn decode<T: serde::de::DeserializeOwned>(
    name: &str,
    body: Option<Bytes>,
) -> Result<Option<T>, StoreError> {
    body.map(|b| {
        serde_json::from_slice(&b).map_err(|e| StoreError::Corrupt(format!("blob {name}: {e}")))
    })
    .transpose()
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Bytes, StoreError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl BlobPhotoStore {
    /// The store in `container`, which is created when missing.
    pub async fn open(container: ContainerClient) -> Result<Self, StoreError> {
        container.ensure().await?;
        Ok(Self { container })
    }
}

#[async_trait::async_trait]
impl PhotoStore for BlobPhotoStore {
    async fn photo(&self, user_id: &str) -> Result<Option<StoredPhoto>, StoreError> {
        let name = photo_name(user_id);
        decode(&name, self.container.get(&name).await?)
    }

    async fn put_photo(&self, user_id: &str, photo: &StoredPhoto) -> Result<(), StoreError> {
        self.container
            .put(
                &photo_name(user_id),
                "application/json",
                encode(photo)?,
                false,
            )
            .await?;
        Ok(())
    }

    async fn delete_photo(&self, user_id: &str) -> Result<(), StoreError> {
        Ok(self.container.delete(&photo_name(user_id)).await?)
    }

    async fn put_inbox(&self, event_id: &str, item: &InboxPhoto) -> Result<(), StoreError> {
        // Same id, same item: a second delivery leaves the first as it is.
        self.container
            .put(
                &inbox_name(event_id),
                "application/json",
                encode(item)?,
                true,
            )
            .await?;
        Ok(())
    }

    async fn inbox(&self, event_id: &str) -> Result<Option<InboxPhoto>, StoreError> {
        let name = inbox_name(event_id);
        decode(&name, self.container.get(&name).await?)
    }

    async fn delete_inbox(&self, event_id: &str) -> Result<(), StoreError> {
        Ok(self.container.delete(&inbox_name(event_id)).await?)
    }
}
