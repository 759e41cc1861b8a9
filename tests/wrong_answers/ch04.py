"""Wrong answers to chapter 4's graded exercises."""

# A right answer to sent-generate (one sentence at a time); each wrong answer below
# changes one line of it.
GENERATE = """
import torch
from companion.data.text import EOS_ID, PAD_ID, code2string, normalize, string2code
def generate_many(model, n, eos_id=EOS_ID, start="", maxlen=200, *, argmax=False,
                  temperature=1.0, pad_id=PAD_ID, generator=None):
    prompt = normalize(start)
    texts = []
    with torch.no_grad():
        for _ in range(n):
            state = None
            for token in [eos_id, *string2code(prompt).tolist()]:
                log_probs, state = model.step(state, torch.tensor([token]))
            ids = []
            for _ in range(maxlen):
                if argmax:
                    token = int(log_probs[0].argmax())
                else:
                    probs = torch.softmax(log_probs[0] / temperature, dim=0)
                    token = int(torch.multinomial(probs, 1, generator=generator))
                if token == eos_id:
                    break
                ids.append(token)
                log_probs, state = model.step(state, torch.tensor([token]))
            texts.append(prompt + code2string(ids))
    return texts
"""


def _generate_with(old: str, new: str) -> str:
    assert GENERATE.count(old) == 1, old
    return GENERATE.replace(old, new)


WRONG = {
    "sent-pad-collate": {
        "no EOS": """
from torch.nn.utils.rnn import pad_sequence
def pad_collate_fn(samples, pad_id=0, eos_id=1, vocab_size=97):
    return pad_sequence(samples, padding_value=pad_id)
""",
        "batch first": """
import torch
from torch.nn.utils.rnn import pad_sequence
def pad_collate_fn(samples, pad_id=0, eos_id=1, vocab_size=97):
    eos = torch.tensor([eos_id])
    columns = [torch.cat([s, eos]) for s in samples]
    return pad_sequence(columns, batch_first=True, padding_value=pad_id)
""",
        "pad and EOS ids hard-coded": """
import torch
from torch.nn.utils.rnn import pad_sequence
def pad_collate_fn(samples, pad_id=0, eos_id=1, vocab_size=97):
    columns = [torch.cat([s, torch.tensor([1])]) for s in samples]
    return pad_sequence(columns, padding_value=0)
""",
        "EOS after the padding": """
import torch
from torch.nn.utils.rnn import pad_sequence
def pad_collate_fn(samples, pad_id=0, eos_id=1, vocab_size=97):
    batch = pad_sequence(samples, padding_value=pad_id)
    eos = torch.full((1, batch.shape[1]), eos_id, dtype=batch.dtype)
    return torch.cat([batch, eos])
""",
    },
    "sent-masked-ce": {
        "ignore_index (not the TP's mask)": """
import torch.nn.functional as F
def masked_cross_entropy(logits, target, pad_id):
    return F.cross_entropy(
        logits.flatten(0, 1), target.flatten(), ignore_index=pad_id
    )
""",
        "no mask": """
import torch.nn.functional as F
def masked_cross_entropy(logits, target, pad_id):
    return F.cross_entropy(logits.flatten(0, 1), target.flatten())
""",
        "mask applied, mean over every position": """
import torch.nn.functional as F
def masked_cross_entropy(logits, target, pad_id):
    nll = F.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none")
    return (nll * (target != pad_id).flatten()).mean()
""",
        "pad id 0 hard-coded": """
import torch.nn.functional as F
def masked_cross_entropy(logits, target, pad_id):
    return F.cross_entropy(logits.flatten(0, 1), target.flatten(), ignore_index=0)
""",
        "a mask built but never applied (001)": """
import torch.nn.functional as F
def masked_cross_entropy(logits, target, pad_id):
    mask = target != pad_id  # counted, but the PAD positions still add to the sum
    nll = F.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="sum")
    return nll / mask.sum()
""",
        "loss broadcast to the wrong shape (002)": """
import torch
def masked_cross_entropy(logits, target, pad_id):
    logp = torch.log_softmax(logits, dim=-1)
    mask = (target != pad_id).float()
    picked = logp.gather(-1, target.unsqueeze(-1))   # (L, B, 1)
    return -(picked * mask).sum() / mask.sum()        # (L, B, 1) * (L, B) broadcasts
""",
    },
    "sent-generate": {
        "EOS not read first": _generate_with(
            "for token in [eos_id, *string2code(prompt).tolist()]:",
            "for token in string2code(prompt).tolist() or [eos_id]:",
        ),
        "the prompt not read": _generate_with(
            "for token in [eos_id, *string2code(prompt).tolist()]:",
            "for token in [eos_id]:",
        ),
        "the state not carried": _generate_with(
            "ids.append(token)\n                log_probs, state = model.step(",
            "ids.append(token)\n                log_probs, _ = model.step(",
        ),
        "does not stop at EOS": _generate_with(
            "if token == eos_id:\n                    break\n                ids",
            "if token == eos_id:\n                    pass  # EOS prints as nothing\n"
            "                ids",
        ),
        "maxlen counts the prompt": _generate_with(
            "for _ in range(maxlen):", "for _ in range(maxlen - len(prompt)):"
        ),
        "argmax ignored, always sampled": _generate_with("if argmax:\n", "if False:\n"),
    },
}
