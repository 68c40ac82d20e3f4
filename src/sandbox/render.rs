//! The photo store's image work, independent of our own normaliser on purpose: decode
//! what was PUT (JPEG or PNG), keep a centre square of at most 648 px, and re-encode every
//! read at quality 90, so bytes read differ from bytes written as in the real store
//! (m365-facts A§1.3 last bullet). Crop vs letterbox and PNG alpha are UNCONFIRMED
//! (A§1.2); the sandbox crops to the centre and drops alpha. Results are cached per etag.

use std::collections::HashMap;
use std::io::Cursor;

use bytes::Bytes;

/// Largest rendition the store serves (m365-facts A§1.2).
pub(crate) const MAX_SIDE: u32 = 648;
/// The HD sizes Graph serves under `/photos/{size}` (m365-facts A§1.2).
pub(crate) const SIZES: [u32; 9] = [48, 64, 96, 120, 240, 360, 432, 504, 648];
/// Refuse to decode images above this many pixels (a decompression bomb guard).
const MAX_PIXELS: u64 = 80_000_000;
const QUALITY: u8 = 90;
const CACHE_CAP: usize = 256;

/// An uploaded photo: the original bytes and the master square made from them.
#[derive(Debug)]
pub(crate) struct Ingested {
    pub original: Bytes,
    pub master: Bytes,
    pub side: u32,
}

/// RGB pixels, row-major.
struct Rgb {
    w: u32,
    h: u32,
    data: Vec<u8>,
}

/// Decode an upload and make its master square. Err = the reason it is undecodable.
pub(crate) fn ingest(bytes: &[u8]) -> Result<Ingested, String> {
    let img = decode(bytes)?;
    let side = img.w.min(img.h);
    if side == 0 {
        return Err("image has no pixels".into());
    }
    let square = centre_square(&img);
    let target = side.min(MAX_SIDE);
    let master = encode(&resize(&square, target))?;
    Ok(Ingested {
        original: Bytes::copy_from_slice(bytes),
        master,
        side: target,
    })
}

/// The JPEG a seeded user "uploaded": a portrait drawn from its seed.
/// Drawn at quality 95, so what reads serve (re-encoded at 90) differs from it.
pub(crate) fn seeded(seed: u64, side: u32) -> Result<Bytes, String> {
    let p = crate::samples::Portrait::new(side, side, seed).render();
    encode_at(
        &Rgb {
            w: p.width,
            h: p.height,
            data: p.data,
        },
        95,
    )
}

/// `size`-px rendition of a master square (`size` ≤ master side).
pub(crate) fn rendition(master: &[u8], size: u32) -> Result<Bytes, String> {
    let img = decode(master)?;
    encode(&resize(&img, size))
}

fn decode(bytes: &[u8]) -> Result<Rgb, String> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(bytes)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(bytes)
    } else {
        Err("not a JPEG or PNG image".into())
    }
}

fn decode_jpeg(bytes: &[u8]) -> Result<Rgb, String> {
    let mut d = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    d.read_info().map_err(|e| e.to_string())?;
    let info = d.info().ok_or("no JPEG header")?;
    if u64::from(info.width) * u64::from(info.height) > MAX_PIXELS {
        return Err("image too large to decode".into());
    }
    let px = d.decode().map_err(|e| e.to_string())?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let data = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => px,
        jpeg_decoder::PixelFormat::L8 => px.iter().flat_map(|&v| [v, v, v]).collect(),
        jpeg_decoder::PixelFormat::L16 => px
            .chunks_exact(2)
            .flat_map(|c| [c[0], c[0], c[0]])
            .collect(),
        jpeg_decoder::PixelFormat::CMYK32 => px
            .chunks_exact(4)
            .flat_map(|c| {
                let k = u16::from(c[3]);
                let f = |v: u8| ((u16::from(v) * k) / 255) as u8;
                [f(c[0]), f(c[1]), f(c[2])]
            })
            .collect(),
    };
    if data.len() != w as usize * h as usize * 3 {
        return Err("truncated JPEG".into());
    }
    Ok(Rgb { w, h, data })
}

fn decode_png(bytes: &[u8]) -> Result<Rgb, String> {
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), image::ImageFormat::Png);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| e.to_string())?.to_rgb8();
    let (w, h) = img.dimensions();
    Ok(Rgb {
        w,
        h,
        data: img.into_raw(),
    })
}

fn centre_square(img: &Rgb) -> Rgb {
    let side = img.w.min(img.h);
    let (x0, y0) = ((img.w - side) / 2, (img.h - side) / 2);
    let mut data = Vec::with_capacity(side as usize * side as usize * 3);
    for y in y0..y0 + side {
        let start = (y as usize * img.w as usize + x0 as usize) * 3;
        data.extend_from_slice(&img.data[start..start + side as usize * 3]);
    }
    Rgb {
        w: side,
        h: side,
        data,
    }
}

/// Box-filter downscale (never up) to `n`×`n`.
fn resize(img: &Rgb, n: u32) -> Rgb {
    if n >= img.w && n >= img.h {
        return Rgb {
            w: img.w,
            h: img.h,
            data: img.data.clone(),
        };
    }
    let (sw, sh) = (img.w as usize, img.h as usize);
    let n_us = n as usize;
    let span = |i: usize, src: usize| {
        let a = i * src / n_us;
        let b = ((i + 1) * src / n_us).max(a + 1);
        (a, b)
    };
    let mut data = Vec::with_capacity(n_us * n_us * 3);
    for oy in 0..n_us {
        let (y0, y1) = span(oy, sh);
        for ox in 0..n_us {
            let (x0, x1) = span(ox, sw);
            let mut acc = [0u64; 3];
            for y in y0..y1 {
                let row = &img.data[(y * sw + x0) * 3..(y * sw + x1) * 3];
                for px in row.chunks_exact(3) {
                    acc[0] += u64::from(px[0]);
                    acc[1] += u64::from(px[1]);
                    acc[2] += u64::from(px[2]);
                }
            }
            let count = ((y1 - y0) * (x1 - x0)) as u64;
            data.extend(acc.iter().map(|&v| (v / count) as u8));
        }
    }
    Rgb { w: n, h: n, data }
}

fn encode(img: &Rgb) -> Result<Bytes, String> {
    encode_at(img, QUALITY)
}

fn encode_at(img: &Rgb, quality: u8) -> Result<Bytes, String> {
    let (w, h) = (
        u16::try_from(img.w).map_err(|_| "too wide")?,
        u16::try_from(img.h).map_err(|_| "too tall")?,
    );
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(&img.data, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| e.to_string())?;
    Ok(Bytes::from(out))
}

/// Renditions already made, keyed by (etag, size). Cleared wholesale when full.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    entries: HashMap<(String, u32), Bytes>,
}

impl Cache {
    pub fn get(&self, etag: &str, size: u32) -> Option<Bytes> {
        self.entries.get(&(etag.to_string(), size)).cloned()
    }

    pub fn put(&mut self, etag: &str, size: u32, bytes: Bytes) {
        if self.entries.len() >= CACHE_CAP {
            self.entries.clear();
        }
        self.entries.insert((etag.to_string(), size), bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_squared_capped_and_re_encoded() {
        let p = crate::samples::Portrait::new(900, 700, 5).render();
        let jpeg = crate::samples::jpeg(&p, 95);
        let got = ingest(&jpeg).unwrap();
        assert_eq!(got.side, 648);
        assert_ne!(got.master, got.original);
        let small = rendition(&got.master, 96).unwrap();
        let back = decode(&small).unwrap();
        assert_eq!((back.w, back.h), (96, 96));
        assert!(ingest(b"\xFF\xD8\xFFgarbage").is_err());
        assert!(ingest(b"GIF89a").is_err());
    }
}
