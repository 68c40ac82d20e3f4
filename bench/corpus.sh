#!/usr/bin/env bash
# Builds the benchmark corpus into bench/work/corpus (+ bench/work/bombs) with the shared recipe,
# checks md5s against the shared list (mismatches are reported, not fatal) and adds the JPEG bomb.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=$(cd "$HERE/../../shared/corpus" && pwd)   # repo root is bench/..; shared/ sits beside it
WORK=$HERE/work
PY=$WORK/venv/bin/python
[ -x "$PY" ] || { echo "run bench/setup.sh first" >&2; exit 1; }

"$PY" "$SHARED/make_corpus.py" "$WORK/corpus"

echo "== md5 check against $SHARED/corpus.md5"
if (cd "$WORK/corpus" && md5sum -c "$SHARED/corpus.md5"); then
  echo "corpus: all md5s match"
else
  echo "WARNING: corpus differs from the shared md5 list (library versions?); timings stay comparable within one run" >&2
fi

# JPEG bomb: a valid 64x64 baseline JPEG whose SOF0 claims 60000x60000.
"$PY" - "$WORK/bombs/jpeg_sof_60000.jpg" <<'PYEOF'
import io, struct, sys
import numpy as np
from PIL import Image
rng = np.random.default_rng(7)
buf = io.BytesIO()
Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG", quality=75)
b = bytearray(buf.getvalue())
i = b.index(b"\xff\xc0")                  # SOF0: FFC0 len(2) precision(1) height(2) width(2)
assert b[i + 4] == 8 and struct.unpack(">HH", b[i + 5:i + 9]) == (64, 64)
b[i + 5:i + 9] = struct.pack(">HH", 60000, 60000)
open(sys.argv[1], "wb").write(b)
print(f"wrote {sys.argv[1]} ({len(b)} bytes, SOF0 60000x60000)")
PYEOF
ls -la "$WORK/bombs"
