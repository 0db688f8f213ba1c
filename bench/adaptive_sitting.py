"""Adaptive sittings through the product's service: time per committed step.

One step = ``delivery.record_answer`` + ``engine.adaptive.service.advance`` (replay check,
scoring, the CAT step with shadow test, two audit entries, serving the next item) and the
commit, on a migrated SQLite file; a calibrated 2PL bank with the test factory's two-module
blueprint. ``--cold`` empties the process caches before every step (as if each request
landed on a freshly started worker: a full replay of the stored responses).

    .venv/bin/python bench/adaptive_sitting.py [--items 300] [--sittings 5] [--cold]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from engine import delivery  # noqa: E402
from engine.adaptive import service as adaptive  # noqa: E402
from engine.adaptive.design import clear_caches  # noqa: E402
from itembank.timeutil import utcnow  # noqa: E402
from tests.engine.adaptive.factory import answer_for, configure, enrol, make_bank  # noqa: E402
from web.db import make_engine  # noqa: E402
from web.migrate import upgrade  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--sittings", type=int, default=5)
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    upgrade(url)
    times: list[float] = []
    with Session(make_engine(url), expire_on_commit=False) as db:
        bank = make_bank(db, n_items=args.items, n_pretest=4)
        configure(db, bank, min_length="20", max_length="30", se_stop="0.3")
        db.commit()
        rng = np.random.default_rng(1)
        for k in range(args.sittings):
            sitting = enrol(db, bank, 100 + k)
            delivery.start(db, sitting, "bench", utcnow())
            db.commit()
            record = adaptive.record_of(db, sitting)
            done, seq = False, 0
            while not done:
                step = adaptive.pending_step(db, record)
                seq += 1
                if args.cold:
                    clear_caches()
                answer = answer_for(db, bank, step.item_version_id, float(rng.normal()), rng)
                start = time.perf_counter()
                delivery.record_answer(db, sitting, step.position, answer, seq, "bench", utcnow())
                done = adaptive.advance(db, sitting, step.position, "bench", utcnow())
                db.commit()
                times.append(time.perf_counter() - start)
    times.sort()
    print(f"{args.items}-item bank, {args.sittings} sittings, {len(times)} steps{' (cold)' if args.cold else ''}: "
          f"median {1000 * statistics.median(times):.1f} ms, p90 {1000 * times[int(0.9 * len(times))]:.1f} ms")


if __name__ == "__main__":
    main()
