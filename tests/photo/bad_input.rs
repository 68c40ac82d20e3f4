//! Bad input: every refusal is typed, has a sentence, and nothing panics — including
//! thousands of mutated files of every format.

use photo_sync::photo::{self, Limits, Options};
use photo_sync::samples::{self, Expect};

#[test]
fn every_refusal_says_what_is_wrong() {
    for s in samples::catalogue()
        .into_iter()
        .filter(|s| s.expect != Expect::Renditions)
    {
        let e = photo::normalize(&s.bytes, &Options::default()).unwrap_err();
        assert!(!e.is_retryable());
        let sentence = e.to_string();
        assert!(sentence.len() > 20, "{}: {sentence:?}", s.name);
        match e.code() {
            "side_too_long" => assert!(sentence.contains("16384"), "{sentence}"),
            "too_many_pixels" => assert!(sentence.contains("megapixels"), "{sentence}"),
            "too_small" => assert!(sentence.contains("96x96"), "{sentence}"),
            _ => {}
        }
    }
}

#[test]
fn an_oversized_file_is_refused_before_it_is_read_as_an_image() {
    let limits = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    let opts = Options {
        limits,
        ..Options::default()
    };
    let e = photo::normalize(&samples::random_bytes(1001, 1), &opts).unwrap_err();
    assert_eq!(e.code(), "too_many_bytes");
    assert!(e.to_string().contains("1000-byte limit"), "{e}");
}

#[test]
fn a_60000_pixel_jpeg_header_is_refused_even_with_generous_limits() {
    let j = samples::jpeg(&samples::Portrait::new(64, 64, 1).render(), 80);
    let bomb = samples::jpeg_sof_claiming(&j, 60000, 60000);
    let limits = Limits {
        max_side: 65535,
        ..Limits::default()
    };
    let e = photo::normalize(
        &bomb,
        &Options {
            limits,
            ..Options::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.code(), "too_many_pixels");
}

/// Truncations and byte flips of a valid file of every format: the result may be a
/// photo or a refusal, never a panic. Deterministic (seeded).
#[test]
fn mutated_files_never_panic() {
    let p = samples::Portrait::new(160, 200, 3).render();
    let files = [
        samples::jpeg(&p, 80),
        samples::jpeg_progressive(&p, 80),
        samples::cmyk_jpeg(&p, 80),
        samples::png_rgba(&p),
        samples::png_palette(&p),
        samples::gif(&p),
        samples::bmp(&p),
        samples::tiff(&p),
        samples::webp_lossless(&p),
    ];
    let noise = samples::random_bytes(200_000, 99);
    let mut k = 0;
    let opts = Options::default();
    for f in &files {
        for i in 0..120usize {
            let mut m = f.clone();
            if i % 3 == 0 {
                m.truncate(usize::from(noise[k]) * f.len() / 256);
            } else {
                for _ in 0..1 + i % 4 {
                    let at = (usize::from(noise[k]) << 8 | usize::from(noise[k + 1])) % m.len();
                    m[at] = noise[k + 2];
                    k += 3;
                }
            }
            k = (k + 1) % (noise.len() - 8);
            let r = std::panic::catch_unwind(|| photo::normalize(&m, &opts));
            assert!(
                r.is_ok(),
                "panicked on mutation {i} of a {:?} file",
                &f[..4]
            );
        }
    }
}
