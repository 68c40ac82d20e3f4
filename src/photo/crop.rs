//! Chooses the square to keep from a photo that is not square: an explicit box, the
//! centre, or attention-aware (the default). Attention scores a small upright copy of the
//! photo for skin tone, detail and colour — the signals libvips' `attention` crop and
//! smartcrop.js use — and slides the square along the long side to the densest place,
//! preferring the upper part of a portrait where a face normally is.

use super::pixels::Pixels;
use super::{CropBox, CropMode, PhotoError};

/// The square (in upright source pixels) to keep. `thumb` is a small upright RGB copy of
/// the whole photo, made only when attention needs it.
pub fn choose(
    mode: CropMode,
    width: u32,
    height: u32,
    min_side: u32,
    thumb: impl FnOnce() -> Result<Pixels, PhotoError>,
) -> Result<CropBox, PhotoError> {
    let side = width.min(height);
    match mode {
        CropMode::Box(b) => explicit(b, width, height, min_side),
        _ if width == height => Ok(CropBox {
            x: 0,
            y: 0,
            width: side,
            height: side,
        }),
        CropMode::Centre => Ok(at_offset(width, height, (width.max(height) - side) / 2)),
        CropMode::Attention => {
            let t = thumb()?;
            let offset = attention_offset(&t);
            let long = width.max(height);
            let long_small = t.width.max(t.height).max(1);
            let scaled = (offset as f64 * long as f64 / long_small as f64).round() as u32;
            Ok(at_offset(width, height, scaled.min(long - side)))
        }
    }
}

fn at_offset(width: u32, height: u32, offset: u32) -> CropBox {
    let side = width.min(height);
    if width > height {
        CropBox {
            x: offset,
            y: 0,
            width: side,
            height: side,
        }
    } else {
        CropBox {
            x: 0,
            y: offset,
            width: side,
            height: side,
        }
    }
}

/// An explicit box must lie inside the photo; a box that is not square grows to the
/// smallest square around it that still fits (never stretched, nothing it holds is lost
/// unless the photo is too narrow, in which case the square is centred on the box).
fn explicit(b: CropBox, width: u32, height: u32, min_side: u32) -> Result<CropBox, PhotoError> {
    let fits = b.width > 0
        && b.height > 0
        && b.x.checked_add(b.width).is_some_and(|r| r <= width)
        && b.y.checked_add(b.height).is_some_and(|r| r <= height);
    if !fits {
        return Err(PhotoError::InvalidCrop {
            x: b.x,
            y: b.y,
            width: b.width,
            height: b.height,
            image_width: width,
            image_height: height,
        });
    }
    let side = b.width.max(b.height).min(width.min(height));
    if side < min_side {
        return Err(PhotoError::TooSmall {
            width: b.width,
            height: b.height,
            min: min_side,
        });
    }
    let place = |start: u32, len: u32, limit: u32| -> u32 {
        let centre = u64::from(start) * 2 + u64::from(len);
        let s = (centre.saturating_sub(u64::from(side)) / 2) as u32;
        s.min(limit - side)
    };
    Ok(CropBox {
        x: place(b.x, b.width, width),
        y: place(b.y, b.height, height),
        width: side,
        height: side,
    })
}

/// Per-pixel interest: skin tone weighs most, then detail (luma Laplacian), then saturation.
fn interest(t: &Pixels) -> Vec<f32> {
    let (w, h) = (t.width as usize, t.height as usize);
    let luma: Vec<f32> = t
        .data
        .chunks_exact(3)
        .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
        .collect();
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let p = &t.data[i * 3..i * 3 + 3];
            let (r, g, b) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
            let edge = if x > 0 && y > 0 && x + 1 < w && y + 1 < h {
                (4.0 * luma[i] - luma[i - 1] - luma[i + 1] - luma[i - w] - luma[i + w]).abs()
            } else {
                0.0
            };
            // Skin in YCbCr (Chai & Ngan): Cb 77–127, Cr 133–173, not too dark.
            let cb = 128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b;
            let cr = 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b;
            let skin =
                (77.0..=127.0).contains(&cb) && (133.0..=173.0).contains(&cr) && luma[i] > 50.0;
            let max = r.max(g).max(b);
            let sat = if max > 0.0 {
                (max - r.min(g).min(b)) / max
            } else {
                0.0
            };
            out[i] = (edge / 64.0).min(1.0) * 0.6 + if skin { 1.5 } else { 0.0 } + sat * 0.3;
        }
    }
    out
}

/// The offset (in thumbnail pixels, along the long side) of the most interesting square.
fn attention_offset(t: &Pixels) -> u32 {
    let (w, h) = (t.width as usize, t.height as usize);
    let side = w.min(h);
    let portrait = h > w;
    let long = w.max(h);
    if long == side {
        return 0;
    }
    let score = interest(t);
    // Sum interest per line across the short side; prefix sums make every window O(1).
    let mut prefix = vec![0f64; long + 1];
    for k in 0..long {
        let line: f64 = (0..side)
            .map(|j| {
                let (x, y) = if portrait { (j, k) } else { (k, j) };
                f64::from(score[y * w + x])
            })
            .sum();
        prefix[k + 1] = prefix[k] + line;
    }
    let sum = |a: usize, b: usize| prefix[b] - prefix[a];
    // A floor on the total keeps rounding noise in a featureless photo from outweighing the prior.
    let total = prefix[long].max(0.05 * (w * h) as f64);
    // Interest in the outer bands of the square counts against it (as in smartcrop.js), so
    // the subject sits inside the square with a margin instead of touching its edge.
    let band = (side / 12).max(1);
    let max_offset = long - side;
    let mut best = (f64::MIN, 0usize);
    for off in 0..=max_offset {
        let inside = sum(off, off + side);
        let edges = sum(off, off + band) + sum(off + side - band, off + side);
        let pos = off as f64 / max_offset as f64;
        // Prior: portraits keep the top (head and shoulders), landscapes the centre;
        // it only decides between places of nearly equal interest.
        let prior = if portrait {
            1.0 - pos
        } else {
            1.0 - (pos - 0.5).abs() * 2.0
        };
        let value = (inside - edges) / total + 0.05 * prior;
        if value > best.0 + 1e-12 {
            best = (value, off);
        }
    }
    best.1 as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(w: u32, h: u32, rgb: [u8; 3]) -> Pixels {
        Pixels::rgb(w, h, rgb.repeat((w * h) as usize)).unwrap()
    }

    #[test]
    fn a_skin_blob_low_in_a_portrait_pulls_the_square_down() {
        let mut t = flat(40, 100, [40, 60, 90]);
        for y in 70..90 {
            for x in 10..30 {
                let i = (y * 40 + x) * 3;
                t.data[i..i + 3].copy_from_slice(&[224, 172, 140]);
            }
        }
        let b = choose(CropMode::Attention, 400, 1000, 96, || Ok(t)).unwrap();
        assert_eq!((b.width, b.height), (400, 400));
        assert!(
            b.y >= 500 && b.y <= 600,
            "face at 700–900 must be inside, got y={}",
            b.y
        );
    }

    #[test]
    fn a_featureless_portrait_keeps_its_top() {
        let b = choose(CropMode::Attention, 300, 500, 96, || {
            Ok(flat(30, 50, [90; 3]))
        })
        .unwrap();
        assert_eq!(b.y, 0);
    }

    #[test]
    fn explicit_boxes_grow_to_squares_and_must_fit() {
        let b = explicit(
            CropBox {
                x: 100,
                y: 100,
                width: 200,
                height: 100,
            },
            1000,
            800,
            96,
        )
        .unwrap();
        assert_eq!(
            b,
            CropBox {
                x: 100,
                y: 50,
                width: 200,
                height: 200
            }
        );
        let e = explicit(
            CropBox {
                x: 900,
                y: 0,
                width: 200,
                height: 200,
            },
            1000,
            800,
            96,
        );
        assert_eq!(e.unwrap_err().code(), "invalid_crop");
        let small = explicit(
            CropBox {
                x: 0,
                y: 0,
                width: 50,
                height: 50,
            },
            1000,
            800,
            96,
        );
        assert_eq!(small.unwrap_err().code(), "too_small");
    }
}
