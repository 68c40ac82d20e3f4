//! PNG decoded row by row and box-reduced as the rows arrive: PNG has no DCT scaling, so
//! this is its counterpart. Each row becomes 8-bit RGB (16-bit samples rounded, grey
//! repeated, alpha flattened onto the background, as the `image` crate path does) and is
//! averaged into a `k`x`k` box, `k` being the largest whole factor that keeps the short side
//! at or above what the renditions need. A 2000x2000 PNG is then never held at full size:
//! 3 MB instead of 12 MB of pixels, which on this machine is also time (every fresh page
//! costs about 2 µs), and the resize that follows starts from a quarter of the samples.

use std::io::Cursor;

use png::{BitDepth, ColorType, Transformations};

use super::pixels::{Layout, Pixels};
use super::{Limits, PhotoError};

/// Boxes larger than this are never needed (the renditions need ≥ 48 px and limits keep
/// sides far below 256 × 48); it also keeps the `u32` sums far from overflowing.
const MAX_FACTOR: u32 = 256;

/// The largest whole factor `k` with `short / k ≥ need` (1 when the photo is not larger).
pub fn box_factor(short: u32, need: u32) -> u32 {
    (short / need.max(1)).clamp(1, MAX_FACTOR)
}

/// Decode a non-interlaced PNG to RGB, box-reduced so its short side stays ≥
/// `min_short_side`; `None` for an interlaced PNG (its rows arrive in seven passes), which
/// the caller decodes whole instead.
pub fn decode(
    bytes: &[u8],
    limits: &Limits,
    min_short_side: u32,
    background: [u8; 3],
) -> Result<Option<Pixels>, PhotoError> {
    let corrupt = |e: png::DecodingError| PhotoError::corrupt("PNG", e);
    let bound = png::Limits {
        bytes: usize::try_from(limits.max_pixels.saturating_mul(8).max(64 << 20))
            .unwrap_or(usize::MAX),
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), bound);
    decoder.set_transformations(Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(corrupt)?;
    let info = reader.info();
    if info.interlaced {
        return Ok(None);
    }
    let (w, h) = (info.width, info.height);
    let (color, depth) = reader.output_color_type();
    let layout = RowLayout::of(color, depth).ok_or_else(|| {
        PhotoError::corrupt(
            "PNG",
            format!("unexpected decoded layout {color:?} {depth:?}"),
        )
    })?;
    let k = box_factor(w.min(h), min_short_side);
    let mut boxes = BoxReducer::new(w, h, k);
    let row_len = w as usize * 3;
    let mut rgb = vec![0u8; row_len];
    while let Some(row) = reader.next_row().map_err(corrupt)? {
        let px = layout.to_rgb(row.data(), background, &mut rgb);
        if px.len() != row_len {
            return Err(PhotoError::corrupt(
                "PNG",
                "a row is shorter than the header says",
            ));
        }
        boxes.push_row(px);
    }
    boxes.finish().map(Some)
}

/// What one decoded row holds after `EXPAND`: channels and sample width.
#[derive(Clone, Copy)]
struct RowLayout {
    channels: usize,
    sixteen: bool,
}

impl RowLayout {
    fn of(color: ColorType, depth: BitDepth) -> Option<Self> {
        let channels = match color {
            ColorType::Grayscale => 1,
            ColorType::GrayscaleAlpha => 2,
            ColorType::Rgb => 3,
            ColorType::Rgba => 4,
            ColorType::Indexed => return None,
        };
        let sixteen = match depth {
            BitDepth::Eight => false,
            BitDepth::Sixteen => true,
            _ => return None,
        };
        Some(Self { channels, sixteen })
    }

    /// The row as 8-bit RGB: borrowed when it already is, else written into `out`.
    fn to_rgb<'a>(self, row: &'a [u8], background: [u8; 3], out: &'a mut [u8]) -> &'a [u8] {
        if self.channels == 3 && !self.sixteen {
            return row;
        }
        let size = if self.sixteen { 2 } else { 1 };
        let sample = |px: &[u8], c: usize| -> u32 {
            if self.sixteen {
                // As `image` converts 16-bit samples: (v + 128) / 257, rounded.
                (u32::from(u16::from_be_bytes([px[2 * c], px[2 * c + 1]])) + 128) / 257
            } else {
                u32::from(px[c])
            }
        };
        let grey = self.channels < 3;
        let alpha = self.channels.is_multiple_of(2);
        let mut written = 0;
        for (px, o) in row
            .chunks_exact(self.channels * size)
            .zip(out.chunks_exact_mut(3))
        {
            let rgb = if grey {
                let v = sample(px, 0);
                [v, v, v]
            } else {
                [sample(px, 0), sample(px, 1), sample(px, 2)]
            };
            let a = if alpha {
                sample(px, self.channels - 1)
            } else {
                255
            };
            for c in 0..3 {
                // Flattened as decode::flatten_rgba does: rounded, never over 255.
                let v = rgb[c] * a + u32::from(background[c]) * (255 - a);
                o[c] = ((v + 127) / 255) as u8;
            }
            written += 3;
        }
        &out[..written]
    }
}

/// Sums rows of RGB in `k`x`k` boxes and writes each finished row of boxes as averages.
/// The last box of a row or column covers what is left (fewer than `k` pixels).
struct BoxReducer {
    k: usize,
    width: usize,
    out_w: usize,
    out_h: usize,
    /// Per sample, the sum down the rows of the current row of boxes: one add per sample
    /// per row, which the compiler vectorises; the sums across are made once per `k` rows.
    column_sums: Vec<u16>,
    rows_in_box: usize,
    out: Vec<u8>,
}

/// Exact `(x + n/2) / n` for `x ≤ 255·n` and `n < 2^16.5` without a division: with
/// `m = ⌈2^41/n⌉` the error of `x·m >> 41` stays below `1/n` (Granlund–Montgomery).
fn reciprocal(n: u32) -> u64 {
    (1u64 << 41).div_ceil(u64::from(n.max(1)))
}

fn divide_rounded(sum: u32, n: u32, m: u64) -> u8 {
    ((u64::from(sum + n / 2) * m) >> 41) as u8
}

impl BoxReducer {
    fn new(width: u32, height: u32, k: u32) -> Self {
        let (k, width) = (k as usize, width as usize);
        let out_w = width.div_ceil(k);
        let out_h = (height as usize).div_ceil(k);
        Self {
            k,
            width,
            out_w,
            out_h,
            column_sums: vec![0; if k == 1 { 0 } else { width * 3 }],
            rows_in_box: 0,
            out: Vec::with_capacity(out_w * out_h * 3),
        }
    }

    fn push_row(&mut self, px: &[u8]) {
        if self.out.len() >= self.out_w * self.out_h * 3 {
            return; // more rows than the header said: ignore them, as decoders do
        }
        if self.k == 1 {
            self.out.extend_from_slice(px);
            return;
        }
        // k ≤ MAX_FACTOR rows of 255 fit in a u16.
        for (s, &p) in self.column_sums.iter_mut().zip(px) {
            *s += u16::from(p);
        }
        self.rows_in_box += 1;
        if self.rows_in_box == self.k {
            self.flush();
        }
    }

    /// Write the averages of the boxes summed so far and start the next row of boxes.
    fn flush(&mut self) {
        let rows = self.rows_in_box as u32;
        let (k, full_n) = (self.k, rows * self.k as u32);
        let m = reciprocal(full_n);
        let start = self.out.len();
        self.out.resize(start + self.out_w * 3, 0);
        let out = &mut self.out[start..];
        let whole = self.width / k;
        let (sums, rest) = self.column_sums.split_at(whole * 3 * k);
        let (out_whole, out_rest) = out.split_at_mut(whole * 3);
        if k == 2 {
            // The common case (a 2000-px PNG for a 648 rendition), kept simple enough for
            // the compiler to unroll.
            for (o, g) in out_whole.chunks_exact_mut(3).zip(sums.chunks_exact(6)) {
                for c in 0..3 {
                    let t = u32::from(g[c]) + u32::from(g[c + 3]);
                    o[c] = divide_rounded(t, full_n, m);
                }
            }
        } else {
            for (o, g) in out_whole.chunks_exact_mut(3).zip(sums.chunks_exact(3 * k)) {
                let mut t = [0u32; 3];
                for p in g.chunks_exact(3) {
                    t[0] += u32::from(p[0]);
                    t[1] += u32::from(p[1]);
                    t[2] += u32::from(p[2]);
                }
                o.copy_from_slice(&t.map(|v| divide_rounded(v, full_n, m)));
            }
        }
        if !rest.is_empty() {
            // The ragged last box: fewer than k columns.
            let n = rows * (rest.len() / 3) as u32;
            let mut t = [0u32; 3];
            for p in rest.chunks_exact(3) {
                t[0] += u32::from(p[0]);
                t[1] += u32::from(p[1]);
                t[2] += u32::from(p[2]);
            }
            out_rest.copy_from_slice(&t.map(|v| divide_rounded(v, n, reciprocal(n))));
        }
        self.column_sums.fill(0);
        self.rows_in_box = 0;
    }

    fn finish(mut self) -> Result<Pixels, PhotoError> {
        if self.rows_in_box > 0 {
            self.flush();
        }
        if self.out.len() != self.out_w * self.out_h * 3 {
            return Err(PhotoError::corrupt(
                "PNG",
                "the image data ends before the last row",
            ));
        }
        Ok(Pixels {
            width: self.out_w as u32,
            height: self.out_h as u32,
            layout: Layout::Rgb,
            data: self.out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reduce(w: u32, h: u32, k: u32, data: &[u8]) -> Pixels {
        let mut b = BoxReducer::new(w, h, k);
        for row in data.chunks_exact(w as usize * 3) {
            b.push_row(row);
        }
        b.finish().unwrap()
    }

    #[test]
    fn factor_keeps_the_short_side_at_or_above_the_need() {
        assert_eq!(box_factor(2000, 972), 2);
        assert_eq!(box_factor(1943, 972), 1);
        assert_eq!(box_factor(500, 972), 1);
        assert_eq!(box_factor(9000, 64), 140);
        assert_eq!(box_factor(60_000, 1), MAX_FACTOR);
        for short in [972u32, 1944, 2915, 4000, 12_000] {
            let k = box_factor(short, 972);
            assert!(short.div_ceil(k) >= 972, "{short}/{k}");
            assert!(short / (k + 1) < 972, "{short}: {k} is not the largest");
        }
    }

    #[test]
    fn boxes_average_and_the_ragged_edge_averages_what_is_left() {
        // 5x3 grey-ish ramp, k = 2: boxes of 2x2, 2x2, 1x2 on top, then 2x1, 2x1, 1x1.
        let w = 5;
        let vals: Vec<u8> = (0..15u8).map(|i| i * 10).collect();
        let data: Vec<u8> = vals.iter().flat_map(|&v| [v, v, 255 - v]).collect();
        let p = reduce(w, 3, 2, &data);
        assert_eq!((p.width, p.height), (3, 2));
        let at = |x: usize, y: usize| p.data[(y * 3 + x) * 3];
        // (0+10+50+60)/4 = 30; (20+30+70+80)/4 = 50; (40+90)/2 = 65
        assert_eq!([at(0, 0), at(1, 0), at(2, 0)], [30, 50, 65]);
        // last row alone: (100+110)/2 = 105, (120+130)/2 = 125, 140
        assert_eq!([at(0, 1), at(1, 1), at(2, 1)], [105, 125, 140]);
        assert_eq!(
            p.data[2],
            255 - 30,
            "the third channel is averaged on its own"
        );
    }

    #[test]
    fn the_reciprocal_divides_exactly_for_every_box_size() {
        for n in (1..=1024u32).chain([4095, 4096, 65_535, 65_536]) {
            let m = reciprocal(n);
            for sum in (0..=255 * n)
                .step_by((n as usize / 7).max(1))
                .chain([255 * n])
            {
                assert_eq!(
                    u32::from(divide_rounded(sum, n, m)),
                    (sum + n / 2) / n,
                    "{sum}/{n}"
                );
            }
        }
    }

    #[test]
    fn factor_one_copies_and_missing_rows_are_an_error() {
        let data: Vec<u8> = (0..24u8).collect();
        assert_eq!(reduce(4, 2, 1, &data).data, data);
        let mut b = BoxReducer::new(4, 3, 2);
        b.push_row(&data[..12]);
        let err = b.finish().unwrap_err();
        assert!(
            err.to_string().contains("ends before the last row"),
            "{err}"
        );
    }

    #[test]
    fn rows_become_rgb_as_the_image_crate_path_makes_them() {
        let mut out = [0u8; 6];
        // 16-bit grey with alpha: 0xFFFF grey at half alpha over black, then opaque 0x8080.
        let ga16 = RowLayout::of(ColorType::GrayscaleAlpha, BitDepth::Sixteen).unwrap();
        let row = [0xFF, 0xFF, 0x80, 0x00, 0x80, 0x80, 0xFF, 0xFF];
        let rgb = ga16.to_rgb(&row, [0, 0, 0], &mut out);
        // alpha 0x8000 → (32768+128)/257 = 128; 255*128/255 = 128; 0x8080 → 128
        assert_eq!(rgb, [128, 128, 128, 128, 128, 128]);
        let rgba = RowLayout::of(ColorType::Rgba, BitDepth::Eight).unwrap();
        let rgb = rgba.to_rgb(
            &[200, 100, 0, 0, 10, 20, 30, 255],
            [255, 255, 255],
            &mut out,
        );
        assert_eq!(rgb, [255, 255, 255, 10, 20, 30]);
        assert!(RowLayout::of(ColorType::Indexed, BitDepth::Eight).is_none());
    }
}
