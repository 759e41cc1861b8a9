"""Where tensors live: the GPU when there is one, the CPU otherwise."""

import torch


def default_device() -> torch.device:
    """``cuda`` when PyTorch sees a GPU, else ``cpu``. Every chapter runs on the CPU in budget;
    on a GPU, move models and batches with ``.to(default_device())`` to try larger settings."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
