//! Baseline sRGB JPEG encoding (4:2:0, JFIF only: no EXIF, XMP, ICC or comment is ever
//! written) and the quality search that lands the best quality under a byte budget.

use super::pixels::{Layout, Pixels};
use super::predict::SizeModel;
use super::{PhotoError, QualityRange, RenditionSpec};

/// An encoded rendition and how it was reached.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The JPEG bytes.
    pub bytes: Vec<u8>,
    /// The quality used.
    pub quality: u8,
    /// True when even the lowest quality of the range was over the budget (but within the
    /// hard limit); the lowest quality is then kept.
    pub over_budget: bool,
    /// How many encodes the search took.
    pub attempts: u32,
}

/// Encode `img` (RGB) at the best quality in `range` whose size is ≤ `spec.budget`.
///
/// JPEG size rises (near enough) monotonically with quality, so the search keeps a
/// bracket — the best quality known to fit, the lowest known not to — and stops when they
/// are neighbours. Each round encodes the quality the size model ([`SizeModel`], corrected
/// by the nearest real encode) puts last under the budget, and the one above it, on two
/// cores; a right prediction closes the bracket in one round.
pub fn encode_within(
    img: &Pixels,
    spec: &RenditionSpec,
    range: QualityRange,
) -> Result<Encoded, PhotoError> {
    let Some(budget) = spec.budget else {
        let top = encode(img, range.max)?;
        return finish(spec, top, range.max, false, 1);
    };
    let mut attempts = 0;
    let mut fit: Option<(u8, Vec<u8>)> = None;
    let mut over: Option<(u8, usize)> = None;
    let mut model: Option<SizeModel> = None;
    // A generous budget for the pixel count (a 96 px photo under 10 KB) nearly always
    // takes the top quality: try it alone before modelling anything.
    let bytes_per_pixel = budget as f64 / (f64::from(img.width) * f64::from(img.height));
    let mut round = if bytes_per_pixel > LOOSE_BUDGET_BPP {
        vec![range.max]
    } else {
        let m = model.insert(size_model(img)?);
        next_round(
            m,
            backend::MODEL_FACTOR,
            budget,
            range.min.saturating_sub(1),
            range.max + 1,
        )
    };
    loop {
        attempts += round.len() as u32;
        for (q, bytes) in encode_many(img, &round)? {
            if bytes.len() <= budget {
                if fit.as_ref().is_none_or(|f| q > f.0) {
                    fit = Some((q, bytes));
                }
            } else if over.is_none_or(|o| q < o.0) {
                over = Some((q, bytes.len()));
            }
        }
        let lo = fit.as_ref().map(|f| f.0);
        let hi = over.map(|o| o.0);
        match (lo, hi) {
            (Some(q), _) if q == range.max => {
                return finish(spec, fit_bytes(fit), q, false, attempts)
            }
            (Some(q), Some(o)) if o == q + 1 => {
                return finish(spec, fit_bytes(fit), q, false, attempts)
            }
            (None, Some(o)) if o == range.min => break,
            _ => {}
        }
        let m = match &mut model {
            Some(m) => m,
            None => model.insert(size_model(img)?),
        };
        // Correct the model by the real size nearest the budget.
        let (mq, msize) = match (&fit, over) {
            (Some((q, b)), _) => (*q, b.len()),
            (None, Some(o)) => o,
            (None, None) => (range.max, budget),
        };
        let correction = msize as f64 / m.bytes_at(mq).max(1) as f64;
        let lo = lo.unwrap_or(range.min.saturating_sub(1));
        let hi = hi.unwrap_or(range.max + 1);
        round = next_round(m, correction, budget, lo, hi);
    }
    // Over budget even at the lowest quality of the range: keep it if the store can still
    // take it, else look below the range for the hard limit.
    let lowest = encode(img, range.min)?;
    let within = |b: &Vec<u8>| spec.hard_limit.is_none_or(|l| b.len() <= l);
    if within(&lowest) {
        return finish(spec, lowest, range.min, true, attempts + 1);
    }
    // Below the range only as far as a photo still looks like one.
    for q in (HARD_LIMIT_FLOOR..range.min).rev().step_by(5) {
        let b = encode(img, q)?;
        if within(&b) {
            return finish(spec, b, q, true, attempts);
        }
    }
    Err(PhotoError::OverHardLimit {
        target: spec.target.name(),
        size: spec.size,
        bytes: lowest.len(),
        quality: range.min,
        limit: spec.hard_limit.unwrap_or(0),
    })
}

/// The lowest quality tried to get under a hard limit; below it the photo is refused.
const HARD_LIMIT_FLOOR: u8 = 30;

/// Above this many budget bytes per pixel the top quality nearly always fits (a 96 px
/// photo under 10 KB), so the first round tries it alone.
const LOOSE_BUDGET_BPP: f64 = 0.8;

/// The qualities to encode next, strictly between `lo` (known to fit, or one below the
/// range) and `hi` (known not to fit, or one above the range): the highest the model ×
/// `correction` puts under the budget, and the one above it when that is still open.
fn next_round(m: &SizeModel, correction: f64, budget: usize, lo: u8, hi: u8) -> Vec<u8> {
    let fits = |q: u8| m.bytes_at(q) as f64 * correction <= budget as f64;
    // The top open quality first (photos that fit at the top are common), then a binary
    // search on the (monotone) predicted size for the last quality that fits.
    if fits(hi - 1) {
        return vec![hi - 1];
    }
    let (mut a, mut b) = (lo + 1, hi - 1); // the answer g is in [a - 1, b - 1]
    while a < b {
        let mid = a + (b - a) / 2;
        if fits(mid) {
            a = mid + 1;
        } else {
            b = mid;
        }
    }
    let g = (a - 1).max(lo + 1);
    // When even the lowest open quality looks too big, it alone settles the question.
    if g + 1 < hi && fits(g) {
        vec![g, g + 1]
    } else {
        vec![g]
    }
}

fn size_model(img: &Pixels) -> Result<SizeModel, PhotoError> {
    SizeModel::new(img).ok_or_else(|| PhotoError::Encode("only RGB images can be encoded".into()))
}

fn fit_bytes(fit: Option<(u8, Vec<u8>)>) -> Vec<u8> {
    fit.map(|f| f.1).unwrap_or_default()
}

/// Encode at each quality, the first on this thread and any second on another.
fn encode_many(img: &Pixels, qs: &[u8]) -> Result<Vec<(u8, Vec<u8>)>, PhotoError> {
    match qs {
        [a, b] => std::thread::scope(|scope| {
            let other = scope.spawn(|| encode(img, *b));
            let first = encode(img, *a)?;
            let second = other
                .join()
                .map_err(|_| PhotoError::Encode("an encoder thread failed".into()))??;
            Ok(vec![(*a, first), (*b, second)])
        }),
        _ => qs.iter().map(|&q| Ok((q, encode(img, q)?))).collect(),
    }
}

fn finish(
    spec: &RenditionSpec,
    bytes: Vec<u8>,
    quality: u8,
    over_budget: bool,
    attempts: u32,
) -> Result<Encoded, PhotoError> {
    if let Some(limit) = spec.hard_limit.filter(|&l| bytes.len() > l) {
        return Err(PhotoError::OverHardLimit {
            target: spec.target.name(),
            size: spec.size,
            bytes: bytes.len(),
            quality,
            limit,
        });
    }
    Ok(Encoded {
        bytes,
        quality,
        over_budget,
        attempts,
    })
}

/// One baseline JPEG at `quality`.
pub fn encode(img: &Pixels, quality: u8) -> Result<Vec<u8>, PhotoError> {
    if img.layout != Layout::Rgb
        || img.width > u32::from(u16::MAX)
        || img.height > u32::from(u16::MAX)
    {
        return Err(PhotoError::Encode(
            "only RGB images up to 65535 px can be encoded".into(),
        ));
    }
    backend::encode(img, quality)
}

#[cfg(feature = "turbojpeg")]
mod backend {
    //! libjpeg-turbo: optimised Huffman tables, interleaved baseline scan.
    use super::*;
    use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};

    /// Real size ÷ predicted size, typically (the model runs 1–3 % low on photos here).
    pub const MODEL_FACTOR: f64 = 1.015;

    pub fn encode(img: &Pixels, quality: u8) -> Result<Vec<u8>, PhotoError> {
        let err = |e: turbojpeg::Error| PhotoError::Encode(e.to_string());
        let mut c = Compressor::new().map_err(err)?;
        c.set_quality(i32::from(quality)).map_err(err)?;
        c.set_subsamp(Subsamp::Sub2x2).map_err(err)?;
        c.set_optimize(true).map_err(err)?;
        let image = Image {
            pixels: img.data.as_slice(),
            width: img.width as usize,
            pitch: img.width as usize * 3,
            height: img.height as usize,
            format: PixelFormat::RGB,
        };
        c.compress_to_vec(image).map_err(err)
    }
}

#[cfg(not(feature = "turbojpeg"))]
mod backend {
    //! jpeg-encoder. Its optimised-Huffman mode writes one scan per component, which
    //! zune-jpeg ≤ 0.5.15 (and so the `image` crate) decodes as garbage (image-stack.md §7);
    //! the interleaved scan costs ~2 % in size and every decoder reads it.
    use super::*;
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    /// Real size ÷ predicted size, typically: the Annex K tables cost 7–18 % more than the
    /// optimal ones the model prices.
    pub const MODEL_FACTOR: f64 = 1.12;

    pub fn encode(img: &Pixels, quality: u8) -> Result<Vec<u8>, PhotoError> {
        let mut out = Vec::with_capacity(img.data.len() / 8);
        let mut e = Encoder::new(&mut out, quality);
        e.set_sampling_factor(SamplingFactor::R_4_2_0);
        e.set_optimized_huffman_tables(false);
        e.encode(
            &img.data,
            img.width as u16,
            img.height as u16,
            ColorType::Rgb,
        )
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photo::Target;

    fn noise(side: u32) -> Pixels {
        let mut s = 7u64;
        let data = (0..side * side * 3)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 24) as u8
            })
            .collect();
        Pixels::rgb(side, side, data).unwrap()
    }

    #[test]
    fn a_hard_limit_no_quality_can_meet_is_an_error_not_an_oversized_file() {
        let spec = RenditionSpec {
            target: Target::Ad,
            size: 96,
            budget: Some(200),
            hard_limit: Some(300),
        };
        let e = encode_within(&noise(96), &spec, QualityRange::default()).unwrap_err();
        assert_eq!(e.code(), "over_hard_limit");
        assert!(e.to_string().contains("300-byte hard limit"), "{e}");
    }

    #[test]
    fn the_search_finds_the_same_quality_as_trying_every_one() {
        for img in [noise(160), crate::photo::predict::tests::card(203, 150)] {
            same_quality_as_exhaustive(&img);
        }
    }

    fn same_quality_as_exhaustive(img: &Pixels) {
        let img = img.clone();
        let sizes: Vec<usize> = (60..=92).map(|q| encode(&img, q).unwrap().len()).collect();
        // Every boundary: exactly the size at each quality, and one byte less.
        for budget in sizes
            .iter()
            .flat_map(|&s| [s, s - 1])
            .filter(|&b| b > sizes[0])
        {
            let spec = RenditionSpec {
                target: Target::M365,
                size: img.width,
                budget: Some(budget),
                hard_limit: None,
            };
            let got = encode_within(&img, &spec, QualityRange::default()).unwrap();
            let best = (60..=92u8)
                .rev()
                .find(|&q| sizes[usize::from(q - 60)] <= budget)
                .unwrap();
            assert_eq!(got.quality, best, "budget {budget}");
            assert!(got.bytes.len() <= budget);
        }
    }
}
