//! The in-memory image the pipeline passes between stages: 8-bit interleaved RGB, or
//! CMYK kept as decoded until the final square is colour-converted.

/// How the channels of a [`Pixels`] buffer are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 3 bytes per pixel, sRGB or the embedded profile's RGB.
    Rgb,
    /// 4 bytes per pixel as the JPEG decoder gives them. Adobe (APP14) files store
    /// inverted values (255 = no ink), as Photoshop writes them.
    Cmyk {
        /// True when 255 means no ink.
        inverted: bool,
    },
}

impl Layout {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            Layout::Rgb => 3,
            Layout::Cmyk { .. } => 4,
        }
    }
}

/// A decoded image: `width * height * layout.channels()` bytes, rows top to bottom.
#[derive(Clone, PartialEq, Eq)]
pub struct Pixels {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Channel layout.
    pub layout: Layout,
    /// The samples.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Pixels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pixels")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("layout", &self.layout)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl Pixels {
    /// An RGB image from raw samples; `None` when the length does not match.
    pub fn rgb(width: u32, height: u32, data: Vec<u8>) -> Option<Self> {
        (data.len() == width as usize * height as usize * 3).then_some(Self {
            width,
            height,
            layout: Layout::Rgb,
            data,
        })
    }

    /// The sample at `(x, y)` as RGB (CMYK converted naively); for tests and analysis.
    pub fn rgb_at(&self, x: u32, y: u32) -> [u8; 3] {
        let c = self.layout.channels();
        let i = (y as usize * self.width as usize + x as usize) * c;
        match self.layout {
            Layout::Rgb => [self.data[i], self.data[i + 1], self.data[i + 2]],
            Layout::Cmyk { inverted } => {
                super::color::cmyk_pixel_to_rgb(&self.data[i..i + 4], inverted)
            }
        }
    }
}
