//! The square keeps the face: attention-aware by default, an explicit box when given,
//! never stretched and never upscaled.

use photo_sync::photo::{CropBox, CropMode, Options};
use photo_sync::samples::{self, Portrait, SKIN};

use crate::helpers::{largest, mean, near, normalize, normalize_with};

fn assert_keeps_face(p: &Portrait, bytes: &[u8], opts: &Options) {
    let n = normalize_with(bytes, opts);
    let (x0, y0, x1, y1) = p.face_box();
    let c = n.crop;
    assert!(
        c.x <= x0 && c.y <= y0 && c.x + c.width >= x1 && c.y + c.height >= y1,
        "crop {c:?} cuts the face {:?}",
        (x0, y0, x1, y1)
    );
    // In the output, the cheek (between eye line and mouth, off centre) is skin.
    let img = largest(&n);
    let k = f64::from(img.width) / f64::from(c.width);
    let short = f64::from(p.width.min(p.height));
    let fx = p.face.0 * f64::from(p.width) - short * p.face_radius * 0.45;
    let fy = p.face.1 * f64::from(p.height) + short * p.face_radius * 0.2;
    let (ox, oy) = (
        ((fx - f64::from(c.x)) * k) as u32,
        ((fy - f64::from(c.y)) * k) as u32,
    );
    let got = mean(&img, ox - 2, oy - 2, 5);
    assert!(near(got, SKIN, 25.0), "cheek at {ox},{oy} is {got:?}");
}

#[test]
fn a_tall_photo_with_the_face_at_the_top_keeps_the_face() {
    let p = Portrait {
        face: (0.5, 0.2),
        face_radius: 0.16,
        ..Portrait::new(800, 1400, 3)
    };
    let bytes = samples::jpeg(&p.render(), 88);
    assert_keeps_face(&p, &bytes, &Options::default());
    // The centre square would have cut it: the attention crop is doing the work.
    let centre = normalize_with(
        &bytes,
        &Options {
            crop: CropMode::Centre,
            ..Options::default()
        },
    );
    assert!(
        centre.crop.y > p.face_box().1,
        "centre crop {:?}",
        centre.crop
    );
}

#[test]
fn a_wide_photo_with_the_face_at_the_left_keeps_the_face() {
    let p = Portrait {
        face: (0.18, 0.45),
        face_radius: 0.22,
        ..Portrait::new(1500, 900, 4)
    };
    assert_keeps_face(&p, &samples::jpeg(&p.render(), 88), &Options::default());
}

#[test]
fn a_face_low_in_a_tall_photo_is_found_too() {
    let p = Portrait {
        face: (0.45, 0.72),
        face_radius: 0.14,
        ..Portrait::new(700, 1500, 12)
    };
    assert_keeps_face(&p, &samples::jpeg(&p.render(), 88), &Options::default());
}

#[test]
fn a_sideways_phone_portrait_keeps_the_face() {
    let p = Portrait {
        face: (0.5, 0.25),
        face_radius: 0.15,
        ..Portrait::new(1200, 1800, 13)
    };
    assert_keeps_face(
        &p,
        &samples::oriented_jpeg(&p.render(), 6),
        &Options::default(),
    );
}

#[test]
fn an_explicit_crop_box_is_used_and_grown_to_a_square() {
    let p = Portrait::new(1000, 1000, 5);
    let (x0, y0, x1, y1) = p.face_box();
    let b = CropBox {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
    };
    let opts = Options {
        crop: CropMode::Box(b),
        ..Options::default()
    };
    let n = normalize_with(&samples::jpeg(&p.render(), 90), &opts);
    assert_eq!(n.crop.width, n.crop.height);
    assert_eq!(n.crop.width, b.width.max(b.height));
    assert!(n.crop.x <= b.x && n.crop.y <= b.y);
    assert_eq!(n.renditions[0].side, n.crop.width.min(648));
}

#[test]
fn a_small_source_is_never_upscaled() {
    let n = normalize(&samples::jpeg(&Portrait::new(200, 260, 6).render(), 90));
    let sides: Vec<u32> = n.renditions.iter().map(|r| r.side).collect();
    assert_eq!(sides, vec![200, 200, 96, 72, 48]);
    assert_eq!(largest(&n).width, 200);
}

#[test]
fn below_96_pixels_is_refused_with_a_sentence() {
    let e = photo_sync::photo::normalize(
        &samples::jpeg(&Portrait::new(95, 400, 6).render(), 90),
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "too_small");
    assert!(
        e.to_string().contains("95x400") && e.to_string().contains("96x96"),
        "{e}"
    );
}
