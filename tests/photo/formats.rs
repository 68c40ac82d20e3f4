//! Every sample in the catalogue: renditions of the right size within their budgets,
//! decodable, and with no metadata at all; refusals with the expected code.

use photo_sync::photo::{self, Options, Target};
use photo_sync::samples::{self, Expect};

use crate::helpers::{decode_jpeg, markers};

#[test]
fn every_sample_meets_its_expectation() {
    for s in samples::catalogue() {
        let result = photo::normalize(&s.bytes, &Options::default());
        match (s.expect, result) {
            (Expect::Renditions, Ok(n)) => {
                let sizes: Vec<u32> = n.renditions.iter().map(|r| r.spec.size).collect();
                assert_eq!(sizes, vec![648, 300, 96, 72, 48], "{}", s.name);
                for r in &n.renditions {
                    let img = decode_jpeg(&r.jpeg);
                    let want = r.spec.size.min(n.crop.width);
                    assert_eq!(
                        (img.width, img.height),
                        (want, want),
                        "{} {}",
                        s.name,
                        r.spec.size
                    );
                    assert_eq!(r.side, want);
                    if let Some(budget) = r.spec.budget {
                        assert!(
                            r.jpeg.len() <= budget,
                            "{} {} is {} B",
                            s.name,
                            r.spec.size,
                            r.jpeg.len()
                        );
                    }
                    assert_no_metadata(&r.jpeg, &s.name);
                }
            }
            (Expect::Refused(code), Err(e)) => assert_eq!(e.code(), code, "{}: {e}", s.name),
            (want, got) => panic!(
                "{}: expected {want:?}, got {:?}",
                s.name,
                got.map(|n| n.crop)
            ),
        }
    }
}

/// Only SOI's JFIF APP0, tables, frame and scan: no APP1 (EXIF/XMP), APP2 (ICC),
/// APP13 (IPTC), APP14 or COM.
fn assert_no_metadata(jpeg: &[u8], name: &str) {
    for m in markers(jpeg) {
        assert!(
            matches!(m, 0xE0 | 0xDB | 0xC4 | 0xC0 | 0xDA | 0xDD),
            "{name}: output carries marker {m:#04x}"
        );
    }
    for needle in [
        &b"Exif"[..],
        b"SECRET",
        b"ICC_PROFILE",
        b"http://ns.adobe.com",
    ] {
        assert!(
            !jpeg.windows(needle.len()).any(|w| w == needle),
            "{name}: output contains {needle:?}"
        );
    }
    assert!(
        decode_jpeg_icc(jpeg).is_none(),
        "{name}: output has an ICC profile"
    );
}

fn decode_jpeg_icc(jpeg: &[u8]) -> Option<Vec<u8>> {
    let mut d = jpeg_decoder::Decoder::new(jpeg);
    d.read_info().ok()?;
    d.icc_profile()
}

/// A grainy portrait: detailed enough that quality 92 is far over 100 KB.
fn grainy(side: u32) -> Vec<u8> {
    let mut img = samples::Portrait::new(side, side, 21).render();
    let noise = samples::random_bytes(img.data.len(), 5);
    for (v, n) in img.data.iter_mut().zip(noise) {
        *v = v.saturating_add(n / 6).saturating_sub(21);
    }
    samples::jpeg(&img, 95)
}

#[test]
fn a_detailed_photo_lands_the_best_quality_under_each_budget() {
    let bytes = grainy(1000);
    let n = photo::normalize(&bytes, &Options::default()).unwrap();
    let m365 = &n.renditions[0];
    assert_eq!(m365.spec.target, Target::M365);
    assert!(
        !m365.over_budget && m365.jpeg.len() <= 100_000,
        "{} B",
        m365.jpeg.len()
    );
    assert!(
        m365.quality < 92 && m365.quality >= 60,
        "quality {}",
        m365.quality
    );
    // Best: one quality step higher no longer fits.
    let higher = Options {
        targets: vec![Target::M365],
        quality: photo::QualityRange {
            min: m365.quality + 1,
            max: m365.quality + 1,
        },
        ..Options::default()
    };
    let h = photo::normalize(&bytes, &higher).unwrap();
    assert!(
        h.renditions[0].over_budget,
        "quality {} would also fit",
        m365.quality + 1
    );
    let ad = n
        .renditions
        .iter()
        .find(|r| r.spec.target == Target::Ad)
        .unwrap();
    assert!(
        ad.jpeg.len() <= 10_000,
        "AD rendition is {} B",
        ad.jpeg.len()
    );
}

#[test]
fn pure_noise_keeps_the_lowest_quality_and_says_it_is_over_budget() {
    let noise = samples::random_bytes(1000 * 1000 * 3, 11);
    let img = photo::Pixels::rgb(1000, 1000, noise).unwrap();
    let n = photo::normalize(&samples::jpeg(&img, 95), &Options::default()).unwrap();
    let m365 = &n.renditions[0];
    assert!(m365.over_budget);
    assert_eq!(m365.quality, 60);
    assert!(m365.jpeg.len() > 100_000 && m365.jpeg.len() <= photo::GRAPH_MAX_UPLOAD);
}

#[test]
fn only_the_requested_targets_are_made() {
    let s = &samples::catalogue()[0];
    let opts = Options {
        targets: vec![Target::Ad],
        ..Options::default()
    };
    let n = photo::normalize(&s.bytes, &opts).unwrap();
    assert_eq!(n.renditions.len(), 1);
    assert_eq!(
        (n.renditions[0].spec.target, n.renditions[0].side),
        (Target::Ad, 96)
    );
}

#[test]
fn an_animated_gif_gives_its_first_frame() {
    use image::codecs::gif::GifEncoder;
    use image::{Frame, Rgba, RgbaImage};
    let mut bytes = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut bytes);
        for colour in [[200u8, 30, 30, 255], [30, 30, 200, 255]] {
            let frame = Frame::new(RgbaImage::from_pixel(200, 200, Rgba(colour)));
            enc.encode_frame(frame).unwrap();
        }
    }
    let n = photo::normalize(&bytes, &Options::default()).unwrap();
    let img = decode_jpeg(&n.renditions[0].jpeg);
    let p = img.rgb_at(100, 100);
    assert!(
        p[0] > 150 && p[2] < 80,
        "expected the red first frame, got {p:?}"
    );
}

#[test]
fn an_icc_profile_split_over_app2_chunks_in_any_order_is_reassembled() {
    let jpeg = samples::jpeg(&samples::Portrait::new(300, 300, 1).render(), 90);
    let profile = samples::display_p3();
    let (a, b) = profile.split_at(profile.len() / 2);
    let chunk = |seq: u8, part: &[u8]| [&b"ICC_PROFILE\0"[..], &[seq, 2], part].concat();
    // Second chunk first: the header must order chunks by their sequence number.
    let with_first = samples::jpeg_with_segment(&jpeg, 0xE2, &chunk(1, a));
    let both = samples::jpeg_with_segment(&with_first, 0xE2, &chunk(2, b));
    let h = photo::header::jpeg_header(&both).unwrap();
    assert_eq!(h.icc.as_deref(), Some(&profile[..]));
    let n = photo::normalize(&both, &Options::default()).unwrap();
    assert_eq!(n.color, photo::ColorHandling::ConvertedFromProfile);
}

#[test]
fn an_interlaced_png_gives_the_same_renditions_as_the_plain_one() {
    // Interlaced rows arrive in seven passes, so that PNG is decoded whole; a plain one is
    // streamed row by row. At this size neither is reduced: the pixels, and so the
    // renditions, must be identical.
    let p = samples::Portrait::new(400, 300, 21).render();
    let plain = photo::normalize(&samples::png_rgb(&p), &Options::default()).unwrap();
    let interlaced = samples::png_interlaced(&p);
    assert_eq!(interlaced[28], 1, "the sample really is interlaced");
    let adam7 = photo::normalize(&interlaced, &Options::default()).unwrap();
    assert_eq!(adam7.decoded, (400, 300));
    for (a, b) in plain.renditions.iter().zip(&adam7.renditions) {
        assert_eq!(a.sha256, b.sha256, "{}px differs", a.side);
    }
}

#[test]
fn a_large_png_is_reduced_while_it_decodes_and_stays_sharp() {
    // 2051x1945: the square needs 972 px (1.5 x 648), so 2x2 boxes, with a ragged last
    // column and row of boxes (2051 = 2 x 1025 + 1, 1945 = 2 x 972 + 1).
    let p = samples::Portrait::new(2051, 1945, 22).render();
    let png = photo::normalize(&samples::png_rgb(&p), &Options::default()).unwrap();
    assert_eq!(png.decoded, (1026, 973));
    // The same photo as a near-lossless JPEG takes the DCT-scaled path: the two 648s agree
    // closely, so the box reduction costs no sharpness the renditions can show.
    let jpeg = photo::normalize(&samples::jpeg(&p, 98), &Options::default()).unwrap();
    assert_eq!(png.crop, jpeg.crop);
    let (a, b) = (
        decode_jpeg(&png.renditions[0].jpeg),
        decode_jpeg(&jpeg.renditions[0].jpeg),
    );
    assert_eq!((a.width, a.height), (648, 648));
    let mad = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.data.len() as f64;
    assert!(mad < 1.5, "mean absolute difference {mad:.2}");
}
