//! The AWS Lambda host and the SQS sink over real HTTP on loopback: the photo-sync
//! binary under a fake Lambda Runtime API, and `SqsQueue` against moto's SQS server and
//! a scripted fake SQS. Built only with `--features lambda`.

#![cfg(feature = "lambda")]
#![allow(clippy::unwrap_used)] // a test binary: a failed unwrap is a failed test

mod fake_sqs; // scripted SQS answers: retries of refused entries, 5xx, headers
mod host; // the binary under the fake Runtime API: HTTP, SQS and EventBridge events
mod moto; // moto's SQS server as a child process, and the JSON calls the tests make
mod runtime; // the fake Lambda Runtime API
mod sqs; // SqsQueue against moto: 25 jobs round trip, poison, missing queue
