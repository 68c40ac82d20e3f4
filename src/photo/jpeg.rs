//! JPEG decoding at the smallest DCT scale that still covers what the renditions need
//! (image-stack.md §5: decoded short side ≥ 1.5 × the largest rendition). Two backends
//! with one contract: libjpeg-turbo (feature `turbojpeg`) and pure-Rust jpeg-decoder.

use super::header::JpegHeader;
use super::pixels::{Layout, Pixels};
use super::planar::Decoded;
use super::PhotoError;

/// Decode so that the short side is at least `min_short_side` (or the full size), as
/// YCbCr or grey planes when the backend can ([`Decoded::Planar`]), else as pixels.
pub fn decode_planar(
    bytes: &[u8],
    h: &JpegHeader,
    min_short_side: u32,
) -> Result<Decoded, PhotoError> {
    if h.components == 3 || h.components == 1 {
        check_complete(bytes, h)?;
        let planar =
            PhotoError::guarded("JPEG", || backend::decode_planar(bytes, h, min_short_side))?;
        if let Some(p) = planar {
            return Ok(Decoded::Planar(p));
        }
        return decode_checked(bytes, h, min_short_side).map(Decoded::Pixels);
    }
    decode(bytes, h, min_short_side).map(Decoded::Pixels)
}

/// Refuse a file that lost its end before any decoder sees it.
fn check_complete(bytes: &[u8], h: &JpegHeader) -> Result<(), PhotoError> {
    // libjpeg only warns about a truncated file and fills the rest with grey
    // (image-stack.md §6); a photo that lost its end is damaged, whichever backend runs.
    // In entropy-coded data 0xFF is always followed by 0x00 or RSTn, so 0xFFD9 after the
    // first scan can only be the end-of-image marker.
    let scans = bytes.get(h.scan_offset..).unwrap_or_default();
    // Searched from the end, where the marker is: a 3 MB scan costs nothing then.
    if !scans.windows(2).rev().any(|w| w == [0xFF, 0xD9]) {
        return Err(PhotoError::corrupt(
            "JPEG",
            "the file is truncated: it ends before the end-of-image marker",
        ));
    }
    Ok(())
}

/// Decode so that the short side is at least `min_short_side` (or the full size).
pub fn decode(bytes: &[u8], h: &JpegHeader, min_short_side: u32) -> Result<Pixels, PhotoError> {
    check_complete(bytes, h)?;
    decode_checked(bytes, h, min_short_side)
}

/// [`decode`] once [`check_complete`] has passed.
fn decode_checked(bytes: &[u8], h: &JpegHeader, min_short_side: u32) -> Result<Pixels, PhotoError> {
    let layout = if h.components == 4 {
        Layout::Cmyk {
            inverted: backend::cmyk_inverted(h.adobe_transform.is_some()),
        }
    } else {
        Layout::Rgb
    };
    PhotoError::guarded("JPEG", || backend::decode(bytes, h, min_short_side, layout))
}

/// The smallest `num/8` scale whose short side is ≥ `need` (full size when none is).
pub fn scale_eighths(short: u32, need: u32, allowed: &[u32]) -> u32 {
    allowed
        .iter()
        .copied()
        .filter(|&n| (short as u64 * n as u64).div_ceil(8) >= need as u64)
        .min()
        .unwrap_or(8)
}

#[cfg(feature = "turbojpeg")]
mod backend {
    //! libjpeg-turbo 3 through the `turbojpeg` crate: every scale k/8.
    use super::*;
    use crate::photo::planar::{Planar, Plane};
    use turbojpeg::{
        Colorspace, Decompressor, Image, PixelFormat, ScalingFactor, Subsamp, YuvImage,
    };

    /// The planes libjpeg-turbo decodes to, unconverted; `None` when the file's colour
    /// space or sampling has no plane form (RGB-coded, unusual factors), so the caller
    /// decodes pixels instead.
    pub fn decode_planar(
        bytes: &[u8],
        h: &JpegHeader,
        min_short_side: u32,
    ) -> Result<Option<Planar>, PhotoError> {
        let err = |e: turbojpeg::Error| PhotoError::corrupt("JPEG", e);
        let mut d = Decompressor::new().map_err(err)?;
        let n = scale_eighths(h.width.min(h.height), min_short_side, &[1, 2, 4, 8]);
        let factor = ScalingFactor::new(n as usize, 8);
        d.set_scaling_factor(factor).map_err(err)?;
        let Ok(hdr) = d.read_header(bytes) else {
            return Ok(None);
        };
        if !matches!(hdr.colorspace, Colorspace::YCbCr | Colorspace::Gray)
            || hdr.is_lossless
            || !matches!(
                hdr.subsamp,
                Subsamp::None
                    | Subsamp::Sub2x1
                    | Subsamp::Sub2x2
                    | Subsamp::Gray
                    | Subsamp::Sub1x2
                    | Subsamp::Sub4x1
                    | Subsamp::Sub1x4
            )
        {
            return Ok(None);
        }
        let hdr = hdr.scaled(factor);
        let len = turbojpeg::yuv_pixels_len(hdr.width, 1, hdr.height, hdr.subsamp).map_err(err)?;
        let mut image = YuvImage {
            pixels: vec![0u8; len],
            width: hdr.width,
            align: 1,
            height: hdr.height,
            subsamp: hdr.subsamp,
        };
        d.decompress_to_yuv(bytes, image.as_deref_mut())
            .map_err(err)?;
        let (yw, yh) = image.y_size();
        let luma = Plane {
            offset: 0,
            width: yw as u32,
            height: yh as u32,
            step: (1, 1),
        };
        let mut planes = vec![luma];
        if hdr.subsamp != Subsamp::Gray {
            let (cw, ch) = image.uv_size();
            let step = (hdr.subsamp.width() as u32, hdr.subsamp.height() as u32);
            for k in 0..2 {
                planes.push(Plane {
                    offset: yw * yh + k * cw * ch,
                    width: cw as u32,
                    height: ch as u32,
                    step,
                });
            }
        }
        Planar::new(hdr.width as u32, hdr.height as u32, planes, image.pixels)
            .map(Some)
            .ok_or_else(|| PhotoError::corrupt("JPEG", "the decoder returned too few samples"))
    }

    /// libjpeg returns the stored samples: Adobe (APP14) files store inverted CMYK, as
    /// Photoshop writes them (and libjpeg, Pillow and vips read them).
    pub fn cmyk_inverted(adobe: bool) -> bool {
        adobe
    }

    pub fn decode(
        bytes: &[u8],
        h: &JpegHeader,
        min_short_side: u32,
        layout: Layout,
    ) -> Result<Pixels, PhotoError> {
        let err = |e: turbojpeg::Error| PhotoError::corrupt("JPEG", e);
        let mut d = Decompressor::new().map_err(err)?;
        let short = h.width.min(h.height);
        // Only 1/8, 1/4 and 1/2 have SIMD IDCTs; 3/8 (3x3 and 6x6 IDCTs in plain C) decodes a
        // 12 MP photo ~4 ms slower than 1/2 here, so the in-between scales are never used.
        let n = scale_eighths(short, min_short_side, &[1, 2, 4, 8]);
        let factor = ScalingFactor::new(n as usize, 8);
        d.set_scaling_factor(factor).map_err(err)?;
        let hdr = d.read_header(bytes).map_err(err)?.scaled(factor);
        let format = match layout {
            Layout::Rgb => PixelFormat::RGB,
            Layout::Cmyk { .. } => PixelFormat::CMYK,
        };
        let pitch = hdr.width * format.size();
        let mut image = Image {
            pixels: vec![0u8; pitch * hdr.height],
            width: hdr.width,
            pitch,
            height: hdr.height,
            format,
        };
        d.decompress(bytes, image.as_deref_mut()).map_err(err)?;
        Ok(Pixels {
            width: hdr.width as u32,
            height: hdr.height as u32,
            layout,
            data: image.pixels,
        })
    }
}

#[cfg(not(feature = "turbojpeg"))]
mod backend {
    //! Pure Rust: jpeg-decoder, whose `scale()` offers 1/8, 1/4, 1/2 and 1.
    use super::*;
    use crate::photo::planar::Planar;
    use jpeg_decoder::{Decoder, PixelFormat};

    /// jpeg-decoder always converts to pixels.
    pub fn decode_planar(_: &[u8], _: &JpegHeader, _: u32) -> Result<Option<Planar>, PhotoError> {
        Ok(None)
    }

    /// jpeg-decoder inverts every CMYK sample it returns (it assumes Adobe's convention),
    /// so its output counts ink for Adobe files and is inverted for the others.
    pub fn cmyk_inverted(adobe: bool) -> bool {
        !adobe
    }

    pub fn decode(
        bytes: &[u8],
        h: &JpegHeader,
        min_short_side: u32,
        layout: Layout,
    ) -> Result<Pixels, PhotoError> {
        let err = |e: jpeg_decoder::Error| PhotoError::corrupt("JPEG", e);
        let mut d = Decoder::new(bytes);
        d.read_info().map_err(err)?;
        let short = h.width.min(h.height);
        let n = scale_eighths(short, min_short_side, &[1, 2, 4, 8]);
        // scale() picks the smallest scale whose width OR height reaches the request, so
        // ask for proportional dimensions (image-stack.md §7).
        let req = |side: u32| (side as u64 * n as u64).div_ceil(8).min(u16::MAX as u64) as u16;
        d.scale(req(h.width), req(h.height)).map_err(err)?;
        let data = d.decode().map_err(err)?;
        let info = d
            .info()
            .ok_or_else(|| PhotoError::corrupt("JPEG", "no frame information after decoding"))?;
        let (width, height) = (u32::from(info.width), u32::from(info.height));
        let data = match (info.pixel_format, layout) {
            (PixelFormat::RGB24, Layout::Rgb) => data,
            (PixelFormat::L8, Layout::Rgb) => data.iter().flat_map(|&v| [v, v, v]).collect(),
            (PixelFormat::L16, Layout::Rgb) => data
                .chunks_exact(2)
                .flat_map(|v| [v[0], v[0], v[0]]) // big-endian: high byte first
                .collect(),
            (PixelFormat::CMYK32, Layout::Cmyk { .. }) => data,
            (f, _) => {
                return Err(PhotoError::corrupt(
                    "JPEG",
                    format!(
                        "unexpected pixel format {f:?} for {} components",
                        h.components
                    ),
                ))
            }
        };
        if data.len() != width as usize * height as usize * layout.channels() {
            return Err(PhotoError::corrupt(
                "JPEG",
                "the decoder returned too few pixels",
            ));
        }
        Ok(Pixels {
            width,
            height,
            layout,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_is_the_smallest_that_covers_the_need() {
        // 12 MP short side 3024, need 972 (1.5 × 648): 3/8 gives 1134.
        assert_eq!(scale_eighths(3024, 972, &[1, 2, 3, 4, 5, 6, 7, 8]), 3);
        // With only 1/8, 1/4, 1/2: 1/4 gives 756 < 972, so 1/2.
        assert_eq!(scale_eighths(3024, 972, &[1, 2, 4, 8]), 4);
        // A small photo decodes at full size.
        assert_eq!(scale_eighths(512, 972, &[1, 2, 4, 8]), 8);
    }
}
