"""Text conventions: normalisation, the codec round trip, loading files, windows for
generation."""

import pytest
import torch

from companion.data.text import (
    EOS_ID,
    LETTRES,
    PAD_ID,
    VOCAB_SIZE,
    CharWindowDataset,
    code2string,
    default_corpus,
    load_corpus,
    load_text,
    normalize,
    string2code,
)


def test_course_conventions():
    assert PAD_ID == 0 and EOS_ID == 1 and VOCAB_SIZE == 97 and len(LETTRES) == 95
    assert string2code("a").item() == 2 and string2code(" ").item() == VOCAB_SIZE - 1


def test_normalize_drops_accents_and_unknown_characters():
    assert normalize("Élève à Paris — 3€\nfin") == "Eleve a Paris  3 fin"
    assert normalize("tab\there") == "tab here"


@pytest.mark.parametrize("text", ["Hello, world!", LETTRES, "", "Ça va? 42 ans."])
def test_round_trip(text):
    codes = string2code(text)
    assert codes.dtype == torch.long and codes.dim() == 1
    assert code2string(codes) == normalize(text)
    assert code2string(codes.tolist()) == normalize(text)


def test_code2string_skips_pad_and_eos():
    assert code2string([2, PAD_ID, 3, EOS_ID]) == "ab"
    assert code2string(torch.tensor([2, 3], dtype=torch.int32)) == "ab"


def test_default_corpus_is_english_prose():
    text = default_corpus()
    assert len(text) > 200_000 and text == normalize(text)
    assert text.count(" the ") > 1000
    assert default_corpus() == text


def test_load_text(tmp_path):
    path = tmp_path / "speech.txt"
    path.write_text("Première ligne\nsecond line", encoding="utf-8")
    assert load_text(path) == "Premiere ligne second line"


def test_char_windows_cover_the_text_in_order():
    text = "abcdefghijklmnopqrstuvwxyz"
    ds = CharWindowDataset(text, length=4)
    assert len(ds) == 6  # (26 - 1) // 4
    x, y = ds[0]
    assert code2string(x) == "abcd" and code2string(y) == "bcde"
    assert code2string(ds[1][0]) == "efgh"
    assert code2string(ds[-1][1]) == "vwxy"
    joined = "".join(code2string(ds[i][0]) for i in range(len(ds)))
    assert joined == text[:24]
    for i in range(len(ds)):
        torch.testing.assert_close(ds[i][0][1:], ds[i][1][:-1])
    ds[0][0].zero_()  # items are copies: editing one leaves the data set alone
    assert code2string(ds[0][0]) == "abcd"


def test_char_windows_batch_and_validate():
    loader = torch.utils.data.DataLoader(CharWindowDataset("x" * 100, 8), batch_size=5)
    x, y = next(iter(loader))
    assert x.shape == (5, 8) and y.shape == (5, 8) and x.dtype == torch.long


def test_char_windows_split_in_three_consecutive_blocks():
    ds = CharWindowDataset("abcdefghij" * 10 + "z", length=4)  # 25 windows
    train, validation, test = ds.split(validation=0.2, test=0.12)
    assert [len(part) for part in (train, validation, test)] == [17, 5, 3]
    order = [i for part in (train, validation, test) for i in part.indices]
    assert order == list(range(25))  # in the text's order, each window once
    assert torch.equal(test[-1][1], ds[24][1]) and torch.equal(train[0][0], ds[0][0])
    train, validation, test = ds.split()  # 10 % and 10 %: 21, 2, 2
    assert (len(train), len(validation), len(test)) == (21, 2, 2)
    train, validation, test = ds.split(validation=0, test=0.1)
    held = len(ds) // 10  # the split page 2.6 makes by hand today
    assert list(train.indices) == list(range(len(ds) - held)) and len(validation) == 0
    assert list(test.indices) == list(range(len(ds) - held, len(ds)))


def test_load_corpus_rejects_a_blank_file_named_by_the_environment(
    tmp_path, monkeypatch
):
    blank = tmp_path / "blank.txt"
    blank.write_text("\n\u00a0\t \r\n", encoding="utf-8")
    monkeypatch.setenv("TEXT_PATH", str(blank))
    with pytest.raises(ValueError, match="blank.txt"):
        load_corpus()


def test_load_corpus_prefers_path_then_environment_then_default(tmp_path, monkeypatch):
    given, from_env = tmp_path / "given.txt", tmp_path / "env.txt"
    given.write_text("Given text.", encoding="utf-8")
    from_env.write_text("Environment text.", encoding="utf-8")
    monkeypatch.setenv("TEXT_PATH", str(from_env))
    assert load_corpus(given) == "Given text."
    assert load_corpus() == "Environment text."
    monkeypatch.setenv("TEXT_PATH", "")  # empty counts as unset
    assert load_corpus() == default_corpus()
    monkeypatch.delenv("TEXT_PATH")
    assert load_corpus() == default_corpus()


def _file(tmp_path, name, data: bytes):
    (tmp_path / name).write_bytes(data)
    return tmp_path / name


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda tmp: normalize(b"bytes"), TypeError, "str"),
        (lambda tmp: string2code(None), TypeError, "str"),
        (lambda tmp: code2string([97]), ValueError, r"ids in \[0, 97\)"),
        (lambda tmp: code2string([2.0]), ValueError, r"ids in \[0, 97\)"),
        (
            lambda tmp: code2string(torch.zeros(2, 2, dtype=torch.long)),
            ValueError,
            r"expected t of shape \(L,\)",
        ),
        (lambda tmp: code2string(torch.zeros(2)), TypeError, "integer"),
        (lambda tmp: code2string(torch.zeros(2).numpy()), TypeError, "torch.as_tensor"),
        (lambda tmp: load_text(tmp / "nothing.txt"), FileNotFoundError, "nothing.txt"),
        (
            lambda tmp: load_text(_file(tmp, "latin1.txt", "café".encode("latin-1"))),
            ValueError,
            "UTF-8",
        ),
        (
            lambda tmp: load_text(_file(tmp, "euros.txt", "€€€".encode())),
            ValueError,
            "LETTRES",
        ),
        (lambda tmp: load_corpus(""), ValueError, "empty string"),
        (
            lambda tmp: load_corpus(tmp / "missing.txt"),
            FileNotFoundError,
            "missing.txt",
        ),
        (
            lambda tmp: CharWindowDataset("abc", 0),
            ValueError,
            "length to be an int >= 1, got 0",
        ),
        (lambda tmp: CharWindowDataset("abc", True), TypeError, "length"),
        (
            lambda tmp: CharWindowDataset("abc", 4),
            ValueError,
            "at least 5 usable characters",
        ),
        (
            lambda tmp: CharWindowDataset(str(_file(tmp, "s.txt", b"a" * 99)), 4),
            ValueError,
            r"the path of a file .* load_text\(path\)",
        ),
        (lambda tmp: CharWindowDataset("abcdefghij", 4)[2], IndexError, "index"),
        (lambda tmp: CharWindowDataset("abcdefghij", 4)[1.0], TypeError, "float"),
        *[
            (
                lambda tmp, bad=bad: CharWindowDataset("a" * 41, 4).split(**bad),
                error,
                name,
            )
            for bad, error, name in [
                (
                    {"validation": 1.0},
                    ValueError,
                    r"validation to be a real .*\[0, 1\)",
                ),
                ({"test": -0.1}, ValueError, "test to be a real number"),
                ({"test": "0.1"}, TypeError, "test"),
                ({"validation": 0.5, "test": 0.5}, ValueError, "validation \\+ test"),
                ({"validation": 0.7, "test": 0.3}, ValueError, "windows to train on"),
            ]
        ],
        # issue 27: a file of white space only holds no usable text
        *[
            (
                lambda tmp, data=data: load_text(_file(tmp, "blank.txt", data)),
                ValueError,
                r"blank\.txt, got no LETTRES but spaces",
            )
            for data in (b"\n\n\n", b"\r\n\r\n", b"   ", b"\t\t", "\u00a0".encode())
        ],
        (
            lambda tmp: load_corpus(_file(tmp, "crlf.txt", b"\r\n \t\r\n")),
            ValueError,
            r"crlf\.txt, got no LETTRES",
        ),
    ],
)
def test_bad_inputs(tmp_path, call, error, message):
    with pytest.raises(error, match=message):
        call(tmp_path)
