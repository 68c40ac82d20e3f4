//! moto's server (PyPI `moto[server]`) on 127.0.0.1 as a child process, killed on drop;
//! installed with pip when missing (never skipped). The helpers speak SQS's JSON
//! protocol; moto does not check signatures, only reads the region from the scope.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A running moto server.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    http: reqwest::Client,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_importable() -> bool {
    Command::new("python3")
        .args(["-c", "import moto.server, flask, flask_cors"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ensure_installed() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if moto_importable() {
            return;
        }
        let status = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "moto[server]"])
            .status();
        assert!(
            status.is_ok_and(|s| s.success()) && moto_importable(),
            "moto's server is needed for these tests and could not be installed: \
             run `python3 -m pip install 'moto[server]'`"
        );
    });
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    /// Starts moto and waits (at most 60 s) until it answers.
    pub async fn start() -> Self {
        ensure_installed();
        let port = free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto's server");
        let moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        };
        let started = Instant::now();
        loop {
            if moto.http.get(&moto.endpoint).send().await.is_ok() {
                return moto;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto's server did not answer on {} within 60 s",
                moto.endpoint
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One SQS JSON-protocol call; the answer's JSON, or the error's.
    pub async fn call(&self, action: &str, body: Value) -> Result<Value, Value> {
        let resp = self
            .http
            .post(format!("{}/", self.endpoint))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AmazonSQS.{action}"))
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sqs/aws4_request, \
                 SignedHeaders=host, Signature=00",
            )
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let ok = resp.status().is_success();
        let v: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null);
        if ok {
            Ok(v)
        } else {
            Err(v)
        }
    }

    /// Creates a queue; its URL.
    pub async fn create_queue(&self, name: &str) -> String {
        let v = self
            .call("CreateQueue", json!({"QueueName": name}))
            .await
            .unwrap();
        v["QueueUrl"].as_str().unwrap().to_string()
    }

    /// Receives (and deletes) every message on `url`: their bodies.
    pub async fn drain(&self, url: &str) -> Vec<String> {
        let mut bodies = Vec::new();
        let mut empty = 0;
        while empty < 2 {
            let v = self
                .call(
                    "ReceiveMessage",
                    json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 60, "WaitTimeSeconds": 0}),
                )
                .await
                .unwrap();
            let msgs = v["Messages"].as_array().cloned().unwrap_or_default();
            if msgs.is_empty() {
                empty += 1;
                continue;
            }
            for m in msgs {
                bodies.push(m["Body"].as_str().unwrap().to_string());
                self.call(
                    "DeleteMessage",
                    json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]}),
                )
                .await
                .unwrap();
            }
        }
        bodies
    }
}
