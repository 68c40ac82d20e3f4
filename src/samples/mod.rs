//! Generated sample photos, named by what they should become: every orientation, every
//! input format and colour layout, and every kind of bad input. Tests assert on them and
//! `photo-sync demo` normalises them; nothing is downloaded.

mod exif;
mod icc;
mod portrait;
mod write;

pub use exif::{exif_tiff, jpeg_with_exif, jpeg_with_segment, png_with_chunk, webp_with_exif};
pub use icc::{adobe_rgb, display_p3, jpeg_with_icc, png_with_icc};
pub use portrait::{
    stored_for, Portrait, MARKER_BOTTOM_LEFT, MARKER_TOP_LEFT, MARKER_TOP_RIGHT, SKIN,
};
pub use write::{
    bmp, cmyk_jpeg, gif, grey_jpeg, jpeg, jpeg_progressive, jpeg_restart, png_16bit, png_grey,
    png_interlaced, png_palette, png_rgb, png_rgba, tiff, webp_lossless,
};

/// What normalising a sample should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Every rendition is made.
    Renditions,
    /// Refused with this [`crate::photo::PhotoError::code`].
    Refused(&'static str),
}

/// One sample file.
#[derive(Debug, Clone)]
pub struct Sample {
    /// File name, saying what it should become.
    pub name: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// The expected outcome.
    pub expect: Expect,
}

/// A square portrait with corner markers, for orientation checks.
pub fn marked_square(side: u32, seed: u64) -> crate::photo::Pixels {
    Portrait {
        markers: true,
        face: (0.5, 0.5),
        ..Portrait::new(side, side, seed)
    }
    .render()
}

/// A JPEG stored sideways with EXIF `orientation`, GPS, camera tags, XMP and a comment.
pub fn oriented_jpeg(upright: &crate::photo::Pixels, orientation: u8) -> Vec<u8> {
    let stored = stored_for(orientation, upright);
    let j = jpeg(&stored, 90);
    let j = jpeg_with_exif(&j, &exif_tiff(orientation, true));
    let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>SECRET-XMP-MARKER</x:xmpmeta>";
    let j = jpeg_with_segment(&j, 0xE1, xmp);
    jpeg_with_segment(&j, 0xFE, b"SECRET-COMMENT-MARKER")
}

/// The whole sample set. Deterministic; sizes kept small enough for debug-build tests.
pub fn catalogue() -> Vec<Sample> {
    let mut out = Vec::new();
    let mut ok = |name: &str, bytes: Vec<u8>| {
        out.push(Sample {
            name: name.into(),
            bytes,
            expect: Expect::Renditions,
        })
    };
    let square = marked_square(720, 1);
    for o in 1..=8u8 {
        ok(
            &format!("exif_orientation_{o}_should_be_upright.jpg"),
            oriented_jpeg(&square, o),
        );
    }
    let phone = Portrait::new(1200, 1600, 2).render();
    ok(
        "phone_o6_portrait_should_be_upright_with_face.jpg",
        oriented_jpeg(&phone, 6),
    );
    let tall = Portrait {
        face: (0.5, 0.2),
        face_radius: 0.16,
        ..Portrait::new(800, 1400, 3)
    };
    ok(
        "tall_face_at_top_should_keep_face.jpg",
        jpeg(&tall.render(), 88),
    );
    let wide = Portrait {
        face: (0.18, 0.45),
        face_radius: 0.22,
        ..Portrait::new(1500, 900, 4)
    };
    ok(
        "wide_face_at_left_should_keep_face.jpg",
        jpeg(&wide.render(), 88),
    );
    let p = Portrait::new(900, 900, 5).render();
    ok("progressive_should_decode.jpg", jpeg_progressive(&p, 85));
    ok("restart_markers_should_decode.jpg", jpeg_restart(&p, 85));
    ok("cmyk_adobe_should_become_rgb.jpg", cmyk_jpeg(&p, 90));
    ok("grey_should_decode.jpg", grey_jpeg(&p, 90));
    ok(
        "display_p3_should_convert_to_srgb.jpg",
        jpeg_with_icc(&jpeg(&p, 90), &display_p3()),
    );
    ok(
        "adobe_rgb_should_convert_to_srgb.png",
        png_with_icc(&png_rgb(&p), &adobe_rgb()),
    );
    ok("png_alpha_should_flatten_onto_white.png", png_rgba(&p));
    ok("png_16bit_should_decode.png", png_16bit(&p));
    ok("png_palette_should_decode.png", png_palette(&p));
    ok("png_grey_should_decode.png", png_grey(&p));
    let png_o8 = png_with_chunk(
        &png_rgb(&stored_for(8, &square)),
        *b"eXIf",
        &exif_tiff(8, true),
    );
    ok("png_exif_orientation_8_should_be_upright.png", png_o8);
    ok("gif_first_frame_should_decode.gif", gif(&p));
    ok("bmp_should_decode.bmp", bmp(&p));
    ok("tiff_should_decode.tif", tiff(&p));
    let stored = stored_for(6, &square);
    let webp = webp_with_exif(
        &webp_lossless(&stored),
        &exif_tiff(6, false),
        stored.width,
        stored.height,
    );
    ok("webp_orientation_6_should_be_upright.webp", webp);
    ok(
        "small_200px_should_not_be_upscaled.jpg",
        jpeg(&Portrait::new(200, 260, 6).render(), 90),
    );

    let mut bad = |name: &str, bytes: Vec<u8>, code: &'static str| {
        out.push(Sample {
            name: name.into(),
            bytes,
            expect: Expect::Refused(code),
        })
    };
    bad("empty_should_be_refused.jpg", Vec::new(), "empty");
    bad(
        "random_bytes_should_be_refused.bin",
        random_bytes(4096, 7),
        "unknown_format",
    );
    let full = jpeg(&p, 85);
    bad(
        "truncated_should_be_refused.jpg",
        full[..full.len() * 2 / 3].to_vec(),
        "corrupt",
    );
    bad(
        "tiny_40x40_should_be_refused.jpg",
        jpeg(&Portrait::new(40, 40, 8).render(), 90),
        "too_small",
    );
    bad(
        "gif_1x1_should_be_refused.gif",
        gif(&Portrait::new(1, 1, 9).render()),
        "too_small",
    );
    bad(
        "jpeg_header_60000_should_be_refused.jpg",
        jpeg_sof_claiming(&full, 60000, 60000),
        "side_too_long",
    );
    bad(
        "png_header_60000_should_be_refused.png",
        png_bomb(60000, 60000),
        "side_too_long",
    );
    bad(
        "png_header_12000_squared_should_be_refused.png",
        png_bomb(12000, 12000),
        "too_many_pixels",
    );
    bad(
        "heic_should_be_refused.heic",
        heic_stub(),
        "unsupported_format",
    );
    out
}

/// Deterministic noise.
pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 33) as u8
        })
        .collect()
}

/// A real JPEG whose frame header is patched to claim `w × h` (a decompression bomb).
pub fn jpeg_sof_claiming(jpeg: &[u8], w: u16, h: u16) -> Vec<u8> {
    let mut j = jpeg.to_vec();
    if let Some(i) = j
        .windows(2)
        .position(|m| m[0] == 0xFF && (0xC0..=0xC2).contains(&m[1]))
    {
        if j.len() > i + 9 {
            j[i + 5..i + 7].copy_from_slice(&h.to_be_bytes());
            j[i + 7..i + 9].copy_from_slice(&w.to_be_bytes());
        }
    }
    j
}

/// A PNG whose header claims `w × h` RGB with a few bytes of data.
pub fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    // A zlib stream of a few zero bytes.
    let idat = [
        0x78, 0x01, 0x01, 0x04, 0x00, 0xFB, 0xFF, 0, 0, 0, 0, 0x00, 0x04, 0x00, 0x01,
    ];
    exif::png_file(w, h, 0, &idat)
}

/// The start of a HEIC file (an `ftyp` box with the `heic` brand).
pub fn heic_stub() -> Vec<u8> {
    let mut b = vec![0, 0, 0, 0x18];
    b.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    b.extend_from_slice(&random_bytes(256, 3));
    b
}
