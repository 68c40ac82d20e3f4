#!/usr/bin/env python3
"""Quality of the 648 rendition of every tool on every corpus file, against a high-quality reference.

Reference: full-resolution Pillow decode (no draft), ImageOps.exif_transpose, convert("RGB") (naive CMYK,
as Pillow does), crop the box, Pillow LANCZOS to 648x648. HEIC (Pillow cannot read it) is decoded to PNG
with libheif's heif-convert first. The box is the crop photo-sync reports in its --json output (upright
pixel coordinates; attention-aware, so not necessarily centred); for the peers, the centre square.
Metrics: SSIM (scikit-image, RGB, channel_axis, data_range 255) and, if a `dssim` binary is found
(PATH or work/cargo-bin/bin), DSSIM. Outputs are decoded with Pillow (libjpeg) and handed to dssim as PNG.
Writes work/quality.json. Needs work/venv (re-executes itself with it).
"""
import os, sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
try:
    import numpy as np
    from PIL import Image, ImageOps
    from skimage.metrics import structural_similarity
except ImportError:
    venv = BENCH / "work/venv/bin/python"
    if venv.exists() and Path(sys.executable).resolve() != venv.resolve():
        os.execv(str(venv), [str(venv), __file__] + sys.argv[1:])
    sys.exit("needs Pillow, numpy and scikit-image: run bench/setup.sh")
import argparse, json, shutil, tempfile

sys.dont_write_bytecode = True    # no __pycache__ beside the scripts
sys.path.insert(0, str(BENCH))
import run  # tool commands and bounded process runner shared with the timing harness

SIDE = 648
QDIR = run.WORK / "quality"


def upright_source(path, tmp):
    if path.suffix.lower() in (".heic", ".heif"):
        png = Path(tmp) / f"{path.stem}.png"
        rc, out, err, _ = run.run_bounded(["heif-convert", str(path), str(png)], 120)
        if rc != 0:
            raise RuntimeError(f"heif-convert failed: {err.strip()[-200:]}")
        path = png
    im = Image.open(path)
    im.load()                                    # full resolution: no draft()
    im = ImageOps.exif_transpose(im)
    return im if im.mode == "RGB" else im.convert("RGB")


def centre_box(w, h):
    s = min(w, h)
    return {"x": (w - s) // 2, "y": (h - s) // 2, "width": s, "height": s}


def reference(src, box, side):
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    if x < 0 or y < 0 or x + w > src.width or y + h > src.height:
        raise ValueError(f"crop box {box} outside the {src.width}x{src.height} upright source")
    return src.crop((x, y, x + w, y + h)).resize((side, side), Image.LANCZOS)


def find_dssim():
    local = run.WORK / "cargo-bin/bin/dssim"
    return shutil.which("dssim") or (str(local) if local.exists() else None)


def dssim(binary, ref, out, tmp):
    a, b = Path(tmp) / "ref.png", Path(tmp) / "out.png"
    ref.save(a)
    out.save(b)
    rc, o, err, _ = run.run_bounded([binary, str(a), str(b)], 120)
    return float(o.split()[0]) if rc == 0 and o.strip() else None


def rendition(tool, cmd, path648, src_file, timeout):
    """Run the tool once; -> (648 path, photo-sync's JSON report or None, error or None)."""
    outdir = QDIR / tool / src_file.stem
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    argv = cmd(src_file, outdir)
    if tool.startswith("photo-sync"):
        rc, out, err, _ = run.run_bounded(argv + ["--json"], timeout)
        line = next((json.loads(l) for l in out.splitlines() if l.startswith("{")), None)
        if rc != 0 or not line or not line.get("ok"):
            code = ((line or {}).get("error") or {}).get("code")
            return None, None, "unsupported" if code == "unsupported_format" else f"fail (rc {rc}, {code})"
        r648 = [r for r in line["renditions"] if r["size"] == SIDE]
        if "crop" not in line or not r648:
            return None, None, "photo-sync --json lacks crop or a 648 rendition"
        return Path(r648[0]["path"]), line, None
    rc, out, err, _ = run.run_bounded(argv, timeout)
    if rc != 0:
        return None, None, f"fail (rc {rc}): {(err.strip().splitlines() or [''])[-1][:120]}"
    return path648(src_file, outdir), None, None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", help="comma-separated corpus file names (default: all)")
    ap.add_argument("--tools", help=f"comma-separated subset of {','.join(run.TOOLS)}")
    ap.add_argument("--pure", action="store_true", help="include photo-sync-pure (target/pure)")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--results", default=str(run.WORK / "quality.json"))
    args = ap.parse_args()

    tools = args.tools.split(",") if args.tools else [t for t in run.TOOLS if t != "photo-sync-pure" or args.pure]
    files = [run.CORPUS / f for f in args.files.split(",")] if args.files else sorted(run.CORPUS.glob("[a-z]_*"))
    if not files or not all(f.exists() for f in files):
        sys.exit(f"corpus missing in {run.CORPUS}: run bench/corpus.sh first")
    cmds = run.tool_commands()
    skipped = {t: cmds[t][2] for t in tools if cmds[t][2]}
    for t, why in skipped.items():
        print(f"SKIP {t}: {why}", file=sys.stderr)
    tools = [t for t in tools if t not in skipped]
    dbin = find_dssim()
    if not dbin:
        print("no dssim binary (optional): SSIM only; `DSSIM=1 bench/setup.sh` installs one", file=sys.stderr)

    res = {"reference": "Pillow full decode + exif_transpose + RGB + crop + LANCZOS 648", "dssim": dbin,
           "skipped": skipped, "files": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            res["files"][f.name] = row = {}
            try:
                src = upright_source(f, tmp)
            except Exception as e:              # no reference: report and go on
                print(f"{f.name}: no reference ({e})", file=sys.stderr)
                continue
            refs = {}
            for t in tools:
                p648, report, err = rendition(t, cmds[t][0], cmds[t][1], f, args.timeout)
                r = row[t] = {"error": err}
                if err:
                    print(f"{f.name:24} {t:16} {err}", file=sys.stderr)
                    continue
                box = report["crop"] if report else centre_box(src.width, src.height)
                if report and "source" in report:       # the crop is in upright pixels: check the frame matches
                    s = report["source"]
                    upright = (s["height"], s["width"]) if s.get("orientation", 1) >= 5 else (s["width"], s["height"])
                    if upright != src.size:
                        r["warning"] = f"reported source {s['width']}x{s['height']} o{s.get('orientation')} " \
                                       f"is not upright {src.width}x{src.height}"
                        print(f"{f.name:24} {t:16} WARNING {r['warning']}", file=sys.stderr)
                try:
                    out = Image.open(p648).convert("RGB")      # Pillow/libjpeg decode
                    side = out.width
                    # a tool may decline to upscale a small source (648 target, 512 px photo): compare at its size
                    if out.height != side or side > SIDE:
                        raise ValueError(f"648 rendition is {out.width}x{out.height}")
                    key = tuple(sorted(box.items())) + (side,)
                    if key not in refs:
                        refs[key] = reference(src, box, side)
                except (OSError, ValueError) as e:
                    r["error"] = str(e)
                    print(f"{f.name:24} {t:16} {e}", file=sys.stderr)
                    continue
                ref = refs[key]
                r.update(crop=box, path=str(p648), side=side, bytes=p648.stat().st_size,
                         ssim=float(structural_similarity(np.asarray(ref), np.asarray(out), channel_axis=2,
                                                          data_range=255)),
                         dssim=dssim(dbin, ref, out, tmp) if dbin else None)
                print(f"{f.name:24} {t:16} SSIM {r['ssim']:.4f}  DSSIM {r['dssim']}  {r['bytes']} B  crop {box}",
                      file=sys.stderr)

    Path(args.results).write_text(json.dumps(res, indent=1))
    print(f"\n648 rendition vs reference: SSIM (higher is better) / DSSIM×1000 (lower is better) / KB\n")
    print("| tool | " + " | ".join(f.stem for f in files) + " |\n" + "|---" * (len(files) + 1) + "|")
    for t in tools:
        cells = []
        for f in files:
            r = res["files"][f.name].get(t)
            if not r:
                cells.append("–")
            elif r["error"]:
                cells.append(r["error"].split(":")[0])
            else:
                d = f"{r['dssim'] * 1000:.2f}" if r["dssim"] is not None else "–"
                cells.append(f"{r['ssim']:.4f} / {d} / {r['bytes'] / 1000:.0f}K"
                             + (f" (at {r['side']}²)" if r["side"] != SIDE else ""))
        print(f"| {t} | " + " | ".join(cells) + " |")
    print(f"\nraw numbers: {args.results}")


if __name__ == "__main__":
    main()
