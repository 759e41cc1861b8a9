"""Companion package of the book *Recurrent networks, from XOR to TRM*.

Every chapter imports its tested reference implementations from here. The package follows
a few conventions, and every module keeps to them:

* **One concept per module.** ``backprop`` holds the 2-2-1 network of chapter 1, ``rnn`` the
  recurrent network of chapter 2, and so on; data sets live in ``companion.data``. Models do
  not import training code, and nothing imports a chapter.
* **Shapes in docstrings.** Every public function states the shapes it takes and returns.
  Sequences are ``(L, B, D)``: length, batch, feature dimension, as in the course.
* **Course conventions for text.** ``PAD`` has id 0, ``EOS`` id 1, and the characters of
  ``string.ascii_letters + string.punctuation + string.digits + " "`` have ids from 2.
* **Inputs are validated.** A wrong shape or dtype raises ``ValueError`` or ``TypeError``
  whose message names what was expected, e.g. ``expected x of shape (L, B, 2), got (20, 2)``.
* **Seeded.** ``set_seed(seed)`` seeds Python, NumPy and PyTorch; every chapter calls it first.
"""

from companion.seeding import set_seed

__all__ = ["set_seed"]
