"""Audit log speed on SQLite and PostgreSQL: single-event append latency, batched append
throughput (durable: each batch is one committed transaction), verification rate, and an
inclusion proof.

Usage: python benchmarks/audit_benchmark.py [--events 50000] [--batch 100]
           [--postgres-url URL] [--out benchmarks/results/audit.json]
Without --postgres-url it starts a throwaway server with .ci/postgres (Debian's postgresql).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from audit.log import AuditConfig, AuditLog, NewEvent
from audit.proof import prove
from audit.signing import public_hex
from audit.verify import verify_log

# A payload shaped like the pipeline's guardrail_decision events.
PAYLOAD = {"rail": "citations", "stage": "output", "verdict": "allow",
           "reason": "3 of 3 citations verified against the note and the KB", "score": 0.91,
           "latency_ms": 2.41, "error": None}


def measure(url: str, key: Path, events: int, batch: int) -> dict:
    cfg = AuditConfig(database_url=url, signing_key=key, checkpoint_every=10_000)
    log = AuditLog.open(cfg, actor="bench")
    single = []
    for i in range(300):
        start = time.perf_counter()
        log.append("guardrail_decision", f"note-{i}", {**PAYLOAD, "i": i})
        single.append(time.perf_counter() - start)
    rates = []  # five repeats of a fifth of the events each
    for _ in range(5):
        start = time.perf_counter()
        for b in range(events // batch // 5):
            log.append_many([NewEvent("guardrail_decision", "bench", f"note-{b}",
                                      {**PAYLOAD, "i": i}) for i in range(batch)])
        rates.append(events // 5 / (time.perf_counter() - start))
    start = time.perf_counter()
    log.checkpoint()
    checkpoint_s = time.perf_counter() - start
    start = time.perf_counter()
    report = verify_log(log, {public_hex(log.signing_key)})
    verify_s = time.perf_counter() - start
    assert report.ok, report.problems
    start = time.perf_counter()
    proof = prove(log, events // 2)
    proof_s = time.perf_counter() - start
    assert proof["verified"]
    log.close()
    single.sort()
    return {
        "single_append_ms_median": round(statistics.median(single) * 1000, 3),
        "single_append_ms_p95": round(single[int(0.95 * len(single))] * 1000, 3),
        "single_appends_per_s": round(len(single) / sum(single), 1),
        "batch_size": batch,
        "batched_appends_per_s": round(statistics.median(rates), 1),
        "batched_appends_per_s_spread": [round(min(rates), 1), round(max(rates), 1)],
        "checkpoint_s": round(checkpoint_s, 3),
        "verified_events": report.events,
        "verify_events_per_s": round(report.events / verify_s, 1),
        "inclusion_proof_s": round(proof_s, 3),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--postgres-url", default=os.environ.get("CDS_TEST_POSTGRES_URL"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/audit.json"))
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)  # the server runs as `postgres` when we are root
        key = Path(tmp) / "log.pem"
        results["sqlite"] = measure(f"sqlite:///{tmp}/audit.db", key, args.events, args.batch)
        print("sqlite", json.dumps(results["sqlite"]))
        started = None
        url = args.postgres_url
        if url is None:
            started = Path(tmp) / "pg"
            url = subprocess.run([".ci/postgres", "start", str(started), str(_free_port())],
                                 capture_output=True, text=True, check=True).stdout.strip()
        try:
            import psycopg

            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS cds_bench WITH (FORCE)")
                conn.execute("CREATE DATABASE cds_bench")
            bench_url = url.rsplit("/", 1)[0] + "/cds_bench"
            results["postgresql"] = measure(bench_url, key, args.events, args.batch)
            print("postgresql", json.dumps(results["postgresql"]))
        finally:
            if started is not None:
                subprocess.run([".ci/postgres", "stop", str(started)], capture_output=True)
    results["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "python": platform.python_version()}
    results["events"] = args.events
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
