//! Colour: ICC profiles converted to sRGB, alpha flattened, CMYK and grey decoded.

use photo_sync::photo::{ColorHandling, Options, Pixels};
use photo_sync::samples::{self, Portrait};

use crate::helpers::{largest, mean, normalize, saturation};

fn flat(rgb: [u8; 3]) -> Pixels {
    Pixels::rgb(400, 400, rgb.repeat(400 * 400)).unwrap()
}

#[test]
fn display_p3_colours_become_more_saturated_srgb() {
    // The same samples read as P3 are more saturated than read as sRGB.
    let px = flat([180, 90, 60]);
    let plain = normalize(&samples::jpeg(&px, 95));
    let p3 = normalize(&samples::jpeg_with_icc(
        &samples::jpeg(&px, 95),
        &samples::display_p3(),
    ));
    assert_eq!(plain.color, ColorHandling::AssumedSrgb);
    assert_eq!(p3.color, ColorHandling::ConvertedFromProfile);
    let (a, b) = (
        mean(&largest(&plain), 100, 100, 50),
        mean(&largest(&p3), 100, 100, 50),
    );
    assert!(
        saturation(b) > saturation(a) + 8.0,
        "sRGB {a:?} vs from P3 {b:?}"
    );
}

#[test]
fn adobe_rgb_png_is_converted_and_grey_stays_grey() {
    let colour = samples::png_with_icc(
        &samples::png_rgb(&flat([60, 160, 90])),
        &samples::adobe_rgb(),
    );
    let n = normalize(&colour);
    assert_eq!(n.color, ColorHandling::ConvertedFromProfile);
    let plain = normalize(&samples::png_rgb(&flat([60, 160, 90])));
    let (a, b) = (
        mean(&largest(&plain), 100, 100, 50),
        mean(&largest(&n), 100, 100, 50),
    );
    assert!(
        saturation(b) > saturation(a) + 8.0,
        "sRGB {a:?} vs from Adobe RGB {b:?}"
    );
    let grey = normalize(&samples::png_with_icc(
        &samples::png_rgb(&flat([128; 3])),
        &samples::adobe_rgb(),
    ));
    let g = mean(&largest(&grey), 100, 100, 50);
    assert!(saturation(g) < 3.0, "grey became {g:?}");
}

#[test]
fn transparent_pixels_are_flattened_onto_white() {
    let p = Portrait::new(900, 900, 5).render();
    let n = normalize(&samples::png_rgba(&p));
    let corner = mean(&largest(&n), 2, 600, 20);
    assert!(
        corner.iter().all(|&v| v > 245.0),
        "transparent corner became {corner:?}"
    );
    let black = Options {
        background: [0, 0, 0],
        ..Options::default()
    };
    let n = photo_sync::photo::normalize(&samples::png_rgba(&p), &black).unwrap();
    let corner = mean(&largest(&n), 2, 600, 20);
    assert!(
        corner.iter().all(|&v| v < 10.0),
        "with a black background: {corner:?}"
    );
}

#[test]
fn adobe_cmyk_decodes_to_the_same_colours_as_rgb() {
    let p = Portrait::new(900, 900, 5).render();
    let rgb = largest(&normalize(&samples::jpeg(&p, 92)));
    let n = normalize(&samples::cmyk_jpeg(&p, 92));
    assert_eq!(n.color, ColorHandling::NaiveCmyk);
    let cmyk = largest(&n);
    for (x, y) in [(300, 250), (100, 500), (324, 600)] {
        let (a, b) = (mean(&rgb, x, y, 16), mean(&cmyk, x, y, 16));
        assert!(
            (0..3).all(|c| (a[c] - b[c]).abs() < 12.0),
            "at {x},{y}: rgb {a:?} cmyk {b:?}"
        );
    }
}

#[test]
fn grey_jpeg_and_png_become_grey_rgb() {
    let p = Portrait::new(600, 600, 5).render();
    for bytes in [samples::grey_jpeg(&p, 90), samples::png_grey(&p)] {
        let img = largest(&normalize(&bytes));
        let m = mean(&img, 250, 250, 40);
        assert!(saturation(m) < 3.0, "{m:?}");
    }
}
