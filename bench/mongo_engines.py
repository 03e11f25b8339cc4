"""Benchmark: the local stack's MongoDB engines (nx-27017, mongo-java-server) per operation.

Not a test. For each engine it starts a MongoDB-only local stack on free ports (state in
`.stack/bench-engines/<engine>`, wiped at the end), warms the server up, then times the
single-document operations the runtime makes, and the runtime's idempotency guard
(`{_id: entity, "applied.<event>": {$exists: false}}`) on collections of growing size.

    uv run --frozen python bench/mongo_engines.py                 # both engines, ~1 min
    uv run --frozen python bench/mongo_engines.py --engines java --rounds 2 --json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.collection import Collection

from crm_stack import LocalStack

REPO = Path(__file__).resolve().parents[1]
STATE = REPO / ".stack" / "bench-engines"
SHARED = {
    "venv_dir": REPO / ".stack" / "mongo-venv",
    "mongo_java_libs_dir": REPO / ".stack" / "mongo-java-server-1.47.0",
    "kafka_libs_dir": REPO / ".stack" / "kafka-4.4.0",
}
Doc = dict[str, Any]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def per_second(n: int, work: Callable[[], object]) -> int:
    start = time.perf_counter()
    work()
    return round(n / (time.perf_counter() - start))


def single_ops(coll: Collection[Doc], n: int) -> dict[str, int]:
    ids = [f"e{i}" for i in range(n)]
    return {
        "insert_one/s": per_second(n, lambda: [coll.insert_one({"_id": i, "n": 0}) for i in ids]),
        "insert_many/s (batches of 1000)": per_second(
            10 * n,
            lambda: [
                coll.insert_many([{"_id": f"b{j}-{i}", "n": 0} for i in range(1000)])
                for j in range(n // 100)
            ],
        ),
        "find_one by _id/s": per_second(n, lambda: [coll.find_one({"_id": i}) for i in ids]),
        "update_one by _id/s": per_second(
            n, lambda: [coll.update_one({"_id": i}, {"$inc": {"n": 1}}) for i in ids]
        ),
    }


def guard_rate(coll: Collection[Doc], size: int, n: int) -> int:
    """The applied-event guard on a collection of `size` documents."""
    coll.drop()
    coll.insert_many([{"_id": f"c{i}", "n": 0} for i in range(size)])

    def guarded() -> None:
        for i in range(n):
            query = {"_id": f"c{i % size}", f"applied.k{i}": {"$exists": False}}
            coll.update_one(query, {"$set": {f"applied.k{i}": 1}, "$inc": {"n": 1}})

    return per_second(n, guarded)


def measure(engine: str, ops: int, sizes: list[int]) -> dict[str, Any]:
    stack = LocalStack(
        STATE / engine,
        free_port(),
        free_port(),
        mongo_engine=engine,
        **SHARED,  # type: ignore[arg-type]
    )
    begin = time.perf_counter()
    stack.up(components=("mongo",))
    result: dict[str, Any] = {"engine": stack.config.mongo_label}
    result["start-up s"] = round(time.perf_counter() - begin, 1)
    try:
        with MongoClient(stack.config.mongo_uri) as client:
            warm = client["bench"]["warm"]
            for i in range(1000):  # JIT / caches: the first thousand requests are slower
                warm.update_one({"_id": i}, {"$inc": {"n": 1}}, upsert=True)
            result.update(single_ops(client["bench"]["ops"], ops))
            for size in sizes:
                result[f"guarded update/s, {size} docs"] = guard_rate(
                    client["bench"]["guard"], size, min(ops, 500)
                )
    finally:
        stack.down(wipe=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="nx,java", help="comma-separated: nx, java")
    parser.add_argument("--ops", type=int, default=2000, help="operations per figure")
    parser.add_argument("--sizes", default="100,1000,20000", help="guard collection sizes")
    parser.add_argument("--rounds", type=int, default=2, help="rounds (engines alternate)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    for round_no in range(args.rounds):
        for engine in args.engines.split(","):
            print(f"[bench] round {round_no + 1}: {engine}", file=sys.stderr)
            results.append({"round": round_no + 1, **measure(engine, args.ops, sizes)})
    load = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps({"load_average_end": load, "results": results}, indent=2))
        return
    for row in results:
        print(" | ".join(f"{k}: {v}" for k, v in row.items()))
    print(f"load average at the end: {load}")


if __name__ == "__main__":
    main()
