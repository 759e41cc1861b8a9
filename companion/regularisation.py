"""Two ways to make a character model overfit less: dropout, and weight tying
(page 5d).

**Dropout** (Srivastava et al. 2014) zeroes each entry of a layer's input with
probability ``p`` during training and scales the others by ``1 / (1 - p)``, so that
the expected input is unchanged and evaluation, with nothing dropped, needs no
rescaling. In a recurrent network Zaremba, Sutskever & Vinyals (2014, "Recurrent
neural network regularization") apply it to the non-recurrent connections only: the
inputs a layer reads and the states its decoder reads, never the recurrence
``h_{t-1} → h_t``, whose repeated masks would erase the memory the layer carries
(Gal & Ghahramani 2016 drop the recurrence with one mask per sequence instead).
``DropoutCharLM`` is chapter 4's ``CharLM`` with dropout at those two places.

**Weight tying** (Press & Wolf 2017, "Using the output embedding to improve language
models"; Inan, Khosravi & Socher 2017) makes the decoder's matrix ``W_d (V, H)`` and
the embedding ``E (V, D)`` one parameter, which needs ``D = H``: row ``i`` is both what
the model reads for symbol ``i`` and the vector its state is compared with to score
``i``. ``tie_weights`` does it on a ``CharLM``; it saves ``V · H`` parameters."""

import math

import torch
from torch import nn

from companion.checks import Ids, Is, Real, checked
from companion.data.text import VOCAB_SIZE
from companion.language_model import CharLM


class DropoutCharLM(CharLM):
    """``CharLM`` with dropout on the embedded inputs and on the hidden states the
    decoder reads (Zaremba et al. 2014), ``0 <= dropout < 1``.

    ``model.train()`` drops, ``model.eval()`` does not: in evaluation mode the model
    computes exactly what a ``CharLM`` with the same weights computes."""

    @checked(dropout=Real(0, 1, high_open=True))
    def __init__(
        self, recurrent: nn.Module, dropout: float, vocab_size: int = VOCAB_SIZE
    ):
        super().__init__(recurrent, vocab_size)
        self.dropout = nn.Dropout(dropout)

    @checked(tokens=Ids("L", "B", below="self.vocab_size"))
    def forward(self, tokens: torch.Tensor, state=None, return_state: bool = False):
        """Scores of the next symbol at each position: ``tokens (L, B)`` →
        ``(L, B, V)`` (and the final state with ``return_state``), as
        ``CharLM.forward``."""
        x = self.dropout(self.embedding(tokens))
        states, final = self.recurrent(x, state, return_state=True)
        logits = self.recurrent.decode(self.dropout(states))
        return (logits, final) if return_state else logits


def _check_sizes(door) -> None:  # the decoder's weight (V, H) is the embedding (V, D)
    model = door.args["model"]
    D, H = model.embedding.embedding_dim, model.recurrent.latent_dim
    if D != H:
        raise ValueError(
            "expected model.embedding's size D equal to its recurrent layer's "
            f"latent_dim H to tie them, got D = {D}, H = {H}"
        )


@checked(_check_sizes, model=Is(CharLM, label="a CharLM"))
def tie_weights(model: CharLM) -> CharLM:
    """Make ``model``'s decoder weight ``(V, H)`` its embedding matrix ``(V, D)``, one
    parameter, and return ``model``.

    The shared matrix is drawn again uniform in ``±1/sqrt(H)``, the decoder's scale
    (``linear_decoder``): an embedding's ``N(0, 1)`` entries are ``sqrt(3 H)`` times
    larger, and would make the first scores as much too large. The padding row starts
    at zero, as an embedding's does; the decoder's gradient reaches it, the
    embedding's does not. The decoder keeps its own bias."""
    weight = model.embedding.weight
    bound = 1 / math.sqrt(model.recurrent.latent_dim)
    with torch.no_grad():
        weight.uniform_(-bound, bound)
        weight[model.embedding.padding_idx].zero_()
    model.recurrent.decoder.weight = weight
    return model
