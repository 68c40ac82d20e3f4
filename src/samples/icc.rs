//! Minimal, valid ICC v2 RGB display profiles (matrix + tone curves) for sample photos,
//! and the ways JPEG (APP2 `ICC_PROFILE`) and PNG (`iCCP`) carry them.

/// D50-adapted (Bradford) primaries of Display P3, as in Apple's profile.
const P3: [[f64; 3]; 3] = [
    [0.515_102, 0.241_196, -0.001_053],
    [0.291_965, 0.692_236, 0.041_882],
    [0.157_153, 0.066_574, 0.784_073],
];
/// D50-adapted primaries of Adobe RGB (1998).
const ADOBE: [[f64; 3]; 3] = [
    [0.609_741, 0.311_111, 0.019_470],
    [0.205_276, 0.625_671, 0.060_867],
    [0.149_185, 0.063_217, 0.744_568],
];
const D50: [f64; 3] = [0.9642, 1.0, 0.8249];

fn s15f16(v: f64) -> [u8; 4] {
    ((v * 65536.0).round() as i32).to_be_bytes()
}

fn xyz(v: [f64; 3]) -> Vec<u8> {
    let mut t = b"XYZ \0\0\0\0".to_vec();
    v.iter().for_each(|&c| t.extend_from_slice(&s15f16(c)));
    t
}

/// A `curv` tag: a single gamma (u8Fixed8) or, for the sRGB curve, a 1024-entry table.
fn curve(gamma: Option<u16>) -> Vec<u8> {
    let mut t = b"curv\0\0\0\0".to_vec();
    match gamma {
        Some(g) => {
            t.extend_from_slice(&1u32.to_be_bytes());
            t.extend_from_slice(&g.to_be_bytes());
        }
        None => {
            t.extend_from_slice(&1024u32.to_be_bytes());
            for i in 0..1024 {
                let v = f64::from(i) / 1023.0;
                let lin = if v <= 0.04045 {
                    v / 12.92
                } else {
                    ((v + 0.055) / 1.055).powf(2.4)
                };
                t.extend_from_slice(&((lin * 65535.0).round() as u16).to_be_bytes());
            }
        }
    }
    t
}

fn desc(name: &str) -> Vec<u8> {
    let mut t = b"desc\0\0\0\0".to_vec();
    t.extend_from_slice(&(name.len() as u32 + 1).to_be_bytes());
    t.extend_from_slice(name.as_bytes());
    t.push(0);
    t.extend_from_slice(&[0; 8]); // no Unicode description
    t.extend_from_slice(&[0; 3]); // no ScriptCode
    t.extend_from_slice(&[0; 67]);
    t
}

fn profile(name: &str, primaries: [[f64; 3]; 3], gamma: Option<u16>) -> Vec<u8> {
    let trc = curve(gamma);
    let mut cprt = b"text\0\0\0\0".to_vec();
    cprt.extend_from_slice(b"No copyright, test profile\0");
    let tags: Vec<(&[u8; 4], Vec<u8>)> = vec![
        (b"desc", desc(name)),
        (b"cprt", cprt),
        (b"wtpt", xyz(D50)),
        (b"rXYZ", xyz(primaries[0])),
        (b"gXYZ", xyz(primaries[1])),
        (b"bXYZ", xyz(primaries[2])),
        (b"rTRC", trc.clone()),
        (b"gTRC", trc.clone()),
        (b"bTRC", trc),
    ];
    let mut table = (tags.len() as u32).to_be_bytes().to_vec();
    let mut data = Vec::new();
    let start = 128 + 4 + 12 * tags.len();
    for (sig, body) in &tags {
        table.extend_from_slice(&sig[..]);
        table.extend_from_slice(&((start + data.len()) as u32).to_be_bytes());
        table.extend_from_slice(&(body.len() as u32).to_be_bytes());
        data.extend_from_slice(body);
        while data.len() % 4 != 0 {
            data.push(0);
        }
    }
    let size = (start + data.len()) as u32;
    let mut h = Vec::with_capacity(128);
    h.extend_from_slice(&size.to_be_bytes());
    h.extend_from_slice(&[0; 4]); // CMM
    h.extend_from_slice(&[0x02, 0x10, 0, 0]); // version 2.1
    h.extend_from_slice(b"mntrRGB XYZ ");
    h.extend_from_slice(&[0; 12]); // date
    h.extend_from_slice(b"acsp");
    h.extend_from_slice(&[0; 24]); // platform, flags, manufacturer, model, attributes
    h.extend_from_slice(&[0; 4]); // perceptual intent
    D50.iter().for_each(|&c| h.extend_from_slice(&s15f16(c)));
    h.resize(128, 0); // creator, ID, reserved
    [h, table, data].concat()
}

/// Display P3 (sRGB transfer curve), what phones embed.
pub fn display_p3() -> Vec<u8> {
    profile("Display P3 (photo-sync sample)", P3, None)
}

/// Adobe RGB (1998), gamma 563/256.
pub fn adobe_rgb() -> Vec<u8> {
    profile("Adobe RGB (1998) (photo-sync sample)", ADOBE, Some(563))
}

/// Embed a profile as APP2 `ICC_PROFILE` segments (split when larger than one segment).
pub fn jpeg_with_icc(jpeg: &[u8], profile: &[u8]) -> Vec<u8> {
    let chunks: Vec<&[u8]> = profile.chunks(65_519).collect();
    let mut out = jpeg.to_vec();
    // Insert in reverse so the segments end up in order after SOI/APP0.
    for (i, c) in chunks.iter().enumerate().rev() {
        let mut seg = b"ICC_PROFILE\0".to_vec();
        seg.extend_from_slice(&[i as u8 + 1, chunks.len() as u8]);
        seg.extend_from_slice(c);
        out = super::jpeg_with_segment(&out, 0xE2, &seg);
    }
    out
}

/// Embed a profile as a PNG `iCCP` chunk (zlib with stored blocks).
pub fn png_with_icc(png: &[u8], profile: &[u8]) -> Vec<u8> {
    let mut data = b"ICC\0\0".to_vec(); // name, NUL, compression method 0
    data.extend_from_slice(&super::write::zlib_stored(profile));
    super::png_with_chunk(png, *b"iCCP", &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_and_build_transforms_to_srgb() {
        for p in [display_p3(), adobe_rgb()] {
            let prof = qcms::Profile::new_from_slice(&p, false).expect("qcms parses it");
            let srgb = qcms::Profile::new_sRGB();
            let t =
                qcms::Transform::new(&prof, &srgb, qcms::DataType::RGB8, qcms::Intent::Perceptual)
                    .expect("transform");
            let mut px = vec![255, 255, 255, 128, 128, 128];
            t.apply(&mut px);
            assert!(px[..3].iter().all(|&v| v >= 250), "white became {px:?}");
            assert!(
                px[3].abs_diff(px[4]) <= 2 && px[4].abs_diff(px[5]) <= 2,
                "grey became {px:?}"
            );
        }
    }
}
