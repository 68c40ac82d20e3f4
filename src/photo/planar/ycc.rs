//! YCbCr planes to RGB pixels, as libjpeg's `ycc_rgb_convert` (JFIF full-range YCbCr) in
//! its 16-bit fixed point: row by row, or written straight into upright order.

use crate::photo::orient;

const fn fix(x: f64) -> i32 {
    (x * 65536.0 + 0.5) as i32
}
const HALF: i32 = 1 << 15;

/// What a chroma sample adds to R, G and B (each within ±227).
fn chroma_terms(cb: u8, cr: u8) -> [i32; 3] {
    let (b, r) = (i32::from(cb) - 128, i32::from(cr) - 128);
    [
        (fix(1.402) * r + HALF) >> 16,
        (-fix(0.34414) * b - fix(0.71414) * r + HALF) >> 16,
        (fix(1.772) * b + HALF) >> 16,
    ]
}

/// libjpeg's `ycc_rgb_convert` (JFIF full-range YCbCr) in its 16-bit fixed point, for a
/// `width`-wide luma plane whose chroma samples each cover `k`x`k` pixels (1 or 2). The
/// chroma terms are worked out once per chroma row and spread to one per pixel, so each
/// pixel costs three adds.
pub fn ycc_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], width: u32, k: usize) -> Vec<u8> {
    let w = width as usize;
    let cw = w.div_ceil(k);
    let mut out = vec![0u8; y.len() * 3];
    // What the chroma over each pixel of the current row adds to R, G and B.
    let mut terms = [vec![0i16; w], vec![0i16; w], vec![0i16; w]];
    let rows = out.chunks_exact_mut(w * 3).zip(y.chunks_exact(w));
    for (row, (out_row, y_row)) in rows.enumerate() {
        if row % k == 0 {
            let at = (row / k) * cw;
            let (Some(cb_row), Some(cr_row)) = (cb.get(at..at + cw), cr.get(at..at + cw)) else {
                break; // unreachable: the chroma planes cover the luma plane
            };
            let [tr, tg, tb] = &mut terms;
            let spread = tr.chunks_mut(k).zip(tg.chunks_mut(k)).zip(tb.chunks_mut(k));
            for (((r_out, g_out), b_out), (&b, &r)) in spread.zip(cb_row.iter().zip(cr_row)) {
                // Each within ±227: they fit an i16.
                let [tr, tg, tb] = chroma_terms(b, r);
                r_out.fill(tr as i16);
                g_out.fill(tg as i16);
                b_out.fill(tb as i16);
            }
        }
        let [tr, tg, tb] = &terms;
        let pixels = out_row.chunks_exact_mut(3).zip(y_row);
        for ((((px, &l), &r), &g), &b) in pixels.zip(tr).zip(tg).zip(tb) {
            let l = i16::from(l);
            px[0] = (l + r).clamp(0, 255) as u8;
            px[1] = (l + g).clamp(0, 255) as u8;
            px[2] = (l + b).clamp(0, 255) as u8;
        }
    }
    out
}

/// [`ycc_to_rgb`] for chroma at half size (each sample over 2x2 pixels), each pixel written
/// where EXIF orientation `o` puts it upright ([`orient::walk`]), so a turned square
/// needs no second pass and no second copy. `width × height` is the stored size.
pub fn ycc_to_rgb_turned(
    y: &[u8],
    cb: &[u8],
    cr: &[u8],
    width: u32,
    height: u32,
    o: u8,
) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let cw = w.div_ceil(2);
    let (uw, _) = orient::upright_size(o, w, h);
    let orient::Walk {
        start: (x0, y0),
        right: (ax, ay),
        down: (bx, by),
    } = orient::walk(o, w, h);
    let mut out = vec![0u8; w * h * 3];
    for (uy, row) in out.chunks_exact_mut(uw * 3).enumerate() {
        let (mut sx, mut sy) = (x0 + bx * uy as isize, y0 + by * uy as isize);
        for px in row.chunks_exact_mut(3) {
            // (sx, sy) stays inside the stored image: the map is a bijection onto it.
            let (xs, ys) = (sx as usize, sy as usize);
            let c = (ys / 2) * cw + xs / 2;
            let l = i32::from(y[ys * w + xs]);
            let t = chroma_terms(cb[c], cr[c]);
            px[0] = (l + t[0]).clamp(0, 255) as u8;
            px[1] = (l + t[1]).clamp(0, 255) as u8;
            px[2] = (l + t[2]).clamp(0, 255) as u8;
            sx += ax;
            sy += ay;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photo::pixels::Pixels;

    #[test]
    fn ycc_round_trips_primary_colours_like_libjpeg() {
        // JFIF: pure red is Y 76, Cb 85, Cr 255; white 255/128/128; black 0/128/128.
        let rgb = ycc_to_rgb(&[76, 255, 0], &[85, 128, 128], &[255, 128, 128], 3, 1);
        assert_eq!(&rgb[3..], &[255, 255, 255, 0, 0, 0]);
        assert!(
            rgb[0] >= 253 && rgb[1] <= 2 && rgb[2] <= 2,
            "{:?}",
            &rgb[..3]
        );
    }

    #[test]
    fn converting_upright_is_converting_then_turning_for_every_orientation() {
        for (w, h) in [(7u32, 5u32), (8, 6), (1, 3)] {
            let n = (w * h) as usize;
            let (cw, ch) = (w.div_ceil(2) as usize, h.div_ceil(2) as usize);
            let y: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
            let cb: Vec<u8> = (0..cw * ch).map(|i| (60 + i * 23 % 140) as u8).collect();
            let cr: Vec<u8> = (0..cw * ch).map(|i| (40 + i * 51 % 170) as u8).collect();
            let stored = Pixels::rgb(w, h, ycc_to_rgb(&y, &cb, &cr, w, 2)).unwrap();
            for o in 1..=8u8 {
                let want = orient::apply(o, stored.clone());
                let got = ycc_to_rgb_turned(&y, &cb, &cr, w, h, o);
                assert_eq!(got, want.data, "{w}x{h} orientation {o}");
            }
        }
    }
}
