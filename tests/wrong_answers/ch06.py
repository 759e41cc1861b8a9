"""Wrong answers to chapter 6's exercises."""

# A correct beam search written the direct way (one step call per hypothesis), which
# each wrong answer below changes in one place.
_BEAM = """
import math
import torch
from companion.decoding import Hypothesis


def beam_search(step, start, eos_id, maxlen, width, *, length_penalty=0.0,
                bos_id=None, forbid=None, propose=None):
    prompt = start if bos_id is None else torch.cat([start.new_tensor([bos_id]), start])
    state = None
    for token in prompt.long():
        log_probs, state = step(state, token.view(1))
    beam = [((), 0.0, log_probs[0], state)]
    pool = []
    for t in range(maxlen):
        candidates = [
            (score + float(lp[y]), parent, y)
            for parent, (_, score, lp, _) in enumerate(beam)
            for y in range(len(lp))
        ]
        candidates = [c for c in candidates if c[0] > -math.inf]
        candidates.sort(key=lambda c: RANK, reverse=True)
        new_beam = []
        for score, parent, y in candidates[:width]:
            tokens = beam[parent][0] + (y,)
            if ENDS:
                pool.append(Hypothesis(tokens, score, y == eos_id))
            else:
                lp, st = step(beam[parent][3], torch.tensor([y]))
                new_beam.append((tokens, score, lp[0], st))
        beam = new_beam
        if not beam:
            break
    pool.sort(key=lambda h: ORDER, reverse=REVERSE)
    return pool[:width]
"""


def _beam(
    rank="c[0]",
    ends="y == eos_id or t == maxlen - 1",
    order="h.log_prob / len(h.tokens) ** length_penalty",
    reverse="True",
):
    return (
        _BEAM.replace("RANK", rank)
        .replace("ENDS", ends)
        .replace("ORDER", order)
        .replace("REVERSE", reverse)
    )


_NUCLEUS = """
import math
import torch


def nucleus_log_probs(log_probs, p):
    sorted_lp, order = torch.sort(log_probs, dim=-1, descending=True, stable=True)
    probs = sorted_lp.exp()
    keep_sorted = KEEP
    keep = torch.zeros_like(log_probs, dtype=torch.bool).scatter(-1, order, keep_sorted)
    return RETURN
"""


def _nucleus(
    keep="probs.cumsum(-1) - probs < p",
    ret="torch.log_softmax(log_probs.masked_fill(~keep, -math.inf), dim=-1)",
):
    return _NUCLEUS.replace("KEEP", keep).replace("RETURN", ret)


WRONG = {
    "dec-beam-search": {
        "greedy whatever the width": """
import torch
from companion.decoding import Hypothesis


def beam_search(step, start, eos_id, maxlen, width, *, length_penalty=0.0,
                bos_id=None, forbid=None, propose=None):
    prompt = start if bos_id is None else torch.cat([start.new_tensor([bos_id]), start])
    state = None
    for token in prompt.long():
        log_probs, state = step(state, token.view(1))
    tokens, total = [], 0.0
    for t in range(maxlen):
        y = int(log_probs[0].argmax())
        tokens.append(y)
        total += float(log_probs[0, y])
        if y == eos_id:
            break
        log_probs, state = step(state, torch.tensor([y]))
    return [Hypothesis(tuple(tokens), total, tokens[-1] == eos_id)]
""",
        "ranks candidates by their last symbol only": _beam(
            rank="c[0] - beam[c[1]][1]"
        ),
        "EOS does not end a hypothesis": _beam(ends="t == maxlen - 1"),
        "length_penalty ignored": _beam(order="h.log_prob"),
        "the pool returned worst first": _beam(reverse="False"),
        "unfinished hypotheses dropped at maxlen": _beam(
            ends="y == eos_id or t == maxlen - 1"
        ).replace(
            "pool.append(Hypothesis(tokens, score, y == eos_id))",
            "pool += [Hypothesis(tokens, score, True)] if y == eos_id else []",
        ),
    },
    "dec-nucleus": {
        "keeps a symbol while the mass including it is below p": _nucleus(
            keep="probs.cumsum(-1) < p"
        ),
        "not renormalised": _nucleus(ret="log_probs.masked_fill(~keep, -math.inf)"),
        "no sort: cumulative mass in id order": """
import math
import torch


def nucleus_log_probs(log_probs, p):
    probs = log_probs.exp()
    keep = probs.cumsum(-1) - probs < p
    return torch.log_softmax(log_probs.masked_fill(~keep, -math.inf), dim=-1)
""",
        "keeps every symbol as probable as the last one needed (ties all in)": _nucleus(
            keep="probs >= probs.gather(-1, ((probs.cumsum(-1) - probs < p).sum(-1, "
            "keepdim=True) - 1))"
        ),
        "cumulative sum along the batch dimension": _nucleus(
            keep="probs.cumsum(0) - probs < p"
        ),
        "p = 1 through a float32 cumulative sum": _nucleus(
            keep="probs.cumsum(-1) - probs < p"
        ).replace("probs = sorted_lp.exp()", "probs = sorted_lp.float().exp()"),
    },
    "dec-ex2": {
        "greedy's one-hot, whatever the ties": "dec_ex2_probability = 1.0\n",
        "the one-hot on the smaller id (argmax), so 0 for symbol 2": (
            "dec_ex2_probability = 0\n"
        ),
        "the uniform distribution (the limit T → ∞)": "dec_ex2_probability = 0.25\n",
        "unchanged, p(2) = 0.35": "dec_ex2_probability = 0.35\n",
    },
}
