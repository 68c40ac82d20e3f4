//! YCbCr planes as libjpeg-turbo decodes them, before chroma upsampling and colour
//! conversion, and what the pipeline makes from them: the cropped, resized square and the
//! attention thumbnail, each converted to RGB only at its final size. At 4:2:0 the planes
//! are half the bytes of an RGB decode at the same scale, so the decode writes, and the
//! resize reads, half the memory. Chroma is resampled once, straight to the resolution
//! the 4:2:0 output stores it at (half the square's side), instead of upsampled and then
//! downsampled.

use super::pixels::{Layout, Pixels};
use super::{orient, resize, PhotoError};

mod ycc;
use ycc::{ycc_to_rgb, ycc_to_rgb_turned};

/// One plane inside [`Planar::data`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plane {
    /// Where its first row starts.
    pub offset: usize,
    /// Samples per row (rows are packed: this is also the stride).
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Image pixels per sample, across and down (2, 2 for 4:2:0 chroma; 1, 1 for luma).
    pub step: (u32, u32),
}

/// A decoded JPEG as planes: Y alone (greyscale) or Y, Cb, Cr.
#[derive(Clone, PartialEq, Eq)]
pub struct Planar {
    /// Image width (luma samples that are picture, not padding).
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// One or three planes.
    pub planes: Vec<Plane>,
    /// Every plane's samples, back to back.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Planar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planar")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("planes", &self.planes)
            .finish()
    }
}

impl Planar {
    /// Check that the planes lie inside the buffer and cover the image.
    #[cfg_attr(not(feature = "turbojpeg"), allow(dead_code))] // only libjpeg-turbo makes planes
    pub fn new(width: u32, height: u32, planes: Vec<Plane>, data: Vec<u8>) -> Option<Self> {
        let fits = planes.iter().all(|p| {
            let len = p.width as usize * p.height as usize;
            p.step.0 > 0
                && p.step.1 > 0
                && p.offset
                    .checked_add(len)
                    .is_some_and(|end| end <= data.len())
                && p.width >= width.div_ceil(p.step.0)
                && p.height >= height.div_ceil(p.step.1)
        });
        (fits && matches!(planes.len(), 1 | 3) && width > 0 && height > 0).then_some(Self {
            width,
            height,
            planes,
            data,
        })
    }

    /// Resize the region `[x0, y0, x1, y1)` (image coordinates) of every plane to
    /// `width × height`, convert to RGB and turn it upright from EXIF orientation
    /// `orientation`: Lanczos3, or a box filter when `fast`.
    ///
    /// With Lanczos, chroma is resized to half the output's width and height (rounded
    /// up) and each sample then covers 2x2 output pixels: a 4:2:0 JPEG encoder averages
    /// those four back to that sample (to within rounding), so the output stores chroma
    /// resampled once, from the source. The box filter (analysis thumbnails) resizes every
    /// plane to full size.
    pub fn crop_resize(
        &self,
        region: [f64; 4],
        width: u32,
        height: u32,
        fast: bool,
        orientation: u8,
    ) -> Result<Pixels, PhotoError> {
        let resize_plane = |p: &Plane, (out_w, out_h): (u32, u32)| {
            let (sx, sy) = (f64::from(p.step.0), f64::from(p.step.1));
            let src = &self.data[p.offset..p.offset + p.width as usize * p.height as usize];
            let r = [
                region[0] / sx,
                region[1] / sy,
                region[2] / sx,
                region[3] / sy,
            ];
            resize::crop_resize_plane(src, p.width, p.height, r, out_w, out_h, fast)
        };
        let full = (width, height);
        let data = match self.planes.as_slice() {
            [y] => resize_plane(y, full)?
                .iter()
                .flat_map(|&v| [v, v, v])
                .collect(),
            [y, cb, cr] if fast => {
                let [y, cb, cr] = [y, cb, cr].map(|p| resize_plane(p, full));
                ycc_to_rgb(&y?, &cb?, &cr?, width, 1)
            }
            // Luma here, chroma on the other core: the planes are independent.
            [y, cb, cr] => {
                let half = (width.div_ceil(2), height.div_ceil(2));
                let (y, [cb, cr]) = std::thread::scope(|scope| {
                    let chroma = scope.spawn(|| {
                        Ok::<_, PhotoError>([resize_plane(cb, half)?, resize_plane(cr, half)?])
                    });
                    let y = resize_plane(y, full)?;
                    let chroma = chroma
                        .join()
                        .map_err(|_| PhotoError::Encode("a resize worker failed".into()))??;
                    Ok::<_, PhotoError>((y, chroma))
                })?;
                if (2..=8).contains(&orientation) {
                    // Written upright as it is converted: no second pass, no second copy.
                    let data = ycc_to_rgb_turned(&y, &cb, &cr, width, height, orientation);
                    let (uw, uh) = orient::upright_size(orientation, width, height);
                    return Ok(Pixels {
                        width: uw,
                        height: uh,
                        layout: Layout::Rgb,
                        data,
                    });
                }
                ycc_to_rgb(&y, &cb, &cr, width, 2)
            }
            _ => {
                return Err(PhotoError::Encode(
                    "planar image without 1 or 3 planes".into(),
                ))
            }
        };
        let stored = Pixels {
            width,
            height,
            layout: Layout::Rgb,
            data,
        };
        Ok(orient::apply(orientation, stored))
    }
}

/// A decode result: interleaved pixels, or planes still to be resized and converted.
#[derive(Debug)]
pub enum Decoded {
    /// RGB or CMYK samples (every format but YCbCr and greyscale JPEG).
    Pixels(Pixels),
    /// JPEG planes (libjpeg-turbo builds).
    Planar(Planar),
}

impl Decoded {
    /// Width and height of the decoded image.
    pub fn size(&self) -> (u32, u32) {
        match self {
            Decoded::Pixels(p) => (p.width, p.height),
            Decoded::Planar(p) => (p.width, p.height),
        }
    }

    /// Resize a region (stored coordinates) to `width × height` (stored orientation) and
    /// turn the result upright from EXIF `orientation`; see [`resize::crop_resize`].
    pub fn crop_resize_upright(
        &self,
        region: [f64; 4],
        width: u32,
        height: u32,
        fast: bool,
        orientation: u8,
    ) -> Result<Pixels, PhotoError> {
        match self {
            Decoded::Pixels(p) => resize::crop_resize(p, region, width, height, fast)
                .map(|px| orient::apply(orientation, px)),
            Decoded::Planar(p) => p.crop_resize(region, width, height, fast, orientation),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_that_do_not_fit_the_buffer_are_refused() {
        let y = Plane {
            offset: 0,
            width: 4,
            height: 4,
            step: (1, 1),
        };
        assert!(Planar::new(4, 4, vec![y], vec![0; 16]).is_some());
        assert!(Planar::new(4, 4, vec![y], vec![0; 15]).is_none());
        assert!(Planar::new(5, 4, vec![y], vec![0; 16]).is_none());
        let c = Plane {
            offset: 16,
            width: 2,
            height: 2,
            step: (2, 2),
        };
        assert!(Planar::new(4, 4, vec![y, c, c], vec![0; 20]).is_some());
        assert!(Planar::new(4, 4, vec![y, c], vec![0; 20]).is_none());
    }

    #[test]
    fn chroma_is_resized_to_half_size_and_each_sample_covers_two_by_two_pixels() {
        // Flat luma, chroma that changes every sample: any 2x2 cell of the output (odd
        // sizes included) is one colour, and neighbouring cells differ.
        let (w, h) = (40u32, 30u32);
        let y = Plane {
            offset: 0,
            width: w,
            height: h,
            step: (1, 1),
        };
        let (cw, ch) = (w / 2, h / 2);
        let cb = Plane {
            offset: (w * h) as usize,
            width: cw,
            height: ch,
            step: (2, 2),
        };
        let cr = Plane {
            offset: (w * h + cw * ch) as usize,
            ..cb
        };
        let mut data = vec![128u8; (w * h) as usize];
        data.extend((0..cw * ch).map(|i| (40 + (i * 37) % 170) as u8));
        data.extend((0..cw * ch).map(|i| (60 + (i * 53) % 140) as u8));
        let p = Planar::new(w, h, vec![y, cb, cr], data).unwrap();
        for (ow, oh) in [(13u32, 9u32), (12, 12)] {
            let out = p
                .crop_resize([1.0, 2.0, 39.0, 28.0], ow, oh, false, 1)
                .unwrap();
            let at = |x: u32, y: u32| out.rgb_at(x, y);
            for yy in 0..oh {
                for xx in 0..ow {
                    assert_eq!(
                        at(xx, yy),
                        at(xx / 2 * 2, yy / 2 * 2),
                        "{ow}x{oh} at {xx},{yy}"
                    );
                }
            }
            assert_ne!(at(0, 0), at(2, 0));
        }
    }

    #[test]
    fn a_grey_plane_resizes_to_grey_rgb() {
        let data: Vec<u8> = (0..64u32).map(|i| (i * 4) as u8).collect();
        let y = Plane {
            offset: 0,
            width: 8,
            height: 8,
            step: (1, 1),
        };
        let p = Planar::new(8, 8, vec![y], data).unwrap();
        let out = p.crop_resize([0.0, 0.0, 8.0, 8.0], 4, 4, false, 1).unwrap();
        assert_eq!((out.width, out.height, out.data.len()), (4, 4, 48));
        assert!(out
            .data
            .chunks_exact(3)
            .all(|c| c[0] == c[1] && c[1] == c[2]));
    }
}

#[cfg(test)]
#[cfg(feature = "turbojpeg")]
mod turbo_tests {
    use crate::photo::header::jpeg_header;
    use crate::photo::jpeg;
    use crate::photo::planar::Decoded;
    use crate::photo::predict::tests::card;
    use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};

    fn jpeg_of(w: u32, h: u32, subsamp: Subsamp, grey: bool) -> Vec<u8> {
        let img = card(w, h);
        let mut c = Compressor::new().unwrap();
        c.set_quality(90).unwrap();
        c.set_subsamp(subsamp).unwrap();
        let (format, data) = if grey {
            let g: Vec<u8> = img.data.chunks_exact(3).map(|p| p[1]).collect();
            (PixelFormat::GRAY, g)
        } else {
            (PixelFormat::RGB, img.data)
        };
        let image = Image {
            pixels: data.as_slice(),
            width: w as usize,
            pitch: w as usize * format.size(),
            height: h as usize,
            format,
        };
        c.compress_to_vec(image).unwrap()
    }

    /// The planes, resized and converted, match libjpeg's own RGB decode resized the same
    /// way, for every sampling and odd sizes: offsets, steps and strides are right.
    #[test]
    fn planes_match_the_pixel_decode_for_every_sampling() {
        let cases = [
            (Subsamp::None, false),
            (Subsamp::Sub2x1, false),
            (Subsamp::Sub2x2, false),
            (Subsamp::Sub1x2, false),
            (Subsamp::Sub4x1, false),
            (Subsamp::Gray, true),
        ];
        for (subsamp, grey) in cases {
            for scale_need in [150, 40] {
                let bytes = jpeg_of(203, 151, subsamp, grey);
                let h = jpeg_header(&bytes).unwrap();
                let planar = jpeg::decode_planar(&bytes, &h, scale_need).unwrap();
                let Decoded::Planar(p) = &planar else {
                    panic!("{subsamp:?}: not decoded as planes");
                };
                let px = jpeg::decode(&bytes, &h, scale_need).unwrap();
                assert_eq!((p.width, p.height), (px.width, px.height), "{subsamp:?}");
                let region = [
                    10.0,
                    5.0,
                    f64::from(p.width) - 7.0,
                    f64::from(p.height) - 3.0,
                ];
                let a = planar
                    .crop_resize_upright(region, 64, 48, false, 1)
                    .unwrap();
                let b = Decoded::Pixels(px)
                    .crop_resize_upright(region, 64, 48, false, 1)
                    .unwrap();
                let diffs: Vec<u32> = a
                    .data
                    .iter()
                    .zip(&b.data)
                    .map(|(x, y)| u32::from(x.abs_diff(*y)))
                    .collect();
                let mean = diffs.iter().sum::<u32>() as f64 / diffs.len() as f64;
                let max = diffs.iter().max().copied().unwrap_or(0);
                assert!(
                    mean < 2.0 && max < 40,
                    "{subsamp:?} need {scale_need}: mean {mean:.2}, max {max}"
                );
            }
        }
    }
}
