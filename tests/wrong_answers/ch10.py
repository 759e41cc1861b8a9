"""Wrong answers to chapter 10's exercises."""

_RIGHT = """
import torch


def latent_recursion(self, x, y, z):
    for _ in range(self.n):
        z = self.net(x + y + z)
    y = self.net(y + z)
    return y, z
"""

WRONG = {
    "trm-latent-recursion": {
        "y sees the puzzle: y from x + y + z": _RIGHT.replace(
            "y = self.net(y + z)", "y = self.net(x + y + z)"
        ),
        "z without y: z from x + z": _RIGHT.replace(
            "z = self.net(x + y + z)", "z = self.net(x + z)"
        ),
        "y updated inside the loop, n times": """
import torch


def latent_recursion(self, x, y, z):
    for _ in range(self.n):
        z = self.net(x + y + z)
        y = self.net(y + z)
    return y, z
""",
        "one update of z too few": _RIGHT.replace("range(self.n)", "range(self.n - 1)"),
        "y from the z it started with": """
import torch


def latent_recursion(self, x, y, z):
    z_new = z
    for _ in range(self.n):
        z_new = self.net(x + y + z_new)
    y = self.net(y + z)
    return y, z_new
""",
        "under torch.no_grad()": """
import torch


def latent_recursion(self, x, y, z):
    with torch.no_grad():
        for _ in range(self.n):
            z = self.net(x + y + z)
        y = self.net(y + z)
    return y, z
""",
        "returns (z, y)": _RIGHT.replace("return y, z", "return z, y"),
    },
    "trm-ex3": {
        "layers, not calls (672)": "trm_ex3_calls = 672\n",
        "one supervision step (21)": "trm_ex3_calls = 21\n",
        "the back-propagated calls (7)": "trm_ex3_calls = 7\n",
        "n calls per recursion, not n + 1 (288)": "trm_ex3_calls = 288\n",
    },
}
