"""Batched beam search against a per-hypothesis loop (chapter 6).

``companion.decoding.beam_search`` advances all live hypotheses with one ``step`` call
on a batch of at most ``K`` rows. The baseline,
``companion.decoding.beam_search_reference``, is the same search written the direct way:
every hypothesis keeps its own state and is advanced by its own ``step`` call. Both
return the same hypotheses (checked here before timing); only the number of model calls
differs, ``L`` against about ``K * L``.

The model has the chapter's architecture (``CharLM`` over an Elman ``RNN``, embedding
32, hidden 128, vocabulary 97). Its end-of-sequence symbol is forbidden during the
benchmark, so every run makes exactly ``L`` steps whatever the weights: the timing
measures the search, not when the model chooses to stop. Run
``python bench/bench_beam.py`` from the repository root; it prints two Markdown tables
(default threads and wall time; one thread and its CPU time) and exits with status 1 if
the single-thread speed-up at ``K = 16`` is below 8."""

import math

import torch

from companion import set_seed
from companion.data.text import EOS_ID, VOCAB_SIZE, string2code
from companion.decoding import beam_search, beam_search_reference
from companion.language_model import CharLM
from companion.rnn import RNN
from companion.timing import best_cpu_time, median_wall_time

REQUIRED_SPEEDUP = 8.0


def chapter_model(seed: int = 0) -> CharLM:
    """The chapter's architecture, randomly initialised (timing does not depend on
    weights)."""
    set_seed(seed)
    return CharLM(RNN(32, 128, VOCAB_SIZE)).eval()


def without_eos(model: CharLM):
    """``model.step`` with EOS forbidden (probability 0), so that every run lasts
    ``maxlen``."""

    def step(state, tokens):
        log_probs, state = model.step(state, tokens)
        return torch.log_softmax(
            log_probs.index_fill(1, torch.tensor([EOS_ID]), -math.inf), dim=1
        ), state

    return step


def compare(
    widths=(4, 16),
    maxlen: int = 100,
    repeats: int = 3,
    prompt: str = "The ",
    model: CharLM | None = None,
    threads: int | None = 1,
) -> list[dict]:
    """Time both searches for each width, side by side in this process; one dict per
    width.

    With ``threads=1`` (the default) PyTorch runs on one thread and the time is the CPU
    time of that thread, which other programs sharing the machine do not inflate. With
    ``threads=None`` PyTorch keeps its default number of threads and the time is wall
    time."""
    model = chapter_model() if model is None else model
    step, start = without_eos(model), string2code(prompt)
    timer = best_cpu_time if threads == 1 else median_wall_time
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    rows = []
    try:
        with torch.no_grad():
            for width in widths:
                rows.append(_time_width(step, start, maxlen, width, repeats, timer))
    finally:
        torch.set_num_threads(previous)
    return rows


def _time_width(step, start, maxlen, width, repeats, timer) -> dict:
    batched = beam_search(step, start, EOS_ID, maxlen, width, bos_id=EOS_ID)
    looped = beam_search_reference(step, start, EOS_ID, maxlen, width, bos_id=EOS_ID)
    if [h.tokens for h in batched] != [h.tokens for h in looped]:
        raise AssertionError(f"the two searches disagree at width {width}")
    t_batched = timer(
        lambda: beam_search(step, start, EOS_ID, maxlen, width, bos_id=EOS_ID), repeats
    )
    t_loop = timer(
        lambda: beam_search_reference(
            step, start, EOS_ID, maxlen, width, bos_id=EOS_ID
        ),
        repeats,
    )
    return {
        "K": width,
        "L": maxlen,
        "loop_s": t_loop,
        "batched_s": t_batched,
        "speedup": t_loop / t_batched,
    }


def markdown(rows: list[dict]) -> str:
    """The rows of ``compare`` as a Markdown table."""
    lines = [
        "| K | L | per-hypothesis loop (s) | batched (s) | speed-up |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['K']} | {r['L']} | {r['loop_s']:.3f} | {r['batched_s']:.3f} | "
        f"{r['speedup']:.1f}x |"
        for r in rows
    ]
    return "\n".join(lines)


def main() -> int:
    print(f"torch {torch.__version__}, vocabulary {VOCAB_SIZE}, best of 3 runs")
    print("\nDefault threads, wall time (noisy on a shared machine):")
    print(markdown(compare(threads=None)))
    print("\nOne thread, CPU time of that thread:")
    rows = compare(threads=1)
    print(markdown(rows))
    speedup = next(r["speedup"] for r in rows if r["K"] == 16)
    if speedup < REQUIRED_SPEEDUP:
        print(f"FAIL: speed-up {speedup:.1f} at K = 16 is below {REQUIRED_SPEEDUP}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
