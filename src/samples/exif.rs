//! EXIF metadata for sample photos: a little-endian TIFF structure with an orientation
//! (and camera, date and GPS tags that must never reach an output), and the ways each
//! container carries it: JPEG APP1, PNG `eXIf`, WebP `EXIF` (extended format).

/// One IFD entry: tag, TIFF type, count, value bytes.
type Entry = (u16, u16, u32, Vec<u8>);

const ASCII: u16 = 2;
const SHORT: u16 = 3;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;

fn ascii(tag: u16, s: &str) -> Entry {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    (tag, ASCII, v.len() as u32, v)
}

fn rationals(tag: u16, vals: &[(u32, u32)]) -> Entry {
    let v = vals
        .iter()
        .flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()].concat())
        .collect();
    (tag, RATIONAL, vals.len() as u32, v)
}

/// Serialise one IFD at `offset`; values over 4 bytes follow the entry table.
fn ifd(offset: u32, mut entries: Vec<Entry>) -> Vec<u8> {
    entries.sort_by_key(|e| e.0);
    let table = 2 + 12 * entries.len() as u32 + 4;
    let mut out = (entries.len() as u16).to_le_bytes().to_vec();
    let mut data = Vec::new();
    for (tag, ty, count, value) in &entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        if value.len() <= 4 {
            let mut inline = value.clone();
            inline.resize(4, 0);
            out.extend_from_slice(&inline);
        } else {
            out.extend_from_slice(&(offset + table + data.len() as u32).to_le_bytes());
            data.extend_from_slice(value);
            if data.len() % 2 == 1 {
                data.push(0);
            }
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&data);
    out
}

/// A TIFF structure with IFD0 `Orientation`, and when asked Make/Model/Software, an
/// ImageDescription holding `SECRET-GPS-MARKER`, an Exif IFD (DateTimeOriginal) and a GPS IFD.
pub fn exif_tiff(orientation: u8, with_gps_and_camera: bool) -> Vec<u8> {
    let mut ifd0: Vec<Entry> = vec![(
        0x0112,
        SHORT,
        1,
        u16::from(orientation).to_le_bytes().to_vec(),
    )];
    if !with_gps_and_camera {
        let mut out = b"II*\0".to_vec();
        out.extend_from_slice(&8u32.to_le_bytes());
        out.extend(ifd(8, ifd0));
        return out;
    }
    ifd0.push(ascii(0x010E, "SECRET-GPS-MARKER"));
    ifd0.push(ascii(0x010F, "Apple"));
    ifd0.push(ascii(0x0110, "iPhone 13"));
    ifd0.push(ascii(0x0131, "16.5"));
    // Sizes first with placeholder pointers, then again with the real offsets.
    let layout = |exif_at: u32, gps_at: u32| {
        let mut e = ifd0.clone();
        e.push((0x8769, LONG, 1, exif_at.to_le_bytes().to_vec()));
        e.push((0x8825, LONG, 1, gps_at.to_le_bytes().to_vec()));
        ifd(8, e)
    };
    let first = layout(0, 0);
    let exif_at = 8 + first.len() as u32;
    let exif_ifd = ifd(exif_at, vec![ascii(0x9003, "2024:05:01 12:34:56")]);
    let gps_at = exif_at + exif_ifd.len() as u32;
    let gps = ifd(
        gps_at,
        vec![
            ascii(0x0001, "N"),
            rationals(0x0002, &[(47, 1), (37, 1), (1380, 100)]),
            ascii(0x0003, "W"),
            rationals(0x0004, &[(122, 1), (20, 1), (5748, 100)]),
        ],
    );
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend(layout(exif_at, gps_at));
    out.extend(exif_ifd);
    out.extend(gps);
    out
}

/// Insert a marker segment (`marker` 0xE0–0xEF or 0xFE) right after SOI and any APP0.
pub fn jpeg_with_segment(jpeg: &[u8], marker: u8, payload: &[u8]) -> Vec<u8> {
    if jpeg.len() < 4 || jpeg[..2] != [0xFF, 0xD8] || payload.len() > 65533 {
        return jpeg.to_vec();
    }
    let mut at = 2;
    if jpeg[2..4] == [0xFF, 0xE0] && jpeg.len() >= 6 {
        at = 4 + usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]));
    }
    let at = at.min(jpeg.len());
    let mut out = jpeg[..at].to_vec();
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[at..]);
    out
}

/// Insert an APP1 `Exif` segment holding `tiff`.
pub fn jpeg_with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    jpeg_with_segment(jpeg, 0xE1, &[b"Exif\0\0", tiff].concat())
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: [u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(&kind);
    c.extend_from_slice(data);
    c.extend_from_slice(&crc32(&[&kind[..], data].concat()).to_be_bytes());
    c
}

/// Append a PNG chunk (with its CRC) to `png`.
pub fn png_append_chunk(mut png: Vec<u8>, kind: [u8; 4], data: &[u8]) -> Vec<u8> {
    png.extend(chunk(kind, data));
    png
}

/// A whole 8-bit RGB PNG file from its IDAT payload (`interlace` 1: Adam7).
pub fn png_file(width: u32, height: u32, interlace: u8, idat: &[u8]) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, interlace]);
    let png = png_append_chunk(b"\x89PNG\r\n\x1a\n".to_vec(), *b"IHDR", &ihdr);
    let png = png_append_chunk(png, *b"IDAT", idat);
    png_append_chunk(png, *b"IEND", &[])
}

/// Insert a PNG chunk right after IHDR.
pub fn png_with_chunk(png: &[u8], kind: [u8; 4], data: &[u8]) -> Vec<u8> {
    const AFTER_IHDR: usize = 8 + 25;
    if png.len() < AFTER_IHDR || &png[12..16] != b"IHDR" {
        return png.to_vec();
    }
    [&png[..AFTER_IHDR], &chunk(kind, data), &png[AFTER_IHDR..]].concat()
}

/// Turn a simple WebP (one `VP8 `/`VP8L` chunk) into the extended format with an `EXIF` chunk.
pub fn webp_with_exif(webp: &[u8], tiff: &[u8], width: u32, height: u32) -> Vec<u8> {
    if webp.len() < 20 || &webp[..4] != b"RIFF" || &webp[8..12] != b"WEBP" {
        return webp.to_vec();
    }
    let riff_chunk = |kind: &[u8], data: &[u8]| {
        let mut c = kind.to_vec();
        c.extend_from_slice(&(data.len() as u32).to_le_bytes());
        c.extend_from_slice(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let mut vp8x = vec![0x08, 0, 0, 0]; // EXIF flag
    vp8x.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    body.extend(riff_chunk(b"VP8X", &vp8x));
    body.extend_from_slice(&webp[12..]);
    body.extend(riff_chunk(b"EXIF", tiff));
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientation_reads_back_with_kamadak_exif() {
        for o in 1..=8u8 {
            for full in [false, true] {
                let t = exif_tiff(o, full);
                assert_eq!(crate::photo::header::exif_orientation(&t), o);
            }
        }
        let e = exif::Reader::new().read_raw(exif_tiff(6, true)).unwrap();
        let lat = e
            .get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
            .unwrap();
        assert_eq!(lat.value.get_uint(0), None); // rationals, not ints
        assert!(e
            .get_field(exif::Tag::DateTimeOriginal, exif::In::PRIMARY)
            .is_some());
    }

    #[test]
    fn png_crc_matches_the_reference_value() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }
}
