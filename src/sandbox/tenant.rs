//! The tenant's state (users, photos, the change log behind delta) and [`Tenant`], the
//! cheap handle tests and the demo use to inspect and change it "as an admin would
//! elsewhere". Every mutation goes through here so delta and change notifications see it.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use super::config::Variants;
use super::error::SandboxError;
pub use super::model::{LoggedRequest, NewUser, SandboxUser, Stats, StoredPhoto};
use super::notify;
use super::render;
use super::server::Shared;
use super::token::{ExternalClaims, FEDERATED_AUDIENCE, FEDERATED_ISSUER};

#[derive(Debug, Clone)]
pub(crate) enum PhotoSlot {
    None,
    Seeded { seed: u64, side: u32 },
    Uploaded(Arc<render::Ingested>),
}

#[derive(Debug, Clone)]
pub(crate) struct UserRecord {
    pub user: SandboxUser,
    pub photo: PhotoSlot,
    pub etag: String,
    pub uploads: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Updated,
    /// Soft delete: `@removed {reason: changed}` (m365-facts B§2.1).
    SoftDeleted,
    /// Permanent delete: `@removed {reason: deleted}`.
    Deleted,
}

#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub seq: u64,
    pub id: String,
    pub kind: ChangeKind,
    /// Properties changed (empty = all, e.g. creation).
    pub props: Vec<&'static str>,
}

pub(crate) const REQUEST_LOG_CAP: usize = 10_000;

#[derive(Debug)]
pub(crate) struct State {
    pub users: BTreeMap<String, UserRecord>,
    pub by_upn: HashMap<String, String>,
    pub deleted: BTreeMap<String, UserRecord>,
    pub changes: Vec<Change>,
    pub next_seq: u64,
    pub delta_epoch: u64,
    pub variants: Variants,
    pub etag_seq: u64,
    pub federated_subjects: HashSet<String>,
    pub log: VecDeque<LoggedRequest>,
}

impl State {
    pub fn new(records: Vec<UserRecord>, variants: Variants) -> Self {
        let mut by_upn = HashMap::with_capacity(records.len());
        let mut users = BTreeMap::new();
        for r in records {
            by_upn.insert(r.user.user_principal_name.to_lowercase(), r.user.id.clone());
            users.insert(r.user.id.clone(), r);
        }
        Self {
            users,
            by_upn,
            deleted: BTreeMap::new(),
            changes: Vec::new(),
            next_seq: 1,
            delta_epoch: 1,
            variants,
            etag_seq: 0,
            federated_subjects: HashSet::new(),
            log: VecDeque::new(),
        }
    }

    /// The id for an object id or a userPrincipalName (case-insensitive).
    pub fn resolve(&self, key: &str) -> Option<String> {
        let lower = key.to_lowercase();
        if self.users.contains_key(&lower) {
            return Some(lower);
        }
        self.by_upn.get(&lower).cloned()
    }

    pub fn record(&mut self, id: &str, kind: ChangeKind, props: Vec<&'static str>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.changes.push(Change {
            seq,
            id: id.to_string(),
            kind,
            props,
        });
    }

    /// A fresh 8-hex-digit etag (`"BA09D118"`-shaped, m365-facts A§1.3).
    pub fn next_etag(&mut self, id: &str) -> String {
        self.etag_seq += 1;
        let h = crate::photo::sha256_hex(format!("{id}/{}", self.etag_seq).as_bytes());
        h[..8].to_uppercase()
    }
}

/// A cheap, cloneable handle on a running sandbox's state.
#[derive(Clone)]
pub struct Tenant {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant").finish_non_exhaustive()
    }
}

impl Tenant {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }

    /// Every live user, ordered by id (the order `GET /users` pages in).
    pub fn users(&self) -> Vec<SandboxUser> {
        self.state()
            .users
            .values()
            .map(|r| r.user.clone())
            .collect()
    }

    /// A user by object id or userPrincipalName.
    pub fn user(&self, key: &str) -> Option<SandboxUser> {
        let s = self.state();
        let id = s.resolve(key)?;
        s.users.get(&id).map(|r| r.user.clone())
    }

    /// The photo as stored, or `None` when the user has none (or does not exist).
    pub fn photo(&self, key: &str) -> Option<StoredPhoto> {
        let (slot, etag, uploads) = {
            let s = self.state();
            let r = s.users.get(&s.resolve(key)?)?;
            (r.photo.clone(), r.etag.clone(), r.uploads)
        };
        let (bytes, side) = match slot {
            PhotoSlot::None => return None,
            PhotoSlot::Seeded { seed, side } => (render::seeded(seed, side).ok()?, side),
            PhotoSlot::Uploaded(p) => (p.original.clone(), p.side),
        };
        Some(StoredPhoto {
            bytes,
            etag,
            upload_count: uploads,
            side,
        })
    }

    /// Store a photo as if an admin uploaded it elsewhere; returns the new etag. Photo
    /// changes do not feed delta (m365-facts B§1.7: photo is a navigation property).
    pub fn set_photo(&self, key: &str, bytes: &[u8]) -> Result<String, SandboxError> {
        let ingested = render::ingest(bytes).map_err(SandboxError::BadPhoto)?;
        self.store_photo(key, PhotoSlot::Uploaded(Arc::new(ingested)))
    }

    /// Remove a user's photo.
    pub fn delete_photo(&self, key: &str) -> Result<(), SandboxError> {
        self.store_photo(key, PhotoSlot::None).map(|_| ())
    }

    pub(crate) fn store_photo(&self, key: &str, slot: PhotoSlot) -> Result<String, SandboxError> {
        let mut s = self.state();
        let id = s
            .resolve(key)
            .ok_or_else(|| SandboxError::NoSuchUser(key.into()))?;
        let etag = match slot {
            PhotoSlot::None => String::new(),
            _ => s.next_etag(&id),
        };
        let r = s
            .users
            .get_mut(&id)
            .ok_or_else(|| SandboxError::NoSuchUser(key.into()))?;
        if !matches!(slot, PhotoSlot::None) {
            r.uploads += 1;
        }
        r.photo = slot;
        r.etag = etag.clone();
        Ok(etag)
    }

    /// Create a member user (feeds delta as `updated`, m365-facts B§1.1).
    pub fn create_user(&self, new: NewUser) -> Result<SandboxUser, SandboxError> {
        let mut s = self.state();
        let upn_key = new.user_principal_name.to_lowercase();
        if s.by_upn.contains_key(&upn_key) {
            return Err(SandboxError::DuplicateUser(new.user_principal_name));
        }
        let mut rng = super::rng::Rng::new(self.shared.config.seed, 0xC0FF_EE00 + s.next_seq);
        let user = SandboxUser {
            id: rng.guid(),
            user_principal_name: new.user_principal_name,
            has_mailbox: new.mail.is_some(),
            mail: new.mail,
            employee_id: new.employee_id,
            display_name: new.display_name,
            given_name: None,
            surname: None,
            job_title: None,
            user_type: "Member".into(),
            account_enabled: true,
        };
        s.by_upn.insert(upn_key, user.id.clone());
        s.users.insert(
            user.id.clone(),
            UserRecord {
                user: user.clone(),
                photo: PhotoSlot::None,
                etag: String::new(),
                uploads: 0,
            },
        );
        s.record(&user.id, ChangeKind::Updated, Vec::new());
        drop(s);
        notify::user_changed(&self.shared, &user.id, ChangeKind::Updated);
        Ok(user)
    }

    /// Change a user; the properties that differ afterwards feed delta.
    pub fn update_user(
        &self,
        key: &str,
        change: impl FnOnce(&mut SandboxUser),
    ) -> Result<SandboxUser, SandboxError> {
        let mut s = self.state();
        let id = s
            .resolve(key)
            .ok_or_else(|| SandboxError::NoSuchUser(key.into()))?;
        let before = s
            .users
            .get(&id)
            .map(|r| r.user.clone())
            .ok_or_else(|| SandboxError::NoSuchUser(key.into()))?;
        let mut after = before.clone();
        change(&mut after);
        after.id = before.id.clone();
        let new_upn = after.user_principal_name.to_lowercase();
        let old_upn = before.user_principal_name.to_lowercase();
        if new_upn != old_upn {
            if s.by_upn.contains_key(&new_upn) {
                return Err(SandboxError::DuplicateUser(after.user_principal_name));
            }
            s.by_upn.remove(&old_upn);
            s.by_upn.insert(new_upn, id.clone());
        }
        let props = changed_props(&before, &after);
        if let Some(r) = s.users.get_mut(&id) {
            r.user = after.clone();
        }
        if !props.is_empty() {
            s.record(&id, ChangeKind::Updated, props);
            drop(s);
            notify::user_changed(&self.shared, &id, ChangeKind::Updated);
        }
        Ok(after)
    }

    /// Soft-delete a user (restorable; delta says `@removed: changed`).
    pub fn delete_user(&self, key: &str) -> Result<(), SandboxError> {
        let mut s = self.state();
        let id = s
            .resolve(key)
            .ok_or_else(|| SandboxError::NoSuchUser(key.into()))?;
        if let Some(r) = s.users.remove(&id) {
            s.by_upn.remove(&r.user.user_principal_name.to_lowercase());
            s.deleted.insert(id.clone(), r);
        }
        s.record(&id, ChangeKind::SoftDeleted, Vec::new());
        drop(s);
        notify::user_changed(&self.shared, &id, ChangeKind::SoftDeleted);
        Ok(())
    }

    /// Permanently delete a user, live or soft-deleted (delta says `@removed: deleted`).
    pub fn purge_user(&self, id: &str) -> Result<(), SandboxError> {
        let mut s = self.state();
        let id = s.resolve(id).unwrap_or_else(|| id.to_lowercase());
        let live = s.users.remove(&id);
        if let Some(r) = &live {
            s.by_upn.remove(&r.user.user_principal_name.to_lowercase());
        }
        if live.is_none() && s.deleted.remove(&id).is_none() {
            return Err(SandboxError::NoSuchUser(id));
        }
        s.record(&id, ChangeKind::Deleted, Vec::new());
        drop(s);
        notify::user_changed(&self.shared, &id, ChangeKind::Deleted);
        Ok(())
    }

    /// Make every outstanding delta token answer 410 Gone (m365-facts B§2.1).
    pub fn invalidate_delta_tokens(&self) {
        self.state().delta_epoch += 1;
    }

    /// Switch UNCONFIRMED-behaviour variants while running.
    pub fn set_variants(&self, variants: Variants) {
        self.state().variants = variants;
    }

    /// The variants in force.
    pub fn variants(&self) -> Variants {
        self.state().variants
    }

    /// Move the tenant's clock forward (token expiry, throttle windows, delta-token age).
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// The last Graph requests (at most 10,000), oldest first.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.state().log.iter().cloned().collect()
    }

    /// Mint an external OIDC token for `subject` that the token endpoint accepts as a
    /// workload-identity `client_assertion` for the registered app, and register a
    /// federated credential for that subject (m365-facts B§3.4).
    pub fn federated_token(&self, subject: &str) -> String {
        self.state().federated_subjects.insert(subject.to_string());
        let now = self.shared.clock.unix();
        self.shared.keys.mint_external(&ExternalClaims {
            iss: FEDERATED_ISSUER.into(),
            sub: subject.into(),
            aud: FEDERATED_AUDIENCE.into(),
            iat: now,
            nbf: now,
            exp: now + 3600,
        })
    }
}

fn changed_props(a: &SandboxUser, b: &SandboxUser) -> Vec<&'static str> {
    let mut p = Vec::new();
    let mut diff = |changed: bool, name: &'static str| {
        if changed {
            p.push(name);
        }
    };
    diff(
        a.user_principal_name != b.user_principal_name,
        "userPrincipalName",
    );
    diff(a.mail != b.mail, "mail");
    diff(a.employee_id != b.employee_id, "employeeId");
    diff(a.display_name != b.display_name, "displayName");
    diff(a.given_name != b.given_name, "givenName");
    diff(a.surname != b.surname, "surname");
    diff(a.job_title != b.job_title, "jobTitle");
    diff(a.user_type != b.user_type, "userType");
    diff(a.account_enabled != b.account_enabled, "accountEnabled");
    p
}
