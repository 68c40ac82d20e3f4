#!/usr/bin/env python3
"""Paired A/B of two photo-sync binaries on one file, whole process.

    bench/ab.py OLD_BIN NEW_BIN FILE [PAIRS=31]

Runs each binary three times to warm the page cache, then PAIRS pairs in alternating
order (old-new, new-old, ...) so drift in machine load hits both alike. Prints the median
wall ms of each and the median of the per-pair ratios old/new (> 1: NEW is faster), with
how many pairs NEW won. Stdlib only; every run is bounded by a 60 s timeout.
"""
import os, statistics, subprocess, sys, tempfile, threading, time


def run(binary, path, out):
    # A watchdog thread, not `subprocess.run(timeout=...)`: with a timeout, Popen.wait
    # polls with sleeps of up to 50 ms, which swamps a 60 ms process.
    t = time.perf_counter()
    p = subprocess.Popen([binary, "normalize", path, "--out", out],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watchdog = threading.Timer(60, p.kill)
    watchdog.start()
    rc = p.wait()
    elapsed = (time.perf_counter() - t) * 1e3
    watchdog.cancel()
    if rc != 0:
        sys.exit(f"{binary} failed on {path} (exit {rc})")
    return elapsed


def settle(paths):
    """Drop the page cache of freshly built binaries, so they are read back from disk as
    long-installed peers are: a binary just written by the linker or `cp` measures ~2 MB
    more peak RSS than the same bytes read from disk (BENCHMARKS.md)."""
    os.sync()
    for p in paths:
        if os.path.exists(p):
            fd = os.open(p, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    old, new, path = sys.argv[1:4]
    pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 31
    settle([old, new])
    with tempfile.TemporaryDirectory() as out:
        for _ in range(3):
            run(old, path, out), run(new, path, out)
        a, b = [], []
        for i in range(pairs):
            if i % 2:
                a.append(run(old, path, out)); b.append(run(new, path, out))
            else:
                b.append(run(new, path, out)); a.append(run(old, path, out))
    ratios = [x / y for x, y in zip(a, b)]
    print(f"{path}: old {statistics.median(a):.1f} ms, new {statistics.median(b):.1f} ms, "
          f"median ratio old/new {statistics.median(ratios):.3f}, "
          f"new faster in {sum(r > 1 for r in ratios)} of {pairs} pairs")


if __name__ == "__main__":
    main()
