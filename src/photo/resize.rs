//! Crop and downscale in one pass with `fast_image_resize` (SSE4.1/AVX2 chosen at run
//! time) and a Lanczos3 kernel; never upscales.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::pixels::Pixels;
use super::PhotoError;

/// Resize the region `[x0, y0, x1, y1)` (sub-pixel source coordinates) of `src` to
/// `width × height`, with a Lanczos3 filter (or a box filter for analysis thumbnails).
pub fn crop_resize(
    src: &Pixels,
    region: [f64; 4],
    width: u32,
    height: u32,
    fast: bool,
) -> Result<Pixels, PhotoError> {
    let pixel_type = match src.layout.channels() {
        3 => PixelType::U8x3,
        _ => PixelType::U8x4,
    };
    let data = resample(
        &src.data,
        (src.width, src.height),
        pixel_type,
        region,
        (width, height),
        fast,
    )?;
    Ok(Pixels {
        width,
        height,
        layout: src.layout,
        data,
    })
}

/// One 8-bit plane (`width × height` samples, rows packed): the region
/// `[x0, y0, x1, y1)` resized to `out_w × out_h`, as [`crop_resize`] does for pixels.
pub fn crop_resize_plane(
    src: &[u8],
    width: u32,
    height: u32,
    region: [f64; 4],
    out_w: u32,
    out_h: u32,
    fast: bool,
) -> Result<Vec<u8>, PhotoError> {
    resample(
        src,
        (width, height),
        PixelType::U8,
        region,
        (out_w, out_h),
        fast,
    )
}

/// The one resize call: `region` of the `size` image `src` (rows packed) to `out`.
fn resample(
    src: &[u8],
    size: (u32, u32),
    pixel_type: PixelType,
    region: [f64; 4],
    out: (u32, u32),
    fast: bool,
) -> Result<Vec<u8>, PhotoError> {
    let internal = |e: &dyn std::fmt::Display| PhotoError::Encode(format!("resize: {e}"));
    let view = ImageRef::new(size.0, size.1, src, pixel_type).map_err(|e| internal(&e))?;
    let mut dst = Image::new(out.0, out.1, pixel_type);
    let [x0, y0, x1, y1] = region;
    let options = ResizeOptions::new()
        .resize_alg(algorithm(fast))
        .crop(x0, y0, x1 - x0, y1 - y0);
    Resizer::new()
        .resize(&view, &mut dst, &options)
        .map_err(|e| internal(&e))?;
    Ok(dst.into_vec())
}

fn algorithm(fast: bool) -> ResizeAlg {
    if fast {
        ResizeAlg::Convolution(FilterType::Box)
    } else {
        ResizeAlg::Convolution(FilterType::Lanczos3)
    }
}

/// A square image scaled to `size × size` (`size` ≤ its side); itself, borrowed, at
/// its own size (a copy of a 648 square is 1.2 MB of fresh pages).
pub fn square(src: &Pixels, size: u32) -> Result<std::borrow::Cow<'_, Pixels>, PhotoError> {
    if size >= src.width {
        return Ok(std::borrow::Cow::Borrowed(src));
    }
    let full = [0.0, 0.0, f64::from(src.width), f64::from(src.height)];
    crop_resize(src, full, size, size, false).map(std::borrow::Cow::Owned)
}
