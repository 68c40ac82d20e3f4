//! What the normaliser is asked to make: the target profiles (m365, ad, sharepoint),
//! their sizes and byte budgets, the input limits, the crop mode and the quality range.

use std::fmt;
use std::str::FromStr;

use super::PhotoError;

/// A store a photo is written to; each has its own rendition sizes and byte budgets
/// (PRODUCT.md §3; m365-facts.md Part A §1.2, §2, §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// Microsoft 365 profile photo via Graph: 648x648, the largest HD size (Part A §1.2, §6).
    M365,
    /// On-premises AD `thumbnailPhoto`: 96x96, ≤ 10 KB so Exchange accepts it, 100 KB hard (Part A §2).
    Ad,
    /// Classic SharePoint profile thumbnails: 48, 72 and 200-or-300 px (Part A §4.1, UNCONFIRMED large size).
    SharePoint,
}

impl Target {
    /// Every target, in the order renditions are reported.
    pub const ALL: [Target; 3] = [Target::M365, Target::Ad, Target::SharePoint];

    /// The name used in configuration, file names and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Target::M365 => "m365",
            Target::Ad => "ad",
            Target::SharePoint => "sharepoint",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Target {
    type Err = PhotoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "m365" => Ok(Target::M365),
            "ad" => Ok(Target::Ad),
            "sharepoint" | "sp" => Ok(Target::SharePoint),
            other => Err(PhotoError::InvalidSettings(format!(
                "unknown target {other:?}; expected m365, ad or sharepoint"
            ))),
        }
    }
}

/// Parse a comma-separated target list such as `m365,ad`; duplicates are dropped.
pub fn parse_targets(list: &str) -> Result<Vec<Target>, PhotoError> {
    let mut targets = Vec::new();
    for part in list.split(',').filter(|p| !p.trim().is_empty()) {
        let t: Target = part.parse()?;
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    if targets.is_empty() {
        return Err(PhotoError::InvalidSettings("no target given".into()));
    }
    Ok(targets)
}

/// One output image: a square of `size` pixels for `target`, with its byte budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenditionSpec {
    /// The store it is for.
    pub target: Target,
    /// Nominal side in pixels (the output is smaller only when the source is).
    pub size: u32,
    /// Bytes the quality search aims to stay under (the best quality that fits wins).
    pub budget: Option<usize>,
    /// Bytes the output must never exceed; when even the lowest quality is over, the photo fails.
    pub hard_limit: Option<usize>,
}

/// Graph's request-size limit for a photo upload (Part A §1.2).
pub const GRAPH_MAX_UPLOAD: usize = 4 * 1024 * 1024;
/// AD `thumbnailPhoto` attribute limit (Part A §2).
pub const AD_MAX_BYTES: usize = 100 * 1024;

impl RenditionSpec {
    /// The default renditions of one target. `sharepoint_large` is the `_LThumb` size
    /// (sources disagree between 200 and 300, Part A §4.1, so it is a setting).
    pub fn defaults(target: Target, sharepoint_large: u32) -> Vec<RenditionSpec> {
        let r = |size, budget, hard_limit| RenditionSpec {
            target,
            size,
            budget,
            hard_limit,
        };
        match target {
            // 648x648 is the largest HD rendition Microsoft 365 serves (Part A §1.2, §6);
            // 100 KB keeps uploads quick, 4 MB is Graph's request limit.
            Target::M365 => vec![r(648, Some(100_000), Some(GRAPH_MAX_UPLOAD))],
            // Exchange took thumbnailPhoto only when ≤ 10 KB; AD holds at most 100 KB (Part A §2).
            Target::Ad => vec![r(96, Some(10_000), Some(AD_MAX_BYTES))],
            // _SThumb 48, _MThumb 72, _LThumb 300 or 200 (Part A §4.1).
            Target::SharePoint => vec![
                r(48, None, None),
                r(72, None, None),
                r(sharepoint_large, None, None),
            ],
        }
    }
}

/// Input limits, checked from the header before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest input file in bytes (default 20 MB).
    pub max_bytes: u64,
    /// Most pixels (width × height) a header may claim (default 50 MP).
    pub max_pixels: u64,
    /// Longest side a header may claim (default 16384).
    pub max_side: u32,
    /// Shortest upright side accepted (default 96: below that a photo would be upscaled
    /// into every store, PRODUCT.md §4).
    pub min_side: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 20 * 1000 * 1000,
            max_pixels: 50_000_000,
            max_side: 16_384,
            min_side: 96,
        }
    }
}

/// The JPEG quality range the search may use (default 60–92).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QualityRange {
    /// Lowest quality tried before giving up on the budget.
    pub min: u8,
    /// Highest quality, used when it already fits the budget.
    pub max: u8,
}

impl Default for QualityRange {
    fn default() -> Self {
        Self { min: 60, max: 92 }
    }
}

/// A rectangle in the upright (orientation-applied) source photo, in source pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CropBox {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// How the square is chosen from a photo that is not square.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CropMode {
    /// Attention-aware: the square that holds the most skin tone, detail and colour,
    /// with a prior towards the upper part of a portrait (where faces are).
    #[default]
    Attention,
    /// The centre square.
    Centre,
    /// An explicit box (from HR or an operator), in upright source pixels. A box that is
    /// not square is grown to the smallest square around it that fits the photo.
    Box(CropBox),
}

/// Everything [`super::normalize`] needs besides the bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Targets to make renditions for.
    pub targets: Vec<Target>,
    /// SharePoint `_LThumb` size (200 or 300; default 300).
    pub sharepoint_large: u32,
    /// Input limits.
    pub limits: Limits,
    /// Quality search range.
    pub quality: QualityRange,
    /// Crop mode.
    pub crop: CropMode,
    /// Background that transparent pixels are flattened onto (default white).
    pub background: [u8; 3],
}

impl Default for Options {
    fn default() -> Self {
        Self {
            targets: Target::ALL.to_vec(),
            sharepoint_large: 300,
            limits: Limits::default(),
            quality: QualityRange::default(),
            crop: CropMode::default(),
            background: [255, 255, 255],
        }
    }
}

impl Options {
    /// Every rendition to make, largest first (small ones are made from the largest).
    pub fn renditions(&self) -> Vec<RenditionSpec> {
        let mut all: Vec<RenditionSpec> = self
            .targets
            .iter()
            .flat_map(|&t| RenditionSpec::defaults(t, self.sharepoint_large))
            .collect();
        all.sort_by(|a, b| b.size.cmp(&a.size).then(a.target.cmp(&b.target)));
        all
    }

    /// Reject settings that cannot work, before any input is read.
    pub fn validate(&self) -> Result<(), PhotoError> {
        let bad = |m: String| Err(PhotoError::InvalidSettings(m));
        if self.targets.is_empty() {
            return bad("no target given".into());
        }
        let q = self.quality;
        if q.min == 0 || q.max > 100 || q.min > q.max {
            return bad(format!(
                "quality range {}–{} must lie within 1–100",
                q.min, q.max
            ));
        }
        if !(16..=2048).contains(&self.sharepoint_large) {
            return bad(format!(
                "SharePoint large thumbnail size {} must be between 16 and 2048",
                self.sharepoint_large
            ));
        }
        let l = self.limits;
        if l.min_side == 0 || l.max_side < l.min_side || l.max_pixels == 0 || l.max_bytes == 0 {
            return bad("limits must be positive and max_side ≥ min_side".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renditions_are_largest_first_and_cover_every_target() {
        let sizes: Vec<u32> = Options::default()
            .renditions()
            .iter()
            .map(|r| r.size)
            .collect();
        assert_eq!(sizes, vec![648, 300, 96, 72, 48]);
    }

    #[test]
    fn target_lists_parse_and_reject_unknown_names() {
        assert_eq!(
            parse_targets("m365, AD,m365").unwrap(),
            vec![Target::M365, Target::Ad]
        );
        assert!(parse_targets("m365,exchange").is_err());
        assert!(parse_targets(" , ").is_err());
    }

    #[test]
    fn inverted_quality_range_is_rejected() {
        let o = Options {
            quality: QualityRange { min: 90, max: 60 },
            ..Options::default()
        };
        assert_eq!(o.validate().unwrap_err().code(), "invalid_settings");
    }
}
