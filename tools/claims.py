"""Calibrate a chapter's claims: run it under several ``BOOK_SEED``s and summarise its
asserts.

    .venv/bin/python tools/claims.py book/05_lstm_gru.md --seeds 0-9 [--jobs 2]
        [--env TEXT_PATH=_build/data/fortunes.txt] [--out claims.jsonl]

Every ``assert`` of the chapter is rewritten, before it runs, into a call that records
whether it held and the value of each operand of its comparisons (``assert gap > 0.03``
records ``gap`` and ``0.03``; ``assert a < b and c == 0`` records ``a``, ``b``, ``c``),
then lets the chapter go on, so that one failing claim does not hide the others. Each
seed runs the whole chapter in a fresh kernel (``nbclient``), in ``book/``, with
``BOOK_SEED`` set. The summary lists, for every assert, how many seeds it held on, the
min / median / max of each operand, and the worst margin of each comparison over the
seeds: a claim is calibrated when it held on every seed with room to spare. It ends with
the wall and CPU time of each run, and any cell that failed for another reason."""

import argparse
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HOOK = r"""
import ast as _ast, builtins as _builtins, json as _json, math as _math

def _number(value):
    try:
        import numpy as _np
        value = value.detach() if hasattr(value, "detach") else value
        array = _np.asarray(value, dtype=float)
        return float(array.reshape(())) if array.size == 1 else None
    except Exception:
        return None

def _claim(key, source, test, operands):
    try:
        held = bool(test())
    except Exception:
        held = None
    values = {}
    for text, thunk in operands:
        try:
            values[text] = _number(thunk())
        except Exception:
            values[text] = None
    with open(OUT, "a") as f:
        record = {"key": key, "source": source, "held": held, "values": values}
        f.write(_json.dumps(record) + "\n")

_builtins.__claim__ = _claim
_cell = [0]

class _Rewrite(_ast.NodeTransformer):
    def visit_Assert(self, node):
        comparisons = []
        tests = node.test.values if isinstance(node.test, _ast.BoolOp) else [node.test]
        for t in tests:
            if isinstance(t, _ast.Compare):
                comparisons.extend([t.left, *t.comparators])
        seen, operands = set(), []
        for expr in comparisons:
            text = _ast.unparse(expr)
            if text not in seen:
                seen.add(text)
                no_args = _ast.arguments([], [], None, [], [], None, [])
                pair = [_ast.Constant(text), _ast.Lambda(no_args, expr)]
                operands.append(_ast.Tuple(pair, _ast.Load()))
        key = f"cell {_cell[0]}, line {node.lineno}"
        call = _ast.Call(_ast.Name("__claim__", _ast.Load()), [
            _ast.Constant(key), _ast.Constant(_ast.unparse(node.test)),
            _ast.Lambda(_ast.arguments([], [], None, [], [], None, []), node.test),
            _ast.List(operands, _ast.Load())], [])
        return _ast.copy_location(_ast.Expr(call), node)

    def visit_Module(self, node):
        _cell[0] += 1
        self.generic_visit(node)
        return node

get_ipython().ast_transformers.append(_Rewrite())
"""


def parse_seeds(text: str) -> list[int]:
    """``"0-9"`` -> ``[0, ..., 9]``; ``"0,3,5"`` -> ``[0, 3, 5]``."""
    seeds = []
    for part in text.split(","):
        if re.fullmatch(r"\d+-\d+", part):
            a, b = map(int, part.split("-"))
            seeds.extend(range(a, b + 1))
        elif part.isdigit():
            seeds.append(int(part))
        else:
            raise SystemExit(f"expected --seeds like 0-9 or 0,3,5, got {text!r}")
    return seeds


def run_once(chapter: str, seed: int, env: dict, out: str) -> dict:
    """Execute ``chapter`` once with ``BOOK_SEED=seed``; return times and failed
    cells."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    os.environ.update(env)
    os.environ["BOOK_SEED"] = str(seed)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    notebook = jupytext.read(chapter)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(f"OUT = {out!r}\n{HOOK}"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    client = NotebookClient(
        notebook,
        timeout=900,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(Path(chapter).parent)}},
    )
    client.execute()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    errors = []
    code_cells = [c for c in notebook.cells[1:] if c.cell_type == "code"]
    for i, cell in enumerate(code_cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(f"cell {i}: {output['ename']}: {output['evalue'][:200]}")
    return {"seed": seed, "wall": wall, "cpu": cpu, "errors": errors}


def summarise(records: list[dict], runs: list[dict]) -> str:
    by_key: dict[str, list[dict]] = {}
    for r in records:
        by_key.setdefault(r["key"], []).append(r)
    lines = []

    def cell_order(key):
        return tuple(int(n) for n in re.findall(r"\d+", key))

    for key in sorted(by_key, key=cell_order):
        rows = by_key[key]
        held = sum(r["held"] is True for r in rows)
        lines.append(
            f"\n[{key}] held {held}/{len(rows)}: assert {rows[0]['source'][:150]}"
        )
        names = list(rows[0]["values"])
        for name in names:
            values = [r["values"].get(name) for r in rows]
            values = [v for v in values if v is not None]
            if not values or all(v == values[0] for v in values) and len(values) > 1:
                continue
            lines.append(
                f"    {name[:60]:<60} min {min(values):.4g}  median "
                f"{statistics.median(values):.4g}  max {max(values):.4g}"
            )
    lines.append("\nruns:")
    for run in sorted(runs, key=lambda r: r["seed"]):
        lines.append(
            f"  seed {run['seed']}: wall {run['wall']:.1f} s, cpu {run['cpu']:.1f} s"
            + ("" if not run["errors"] else "; errors: " + " | ".join(run["errors"]))
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapter")
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument(
        "--env", action="append", default=[], help="NAME=VALUE, repeatable"
    )
    parser.add_argument("--out", default=None, help="JSON lines file of every record")
    args = parser.parse_args(argv)
    chapter = Path(args.chapter).resolve()
    if not chapter.is_file():
        raise SystemExit(f"expected a chapter file, found nothing at {chapter}")
    env = {}
    for item in args.env:
        if "=" not in item:
            raise SystemExit(f"expected --env NAME=VALUE, got {item!r}")
        name, value = item.split("=", 1)
        env[name] = (
            str(Path(value).resolve()) if name.endswith("_PATH") and value else value
        )
    seeds = parse_seeds(args.seeds)
    work = Path(tempfile.mkdtemp(prefix="claims-"))
    outs = {seed: str(work / f"seed{seed}.jsonl") for seed in seeds}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_once, str(chapter), s, env, outs[s]) for s in seeds]
        runs = [f.result() for f in futures]
    records = []
    for seed, out in outs.items():
        if Path(out).is_file():
            for line in Path(out).read_text().splitlines():
                records.append({**json.loads(line), "seed": seed})
    if args.out:
        Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in records))
    print(f"{chapter.name}, seeds {seeds}, env {env or '{}'}")
    print(summarise(records, runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
