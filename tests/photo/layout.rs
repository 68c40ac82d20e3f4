//! The binary's code layout: on Linux with the GNU toolchain, `build.rs` hands the linker
//! `link/hot-text.ld`, which packs the normaliser's code into `.text.hot` (peak RSS,
//! BENCHMARKS.md). A build that lost the script would still pass every other test and
//! quietly cost 4 MB per run; this reads the built binary's ELF tables to catch it.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// One section header: name offset, type, file offset, size, link, address.
struct Section {
    name: u32,
    kind: u32,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
}

fn read_at(f: &mut File, offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.read_exact(&mut buf).unwrap();
    buf
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn name_at(strings: &[u8], at: u32) -> &str {
    let s = &strings[at as usize..];
    let end = s.iter().position(|&c| c == 0).unwrap();
    std::str::from_utf8(&s[..end]).unwrap()
}

/// The sections of a 64-bit little-endian ELF file, with the section-name table.
fn sections(f: &mut File) -> (Vec<Section>, Vec<u8>) {
    let eh = read_at(f, 0, 64);
    assert_eq!(
        &eh[..6],
        b"\x7fELF\x02\x01",
        "a 64-bit little-endian ELF file"
    );
    let (shoff, shentsize) = (u64_at(&eh, 0x28), u16_at(&eh, 0x3A) as usize);
    let (shnum, shstrndx) = (u16_at(&eh, 0x3C) as usize, u16_at(&eh, 0x3E) as usize);
    let table = read_at(f, shoff, shnum * shentsize);
    let secs: Vec<Section> = table
        .chunks_exact(shentsize)
        .map(|s| Section {
            name: u32_at(s, 0),
            kind: u32_at(s, 4),
            addr: u64_at(s, 0x10),
            offset: u64_at(s, 0x18),
            size: u64_at(s, 0x20),
            link: u32_at(s, 0x28),
        })
        .collect();
    let names = &secs[shstrndx];
    let names = read_at(f, names.offset, names.size as usize);
    (secs, names)
}

#[test]
fn the_normalisers_code_is_packed_into_the_hot_section() {
    let mut f = File::open(env!("CARGO_BIN_EXE_photo-sync")).unwrap();
    let (secs, names) = sections(&mut f);
    let hot = secs
        .iter()
        .find(|s| name_at(&names, s.name) == ".text.hot")
        .expect("the binary has a .text.hot section (build.rs passes link/hot-text.ld)");
    assert!(
        hot.size >= 256 * 1024,
        ".text.hot holds {} bytes; the normaliser's code is several hundred KB",
        hot.size
    );
    // The entry point of the normaliser lies inside it.
    let symtab = secs.iter().find(|s| s.kind == 2).expect("a symbol table");
    let strings = &secs[symtab.link as usize];
    let strings = read_at(&mut f, strings.offset, strings.size as usize);
    let syms = read_at(&mut f, symtab.offset, symtab.size as usize);
    let normalize: Vec<u64> = syms
        .chunks_exact(24)
        .filter(|s| {
            name_at(&strings, u32_at(s, 0)).starts_with("_ZN10photo_sync5photo9normalize17h")
        })
        .map(|s| u64_at(s, 8))
        .collect();
    assert!(
        !normalize.is_empty(),
        "photo_sync::photo::normalize is in the symbol table"
    );
    for addr in normalize {
        assert!(
            (hot.addr..hot.addr + hot.size).contains(&addr),
            "normalize at {addr:#x} lies outside .text.hot {:#x}..{:#x}",
            hot.addr,
            hot.addr + hot.size
        );
    }
}
