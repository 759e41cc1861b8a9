"""Tests of companion.decoding: exactness against brute force and a plain reference
beam, and the door's errors (bad arguments, misbehaving step functions)."""

import ast
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import companion.decoding
from companion.data import text
from companion.data.text import EOS_ID, LETTRE2ID, PAD_ID, VOCAB_SIZE
from companion.decoding import (
    Hypothesis,
    beam_search,
    beam_search_reference,
    forbidden_ids,
    greedy,
    nucleus_beam_search,
    nucleus_log_probs,
    nucleus_mask,
    p_nucleus,
    sample,
    select_state,
    temperature_log_probs,
    top_k_log_probs,
    top_k_mask,
)
from companion.language_model import CharLM
from companion.recurrent import GRU, LSTM
from companion.rnn import RNN
from companion.transformer import TransformerLM


class PrefixLM:
    """A toy language model whose next-symbol distribution depends on the whole prefix.

    The state is a hash of the prefix, ``(B,)`` long; it indexes a table of random
    distributions. With ``tuple_state`` the state is ``(hash, hash)``, like an LSTM's.
    """

    ROWS = 4099

    def __init__(
        self, vocab: int, seed: int, sharpness: float = 2.0, tuple_state=False
    ):
        gen = torch.Generator().manual_seed(seed)
        logits = sharpness * torch.randn(
            self.ROWS, vocab, generator=gen, dtype=torch.float64
        )
        self.table = torch.log_softmax(logits, dim=1)
        self.vocab, self.tuple_state, self.calls = vocab, tuple_state, 0

    def step(self, state, tokens):
        self.calls += 1
        if self.tuple_state and state is not None:
            assert torch.equal(state[0], state[1])
            state = state[0]
        h = torch.zeros_like(tokens) if state is None else state
        h = (h * 1000003 + tokens + 1) % self.ROWS
        return self.table[h], ((h, h.clone()) if self.tuple_state else h)

    def score(self, start, tokens) -> float:
        """Model log-probability of ``tokens`` after ``start``, one sequence at a
        time."""
        log_probs, state, total = None, None, 0.0
        for t in start.tolist():
            log_probs, state = self.step(state, torch.tensor([t]))
        for t in tokens:
            total += float(log_probs[0, t])
            log_probs, state = self.step(state, torch.tensor([t]))
        return total


def brute_force(model, start, eos, maxlen):
    """Every possible continuation (ending at ``eos`` or at ``maxlen``) with its
    score."""
    results = []

    def extend(log_probs, state, seq, total):
        for y in range(model.vocab):
            new, score = seq + (y,), total + float(log_probs[0, y])
            if y == eos or len(new) == maxlen:
                results.append((new, score))
            else:
                extend(*model.step(state, torch.tensor([y])), new, score)

    log_probs, state = None, None
    for t in start.tolist():
        log_probs, state = model.step(state, torch.tensor([t]))
    extend(log_probs, state, (), 0.0)
    return results


START = torch.tensor([2, 1])
models = st.builds(PrefixLM, vocab=st.integers(2, 4), seed=st.integers(0, 10_000))


@settings(max_examples=25, deadline=None)
@given(model=models, maxlen=st.integers(1, 4), alpha=st.sampled_from([0.0, 0.7, 1.0]))
def test_exhaustive_beam_equals_brute_force(model, maxlen, alpha):
    everything = brute_force(model, START, 0, maxlen)
    width = len(everything)
    result = beam_search(model.step, START, 0, maxlen, width, length_penalty=alpha)
    assert len(result) == width
    expected = sorted(
        (score / len(seq) ** alpha for seq, score in everything), reverse=True
    )
    torch.testing.assert_close([h.score(alpha) for h in result], expected)
    best_seq, best = max(everything, key=lambda c: c[1] / len(c[0]) ** alpha)
    assert result[0].tokens == best_seq
    torch.testing.assert_close(result[0].log_prob, best)


@settings(max_examples=25, deadline=None)
@given(model=models, maxlen=st.integers(1, 8), width=st.integers(1, 6))
def test_beam_equals_plain_reference(model, maxlen, width):
    result = beam_search(model.step, START, 0, maxlen, width)
    reference = beam_search_reference(model.step, START, 0, maxlen, width)
    assert [h.tokens for h in result] == [h.tokens for h in reference]
    torch.testing.assert_close(
        [h.log_prob for h in result], [h.log_prob for h in reference]
    )
    assert [h.finished for h in result] == [h.finished for h in reference]


def _family_models():
    torch.manual_seed(0)
    return {
        "rnn": CharLM(RNN(8, 16, VOCAB_SIZE)),
        "lstm": CharLM(LSTM(8, 16, VOCAB_SIZE)),
        "gru": CharLM(GRU(8, 16, VOCAB_SIZE)),
        "transformer": TransformerLM(
            VOCAB_SIZE, d_model=16, n_heads=2, n_layers=2, d_ff=32
        ),
    }


@pytest.mark.parametrize("family", ["rnn", "lstm", "gru", "transformer"])
def test_beam_equals_reference_for_every_model_family(family):
    """Tensor, (h, C) and KV-cache states are all reordered correctly by the batched
    beam."""
    model = _family_models()[family].eval()
    start = torch.tensor([LETTRE2ID["t"], LETTRE2ID["h"]])
    with torch.no_grad():
        for width in (1, 3, 6):
            result = beam_search(model.step, start, EOS_ID, 12, width, bos_id=EOS_ID)
            reference = beam_search_reference(
                model.step, start, EOS_ID, 12, width, bos_id=EOS_ID
            )
            assert [h.tokens for h in result] == [h.tokens for h in reference]
            torch.testing.assert_close(
                [h.log_prob for h in result],
                [h.log_prob for h in reference],
                rtol=1e-5,
                atol=1e-4,
            )
        g = greedy(model.step, start, EOS_ID, 12, bos_id=EOS_ID)
        assert (
            beam_search(model.step, start, EOS_ID, 12, 1, bos_id=EOS_ID)[0].tokens
            == g.tokens
        )


class PadLovingLM:
    """Puts most of its mass on PAD (id 0), then on 'a', and a little on EOS."""

    def step(self, state, tokens):
        log_probs = torch.full((len(tokens), VOCAB_SIZE), -30.0)
        log_probs[:, PAD_ID], log_probs[:, LETTRE2ID["a"]], log_probs[:, EOS_ID] = (
            0.0,
            -1.0,
            -3.0,
        )
        return torch.log_softmax(log_probs, dim=1), state


def test_decoders_never_produce_pad_by_default():
    model, start = PadLovingLM(), torch.tensor([LETTRE2ID["a"]])
    gen = torch.Generator().manual_seed(0)
    hyps = [
        greedy(model.step, start, EOS_ID, 6),
        *sample(model.step, start, EOS_ID, 6, num_samples=20, generator=gen),
        *beam_search(model.step, start, EOS_ID, 6, 4),
        *beam_search_reference(model.step, start, EOS_ID, 6, 4),
        *nucleus_beam_search(model.step, start, EOS_ID, 6, 4, 0.9, generator=gen),
    ]
    assert all(PAD_ID not in h.tokens for h in hyps)
    assert greedy(model.step, start, EOS_ID, 6).tokens == (LETTRE2ID["a"],) * 6
    # the reported score stays the model's, PAD's mass included
    torch.testing.assert_close(
        hyps[0].log_prob, 6 * float(model.step(None, start)[0][0, LETTRE2ID["a"]])
    )
    assert greedy(model.step, start, EOS_ID, 6, forbid=()).tokens == (PAD_ID,) * 6
    no_a = greedy(model.step, start, EOS_ID, 6, forbid=(PAD_ID, LETTRE2ID["a"]))
    assert no_a.tokens == (EOS_ID,)


def test_forbidden_ids():
    assert forbidden_ids(None, EOS_ID, VOCAB_SIZE).tolist() == [PAD_ID]
    assert forbidden_ids(None, PAD_ID, 4).tolist() == []  # toy models whose EOS is id 0
    assert forbidden_ids([3, 2, 3], EOS_ID, 5).tolist() == [2, 3]


@settings(max_examples=25, deadline=None)
@given(model=models, maxlen=st.integers(1, 12))
def test_width_one_is_greedy(model, maxlen):
    (best,) = beam_search(model.step, START, 0, maxlen, 1)
    g = greedy(model.step, START, 0, maxlen)
    assert best == g


def test_greedy_follows_the_argmax_and_reports_the_model_score():
    model = PrefixLM(5, seed=3)
    g = greedy(model.step, START, 0, 10)
    manual, log_probs, state = [], None, None
    for t in START.tolist():
        log_probs, state = model.step(state, torch.tensor([t]))
    for _ in range(10):
        y = int(log_probs[0].argmax())
        manual.append(y)
        if y == 0:
            break
        log_probs, state = model.step(state, torch.tensor([y]))
    assert g.tokens == tuple(manual)
    assert g.finished == (manual[-1] == 0)
    torch.testing.assert_close(g.log_prob, model.score(START, g.tokens))


def test_beam_beats_greedy_on_the_handmade_tree():
    """Greedy takes 'a' (0.6) then EOS (0.4): 0.24; beam finds 'b' then EOS: 0.4 *
    0.9."""
    step = table_step(
        {(): [0.0, 0.6, 0.4], (1,): [0.4, 0.3, 0.3], (2,): [0.9, 0.05, 0.05]}, 3
    )

    start = torch.tensor([0])
    assert greedy(step, start, 0, 3).tokens == (1, 0)
    best = beam_search(step, start, 0, 3, 2)[0]
    assert best.tokens == (2, 0)
    assert math.isclose(best.log_prob, math.log(0.36), rel_tol=1e-6)


def table_step(table, vocab):
    """A step function reading next-symbol probabilities from ``table[prefix]``."""

    def step(state, tokens):
        prefix = (
            torch.zeros(len(tokens), 0, dtype=torch.long) if state is None else state
        )
        prefix = torch.cat([prefix, tokens[:, None]], dim=1)
        rows = [table.get(tuple(p[1:]), [1 / vocab] * vocab) for p in prefix.tolist()]
        return torch.tensor(rows, dtype=torch.float64).log(), prefix

    return step


def test_a_wider_beam_can_do_worse_than_greedy():
    """The counter-example of the chapter's first exercise."""
    step = table_step(
        {(): [0, 0.4, 0.35, 0.25], (1,): [0.4, 0.2, 0.2, 0.2], (2,): [0, 0.5, 0.5, 0]},
        4,
    )
    g = greedy(step, torch.tensor([0]), 0, 3)
    b = beam_search(step, torch.tensor([0]), 0, 3, 2)[0]
    assert g.tokens == (1, 0) and math.isclose(g.log_prob, math.log(0.16))
    assert b.tokens[:2] in ((2, 1), (2, 2))
    assert math.isclose(b.log_prob, math.log(0.175 * 0.25))
    assert b.log_prob < g.log_prob


def test_beam_is_vectorised_one_call_per_step():
    model = PrefixLM(6, seed=1, sharpness=0.1)
    before = model.calls
    beam_search(model.step, START, 0, 7, 8)
    assert model.calls - before <= len(START) + 7


def test_beam_with_tuple_states_matches_tensor_states():
    plain, tupled = PrefixLM(4, seed=7), PrefixLM(4, seed=7, tuple_state=True)
    a = beam_search(plain.step, START, 0, 6, 5)
    b = beam_search(tupled.step, START, 0, 6, 5)
    assert a == b


def test_beam_results_are_sorted_and_flagged():
    model = PrefixLM(4, seed=11)
    result = beam_search(model.step, START, 0, 5, 6, length_penalty=0.5)
    scores = [h.score(0.5) for h in result]
    assert scores == sorted(scores, reverse=True)
    for h in result:
        assert h.finished == (h.tokens[-1] == 0)
        assert h.finished or len(h.tokens) == 5
        torch.testing.assert_close(h.log_prob, model.score(START, h.tokens))


def test_bos_id_is_fed_first():
    model = PrefixLM(4, seed=5)
    with_bos = greedy(model.step, torch.tensor([1]), 0, 6, bos_id=2)
    explicit = greedy(model.step, torch.tensor([2, 1]), 0, 6)
    assert with_bos == explicit
    empty = greedy(model.step, torch.tensor([], dtype=torch.long), 0, 6, bos_id=2)
    assert empty == greedy(model.step, torch.tensor([2]), 0, 6)


# --- distributions
# ----------------------------------------------------------------------------

log_prob_rows = st.lists(st.floats(-8, 8), min_size=1, max_size=12).map(
    lambda xs: torch.log_softmax(torch.tensor(xs, dtype=torch.float64), dim=0)
)


@settings(max_examples=100, deadline=None)
@given(log_probs=log_prob_rows, p=st.floats(0.01, 1.0))
def test_nucleus_is_the_minimal_set_reaching_p(log_probs, p):
    mask = nucleus_mask(log_probs, p)
    probs = log_probs.exp()
    assert mask[probs.argmax()]
    assert float(probs[mask].sum()) >= p - 1e-12
    weakest = probs.masked_fill(~mask, math.inf).argmin()
    without = mask.clone()
    without[weakest] = False
    assert float(probs[without].sum()) < p + 1e-12
    # every symbol left out is at most as probable as every symbol kept
    if (~mask).any():
        assert float(probs[~mask].max()) <= float(probs[mask].min())
    renormalised = nucleus_log_probs(log_probs, p).exp()
    torch.testing.assert_close(float(renormalised.sum()), 1.0)
    torch.testing.assert_close(renormalised[mask], probs[mask] / probs[mask].sum())
    assert torch.all(renormalised[~mask] == 0)


@settings(max_examples=50, deadline=None)
@given(log_probs=log_prob_rows)
def test_nucleus_with_p_one_changes_nothing(log_probs):
    torch.testing.assert_close(nucleus_log_probs(log_probs, 1.0), log_probs)
    torch.testing.assert_close(p_nucleus(1.0)(log_probs), log_probs)


def test_nucleus_ties_go_to_the_smaller_id():
    uniform = torch.full((2, 4), -math.log(4.0))
    assert nucleus_mask(uniform, 0.5).tolist() == [[True, True, False, False]] * 2
    assert nucleus_mask(uniform, 0.51).tolist() == [[True, True, True, False]] * 2
    assert top_k_mask(uniform, 1).tolist() == [[True, False, False, False]] * 2


def test_nucleus_batched_and_tail_of_zeros():
    log_probs = torch.tensor([[0.5, 0.3, 0.2, 0.0], [0.1, 0.1, 0.1, 0.7]]).log()
    assert nucleus_mask(log_probs, 0.75).tolist() == [
        [True, True, False, False],
        [True, False, False, True],
    ]
    assert nucleus_mask(log_probs, 1.0).tolist() == [
        [True, True, True, False],
        [True, True, True, True],
    ]
    factory = p_nucleus(0.75)
    torch.testing.assert_close(factory(log_probs), nucleus_log_probs(log_probs, 0.75))


@settings(max_examples=50, deadline=None)
@given(log_probs=log_prob_rows, k=st.integers(1, 14))
def test_top_k_keeps_the_k_most_probable(log_probs, k):
    mask = top_k_mask(log_probs, k)
    assert int(mask.sum()) == min(k, len(log_probs))
    if (~mask).any():
        assert float(log_probs[~mask].max()) <= float(log_probs[mask].min())
    torch.testing.assert_close(float(top_k_log_probs(log_probs, k).exp().sum()), 1.0)


def test_temperature():
    log_probs = torch.tensor([0.7, 0.2, 0.1]).log()
    torch.testing.assert_close(temperature_log_probs(log_probs, 1.0), log_probs)
    cold, hot = (
        temperature_log_probs(log_probs, 0.5),
        temperature_log_probs(log_probs, 2.0),
    )
    torch.testing.assert_close(cold.exp(), torch.tensor([49.0, 4.0, 1.0]) / 54)
    assert float(cold.exp().max()) > 0.7 > float(hot.exp().max())


# --- sampling
# ---------------------------------------------------------------------------------


def test_sampling_is_reproducible_and_scored_by_the_model():
    model = PrefixLM(5, seed=2, sharpness=1.0)

    def draw(seed, **kwargs):
        gen = torch.Generator().manual_seed(seed)
        return sample(model.step, START, 0, 12, num_samples=6, generator=gen, **kwargs)

    assert draw(0) == draw(0)
    assert draw(0) != draw(1)
    for h in draw(0, temperature=0.7, top_p=0.8):
        torch.testing.assert_close(h.log_prob, model.score(START, h.tokens))
        assert h.finished == (h.tokens[-1] == 0)
        assert h.finished or len(h.tokens) == 12


def test_sampling_uses_the_global_seed_without_generator():
    model = PrefixLM(5, seed=2, sharpness=1.0)
    torch.manual_seed(4)
    a = sample(model.step, START, 0, 8, num_samples=3)
    torch.manual_seed(4)
    assert sample(model.step, START, 0, 8, num_samples=3) == a


def test_cold_or_truncated_sampling_is_greedy():
    model = PrefixLM(6, seed=9)
    g = greedy(model.step, START, 0, 15)
    gen = torch.Generator().manual_seed(0)
    cold = ({"temperature": 1e-3}, {"temperature": 1e-40}, {"temperature": 5e-324})
    for kwargs in (*cold, {"top_k": 1}, {"top_p": 1e-6}):
        for h in sample(
            model.step, START, 0, 15, num_samples=4, generator=gen, **kwargs
        ):
            assert h == g


def test_a_tiny_temperature_is_the_argmax_shared_among_ties():
    """``1e-40`` underflows every other symbol: the limit T -> 0, not NaN."""
    log_probs = torch.tensor([[0.2, 0.5, 0.3], [0.4, 0.4, 0.2]]).log()
    cold = temperature_log_probs(log_probs, 1e-40).exp()
    torch.testing.assert_close(cold, torch.tensor([[0.0, 1, 0], [0.5, 0.5, 0]]))


def test_sampling_frequencies_follow_the_distribution():
    probs = torch.tensor([0.1, 0.5, 0.25, 0.15])

    def step(state, tokens):
        return probs.log().expand(len(tokens), 4), state

    gen = torch.Generator().manual_seed(0)
    draws = sample(step, START, 0, 1, num_samples=20_000, generator=gen)
    counts = torch.bincount(torch.tensor([h.tokens[0] for h in draws]), minlength=4)
    torch.testing.assert_close(counts / 20_000, probs, atol=0.015, rtol=0)
    nucleus = sample(step, START, 0, 1, num_samples=20_000, generator=gen, top_p=0.7)
    counts = torch.bincount(torch.tensor([h.tokens[0] for h in nucleus]), minlength=4)
    torch.testing.assert_close(
        counts / 20_000, torch.tensor([0, 2 / 3, 1 / 3, 0]), atol=0.015, rtol=0
    )


# --- beam search with nucleus sampling
# ---------------------------------------------------------


def test_nucleus_beam_extremes():
    model = PrefixLM(5, seed=13, sharpness=1.0)
    gen = torch.Generator().manual_seed(0)
    tiny = nucleus_beam_search(model.step, START, 0, 9, 4, 1e-9, generator=gen)
    assert tiny == [greedy(model.step, START, 0, 9)]
    full = nucleus_beam_search(model.step, START, 0, 6, 5, 1.0, generator=gen)
    assert full == beam_search(model.step, START, 0, 6, 5)


def test_nucleus_beam_is_reproducible_and_stays_in_the_nucleus():
    model = PrefixLM(8, seed=21, sharpness=1.5)

    def run(seed):
        gen = torch.Generator().manual_seed(seed)
        return nucleus_beam_search(model.step, START, 0, 8, 4, 0.8, generator=gen)

    result = run(3)
    assert result == run(3)
    assert len(result) <= 4
    scores = [h.log_prob for h in result]
    assert scores == sorted(scores, reverse=True)
    for h in result:
        torch.testing.assert_close(h.log_prob, model.score(START, h.tokens))
        log_probs, state = None, None
        for t in START.tolist():
            log_probs, state = model.step(state, torch.tensor([t]))
        for t in h.tokens:
            assert nucleus_mask(log_probs[0], 0.8)[t]
            log_probs, state = model.step(state, torch.tensor([t]))


# --- states, hypotheses
# ---------------------------------------------------------------


def test_select_state_handles_nested_states():
    h = torch.arange(6).view(3, 2)
    index = torch.tensor([2, 2, 0])
    assert select_state(None, index) is None
    assert select_state(5, index) == 5
    out = select_state({"h": h, "rest": [h, (h,)]}, index)
    assert torch.equal(out["h"], h[[2, 2, 0]])
    assert torch.equal(out["rest"][1][0], h[[2, 2, 0]])
    assert isinstance(out["rest"], list) and isinstance(out["rest"][1], tuple)


def test_hypothesis_score():
    h = Hypothesis((3, 4, 1), -6.0, True)
    assert h.score() == -6.0
    assert h.score(1.0) == -2.0
    torch.testing.assert_close(h.score(0.5), -6.0 / math.sqrt(3))


# --- bad arguments and misbehaving models
# ---------------------------------------------------


def _logits_step(state, tokens):
    """A model that forgot log_softmax: raw scores, logsumexp far from 0."""
    return torch.full((len(tokens), 4), 10.0), state


def _nan_step(state, tokens):
    return torch.full((len(tokens), 4), math.nan), state


def _late_nan_step(state, tokens):
    """Fine at first (mass on ids 2 and 3, so decoding goes on), NaN from the 5th
    call."""
    calls = 0 if state is None else state + 1
    log_probs = (
        torch.tensor([-10.0, -10.0, 0.0, 0.0]).log_softmax(0).expand(len(tokens), 4)
    )
    return (log_probs * math.nan if calls > 3 else log_probs), calls


def _pad_only_step(state, tokens):
    """All the mass on PAD (id 0), which is forbidden: nothing can be chosen."""
    log_probs = torch.full((len(tokens), 4), -math.inf)
    log_probs[:, PAD_ID] = 0.0
    return log_probs, state


def _late_logits_step(state, tokens):
    """Log-probabilities at first, raw scores (positive) from the 4th call."""
    calls = 0 if state is None else state + 1
    log_probs = torch.tensor([-10.0, -10.0, 0.0, 0.0]).log_softmax(0)
    return (log_probs + 5.0 * (calls > 2)).expand(len(tokens), 4), calls


def _shape_changing_step(state, tokens):
    """One row too many from the 4th call."""
    calls = 0 if state is None else state + 1
    log_probs = torch.tensor([-10.0, -10.0, 0.0, 0.0]).log_softmax(0)
    return log_probs.expand(len(tokens) + (calls > 2), 4), calls


DECODERS = {
    "greedy": lambda step, **kw: greedy(step, START, 1, 5, **kw),
    "sample": lambda step, **kw: sample(step, START, 1, 5, num_samples=3, **kw),
    "beam": lambda step, **kw: beam_search(step, START, 1, 5, 2, **kw),
    "nucleus beam": lambda step, **kw: nucleus_beam_search(
        step, START, 1, 5, 2, 0.9, **kw
    ),
    "reference": lambda step, **kw: beam_search_reference(step, START, 1, 5, 2, **kw),
}
MISBEHAVING = {
    "raw logits": (_logits_step, "logsumexp .* got 11.39 in row 0"),
    "NaN": (_nan_step, "logsumexp .* got nan"),
    "NaN later": (_late_nan_step, "logsumexp .* got nan"),
    "all mass on PAD": (_pad_only_step, r"all its mass on the forbidden ids \[0\]"),
    "shape change": (_shape_changing_step, r"log_probs \(returned by step\) of shape"),
    "logits later": (_late_logits_step, "logsumexp .* got 5 in row 0"),
}


@pytest.mark.parametrize("decoder", DECODERS.values(), ids=DECODERS.keys())
@pytest.mark.parametrize(
    ("step", "message"), MISBEHAVING.values(), ids=MISBEHAVING.keys()
)
def test_decoders_reject_a_step_that_returns_no_distribution(decoder, step, message):
    with pytest.raises(ValueError, match=message):
        decoder(step)


class TorchGRU:
    """A step function around ``nn.GRU``, whose state is ``(num_layers, B, H)``: the
    batch is not first."""

    def __init__(self, num_layers=1):
        torch.manual_seed(0)
        self.embed, self.out = nn.Embedding(4, 8), nn.Linear(8, 4)
        self.gru = nn.GRU(8, 8, num_layers)

    @torch.no_grad()
    def step(self, state, tokens):
        y, h = self.gru(self.embed(tokens)[None], state)
        return self.out(y[0]).log_softmax(-1), h


NO_MASS = torch.tensor([[0.0, -math.inf], [-math.inf, -math.inf]])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda m: beam_search(TorchGRU().step, START, 0, 5, 3),
            ValueError,
            r"batch first, \(B, \.\.\.\).*step failed on \[\(\d, 1, 8\)\]",
        ),
        (
            lambda m: sample(TorchGRU().step, START, 0, 5, num_samples=2),
            ValueError,
            "the state to have the batch first",
        ),
        (
            lambda m: greedy(TorchGRU(num_layers=2).step, START, 0, 5),
            ValueError,
            r"batch first.*got \[\(2, 1, 8\)\] for one sequence",
        ),
        (
            lambda m: nucleus_log_probs(NO_MASS, 0.9),
            ValueError,
            "log_probs with some probability in every row",
        ),
        (
            lambda m: nucleus_mask(NO_MASS, 1.0),
            ValueError,
            "log_probs with some probability in every row",
        ),
        (
            lambda m: top_k_log_probs(torch.full((2, 3), math.nan), 1),
            ValueError,
            "log_probs with some probability in every row",
        ),
        (
            lambda m: temperature_log_probs(NO_MASS, 0.5),
            ValueError,
            "log_probs with some probability in every row",
        ),
        (lambda m: p_nucleus(0.5)(NO_MASS), ValueError, "some probability"),
        (lambda m: select_state(None, [0]), TypeError, "index to be a torch.Tensor"),
        (lambda m: Hypothesis((1,), -1.0, True).score(-1), ValueError, "alpha"),
        (lambda m: greedy("step", START, 0, 5), TypeError, "step to be callable"),
        (
            lambda m: beam_search(m.step, START, 0, 5, 0),
            ValueError,
            "width to be an int >= 1",
        ),
        (
            lambda m: beam_search(m.step, START, 0, 5, 2.0),
            TypeError,
            "width to be an int >= 1",
        ),
        (
            lambda m: beam_search(m.step, START, 0, 0, 2),
            ValueError,
            "maxlen to be an int >= 1",
        ),
        (
            lambda m: beam_search(m.step, START, 0, 5, 2, length_penalty=-1),
            ValueError,
            "length_penalty",
        ),
        (
            lambda m: beam_search(m.step, START, 0, 5, 2, length_penalty=True),
            TypeError,
            "length_penalty",
        ),
        (
            lambda m: beam_search(m.step, START, 0, 5, 2, length_penalty=math.inf),
            ValueError,
            "length_penalty",
        ),
        (lambda m: beam_search_reference(m.step, START, 0, 5, 0), ValueError, "width"),
        (lambda m: beam_search_reference(m.step, START, 0, 0, 2), ValueError, "maxlen"),
        (
            lambda m: beam_search(m.step, START, 0, 5, 2, forbid=[0]),
            ValueError,
            r"forbidden ids in \[0, 4\), not eos_id, got 0",
        ),
        (
            lambda m: beam_search(m.step, START, 9, 5, 2),
            ValueError,
            r"eos_id in \[0, 4\)",
        ),
        (
            lambda m: nucleus_beam_search(m.step, START, 0, 5, 2, 0.0),
            ValueError,
            r"p .*\(0, 1\]",
        ),
        (
            lambda m: nucleus_beam_search(m.step, START, 0, 5, 0, 0.5),
            ValueError,
            "width",
        ),
        (
            lambda m: sample(m.step, START, 0, 5, temperature=0),
            ValueError,
            "temperature",
        ),
        (
            lambda m: sample(m.step, START, 0, 5, temperature=-1.0),
            ValueError,
            "temperature",
        ),
        (
            lambda m: sample(m.step, START, 0, 5, temperature="hot"),
            TypeError,
            "temperature",
        ),
        (
            lambda m: sample(m.step, START, 0, 5, top_p=1.5),
            ValueError,
            r"top_p .*\(0, 1\]",
        ),
        (
            lambda m: sample(m.step, START, 0, 5, top_k=0),
            ValueError,
            "top_k to be an int >= 1",
        ),
        (
            lambda m: sample(m.step, START, 0, 5, num_samples=0),
            ValueError,
            "num_samples",
        ),
        (
            lambda m: sample(m.step, START, -1, 5),
            ValueError,
            "eos_id to be an int >= 0",
        ),
        (
            lambda m: greedy(m.step, torch.tensor([], dtype=torch.long), 0, 5),
            ValueError,
            "non-empty start, or a bos_id",
        ),
        (
            lambda m: greedy(m.step, torch.tensor([[1, 2]]), 0, 5),
            ValueError,
            r"start of shape \(P,\)",
        ),
        (
            lambda m: greedy(m.step, torch.tensor([1.0]), 0, 5),
            TypeError,
            "integer dtype",
        ),
        (
            lambda m: greedy(m.step, [1, 2], 0, 5),
            TypeError,
            "start to be a torch.Tensor",
        ),
        (
            lambda m: greedy(m.step, np.array([1, 2]), 0, 5),
            TypeError,
            "torch.as_tensor",
        ),
        (
            lambda m: greedy(lambda s, t: (torch.zeros(2, 4), s), START, 0, 5),
            ValueError,
            r"of shape \(1, V\)",
        ),
        (
            lambda m: greedy(
                lambda s, t: (torch.zeros(1, 4, dtype=torch.long), s), START, 0, 5
            ),
            TypeError,
            "floating-point",
        ),
        (
            lambda m: greedy(lambda s, t: (np.zeros((1, 4)), s), START, 0, 5),
            TypeError,
            "torch.as_tensor",
        ),
        (
            lambda m: forbidden_ids([EOS_ID], EOS_ID, VOCAB_SIZE),
            ValueError,
            "forbidden ids in .*, not eos_id, got 1",
        ),
        (
            lambda m: forbidden_ids([5], EOS_ID, 5),
            ValueError,
            r"forbidden ids in \[0, 5\)",
        ),
        (lambda m: forbidden_ids(3, EOS_ID, 5), TypeError, "iterable of ids"),
        (
            lambda m: forbidden_ids([2.0], EOS_ID, 5),
            TypeError,
            "forbidden id to be an int",
        ),
        (lambda m: nucleus_mask(torch.zeros(3), 0), ValueError, r"p .*\(0, 1\]"),
        (lambda m: nucleus_mask(np.zeros(3), 0.5), TypeError, "torch.as_tensor"),
        (lambda m: p_nucleus(1.2), ValueError, r"p .*\(0, 1\]"),
        (lambda m: top_k_mask(torch.zeros(3), 0), ValueError, "k to be an int >= 1"),
        (
            lambda m: temperature_log_probs(torch.zeros(3), 0.0),
            ValueError,
            "temperature",
        ),
        (
            lambda m: nucleus_mask(torch.zeros(3, dtype=torch.long), 0.5),
            TypeError,
            "floating-point",
        ),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call(PrefixLM(4, seed=0))


def test_numpy_and_tensor_scalars_and_int32_prompts_are_accepted():
    model = PrefixLM(5, seed=2, sharpness=1.0)
    expected = sample(
        model.step,
        START,
        0,
        8,
        num_samples=3,
        top_p=0.9,
        temperature=0.8,
        generator=torch.Generator().manual_seed(0),
    )
    again = sample(
        model.step,
        START.int(),
        0,
        8,
        num_samples=3,
        top_p=np.float32(0.9),
        temperature=torch.tensor(0.8),
        generator=torch.Generator().manual_seed(0),
    )
    assert again == expected
    assert nucleus_beam_search(model.step, START, 0, 6, 3, np.float64(0.8)) is not None
    assert torch.equal(
        nucleus_mask(torch.zeros(4).log_softmax(0), np.float32(0.5)),
        nucleus_mask(torch.zeros(4).log_softmax(0), 0.5),
    )


def test_itertools_brute_force_agrees_with_the_recursive_one():
    """The brute force itself, checked by listing sequences with itertools."""
    model = PrefixLM(3, seed=4)
    listed = brute_force(model, START, 0, 3)
    expected = set()
    for length in (1, 2, 3):
        for seq in itertools.product(range(3), repeat=length):
            if 0 not in seq[:-1] and (seq[-1] == 0 or length == 3):
                expected.add(seq)
    assert {seq for seq, _ in listed} == expected
    for seq, score in listed:
        torch.testing.assert_close(score, model.score(START, seq))


def test_the_decoders_know_ids_not_text():
    """``companion.decoding`` imports no text module; its ``PAD_ID`` is the text's."""
    assert companion.decoding.PAD_ID == text.PAD_ID
    tree = ast.parse(Path(companion.decoding.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported == {"collections.abc", "dataclasses", "companion.checks"}
