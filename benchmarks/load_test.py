#!/usr/bin/env python
"""Load test of ``maskdepth serve`` (a benchmark, not a test): throughput, latency, errors, memory.

Starts ``maskdepth serve --checkpoint CKPT`` on 127.0.0.1 (a free port), waits for /health,
sends a few warm-up requests, then runs ``--clients`` concurrent clients for ``--seconds``
(at most ``--max-requests`` requests in all), each POSTing the same real image pair to
/predict over its own keep-alive connection. It samples the server's resident memory (RSS,
from /proc) every ``--rss-every`` seconds, stops the server, prints a summary and writes
``--out`` (default results/load_test.json):

* throughput (successful responses per second) and the offered rate;
* latency p50/p95/p99/max of the successful responses and of all responses, in ms;
* the count of each HTTP status (200, 503 busy, 504 timed out, ...) and of client-side
  errors (timeouts, resets);
* server RSS at start (after warm-up), at the end, its maximum and the drift per 1000
  requests (flat memory: drift near 0);
* the server's own /health counters at the end.

Only 127.0.0.1 is used. The run is bounded in requests and time and stops by itself.

    python -m benchmarks.load_test --checkpoint runs/mine/checkpoints/last.pt               # 20 clients x 60 s
    python -m benchmarks.load_test --tiny --clients 5 --seconds 15                          # a quick check of the script

The image pair defaults to ../shared/data/realtest/pairs/cdnet_pedestrians (bg.png and the
first frame) when present, else the server's bundled example (GET /example/*.png);
``--bg/--image`` choose another. A client that gets 503 (queue full) waits ``--backoff``
seconds (or the server's Retry-After with ``--honor-retry-after``) before its next request.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

from benchmarks.common import command_line, stop_process

REPO = Path(__file__).resolve().parents[1]
REAL_PAIR = REPO.parent / "shared" / "data" / "realtest" / "pairs" / "cdnet_pedestrians"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def multipart(parts: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = b""
    for field, filename, data in parts:
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def get(port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def percentiles(xs: list[float], ps=(50, 95, 99)) -> dict:
    if not xs:
        return {f"p{p}": None for p in ps} | {"max": None, "mean": None}
    s = sorted(xs)
    out = {f"p{p}": round(s[min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))], 1) for p in ps}
    out["max"] = round(s[-1], 1)
    out["mean"] = round(sum(s) / len(s), 1)
    return out


def pick_pair(args, port: int) -> tuple[bytes, bytes, str]:
    if args.bg or args.image:
        if not (args.bg and args.image):
            sys.exit("load_test: give both --bg and --image")
        return Path(args.bg).read_bytes(), Path(args.image).read_bytes(), f"{args.bg} + {args.image}"
    frames = sorted((REAL_PAIR / "frames").glob("*.png")) if (REAL_PAIR / "frames").is_dir() else []
    if (REAL_PAIR / "bg.png").exists() and frames:
        return (REAL_PAIR / "bg.png").read_bytes(), frames[0].read_bytes(), f"{REAL_PAIR / 'bg.png'} + {frames[0]}"
    s1, bg = get(port, "/example/bg.png", 60)
    s2, img = get(port, "/example/image.png", 60)
    if s1 != 200 or s2 != 200:
        sys.exit("load_test: no image pair (pass --bg and --image)")
    return bg, img, "server's bundled example (/example/*.png)"


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--checkpoint", help="model checkpoint or .onnx (default: the shipped model, when present)")
    ap.add_argument(
        "--tiny", action="store_true", help="serve an untrained `tiny` model made on the spot (to check this script, not the model)"
    )
    ap.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    ap.add_argument("--seconds", type=float, default=60.0, help="duration of the timed phase (default 60)")
    ap.add_argument("--max-requests", type=int, default=20000, help="stop after this many requests in all (default 20000)")
    ap.add_argument("--bg", help="background image to send (default: see above)")
    ap.add_argument("--image", help="image with a foreground to send")
    ap.add_argument("--workers", type=int, default=1, help="server --workers (default 1)")
    ap.add_argument("--queue", type=int, default=4, help="server --queue (default 4)")
    ap.add_argument("--backoff", type=float, default=0.1, help="seconds a client waits after a 503 (default 0.1)")
    ap.add_argument("--honor-retry-after", action="store_true", help="wait the server's Retry-After after a 503 instead of --backoff")
    ap.add_argument("--request-timeout", type=float, default=120.0, help="client-side timeout per request, s (default 120)")
    ap.add_argument("--rss-every", type=float, default=1.0, help="seconds between server memory samples (default 1)")
    ap.add_argument("--warmup", type=int, default=3, help="sequential requests before timing (default 3)")
    ap.add_argument("--out", default=str(REPO / "results" / "load_test.json"), help="JSON report (default results/load_test.json)")
    ap.add_argument("--log", help="server log file (default: maskdepth_load_test_server.log in the temp folder)")
    ap.add_argument("--omp-threads", type=int, help="OMP_NUM_THREADS for the server (default: inherited; torch then uses every core)")
    ap.add_argument("--seed", type=int, default=0)
    return ap


def _parse_args(argv) -> argparse.Namespace:
    """The arguments, checked; with ``--tiny`` an untrained ``tiny`` checkpoint is saved to a temp folder."""
    ap = _parser()
    args = ap.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.max_requests < 1:
        ap.error("--clients, --seconds and --max-requests must be positive")
    if args.tiny:
        if args.checkpoint:
            ap.error("give --checkpoint or --tiny, not both")
        import torch

        from maskdepth.checkpoint import save_checkpoint
        from maskdepth.model import create_model

        torch.manual_seed(0)
        args.checkpoint = str(Path(tempfile.mkdtemp(prefix="maskdepth_load_test_")) / "tiny.pt")
        save_checkpoint(args.checkpoint, create_model("tiny", pretrained=False), meta={"size": 64})
    return args


def _server_command(args, port: int) -> list[str]:
    cmd = [sys.executable, "-m", "maskdepth.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(args.workers), "--queue", str(args.queue), "--log-level", "warning"]
    return cmd + (["--checkpoint", args.checkpoint] if args.checkpoint else [])


def _wait_ready(server, port: int, log, log_path: Path) -> None:
    """Poll ``/health`` until it answers 200; exit with the log's tail if the server dies or 120 s pass."""
    deadline = time.time() + 120
    while True:
        try:
            if get(port, "/health", 2)[0] == 200:
                return
        except OSError:
            pass
        if server.poll() is not None or time.time() > deadline:
            log.flush()
            sys.exit(f"load_test: the server did not start; see {log_path}:\n" + log_path.read_text()[-2000:])
        time.sleep(0.25)


def _warm_up(args, port: int, body: bytes, ctype: str) -> None:
    for _ in range(args.warmup):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=args.request_timeout)
        c.request("POST", "/predict", body=body, headers={"Content-Type": ctype})
        r = c.getresponse()
        r.read()
        c.close()
        if r.status != 200:
            sys.exit(f"load_test: warm-up request failed with {r.status}")


@dataclass
class _Load:
    """What the client and sampler threads share: the request, the stop signal and what they record."""

    args: argparse.Namespace
    port: int
    body: bytes
    ctype: str
    t_end: float = 0.0
    lock: threading.Lock = dc_field(default_factory=threading.Lock)
    stop: threading.Event = dc_field(default_factory=threading.Event)
    sent: int = 0
    records: list = dc_field(default_factory=list)  # (t_end, latency_ms, status or error name)
    rss_samples: list = dc_field(default_factory=list)  # (t, MB, requests done)

    def sampler(self, pid: int) -> None:
        while not self.stop.is_set():
            m = rss_mb(pid)
            if m is not None:
                with self.lock:
                    self.rss_samples.append((time.time(), m, len(self.records)))
            self.stop.wait(self.args.rss_every)

    def _take(self) -> bool:
        with self.lock:
            if self.sent >= self.args.max_requests:
                return False
            self.sent += 1
            return True

    def _post(self, conn):
        """One POST /predict on ``conn`` (opened when None): ``(status or error name, Retry-After, conn to reuse)``."""
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.args.request_timeout)
        try:
            conn.request("POST", "/predict", body=self.body, headers={"Content-Type": self.ctype})
            r = conn.getresponse()
            r.read()
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                return r.status, r.getheader("Retry-After"), None
            return r.status, r.getheader("Retry-After"), conn
        except (OSError, http.client.HTTPException) as e:
            try:
                conn.close()
            except Exception:
                pass
            return type(e).__name__, None, None

    def client(self, k: int) -> None:
        """One keep-alive client: requests until the time or the request budget is spent; backs off after a 503."""
        a, rng, conn = self.args, random.Random(self.args.seed * 1000 + k), None
        while not self.stop.is_set() and time.time() < self.t_end and self._take():
            ts = time.perf_counter()
            status, retry_after, conn = self._post(conn)
            lat = (time.perf_counter() - ts) * 1000.0
            with self.lock:
                self.records.append((time.time(), lat, status))
            if status == 503:
                self.stop.wait(float(retry_after) if (a.honor_retry_after and retry_after) else a.backoff * (0.5 + rng.random()))
        if conn is not None:
            conn.close()

    def run(self, pid: int) -> float:
        """Start the memory sampler and the clients, wait for them; returns the wall-clock seconds of the timed phase."""
        t0 = time.time()
        self.t_end = t0 + self.args.seconds
        th_s = threading.Thread(target=self.sampler, args=(pid,), daemon=True)
        th_s.start()
        clients = [threading.Thread(target=self.client, args=(k,), daemon=True) for k in range(self.args.clients)]
        for t in clients:
            t.start()
        for t in clients:
            t.join(self.args.seconds + self.args.request_timeout + 30)
        wall = time.time() - t0
        self.stop.set()
        th_s.join(5)
        return wall


def _rss_summary(rss_samples: list, m_end: float | None) -> dict:
    """Server memory: start, end, max, samples and the drift in MB per 1000 requests after the first third."""
    rss = [m for _, m, _ in rss_samples]
    rss_start = rss[0] if rss else None
    rss_end = m_end if m_end is not None else (rss[-1] if rss else None)
    drift = None
    if len(rss_samples) >= 3 and rss_samples[-1][2] > rss_samples[0][2]:
        (_, m_a, n_a), (_, m_b, n_b) = rss_samples[len(rss_samples) // 3], rss_samples[-1]  # skip the first third (allocator warm-up)
        if n_b > n_a:
            drift = round((m_b - m_a) / (n_b - n_a) * 1000.0, 2)
    return {
        "start": None if rss_start is None else round(rss_start, 1),
        "end": None if rss_end is None else round(rss_end, 1),
        "max": round(max(rss), 1) if rss else None,
        "samples": len(rss),
        "drift_mb_per_1000_requests": drift,
    }


def _traffic(records: list, wall: float) -> dict:
    """Requests, status counts, throughput and latency percentiles of the timed phase."""
    statuses: dict[str, int] = {}
    for _, _, st in records:
        statuses[str(st)] = statuses.get(str(st), 0) + 1
    ok_lat = [lat for _, lat, st in records if st == 200]
    return {
        "requests": len(records),
        "status_counts": dict(sorted(statuses.items())),
        "throughput_ok_per_s": round(len(ok_lat) / wall, 3) if wall else None,
        "offered_per_s": round(len(records) / wall, 3) if wall else None,
        "latency_ms_ok": percentiles(ok_lat),
        "latency_ms_all": percentiles([lat for _, lat, _ in records]),
    }


def _setup(args, argv, cmd: list[str], port: int, env: dict, body: bytes, pair_desc: str, wall: float) -> dict:
    """The report's description of the run: commands, model, pair, machine and the settings."""
    return {
        "command": command_line("load_test", argv),
        "server_command": " ".join(cmd[1:]).replace(str(port), "PORT"),
        "checkpoint": ("untrained tiny model (--tiny): " if args.tiny else "") + (args.checkpoint or "shipped default"),
        "pair": pair_desc,
        "request_bytes": len(body),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_at_start": os.getloadavg(),
        },
        "clients": args.clients,
        "seconds_planned": args.seconds,
        "seconds": round(wall, 2),
        "max_requests": args.max_requests,
        "server_workers": args.workers,
        "server_omp_num_threads": env.get("OMP_NUM_THREADS"),
        "other_load_note": "loadavg_at_start > 0.5 means something else was running: latencies are then not this server's alone",
        "server_queue": args.queue,
        "backoff_after_503_s": "Retry-After" if args.honor_retry_after else args.backoff,
    }


def _measure(args, argv, server, cmd: list[str], port: int, env: dict, log, log_path: Path, t_start: float) -> dict:
    """Wait for the server, warm it up, run the load and return the report."""
    _wait_ready(server, port, log, log_path)
    startup_s = time.time() - t_start
    health0 = json.loads(get(port, "/health")[1])
    bg, img, pair_desc = pick_pair(args, port)
    body, ctype = multipart([("bg", "bg.png", bg), ("image", "image.png", img)])
    _warm_up(args, port, body, ctype)
    load = _Load(args, port, body, ctype)
    wall = load.run(server.pid)
    m_end = rss_mb(server.pid)
    health1 = json.loads(get(port, "/health")[1])
    return {
        **_setup(args, argv, cmd, port, env, body, pair_desc, wall),
        "server_startup_s": round(startup_s, 2),
        **_traffic(load.records, wall),
        "server_rss_mb": _rss_summary(load.rss_samples, m_end),
        "server_alive_at_end": server.poll() is None,
        "health_before": {k: health0.get(k) for k in ("model", "backend", "input_short_side", "workers", "queue_limit", "served")},
        "health_after": {k: health1.get(k) for k in ("served", "in_flight")},
        "server_log": str(log_path),
    }


def _print_summary(result: dict, clients: int, out: Path) -> None:
    lat, r = result["latency_ms_ok"], result["server_rss_mb"]
    print(
        f"{result['requests']} requests in {result['seconds']} s from {clients} clients: {result['throughput_ok_per_s']} ok/s "
        f"(offered {result['offered_per_s']}/s); statuses {result['status_counts']}"
    )
    print(f"latency of 200s: p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, max {lat['max']} ms")
    print(
        f"server RSS: start {r['start']} MB, end {r['end']} MB, max {r['max']} MB, drift {r['drift_mb_per_1000_requests']} MB/1000 requests"
    )
    print(f"wrote {out}")


def main(argv=None) -> int:
    """Start ``maskdepth serve``, load it with concurrent clients, write the JSON report; exit 1 when the server died."""
    args = _parse_args(argv)
    port = free_port()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log_path = Path(args.log) if args.log else Path(tempfile.gettempdir()) / "maskdepth_load_test_server.log"
    cmd = _server_command(args, port)
    log = open(log_path, "w")
    t_start = time.time()
    env = dict(os.environ)
    if args.omp_threads:
        env["OMP_NUM_THREADS"] = str(args.omp_threads)
    server = subprocess.Popen(cmd, cwd=str(REPO), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    result: dict = {}
    try:
        result = _measure(args, argv, server, cmd, port, env, log, log_path, t_start)
    finally:
        stop_process(server, 15)
        log.close()
    Path(out).write_text(json.dumps(result, indent=2) + "\n")
    _print_summary(result, args.clients, out)
    return 0 if result.get("server_alive_at_end") else 1


if __name__ == "__main__":
    sys.exit(main())
