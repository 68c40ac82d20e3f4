//! Determinism and fingerprints: identical bytes for identical input; a perceptual hash
//! that survives a store's re-encoding and resizing and tells different portraits apart.

use photo_sync::photo::{self, same_photo, sha256_hex, Limits, Pixels};
use photo_sync::samples::{self, Portrait};

use crate::helpers::{decode_jpeg, normalize};

#[test]
fn the_same_input_gives_identical_bytes() {
    for s in samples::catalogue()
        .iter()
        .filter(|s| s.expect == samples::Expect::Renditions)
    {
        let (a, b) = (normalize(&s.bytes), normalize(&s.bytes));
        for (ra, rb) in a.renditions.iter().zip(&b.renditions) {
            assert!(
                ra.jpeg == rb.jpeg,
                "{} {} differs between runs",
                s.name,
                ra.spec.size
            );
            assert_eq!(ra.sha256, sha256_hex(&ra.jpeg));
        }
        assert_eq!(a.phash, b.phash);
    }
}

/// What a store does to a photo: decode, resize, encode at its own quality.
fn store_copy(jpeg: &[u8], side: u32, quality: u8) -> Vec<u8> {
    let img = decode_jpeg(jpeg);
    let resized = if side == img.width {
        img
    } else {
        let dyn_img = image::DynamicImage::ImageRgb8(
            image::RgbImage::from_raw(img.width, img.height, img.data).unwrap(),
        )
        .resize_exact(side, side, image::imageops::FilterType::Triangle);
        Pixels::rgb(side, side, dyn_img.into_rgb8().into_raw()).unwrap()
    };
    samples::jpeg(&resized, quality)
}

#[test]
fn same_photo_holds_across_store_reencoding_and_resizing() {
    for seed in [1, 2, 3] {
        let n = normalize(&samples::jpeg(&Portrait::new(900, 1100, seed).render(), 90));
        let ours = &n.renditions[0].jpeg;
        for (side, q) in [
            (648, 75),
            (648, 85),
            (648, 95),
            (240, 75),
            (240, 90),
            (96, 85),
        ] {
            let copy = store_copy(ours, side, q);
            let h = photo::perceptual_hash(&copy, &Limits::default()).unwrap();
            assert!(
                same_photo(n.phash, h),
                "seed {seed}: {side}px q{q} is {} bits away",
                n.phash.distance(h)
            );
        }
    }
}

#[test]
fn same_photo_does_not_hold_for_a_different_portrait() {
    let people = [
        Portrait::new(900, 1100, 1),
        Portrait {
            face: (0.3, 0.4),
            face_radius: 0.25,
            ..Portrait::new(900, 1100, 2)
        },
        Portrait {
            face: (0.7, 0.3),
            face_radius: 0.15,
            ..Portrait::new(900, 1100, 3)
        },
        Portrait {
            face: (0.5, 0.6),
            face_radius: 0.3,
            ..Portrait::new(1100, 900, 4)
        },
    ];
    let hashes: Vec<_> = people
        .iter()
        .map(|p| normalize(&samples::jpeg(&p.render(), 90)).phash)
        .collect();
    for i in 0..hashes.len() {
        for j in i + 1..hashes.len() {
            assert!(
                !same_photo(hashes[i], hashes[j]),
                "portraits {i} and {j} are only {} bits apart",
                hashes[i].distance(hashes[j])
            );
        }
    }
}
