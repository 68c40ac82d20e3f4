//! A minimal ZIP writer (PKWARE APPNOTE 6.3: local headers, central directory, end
//! record; deflate or stored; Unix mode bits in the external attributes so the
//! executable stays executable). No ZIP64: entries and archives stay under 4 GiB.
//! Fixed timestamps (1980-01-01), so the same inputs give the same bytes.

use std::io::Write as _;

/// One file to put in the archive.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// Path inside the archive, `/`-separated.
    pub name: String,
    /// The bytes.
    pub data: &'a [u8],
    /// Unix mode (`0o644`, `0o755`).
    pub mode: u32,
}

/// Why an archive could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    /// An entry or the archive would pass 4 GiB.
    #[error("{0} is too large for a ZIP without ZIP64 (4 GiB)")]
    TooLarge(String),
    /// Compression failed (out of memory).
    #[error("compressing {0}: {1}")]
    Deflate(String, std::io::Error),
}

const DOS_DATE_1980_01_01: u16 = (1 << 5) | 1;

fn u32_of(what: &str, n: usize) -> Result<u32, ZipError> {
    u32::try_from(n).map_err(|_| ZipError::TooLarge(what.to_string()))
}

/// The archive bytes.
pub fn write(entries: &[Entry<'_>]) -> Result<Vec<u8>, ZipError> {
    let mut out: Vec<u8> = Vec::new();
    let mut central: Vec<u8> = Vec::new();
    for e in entries {
        let crc = crc32fast::hash(e.data);
        let mut enc =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(e.data)
            .map_err(|err| ZipError::Deflate(e.name.clone(), err))?;
        let deflated = enc
            .finish()
            .map_err(|err| ZipError::Deflate(e.name.clone(), err))?;
        let (method, body): (u16, &[u8]) = if deflated.len() < e.data.len() {
            (8, &deflated)
        } else {
            (0, e.data)
        };
        let offset = u32_of("the archive", out.len())?;
        let (csize, usize_) = (u32_of(&e.name, body.len())?, u32_of(&e.name, e.data.len())?);
        let name = e.name.as_bytes();
        let name_len = u16::try_from(name.len()).map_err(|_| ZipError::TooLarge(e.name.clone()))?;
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
        out.extend_from_slice(&method.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // time 00:00
        out.extend_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&csize.to_le_bytes());
        out.extend_from_slice(&usize_.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(name);
        out.extend_from_slice(body);
        // Central directory record.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes()); // made by Unix, 2.0
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&0x0800u16.to_le_bytes());
        central.extend_from_slice(&method.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&csize.to_le_bytes());
        central.extend_from_slice(&usize_.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0u8; 8]); // extra, comment, disk, internal attributes
        central.extend_from_slice(&((0o100_000 | e.mode) << 16).to_le_bytes()); // regular file + mode
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let cd_offset = u32_of("the archive", out.len())?;
    let cd_size = u32_of("the central directory", central.len())?;
    let count =
        u16::try_from(entries.len()).map_err(|_| ZipError::TooLarge("the entry count".into()))?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]); // disk numbers
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    Ok(out)
}
