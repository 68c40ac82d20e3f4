//! Encoders that turn sample pixels into files of every input format and layout the
//! normaliser accepts.

use std::io::Cursor;

use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb, Rgba};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use crate::photo::Pixels;

fn jpeg_with(
    p: &Pixels,
    quality: u8,
    color: ColorType,
    data: &[u8],
    tune: impl FnOnce(&mut Encoder<&mut Vec<u8>>),
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, quality);
    e.set_sampling_factor(SamplingFactor::R_4_2_0);
    tune(&mut e);
    // Sample sizes are far below the encoder's limits; an error here is a programming bug
    // in the generator, and an empty file makes the test that uses it fail loudly.
    if e.encode(data, p.width as u16, p.height as u16, color)
        .is_err()
    {
        return Vec::new();
    }
    out
}

/// Baseline JPEG, 4:2:0.
pub fn jpeg(p: &Pixels, quality: u8) -> Vec<u8> {
    jpeg_with(p, quality, ColorType::Rgb, &p.data, |_| {})
}

/// Progressive JPEG.
pub fn jpeg_progressive(p: &Pixels, quality: u8) -> Vec<u8> {
    jpeg_with(p, quality, ColorType::Rgb, &p.data, |e| {
        e.set_progressive(true)
    })
}

/// Baseline JPEG with a restart marker every 4 MCUs.
pub fn jpeg_restart(p: &Pixels, quality: u8) -> Vec<u8> {
    jpeg_with(p, quality, ColorType::Rgb, &p.data, |e| {
        e.set_restart_interval(4)
    })
}

/// Greyscale JPEG.
pub fn grey_jpeg(p: &Pixels, quality: u8) -> Vec<u8> {
    jpeg_with(p, quality, ColorType::Luma, &luma(p), |_| {})
}

/// Adobe CMYK JPEG (inverted, as Photoshop writes it) from RGB with the naive separation.
pub fn cmyk_jpeg(p: &Pixels, quality: u8) -> Vec<u8> {
    let cmyk: Vec<u8> = p
        .data
        .chunks_exact(3)
        .flat_map(|c| {
            let max = u32::from(c[0].max(c[1]).max(c[2]));
            if max == 0 {
                return [0, 0, 0, 255];
            }
            let ink = |v: u8| (((max - u32::from(v)) * 255 + max / 2) / max) as u8;
            [ink(c[0]), ink(c[1]), ink(c[2]), (255 - max) as u8]
        })
        .collect();
    jpeg_with(p, quality, ColorType::Cmyk, &cmyk, |e| {
        e.set_sampling_factor(SamplingFactor::R_4_4_4)
    })
}

fn luma(p: &Pixels) -> Vec<u8> {
    p.data
        .chunks_exact(3)
        .map(|c| {
            ((299 * u32::from(c[0]) + 587 * u32::from(c[1]) + 114 * u32::from(c[2]) + 500) / 1000)
                as u8
        })
        .collect()
}

fn encode_image(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    if img.write_to(&mut out, format).is_err() {
        return Vec::new();
    }
    out.into_inner()
}

fn rgb_image(p: &Pixels) -> DynamicImage {
    ImageBuffer::<Rgb<u8>, _>::from_raw(p.width, p.height, p.data.clone())
        .map_or_else(|| DynamicImage::new_rgb8(1, 1), DynamicImage::ImageRgb8)
}

/// 8-bit RGB PNG.
pub fn png_rgb(p: &Pixels) -> Vec<u8> {
    encode_image(rgb_image(p), ImageFormat::Png)
}

/// RGBA PNG: fully transparent outside a centred disc that covers most of the photo, and
/// a half-transparent band, so flattening onto the background shows.
pub fn png_rgba(p: &Pixels) -> Vec<u8> {
    let (w, h) = (p.width as f64, p.height as f64);
    let img = ImageBuffer::from_fn(p.width, p.height, |x, y| {
        let c = p.rgb_at(x, y);
        let (dx, dy) = (
            (x as f64 - w / 2.0) / (w / 2.0),
            (y as f64 - h / 2.0) / (h / 2.0),
        );
        let a = if dx * dx + dy * dy > 0.95 {
            0
        } else if y < p.height / 10 {
            128
        } else {
            255
        };
        Rgba([c[0], c[1], c[2], a])
    });
    encode_image(DynamicImage::ImageRgba8(img), ImageFormat::Png)
}

/// 16-bit RGB PNG.
pub fn png_16bit(p: &Pixels) -> Vec<u8> {
    let img = ImageBuffer::from_fn(p.width, p.height, |x, y| {
        let c = p.rgb_at(x, y);
        Rgb(c.map(|v| u16::from(v) * 257))
    });
    encode_image(DynamicImage::ImageRgb16(img), ImageFormat::Png)
}

/// Greyscale PNG.
pub fn png_grey(p: &Pixels) -> Vec<u8> {
    let img = ImageBuffer::from_raw(p.width, p.height, luma(p)).map(DynamicImage::ImageLuma8);
    img.map_or_else(Vec::new, |i| encode_image(i, ImageFormat::Png))
}

/// Palette PNG (a 6x6x6 colour cube), written with the `png` crate.
pub fn png_palette(p: &Pixels) -> Vec<u8> {
    let palette: Vec<u8> = (0..216u32)
        .flat_map(|i| {
            [
                (i / 36) as u8 * 51,
                (i / 6 % 6) as u8 * 51,
                (i % 6) as u8 * 51,
            ]
        })
        .collect();
    let indices: Vec<u8> = p
        .data
        .chunks_exact(3)
        .map(|c| {
            let q = |v: u8| (u32::from(v) + 25) / 51;
            (q(c[0]) * 36 + q(c[1]) * 6 + q(c[2])) as u8
        })
        .collect();
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, p.width, p.height);
    enc.set_color(png::ColorType::Indexed);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_palette(palette);
    let written = enc
        .write_header()
        .and_then(|mut w| w.write_image_data(&indices));
    if written.is_err() {
        return Vec::new();
    }
    out
}

/// Interlaced (Adam7) 8-bit RGB PNG, written by hand: the `png` crate writes none. The
/// seven passes are stored unfiltered in stored (uncompressed) deflate blocks.
pub fn png_interlaced(p: &Pixels) -> Vec<u8> {
    const PASSES: [(u32, u32, u32, u32); 7] = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ];
    let mut raw = Vec::new();
    for (x0, y0, dx, dy) in PASSES {
        if x0 >= p.width || y0 >= p.height {
            continue; // an empty pass has no rows at all
        }
        for y in (y0..p.height).step_by(dy as usize) {
            raw.push(0); // filter: none
            for x in (x0..p.width).step_by(dx as usize) {
                raw.extend_from_slice(&p.rgb_at(x, y));
            }
        }
    }
    super::exif::png_file(p.width, p.height, 1, &zlib_stored(&raw))
}

/// A zlib stream of stored (uncompressed) deflate blocks.
pub(super) fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, b) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = b.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(b);
    }
    let (mut a, mut s) = (1u32, 0u32);
    for &v in data {
        a = (a + u32::from(v)) % 65_521;
        s = (s + a) % 65_521;
    }
    out.extend_from_slice(&((s << 16) | a).to_be_bytes());
    out
}

/// GIF (one frame).
pub fn gif(p: &Pixels) -> Vec<u8> {
    encode_image(rgb_image(p), ImageFormat::Gif)
}

/// BMP.
pub fn bmp(p: &Pixels) -> Vec<u8> {
    encode_image(rgb_image(p), ImageFormat::Bmp)
}

/// TIFF.
pub fn tiff(p: &Pixels) -> Vec<u8> {
    encode_image(rgb_image(p), ImageFormat::Tiff)
}

/// Lossless WebP (the `image` crate's encoder).
pub fn webp_lossless(p: &Pixels) -> Vec<u8> {
    encode_image(rgb_image(p), ImageFormat::WebP)
}
