"""Matcher throughput and fuzzy recall with 100,000 active watches in the real Redis index.

    python -m bench.bench_watchlist [--watches 100000] [--passes 200000] [--redis redis://127.0.0.1:6379/12]
                                    [--database postgresql+psycopg2://postgres@127.0.0.1:5432/test]

Watches: 90 % exact, 5 % wildcard (one '?' in a real plate, 10 % of them two), 5 % fuzzy (normal strictness),
written to Redis exactly as a rebuild writes them (stamped with the change log's version, 0, of a scratch
database of the run's own, created on `--database`'s server and dropped at the end: before each batch the
matcher reads that version in PostgreSQL, as in production). Passes are realistic Huizhou traffic (80 % 粤L,
10 % other 粤, 10 % other provinces, 5 % green 8-character plates). Measures, in the same run:
  * `match`: Matcher.match on parsed pass events, batches of 500 (one MGET and one SELECT of the change
    log's version per batch: the matcher holds a copy of the index), after a warm-up that loads that
    copy (`index_copy_load_s`, and the growth of the process's peak RSS while loading it, `index_copy_mib`);
  * `stream`: the whole loop from the stream: XREADGROUP, parse, match, XACK (hits are counted,
    not written to PostgreSQL — the rare hit's insert is not what limits throughput);
  * `sismember`: the floor — pipelined SISMEMBER of the same plates in a set, 500 per round trip;
  * fuzzy recall for a watched plate read with one confusion, one missing, one extra character;
  * hits per 100,000 unrelated passes: wildcard (true partial matches) and fuzzy (false hits).
Flushes the Redis database it is given. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from bench.scratch import ScratchDatabase
from checkpoint.core.bus import PASSES_STREAM
from checkpoint.core.db import Base
from checkpoint.core.errors import InvalidInput
from checkpoint.core.models import User
from checkpoint.lpr.alphabet import DIGITS, LETTERS, PROVINCES
from checkpoint.passes.record import CapturedPass, PassEvent
from checkpoint.watchlist.change_log import WatchChange
from checkpoint.watchlist.index import ENTRIES_KEY, READY_KEY, VERSION_KEY, WatchSpec
from checkpoint.watchlist.models import WatchEntry
from checkpoint.watchlist.plates import CONFUSION_CLASSES, MatchMode, Strictness, fuzzy_explain, parse_pattern
from checkpoint.watchlist.worker import GROUP, Matcher

BATCH = 500
ADMIN_URL = os.environ.get("CHECKPOINT_BENCH_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
CHECKPOINT_ID = 1
NOW = datetime.now(UTC)


def realistic_plate(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.8:
        head = "粤L"
    elif roll < 0.9:
        head = "粤" + rng.choice(LETTERS.replace("L", ""))
    else:
        head = rng.choice(PROVINCES.replace("粤", "")) + rng.choice(LETTERS)
    if rng.random() < 0.05:  # small new-energy: D/F, a letter or digit, four digits
        return head + rng.choice("DF") + rng.choice(DIGITS + LETTERS) + "".join(rng.choices(DIGITS, k=4))
    return head + "".join(rng.choice(DIGITS) if rng.random() < 0.75 else rng.choice(LETTERS) for _ in range(5))


def make_specs(rng: random.Random, count: int) -> list[WatchSpec]:
    specs: list[WatchSpec] = []
    valid_from, valid_to = (NOW - timedelta(days=1)).isoformat(), (NOW + timedelta(days=30)).isoformat()
    while len(specs) < count:
        plate, roll = realistic_plate(rng), rng.random()
        if roll < 0.90:
            mode, text = MatchMode.exact, plate
        elif roll < 0.95:
            chars = list(plate)
            for position in rng.sample(range(2, len(chars)), 1 if rng.random() < 0.9 else 2):
                chars[position] = "?"
            mode, text = MatchMode.wildcard, "".join(chars)
        else:
            mode, text = MatchMode.fuzzy, plate
        try:
            pattern = parse_pattern(mode, text)
        except InvalidInput:
            continue
        specs.append(WatchSpec(id=len(specs) + 1, mode=pattern.mode.value, pattern=pattern.text,
                               strictness=pattern.strictness.value, plate_colour=None, valid_from=valid_from,
                               valid_to=valid_to))
    return specs


def load_index(bus: Redis, specs: list[WatchSpec]) -> float:
    started = time.perf_counter()
    items = [(str(spec.id), spec.to_json()) for spec in specs]
    pipe = bus.pipeline(transaction=False)
    for start in range(0, len(items), 5000):
        chunk: dict[Any, Any] = dict(items[start:start + 5000])
        pipe.hset(ENTRIES_KEY, mapping=chunk)
    pipe.set(READY_KEY, str(len(specs)))
    pipe.set(VERSION_KEY, "0")  # the scratch database's change log is empty
    pipe.execute()
    return time.perf_counter() - started


def event(plate: str) -> PassEvent:
    return PassEvent(CapturedPass(checkpoint_id=CHECKPOINT_ID, plate=plate, captured_at=NOW, plate_colour="blue",
                                  source="bench"), lat=23.1, lon=114.4)


SESSIONS: sessionmaker[Session] = sessionmaker()  # bound to the scratch database in main()


def new_matcher(bus: Redis, hits: Counter[str]) -> Matcher:
    matcher = Matcher(bus, SESSIONS, "bench", batch=BATCH)
    matcher.districts = {CHECKPOINT_ID: "441302"}

    def count_only(found: list[Any]) -> None:
        hits["stored"] += len(found)

    matcher.record = count_only  # type: ignore[method-assign,assignment]  # measure matching, not the INSERT
    return matcher


def rate(count: int, work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def bench_throughput(bus: Redis, plates: list[str], set_key: str) -> dict[str, float]:
    events = [event(plate) for plate in plates]
    matcher = new_matcher(bus, Counter())
    started, peak_before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    matcher.sync()  # a running matcher holds its copy of the index: load it before timing
    copy_load_s = time.perf_counter() - started
    copy_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024  # ru_maxrss is KiB

    def match_all() -> None:
        for start in range(0, len(events), BATCH):
            matcher.match(events[start:start + BATCH])

    def sismember_all() -> None:
        for start in range(0, len(plates), BATCH):
            pipe = bus.pipeline(transaction=False)
            for plate in plates[start:start + BATCH]:
                pipe.sismember(set_key, plate)
            pipe.execute()

    pipe = bus.pipeline(transaction=False)
    for passing in events:
        pipe.xadd(PASSES_STREAM, dict(passing.to_fields()))  # type: ignore[arg-type]  # str fields
    pipe.execute()
    bus.xgroup_create(PASSES_STREAM, GROUP, id="0")

    def stream_all() -> None:
        done = 0
        while done < len(events):
            messages = matcher.read()
            matcher.handle(messages)
            done += len(messages)

    return {"match_per_s": rate(len(events), match_all), "sismember_per_s": rate(len(plates), sismember_all),
            "stream_per_s": rate(len(events), stream_all), "index_copy_load_s": copy_load_s,
            "index_copy_mib": copy_mib}


def misread(rng: random.Random, plate: str, kind: str) -> str | None:
    if kind == "confusion":
        spots = [i for i, char in enumerate(plate) if i > 0 and any(char in group for group in CONFUSION_CLASSES)]
        if not spots:
            return None
        spot = rng.choice(spots)
        group = next(group for group in CONFUSION_CLASSES if plate[spot] in group)
        other = rng.choice([char for char in group if char not in (plate[spot], "O", "I")])
        return plate[:spot] + other + plate[spot + 1:]
    spot = rng.randrange(len(plate))
    if kind == "missing":
        return plate[:spot] + plate[spot + 1:]
    return plate[:spot] + rng.choice(DIGITS + LETTERS) + plate[spot:]


def bench_recall(bus: Redis, rng: random.Random, specs: list[WatchSpec]) -> dict[str, Any]:
    fuzzy = [spec for spec in specs if spec.mode == "fuzzy"]
    matcher = new_matcher(bus, Counter())
    out: dict[str, Any] = {"fuzzy_watches": len(fuzzy)}
    for kind in ("confusion", "missing", "extra"):
        reads = [(spec.id, read) for spec in fuzzy if (read := misread(rng, spec.pattern, kind)) is not None]
        found = 0
        for start in range(0, len(reads), BATCH):
            chunk = reads[start:start + BATCH]
            hits = matcher.match([event(read) for _id, read in chunk])
            matched = {(hit.entry_id, hit.event.captured.plate) for hit in hits}
            found += sum(1 for entry_id, read in chunk if (entry_id, read) in matched)
        out[f"recall_{kind}"] = round(found / max(len(reads), 1), 5)
        out[f"reads_{kind}"] = len(reads)
    return out


def bench_false_hits(bus: Redis, plates: list[str], specs: list[WatchSpec]) -> dict[str, Any]:
    """Hits of passes whose plate is no watched plate: wildcard ones are true partial-plate matches,
    fuzzy ones are other vehicles within the tolerance (by kind, and what strict would have left)."""
    watched = {spec.pattern for spec in specs}
    unrelated = [plate for plate in plates if plate not in watched]
    matcher = new_matcher(bus, Counter())
    by_spec = {spec.id: spec for spec in specs}
    by_kind: Counter[str] = Counter()
    for start in range(0, len(unrelated), BATCH):
        for hit in matcher.match([event(plate) for plate in unrelated[start:start + BATCH]]):
            spec = by_spec[hit.entry_id]
            if spec.mode == "fuzzy":
                by_kind["fuzzy_" + hit.why.split(" ")[0]] += 1
                if fuzzy_explain(spec.pattern, hit.event.captured.plate, Strictness.strict) is not None:
                    by_kind["fuzzy_if_strict"] += 1
            else:
                by_kind[spec.mode] += 1
    scale = 100_000 / max(len(unrelated), 1)
    return {"hits_per_100k_unrelated": {kind: round(count * scale, 1) for kind, count in sorted(by_kind.items())},
            "unrelated_passes": len(unrelated)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--watches", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=200_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--database", default=ADMIN_URL, help="PostgreSQL server for the scratch database")
    args = parser.parse_args()
    scratch = ScratchDatabase.create(args.database, "checkpoint_bench_matcher")
    engine = create_engine(scratch.url)
    try:
        tables = [Base.metadata.tables[model.__tablename__] for model in (User, WatchEntry, WatchChange)]
        Base.metadata.create_all(engine, tables=tables)  # what the matcher reads: the change log
        SESSIONS.configure(bind=engine)
        run(args)
    finally:
        engine.dispose()
        scratch.drop()


def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    bus = Redis.from_url(args.redis, decode_responses=True)
    bus.flushdb()
    specs = make_specs(rng, args.watches)
    load_s = load_index(bus, specs)
    plates = [realistic_plate(rng) for _ in range(args.passes)]
    set_key = "bench:plates"
    for start in range(0, len(specs), 10_000):
        bus.sadd(set_key, *[spec.pattern for spec in specs[start:start + 10_000]])
    result: dict[str, Any] = {"bench": "watchlist", "watches": len(specs),
                              "watch_modes": dict(Counter(spec.mode for spec in specs)),
                              "index_load_s": round(load_s, 2),
                              "passes": len(plates)}
    speeds = bench_throughput(bus, plates, set_key)
    result.update({key: round(value) for key, value in speeds.items() if key.endswith("_per_s")})
    result["index_copy_load_s"] = round(speeds["index_copy_load_s"], 2)
    result["index_copy_mib"] = round(speeds["index_copy_mib"])
    result["match_share_of_sismember"] = round(speeds["match_per_s"] / speeds["sismember_per_s"], 3)
    result["stream_share_of_sismember"] = round(speeds["stream_per_s"] / speeds["sismember_per_s"], 3)
    result.update(bench_recall(bus, rng, specs))
    result.update(bench_false_hits(bus, plates, specs))
    bus.flushdb()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
