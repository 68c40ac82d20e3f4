//! Seeded users: deterministic by seed, realistic enough to break naive code (apostrophes,
//! hyphens, non-ASCII and CJK names, `#EXT#` guests, mail ≠ UPN, missing employeeIds,
//! users without mailbox or photo, disabled accounts). No photo bytes are made here: a
//! user only carries the seed its portrait is drawn from on first read.

use std::collections::HashSet;

use super::rng::Rng;
use super::tenant::{PhotoSlot, SandboxUser, UserRecord};

/// (display, ASCII used in addresses)
const GIVEN: &[(&str, &str)] = &[
    ("Liam", "liam"),
    ("Zoë", "zoe"),
    ("Łukasz", "lukasz"),
    ("José", "jose"),
    ("François", "francois"),
    ("Björn", "bjorn"),
    ("Siobhán", "siobhan"),
    ("Aoife", "aoife"),
    ("Mary-Jane", "mary-jane"),
    ("Jean-Luc", "jean-luc"),
    ("Priya", "priya"),
    ("Mohammed", "mohammed"),
    ("Olivia", "olivia"),
    ("Noah", "noah"),
    ("Emma", "emma"),
    ("Søren", "soren"),
    ("Chloé", "chloe"),
    ("Ana", "ana"),
    ("Yuki", "yuki"),
    ("Oğuz", "oguz"),
    ("Anaïs", "anais"),
    ("Kwame", "kwame"),
    ("Fatima", "fatima"),
    ("Hannah", "hannah"),
];

const SURNAMES: &[(&str, &str)] = &[
    ("O'Brien", "o'brien"),
    ("D'Angelo", "d'angelo"),
    ("O'Connor", "o'connor"),
    ("Smith", "smith"),
    ("García", "garcia"),
    ("Müller", "muller"),
    ("Nowak", "nowak"),
    ("Smith-Jones", "smith-jones"),
    ("Nguyễn", "nguyen"),
    ("Kowalczyk", "kowalczyk"),
    ("Jensen", "jensen"),
    ("Dubois", "dubois"),
    ("Rossi", "rossi"),
    ("Johansson", "johansson"),
    ("Patel", "patel"),
    ("Khan", "khan"),
    ("Tanaka", "tanaka"),
    ("Okafor", "okafor"),
    ("Lefèvre", "lefevre"),
    ("Ødegaard", "odegaard"),
    ("van der Berg", "vanderberg"),
    ("Brown", "brown"),
];

const CJK_SURNAMES: &[(&str, &str)] =
    &[("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu")];
const CJK_GIVEN: &[(&str, &str)] = &[("伟", "wei"), ("芳", "fang"), ("静", "jing"), ("磊", "lei")];

const TITLES: &[&str] = &[
    "Engineer",
    "Senior Engineer",
    "Accountant",
    "Sales Manager",
    "HR Partner",
    "Designer",
    "Nurse",
    "Analyst",
];

const GUEST_DOMAINS: &[&str] = &[
    "fabrikam.com",
    "gmail.com",
    "outlook.com",
    "northwind.example",
];

/// Photo sides seeded users may have; most are 648 (m365-facts A§1.2 sizes).
const SMALLER_SIDES: &[u32] = &[96, 240, 360, 504];

/// Seeded users, in creation order.
pub(crate) fn users(seed: u64, count: usize, tenant: &str) -> Vec<UserRecord> {
    let count = count.clamp(10, 100_000);
    let mut taken: HashSet<String> = HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    for index in 0..count {
        out.push(one(seed, index, tenant, &mut taken));
    }
    out
}

fn one(seed: u64, index: usize, tenant: &str, taken: &mut HashSet<String>) -> UserRecord {
    let mut rng = Rng::new(seed, 0x5EED_0000 + index as u64);
    let id = rng.guid();
    let cjk = rng.chance(0.04);
    let ((gd, ga), (sd, sa)) = if cjk {
        (*rng.pick(CJK_GIVEN), *rng.pick(CJK_SURNAMES))
    } else {
        (*rng.pick(GIVEN), *rng.pick(SURNAMES))
    };
    let display_name = if cjk {
        format!("{sd}{gd}")
    } else {
        format!("{gd} {sd}")
    };
    let guest = rng.chance(0.03);
    let local = unique(&format!("{ga}.{sa}"), taken, &mut rng);
    let (upn, mail, user_type, has_mailbox, employee_id) = if guest {
        // m365-facts A§7: guest UPNs are `<mail with @ → _>#EXT#@<tenant>.onmicrosoft.com`.
        let domain = *rng.pick(GUEST_DOMAINS);
        let upn = format!("{local}_{domain}#EXT#@{tenant}.onmicrosoft.com");
        let mail = format!("{local}@{domain}");
        (upn, Some(mail), "Guest", false, None)
    } else {
        let domain = if rng.chance(0.2) {
            format!("{tenant}.onmicrosoft.com")
        } else {
            format!("{tenant}.com")
        };
        let upn = format!("{local}@{domain}");
        let has_mailbox = !rng.chance(0.05);
        let mail = if !has_mailbox {
            None
        } else if rng.chance(0.12) {
            // m365-facts A§8.1: mail can differ from the UPN.
            Some(format!(
                "{}{}@{tenant}.com",
                &ga[..1],
                local.replace('.', "_")
            ))
        } else {
            Some(upn.clone())
        };
        let employee_id = (!rng.chance(0.08)).then(|| format!("E{:06}", 100_000 + index));
        (upn, mail, "Member", has_mailbox, employee_id)
    };
    let photo = if rng.chance(0.15) {
        PhotoSlot::None
    } else {
        let side = if rng.chance(0.8) {
            648
        } else {
            *rng.pick(SMALLER_SIDES)
        };
        PhotoSlot::Seeded {
            seed: rng.next_u64(),
            side,
        }
    };
    let etag = match photo {
        PhotoSlot::None => String::new(),
        _ => format!("{:08X}", rng.next_u64() as u32),
    };
    UserRecord {
        user: SandboxUser {
            id,
            user_principal_name: upn,
            mail,
            employee_id,
            display_name,
            given_name: Some(gd.to_string()),
            surname: Some(sd.to_string()),
            job_title: (!guest).then(|| rng.pick(TITLES).to_string()),
            user_type: user_type.into(),
            has_mailbox,
            account_enabled: !rng.chance(0.04),
        },
        photo,
        etag,
        uploads: 0,
    }
}

fn unique(base: &str, taken: &mut HashSet<String>, rng: &mut Rng) -> String {
    let mut candidate = base.to_string();
    while !taken.insert(candidate.clone()) {
        candidate = format!("{base}{}", rng.below(10_000));
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_users_and_upns_are_unique() {
        let a = users(3, 500, "contoso");
        let b = users(3, 500, "contoso");
        assert_eq!(a.len(), 500);
        assert!(a.iter().zip(&b).all(|(x, y)| x.user == y.user));
        let upns: HashSet<_> = a
            .iter()
            .map(|r| r.user.user_principal_name.clone())
            .collect();
        assert_eq!(upns.len(), 500);
        assert!(a.iter().any(|r| r.user.user_type == "Guest"));
        assert!(a.iter().any(|r| matches!(r.photo, PhotoSlot::None)));
    }
}
