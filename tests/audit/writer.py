"""A writer process for the concurrency tests: appends events and acknowledges each committed
one on stdout (`seq writer i`) only after `append_many` returned."""

import random
import sys
from pathlib import Path

from audit.log import AuditConfig, AuditLog, NewEvent


def main() -> None:
    url, key, name, count, max_batch = sys.argv[1:6]
    cfg = AuditConfig(database_url=url, signing_key=Path(key), checkpoint_every=50)
    log = AuditLog.open(cfg, actor=name)
    rng = random.Random(name)
    i = 0
    while i < int(count):
        size = min(rng.randint(1, int(max_batch)), int(count) - i)
        batch = [NewEvent("load", name, f"{name}-{i + j}", {"writer": name, "i": i + j})
                 for j in range(size)]
        for e in log.append_many(batch):
            print(e.seq, name, e.data["i"], flush=True)
        i += size
    log.close()


if __name__ == "__main__":
    main()
