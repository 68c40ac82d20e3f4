#!/usr/bin/env python3
"""Regenerate link/hot-text.ld: the functions a normalise run executes, packed together.

The kernel maps a binary's code 64 KB at a time around each page it first touches, so the
code a run executes costs resident memory for every 64 KB window it lands in. Scattered
across the 22 MB of text it cost ~5 MB of the 12 MP run's peak RSS; packed into one
output section it costs ~1 MB. build.rs hands the script to the linker (Linux only);
this tool only rewrites it, from runs of a built binary on the benchmark corpus:

    cargo build --release --features fast-codecs
    python3 bench/hot_text.py [--binary target/release/photo-sync] [--pure target/pure/release/photo-sync]

It needs valgrind (callgrind lists every function a run executes, however briefly) and,
when present, perf (native runs take CPU paths valgrind does not emulate: SHA-NI,
AVX-512). A function alone under its path gets a pattern without the legacy mangling's
trailing hash (`17h…E`), which survives code edits and feature sets. Instances of generic
functions share a path, so they are named exactly, hash included. Those names stay put
across code edits within one build configuration; they change with the feature set, the
dependencies or the compiler. A function renamed or added falls back to the ordinary
`.text` until the next regeneration: nothing breaks when the file is stale, it only packs
less.
"""
import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "bench/work/corpus"
OUT = REPO / "link/hot-text.ld"
HASH = re.compile(r"17h[0-9a-f]{16}E(\.llvm\.\d+)?$")


def text_symbols(binary):
    """The functions the binary defines: name → address."""
    out = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True)
    names = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTWi":
            names[parts[2]] = int(parts[0], 16)
    return names


def callgrind_functions(binary, args):
    """Every function one run executes, in first-seen order (mangled names)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={out}",
             binary, *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        names = []
        for line in out.read_text(errors="replace").splitlines():
            m = re.match(r"c?fn=\(\d+\) (.+)$", line)
            if m:
                names.append(m.group(1))
        return names


def perf_functions(binary, args, runs=5):
    """Functions native runs are sampled in (catches CPU paths valgrind lacks)."""
    if not shutil.which("perf"):
        return []
    names = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "perf.data"
        for _ in range(runs):
            subprocess.run(["perf", "record", "-q", "-F", "20000", "-o", str(data), binary, *args],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            out = subprocess.run(["perf", "script", "-i", str(data), "-F", "ip,sym,dso", "--no-demangle"],
                                 capture_output=True, text=True, check=False)
            for line in out.stdout.splitlines():
                parts = line.split()
                if len(parts) == 3 and Path(parts[2].strip("()")).name == Path(binary).name:
                    names.append(parts[1])
    return names


def asm_objects(names):
    """Hot functions that nasm wrote into a plain `.text` (libjpeg-turbo's SIMD): their
    archive members, since only whole sections can be placed."""
    members = set()
    for rlib in (REPO / "target/release/deps").glob("libturbojpeg_sys-*.rlib"):
        out = subprocess.run(["nm", "-A", "--defined-only", str(rlib)], capture_output=True, text=True)
        for line in out.stdout.splitlines():
            m = re.match(r"[^:]+:([^:]+\.asm\.o):\s*\S+\s+[tT]\s+(\S+)$", line)
            if m and m.group(2) in {base(n) for n in names}:
                members.add(m.group(1))
    return sorted(members)


def base(name):
    """The symbol a sampled name belongs to: nasm's local labels (`f.loop`) count as `f`."""
    return name if name.startswith(("_ZN", "_R")) else name.split(".")[0]


def stem(name):
    """A Rust name without the legacy mangling's hash (and ThinLTO's `.llvm.N` suffix)."""
    return HASH.sub("", name)


def patterns(order, binaries):
    """Input-section patterns for the hot functions, in first-seen order. A function that is
    the only one with its path gets a hash-free pattern (`…17h*`), which outlives rebuilds;
    an instance of a generic function (`Vec<T>::grow_one` names hundreds) is named exactly,
    since the path would pull in every instance, hot or not. Exact names change with the
    feature set, the dependencies and the compiler: stale ones simply match nothing."""
    count = {}
    for defined in binaries:
        mine = {}
        for n in defined:
            if HASH.search(n):
                mine[stem(n)] = mine.get(stem(n), 0) + 1
        for k, v in mine.items():
            count[k] = max(count.get(k, 0), v)
    out = []
    for n in order:
        if ".llvm." in n and not HASH.search(n):
            # A v0-mangled (std) function copied into one of our codegen units: the
            # `.llvm.N` suffix names the unit, which a rebuild may renumber.
            name = n.split(".llvm.")[0] + ".llvm.*"
        elif not HASH.search(n):
            name = n
        elif count.get(stem(n), 0) <= 1:
            name = stem(n) + "17h*"
        else:
            name = HASH.sub(lambda m: m.group(0).split(".")[0], n) + "*"
        # `#[cold]` functions (and C's) sit in `.text.unlikely.`, C constructors and
        # destructors in `.text.startup.` and `.text.exit.`: a run still calls some of them.
        out.append(" ".join(f".text{prefix}.{name}" for prefix in ("", ".unlikely", ".startup", ".exit")))
    return list(dict.fromkeys(out))


def check(binary, photo):
    """Print the functions one run executes outside `.text.hot` (the list has gone stale
    when these grow: regenerate)."""
    sections = subprocess.run(["readelf", "-S", "-W", binary], capture_output=True, text=True).stdout
    m = re.search(r"\.text\.hot\s+PROGBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", sections)
    if not m:
        sys.exit(f"{binary} has no .text.hot section")
    lo, size = int(m.group(1), 16), int(m.group(2), 16)
    addr = text_symbols(binary)
    with tempfile.TemporaryDirectory() as out_dir:
        ran = set(callgrind_functions(binary, ["normalize", str(photo), "--out", out_dir]))
    ours = [n for n in ran if n in addr]
    outside = sorted(n for n in ours if not lo <= addr[n] < lo + size)
    for n in outside:
        print("  outside:", n)
    print(f"{len(ours) - len(outside)} of {len(ours)} functions a run of {photo.name} executes lie in "
          f".text.hot ({size // 1024} KB)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(REPO / "target/release/photo-sync"))
    ap.add_argument("--pure", help="a default-feature (pure Rust) build to profile as well")
    ap.add_argument("--check", action="store_true",
                    help="only report how many functions one 12 MP run executes outside .text.hot")
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is needed (apt-get install valgrind)")
    files = sorted(CORPUS.glob("*.*"))
    if not files:
        sys.exit(f"no corpus in {CORPUS}: run bench/corpus.sh first")
    if args.check:
        return check(args.binary, files[0])
    order, seen, defined_sets = [], set(), []
    for binary in [args.binary] + ([args.pure] if args.pure else []):
        defined = text_symbols(binary)
        defined_sets.append(defined)
        with tempfile.TemporaryDirectory() as out:
            runs = [["normalize", str(f), "--out", out] for f in files]
            runs.append(["normalize", str(files[0]), "--out", out, "--json"])
            for run in runs:
                print(" ".join(Path(a).name for a in run), file=sys.stderr)
                for name in callgrind_functions(binary, run) + perf_functions(binary, run):
                    if (name in defined or base(name) in defined) and name not in seen:
                        seen.add(name)
                        order.append(name)
    hot = patterns(order, defined_sets)
    members = asm_objects(seen)
    OUT.parent.mkdir(exist_ok=True)
    with open(OUT, "w") as f:
        f.write("/* The code a normalise run executes, packed into one output section so that it\n"
                "   touches few 64 KB fault-around windows (peak RSS; see BENCHMARKS.md).\n"
                "   Generated by bench/hot_text.py from runs on the benchmark corpus: do not edit.\n"
                "   INSERT keeps the linker's default layout for everything else. */\n")
        f.write("SECTIONS\n{\n  .text.hot :\n  {\n")
        for m in members:
            f.write(f"    *:{m}(.text)\n")
        for p in hot:
            f.write(f"    *({p})\n")
        f.write("  }\n}\nINSERT BEFORE .text;\n")
    print(f"{OUT.relative_to(REPO)}: {len(hot)} function patterns, {len(members)} asm objects",
          file=sys.stderr)


if __name__ == "__main__":
    main()
