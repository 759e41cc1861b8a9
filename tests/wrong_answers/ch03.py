"""Wrong answers to chapter 3's exercises."""

WRONG = {
    "vanish-clip-norm": {
        "torch's clip_grad_norm_ (not the exercise)": """
import torch
def clip_grad_norm(parameters, max_norm):
    return torch.nn.utils.clip_grad_norm_(parameters, max_norm)
""",
        "one norm per tensor": """
import torch
def clip_grad_norm(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    for g in grads:
        norm = g.norm()
        if norm >= max_norm:
            g.mul_(max_norm / norm)
    return total
""",
        "value clipping": """
import torch
def clip_grad_norm(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    for g in grads:
        g.clamp_(-max_norm, max_norm)
    return total
""",
        "returns the norm after clipping": """
import torch
def clip_grad_norm(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    if total >= max_norm:
        for g in grads:
            g.mul_(max_norm / total)
    return torch.sqrt(sum((g ** 2).sum() for g in grads))
""",
        "divides by the norm always": """
import torch
def clip_grad_norm(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    for g in grads:
        g.mul_(max_norm / total)
    return total
""",
        "reads the generator twice": """
import torch
def clip_grad_norm(parameters, max_norm):
    grads = (p.grad for p in parameters if p.grad is not None)
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    if total >= max_norm:
        for p in parameters:
            if p.grad is not None:
                p.grad.mul_(max_norm / total)
    return total
""",
    },
    "vanish-ex1": {
        "tanh's bound, 1": "vanish_ex1_bound = 1.0\n",
        "the sigmoid's largest slope, 1/4": "vanish_ex1_bound = 0.25\n",
        "2": "vanish_ex1_bound = 2\n",
    },
    "vanish-ex3": {
        "the angle with the x-axis, 45°": "vanish_ex3_angle = 45.0\n",
        "the angle of g, 5.7°": "vanish_ex3_angle = 5.71\n",
        "norm clipping's, 0°": "vanish_ex3_angle = 0.0\n",
        "in radians": "vanish_ex3_angle = 0.686\n",
    },
    "vanish-ex5": {
        "the clock's baseline": "vanish_ex5_cross_entropy = 0.693\n",
        "the last symbol remembered": "vanish_ex5_cross_entropy = 0.624\n",
        "log 8": "vanish_ex5_cross_entropy = 2.079\n",
        "every blank input taken as a blank target": (
            "vanish_ex5_cross_entropy = 1.2\n"
        ),
    },
}
