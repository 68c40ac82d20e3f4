#!/usr/bin/env bash
# Installs what the benchmark needs. Idempotent: re-running only fills in what is missing.
# Debian packages (root), then two venvs under bench/work/:
#   work/venv       pillow, numpy, scikit-image, pyvips (system libvips, ABI mode)
#   work/venv-simd  pillow-simd built with -mavx2 against Debian libjpeg-turbo (best effort)
# Optional: DSSIM=1 bench/setup.sh also does `cargo install dssim` into work/cargo-bin (AGPL, measurement only).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$HERE/work
PY=${PYTHON:-/usr/bin/python3}
# pinned so numbers stay comparable between machines; these are the versions measured in the spec
PY_PKGS=(pillow==13.0.0 numpy scikit-image==0.26.0 pyvips==3.2.0)
SIMD_PKG=pillow-simd==12.1.1.post0
mkdir -p "$WORK"

DEBS=(imagemagick libvips-tools libimage-exiftool-perl webp libheif-examples libjpeg-turbo-progs
      hyperfine time python3-venv python3-dev build-essential pkg-config
      libjpeg-dev zlib1g-dev libwebp-dev libtiff-dev liblcms2-dev libfreetype-dev)
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "apt: installing ${missing[*]}"
  # refresh the lists unless they are less than a day old
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 -print -quit)" ]; then
    apt-get update
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$WORK/venv/bin/python" ]; then "$PY" -m venv "$WORK/venv"; fi
if ! "$WORK/venv/bin/python" -c 'import PIL, numpy, skimage, pyvips' 2>/dev/null; then
  "$WORK/venv/bin/pip" install -q --upgrade pip
  "$WORK/venv/bin/pip" install -q "${PY_PKGS[@]}"
fi

# pillow-simd: no wheels; build from sdist with AVX2. Failure is recorded, not fatal.
SIMD_LOG=$WORK/pillow-simd-build.log
if [ ! -x "$WORK/venv-simd/bin/python" ]; then "$PY" -m venv "$WORK/venv-simd"; fi
if ! "$WORK/venv-simd/bin/python" -c 'import PIL' 2>/dev/null; then
  "$WORK/venv-simd/bin/pip" install -q --upgrade pip setuptools wheel
  if CC="cc -mavx2" "$WORK/venv-simd/bin/pip" install --no-cache-dir --no-binary :all: "$SIMD_PKG" >"$SIMD_LOG" 2>&1; then
    echo "pillow-simd built (log: $SIMD_LOG)"
  else
    echo "WARNING: pillow-simd failed to build; see $SIMD_LOG (tail below). Benchmarks will skip it."
    tail -n 25 "$SIMD_LOG"
  fi
fi

if [ "${DSSIM:-0}" = 1 ] && [ ! -x "$WORK/cargo-bin/bin/dssim" ]; then
  # own target dir so we never take the project's build lock
  CARGO_TARGET_DIR=/tmp/dssim-target cargo install --locked --root "$WORK/cargo-bin" dssim || echo "WARNING: dssim install failed"
fi

echo "== versions"
for c in "vipsthumbnail --vips-version" "/usr/bin/convert -version" "hyperfine --version" \
         "exiftool -ver" "cwebp -version" "heif-info" "djpeg -version"; do
  printf '%-28s %s\n' "${c%% *}" "$($c 2>&1 </dev/null | head -n1)"
done
"$WORK/venv/bin/python" -c 'import PIL, numpy, skimage, pyvips; print("venv: Pillow", PIL.__version__, "numpy", numpy.__version__, "scikit-image", skimage.__version__, "pyvips", pyvips.__version__, "libvips", pyvips.version(0), pyvips.version(1), pyvips.version(2), "api" if pyvips.API_mode else "abi")'
if "$WORK/venv-simd/bin/python" -c 'import PIL; from PIL import features; print("venv-simd: Pillow-SIMD", PIL.__version__, "libjpeg_turbo", features.version("libjpeg_turbo"), "webp", features.check("webp"))' 2>/dev/null; then
  so=$(ls "$WORK"/venv-simd/lib/python3*/site-packages/PIL/_imaging.*.so)
  echo "venv-simd: AVX2 (ymm) instructions in _imaging: $(objdump -d "$so" | grep -c ymm || true)"
else
  echo "venv-simd: pillow-simd NOT available"
fi
[ -x "$WORK/cargo-bin/bin/dssim" ] && echo "dssim: $("$WORK/cargo-bin/bin/dssim" -h 2>&1 | grep -m1 Version)" || true
