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
/// The size of a JPEG falls monotonically (near enough) with quality, so the search keeps a
/// bracket — a quality known to fit and one known not to — and guesses the next quality by
/// interpolating log(size), which lands in two or three encodes instead of five.
pub fn encode_within(
    img: &Pixels,
    spec: &RenditionSpec,
    range: QualityRange,
) -> Result<Encoded, PhotoError> {
    let mut attempts = 0;
    let mut enc = |q: u8| {
        attempts += 1;
        encode(img, q)
    };
    let top = enc(range.max)?;
    let Some(budget) = spec.budget else {
        return finish(spec, top, range.max, false, attempts);
    };
    if top.len() <= budget {
        return finish(spec, top, range.max, false, attempts);
    }
    // `over` does not fit; `fit` (once found) does.
    let mut over = (range.max, top.len());
    let mut fit: Option<(u8, Vec<u8>)> = None;
    let mut guess = {
        // Typical slope near the top of the range: size halves every ~18 quality steps.
        let steps = ((over.1 as f64 / budget as f64).ln() / (2f64.ln() / 18.0)).ceil() as i32;
        (i32::from(range.max) - steps.max(1)).max(i32::from(range.min)) as u8
    };
    loop {
        let bytes = enc(guess)?;
        if bytes.len() <= budget {
            fit = Some((guess, bytes));
        } else {
            over = (guess, bytes.len());
            if guess == range.min {
                break;
            }
        }
        let lo = fit.as_ref().map_or(range.min, |f| f.0);
        if fit.is_some() && over.0 == lo + 1 {
            break;
        }
        guess = match &fit {
            Some((q, b)) => {
                // Interpolate log(size) between the bracket ends.
                let (lq, ls) = (f64::from(*q), (b.len() as f64).ln());
                let (hq, hs) = (f64::from(over.0), (over.1 as f64).ln());
                let t = ((budget as f64).ln() - ls) / (hs - ls);
                let g = (lq + t * (hq - lq)).floor() as i32;
                g.clamp(i32::from(*q) + 1, i32::from(over.0) - 1) as u8
            }
            None => {
                // Nothing fits yet: step down faster.
                let g = i32::from(guess) - (i32::from(over.0) - i32::from(guess)).max(4);
                g.max(i32::from(range.min)) as u8
            }
        };
    }
    match fit {
        Some((q, bytes)) => finish(spec, bytes, q, false, attempts),
        None => {
            // Over budget at the lowest quality of the range: keep it if the store can
            // still take it, else look below the range for the hard limit.
            let lowest = enc(range.min)?;
            let within = |b: &Vec<u8>| spec.hard_limit.is_none_or(|l| b.len() <= l);
            if within(&lowest) {
                return finish(spec, lowest, range.min, true, attempts);
            }
            for q in (1..range.min).rev().step_by(5) {
                let b = enc(q)?;
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
