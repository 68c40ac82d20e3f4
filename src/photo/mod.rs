//! The normaliser: bytes in, one JPEG rendition per target size out. Pure and
//! synchronous, deterministic, bounded by [`Limits`] checked from the header.
//!
//! The path of a photo: [`decode::probe`] (format, size, orientation, ICC; limits) →
//! crop choice on the upright photo ([`crop`]) → decode at the smallest DCT scale that
//! covers the largest rendition with a 1.5x margin ([`jpeg`], [`decode`]; JPEG stays as
//! YCbCr planes, [`planar`]) → crop and resize once, in stored orientation ([`resize`]),
//! turned upright as planes become RGB, or after ([`orient`]) → colour to sRGB
//! ([`color`]) → every smaller rendition from that square → quality search per rendition
//! ([`encode`]) → fingerprints ([`fingerprint`]).

mod color;
mod crop;
mod decode;
mod encode;
mod error;
mod fingerprint;
pub mod header;
mod jpeg;
mod orient;
pub use orient::apply as orient_upright;
mod pixels;
mod planar;
mod png;
mod predict;
mod resize;
mod spec;

pub use color::ColorHandling;
pub use decode::Probe;
pub use error::PhotoError;
pub use fingerprint::{same_photo, sha256_hex, PerceptualHash, SAME_PHOTO_MAX_DISTANCE};
pub use header::Format;
pub use pixels::{Layout, Pixels};
use planar::Decoded;
pub use spec::{
    parse_targets, CropBox, CropMode, Limits, Options, QualityRange, RenditionSpec, Target,
    AD_MAX_BYTES, GRAPH_MAX_UPLOAD,
};

/// The decoded short side must be ≥ this many times the largest rendition (image-stack.md §5:
/// 1.5x cuts the resampling error 16x against 1x for +4 ms on 12 MP).
const DECODE_MARGIN: f64 = 1.5;
/// Long side of the thumbnail the attention crop looks at.
const ATTENTION_SIDE: u32 = 192;

/// Everything made from one source photo.
#[derive(Debug, Clone)]
pub struct Normalized {
    /// What the source said about itself.
    pub source: SourceInfo,
    /// The square kept, in upright source pixels.
    pub crop: CropBox,
    /// The size the source was decoded at (JPEG DCT scaling, PNG box reduction), stored
    /// orientation.
    pub decoded: (u32, u32),
    /// What happened to the colour.
    pub color: ColorHandling,
    /// One per rendition, largest first.
    pub renditions: Vec<Rendition>,
    /// Perceptual hash of the largest square, before encoding.
    pub phash: PerceptualHash,
    /// SHA-256 of the source bytes.
    pub source_sha256: String,
    /// Milliseconds spent in each stage, in order (for reports and benchmarks).
    pub stages_ms: Vec<(&'static str, f64)>,
}

/// Stage timings: a lap per stage of the pipeline.
struct Stages {
    last: std::time::Instant,
    laps: Vec<(&'static str, f64)>,
}

impl Stages {
    fn start() -> Self {
        Self {
            last: std::time::Instant::now(),
            laps: Vec::with_capacity(8),
        }
    }

    fn lap(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.laps
            .push((name, (now - self.last).as_secs_f64() * 1e3));
        self.last = now;
    }
}

/// The source photo's header facts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceInfo {
    /// Format.
    pub format: Format,
    /// Stored width.
    pub width: u32,
    /// Stored height.
    pub height: u32,
    /// EXIF orientation 1–8.
    pub orientation: u8,
    /// True when an ICC profile was embedded.
    pub icc_profile: bool,
    /// Size of the source in bytes.
    pub bytes: usize,
}

/// One output JPEG.
#[derive(Debug, Clone)]
pub struct Rendition {
    /// What it was made for.
    pub spec: RenditionSpec,
    /// Actual side (smaller than `spec.size` only when the source is).
    pub side: u32,
    /// JPEG quality chosen by the search.
    pub quality: u8,
    /// True when the budget could not be met within the quality range.
    pub over_budget: bool,
    /// Encodes the search took.
    pub attempts: u32,
    /// The bytes.
    pub jpeg: Vec<u8>,
    /// SHA-256 of `jpeg`, hex.
    pub sha256: String,
}

/// Normalise one photo into every rendition `opts` asks for.
pub fn normalize(bytes: &[u8], opts: &Options) -> Result<Normalized, PhotoError> {
    opts.validate()?;
    let mut clock = Stages::start();
    let probe = decode::probe(bytes, &opts.limits)?;
    let (uw, uh) = probe.upright();
    if uw.min(uh) < opts.limits.min_side {
        let min = opts.limits.min_side;
        return Err(PhotoError::TooSmall {
            width: uw,
            height: uh,
            min,
        });
    }
    let specs = opts.renditions();
    let largest = specs.iter().map(|s| s.size).max().unwrap_or(0);
    std::thread::scope(|scope| {
        // Hashing a multi-megabyte source costs milliseconds: do it beside the decode.
        let source_sha256 = scope.spawn(|| sha256_hex(bytes));
        clock.lap("probe");
        let min_short = decode_short_side(&probe, opts.crop, largest);
        let mut decoded =
            decode::decode_any(bytes, &probe, &opts.limits, min_short, opts.background)?;
        // CMYK without a usable profile becomes RGB now: three channels are cheaper to crop,
        // resize and analyse than four. With a CMYK profile it stays CMYK until the square.
        let mut early_color = None;
        if let Decoded::Pixels(px) = &mut decoded {
            if px.layout != Layout::Rgb && !color::has_cmyk_profile(probe.icc.as_deref()) {
                early_color = Some(color::to_srgb(px, None));
            }
        }
        clock.lap("decode");

        let crop = crop::choose(opts.crop, uw, uh, opts.limits.min_side, || {
            attention_thumbnail(&decoded, probe.orientation)
        })?;
        clock.lap("attention");
        let side = largest.min(crop.width);
        let mut square = crop_square(&decoded, &probe, crop, side)?;
        clock.lap("crop_resize");
        let decoded_size = decoded.size();
        drop(decoded);
        let color = match early_color {
            Some(c) => c,
            None => color::to_srgb(&mut square, probe.icc.as_deref()),
        };
        clock.lap("color");

        // The largest rendition's quality search is the longest job; the smaller ones and
        // the perceptual hash (a 20x Lanczos reduction) run on another core meanwhile.
        let (first, rest) = specs.split_at(1);
        let (big, small) = std::thread::scope(|scope| {
            let small = scope.spawn(|| {
                let renditions = render_all(&square, rest, side, opts.quality)?;
                Ok::<_, PhotoError>((renditions, PerceptualHash::of_square(&square)?))
            });
            let big = render_all(&square, first, side, opts.quality);
            (big, join(small))
        });
        let mut renditions = big?;
        let (small, phash) = small??;
        renditions.extend(small);
        clock.lap("encode");
        let source_sha256 = join(source_sha256)?;
        clock.lap("fingerprint");
        Ok(Normalized {
            source: SourceInfo {
                format: probe.format,
                width: probe.width,
                height: probe.height,
                orientation: probe.orientation,
                icc_profile: probe.icc.is_some(),
                bytes: bytes.len(),
            },
            crop,
            decoded: decoded_size,
            color,
            phash,
            renditions,
            source_sha256,
            stages_ms: clock.laps,
        })
    })
}

/// The short side the source must be decoded at. The crop side is known from the header
/// (attention only moves the square), so the scale is chosen before decoding: the crop,
/// once decoded, must still be ≥ 1.5x the largest rendition (or as large as it is).
fn decode_short_side(probe: &Probe, crop: CropMode, largest: u32) -> u32 {
    let (uw, uh) = probe.upright();
    let crop_side = match crop {
        CropMode::Box(b) => b.width.max(b.height).min(uw.min(uh)),
        _ => uw.min(uh),
    };
    let need_in_crop = (f64::from(largest) * DECODE_MARGIN).min(f64::from(crop_side));
    let short = probe.width.min(probe.height);
    (f64::from(short) * need_in_crop / f64::from(crop_side.max(1))).ceil() as u32
}

/// Crop the upright `crop` out of the decoded (stored-orientation, maybe scaled) image,
/// resize it to `side` in one pass and turn it upright.
fn crop_square(
    decoded: &Decoded,
    probe: &Probe,
    crop: CropBox,
    side: u32,
) -> Result<Pixels, PhotoError> {
    let (dw, dh) = decoded.size();
    let sx = f64::from(dw) / f64::from(probe.width);
    let sy = f64::from(dh) / f64::from(probe.height);
    let rect = [
        f64::from(crop.x),
        f64::from(crop.y),
        f64::from(crop.x + crop.width),
        f64::from(crop.y + crop.height),
    ];
    let (w, h) = (f64::from(probe.width), f64::from(probe.height));
    let s = orient::upright_rect_to_stored(probe.orientation, rect, w, h);
    let region = [s[0] * sx, s[1] * sy, s[2] * sx, s[3] * sy];
    decoded.crop_resize_upright(region, side, side, false, probe.orientation)
}

/// Encode one rendition per spec (largest first) from the square (`side` px), in order.
/// Each is resized from the smallest one already made that is still at least
/// [`CASCADE_MARGIN`] times its side (the square when none is): 96 from 300 costs a
/// tenth of 96 from 648.
fn render_all(
    square: &Pixels,
    specs: &[RenditionSpec],
    side: u32,
    quality: QualityRange,
) -> Result<Vec<Rendition>, PhotoError> {
    let mut made: Vec<Pixels> = Vec::new();
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let size = spec.size.min(side);
        let from = made
            .iter()
            .rev()
            .find(|p| p.width >= size.saturating_mul(CASCADE_MARGIN))
            .unwrap_or(square);
        let px = resize::square(from, size)?;
        let e = encode::encode_within(&px, spec, quality)?;
        out.push(Rendition {
            spec: *spec,
            side: px.width,
            quality: e.quality,
            over_budget: e.over_budget,
            attempts: e.attempts,
            sha256: sha256_hex(&e.bytes),
            jpeg: e.bytes,
        });
        if let std::borrow::Cow::Owned(p) = px {
            made.push(p);
        }
    }
    Ok(out)
}

/// A smaller rendition is resized from a larger one only when that one is at least this
/// many times its side, so the Lanczos filter still has two source pixels per output
/// pixel to work from.
const CASCADE_MARGIN: u32 = 2;

/// Join a helper thread; a panic in it becomes an error, never a crash.
fn join<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> Result<T, PhotoError> {
    h.join()
        .map_err(|_| PhotoError::Encode("an internal worker failed".into()))
}

/// A small upright RGB copy of the whole decoded photo for the attention crop.
fn attention_thumbnail(decoded: &Decoded, orientation: u8) -> Result<Pixels, PhotoError> {
    let (w, h) = decoded.size();
    let k = f64::from(ATTENTION_SIDE) / f64::from(w.max(h));
    let (tw, th) = if k < 1.0 {
        (
            ((f64::from(w) * k).round() as u32).max(1),
            ((f64::from(h) * k).round() as u32).max(1),
        )
    } else {
        (w, h)
    };
    let full = [0.0, 0.0, f64::from(w), f64::from(h)];
    let mut t = decoded.crop_resize_upright(full, tw, th, true, orientation)?;
    if t.layout != Layout::Rgb {
        // Analysis only: the naive conversion is plenty to find skin and detail.
        color::to_srgb(&mut t, None);
    }
    Ok(t)
}

/// The perceptual hash of a photo as a store holds it (any size, any supported format):
/// decoded small, turned upright, centre square. Compare with [`Normalized::phash`] using
/// [`same_photo`].
pub fn perceptual_hash(bytes: &[u8], limits: &Limits) -> Result<PerceptualHash, PhotoError> {
    let probe = decode::probe(bytes, limits)?;
    let decoded = decode::decode(bytes, &probe, limits, 64, [255, 255, 255])?;
    let mut rgb = decoded;
    color::to_srgb(&mut rgb, probe.icc.as_deref());
    let up = orient::apply(probe.orientation, rgb);
    let side = up.width.min(up.height);
    let (x, y) = ((up.width - side) / 2, (up.height - side) / 2);
    let rect = [
        f64::from(x),
        f64::from(y),
        f64::from(x + side),
        f64::from(y + side),
    ];
    PerceptualHash::of_region(&up, rect)
}
