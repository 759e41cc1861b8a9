"""Tests of TRM's training: the losses, deep supervision, batches and scores."""

import pytest
import torch

from companion.trm import TRM, OnePass
from companion.trm_training import (
    PuzzleBatches,
    above,
    cell_loss,
    deep_supervision_step,
    exact_and_cell_accuracy,
    one_pass_loss,
    supervision_loss,
    train_trm,
)

L, B, D, V, C = 6, 5, 8, 4, 3


def model(**kwargs) -> TRM:
    torch.manual_seed(0)
    return TRM(V, L, C, dim=D, **kwargs)


def tokens() -> torch.Tensor:
    return torch.randint(V, (L, B))


def test_deep_supervision_step_updates_once_per_step():
    trm = model(n_sup=3)
    optimizer = torch.optim.SGD(trm.parameters(), lr=0.1)
    steps = []
    optimizer.register_step_post_hook(lambda *_: steps.append(1))
    target = torch.randint(C, (L, B))
    losses = deep_supervision_step(trm, optimizer, tokens(), target)
    assert len(losses) == 3 and len(steps) == 3
    assert all(isinstance(v, float) for v in losses)
    assert len(deep_supervision_step(trm, optimizer, tokens(), target, n_sup=1)) == 1


def test_training_learns_to_copy():
    torch.manual_seed(0)
    x = torch.randint(C, (200, L))
    trm = TRM(C, L, C, dim=16, n=1, T=1, n_sup=2)
    history = train_trm(
        trm, PuzzleBatches(x, x, 50), epochs=15, lr=1e-2, progress=False
    )
    assert history[-1] < 0.5 * history[0]
    preds, halts = trm.unroll(x.T)
    assert preds.shape == (2, L, 200) and halts.shape == (2, 200)
    exact, cells = exact_and_cell_accuracy(preds[-1], x.T)
    assert exact > 0.9 and cells > 0.95


def test_cell_loss_and_one_pass_loss():
    torch.manual_seed(0)
    logits, target = torch.randn(L, B, C), torch.randint(C, (L, B))
    by_hand = -torch.log_softmax(logits, -1).gather(-1, target[..., None]).mean()
    torch.testing.assert_close(cell_loss(logits, target), by_hand)
    base = OnePass(V, L, C, dim=D)
    x = tokens()
    torch.testing.assert_close(
        one_pass_loss(base, (x, target)), cell_loss(base(x), target)
    )


def test_supervision_loss_halting_target():
    target = torch.randint(C, (L, B))
    perfect = 50.0 * torch.nn.functional.one_hot(target, C).float()
    confident, unsure = torch.full((B,), 20.0), torch.full((B,), -20.0)
    assert supervision_loss(perfect, confident, target) < 1e-6
    assert supervision_loss(perfect, unsure, target) > 9.0  # 0.5 × BCE(−20, 1) ≈ 10


def test_exact_and_cell_accuracy():
    ok = torch.zeros(L, B, dtype=torch.long)
    wrong = ok.clone()
    wrong[0, :2] = 1  # two puzzles with one wrong cell each
    assert exact_and_cell_accuracy(wrong, ok) == pytest.approx(
        ((B - 2) / B, 1 - 2 / (L * B))
    )


def test_puzzle_batches_cover_the_data_in_L_B_layout():
    x = torch.arange(10 * L).view(10, L)
    batches = PuzzleBatches(x, x + 1, 4)
    assert len(batches) == 3
    pairs = list(batches)
    assert all(torch.equal(tgt, tok + 1) for tok, tgt in pairs)
    seen = [tok for tok, _ in pairs]
    assert [t.shape for t in seen] == [(L, 4), (L, 4), (L, 2)]
    assert sorted(torch.cat([t.T for t in seen])[:, 0].tolist()) == x[:, 0].tolist()


def test_cell_loss_counts_every_cell():
    """No target is ignored: F.cross_entropy's default ignore_index (-100) is not a
    class, so a -100 is an error rather than a cell left out (or a NaN when all are)."""
    logits, target = torch.randn(L, B, C), torch.randint(C, (L, B))
    torch.testing.assert_close(
        cell_loss(logits, target),
        torch.nn.functional.cross_entropy(logits.reshape(-1, C), target.reshape(-1)),
    )
    with pytest.raises(ValueError, match=r"target to hold ids in \[0, 3\)"):
        cell_loss(logits, torch.full((L, B), -100))


def test_above_is_the_margin_between_the_seeds():
    a, b = torch.tensor([0.8, 0.9, 0.7]), torch.tensor([0.5, 0.6])
    assert above(a, b) == pytest.approx(0.1)  # worst of a, 0.7, minus best of b, 0.6
    assert above(b, a) == pytest.approx(-0.4)  # 0.5 - 0.9: the ranges overlap


def test_train_trm_on_no_batch_is_an_error():
    with pytest.raises(ValueError, match="batches to hold at least one batch"):
        train_trm(model(), [], epochs=1, progress=False)


LOGITS, TARGET, OK = (
    torch.randn(L, B, C),
    torch.randint(C, (L, B)),
    torch.zeros(L, B).long(),
)
BAD_INPUTS = [
    # losses
    (lambda: cell_loss(LOGITS, TARGET.T), ValueError, r"target of shape \(L, B\)"),
    (lambda: cell_loss(LOGITS[0], TARGET), ValueError, r"logits of shape \(L, B, C\)"),
    (lambda: cell_loss(LOGITS, TARGET.float()), TypeError, "integer dtype"),
    (lambda: cell_loss(LOGITS, TARGET.numpy()), TypeError, "torch.as_tensor"),
    (
        lambda: supervision_loss(LOGITS, torch.zeros(B), TARGET.T),
        ValueError,
        r"target of shape \(L, B\)",
    ),
    (
        lambda: supervision_loss(LOGITS, torch.zeros(B + 1), TARGET),
        ValueError,
        r"halt_logit of shape \(B,\)",
    ),
    # data and metrics
    (
        lambda: PuzzleBatches(
            torch.zeros(4, L).long(), torch.zeros(4, L + 1).long(), 2
        ),
        ValueError,
        r"targets of shape \(N, L\)",
    ),
    (
        lambda: PuzzleBatches(
            torch.zeros(4, L).long().numpy(), torch.zeros(4, L).long(), 2
        ),
        TypeError,
        "torch.as_tensor",
    ),
    (
        lambda: exact_and_cell_accuracy(OK, torch.zeros(L, B + 1).long()),
        ValueError,
        rf"target of shape \(L, B\) with L={L}, B={B}",
    ),
    (
        lambda: exact_and_cell_accuracy(OK[0], OK[0]),
        ValueError,
        r"predictions of shape \(L, B\)",
    ),
    (
        lambda: exact_and_cell_accuracy(OK.float(), OK),
        TypeError,
        "predictions to have an integer dtype",
    ),
    # issue 27: silent NaNs and raw torch errors become named errors
    (
        lambda: cell_loss(LOGITS, torch.full((L, B), -100)),
        ValueError,
        r"ids in \[0, 3\)",
    ),
    (lambda: cell_loss(LOGITS, torch.full((L, B), C)), ValueError, r"ids in \[0, 3\)"),
    (lambda: cell_loss(LOGITS.long(), TARGET), TypeError, "logits to have a floating"),
    (lambda: cell_loss(LOGITS[:0], TARGET[:0]), ValueError, "at least one cell"),
    (lambda: cell_loss(LOGITS[:, :0], TARGET[:, :0]), ValueError, "one puzzle"),
    (lambda: exact_and_cell_accuracy(OK[:0], OK[:0]), ValueError, "at least one cell"),
    (lambda: exact_and_cell_accuracy(OK[:, :0], OK[:, :0]), ValueError, "one puzzle"),
    (
        lambda: PuzzleBatches(OK.T[:0], OK.T[:0], 2),
        ValueError,
        "inputs with at least one N",
    ),
    (
        lambda: train_trm(model(), [], epochs=1, progress=False),
        ValueError,
        "at least one batch",
    ),
    (lambda: train_trm(model(), [], epochs=0), ValueError, "epochs"),
    (lambda: train_trm(OnePass(V, L, C), [], epochs=1), TypeError, "model to be a TRM"),
    (
        lambda: deep_supervision_step(model(), "adam", tokens(), OK),
        TypeError,
        "optimizer",
    ),
    (lambda: above(torch.zeros(0), torch.ones(2)), ValueError, "a with at least one"),
    (lambda: above(torch.ones(2), [0.5]), TypeError, "b to be a torch.Tensor"),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_inputs_give_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
