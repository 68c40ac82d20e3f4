#!/usr/bin/env python3
"""SSIM of the small renditions (300, 96, 72, 48) of two photo-sync output folders.

    bench/small_quality.py OLD_DIR NEW_DIR

Each folder holds `photo-sync normalize ... --out DIR` outputs of the same inputs. The
reference for every small rendition is a Pillow Lanczos resize of that folder's own 648
rendition, so the score says how well the small size was made from the large one.
Runs in bench/work/venv (Pillow, numpy, scikit-image; bench/setup.sh makes it).
"""
import glob, os, sys
from pathlib import Path

venv = Path(__file__).resolve().parent / "work" / "venv" / "bin" / "python"
if Path(sys.executable).resolve() != venv.resolve() and venv.exists() and not os.environ.get("SMALLQ_IN_VENV"):
    os.environ["SMALLQ_IN_VENV"] = "1"
    os.execv(str(venv), [str(venv), __file__] + sys.argv[1:])

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity as ssim


def score(folder, stem, name):
    big = Image.open(f"{folder}/{stem}.m365.648.jpg").convert("RGB")
    path = f"{folder}/{stem}.{name}.jpg"
    im = Image.open(path).convert("RGB")
    ref = big.resize(im.size, Image.LANCZOS)
    return ssim(np.asarray(ref), np.asarray(im), channel_axis=2, data_range=255), os.path.getsize(path)


def main():
    old, new = sys.argv[1:3]
    print("| photo | rendition | old SSIM | old bytes | new SSIM | new bytes |\n|---|---|---|---|---|---|")
    for p in sorted(glob.glob(f"{old}/*.m365.648.jpg")):
        stem = os.path.basename(p).split(".m365")[0]
        for name in ["sharepoint.300", "ad.96", "sharepoint.72", "sharepoint.48"]:
            (a, ab), (b, bb) = score(old, stem, name), score(new, stem, name)
            print(f"| {stem} | {name} | {a:.4f} | {ab} | {b:.4f} | {bb} |")


if __name__ == "__main__":
    main()
