"""What the decoders' checks of ``step``'s outputs cost (chapter 6).

``companion.decoding`` checks what a model's ``step`` returns: in full once, at the door
(the distribution after the prompt: every row's ``logsumexp`` is 0), then in O(1) per
step (shape and dtype, and each row's largest allowed log-probability, a reduction the
decoders make anyway). Before, every step ran a float64 ``logsumexp`` over every row.

This script times three decoders on the chapter's model (``CharLM`` over an Elman
``RNN``, embedding 32, hidden 128, vocabulary 97; ``EOS`` forbidden so that every run
makes exactly ``L`` steps), each in three variants run side by side in this process,
on one thread (CPU time of that thread, best of 31 interleaved runs):

* **checked**: the decoders as they are;
* **unchecked**: the same decoders with the checks of ``step``'s outputs switched off
  (the full check at the door, the O(1) check per step and the row test of
  ``_allowed``; the forbidden ids are still removed);
* **full per step**: the full check (a float64 ``logsumexp`` of every row) at every
  step, as before.

The three variants must return the same hypotheses, which is checked before timing.

Run ``python bench/bench_step_checks.py`` from the repository root; it prints a Markdown
table and exits with status 1 if a checked decoder's best time is more than 1.1 times
the unchecked one's."""

import contextlib
import math
import statistics

import torch
from bench_beam import chapter_model, without_eos

import companion.decoding as decoding
from companion.data.text import EOS_ID, string2code
from companion.timing import best_cpu_time

MAX_RATIO = 1.1
REPEATS = 31


def _bare_allowed(log_probs, forbidden):
    return (
        log_probs.index_fill(1, forbidden, -math.inf) if len(forbidden) else log_probs
    )


@contextlib.contextmanager
def variant(name: str):
    """Run the block with the decoders' output checks as ``name`` says."""
    saved = decoding.check_log_probs, decoding._check_step, decoding._allowed
    if name == "unchecked":
        decoding.check_log_probs = lambda *args: None
        decoding._check_step = lambda *args: None
        decoding._allowed = _bare_allowed
    elif name == "full per step":
        decoding._check_step = saved[0]  # check_log_probs(log_probs, n, vocab)
    try:
        yield
    finally:
        decoding.check_log_probs, decoding._check_step, decoding._allowed = saved


def decoders(step, start, maxlen: int, width: int) -> dict:
    """``{name: a function running that decoder once}``, seeded alike on each run."""
    gen = torch.Generator()
    return {
        "greedy": lambda: decoding.greedy(step, start, EOS_ID, maxlen, bos_id=EOS_ID),
        f"sample ({width} at once)": lambda: decoding.sample(
            step,
            start,
            EOS_ID,
            maxlen,
            num_samples=width,
            generator=gen.manual_seed(0),
            bos_id=EOS_ID,
        ),
        f"beam search (K = {width})": lambda: decoding.beam_search(
            step, start, EOS_ID, maxlen, width, bos_id=EOS_ID
        ),
    }


VARIANTS = ("checked", "unchecked", "full per step")


def compare(maxlen: int = 100, width: int = 16, repeats: int = REPEATS) -> list[dict]:
    """Time every decoder in every variant, the variants run back to back (each first
    in turn), ``repeats`` times; one dict per decoder with each variant's best time
    (s), its ratio to the unchecked best time (what other programs add to a run only
    lengthens it, so the best run is the cleanest measure) and the median of its
    ratios to the unchecked run beside it (shown for the spread)."""
    model = chapter_model()
    step, start = without_eos(model), string2code("The ")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    rows = []
    try:
        with torch.no_grad():
            for name, run in decoders(step, start, maxlen, width).items():
                results = []
                for v in VARIANTS:
                    with variant(v):
                        results.append(run())
                if not results[0] == results[1] == results[2]:
                    raise AssertionError(f"{name}: the variants disagree")
                times = {v: [] for v in VARIANTS}
                for i in range(repeats):
                    for v in VARIANTS[i % 3 :] + VARIANTS[: i % 3]:
                        with variant(v):
                            times[v].append(best_cpu_time(run, 1))
                row = {"decoder": name, "L": maxlen}
                for v in VARIANTS:
                    pairs = zip(times[v], times["unchecked"], strict=True)
                    row[v] = min(times[v])
                    row[f"{v} ratio"] = row[v] / min(times["unchecked"])
                    row[f"{v} median"] = statistics.median(t / u for t, u in pairs)
                rows.append(row)
    finally:
        torch.set_num_threads(previous)
    return rows


def markdown(rows: list[dict]) -> str:
    """The rows of ``compare`` as a Markdown table."""
    lines = [
        "| decoder | L | unchecked (s) | checked (s) | ratio (median of pairs) "
        "| full per step (s) | ratio (median of pairs) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['decoder']} | {r['L']} | {r['unchecked']:.4f} | {r['checked']:.4f}"
            f" | {r['checked ratio']:.3f} ({r['checked median']:.3f}) | "
            f"{r['full per step']:.4f} | {r['full per step ratio']:.3f} "
            f"({r['full per step median']:.3f}) |"
        )
    return "\n".join(lines)


def main() -> int:
    print(
        f"torch {torch.__version__}, one thread, CPU time, best of {REPEATS} runs "
        f"(the median ratio of the {REPEATS} pairs of runs side by side in brackets)"
    )
    rows = compare()
    print(markdown(rows))
    worst = max(r["checked ratio"] for r in rows)
    if worst > MAX_RATIO:
        print(f"FAIL: the checks cost {worst:.3f}x, above {MAX_RATIO}x")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
