//! All eight EXIF orientations land upright: the red marker top-left, green top-right,
//! blue bottom-left, in every container that carries EXIF (JPEG APP1, PNG eXIf, WebP EXIF).

use photo_sync::samples::{self, MARKER_BOTTOM_LEFT, MARKER_TOP_LEFT, MARKER_TOP_RIGHT};

use crate::helpers::{largest, mean, near, normalize};

fn assert_upright(bytes: &[u8], what: &str) {
    let n = normalize(bytes);
    let img = largest(&n);
    let (s, m) = (img.width, img.width / 10);
    let patch = m / 2;
    let tl = mean(&img, m / 4, m / 4, patch);
    let tr = mean(&img, s - m / 4 - patch, m / 4, patch);
    let bl = mean(&img, m / 4, s - m / 4 - patch, patch);
    assert!(
        near(tl, MARKER_TOP_LEFT, 30.0),
        "{what}: top-left is {tl:?}, expected red"
    );
    assert!(
        near(tr, MARKER_TOP_RIGHT, 30.0),
        "{what}: top-right is {tr:?}, expected green"
    );
    assert!(
        near(bl, MARKER_BOTTOM_LEFT, 30.0),
        "{what}: bottom-left is {bl:?}, expected blue"
    );
}

#[test]
fn every_exif_orientation_in_a_jpeg_lands_upright() {
    let square = samples::marked_square(720, 1);
    for o in 1..=8u8 {
        let n = normalize(&samples::oriented_jpeg(&square, o));
        assert_eq!(n.source.orientation, o);
        assert_upright(
            &samples::oriented_jpeg(&square, o),
            &format!("orientation {o}"),
        );
    }
}

#[test]
fn png_exif_chunk_orientation_is_applied() {
    let sample = samples::catalogue()
        .into_iter()
        .find(|s| s.name.starts_with("png_exif_orientation_8"))
        .unwrap();
    assert_eq!(normalize(&sample.bytes).source.orientation, 8);
    assert_upright(&sample.bytes, "PNG eXIf 8");
}

#[test]
fn webp_exif_orientation_is_applied() {
    let sample = samples::catalogue()
        .into_iter()
        .find(|s| s.name.starts_with("webp_orientation_6"))
        .unwrap();
    assert_eq!(normalize(&sample.bytes).source.orientation, 6);
    assert_upright(&sample.bytes, "WebP EXIF 6");
}

#[test]
fn a_sideways_phone_photo_is_cropped_in_upright_coordinates() {
    // Stored 1600x1200 landscape with orientation 6: upright it is a 1200x1600 portrait.
    let p = samples::Portrait::new(1200, 1600, 2);
    let n = normalize(&samples::oriented_jpeg(&p.render(), 6));
    assert_eq!((n.source.width, n.source.height), (1600, 1200));
    assert_eq!((n.crop.width, n.crop.height), (1200, 1200));
    assert_eq!(n.crop.x, 0);
}
