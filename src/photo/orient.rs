//! EXIF orientation (all eight values): mapping a box chosen on the upright photo back to
//! stored pixels, and turning a stored-orientation image upright. Only the small images
//! (the attention thumbnail and the final square) are ever rotated.

use super::pixels::Pixels;

/// Map a rectangle `[x0, x1) × [y0, y1)` on the upright image to stored coordinates,
/// for a stored image of `w × h`. Returns `(x0, y0, x1, y1)` in stored pixels.
pub fn upright_rect_to_stored(o: u8, r: [f64; 4], w: f64, h: f64) -> [f64; 4] {
    let map = |x: f64, y: f64| -> (f64, f64) {
        match o {
            2 => (w - x, y),
            3 => (w - x, h - y),
            4 => (x, h - y),
            5 => (y, x),
            6 => (y, h - x),
            7 => (w - y, h - x),
            8 => (w - y, x),
            _ => (x, y),
        }
    };
    let (ax, ay) = map(r[0], r[1]);
    let (bx, by) = map(r[2], r[3]);
    [ax.min(bx), ay.min(by), ax.max(bx), ay.max(by)]
}

/// How an image stored with orientation `o` is read upright: the stored (x, y) of upright
/// (0, 0), and the stored step for one upright pixel to the right and for one upright row
/// down (the discrete form of [`upright_rect_to_stored`]'s map).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Walk {
    /// Stored (x, y) of the upright top-left pixel.
    pub start: (isize, isize),
    /// Stored (dx, dy) for one upright pixel to the right.
    pub right: (isize, isize),
    /// Stored (dx, dy) for one upright row down.
    pub down: (isize, isize),
}

/// The [`Walk`] for orientation `o` over a stored `w × h` image (1 and unknown values:
/// as stored).
pub fn walk(o: u8, w: usize, h: usize) -> Walk {
    let (w1, h1) = (w as isize - 1, h as isize - 1);
    let (start, right, down) = match o {
        2 => ((w1, 0), (-1, 0), (0, 1)),
        3 => ((w1, h1), (-1, 0), (0, -1)),
        4 => ((0, h1), (1, 0), (0, -1)),
        5 => ((0, 0), (0, 1), (1, 0)),
        6 => ((0, h1), (0, -1), (1, 0)),
        7 => ((w1, h1), (0, -1), (-1, 0)),
        8 => ((w1, 0), (0, 1), (-1, 0)),
        _ => ((0, 0), (1, 0), (0, 1)),
    };
    Walk { start, right, down }
}

/// The upright size of a stored `w × h` image with orientation `o`.
pub fn upright_size<T>(o: u8, w: T, h: T) -> (T, T) {
    if (5..=8).contains(&o) {
        (h, w)
    } else {
        (w, h)
    }
}

/// Turn an image stored with orientation `o` upright. Takes the image: upright already, it
/// comes back as it is (no copy); turned, the stored copy is freed at once, not kept
/// beside the upright one through the encodes.
pub fn apply(o: u8, img: Pixels) -> Pixels {
    if !(2..=8).contains(&o) {
        return img;
    }
    let (w, h) = (img.width as usize, img.height as usize);
    let c = img.layout.channels();
    let (uw, uh) = upright_size(o, w, h);
    // The walk in pixel indices.
    let Walk { start, right, down } = walk(o, w, h);
    let w_ = w as isize;
    let start = start.1 * w_ + start.0;
    let (step_x, step_y) = (right.1 * w_ + right.0, down.1 * w_ + down.0);
    let data = match c {
        3 => rotate::<3>(&img.data, uw, start, step_x, step_y),
        _ => rotate::<4>(&img.data, uw, start, step_x, step_y),
    };
    Pixels {
        width: uw as u32,
        height: uh as u32,
        layout: img.layout,
        data,
    }
}

/// Gather `N`-byte pixels: upright pixel (x, y) is stored pixel `start + x·sx + y·sy`.
fn rotate<const N: usize>(src: &[u8], uw: usize, start: isize, sx: isize, sy: isize) -> Vec<u8> {
    let mut out = vec![0u8; src.len()];
    for (uy, row) in out.chunks_exact_mut(uw * N).enumerate() {
        let mut at = start + uy as isize * sy;
        for px in row.chunks_exact_mut(N) {
            // `at` stays within the image: the map is a bijection onto stored pixels.
            let s = at as usize * N;
            px.copy_from_slice(&src[s..s + N]);
            at += sx;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3x2 stored image whose pixel values are their index, so each mapping is checkable.
    fn numbered() -> Pixels {
        Pixels::rgb(3, 2, (0..6u8).flat_map(|i| [i, i, i]).collect()).unwrap()
    }

    #[test]
    fn orientation_6_rotates_clockwise() {
        // Stored rows: [0 1 2] / [3 4 5]. Rotated 90° clockwise: [3 0] / [4 1] / [5 2].
        let up = apply(6, numbered());
        assert_eq!((up.width, up.height), (2, 3));
        let firsts: Vec<u8> = up.data.chunks(3).map(|p| p[0]).collect();
        assert_eq!(firsts, vec![3, 0, 4, 1, 5, 2]);
    }

    #[test]
    fn an_upright_image_passes_through_without_a_copy() {
        let img = numbered();
        let at = img.data.as_ptr();
        let up = apply(1, img);
        assert_eq!(
            up.data.as_ptr(),
            at,
            "orientation 1 must not copy the pixels"
        );
        assert_eq!((up.width, up.height), (3, 2));
    }

    #[test]
    fn pixel_and_rect_maps_agree_for_every_orientation() {
        let img = numbered();
        for o in 1..=8u8 {
            let up = apply(o, img.clone());
            for uy in 0..up.height {
                for ux in 0..up.width {
                    let r = [ux as f64, uy as f64, ux as f64 + 1.0, uy as f64 + 1.0];
                    let s = upright_rect_to_stored(o, r, 3.0, 2.0);
                    let (sx, sy) = (s[0] as u32, s[1] as u32);
                    assert_eq!(up.rgb_at(ux, uy), img.rgb_at(sx, sy), "orientation {o}");
                }
            }
        }
    }
}
