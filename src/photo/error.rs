//! Why a photo could not be normalised: one typed error per cause, each with a
//! sentence a person understands (what is wrong, and which limit it broke).

use thiserror::Error;

/// A photo that cannot be turned into renditions. Every variant is about the input
/// (or the settings), so retrying the same bytes never helps: see [`PhotoError::is_retryable`].
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum PhotoError {
    /// Zero bytes.
    #[error("the file is empty (0 bytes), so there is no photo to use")]
    Empty,
    /// More bytes than [`crate::photo::Limits::max_bytes`].
    #[error("the file is {bytes} bytes, over the {limit}-byte limit for a source photo")]
    TooManyBytes {
        /// Size of the input.
        bytes: u64,
        /// The configured limit.
        limit: u64,
    },
    /// No known image signature.
    #[error("the file is not an image photo-sync can read (expected JPEG, PNG, WebP, GIF, BMP or TIFF; the first bytes match none of them)")]
    UnknownFormat,
    /// A real image format this build does not decode.
    #[error("{format} photos are not supported: {reason}")]
    Unsupported {
        /// The format that was recognised.
        format: &'static str,
        /// What to do instead.
        reason: &'static str,
    },
    /// A side longer than [`crate::photo::Limits::max_side`], read from the header.
    #[error("the {format} header says {width}x{height} pixels; the limit is {limit} pixels per side, so the photo was not decoded")]
    SideTooLong {
        /// Format named by the header.
        format: &'static str,
        /// Width claimed by the header.
        width: u64,
        /// Height claimed by the header.
        height: u64,
        /// The configured limit.
        limit: u32,
    },
    /// More pixels than [`crate::photo::Limits::max_pixels`], read from the header.
    #[error("the {format} header says {width}x{height} ({megapixels:.1} megapixels); the limit is {limit_mp:.1} megapixels, so the photo was not decoded")]
    TooManyPixels {
        /// Format named by the header.
        format: &'static str,
        /// Width claimed by the header.
        width: u64,
        /// Height claimed by the header.
        height: u64,
        /// Claimed size in megapixels.
        megapixels: f64,
        /// The configured limit in megapixels.
        limit_mp: f64,
    },
    /// The decoder refused the header against the limits (dimensions it would not report).
    #[error(
        "the {format} header is over the size limits ({detail}), so the photo was not decoded"
    )]
    OverLimits {
        /// Format named by the signature.
        format: &'static str,
        /// What the decoder reported.
        detail: String,
    },
    /// Smaller than the smallest photo worth publishing.
    #[error("the photo is only {width}x{height} pixels; a profile photo needs at least {min}x{min} pixels (upscaling would only make it blurry)")]
    TooSmall {
        /// Upright width.
        width: u32,
        /// Upright height.
        height: u32,
        /// The configured minimum side.
        min: u32,
    },
    /// The bytes are not a valid image of the format they claim.
    #[error("the {format} file is damaged or truncated: {detail}")]
    Corrupt {
        /// Format named by the signature.
        format: &'static str,
        /// What the decoder reported.
        detail: String,
    },
    /// An explicit crop box that does not fit the photo.
    #[error("the crop box x={x} y={y} {width}x{height} does not fit inside the {image_width}x{image_height} upright photo")]
    InvalidCrop {
        /// Left edge of the box.
        x: u32,
        /// Top edge of the box.
        y: u32,
        /// Box width.
        width: u32,
        /// Box height.
        height: u32,
        /// Upright image width.
        image_width: u32,
        /// Upright image height.
        image_height: u32,
    },
    /// Settings that cannot work (checked before any pixel is touched).
    #[error("invalid normaliser settings: {0}")]
    InvalidSettings(String),
    /// Even the lowest quality does not fit a rendition's hard limit.
    #[error("the {target} {size}px rendition is {bytes} bytes even at quality {quality}, over its {limit}-byte hard limit")]
    OverHardLimit {
        /// Target name.
        target: &'static str,
        /// Rendition size in pixels.
        size: u32,
        /// Smallest size reached.
        bytes: usize,
        /// Quality of that attempt.
        quality: u8,
        /// The hard limit.
        limit: usize,
    },
    /// The JPEG encoder failed (not the input's fault).
    #[error("the JPEG encoder failed: {0}")]
    Encode(String),
}

impl PhotoError {
    /// Run a decoder of `format`; a panic inside it is reported as a damaged file, never
    /// a crash.
    pub fn guarded<T>(
        format: &'static str,
        f: impl FnOnce() -> Result<T, PhotoError>,
    ) -> Result<T, PhotoError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
            Err(PhotoError::corrupt(
                format,
                "the decoder could not make sense of the data",
            ))
        })
    }

    /// Stable machine-readable code for JSON output, logs and the ledger.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooManyBytes { .. } => "too_many_bytes",
            Self::UnknownFormat => "unknown_format",
            Self::Unsupported { .. } => "unsupported_format",
            Self::SideTooLong { .. } => "side_too_long",
            Self::TooManyPixels { .. } => "too_many_pixels",
            Self::OverLimits { .. } => "over_limits",
            Self::TooSmall { .. } => "too_small",
            Self::Corrupt { .. } => "corrupt",
            Self::InvalidCrop { .. } => "invalid_crop",
            Self::InvalidSettings(_) => "invalid_settings",
            Self::OverHardLimit { .. } => "over_hard_limit",
            Self::Encode(_) => "encode_failed",
        }
    }

    /// Normalisation is a pure function of bytes and settings: the same input fails the
    /// same way every time, so no photo error is worth a retry.
    pub fn is_retryable(&self) -> bool {
        false
    }

    /// True when the input photo itself is at fault (as opposed to settings or the encoder),
    /// i.e. the person who supplied the photo must supply another.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Self::InvalidSettings(_) | Self::Encode(_))
    }

    pub(crate) fn corrupt(format: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            format,
            detail: detail.to_string(),
        }
    }
}
