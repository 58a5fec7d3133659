"""Ingest vs bare parse in CPU instructions (valgrind's callgrind), a figure a noisy shared machine cannot move.

Run from the project root (needs ``valgrind``; 12 to 15 minutes at the default size, alone on the machine)::

    .venv/bin/python bench/bench_ingest_instructions.py            # 1,000 notes, temporary SQLite file
    .venv/bin/python bench/bench_ingest_instructions.py --notes 300  # quicker, rougher (fixed costs weigh more)

The wall-clock ratio of ``bench_fiscal.py --only a`` moved by a tenth from one run to the next here (the bare
parse alone between 5,000 and 12,800 notes/s), more than most single changes to the ingest are worth. This
counts instructions instead: each side runs under callgrind twice, with 0 and with N notes after the same
setup and warm-up, and the difference divided by N is its cost per note. It prints the bare strict parse +
extraction (bench_fiscal.bare_parse), our parse alone (fiscal.parsing.parse_fiscal_xml) and the whole
service ingest (fiscal.services.ingest_files in batches, committed), and the ratios of bare to each. Memory
stalls and system calls (the disk, the database's locks) are not instructions: the wall-clock ratio is lower
than this one, by about a tenth on this machine. Generated notes only (fiscal.synth).
"""

import argparse
import logging
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SIDES = ("bare", "parse", "service")


def child(side: str, count: int, made: int) -> None:
    """The measured process: the same setup (``made`` notes generated, a warm-up) whether it then works on 0 or on
    ``count`` of them."""
    logging.disable(logging.WARNING)
    import bench_fiscal as bench

    from fiscal.parsing import parse_fiscal_xml

    notes = bench.make_notes(made)[:count]
    warm = bench.make_notes(500, start=10**6)
    if side == "bare":
        bench.bare_parse(warm)
        bench.bare_parse(notes)
        return
    if side == "parse":
        for data in warm:
            parse_fiscal_xml(data)
        for data in notes:
            parse_fiscal_xml(data)
        return
    from flask_migrate import upgrade

    from core.db import db
    from fiscal import services
    from partner.models import Client

    with tempfile.TemporaryDirectory() as tmp:
        app = bench.build_app(f"sqlite:///{tmp}/bench.db", Path(tmp))
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        client_id, _key = bench.setup_client(app)
        with app.app_context():
            client = db.session.get(Client, client_id)
            for batch in (warm, *(notes[i:i + services.BATCH] for i in range(0, count, services.BATCH))):
                services.ingest_files(client, [(f"{id(batch)}-{i}.xml", data) for i, data in enumerate(batch)])
                db.session.commit()


def instructions(side: str, count: int, made: int) -> int:
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__,
         "--child", side, str(count), str(made)], capture_output=True, text=True, cwd=ROOT, check=True)
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise SystemExit(f"callgrind gave no total for {side} {count}:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    per_note = {side: (instructions(side, args.notes, args.notes) - instructions(side, 0, args.notes)) / args.notes
                for side in SIDES}
    print(f"instructions per note ({args.notes:,} generated notes, SQLite):")
    for side, label in (("bare", "bare strict lxml parse + extraction"), ("parse", "our parse (parse_fiscal_xml)"),
                        ("service", "service ingest (ingest_files)")):
        print(f"    {label:36s} {per_note[side]:>12,.0f}   ratio {per_note['bare'] / per_note[side]:.2f}")


if __name__ == "__main__":
    main()
