"""Wrong answers to chapter 4's graded exercises."""

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
}
