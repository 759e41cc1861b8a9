"""Puzzles generated on the fly, seeded and offline: 4×4 Sudoku and small mazes (chapter
9).

**4×4 Sudoku.** A grid is 16 cells read row by row, each holding a digit 1–4, every row,
column and 2×2 box holding each digit once. There are exactly 288 such grids
(``sudoku_grids``). A puzzle keeps some cells of a grid as *clues* and blanks the others
(value 0), so that the grid is its *only* completion: ``make_sudoku`` removes clues one
by one in random order and keeps a removal only if the solution stays unique. No 4×4
puzzle with fewer than 4 clues has a unique solution, so ``n_clues`` goes from 4 (hard:
several rounds of deduction) to 16. ``solve_sudoku`` is an independent backtracking
solver used to check uniqueness.

**Mazes.** A perfect maze (one path between any two cells, randomised depth-first
search) on ``k × k`` rooms is drawn on a ``(2k-1) × (2k-1)`` grid of tokens: rooms at
even coordinates, the passages or walls between them at odd ones. Tokens are ``WALL``,
``OPEN``, ``START`` and ``GOAL``; the target marks the cells of the path from start to
goal, found by breadth-first search (``maze_path``). Following a corridor is a
sequential computation, the kind a single feed-forward pass does badly.

Data sets are ``(N, L)`` integer tensors, one puzzle per row (``L = 16`` for Sudoku,
``L = (2k-1)²`` for mazes); models of chapter 10 read batches as ``(L, B)``.
"""

from collections import deque
from functools import cache
from itertools import permutations

import numpy as np
import torch

from companion.checks import Ids, Int, Is, checked

SUDOKU_SIZE = 4
SUDOKU_CELLS = SUDOKU_SIZE * SUDOKU_SIZE
MIN_SUDOKU_CLUES = 4

WALL, OPEN, START, GOAL = 0, 1, 2, 3


RNG = Is((int, np.random.Generator), label="a numpy Generator or an int seed")


def _units(size: int) -> list[list[int]]:
    """The rows, columns and boxes of a ``size × size`` Sudoku, as lists of cell
    indices."""
    box = int(round(size**0.5))
    rows = [[r * size + c for c in range(size)] for r in range(size)]
    cols = [[r * size + c for r in range(size)] for c in range(size)]
    boxes = [
        [(br + r) * size + bc + c for r in range(box) for c in range(box)]
        for br in range(0, size, box)
        for bc in range(0, size, box)
    ]
    return rows + cols + boxes


@checked(grid=Ids(SUDOKU_CELLS))
def is_valid_sudoku(grid: torch.Tensor) -> bool:
    """True if the complete grid ``(16,)`` (digits 1–4) has every digit once per
    unit."""
    grid = np.asarray(grid)
    full = set(range(1, SUDOKU_SIZE + 1))
    return all(set(grid[u].tolist()) == full for u in _units(SUDOKU_SIZE))


@cache
def _all_grids() -> np.ndarray:
    """Enumerate the valid grids row by row, keeping partial grids that break no
    unit."""
    rows = np.array(list(permutations(range(1, SUDOKU_SIZE + 1))))
    box = int(round(SUDOKU_SIZE**0.5))
    partial = rows
    for r in range(1, SUDOKU_SIZE):
        grown = np.concatenate(
            [np.repeat(partial, len(rows), 0), np.tile(rows, (len(partial), 1))], axis=1
        )
        cells = grown.reshape(len(grown), r + 1, SUDOKU_SIZE)
        columns_ok = (cells[:, :r] != cells[:, r:]).all((1, 2))
        band = cells[:, r - r % box :].reshape(len(grown), -1, SUDOKU_SIZE // box, box)
        boxes = band.transpose(0, 2, 1, 3).reshape(len(grown), SUDOKU_SIZE // box, -1)
        boxes_ok = np.array([all(len(set(b)) == b.size for b in g) for g in boxes])
        partial = grown[columns_ok & boxes_ok]
    return partial


def _bits(cells: np.ndarray) -> np.ndarray:
    """Encode ``(N, 16)`` cells (0 = blank) as one ``uint64`` per row: bit
    ``4·i + v - 1``."""
    shifts = (SUDOKU_SIZE * np.arange(SUDOKU_CELLS) + cells - 1).astype(np.uint64)
    ones = np.where(cells > 0, np.uint64(1), np.uint64(0)) << shifts
    return np.bitwise_or.reduce(ones, axis=1)


def sudoku_grids() -> torch.Tensor:
    """All 288 valid complete 4×4 Sudoku grids, ``(288, 16)`` long, digits 1–4."""
    return torch.from_numpy(_all_grids().copy()).long()


@checked(puzzle=Ids(SUDOKU_CELLS, below=SUDOKU_SIZE + 1), limit=Int())
def solve_sudoku(puzzle: torch.Tensor, limit: int = 2) -> list[torch.Tensor]:
    """Up to ``limit`` solutions of ``puzzle (16,)`` (0 = blank), by backtracking.

    Each solution is a ``(16,)`` long tensor. A puzzle is *well posed* when exactly one
    solution comes back with ``limit=2``.
    """
    cells = puzzle.tolist()
    peers = [set() for _ in range(SUDOKU_CELLS)]
    for unit in _units(SUDOKU_SIZE):
        for i in unit:
            peers[i].update(j for j in unit if j != i)
    solutions: list[torch.Tensor] = []

    def search() -> None:
        if len(solutions) >= limit:
            return
        blanks = [i for i in range(SUDOKU_CELLS) if cells[i] == 0]
        if not blanks:
            solutions.append(torch.tensor(cells, dtype=torch.long))
            return
        options = {
            i: set(range(1, SUDOKU_SIZE + 1)) - {cells[j] for j in peers[i]}
            for i in blanks
        }
        cell = min(blanks, key=lambda i: len(options[i]))
        for value in sorted(options[cell]):
            cells[cell] = value
            search()
            cells[cell] = 0

    given = [i for i in range(SUDOKU_CELLS) if cells[i]]
    if all(cells[i] != cells[j] for i in given for j in peers[i] if cells[j]):
        search()
    return solutions


CLUES = Int(MIN_SUDOKU_CLUES, SUDOKU_CELLS)  # no 4×4 Sudoku with fewer than 4 is unique
GRIDS = Ids("G", SUDOKU_CELLS, nonempty="G", optional=True)  # (G, 16), G >= 1


def _check_grids(door) -> None:
    grids = door.args["grids"]
    if grids is not None and not all(is_valid_sudoku.bare(g) for g in grids):
        raise ValueError("expected grids to hold only valid complete 4×4 Sudoku grids")


@checked(_check_grids, n=Int(), n_clues=CLUES, rng=RNG, grids=GRIDS)
def make_sudoku(
    n: int, n_clues: int, rng, grids: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` well-posed puzzles with exactly ``n_clues`` clues each, and their
    solutions.

    Returns ``(puzzles, solutions)``, both ``(n, 16)`` long: puzzles hold 0 for blanks.
    Solutions are drawn uniformly from ``grids`` (``(G, 16)``, default all 288), so a
    test set can use grids never seen in training. Clues are removed in random order, a
    removal kept only if the puzzle still has a single completion among *all* 288 grids;
    a puzzle that gets stuck with more than ``n_clues`` clues is drawn again.
    ``rng`` is a NumPy ``Generator`` or an int seed."""
    rng = np.random.default_rng(rng)
    every = _all_grids()
    every_bits = _bits(every)
    grids = every if grids is None else grids.numpy().astype(np.int64)
    puzzles, solutions = [], []
    missing = n
    while missing > 0:
        sol = grids[rng.integers(len(grids), size=missing)]
        puz = sol.copy()
        order = rng.permuted(np.tile(np.arange(SUDOKU_CELLS), (missing, 1)), axis=1)
        clues = np.full(missing, SUDOKU_CELLS)
        rows = np.arange(missing)
        for k in range(SUDOKU_CELLS):
            trial = puz.copy()
            trial[rows, order[:, k]] = 0
            fits = (_bits(trial)[:, None] & ~every_bits[None]) == 0
            ok = (fits.sum(1) == 1) & (clues > n_clues)
            puz[ok] = trial[ok]
            clues -= ok
        done = clues == n_clues
        puzzles.append(puz[done])
        solutions.append(sol[done])
        missing -= int(done.sum())
    return (
        torch.from_numpy(np.concatenate(puzzles)).long(),
        torch.from_numpy(np.concatenate(solutions)).long(),
    )


def _maze_rooms(k: int, rng: np.random.Generator) -> np.ndarray:
    """Carve a perfect maze on ``k × k`` rooms by randomised depth-first search."""
    side = 2 * k - 1
    grid = np.full((side, side), WALL, dtype=np.int64)
    seen = np.zeros((k, k), dtype=bool)
    start = (int(rng.integers(k)), int(rng.integers(k)))
    stack = [start]
    seen[start] = True
    grid[2 * start[0], 2 * start[1]] = OPEN
    while stack:
        r, c = stack[-1]
        nexts = [
            (r + dr, c + dc)
            for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0))
            if 0 <= r + dr < k and 0 <= c + dc < k and not seen[r + dr, c + dc]
        ]
        if not nexts:
            stack.pop()
            continue
        nr, nc = nexts[int(rng.integers(len(nexts)))]
        seen[nr, nc] = True
        grid[2 * nr, 2 * nc] = OPEN
        grid[r + nr, c + nc] = OPEN
        stack.append((nr, nc))
    return grid


@checked(maze=Ids("S", "S"))
def maze_path(maze: torch.Tensor) -> torch.Tensor:
    """The cells on a shortest path from ``START`` to ``GOAL`` in ``maze (S, S)``.

    Breadth-first search over ``OPEN``/``START``/``GOAL`` cells (4-neighbours). Returns
    a ``(S, S)`` long tensor with 1 on the path (start and goal included), 0 elsewhere.
    Raises ``ValueError`` if there is not exactly one start and one goal, or no path.
    """
    grid = maze.numpy()
    starts, goals = np.argwhere(grid == START), np.argwhere(grid == GOAL)
    if len(starts) != 1 or len(goals) != 1:
        raise ValueError(
            f"expected one START ({START}) and one GOAL ({GOAL}) cell, "
            f"got {len(starts)} and {len(goals)}"
        )
    start, goal = tuple(starts[0]), tuple(goals[0])
    parent = {start: None}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        if cell == goal:
            break
        r, c = cell
        for nxt in ((r, c + 1), (r + 1, c), (r, c - 1), (r - 1, c)):
            if (
                0 <= nxt[0] < grid.shape[0]
                and 0 <= nxt[1] < grid.shape[1]
                and grid[nxt] != WALL
                and nxt not in parent
            ):
                parent[nxt] = cell
                queue.append(nxt)
    if goal not in parent:
        raise ValueError("expected a maze where GOAL can be reached from START")
    path = torch.zeros(grid.shape, dtype=torch.long)
    cell = goal
    while cell is not None:
        path[cell] = 1
        cell = parent[cell]
    return path


@checked(n=Int(), k=Int(2), rng=RNG)
def make_mazes(n: int, k: int, rng) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` perfect mazes on ``k × k`` rooms with a start and a goal room, and their
    paths.

    Returns ``(mazes, paths)``, both ``(n, (2k-1)²)`` long: mazes hold
    ``WALL``/``OPEN``/ ``START``/``GOAL`` tokens row by row, paths 1 on the cells of the
    (unique) path. Start and goal are distinct rooms drawn uniformly. ``rng`` is a
    NumPy ``Generator`` or an int seed."""
    rng = np.random.default_rng(rng)
    mazes, paths = [], []
    for _ in range(n):
        grid = _maze_rooms(k, rng)
        a, b = rng.choice(k * k, size=2, replace=False)
        grid[2 * (a // k), 2 * (a % k)] = START
        grid[2 * (b // k), 2 * (b % k)] = GOAL
        mazes.append(torch.from_numpy(grid).flatten())
        paths.append(maze_path.bare(torch.from_numpy(grid)).flatten())
    return torch.stack(mazes), torch.stack(paths)
