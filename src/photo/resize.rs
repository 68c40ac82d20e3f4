//! Crop and downscale in one pass with `fast_image_resize` (SSE4.1/AVX2 chosen at run
//! time) and a Lanczos3 kernel; never upscales.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{Filter, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

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
        // Lanczos3 with one sine per weight instead of the library's two: every resize
        // works its weights out afresh, and the sines were ~1.5 % of a 12 MP photo's
        // instructions. (`new` refuses only a support that is not finite and positive.)
        let one_sine = Filter::new("Lanczos3", lanczos3_weight, 3.0);
        ResizeAlg::Convolution(one_sine.map_or(FilterType::Lanczos3, FilterType::Custom))
    }
}

/// sinc(x) · sinc(x/3) on (−3, 3), else 0. With s = sin(πx/3), sin(πx) = 3s − 4s³, so
/// the product is 3s²(3 − 4s²) / (πx)².
fn lanczos3_weight(x: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    if !(-3.0..3.0).contains(&x) {
        return 0.0;
    }
    let s = (x * std::f64::consts::FRAC_PI_3).sin();
    let s2 = s * s;
    let px = x * std::f64::consts::PI;
    3.0 * s2 * (3.0 - 4.0 * s2) / (px * px)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The library's own Lanczos3, written as it is (two sines).
    fn two_sines(x: f64) -> f64 {
        let sinc = |x: f64| {
            if x == 0.0 {
                1.0
            } else {
                (x * std::f64::consts::PI).sin() / (x * std::f64::consts::PI)
            }
        };
        if (-3.0..3.0).contains(&x) {
            sinc(x) * sinc(x / 3.0)
        } else {
            0.0
        }
    }

    #[test]
    fn the_one_sine_lanczos3_is_the_two_sine_one() {
        for i in -4000..=4000 {
            let x = f64::from(i) / 1000.0 + 0.000_37;
            let (a, b) = (lanczos3_weight(x), two_sines(x));
            assert!((a - b).abs() < 1e-12, "x {x}: {a} against {b}");
        }
        assert_eq!(lanczos3_weight(0.0), 1.0);
        assert_eq!(lanczos3_weight(3.0), 0.0);
        assert_eq!(lanczos3_weight(-3.5), 0.0);
    }
}
