//! Baseline sRGB JPEG encoding (4:2:0, JFIF only: no EXIF, XMP, ICC or comment is ever
//! written) and the quality search that lands the best quality under a byte budget.

use super::pixels::{Layout, Pixels};
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
/// JPEG size falls (near enough) monotonically with quality, so the search keeps a bracket
/// — the best quality known to fit, the lowest known not to — and guesses by
/// interpolating log(size) between them. Each round encodes two qualities at once on two
/// cores (the guess and the one above it), so a bracket usually closes in two rounds.
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
    // The second-lowest quality known not to fit, for extrapolating before anything fits.
    let mut over2: Option<(u8, usize)> = None;
    // Round one: the top of the range and, when the budget is tight for the pixel count
    // (a 648 photo under 100 KB), a typical landing point for photos at the same time.
    let bytes_per_pixel = budget as f64 / (f64::from(img.width) * f64::from(img.height));
    let mut round = if bytes_per_pixel > LOOSE_BUDGET_BPP {
        vec![range.max]
    } else {
        vec![range.max, PRIOR_GUESS.clamp(range.min, range.max)]
    };
    loop {
        round.sort_unstable();
        round.dedup();
        attempts += round.len() as u32;
        for (q, bytes) in encode_many(img, &round)? {
            if bytes.len() <= budget {
                if fit.as_ref().is_none_or(|f| q > f.0) {
                    fit = Some((q, bytes));
                }
            } else if over.is_none_or(|o| q < o.0) {
                over2 = over;
                over = Some((q, bytes.len()));
            } else if over2.is_none_or(|o| q < o.0) {
                over2 = Some((q, bytes.len()));
            }
        }
        let lo = fit.as_ref().map(|f| f.0);
        match (lo, over) {
            (Some(q), None) => return finish(spec, fit_bytes(fit), q, false, attempts),
            (Some(q), Some((o, _))) if o == q + 1 => {
                return finish(spec, fit_bytes(fit), q, false, attempts)
            }
            (None, Some((o, _))) if o == range.min => break,
            _ => {}
        }
        let (oq, osize) = over.unwrap_or((range.max, budget + 1));
        let g = match &fit {
            Some((q, b)) => {
                let (lq, ls) = (f64::from(*q), (b.len() as f64).ln());
                let (hq, hs) = (f64::from(oq), (osize as f64).ln());
                let t = ((budget as f64).ln() - ls) / (hs - ls).max(1e-9);
                ((lq + t * (hq - lq)).floor() as i32).clamp(i32::from(*q) + 1, i32::from(oq) - 1)
            }
            // Nothing fits yet: assume size halves every ~18 quality steps.
            None => {
                let steps =
                    ((osize as f64 / budget as f64).ln() / (2f64.ln() / 18.0)).ceil() as i32;
                (i32::from(oq) - steps.max(1)).max(i32::from(range.min))
            }
        } as u8;
        round = match &fit {
            // Inside a bracket: the guess and the one above it usually close it.
            Some(_) if g + 1 < oq => vec![g, g + 1],
            Some(_) => vec![g],
            // Extrapolating: also try one below, so the next bracket likely has a fit.
            None if g > range.min => vec![g - 1, g],
            None => vec![g],
        };
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

/// Low enough that detailed photos (image-stack.md §5: 12 MP forest ≈ 99 KB at q75) fit, so the
/// first round brackets the answer and the second usually closes it.
const PRIOR_GUESS: u8 = 74;

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
        let img = noise(160);
        let sizes: Vec<usize> = (60..=92).map(|q| encode(&img, q).unwrap().len()).collect();
        for budget in [
            sizes[0] + 1,
            sizes[10],
            sizes[20] + 7,
            sizes[32] - 1,
            sizes[32],
        ] {
            let spec = RenditionSpec {
                target: Target::M365,
                size: 160,
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
