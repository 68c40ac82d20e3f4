//! Turns the bytes of any supported format into [`Pixels`], after [`probe`] has read
//! and checked the header. JPEG goes to [`super::jpeg`] (DCT-scaled decode); every other
//! format through the `image` crate with the limits already enforced.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat};

use super::header::{self, Format, JpegHeader};
use super::pixels::{Layout, Pixels};
use super::planar::Decoded;
use super::{jpeg, png, Limits, PhotoError};

/// What the header says, checked against the limits; nothing decoded yet.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The format.
    pub format: Format,
    /// Stored width (before orientation).
    pub width: u32,
    /// Stored height (before orientation).
    pub height: u32,
    /// EXIF orientation, 1–8.
    pub orientation: u8,
    /// Embedded ICC profile, if any.
    pub icc: Option<Vec<u8>>,
    /// JPEG marker details (JPEG only).
    pub jpeg: Option<JpegHeader>,
}

impl Probe {
    /// Width and height as displayed (orientations 5–8 swap them).
    pub fn upright(&self) -> (u32, u32) {
        if self.orientation >= 5 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

/// Read the header and check every limit, without decoding pixels.
pub fn probe(bytes: &[u8], limits: &Limits) -> Result<Probe, PhotoError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(PhotoError::TooManyBytes {
            bytes: bytes.len() as u64,
            limit: limits.max_bytes,
        });
    }
    let format = header::sniff(bytes)?;
    if format == Format::Jpeg {
        let h = header::jpeg_header(bytes)?;
        header::check_dimensions(format, h.width.into(), h.height.into(), limits)?;
        let orientation = h.exif.as_deref().map_or(1, header::exif_orientation);
        return Ok(Probe {
            format,
            width: h.width,
            height: h.height,
            orientation,
            icc: h.icc.clone(),
            jpeg: Some(h),
        });
    }
    // Dimensions are checked here, by us, so the decoder is asked for them without its own
    // size limits (it would refuse without saying which size it saw).
    let mut decoder = image_decoder(bytes, format, limits, false)?;
    let (w, h) = decoder.dimensions();
    header::check_dimensions(format, w.into(), h.into(), limits)?;
    let icc = decoder.icc_profile().ok().flatten();
    let orientation = decoder.orientation().map_or(1, |o| o.to_exif());
    Ok(Probe {
        format,
        width: w,
        height: h,
        orientation,
        icc,
        jpeg: None,
    })
}

/// As [`decode`], but a JPEG may come back as planes ([`Decoded::Planar`]) for the
/// pipeline to resize before converting.
pub fn decode_any(
    bytes: &[u8],
    probe: &Probe,
    limits: &Limits,
    min_short_side: u32,
    background: [u8; 3],
) -> Result<Decoded, PhotoError> {
    match &probe.jpeg {
        Some(h) => jpeg::decode_planar(bytes, h, min_short_side),
        None => decode(bytes, probe, limits, min_short_side, background).map(Decoded::Pixels),
    }
}

/// Decode at the smallest size whose short side is still ≥ `min_short_side` (JPEG scales
/// while decoding, PNG is box-reduced row by row; other formats decode at full size).
/// Alpha is flattened onto `background`; grey and 16-bit samples become 8-bit RGB.
pub fn decode(
    bytes: &[u8],
    probe: &Probe,
    limits: &Limits,
    min_short_side: u32,
    background: [u8; 3],
) -> Result<Pixels, PhotoError> {
    if let Some(h) = &probe.jpeg {
        return jpeg::decode(bytes, h, min_short_side);
    }
    #[cfg(feature = "libwebp")]
    if probe.format == Format::Webp {
        if let Some(p) = libwebp(bytes, probe, background) {
            return Ok(p);
        }
        // Animated or damaged: image-webp takes the first frame or says what is wrong.
    }
    if probe.format == Format::Png {
        let streamed = PhotoError::guarded("PNG", || {
            png::decode(bytes, limits, min_short_side, background)
        })?;
        if let Some(p) = streamed {
            return Ok(p);
        }
        // Interlaced: its rows come in seven passes, so it is decoded whole below.
    }
    let decoder = image_decoder(bytes, probe.format, limits, true)?;
    let name = probe.format.name();
    // Decoders are written to return errors, but a hostile file must never take the
    // process down: a panic inside one is reported as a damaged file.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        DynamicImage::from_decoder(decoder)
    }))
    .map_err(|_| PhotoError::corrupt(name, "the decoder could not make sense of the data"))?
    .map_err(|e| PhotoError::corrupt(name, e))?;
    Ok(flatten(decoded, background))
}

fn image_decoder<'a>(
    bytes: &'a [u8],
    format: Format,
    limits: &Limits,
    cap_dimensions: bool,
) -> Result<Box<dyn ImageDecoder + 'a>, PhotoError> {
    let fmt = match format {
        Format::Png => ImageFormat::Png,
        Format::Gif => ImageFormat::Gif,
        Format::Bmp => ImageFormat::Bmp,
        Format::Tiff => ImageFormat::Tiff,
        Format::Webp => ImageFormat::WebP,
        // JPEG is decoded by super::jpeg; the image crate is built without a JPEG codec.
        Format::Jpeg => ImageFormat::Jpeg,
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), fmt);
    // Defence in depth: `into_decoder` does not reserve against max_alloc (image-stack.md §6),
    // so probe() checks dimensions itself before any decode; these limits still bound the
    // decoder's own buffers.
    let mut l = image::Limits::default();
    if cap_dimensions {
        l.max_image_width = Some(limits.max_side);
        l.max_image_height = Some(limits.max_side);
    }
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).max(64 << 20));
    reader.limits(l);
    let name = format.name();
    let decoder = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.into_decoder()))
        .map_err(|_| PhotoError::corrupt(name, "the header could not be read"))?
        .map_err(|e| match e {
            image::ImageError::Limits(l) => PhotoError::OverLimits {
                format: name,
                detail: l.to_string(),
            },
            other => PhotoError::corrupt(name, other),
        })?;
    Ok(Box::new(decoder))
}

/// WebP through libwebp (about five times image-webp's speed); `None` for animations and
/// anything libwebp cannot decode. Dimensions were checked by [`probe`].
#[cfg(feature = "libwebp")]
fn libwebp(bytes: &[u8], probe: &Probe, background: [u8; 3]) -> Option<Pixels> {
    let img = webp::Decoder::new(bytes).decode()?;
    let (width, height) = (img.width(), img.height());
    if (width, height) != (probe.width, probe.height) {
        return None;
    }
    let samples: &[u8] = &img;
    let data = if img.is_alpha() {
        flatten_rgba(samples, background)
    } else {
        samples.to_vec()
    };
    (data.len() == width as usize * height as usize * 3).then_some(Pixels {
        width,
        height,
        layout: Layout::Rgb,
        data,
    })
}

/// RGBA samples onto an opaque background.
fn flatten_rgba(rgba: &[u8], background: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgba.len() / 4 * 3);
    for px in rgba.chunks_exact(4) {
        let a = u32::from(px[3]);
        for c in 0..3 {
            let v = u32::from(px[c]) * a + u32::from(background[c]) * (255 - a);
            out.push(((v + 127) / 255) as u8);
        }
    }
    out
}

/// Any decoded image to 8-bit RGB, flattening alpha onto the background.
fn flatten(img: DynamicImage, background: [u8; 3]) -> Pixels {
    let (width, height) = (img.width(), img.height());
    let data = if img.color().has_alpha() {
        flatten_rgba(img.into_rgba8().as_raw(), background)
    } else {
        img.into_rgb8().into_raw()
    };
    Pixels {
        width,
        height,
        layout: Layout::Rgb,
        data,
    }
}
