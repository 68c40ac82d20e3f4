//! JPEG size prediction for the quality search: how many bytes a baseline 4:2:0 JPEG
//! with optimised Huffman tables of this image takes at each quality, without encoding.
//!
//! It follows libjpeg's compressor step by step (jccolor's fixed-point RGB→YCbCr,
//! jcsample's 2x2 average, the Annex K tables scaled by `jpeg_quality_scaling`, rounding
//! quantisation, dummy edge blocks, DC differences per component, run/size symbols with
//! ZRL and EOB, optimal code lengths capped at 16 bits). DC terms are counted for every
//! block, from its mean (the colour transform is linear); AC terms for every
//! [`SAMPLE_EVERY`]th MCU on a diagonal lattice, scaled up. The search still encodes to
//! check: the prediction only chooses what to try first.

use super::pixels::{Layout, Pixels};

mod huffman;
use huffman::huffman_bits;

/// One MCU in this many has its AC coefficients transformed and counted.
const SAMPLE_EVERY: usize = 6;

/// Annex K luminance table, natural order (libjpeg `std_luminance_quant_tbl`).
const LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// Annex K chrominance table, natural order.
const CHROMA: [u16; 64] = {
    let mut t = [99u16; 64];
    let head: [(usize, [u16; 4]); 4] = [
        (0, [17, 18, 24, 47]),
        (8, [18, 21, 26, 66]),
        (16, [24, 26, 56, 99]),
        (24, [47, 66, 99, 99]),
    ];
    let mut i = 0;
    while i < 4 {
        let (at, row) = head[i];
        let mut j = 0;
        while j < 4 {
            t[at + j] = row[j];
            j += 1;
        }
        i += 1;
    }
    t
};

/// Zig-zag position → natural position (libjpeg `jpeg_natural_order`).
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// The transformed image, ready to be priced at any quality.
pub struct SizeModel {
    /// DC coefficient (unquantised, ×1) of every block, per component, in coding order.
    dc: [Vec<f32>; 3],
    /// AC coefficients (zig-zag order, 64 per block, index 0 unused) of sampled blocks:
    /// luma, then chroma.
    ac: [Vec<[f32; 64]>; 2],
    /// Real MCUs per sampled MCU.
    scale: f64,
    /// Predictions made so far, by quality (0 = not yet).
    memo: std::cell::RefCell<[usize; 101]>,
}

impl SizeModel {
    /// Transform `img` (RGB, at least 1x1) once; `None` for other layouts.
    pub fn new(img: &Pixels) -> Option<SizeModel> {
        if img.layout != Layout::Rgb || img.width == 0 || img.height == 0 {
            return None;
        }
        let (w, h) = (img.width as usize, img.height as usize);
        // Blocks with data per component (luma full size, chroma halved); the MCU grid
        // around them is completed with dummy blocks.
        let (yb_w, yb_h) = (w.div_ceil(8), h.div_ceil(8));
        let (cb_w, cb_h) = (w.div_ceil(2).div_ceil(8), h.div_ceil(2).div_ceil(8));
        let (mcus_w, mcus_h) = (w.div_ceil(16), h.div_ceil(16));
        let mut dc: [Vec<f32>; 3] = Default::default();
        let mut ac: [Vec<[f32; 64]>; 2] = Default::default();
        let mut sampled = 0usize;
        for my in 0..mcus_h {
            for mx in 0..mcus_w {
                // Edge pixels repeat past the image (jcprepct / jcsample edge expansion).
                let xs: [usize; 16] = std::array::from_fn(|i| (mx * 16 + i).min(w - 1));
                let ys: [usize; 16] = std::array::from_fn(|i| (my * 16 + i).min(h - 1));
                let take = (mx + 2 * my) % SAMPLE_EVERY == 0;
                sampled += usize::from(take);
                // R, G, B sums of the four 8x8 quarters, accumulated in registers per row.
                let mut quads = [[0u32; 3]; 4];
                for (y, &sy) in ys.iter().enumerate() {
                    let row = &img.data[sy * w * 3..(sy + 1) * w * 3];
                    for half in 0..2 {
                        let (mut r, mut g, mut b) = (0u32, 0u32, 0u32);
                        for &sx in &xs[half * 8..half * 8 + 8] {
                            let p = &row[sx * 3..sx * 3 + 3];
                            r += u32::from(p[0]);
                            g += u32::from(p[1]);
                            b += u32::from(p[2]);
                        }
                        let q = &mut quads[(y / 8) * 2 + half];
                        q[0] += r;
                        q[1] += g;
                        q[2] += b;
                    }
                }
                let mut luma = [[0u8; 16]; 16];
                let mut chroma = [[[0u8; 16]; 16]; 2];
                if take {
                    for (y, &sy) in ys.iter().enumerate() {
                        for (x, &sx) in xs.iter().enumerate() {
                            let i = (sy * w + sx) * 3;
                            let (l, b, r) = ycc([img.data[i], img.data[i + 1], img.data[i + 2]]);
                            luma[y][x] = l;
                            chroma[0][y][x] = b;
                            chroma[1][y][x] = r;
                        }
                    }
                }
                for (k, q) in quads.iter().enumerate() {
                    let (bx, by) = (mx * 2 + k % 2, my * 2 + k / 2);
                    let real = bx < yb_w && by < yb_h;
                    let coef = if !real {
                        None
                    } else if take {
                        Some(fdct(&std::array::from_fn(|i| {
                            f32::from(luma[(k / 2) * 8 + i / 8][(k % 2) * 8 + i % 8]) - 128.0
                        })))
                    } else {
                        Some(dc_only(ycc_mean(*q, 64)[0]))
                    };
                    push(&mut dc[0], &mut ac[0], coef, take);
                }
                let total = (0..3)
                    .map(|c| quads.iter().map(|q| q[c]).sum())
                    .collect::<Vec<u32>>();
                let mean = ycc_mean([total[0], total[1], total[2]], 256);
                for c in 0..2 {
                    let real = mx < cb_w && my < cb_h;
                    let coef = if !real {
                        None
                    } else if take {
                        // jcsample h2v2_downsample: four averaged, bias alternating 1, 2.
                        let plane = &chroma[c];
                        Some(fdct(&std::array::from_fn(|i| {
                            let (y, x) = (2 * (i / 8), 2 * (i % 8));
                            let s = u16::from(plane[y][x])
                                + u16::from(plane[y][x + 1])
                                + u16::from(plane[y + 1][x])
                                + u16::from(plane[y + 1][x + 1]);
                            f32::from(((s + 1 + (i % 2) as u16) >> 2) as u8) - 128.0
                        })))
                    } else {
                        Some(dc_only(mean[c + 1]))
                    };
                    push(&mut dc[c + 1], &mut ac[1], coef, take);
                }
            }
        }
        let scale = (mcus_w * mcus_h) as f64 / sampled.max(1) as f64;
        Some(SizeModel {
            dc,
            ac,
            scale,
            memo: std::cell::RefCell::new([0; 101]),
        })
    }

    /// Predicted file size in bytes at `quality` (1–100).
    pub fn bytes_at(&self, quality: u8) -> usize {
        let q = usize::from(quality.clamp(1, 100));
        let known = self.memo.borrow()[q];
        if known > 0 {
            return known;
        }
        let bytes = self.price(q as u8);
        self.memo.borrow_mut()[q] = bytes;
        bytes
    }

    fn price(&self, quality: u8) -> usize {
        let tables = [scaled_table(&LUMA, quality), scaled_table(&CHROMA, quality)];
        let mut dc_hist = [[0u64; 12]; 2];
        let mut extra_dc = 0u64;
        for (c, dcs) in self.dc.iter().enumerate() {
            let r = 1.0 / tables[usize::from(c > 0)][0];
            let mut prev = 0i32;
            for &v in dcs {
                let qv = quantize(v, r);
                let cat = category(qv - prev);
                prev = qv;
                dc_hist[usize::from(c > 0)][cat as usize] += 1;
                extra_dc += u64::from(cat);
            }
        }
        let mut ac_hist = [[0u64; 256]; 2];
        let mut extra_ac = 0u64;
        for (class, blocks) in self.ac.iter().enumerate() {
            let hist = &mut ac_hist[class];
            // Reciprocal steps in zig-zag order.
            let r = ZIGZAG.map(|p| 1.0 / tables[class][p]);
            for coef in blocks {
                // Quantise all 64 in f32 (vectorised; the DC slot is ignored), then walk
                // the non-zero AC ones by bit mask.
                let mut qv = [0f32; 64];
                for ((q, &c), &r) in qv.iter_mut().zip(coef).zip(&r) {
                    *q = quantize_f32(c, r);
                }
                let mut mask = qv
                    .iter()
                    .enumerate()
                    .fold(0u64, |m, (k, &v)| m | (u64::from(v != 0.0) << k))
                    & !1;
                let mut next = 1u32; // the zig-zag position after the last coded one
                while mask != 0 {
                    let k = mask.trailing_zeros();
                    mask &= mask - 1;
                    let mut run = (k - next) as usize;
                    while run > 15 {
                        hist[0xF0] += 1;
                        run -= 16;
                    }
                    let cat = category_f32(qv[k as usize]);
                    hist[(run << 4) | cat as usize] += 1;
                    extra_ac += u64::from(cat);
                    next = k + 1;
                }
                if next < 64 {
                    hist[0x00] += 1;
                }
            }
        }
        let mut bits = extra_dc as f64 + extra_ac as f64 * self.scale;
        let mut dht = 0usize;
        for hist in &dc_hist {
            let (b, n) = huffman_bits(hist, 1.0);
            bits += b;
            dht += 17 + n;
        }
        for hist in &ac_hist {
            let (b, n) = huffman_bits(hist, self.scale);
            bits += b;
            dht += 17 + n;
        }
        // SOI, JFIF APP0, two DQT tables, SOF0, DHT, SOS, EOI (jcmarker.c).
        let headers = 2 + 18 + (4 + 2 * 65) + 19 + (4 + dht) + 14 + 2;
        // An entropy-coded 0xFF byte is followed by a stuffed 0x00 (~1 byte in 256).
        let data = bits / 8.0;
        headers + (data * (1.0 + 1.0 / 256.0)).ceil() as usize
    }
}

const fn fix(x: f64) -> i32 {
    (x * 65536.0 + 0.5) as i32
}

/// libjpeg's `rgb_ycc_convert` in its 16-bit fixed point.
fn ycc(p: [u8; 3]) -> (u8, u8, u8) {
    const HALF: i32 = 1 << 15;
    const OFF: i32 = 128 << 16;
    let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
    let y = (fix(0.299) * r + fix(0.587) * g + fix(0.114) * b + HALF) >> 16;
    let cb = (-fix(0.16874) * r - fix(0.33126) * g + fix(0.5) * b + OFF + HALF - 1) >> 16;
    let cr = (fix(0.5) * r - fix(0.41869) * g - fix(0.08131) * b + OFF + HALF - 1) >> 16;
    (y as u8, cb as u8, cr as u8)
}

/// Mean Y, Cb, Cr of `n` pixels whose R, G, B sums are `sum` (the transform is linear).
fn ycc_mean(sum: [u32; 3], n: u32) -> [f32; 3] {
    let [r, g, b] = sum.map(|v| v as f32 / n as f32);
    [
        0.299 * r + 0.587 * g + 0.114 * b,
        -0.16874 * r - 0.33126 * g + 0.5 * b + 128.0,
        0.5 * r - 0.41869 * g - 0.08131 * b + 128.0,
    ]
}

/// A block known only by its mean: F(0,0) = 8 × (mean − 128), no AC.
fn dc_only(mean: f32) -> [f32; 64] {
    let mut c = [0f32; 64];
    c[0] = 8.0 * (mean - 128.0);
    c
}

/// Record one block in coding order: its DC (a dummy block repeats the previous DC,
/// jccoefct.c) and, for sampled MCUs, its AC in zig-zag order (none for a dummy).
fn push(dc: &mut Vec<f32>, ac: &mut Vec<[f32; 64]>, coef: Option<[f32; 64]>, take: bool) {
    match coef {
        Some(c) => {
            dc.push(c[0]);
            if take {
                ac.push(ZIGZAG.map(|p| c[p]));
            }
        }
        None => {
            dc.push(dc.last().copied().unwrap_or(0.0));
            if take {
                ac.push([0.0; 64]);
            }
        }
    }
}

/// The 8x8 forward DCT as JPEG defines it (F(0,0) = 8 × the block mean), as two passes
/// of 8-wide multiply-adds the compiler vectorises.
fn fdct(block: &[f32; 64]) -> [f32; 64] {
    let c = cosines();
    // Rows: tmp[y][u] = Σx block[y][x] · c[u][x]  (ct[x] holds c[·][x]).
    let ct = &c.1;
    let mut tmp = [[0f32; 8]; 8];
    for (y, t) in tmp.iter_mut().enumerate() {
        for x in 0..8 {
            let b = block[y * 8 + x];
            for u in 0..8 {
                t[u] += b * ct[x][u];
            }
        }
    }
    // Columns: out[v][u] = Σy c[v][y] · tmp[y][u].
    let mut out = [0f32; 64];
    for v in 0..8 {
        let row = &mut out[v * 8..v * 8 + 8];
        for (y, t) in tmp.iter().enumerate() {
            let k = c.0[v][y];
            for u in 0..8 {
                row[u] += k * t[u];
            }
        }
    }
    out
}

/// `c[u][x] = C(u)/2 · cos((2x+1)uπ/16)`, and its transpose.
type Cosines = ([[f32; 8]; 8], [[f32; 8]; 8]);
fn cosines() -> &'static Cosines {
    static C: std::sync::OnceLock<Cosines> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let mut c = [[0f32; 8]; 8];
        let mut t = [[0f32; 8]; 8];
        for u in 0..8 {
            let cu = if u == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                1.0
            };
            for x in 0..8 {
                let a = (2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0;
                c[u][x] = (cu / 2.0 * a.cos()) as f32;
                t[x][u] = c[u][x];
            }
        }
        (c, t)
    })
}

/// `jpeg_set_quality` with `force_baseline`: the base table scaled, clamped to 1–255.
fn scaled_table(base: &[u16; 64], quality: u8) -> [f32; 64] {
    let q = u32::from(quality.clamp(1, 100));
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    base.map(|b| ((u32::from(b) * scale + 50) / 100).clamp(1, 255) as f32)
}

/// `v` over the step whose reciprocal is `r`, rounded to the nearest integer, halves
/// away from zero (jcdctmgr's quantisation); the cast truncates toward zero.
fn quantize(v: f32, r: f32) -> i32 {
    let x = v * r;
    (x + 0.5f32.copysign(x)) as i32
}

/// [`quantize`] kept in f32 so that a block's 64 vectorise (a saturating float-to-int
/// cast does not): `v × r` rounded by the 1.5 × 2²³ trick, exact for |v × r| < 2²², ties
/// to even rather than away from zero, which a prediction can afford.
fn quantize_f32(v: f32, r: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (v * r + MAGIC) - MAGIC
}

/// [`category`] of a whole number held in an f32 (read from its exponent).
fn category_f32(v: f32) -> u32 {
    if v == 0.0 {
        0
    } else {
        (v.abs().to_bits() >> 23) - 126
    }
}

/// Bits needed for the magnitude of `v` (the JPEG "size" category).
fn category(v: i32) -> u32 {
    32 - v.unsigned_abs().leading_zeros()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A photo-like test card: smooth gradients, a textured band, hard edges, and a width
    /// and height that leave partial and dummy blocks.
    pub(crate) fn card(w: u32, h: u32) -> Pixels {
        let mut s = 99u32;
        let mut data = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let grain = (s >> 27) as i32 - 16;
                let band = if (h / 3..h / 2).contains(&y) {
                    grain * 3
                } else {
                    grain / 4
                };
                let edge = if (x / 24 + y / 24) % 2 == 0 { 40 } else { 0 };
                let v = |base: i32| (base + band + edge).clamp(0, 255) as u8;
                data.push(v((x * 200 / w) as i32));
                data.push(v((y * 180 / h) as i32 + 30));
                data.push(v(((x + y) * 100 / (w + h)) as i32 + 60));
            }
        }
        Pixels::rgb(w, h, data).unwrap()
    }

    #[test]
    fn predictions_are_close_to_real_encodes() {
        for (w, h) in [(648, 648), (203, 150)] {
            let img = card(w, h);
            let m = SizeModel::new(&img).unwrap();
            for q in [60, 75, 92] {
                let real = crate::photo::encode::encode(&img, q).unwrap().len() as f64;
                let err = m.bytes_at(q) as f64 / real - 1.0;
                assert!(err.abs() < MAX_ERROR, "{w}x{h} q{q}: {:.1} %", err * 100.0);
            }
        }
    }

    /// libjpeg-turbo writes optimal tables as the model does; jpeg-encoder writes the
    /// Annex K tables, which cost more and vary with the photo.
    const MAX_ERROR: f64 = if cfg!(feature = "turbojpeg") {
        0.04
    } else {
        0.25
    };

    #[test]
    fn predicted_size_rises_with_quality() {
        let m = SizeModel::new(&card(160, 120)).unwrap();
        let sizes: Vec<usize> = (40..=100).map(|q| m.bytes_at(q)).collect();
        assert!(sizes.windows(2).all(|p| p[0] <= p[1]), "{sizes:?}");
    }

    #[test]
    fn the_dct_of_a_flat_block_is_its_dc_alone() {
        let c = fdct(&[10.0; 64]);
        assert!((c[0] - 80.0).abs() < 1e-3, "{}", c[0]);
        assert!(c[1..].iter().all(|v| v.abs() < 1e-3));
    }

    #[test]
    fn the_f32_quantiser_agrees_with_the_integer_one() {
        for i in -20_000..20_000 {
            let v = i as f32 * 0.731;
            for step in [1.0f32, 3.0, 16.0, 99.0, 255.0] {
                let (a, b) = (quantize_f32(v, 1.0 / step), quantize(v, 1.0 / step));
                // Ties may round the other way; nothing else may differ.
                assert!((a - b as f32).abs() <= 1.0, "{v} / {step}: {a} against {b}");
                assert_eq!(a.fract(), 0.0);
                if (a - b as f32).abs() < 0.5 {
                    assert_eq!(category_f32(a), category(b), "{v} / {step}");
                }
            }
        }
    }

    #[test]
    fn quality_tables_follow_libjpeg_scaling() {
        assert_eq!(scaled_table(&LUMA, 50)[0], 16.0);
        assert_eq!(scaled_table(&LUMA, 75)[0], 8.0);
        assert_eq!(scaled_table(&LUMA, 100)[0], 1.0);
        assert_eq!(scaled_table(&LUMA, 1)[63], 255.0);
    }
}
