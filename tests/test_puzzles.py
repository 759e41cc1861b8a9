"""Tests of the puzzle generators: valid grids, unique solutions, mazes and their
paths."""

import numpy as np
import pytest
import torch

from companion.data.puzzles import (
    GOAL,
    OPEN,
    START,
    WALL,
    is_valid_sudoku,
    make_mazes,
    make_sudoku,
    maze_path,
    solve_sudoku,
    sudoku_grids,
)


def test_sudoku_grids_are_the_288_valid_grids():
    grids = sudoku_grids()
    assert grids.shape == (288, 16) and grids.dtype == torch.long
    assert len({tuple(g) for g in grids.tolist()}) == 288
    assert all(is_valid_sudoku(g) for g in grids)


def test_is_valid_sudoku_rejects_broken_grids():
    grid = sudoku_grids()[0].clone()
    assert is_valid_sudoku(grid)
    grid[[0, 1]] = grid[[1, 0]]  # swapping two cells of a row breaks two columns
    assert not is_valid_sudoku(grid)
    with pytest.raises(ValueError, match=r"expected grid of shape \(16,\)"):
        is_valid_sudoku(torch.ones(4, 4, dtype=torch.long))


@pytest.mark.parametrize("n_clues", [4, 5, 8, 12])
def test_make_sudoku_gives_unique_puzzles_of_their_grid(n_clues):
    puzzles, solutions = make_sudoku(60, n_clues, rng=n_clues)
    assert puzzles.shape == solutions.shape == (60, 16)
    assert ((puzzles > 0).sum(1) == n_clues).all()
    given = puzzles > 0
    assert (puzzles[given] == solutions[given]).all()
    for puzzle, solution in zip(puzzles, solutions, strict=True):
        found = solve_sudoku(
            puzzle, limit=2
        )  # backtracking, independent of the generator
        assert len(found) == 1 and torch.equal(found[0], solution)


def test_make_sudoku_is_seeded_and_keeps_to_the_given_grids():
    a = make_sudoku(20, 5, rng=3)
    b = make_sudoku(20, 5, rng=np.random.default_rng(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    grids = sudoku_grids()[:10]
    _, solutions = make_sudoku(50, 6, rng=0, grids=grids)
    allowed = {tuple(g) for g in grids.tolist()}
    assert all(tuple(s) in allowed for s in solutions.tolist())


def test_make_sudoku_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_clues to be an int >= 4, got 3"):
        make_sudoku(5, 3, rng=0)
    with pytest.raises(ValueError, match="expected n to be an int >= 1, got 0"):
        make_sudoku(0, 5, rng=0)
    with pytest.raises(TypeError, match="expected n to be an int"):
        make_sudoku(True, 5, rng=0)
    with pytest.raises(TypeError, match="expected n_clues to be an int"):
        make_sudoku(5, 5.0, rng=0)
    with pytest.raises(ValueError, match=r"n_clues in \[4, 16\], got 17"):
        make_sudoku(5, 17, rng=0)
    with pytest.raises(TypeError, match="numpy Generator or an int seed"):
        make_sudoku(5, 5, rng=0.5)
    with pytest.raises(ValueError, match=r"expected grids of shape \(G, 16\)"):
        make_sudoku(5, 5, rng=0, grids=torch.ones(3, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="valid complete"):
        make_sudoku(5, 5, rng=0, grids=torch.ones(3, 16, dtype=torch.long))
    with pytest.raises(ValueError, match="grids with at least one G"):
        make_sudoku(5, 5, rng=0, grids=torch.ones(0, 16, dtype=torch.long))
    with pytest.raises(TypeError, match="grids to have an integer dtype"):
        make_sudoku(5, 5, rng=0, grids=sudoku_grids().float())
    with pytest.raises(TypeError, match="numpy Generator or an int seed"):
        make_sudoku(5, 5, rng=True)


def test_solve_sudoku_counts_solutions():
    grid = sudoku_grids()[7]
    assert len(solve_sudoku(grid)) == 1
    assert len(solve_sudoku(torch.zeros(16, dtype=torch.long), limit=300)) == 288
    broken = grid.clone()
    broken[1] = broken[0]  # two equal digits in a row: no solution
    assert solve_sudoku(broken) == []
    with pytest.raises(TypeError, match="integer dtype"):
        solve_sudoku(torch.zeros(16))
    with pytest.raises(ValueError, match=r"expected puzzle of shape \(16,\)"):
        solve_sudoku(torch.zeros(4, 4, dtype=torch.long))
    with pytest.raises(
        ValueError, match=r"puzzle to hold ids in \[0, 5\), got .*\[5, 5\]"
    ):
        solve_sudoku(torch.full((16,), 5))
    with pytest.raises(
        ValueError, match=r"puzzle to hold ids in \[0, 5\), got .*\[-1, -1"
    ):
        solve_sudoku(torch.full((16,), -1))
    with pytest.raises(ValueError, match="limit to be an int >= 1"):
        solve_sudoku(grid, limit=0)


def test_make_mazes_paths_connect_start_and_goal():
    mazes, paths = make_mazes(30, 4, rng=0)
    assert mazes.shape == paths.shape == (30, 49)
    for maze, path in zip(mazes.view(30, 7, 7), paths.view(30, 7, 7), strict=True):
        assert (maze == START).sum() == 1 and (maze == GOAL).sum() == 1
        assert (maze[path == 1] != WALL).all()
        assert path[maze == START].item() == 1 and path[maze == GOAL].item() == 1
        # a simple path: start and goal have one neighbour on it, every other cell two
        padded = torch.nn.functional.pad(path, (1, 1, 1, 1))
        neighbours = (
            padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
        )
        ends = (maze == START) | (maze == GOAL)
        assert (neighbours[ends] == 1).all() and (
            neighbours[(path == 1) & ~ends] == 2
        ).all()
    # a perfect maze on k×k rooms has k²-1 passages
    rooms = mazes.view(30, 7, 7)[:, ::2, ::2]
    assert (rooms != WALL).all()
    assert ((mazes != WALL).sum(1) == 16 + 15).all()


def test_maze_path_finds_the_shortest_path_and_rejects_bad_mazes():
    maze = torch.tensor([[START, OPEN, OPEN], [OPEN, WALL, OPEN], [OPEN, OPEN, GOAL]])
    assert maze_path(maze).sum() == 5
    maze[0, 1] = WALL
    maze[2, 1] = WALL
    with pytest.raises(ValueError, match="GOAL can be reached"):
        maze_path(maze)
    with pytest.raises(ValueError, match="one START"):
        maze_path(torch.ones(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"expected maze of shape \(S, S\)"):
        maze_path(torch.ones(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="expected k to be an int >= 2"):
        make_mazes(3, 1, rng=0)
    with pytest.raises(TypeError, match="expected n to be an int"):
        make_mazes(True, 4, rng=0)
    with pytest.raises(TypeError, match="numpy Generator or an int seed"):
        make_mazes(3, 4, rng="0")
    with pytest.raises(TypeError, match="maze to have an integer dtype"):
        maze_path(torch.ones(3, 3))
