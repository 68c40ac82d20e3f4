//! Reads what a photo claims about itself before anything is decoded: the format from
//! its signature, the stored dimensions, the EXIF orientation and an embedded ICC
//! profile, and checks them against the [`Limits`].

use super::{Limits, PhotoError};

/// An image format recognised by its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JPEG/JFIF/EXIF.
    Jpeg,
    /// PNG.
    Png,
    /// WebP (lossy or lossless).
    Webp,
    /// GIF (the first frame is used).
    Gif,
    /// Windows bitmap.
    Bmp,
    /// TIFF.
    Tiff,
}

impl Format {
    /// Human name, as used in error sentences.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Webp => "WebP",
            Format::Gif => "GIF",
            Format::Bmp => "BMP",
            Format::Tiff => "TIFF",
        }
    }
}

/// Recognise the format from the first bytes. HEIC/AVIF are recognised to be refused
/// with a sentence rather than "unknown".
pub fn sniff(bytes: &[u8]) -> Result<Format, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    let starts = |sig: &[u8]| bytes.starts_with(sig);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Ok(Format::Jpeg)
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Ok(Format::Png)
    } else if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Ok(Format::Webp)
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Ok(Format::Gif)
    } else if starts(b"BM") && bytes.len() >= 26 {
        Ok(Format::Bmp)
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Ok(Format::Tiff)
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = &bytes[8..12];
        let avif = brand == b"avif" || brand == b"avis";
        Err(PhotoError::Unsupported {
            format: if avif { "AVIF" } else { "HEIC/HEIF" },
            reason: "this build has no HEIF decoder; export the photo as JPEG (on an iPhone: Settings → Camera → Formats → Most Compatible)",
        })
    } else {
        Err(PhotoError::UnknownFormat)
    }
}

/// Check claimed dimensions against the limits. Called with header values only.
pub fn check_dimensions(
    format: Format,
    width: u64,
    height: u64,
    limits: &Limits,
) -> Result<(), PhotoError> {
    if width == 0 || height == 0 {
        return Err(PhotoError::corrupt(
            format.name(),
            format!("the header says {width}x{height} pixels"),
        ));
    }
    if width > u64::from(limits.max_side) || height > u64::from(limits.max_side) {
        return Err(PhotoError::SideTooLong {
            format: format.name(),
            width,
            height,
            limit: limits.max_side,
        });
    }
    let pixels = width * height;
    if pixels > limits.max_pixels {
        return Err(PhotoError::TooManyPixels {
            format: format.name(),
            width,
            height,
            megapixels: pixels as f64 / 1e6,
            limit_mp: limits.max_pixels as f64 / 1e6,
        });
    }
    Ok(())
}

/// What the markers of a JPEG say, read without decoding any scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JpegHeader {
    /// Width from the SOF marker.
    pub width: u32,
    /// Height from the SOF marker.
    pub height: u32,
    /// Number of colour components (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK).
    pub components: u8,
    /// True for progressive (SOF2) files.
    pub progressive: bool,
    /// Adobe APP14 transform flag, when the segment is present.
    pub adobe_transform: Option<u8>,
    /// Raw TIFF bytes of the APP1 Exif segment.
    pub exif: Option<Vec<u8>>,
    /// The ICC profile reassembled from APP2 chunks.
    pub icc: Option<Vec<u8>>,
    /// Offset of the first byte after the first SOS marker segment.
    pub scan_offset: usize,
}

/// Walk the JPEG markers up to the first scan. Never allocates more than the file's size.
pub fn jpeg_header(bytes: &[u8]) -> Result<JpegHeader, PhotoError> {
    let bad = |d: &str| PhotoError::corrupt("JPEG", d);
    let mut h = JpegHeader::default();
    let mut icc_chunks: Vec<(u8, &[u8])> = Vec::new();
    let mut saw_sof = false;
    let mut pos = 2; // after SOI
    loop {
        // Markers may be padded with any number of 0xFF fill bytes.
        while pos < bytes.len() && bytes[pos] == 0xFF {
            pos += 1;
        }
        let Some(&marker) = bytes.get(pos) else {
            return Err(bad("the file ends before the first image scan"));
        };
        if pos == 0 || bytes[pos - 1] != 0xFF {
            return Err(bad("a marker segment is malformed"));
        }
        pos += 1;
        match marker {
            0xD8 | 0x01 | 0xD0..=0xD7 => continue, // stand-alone markers
            0xD9 => return Err(bad("the file ends (EOI) before any image scan")),
            _ => {}
        }
        let len = match bytes.get(pos..pos + 2) {
            Some(l) => usize::from(u16::from_be_bytes([l[0], l[1]])),
            None => return Err(bad("a marker segment is cut off")),
        };
        if len < 2 || pos + len > bytes.len() {
            return Err(bad("a marker segment runs past the end of the file"));
        }
        let seg = &bytes[pos + 2..pos + len];
        pos += len;
        match marker {
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if matches!(marker, 0xC3 | 0xC7 | 0xCB | 0xCF) {
                    return Err(PhotoError::Unsupported {
                        format: "lossless JPEG",
                        reason: "lossless JPEG is a medical/archival format; export the photo as an ordinary JPEG",
                    });
                }
                if seg.len() < 6 {
                    return Err(bad("the frame header (SOF) is too short"));
                }
                h.height = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
                h.width = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
                h.components = seg[5];
                h.progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
                if h.height == 0 {
                    // A DNL marker would give the height after the first scan.
                    return Err(bad(
                        "the frame header gives height 0 (DNL marker files are not accepted)",
                    ));
                }
                if !matches!(h.components, 1 | 3 | 4) {
                    return Err(bad(&format!(
                        "the frame has {} colour components (1, 3 or 4 expected)",
                        h.components
                    )));
                }
                saw_sof = true;
            }
            0xDA => {
                // SOS: the first scan starts
                h.scan_offset = pos;
                break;
            }
            0xE1 if h.exif.is_none() && seg.starts_with(b"Exif\0\0") => {
                h.exif = Some(seg[6..].to_vec());
            }
            0xE2 if seg.len() > 14 && seg.starts_with(b"ICC_PROFILE\0") => {
                icc_chunks.push((seg[12], &seg[14..]));
            }
            0xEE if seg.len() >= 12 && seg.starts_with(b"Adobe") => {
                h.adobe_transform = Some(seg[11]);
            }
            _ => {}
        }
    }
    if !saw_sof {
        return Err(bad("no frame header (SOF) before the first scan"));
    }
    if !icc_chunks.is_empty() {
        // Chunks carry 1-based sequence numbers; reassemble in order.
        icc_chunks.sort_by_key(|c| c.0);
        h.icc = Some(
            icc_chunks
                .iter()
                .flat_map(|c| c.1.iter().copied())
                .collect(),
        );
    }
    Ok(h)
}

/// The EXIF orientation (1–8) in raw TIFF bytes; 1 when absent or out of range.
pub fn exif_orientation(tiff: &[u8]) -> u8 {
    let Ok(exif) = exif::Reader::new().read_raw(tiff.to_vec()) else {
        return 1;
    };
    exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u8::try_from(v).ok())
        .filter(|v| (1..=8).contains(v))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_recognised() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0").unwrap(), Format::Jpeg);
        assert_eq!(sniff(b"GIF89a....").unwrap(), Format::Gif);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").unwrap(), Format::Webp);
        assert_eq!(sniff(b"").unwrap_err(), PhotoError::Empty);
        assert_eq!(
            sniff(b"hello world!").unwrap_err(),
            PhotoError::UnknownFormat
        );
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0";
        assert_eq!(sniff(heic).unwrap_err().code(), "unsupported_format");
    }

    #[test]
    fn a_jpeg_header_claiming_60000_squared_is_refused_by_the_limits() {
        // SOI, SOF0 (8-bit, 60000x60000, 3 components), SOS.
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0xEA, 0x60, 0xEA, 0x60, 3];
        j.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        j.extend_from_slice(&[0xFF, 0xDA, 0, 2]);
        let h = jpeg_header(&j).unwrap();
        assert_eq!((h.width, h.height), (60000, 60000));
        let err = check_dimensions(Format::Jpeg, 60000, 60000, &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "side_too_long");
    }

    #[test]
    fn truncated_marker_segments_are_corrupt_not_panics() {
        for n in 0..12 {
            let j = [0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0, 1, 0, 1, 3];
            assert!(jpeg_header(&j[..n.min(j.len())]).is_err());
        }
    }
}
