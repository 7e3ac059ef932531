#!/usr/bin/env python3
"""Memory of the matching index, built up by posting against rebuilt at start.

Starts a real server (SQLite, the demo Lot) in a temporary data directory,
posts TRIPS weekly trips between communes of the Lot through the API, waits
for the news fan-out to settle and reads the server's resident memory; then
restarts the server on the same data, waits for /readyz (the index is built
at start, a window of the change sequence at a time) and reads it again.
The baseline is the same server started on the empty demo data.

Usage: python3 bench/restart-memory.py [--binary target/release/lotocar]
       [--trips 20000] [--drivers 400] [--threads 8]
Prints one JSON line per step (docs/benchmarks.md records them).
"""

import argparse
import csv
import gzip
import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import date, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read()
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, text.decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def metric(base, name):
    with urllib.request.urlopen(base + "/metrics", timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                yield line


class Server:
    def __init__(self, binary, data_dir):
        self.binary, self.data_dir = binary, data_dir
        self.proc = None

    def start(self):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--dev", "--demo", "--data-dir", self.data_dir,
             "--bind", f"127.0.0.1:{self.port}",
             "--signin-per-ip-hour", "100000000",
             "--codes-per-contact-hour", "100000000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"})
        started = time.monotonic()
        while True:
            try:
                if call(self.base, "GET", "/readyz")[0] == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit("the server stopped")
            time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)


def lot_communes():
    path = os.path.join(HERE, "..", "assets", "communes-france.csv.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [f"commune:{r['insee']}" for r in csv.DictReader(f)
                if r["departement"] == "46" and r["kind"] == "commune"]


def settle(server):
    """Waits until the news fan-out has nothing left to match."""
    for _ in range(1200):
        left = [l for l in metric(server.base, "lotocar_trips_to_match")]
        if left and float(left[0].split()[-1]) == 0:
            return
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(HERE, "..", "target")),
        "release", "lotocar"))
    ap.add_argument("--trips", type=int, default=20000)
    ap.add_argument("--drivers", type=int, default=400)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    communes = lot_communes()
    data_dir = tempfile.mkdtemp(prefix="lotocar-memory-")
    server = Server(args.binary, data_dir)
    try:
        server.start()
        time.sleep(1)
        print(json.dumps({"step": "empty demo, ready", "rss_mb": round(rss_mb(server.proc.pid))}))
        tokens = []
        for d in range(args.drivers):
            contact = f"+3367{d:07d}"
            status, started = call(server.base, "POST", "/api/v1/auth/start", {"contact": contact})
            assert status == 202, started
            status, verified = call(server.base, "POST", "/api/v1/auth/verify",
                                    {"contact": contact, "code": started["dev_code"]})
            assert status == 200, verified
            tokens.append(verified["token"])
        start = (date.today() + timedelta(days=1)).isoformat()
        trips = []
        for i in range(args.trips):
            a, b = rng.sample(communes, 2)
            trips.append({
                "origin": {"place_id": a}, "destination": {"place_id": b},
                "schedule": {"kind": "weekly", "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                             "departure_time": f"{rng.randrange(6, 19):02d}:{rng.randrange(0, 60, 5):02d}",
                             "return_time": None, "from": start, "until": None},
                "seats": rng.randrange(1, 5), "max_detour_minutes": rng.choice([5, 10, 15, 20]),
            })
        errors = []
        posted = [0]
        lock = threading.Lock()

        def post(k):
            for i in range(k, len(trips), args.threads):
                status, body = call(server.base, "POST", "/api/v1/offers", trips[i],
                                    tokens[i % len(tokens)])
                with lock:
                    if status == 201:
                        posted[0] += 1
                    elif status == 422:
                        pass  # two communes too close to make a trip: drawn again never
                    else:
                        errors.append((status, body))

        t = time.monotonic()
        threads = [threading.Thread(target=post, args=(k,)) for k in range(args.threads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if errors:
            raise SystemExit(f"{len(errors)} trips refused, first: {errors[0]}")
        settle(server)
        time.sleep(2)
        entries = list(metric(server.base, "lotocar_index_entries"))
        built = rss_mb(server.proc.pid)
        print(json.dumps({"step": "built up by posting", "trips": posted[0],
                          "posting_s": round(time.monotonic() - t, 1),
                          "index": entries, "rss_mb": round(built)}))
        server.stop()
        ready_after = server.start()
        time.sleep(2)
        entries = list(metric(server.base, "lotocar_index_entries"))
        rebuilt = rss_mb(server.proc.pid)
        print(json.dumps({"step": "restarted, index rebuilt at start",
                          "ready_after_s": round(ready_after, 2), "index": entries,
                          "rss_mb": round(rebuilt)}))
        print(json.dumps({"step": "rebuilt / built up", "ratio": round(rebuilt / built, 3)}))
    finally:
        if server.proc and server.proc.poll() is None:
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
