#!/usr/bin/env python3
"""Whole-process benchmark: photo-sync against its peers, every corpus file, all 5 renditions, one run.

Timing: hyperfine (--warmup 1 --runs N), median wall time. Peak RSS: a separate `/usr/bin/time -f %M`
run (max RSS of the process and every child it reaped). Raw numbers go to bench/work/results.json.
Stdlib only. See bench/README.md.
"""
import argparse, datetime, json, os, platform, re, shlex, shutil, signal, subprocess, sys, tempfile, time
from pathlib import Path
from ab import settle   # bench/ab.py, beside this script: one page-cache drop for both

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work"
ANCH = (REPO / "../shared/corpus/anchors").resolve()
CORPUS, BOMBS, OUT = WORK / "corpus", WORK / "bombs", WORK / "out"
VENV_PY, SIMD_PY = WORK / "venv/bin/python", WORK / "venv-simd/bin/python"
TARGETS = "m365,ad,sharepoint"
TOOLS = ["photo-sync", "photo-sync-q85", "photo-sync-pure", "vips", "pyvips", "im", "im-hint", "pillow", "pillow-simd"]


def log(*a, **kw):
    print(*a, file=sys.stderr, flush=True, **kw)


def run_bounded(cmd, timeout, env=None, cwd=None):
    """Run cmd in its own process group; kill the whole group on timeout. -> (rc|None, out, err, secs)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                         start_new_session=True, env=env, cwd=cwd)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err, time.perf_counter() - t
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return None, out, err, time.perf_counter() - t


def photosync_bins(pure=False):
    default = REPO / ("target/pure/release/photo-sync" if pure else "target/release/photo-sync")
    env = os.environ.get("PHOTOSYNC_PURE_BIN" if pure else "PHOTOSYNC_BIN")
    return (REPO / env).resolve() if env else default   # a relative PHOTOSYNC_BIN is taken from the repo root


def python_has(py, module):
    return py.exists() and run_bounded([str(py), "-c", f"import {module}"], 60)[0] == 0


def tool_commands(pure_bin=True):
    """tool -> (cmd(input, outdir) -> argv, path of the 648 rendition(input, outdir), why unavailable or None)."""
    def ps(b, var, extra=()):
        return (lambda i, o: [str(b), "normalize", str(i), "--out", str(o), "--targets", TARGETS, *extra],
                lambda i, o: o / f"{i.stem}.m365.648.jpg",
                None if os.access(b, os.X_OK) else f"binary {b} not found (build it, pass --build, or set {var})")

    peer648 = lambda i, o: o / f"{i.stem}_648.jpg"
    vips_ok = None if shutil.which("vipsthumbnail") else "vipsthumbnail missing (run bench/setup.sh)"
    im_ok = None if os.path.exists("/usr/bin/convert") else "/usr/bin/convert missing (apt-get install imagemagick)"
    return {
        "photo-sync": ps(photosync_bins(), "PHOTOSYNC_BIN"),
        # Fixed quality 85 like the peers (no byte budget search): the like-for-like quality row.
        "photo-sync-q85": ps(photosync_bins(), "PHOTOSYNC_BIN", ("--quality", "85-85")),
        "photo-sync-pure": ps(photosync_bins(pure=True), "PHOTOSYNC_PURE_BIN"),
        "vips": (lambda i, o: ["sh", str(ANCH / "vips_all.sh"), str(i), str(o), i.stem, "all"], peer648, vips_ok),
        "pyvips": (lambda i, o: [str(VENV_PY), str(ANCH / "pyvips_thumb.py"), str(i), str(o / i.stem), "all"], peer648,
                   None if python_has(VENV_PY, "pyvips") else "pyvips not importable in work/venv"),
        "im": (lambda i, o: ["sh", str(ANCH / "im_all.sh"), str(i), str(o), i.stem, "all"], peer648, im_ok),
        "im-hint": (lambda i, o: ["sh", str(ANCH / "im_all.sh"), str(i), str(o), i.stem, "all", "hint"], peer648, im_ok),
        "pillow": (lambda i, o: [str(VENV_PY), str(ANCH / "pil_thumb.py"), str(i), str(o / i.stem), "all"], peer648,
                   None if python_has(VENV_PY, "PIL") else "Pillow not importable in work/venv"),
        "pillow-simd": (lambda i, o: [str(SIMD_PY), str(ANCH / "pil_thumb.py"), str(i), str(o / i.stem), "all"], peer648,
                        None if python_has(SIMD_PY, "PIL") else
                        "pillow-simd not installed in work/venv-simd (see work/pillow-simd-build.log)"),
    }


def photosync_report(cmd, timeout):
    """One extra `--json` run of a photo-sync command: the first JSON line, or None."""
    rc, out, err, _ = run_bounded(cmd + ["--json"], timeout)
    for line in out.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    return None


def peak_rss(cmd, timeout):
    """-> dict(rc, peak_kib, wall_ms, stderr tail); rc None means it was killed at the timeout."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as f:
        rc, out, err, secs = run_bounded(["/usr/bin/time", "-f", "%M", "-o", f.name] + cmd, timeout)
        m = re.search(r"(\d+)\s*$", f.read())
    return {"rc": rc, "peak_kib": int(m.group(1)) if m else None, "wall_ms": secs * 1e3,
            "stderr": err.strip().splitlines()[-3:]}


def hyperfine(cmd, runs, warmup, timeout, ignore_failure=False):
    with tempfile.NamedTemporaryFile("r", suffix=".json") as f:
        hf = ["hyperfine", "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(runs),
              "--export-json", f.name] + (["-i"] if ignore_failure else []) + [shlex.join(cmd)]
        rc, out, err, _ = run_bounded(hf, timeout * (runs + warmup) + 30)
        if rc != 0:
            return {"error": f"hyperfine rc={rc}: {err.strip()[-300:]}"}
        r = json.load(f)["results"][0]
    ms = lambda v: v * 1e3
    return {"median_ms": ms(r["median"]), "mean_ms": ms(r["mean"]), "stddev_ms": ms(r["stddev"] or 0),
            "min_ms": ms(r["min"]), "max_ms": ms(r["max"]), "user_s": r["user"], "system_s": r["system"],
            "times_ms": [ms(t) for t in r["times"]], "exit_codes": r.get("exit_codes"), "command": r["command"]}


def measure(cmd, outdir, args, is_photosync, bomb=False):
    timeout = args.bomb_timeout if bomb else args.timeout
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    res = {"command": cmd}
    if is_photosync:
        res["report"] = photosync_report(cmd, timeout)
        shutil.rmtree(outdir)
        outdir.mkdir()
    res.update(peak_rss(cmd, timeout))   # also the check run: does the tool handle this file at all?
    err = (res.get("report") or {}).get("error") or {}
    if res["rc"] is None:
        res["status"] = "timeout"
    elif res["rc"] != 0:
        res["status"] = "rejected" if bomb else ("unsupported" if err.get("code") == "unsupported_format" else "fail")
    else:
        res["status"] = "ACCEPTED" if bomb else "ok"
    res["error_code"] = err.get("code")
    res["outputs"] = {p.name: p.stat().st_size for p in sorted(outdir.glob("*.jpg"))}
    if res["status"] in ("ok", "rejected", "ACCEPTED"):
        res.update(hyperfine(cmd, args.runs, args.warmup, timeout, ignore_failure=bomb))
    return res


def tool_version(cmd):
    try:
        rc, out, err, _ = run_bounded(cmd, 30)
        return (out or err).strip().splitlines()[0] if rc == 0 else None
    except (OSError, IndexError):
        return None


def machine(tools):
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    flags = Path("/proc/cpuinfo").read_text()
    mem = int(re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 2**20
    pyver = "import PIL, sys; v = [PIL.__version__]\ntry:\n import pyvips; v.append('pyvips ' + pyvips.__version__)\n" \
            "except ImportError: pass\nprint(' '.join(v))"
    m = {"cpu": cpu.group(1) if cpu else platform.processor(), "cores": os.cpu_count(), "mem_gib": round(mem, 1),
         "kernel": platform.release(), "simd": [f for f in ("avx2", "avx512f") if f" {f} " in flags],
         "date": datetime.datetime.now().isoformat(timespec="seconds"), "loadavg_start": os.getloadavg(),
         "versions": {"vips": tool_version(["vipsthumbnail", "--vips-version"]),
                      "imagemagick": (tool_version(["/usr/bin/convert", "-version"]) or "").split(" https")[0]
                      .replace("Version: ", "") or None,
                      "hyperfine": tool_version(["hyperfine", "--version"]),
                      "pillow+pyvips": tool_version([str(VENV_PY), "-c", pyver]) if VENV_PY.exists() else None,
                      "pillow-simd": tool_version([str(SIMD_PY), "-c", pyver]) if SIMD_PY.exists() else None,
                      "rustc": tool_version(["rustc", "--version"])}}
    for t in ("photo-sync", "photo-sync-q85", "photo-sync-pure"):
        if t in tools:
            b = photosync_bins(pure=t.endswith("pure"))
            m["versions"][t] = f"{tool_version([str(b), '--version'])} ({b}, built " \
                               f"{datetime.datetime.fromtimestamp(b.stat().st_mtime):%Y-%m-%d %H:%M})"
    v = m["versions"]
    m["line"] = (f"{m['cpu']}, {m['cores']} cores, {m['mem_gib']} GiB, Linux {m['kernel']}, {'+'.join(m['simd'])} | "
                 + "; ".join(f"{k}: {val}" for k, val in v.items() if val))
    return m


def cell(r):
    if r is None:
        return "–"
    if r["status"] in ("ok", "rejected", "ACCEPTED") and "median_ms" in r:
        ms = r["median_ms"]
        s = f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}"
        s += f" / {r['peak_kib'] / 1024:.0f}" if r.get("peak_kib") else " / ?"
        if r["status"] != "ok":
            s += f" {r['status']}" + (f" ({r['error_code']})" if r.get("error_code") else f" rc {r['rc']}")
        return s
    if r["status"] == "unsupported":
        return "unsupported"
    if r["status"] == "timeout":
        return f"timeout (> {r['wall_ms'] / 1e3:.0f} s)"
    return f"{r['status']} (rc {r.get('rc')}{', ' + r['error_code'] if r.get('error_code') else ''})" \
        + (f" {r['error']}" if r.get("error") else "")


def table(results, files, bombs, tools):
    cols = [f.stem for f in files] + [f"bomb {b.stem}" for b in bombs]
    lines = ["| tool | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for t in tools:
        row = [cell(results["files"].get(t, {}).get(f.name)) for f in files]
        row += [cell(results["bombs"].get(t, {}).get(b.name)) for b in bombs]
        lines.append(f"| {t} | " + " | ".join(row) + " |")
    peers = [t for t in tools if not t.startswith("photo-sync")]
    for ps in (t for t in tools if t.startswith("photo-sync")):
        row = []
        for f in files:
            mine = results["files"].get(ps, {}).get(f.name) or {}
            best = [(results["files"][p][f.name]["median_ms"], p) for p in peers
                    if "median_ms" in results["files"].get(p, {}).get(f.name, {})]
            row.append(f"{min(best)[0] / mine['median_ms']:.2f}× ({min(best)[1]})"
                       if best and "median_ms" in mine and mine["status"] == "ok" else "–")
        if any(c != "–" for c in row):
            lines.append(f"| fastest peer ÷ {ps} | " + " | ".join(row + ["–"] * len(bombs)) + " |")
    return "\n".join(lines)


def cpu_table(results, files, tools):
    """Mean user+system CPU ms per run: steadier than wall time when the machine is shared."""
    lines = ["| tool | " + " | ".join(f.stem for f in files) + " |", "|---" * (len(files) + 1) + "|"]
    for t in tools:
        rs = [results["files"][t].get(f.name, {}) for f in files]
        lines.append(f"| {t} | " + " | ".join(f"{(r['user_s'] + r['system_s']) * 1e3:.0f}" if "user_s" in r else "–"
                                              for r in rs) + " |")
    return "\n".join(lines)


def build(pure):
    env = {k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"}   # binaries where run.py looks
    builds = [(["cargo", "build", "--release", "--features", "fast-codecs"], env)]
    if pure:
        builds.append((["cargo", "build", "--release"], dict(env, CARGO_TARGET_DIR=str(REPO / "target/pure"))))
    for cmd, e in builds:
        log("+", " ".join(cmd), f"(CARGO_TARGET_DIR={e.get('CARGO_TARGET_DIR', 'target')})")
        rc, out, err, _ = run_bounded(cmd, 3600, env=e, cwd=REPO)
        if rc != 0:
            sys.exit(f"build failed (rc {rc}):\n{err[-3000:]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", help="comma-separated corpus file names (default: all in work/corpus)")
    ap.add_argument("--tools", help=f"comma-separated subset of {','.join(TOOLS)}")
    ap.add_argument("--runs", type=int, default=7, help="hyperfine runs per command (default 7)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60, help="seconds allowed for one run of one command")
    ap.add_argument("--bomb-timeout", type=float, default=20, help="seconds allowed for one run on a bomb")
    ap.add_argument("--no-bombs", action="store_true", help="skip the decompression-bomb columns")
    ap.add_argument("--build", action="store_true", help="cargo build --release --features fast-codecs first")
    ap.add_argument("--pure", action="store_true", help="also bench photo-sync without turbojpeg (target/pure)")
    ap.add_argument("--results", default=str(WORK / "results.json"))
    args = ap.parse_args()

    if args.build:
        build(args.pure)
    tools = args.tools.split(",") if args.tools else [t for t in TOOLS if t != "photo-sync-pure" or args.pure]
    if unknown := set(tools) - set(TOOLS):
        sys.exit(f"unknown tools {sorted(unknown)}; choose from {TOOLS}")
    files = [CORPUS / f for f in args.files.split(",")] if args.files else sorted(CORPUS.glob("[a-z]_*"))
    if not files or not all(f.exists() for f in files):
        sys.exit(f"corpus files missing in {CORPUS}: run bench/corpus.sh first ({[str(f) for f in files]})")
    if not shutil.which("hyperfine"):
        sys.exit("hyperfine missing: run bench/setup.sh")
    bombs = [] if args.no_bombs else sorted(BOMBS.glob("*"))

    cmds = tool_commands()
    skipped = {t: cmds[t][2] for t in tools if cmds[t][2]}
    for t, why in skipped.items():
        log(f"SKIP {t}: {why}")
    tools = [t for t in tools if t not in skipped]
    settle([photosync_bins(), photosync_bins(pure=True)])
    if not any(t.startswith("photo-sync") for t in tools):
        bombs = []                        # only photo-sync is run on the bombs
    results = {"machine": machine(tools), "config": vars(args) | {"tools": tools, "files": [f.name for f in files],
               "bombs": [b.name for b in bombs], "anchors": str(ANCH)},
               "skipped": skipped, "files": {t: {} for t in tools}, "bombs": {t: {} for t in tools}}
    log(results["machine"]["line"])

    for f in files:                       # file-outer: all tools on one file are measured close together
        for t in tools:
            log(f"{f.name:24} {t:16}", end="")
            r = measure(cmds[t][0](f, OUT / t / f.stem), OUT / t / f.stem, args, t.startswith("photo-sync"))
            results["files"][t][f.name] = r
            log(cell(r))
    for b in bombs:                       # bombs: photo-sync only; the peers' behaviour is in the spec (section 6)
        for t in (t for t in tools if t.startswith("photo-sync")):
            log(f"{b.name:24} {t:16}", end="")
            r = measure(cmds[t][0](b, OUT / t / "bombs"), OUT / t / "bombs", args, True, bomb=True)
            results["bombs"][t][b.name] = r
            log(cell(r))

    results["machine"]["loadavg_end"] = os.getloadavg()
    md = table(results, files, bombs, tools)
    results["table_md"] = md
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    Path(args.results).write_text(json.dumps(results, indent=1))
    print(f"\n{results['machine']['line']}\n")
    print(f"Whole process, all 5 renditions (648, 300, 96, 72, 48): median wall ms of {args.runs} runs "
          f"(after {args.warmup} warm-up) / peak RSS MiB (separate /usr/bin/time run, children included).\n")
    print(md)
    print("\nCPU time (user+system, mean ms per run; threads add up, so it can exceed wall time):\n")
    print(cpu_table(results, files, tools))
    for t in tools:
        for name, r in {**results["files"][t], **results["bombs"][t]}.items():
            if r["status"] not in ("ok", "rejected", "unsupported") or "error" in r:
                print(f"\n{t} on {name}: {r['status']} rc={r['rc']} {r.get('error', '')} {' '.join(r['stderr'])[:300]}")
    for t, why in skipped.items():
        print(f"\nskipped {t}: {why}")
    print(f"\nraw numbers: {args.results}")


if __name__ == "__main__":
    main()
