//! Queue service operations: create a queue, put a message (base64 text, the Functions
//! host's default `messageEncoding`, m365-facts B§4.2), peek at the first messages
//! (for the report), and receive/delete (for tests and tools that drain a queue).

use base64::Engine as _;
use reqwest::Method;

use super::{xml_all, xml_escape, Service, StorageClient, StorageError, StorageRequest};

/// Longest message text the service takes (64 KiB, after base64).
pub const MESSAGE_LIMIT: usize = 64 * 1024;

/// One queue.
#[derive(Debug, Clone)]
pub struct QueueClient {
    client: StorageClient,
    queue: String,
}

/// A message as peeked or received, its text base64-decoded when it was base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// The service's id.
    pub id: String,
    /// The message text, decoded.
    pub text: String,
    /// How often it was received.
    pub dequeue_count: u32,
    /// When it was put (RFC 1123, as the service says it).
    pub inserted: String,
    /// The receipt to delete it with (receive only).
    pub pop_receipt: Option<String>,
}

impl QueueClient {
    /// The queue `queue` on `client`'s account.
    pub fn new(client: StorageClient, queue: &str) -> Result<Self, StorageError> {
        let ok = (3..=63).contains(&queue.len())
            && queue
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && queue.starts_with(|c: char| c.is_ascii_alphanumeric())
            && !queue.ends_with('-')
            && !queue.contains("--");
        if !ok {
            return Err(StorageError::Config(format!(
                "{queue:?} is not a queue name (3 to 63 lower-case letters, digits and single hyphens)"
            )));
        }
        Ok(Self {
            client,
            queue: queue.to_string(),
        })
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.queue
    }

    /// Creates the queue; an existing one is fine.
    pub async fn ensure(&self) -> Result<(), StorageError> {
        let req = StorageRequest::new(Service::Queue, Method::PUT, format!("/{}", self.queue));
        self.client
            .send_unless(&req, StorageError::is_conflict)
            .await
            .map(drop)
    }

    /// Puts one message, base64-encoded.
    pub async fn put(&self, text: &str) -> Result<(), StorageError> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        if encoded.len() > MESSAGE_LIMIT {
            return Err(StorageError::Config(format!(
                "a queue message of {} bytes after base64 is over the service's {MESSAGE_LIMIT}",
                encoded.len()
            )));
        }
        let body = format!(
            "<QueueMessage><MessageText>{}</MessageText></QueueMessage>",
            xml_escape(&encoded)
        );
        let req = StorageRequest::new(
            Service::Queue,
            Method::POST,
            format!("/{}/messages", self.queue),
        )
        .body("application/xml", body);
        self.client.send(&req).await.map(drop)
    }

    /// Up to 32 messages from the front, without taking them.
    pub async fn peek(&self, max: u32) -> Result<Vec<QueueMessage>, StorageError> {
        let req = StorageRequest::new(
            Service::Queue,
            Method::GET,
            format!("/{}/messages", self.queue),
        )
        .query("peekonly", "true")
        .query("numofmessages", max.clamp(1, 32).to_string());
        let resp = self.client.send(&req).await?;
        Ok(parse_messages(&String::from_utf8_lossy(&resp.body)))
    }

    /// Receives up to 32 messages, hidden for `visibility_secs`.
    pub async fn receive(
        &self,
        max: u32,
        visibility_secs: u32,
    ) -> Result<Vec<QueueMessage>, StorageError> {
        let req = StorageRequest::new(
            Service::Queue,
            Method::GET,
            format!("/{}/messages", self.queue),
        )
        .query("numofmessages", max.clamp(1, 32).to_string())
        .query("visibilitytimeout", visibility_secs.max(1).to_string());
        let resp = self.client.send(&req).await?;
        Ok(parse_messages(&String::from_utf8_lossy(&resp.body)))
    }

    /// Deletes a received message.
    pub async fn delete(&self, id: &str, pop_receipt: &str) -> Result<(), StorageError> {
        let req = StorageRequest::new(
            Service::Queue,
            Method::DELETE,
            format!("/{}/messages/{id}", self.queue),
        )
        .query("popreceipt", pop_receipt);
        self.client
            .send_unless(&req, StorageError::is_not_found)
            .await
            .map(drop)
    }
}

/// Reads `<QueueMessagesList>`; a text that is not base64 is kept as it is (a message
/// put with `messageEncoding: none`).
fn parse_messages(xml: &str) -> Vec<QueueMessage> {
    xml_all(xml, "QueueMessage")
        .into_iter()
        .map(|m| {
            let raw = super::xml_text(&m, "MessageText").unwrap_or_default();
            let text = base64::engine::general_purpose::STANDARD
                .decode(raw.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or(raw);
            QueueMessage {
                id: super::xml_text(&m, "MessageId").unwrap_or_default(),
                text,
                dequeue_count: super::xml_text(&m, "DequeueCount")
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(0),
                inserted: super::xml_text(&m, "InsertionTime").unwrap_or_default(),
                pop_receipt: super::xml_text(&m, "PopReceipt"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_read_and_decoded() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessagesList><QueueMessage><MessageId>m1</MessageId><InsertionTime>Mon, 01 Jan 2024 00:00:00 GMT</InsertionTime><DequeueCount>5</DequeueCount><MessageText>eyJ2IjoxfQ==</MessageText></QueueMessage><QueueMessage><MessageId>m2</MessageId><DequeueCount>0</DequeueCount><MessageText>plain &amp; text</MessageText></QueueMessage></QueueMessagesList>";
        let got = parse_messages(xml);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].text, "{\"v\":1}");
        assert_eq!(got[0].dequeue_count, 5);
        assert_eq!(got[1].text, "plain & text");
    }
}
