//! Integration tests of the sandbox tenant, all over real HTTP on 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod batch; // $batch limits, out-of-order answers, dependsOn → 424, per-item 429
mod delta; // /users/delta rounds, @removed, 410 and expiry
mod helpers; // start a sandbox, get tokens, small request helpers
mod photos; // photo round trip, sizes, both no-photo shapes, 413/400/415
mod seed; // determinism and the 100k tenant
mod throttle; // resource units, Outlook concurrency, faults
mod tokens; // both token endpoints, 401/403 on Graph
mod users; // paging, $select, $filter with quotes and #EXT#
