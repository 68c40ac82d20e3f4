//! Colour: embedded ICC profiles (Display P3 from phones, Adobe RGB, CMYK) converted to
//! sRGB with qcms, and the naive CMYK conversion when a CMYK photo carries no profile.
//! Runs on the final square only, so its cost does not grow with the source.

use qcms::{DataType, Intent, Profile, Transform};

use super::pixels::{Layout, Pixels};

/// What happened to the colour of a photo, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorHandling {
    /// No profile: the samples were taken as sRGB.
    AssumedSrgb,
    /// An embedded profile was converted to sRGB.
    ConvertedFromProfile,
    /// An embedded profile could not be used (unparseable, or grey); taken as sRGB.
    ProfileIgnored,
    /// CMYK without a usable profile, converted with the naive formula.
    NaiveCmyk,
}

/// One CMYK sample to RGB with the naive formula (what Pillow and ImageMagick do).
pub fn cmyk_pixel_to_rgb(px: &[u8], inverted: bool) -> [u8; 3] {
    let ink = |v: u8| if inverted { 255 - v } else { v };
    let k = 255 - u32::from(ink(px[3]));
    let ch = |v: u8| (((255 - u32::from(ink(v))) * k + 127) / 255) as u8;
    [ch(px[0]), ch(px[1]), ch(px[2])]
}

/// The naive conversion of a whole buffer: a tight loop the compiler vectorises
/// (exact division by 255 as a multiply-shift), ~1 ns a pixel.
fn naive_cmyk(src: &[u8], out: &mut [u8], inverted: bool) {
    // With Adobe's inversion the samples already are "255 − ink".
    let flip = if inverted { 0u8 } else { 255 };
    let div255 = |x: u32| (x + 128 + ((x + 128) >> 8)) >> 8;
    for (o, px) in out.chunks_exact_mut(3).zip(src.chunks_exact(4)) {
        let k = u32::from(px[3] ^ flip);
        o[0] = div255(u32::from(px[0] ^ flip) * k) as u8;
        o[1] = div255(u32::from(px[1] ^ flip) * k) as u8;
        o[2] = div255(u32::from(px[2] ^ flip) * k) as u8;
    }
}

/// True when `icc` is a CMYK profile qcms can convert to sRGB.
pub fn has_cmyk_profile(icc: Option<&[u8]>) -> bool {
    icc.and_then(|b| Profile::new_from_slice(b, false))
        .is_some_and(|p| {
            Transform::new_to(
                &p,
                &Profile::new_sRGB(),
                DataType::CMYK,
                DataType::RGB8,
                Intent::Perceptual,
            )
            .is_some()
        })
}

/// Convert `img` to sRGB RGB in place (re-allocating for CMYK), using `icc` when usable.
pub fn to_srgb(img: &mut Pixels, icc: Option<&[u8]>) -> ColorHandling {
    let profile = icc.and_then(|b| Profile::new_from_slice(b, false));
    if profile.is_none() && img.layout == Layout::Rgb {
        // Building qcms's sRGB profile costs milliseconds; skip it when nothing converts.
        return if icc.is_some() {
            ColorHandling::ProfileIgnored
        } else {
            ColorHandling::AssumedSrgb
        };
    }
    let srgb = Profile::new_sRGB();
    match img.layout {
        Layout::Rgb => {
            let Some(p) = profile else {
                return if icc.is_some() {
                    ColorHandling::ProfileIgnored
                } else {
                    ColorHandling::AssumedSrgb
                };
            };
            match Transform::new(&p, &srgb, DataType::RGB8, Intent::Perceptual) {
                Some(t) => {
                    t.apply(&mut img.data);
                    ColorHandling::ConvertedFromProfile
                }
                None => ColorHandling::ProfileIgnored,
            }
        }
        Layout::Cmyk { inverted } => {
            let transform = profile.and_then(|p| {
                Transform::new_to(
                    &p,
                    &srgb,
                    DataType::CMYK,
                    DataType::RGB8,
                    Intent::Perceptual,
                )
            });
            let mut out = vec![0u8; img.width as usize * img.height as usize * 3];
            let handling = match transform {
                Some(t) => {
                    // ICC CMYK counts ink (0 = none); undo Adobe's inversion first.
                    if inverted {
                        img.data.iter_mut().for_each(|v| *v = 255 - *v);
                    }
                    t.convert(&img.data, &mut out);
                    ColorHandling::ConvertedFromProfile
                }
                None => {
                    naive_cmyk(&img.data, &mut out, inverted);
                    ColorHandling::NaiveCmyk
                }
            };
            img.data = out;
            img.layout = Layout::Rgb;
            handling
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_cmyk_maps_ink_to_rgb_both_ways() {
        assert_eq!(cmyk_pixel_to_rgb(&[0, 0, 0, 0], false), [255, 255, 255]);
        assert_eq!(cmyk_pixel_to_rgb(&[255, 0, 0, 0], false), [0, 255, 255]);
        assert_eq!(
            cmyk_pixel_to_rgb(&[255, 255, 255, 255], true),
            [255, 255, 255]
        );
        assert_eq!(cmyk_pixel_to_rgb(&[0, 0, 0, 0], true), [0, 0, 0]);
    }

    #[test]
    fn the_fast_loop_matches_the_per_pixel_formula() {
        let src: Vec<u8> = (0..=255u8)
            .flat_map(|v| [v, 255 - v, v / 2, v / 3])
            .collect();
        for inverted in [false, true] {
            let mut out = vec![0; 256 * 3];
            naive_cmyk(&src, &mut out, inverted);
            for (o, px) in out.chunks(3).zip(src.chunks(4)) {
                assert_eq!(
                    o,
                    cmyk_pixel_to_rgb(px, inverted),
                    "{px:?} inverted {inverted}"
                );
            }
        }
    }

    #[test]
    fn garbage_profiles_are_ignored_not_fatal() {
        let mut img = Pixels::rgb(1, 1, vec![10, 20, 30]).unwrap();
        assert_eq!(
            to_srgb(&mut img, Some(b"not a profile")),
            ColorHandling::ProfileIgnored
        );
        assert_eq!(img.data, vec![10, 20, 30]);
    }
}
