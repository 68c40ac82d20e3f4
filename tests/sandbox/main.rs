//! Integration tests of the sandbox tenant, all over real HTTP on 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod batch; // $batch limits, out-of-order answers, dependsOn → 424, per-item 429
mod certificates; // RS256 client assertions, AADSTS codes, appidacr 2
mod delta; // /users/delta rounds, @removed, 410 and expiry
mod helpers; // start a sandbox, get tokens, small request helpers, a webhook receiver
mod hr; // HR photos with drift, Standard-Webhooks-signed events
mod photos; // photo round trip, sizes, both no-photo shapes, 413/400/415
mod seed; // determinism and the 100k tenant
mod sharepoint; // photo folder, uploads, profile properties, app-only token rules
mod subscriptions; // handshake, rules, notification shape, retries, lifecycle
mod throttle; // resource units, Outlook concurrency, faults
mod tokens; // both token endpoints, 401/403 on Graph
mod users; // paging, $select, $filter with quotes and #EXT#
