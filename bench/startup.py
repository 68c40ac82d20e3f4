#!/usr/bin/env python3
"""Start-up to the first answered `GET /` (the Functions host's readiness ping), as the
host does it: start `photo-sync serve` with FUNCTIONS_CUSTOMHANDLER_PORT and poll until
an HTTP answer arrives. Median of RUNS runs; also prints the binary size.

    cargo build --release && python3 bench/startup.py [BINARY] [RUNS]
"""
import os, socket, statistics, subprocess, sys, tempfile, time

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/photo-sync"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 21

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.05) as c:
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return c.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False

times = []
with tempfile.TemporaryDirectory() as d:
    for _ in range(runs):
        port = free_port()
        env = dict(os.environ,
                   FUNCTIONS_CUSTOMHANDLER_PORT=str(port),
                   AZURE_TENANT_ID="00000000-0000-0000-0000-000000000001",
                   AZURE_CLIENT_ID="00000000-0000-0000-0000-000000000002",
                   AZURE_CLIENT_SECRET="not-a-real-secret",
                   PHOTOSYNC_LEDGER=f"sqlite:{d}/ledger.db",
                   PHOTOSYNC_LOG="warn")
        t0 = time.perf_counter()
        p = subprocess.Popen([binary, "serve", "--no-scheduler"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not ping(port):
            if p.poll() is not None:
                sys.exit(f"photo-sync exited with {p.returncode}")
            if time.perf_counter() - t0 > 10:
                p.kill(); sys.exit("no answer within 10 s")
        times.append((time.perf_counter() - t0) * 1e3)
        p.terminate(); p.wait()
size = os.path.getsize(binary)
print(f"start-up to first answered GET /: median {statistics.median(times):.1f} ms, "
      f"min {min(times):.1f}, max {max(times):.1f} over {runs} runs; binary {size/1e6:.1f} MB ({binary})")
