//! Draws synthetic, portrait-like photos: a textured background, shoulders, a skin-toned
//! face with hair, eyes and mouth, and optional coloured corner markers that show which
//! way is up. Deterministic for a given [`Portrait`].

use crate::photo::Pixels;

/// Marker colours: top-left red, top-right green, bottom-left blue.
pub const MARKER_TOP_LEFT: [u8; 3] = [230, 20, 20];
/// Top-right marker colour.
pub const MARKER_TOP_RIGHT: [u8; 3] = [20, 200, 20];
/// Bottom-left marker colour.
pub const MARKER_BOTTOM_LEFT: [u8; 3] = [20, 40, 230];
/// The face's skin tone.
pub const SKIN: [u8; 3] = [226, 178, 148];

/// What to draw, in upright pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Portrait {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Face centre, as fractions of width and height.
    pub face: (f64, f64),
    /// Face half-height as a fraction of the short side.
    pub face_radius: f64,
    /// Seeds the background colour and texture.
    pub seed: u64,
    /// Draw the three corner markers (each 10 % of the short side).
    pub markers: bool,
}

impl Portrait {
    /// A head-and-shoulders portrait of the given size, face in the upper third.
    pub fn new(width: u32, height: u32, seed: u64) -> Self {
        Self {
            width,
            height,
            face: (0.5, 0.36),
            face_radius: 0.2,
            seed,
            markers: false,
        }
    }

    /// The face's bounding box in upright pixels `(x0, y0, x1, y1)` (hair included).
    pub fn face_box(&self) -> (u32, u32, u32, u32) {
        let (cx, cy, rx, ry) = self.face_geometry();
        let f = |v: f64| v.max(0.0) as u32;
        (f(cx - rx), f(cy - ry * 1.15), f(cx + rx), f(cy + ry))
    }

    fn face_geometry(&self) -> (f64, f64, f64, f64) {
        let short = f64::from(self.width.min(self.height));
        let ry = short * self.face_radius;
        (
            self.face.0 * f64::from(self.width),
            self.face.1 * f64::from(self.height),
            ry * 0.78,
            ry,
        )
    }

    /// Draw it.
    pub fn render(&self) -> Pixels {
        let (w, h) = (self.width as usize, self.height as usize);
        let (cx, cy, rx, ry) = self.face_geometry();
        let mut rng = self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        // Background: a cool gradient whose hue depends on the seed (never skin-like).
        let hue = (self.seed % 5) as f64;
        let base = [40.0 + 12.0 * hue, 70.0 + 8.0 * hue, 120.0 + 10.0 * hue];
        let mut data = vec![0u8; w * h * 3];
        let short = w.min(h) as f64;
        let marker = (short * 0.1) as usize;
        for y in 0..h {
            let fy = y as f64;
            for x in 0..w {
                let fx = x as f64;
                let grain = (next() % 17) as f64 - 8.0;
                let stripes = ((fx * 0.05 + fy * 0.031 + hue).sin() * 10.0).round();
                let shade = 1.0 - 0.35 * fy / h as f64;
                let mut px = [0.0; 3];
                for c in 0..3 {
                    px[c] = base[c] * shade + stripes + grain;
                }
                let (dx, dy) = ((fx - cx) / rx, (fy - cy) / ry);
                // Shoulders: a wide dark ellipse below the head.
                let (sx, sy) = ((fx - cx) / (rx * 2.6), (fy - (cy + ry * 2.3)) / (ry * 1.4));
                if sx * sx + sy * sy <= 1.0 {
                    px = [50.0 + grain, 52.0 + grain, 60.0 + grain];
                }
                if dx * dx + dy * dy <= 1.0 {
                    let s = SKIN.map(f64::from);
                    px = [s[0] + grain * 0.5, s[1] + grain * 0.5, s[2] + grain * 0.5];
                    // Eyes, mouth.
                    let eye = |ex: f64| ((dx - ex).powi(2) + (dy + 0.2).powi(2)) < 0.018;
                    if eye(-0.38) || eye(0.38) {
                        px = [30.0, 25.0, 25.0];
                    }
                    if dy > 0.45 && dy < 0.58 && dx.abs() < 0.35 {
                        px = [170.0, 60.0, 70.0];
                    }
                }
                // Hair: the top of the head.
                let (hx, hy) = (
                    (fx - cx) / (rx * 1.08),
                    (fy - (cy - ry * 0.15)) / (ry * 1.0),
                );
                if hx * hx + hy * hy <= 1.0 && dy < -0.55 {
                    px = [60.0 + grain, 40.0 + grain, 25.0 + grain];
                }
                if self.markers && y < marker {
                    if x < marker {
                        px = MARKER_TOP_LEFT.map(f64::from);
                    } else if x >= w - marker {
                        px = MARKER_TOP_RIGHT.map(f64::from);
                    }
                }
                if self.markers && y >= h - marker && x < marker {
                    px = MARKER_BOTTOM_LEFT.map(f64::from);
                }
                let i = (y * w + x) * 3;
                for c in 0..3 {
                    data[i + c] = px[c].round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        Pixels {
            width: self.width,
            height: self.height,
            layout: crate::photo::Layout::Rgb,
            data,
        }
    }
}

/// The stored pixels that a viewer applying EXIF `orientation` shows as `upright`.
pub fn stored_for(orientation: u8, upright: &Pixels) -> Pixels {
    // Rotations by 90° invert each other; every other orientation is its own inverse.
    let inverse = match orientation {
        6 => 8,
        8 => 6,
        o => o,
    };
    crate::photo::orient_upright(inverse, upright.clone())
}
