"""Companion package of the book *Recurrent networks, from XOR to TRM*.

Every chapter imports its tested reference implementations from here. The modules each
chapter imports (data sets live in ``companion.data``): first those the chapter is
about, then, after "also", those it borrows from another chapter:

* Chapter 1, backpropagation by hand on XOR: ``backprop`` (the 2-2-1 network, its
  gradient, its decision-region figure).
* Chapter 2, the RNN: ``rnn``, ``rnn_numpy`` (BPTT by hand), ``forecasting``,
  ``baselines``, ``data.metro``, ``data.text``; also ``generation`` (character
  generation).
* Page 2b, metro experiments: ``forecasting``, ``baselines``, ``data.metro``; also
  ``rnn``.
* Chapter 3, vanishing and exploding gradients: ``gradients`` (gradient norms through
  time, clipping), ``long_range`` (the adding and copy tasks); also ``rnn``.
* Chapter 4, sentences of any length: ``data.sentences``, ``losses``,
  ``language_model``; also ``rnn``, ``generation`` (text until EOS), ``baselines``,
  ``data.text``.
* Page 4b, long texts: ``truncated_bptt`` (text streams, a state carried between
  chunks); also ``rnn``, ``language_model``, ``data.text``.
* Chapter 5, LSTM and GRU: ``recurrent``, ``stacked`` (layers stacked and run in both
  directions); also ``rnn``, ``gradients``, ``long_range``, ``language_model``,
  ``generation``, ``data.sentences``, ``data.text``.
* Page 5b, three character models read closely: ``ngram`` (a smoothed character
  n-gram), ``units`` (what a trained unit tracks); also ``language_model``,
  ``recurrent``, ``rnn``, ``generation``, ``data.sentences``, ``data.text``.
* Page 5c, watching the gates with TensorBoard: ``monitoring``; also ``recurrent``,
  ``language_model``, ``data.sentences``, ``data.text``.
* Page 5d, overfitting, early stopping and weight tying: ``regularisation`` (dropout,
  a tied decoder); also ``language_model``, ``recurrent``, ``data.sentences``,
  ``data.text``.
* Chapter 6, decoding: ``decoding`` (greedy, sampling, top-k, nucleus, beam search);
  also ``generation`` (distinct-n, repetition rate), ``rnn``, ``language_model``,
  ``data.sentences``, ``data.text``.
* Chapter 7, sequence to sequence and attention: ``seq2seq``, ``data.transduction``;
  also ``attention``, ``losses``, ``language_model``, ``decoding``, ``data.text``.
* Chapter 8, Transformers: ``attention``, ``attention_numpy``, ``transformer``; also
  ``recurrent``, ``language_model``, ``decoding``, ``baselines``, ``data.sentences``,
  ``data.text``.
* Page 8b, the Transformer as translator: ``translator`` (the encoder–decoder, its
  cross-attention built from chapter 8's blocks); also ``attention``, ``seq2seq``,
  ``data.transduction``, ``data.text``.
* Chapter 9, linear recurrences and state spaces: ``scan`` (the linear recurrence, its
  parallel and log-space scans), ``minrnn`` (minGRU, minLSTM), ``ssm`` (a selective
  state space, S4D's kernel), ``recall`` (multi-query associative recall); also
  ``attention``, ``baselines``, ``language_model``, ``long_range``, ``recurrent``,
  ``transformer``, ``data.sentences``, ``data.text``.
* Chapter 10, Tiny Recursive Models: ``trm`` (the model), ``trm_training`` (deep
  supervision, the losses, batches of puzzles), ``data.puzzles``.
* Page 10b, why two states: ``trm``, ``trm_training``, ``data.puzzles``.

Shared modules, which the chapters import as they need them:
``seeding`` (``set_seed``, ``generator``, ``rng``, ``eval_mode``),
``training`` (``fit``, ``race``, ``count_parameters``, TensorBoard folders),
``timing`` (wall time, CPU time, memory saved for backward),
``display`` (source listings, HTML tables, diagram boxes, and the book's figure style:
``use_book_style``, ``book_figure``, ``legend_outside``) and
``workbook`` (the graded exercises' checks: ``check``, ``answer``; one module per
chapter, ``ch04`` …, and the ``runner`` they share); and
``checks`` (the input checks of every public function: the ``@checked`` door),
which the other modules use.

The package follows a few conventions, and every module keeps to them:

* **One concept per module.** Models do not import training code, and nothing imports a
  chapter: data → models → training, decoding and generation → chapters.
* **Shapes in docstrings.** Every public function states the shapes it takes and
  returns. Sequences are ``(L, B, D)``: length, batch, feature dimension, as in the
  course.
* **Course conventions for text.** ``PAD`` has id 0, ``EOS`` id 1, and the characters of
  ``string.ascii_letters + string.punctuation + string.digits + " "`` have ids from 2.
* **Inputs are validated once, at the edge.** Public functions, constructors and
  ``forward`` check their arguments with ``companion.checks``; a wrong type, shape or
  value raises ``TypeError`` or ``ValueError`` naming the argument, what was expected
  and what was received, e.g. ``expected x of shape (L, B, 2), got (20, 2)``. Inner
  maths stays bare.
* **Seeded.** ``set_seed(seed)`` seeds Python, NumPy and PyTorch (shifted by the
  environment variable ``BOOK_SEED``); every chapter calls it first.
"""

from companion.seeding import set_seed

__all__ = ["set_seed"]
