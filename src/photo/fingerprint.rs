//! Fingerprints of a photo: SHA-256 of each output's bytes (what we wrote), and a 64-bit
//! perceptual hash of the normalised square (what a store shows, which survives the
//! store's re-encoding and resizing). [`same_photo`] compares two perceptual hashes.

use sha2::{Digest, Sha256};

use super::pixels::Pixels;
use super::{resize, PhotoError};

/// Hamming distance at or below which two perceptual hashes are the same photo.
/// Re-encoding at quality 75–95 and resizing 648 → 240 stay within 4 bits in the tests;
/// different portraits are ≥ 20 bits apart.
pub const SAME_PHOTO_MAX_DISTANCE: u32 = 10;

/// SHA-256 as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A DCT perceptual hash: the 8x8 lowest frequencies of a 32x32 grey copy, one bit each
/// for "above the median".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PerceptualHash(pub u64);

impl PerceptualHash {
    /// Hash of a square RGB image.
    pub fn of_square(img: &Pixels) -> Result<Self, PhotoError> {
        let full = [0.0, 0.0, f64::from(img.width), f64::from(img.height)];
        Self::of_region(img, full)
    }

    /// Hash of the square `region` (`[x0, y0, x1, y1]`) of an RGB image.
    pub fn of_region(img: &Pixels, region: [f64; 4]) -> Result<Self, PhotoError> {
        let small = resize::crop_resize(img, region, 32, 32, false)?;
        let grey: Vec<f64> = (0..32 * 32)
            .map(|i| {
                let p = small.rgb_at(i % 32, i / 32);
                0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
            })
            .collect();
        Ok(Self::of_grey32(&grey))
    }

    fn of_grey32(g: &[f64]) -> Self {
        // cos table for the 8 lowest DCT-II frequencies over 32 samples.
        let cos: Vec<f64> = (0..8 * 32)
            .map(|i| {
                let (k, n) = ((i / 32) as f64, (i % 32) as f64);
                (std::f64::consts::PI / 32.0 * (n + 0.5) * k).cos()
            })
            .collect();
        // Rows first (32 rows x 8 freqs), then columns (8 x 8).
        let mut rows = [0f64; 32 * 8];
        for y in 0..32 {
            for k in 0..8 {
                rows[y * 8 + k] = (0..32).map(|x| g[y * 32 + x] * cos[k * 32 + x]).sum();
            }
        }
        let mut coef = [0f64; 64];
        for ky in 0..8 {
            for kx in 0..8 {
                coef[ky * 8 + kx] = (0..32).map(|y| rows[y * 8 + kx] * cos[ky * 32 + y]).sum();
            }
        }
        // The median excludes the DC term, which only says how bright the image is.
        let mut ac: Vec<f64> = coef[1..].to_vec();
        ac.sort_by(f64::total_cmp);
        let median = ac[ac.len() / 2];
        let bits =
            coef.iter().enumerate().fold(
                0u64,
                |acc, (i, &c)| if c > median { acc | (1 << i) } else { acc },
            );
        Self(bits)
    }

    /// Bits that differ.
    pub fn distance(self, other: Self) -> u32 {
        (self.0 ^ other.0).count_ones()
    }

    /// Lowercase hex, 16 digits.
    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

/// True when two perceptual hashes are of the same photo (see [`SAME_PHOTO_MAX_DISTANCE`]).
pub fn same_photo(a: PerceptualHash, b: PerceptualHash) -> bool {
    a.distance(b) <= SAME_PHOTO_MAX_DISTANCE
}
