//! Shared test helpers: decoding outputs and reading their markers.

use photo_sync::photo::{self, Normalized, Options, Pixels};

/// Normalise with default options, panicking with the error's sentence on failure.
pub fn normalize(bytes: &[u8]) -> Normalized {
    normalize_with(bytes, &Options::default())
}

/// Normalise with `opts`.
pub fn normalize_with(bytes: &[u8], opts: &Options) -> Normalized {
    photo::normalize(bytes, opts).unwrap_or_else(|e| panic!("normalize failed: {e}"))
}

/// Decode a JPEG output to RGB with jpeg-decoder (never zune-jpeg, see image-stack.md §7).
pub fn decode_jpeg(bytes: &[u8]) -> Pixels {
    let mut d = jpeg_decoder::Decoder::new(bytes);
    let data = d.decode().expect("output must decode");
    let info = d.info().unwrap();
    assert_eq!(
        info.pixel_format,
        jpeg_decoder::PixelFormat::RGB24,
        "outputs are RGB"
    );
    Pixels::rgb(info.width.into(), info.height.into(), data).unwrap()
}

/// The largest rendition.
pub fn largest(n: &Normalized) -> Pixels {
    decode_jpeg(&n.renditions[0].jpeg)
}

/// Mean colour of the `size`-pixel square whose top-left corner is at `(x, y)`.
pub fn mean(img: &Pixels, x: u32, y: u32, size: u32) -> [f64; 3] {
    let mut sum = [0f64; 3];
    for yy in y..y + size {
        for xx in x..x + size {
            let p = img.rgb_at(xx, yy);
            (0..3).for_each(|c| sum[c] += f64::from(p[c]));
        }
    }
    sum.map(|s| s / f64::from(size * size))
}

/// True when `got` is within `tol` of `want` on every channel.
pub fn near(got: [f64; 3], want: [u8; 3], tol: f64) -> bool {
    (0..3).all(|c| (got[c] - f64::from(want[c])).abs() <= tol)
}

/// The marker codes of a JPEG up to its first scan.
pub fn markers(jpeg: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let m = jpeg[i + 1];
        out.push(m);
        if m == 0xDA {
            break;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        i += 2 + len;
    }
    out
}

/// Chroma saturation (max − min) of a mean colour.
pub fn saturation(c: [f64; 3]) -> f64 {
    c.iter().copied().fold(f64::MIN, f64::max) - c.iter().copied().fold(f64::MAX, f64::min)
}
