"""Hangzhou metro flows: the course's file, an offline synthetic twin, and the two TP3
data sets.

The course (AMAL TP3) ships ``hzdataset.pch``, a ``torch.save``d tuple ``(train, test)``
of float32 tensors of shape ``(D, T, S, 2)``: days × quarter-hour slots from 5:30 to
23:30 (``T = 73``) × stations (``S = 80``) × (in-flow, out-flow), holding passenger
counts; train has 18 days and test 7. ``load_metro(path)`` reads it; ``load_metro()``
without a path returns ``synthetic_metro()``, a twin with the same layout and the same
summary figures (see ``describe_metro``), so that everything runs offline.
``split_validation_days(train)`` holds out the last training days as a validation set.

``SampleMetroDataset`` (which station does a sequence come from?) and
``ForecastMetroDataset`` (what comes next?) follow the course's semantics: flows are
divided by the per-station, per-direction maximum computed on train (``stations_max``,
``(S, C)``), reused on test. Both cut every window of ``length`` slots of a day,
``T - length + 1`` of them; the course's code counts ``T - length`` and so never serves
the window that ends at the last slot. ``ForecastMetroDataset`` also takes a
``horizon`` (the course's data set is ``horizon = 1``), and both return all their items
at once with ``as_batch()``. Flows are passenger counts: a NaN, infinite or negative
cell is an error (a single NaN would make its station's maximum NaN and leave the whole
station unnormalised).

Reference: the course handout TP3 (AMAL, Sorbonne); the data come from the Hangzhou
metro challenge of Tianchi (Alibaba Cloud, 2019)."""

import operator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from companion.checks import Door, Float, Int, Real, Rule, checked

SLOTS = 73
STATIONS = 80
TRAIN_DAYS = 18
TEST_DAYS = 7

# The course's hzdataset.pch, summarised like ``describe_metro`` does (medians and daily
# totals rounded as published with the course; the two peaks as the ranges of slots they
# span).
REAL_METRO_FIGURES = {
    "max_in_min": 168.0,
    "max_in_median": 630.0,
    "max_in_max": 4207.0,
    "max_out_min": 185.0,
    "max_out_median": 770.0,
    "max_out_max": 4876.0,
    "daily_total_min": 2.0e6,
    "daily_total_max": 2.7e6,
    "zero_fraction": 0.02,
    "morning_peak_slot": (10, 13),
    "evening_peak_slot": (48, 53),
    "morning_in_fraction": 0.5,
    "profile_correlation_median": 0.72,
}

# How rough the course's file is (issue 28), measured like ``residual_figures`` does:
# flows divided by the per-station train maximum, the residual off the train mean day
# on test, errors as test MSE on the target slots 39-72 (15:15 to the end of the day).
REAL_METRO_RESIDUALS = {
    "residual_share": 0.18,
    "residual_std": 0.077,
    "residual_autocorrelation_1": 0.76,
    "residual_autocorrelation_8": 0.15,
    "residual_autocorrelation_16": 0.01,
    "persistence_mse_1": 0.0048,
    "persistence_mse_8": 0.035,
    "mean_day_mse": 0.0049,
    "mean_day_last_residual_mse_1": 0.0035,
    "daily_total_cv": 0.077,
}
FIRST_TARGET_SLOT = 39  # 15:15: the target slots of the metro experiments (page 2.1)
# The rough twin: ``synthetic_metro(**ROUGH_METRO)`` matches every figure of
# ``REAL_METRO_RESIDUALS`` within 25% (and ``REAL_METRO_FIGURES`` within 20%).
ROUGH_METRO = {
    "seed": 0,
    "residual": 0.125,
    "residual_slots": 5.5,
    "payback": 0.62,
    "outliers": 1.0,
    "count_noise": 1.5,
    "plateau": 0.16,
    "day_spread": 0.8,
}


@checked(slot=Int(0, maximum=SLOTS))
def slot_time(slot: int) -> str:
    """Clock time at the start of quarter-hour slot ``slot`` (0 is 5:30), e.g.
    ``"8:00"``; ``slot`` lies in ``[0, 73]`` (``73``, 23:45, is the end of the day's
    last slot)."""
    minutes = 5 * 60 + 30 + 15 * slot
    return f"{minutes // 60}:{minutes % 60:02d}"


def _check_counts(name: str, x: torch.Tensor, least: str = ">=") -> None:
    """Passenger counts: no NaN, infinite or negative cell (or zero, for ``least=">"``),
    and no empty size (a data set without a day, a slot or a station)."""
    if (bad := ~(x > 0 if least == ">" else x >= 0) | (x == torch.inf)).any():
        where = tuple(bad.nonzero()[0].tolist())  # NaN compares false: bad
        raise ValueError(
            f"expected {name} to hold finite counts {least} 0, got {float(x[where])}"
            f" at index {where} ({int(bad.sum())} such cells): fill or drop them first"
        )
    if 0 in x.shape:
        raise ValueError(f"expected {name} with no size 0, got shape {tuple(x.shape)}")


def _check_flows(train, test) -> None:
    """The course's pair: counts ``(D, T, S, 2)`` each, with the same ``(T, S, 2)``."""
    door = Door({})
    for name, x in (("train", train), ("test", test)):
        door.dims.pop("D", None)  # each its own number of days
        Float("D", "T", "S", 2).check(name, x, door)
        _check_counts(name, x)


def load_metro(path: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(train, test)`` flows, each ``(D, T, S, 2)`` float32 passenger counts.

    With ``path`` the course's ``hzdataset.pch`` is read (``torch.load`` with
    ``weights_only=True``); without, the offline ``synthetic_metro()`` twin is returned.
    Raises ``FileNotFoundError`` if nothing is at ``path``, ``ValueError``/``TypeError``
    saying what was expected if the file is not a tuple of two such tensors with the
    same ``T`` and ``S``, at least one day each and at least one station."""
    if path is None:
        return synthetic_metro()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"expected the metro file hzdataset.pch at {path}, found nothing there"
        )
    try:  # pickle, zip, weights-only and unpacking errors all mean "not that file"
        content = torch.load(path, weights_only=True)
        train, test = content if isinstance(content, tuple | list) else (content,)
    except Exception as err:
        message = f"expected {path} to hold a torch.save'd tuple (train, test)"
        raise ValueError(f"{message}, could not load it: {err}") from err
    _check_flows(train, test)
    return train.float(), test.float()


@checked(flows=Float("D", "T", "S", "C"), days=Int(below="D"))
def split_validation_days(
    flows: torch.Tensor, days: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(train, validation)``: the first ``D - days`` days of ``flows (D, T, S, C)``
    and its last ``days`` days (views, not copies).

    Made for the training flows of ``load_metro``: ``train, validation =
    split_validation_days(train_flows)`` leaves the test days untouched, so a model is
    selected on the validation days and judged once on the test days. Whole days are
    held out, not windows drawn at random: the windows of one day overlap, and a
    validation window would share most of its slots with training windows. The last
    days are held out, so that the model is validated, as it is tested, on days it has
    not seen. Normalise every set with the maxima of the training days
    (``SampleMetroDataset(train).stations_max``)."""
    kept = len(flows) - days
    return flows[:kept], flows[kept:]


def _profile(t: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((t - centre) / width) ** 2)


def _service(t: np.ndarray, start: float, end: float) -> np.ndarray:
    """Smooth 0→1→0 envelope: trains run from about ``start`` to ``end`` (in slots)."""
    return 1 / (1 + np.exp(-(t - start) / 0.5)) / (1 + np.exp((t - end) / 0.5))


def _roughen(rate, profiles, sizes, seed, train_days, rough) -> np.ndarray:
    """The twin's expected counts ``rate (D, T, S, 2)`` made as rough as the real file
    (``rough``: the keyword arguments of ``synthetic_metro`` below), from streams of
    their own, so that the smooth twin draws exactly what it always did.

    A residual off the mean day: for each day, station and direction, an AR(1) along
    the slots of unit variance and autocorrelation ``exp(-lag / residual_slots)``, less
    ``payback`` times its own mean over the day (a busy hour is partly paid back by
    quieter ones), times ``residual`` · the station's peak · √(its profile), never
    taking away more than 60% of a slot's flow. Then ``outliers``: one burst of that
    many times the station's peak, on a random train day and daytime slot, for each
    station and direction. Last, each station is scaled by the square root of its
    peak before over its peak after, halfway between keeping its peak and keeping its
    volume."""
    clean_peak = rate.max(axis=(0, 1))
    draw = np.random.default_rng([seed, 28])
    if rough["residual"] > 0:
        phi = np.exp(-1 / rough["residual_slots"])
        shocks = draw.normal(0, 1, rate.shape)
        z = np.empty(rate.shape)
        z[:, 0] = shocks[:, 0]
        for t in range(1, rate.shape[1]):
            z[:, t] = phi * z[:, t - 1] + np.sqrt(1 - phi**2) * shocks[:, t]
        z -= rough["payback"] * z.mean(axis=1, keepdims=True)
        spread = rough["residual"] * sizes * np.sqrt(profiles.transpose(1, 0, 2))
        rate = np.maximum(rate + spread * z, 0.4 * rate)
    if rough["outliers"] > 0:
        stations = np.arange(rate.shape[2])[:, None]
        days = draw.integers(0, train_days, (len(stations), 2))
        slots = draw.integers(8, rate.shape[1] - 8, (len(stations), 2))
        rate = rate.copy()
        rate[days, slots, stations, [0, 1]] += rough["outliers"] * sizes
    return rate * np.sqrt(clean_peak / rate.max(axis=(0, 1)))


@checked(
    stations=Int(),
    train_days=Int(),
    test_days=Int(),
    residual=Real(0),
    residual_slots=Real(0, low_open=True),
    payback=Real(0, 1),
    outliers=Real(0),
    count_noise=Real(0),
    plateau=Real(0),
    day_spread=Real(0),
)
def synthetic_metro(
    seed: int = 0,
    stations: int = STATIONS,
    train_days: int = TRAIN_DAYS,
    test_days: int = TEST_DAYS,
    residual: float = 0.0,
    residual_slots: float = 4.0,
    payback: float = 0.0,
    outliers: float = 0.0,
    count_noise: float = 1.0,
    plateau: float = 0.0,
    day_spread: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """An offline twin of ``hzdataset.pch``:
    ``(train (18, 73, 80, 2), test (7, 73, 80, 2))``.

    Each station mixes a morning peak (slots 10–13, 8:00–8:45) and an evening peak
    (slots 48–53, 17:30–18:45) over a daytime plateau. Residential stations (half of
    them) send their passengers in the morning and receive them in the evening; business
    stations the mirror. Peak times, widths and plateau levels vary from station to
    station, which is what makes stations recognisable after normalisation. Station
    sizes are log-spaced with the real data's medians, so that with ``seed = 0`` the
    per-station maximum in-flow spans 179 to 3887 (median 627; real 168 to 4207) and the
    out-flow 165 to 4270 (real 185 to 4876): the twin's busiest stations are about 10%
    quieter than the real ones. Every day has its own level (daily totals 2.05 to 2.74
    million) and per-station fluctuations; counts are Poisson draws, hence integers with
    a few zeros at the ends of the service. ``describe_metro`` measures these figures
    and ``REAL_METRO_FIGURES`` holds the real ones.

    With the defaults the twin is smooth: its flows stray little from the mean day, and
    what they stray lasts all day (``REAL_METRO_RESIDUALS`` has the real file's
    figures). The other arguments roughen it; ``ROUGH_METRO`` holds the values that
    match the real file, and with their defaults nothing changes, to the last count.
    ``residual`` (in units of a station's peak) adds a residual off the mean day whose
    autocorrelation fades over ``residual_slots`` slots, of which each day gives back
    the share ``payback`` at other hours; ``outliers`` adds one burst of that many
    peaks per station and direction (it sets the station's maximum, as bursts do in the
    real file); ``count_noise`` scales the count noise of every station (1: Poisson);
    ``plateau`` raises every station's daytime level (as a share of its peaks);
    ``day_spread`` scales how much days and stations differ from day to day (1: busy
    and quiet days as above)."""
    rng = np.random.default_rng(seed)
    t = np.arange(SLOTS, dtype=float)
    days = train_days + test_days

    residential = rng.permutation(np.arange(stations) % 2 == 0)
    # Share of the morning peak in the in-flow: high for residential stations.
    morning = np.where(
        residential,
        rng.uniform(0.55, 0.85, stations),
        rng.uniform(0.15, 0.45, stations),
    )
    profiles = np.empty((stations, SLOTS, 2))
    for s in range(stations):
        m_c, e_c = rng.uniform(9.5, 13.5), rng.uniform(47.5, 53.5)
        m_w, e_w = rng.uniform(1.5, 3.5), rng.uniform(2.0, 5.5)
        lunch = rng.uniform(0.0, 0.25) * _profile(t, rng.uniform(24, 30), 3.0)
        start, end = rng.uniform(0.8, 2.2), rng.uniform(68, 70.5)
        for c, share in enumerate((morning[s], 1 - morning[s])):
            # Out-flow (c = 1) peaks about two slots after the in-flow: the ride.
            delay = 0.0 if c == 0 else rng.uniform(1.0, 2.5)
            envelope = _service(t, start + delay, end + c)
            level_c = rng.uniform(0.05, 0.3) + plateau
            peaks = share * _profile(t, m_c + delay, m_w) + (1 - share) * _profile(
                t, e_c + delay, e_w
            )
            shape = envelope * (level_c + peaks + lunch)
            profiles[s, :, c] = shape / shape.max()

    # Peak sizes: log-spaced between the real data's extremes, median at the real
    # median.
    quantiles = (np.arange(stations) + 0.5) / stations
    knots = [0, 0.5, 0.9, 1]
    log_in = np.interp(quantiles, knots, np.log([165, 630, 1000, 4300]))
    log_out = np.interp(quantiles, knots, np.log([180, 770, 1200, 4950]))
    order = rng.permutation(stations)
    jitter = rng.normal(0, 0.08, stations)
    sizes = np.stack([np.exp(log_in[order]), np.exp(log_out[order] + jitter)], axis=1)

    level = rng.uniform(0.78, 1.05, days)  # busy and quiet days
    wobble = rng.lognormal(0, 0.06, (days, 1, stations, 2))  # per day and station
    if day_spread != 1:
        level, wobble = 0.915 + day_spread * (level - 0.915), wobble**day_spread
    expected = sizes[None] * profiles.transpose(1, 0, 2)  # (T, S, 2) on an average day
    rate = level[:, None, None, None] * wobble * np.array([0.9, 0.87]) * expected[None]
    if residual > 0 or outliers > 0:
        rough = dict(
            residual=residual,
            residual_slots=residual_slots,
            payback=payback,
            outliers=outliers,
        )
        rate = _roughen(rate, profiles, sizes, seed, train_days, rough)
    counts = rng.poisson(rate)
    if count_noise != 1:  # Poisson deviations scaled, counts kept whole and >= 0
        counts = np.maximum(np.round(rate + count_noise * (counts - rate)), 0)
    counts = counts.astype(np.float32)
    data = torch.from_numpy(counts)
    return data[:train_days], data[train_days:]


@checked(lambda door: _check_flows(**door.args))
def describe_metro(train: torch.Tensor, test: torch.Tensor) -> dict[str, float]:
    """Summary figures of a metro data set (the ones the synthetic twin is matched to).

    Returns per-station maximum in- and out-flow (min, median, max over stations, on all
    days), daily totals (min and max of in + out over all stations), the fraction of
    zero cells, the slots of the busiest mean in- and out-flow for the whole network,
    the fraction of stations whose mean in-flow peaks before noon, and the median
    Pearson correlation between stations' mean daily in-flow profiles; and how rough
    the flows are, ``residual_figures``."""
    data = torch.cat([train, test]).double()
    peak = data.amax(dim=(0, 1))  # (S, 2)
    daily = data.sum(dim=(1, 2, 3))
    mean_day = data.mean(dim=0)  # (T, S, 2)
    network = mean_day.sum(dim=1)  # (T, 2)
    inflow = mean_day[:, :, 0].T  # (S, T)
    noon = 26  # 12:00
    corr = torch.corrcoef(inflow[inflow.std(dim=1) > 0])
    off_diagonal = corr[~torch.eye(len(corr), dtype=torch.bool)]
    return residual_figures.bare(train, test) | {
        "max_in_min": float(peak[:, 0].min()),
        "max_in_median": float(peak[:, 0].median()),
        "max_in_max": float(peak[:, 0].max()),
        "max_out_min": float(peak[:, 1].min()),
        "max_out_median": float(peak[:, 1].median()),
        "max_out_max": float(peak[:, 1].max()),
        "daily_total_min": float(daily.min()),
        "daily_total_max": float(daily.max()),
        "zero_fraction": float((data == 0).double().mean()),
        "morning_peak_slot": int(network[:noon, 0].argmax()),
        "evening_peak_slot": int(noon + network[noon:, 0].argmax()),
        "morning_in_fraction": float((inflow.argmax(dim=1) < noon).double().mean()),
        "profile_correlation_median": float(off_diagonal.median()),
    }


@checked(lambda door: _check_flows(**door.args))
def residual_figures(train: torch.Tensor, test: torch.Tensor) -> dict[str, float]:
    """How rough a metro data set is: the figures of ``REAL_METRO_RESIDUALS``.

    Flows are divided by the per-station, per-direction maximum on train. The residual
    is the test flow minus the train mean day: its variance as a share of the test
    flows' variance, its standard deviation, and its autocorrelation at lags of 1, 8
    and 16 slots (the Pearson correlation of the pairs ``(r[d, t], r[d, t + lag])``
    over every test day, station and direction). Then test MSEs on the target slots
    from ``FIRST_TARGET_SLOT`` to the end of the day: persistence 1 and 8 slots ahead,
    the mean day (whatever the horizon), and the mean day plus the last residual one
    slot ahead. Last, the coefficient of variation of the train days' totals (in + out,
    every station)."""
    top = train.double().amax(dim=(0, 1))
    top = torch.where(top > 0, top, 1.0)
    train_n, test_n = train.double() / top, test.double() / top
    mean_day = train_n.mean(dim=0)  # (T, S, C)
    residual = test_n - mean_day
    figures = {
        "residual_share": float(residual.var() / test_n.var()),
        "residual_std": float(residual.std()),
    }
    for lag in (1, 8, 16):
        pairs = torch.stack([residual[:, :-lag].flatten(), residual[:, lag:].flatten()])
        figures[f"residual_autocorrelation_{lag}"] = float(torch.corrcoef(pairs)[0, 1])
    first, slots = FIRST_TARGET_SLOT, test.shape[1]
    target = test_n[:, first:]
    for k in (1, 8):
        error = test_n[:, first - k : slots - k] - target
        figures[f"persistence_mse_{k}"] = float(error.pow(2).mean())
    figures["mean_day_mse"] = float((mean_day[first:] - target).pow(2).mean())
    last = mean_day[first:] + residual[:, first - 1 : slots - 1]
    figures["mean_day_last_residual_mse_1"] = float((last - target).pow(2).mean())
    daily = train.double().sum(dim=(1, 2, 3))
    figures["daily_total_cv"] = float(daily.std(unbiased=False) / daily.mean())
    return figures


def residual_table(figures: dict[str, float]) -> str:
    """The figures of ``residual_figures`` next to the real file's, one per line."""
    lines = [f"{'figure':<30}{'this data':>11}{'real file':>11}"]
    for name, real in REAL_METRO_RESIDUALS.items():
        lines.append(f"{name:<30}{figures[name]:>11.4g}{real:>11.4g}")
    return "\n".join(lines)


def _check_figures(stats, door) -> str | None:
    if missing := sorted(REAL_METRO_FIGURES.keys() - stats.keys()):
        return f"expected the figures of describe_metro, missing {missing}"


@checked(rtol=Real(0, low_open=True), stats=Rule(_check_figures))
def close_to_real(stats: dict, rtol: float = 0.2) -> dict[str, bool]:
    """Which figures of ``stats`` (from ``describe_metro``) match
    ``REAL_METRO_FIGURES``.

    A number matches when it is within ``rtol`` (relative) of the real one, a peak slot
    when it lies in the real range. Returns ``{figure: bool}`` for every figure."""
    result = {}
    for name, real in REAL_METRO_FIGURES.items():
        if isinstance(real, tuple):
            result[name] = real[0] <= stats[name] <= real[1]
        else:
            result[name] = abs(stats[name] - real) <= rtol * abs(real)
    return result


def _check_data(door) -> None:
    """``data`` and ``stations_max`` hold counts (``stations_max`` no zero); ``length``
    spans at least ``horizon + 1`` slots (1 without a horizon) and at most a day."""
    _check_counts("data", door.args["data"])
    if (top := door.args["stations_max"]) is not None:
        _check_counts("stations_max", top, least=">")
    minimum = door.args.get("horizon", 0) + 1
    Int(minimum, maximum="T").check("length", door.args["length"], door)


_DATA = Float("D", "T", "S", "C")
_MAXIMA = Float("S", "C", optional=True)


def _normalise(
    data: torch.Tensor, stations_max: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``data / stations_max`` and ``stations_max`` (computed on ``data`` when
    ``None``)."""
    if stations_max is None:
        stations_max = data.amax(dim=(0, 1))
        # A station that never saw anyone (max 0) stays at 0 instead of becoming NaN.
        return data / torch.where(stations_max > 0, stations_max, 1.0), stations_max
    return data / stations_max, stations_max


def _check_index(i, n: int) -> int:
    if not -n <= operator.index(i) < n:
        raise IndexError(f"expected an index in [0, {n}), got {i}")
    return i % n


class SampleMetroDataset(Dataset):
    """Many-to-one: a window of one station's flows, labelled with the station.

    ``data (D, T, S, C)`` (``C = 1`` for in-flow only, 2 for in and out); every window
    of ``length`` consecutive slots of every day and station is a sample, so there are
    ``S · D · (T - length + 1)`` of them. Item ``i`` is
    ``(sequence (length, C), station)``, with flows divided by ``stations_max (S, C)``
    (computed here on ``data`` when ``None``; pass the train one to the test set). Items
    are copies: editing one leaves the data set as it was."""

    @checked(_check_data, data=_DATA, stations_max=_MAXIMA)
    def __init__(
        self,
        data: torch.Tensor,
        length: int = 20,
        stations_max: torch.Tensor | None = None,
    ):
        self.data, self.stations_max = _normalise(data, stations_max)
        self.days, self.slots, self.stations, _ = self.data.shape
        self.length = length
        self.windows = self.slots - length + 1

    def __len__(self) -> int:
        return self.stations * self.days * self.windows

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        station, i = divmod(_check_index(i, len(self)), self.days * self.windows)
        slot, day = divmod(i, self.days)
        return self.data[day, slot : slot + self.length, station].clone(), station

    def as_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All items at once, in index order: ``(sequences (length, N, C), stations
        (N,))`` with ``N = len(self)``, without the Python loop over the items."""
        windows = self.data.unfold(1, self.length, 1)  # (D, windows, S, C, length)
        sequences = windows.permute(4, 2, 1, 0, 3).flatten(1, 3)  # station, slot, day
        stations = torch.arange(self.stations).repeat_interleave(
            self.days * self.windows
        )
        return sequences.contiguous(), stations


class ForecastMetroDataset(Dataset):
    """Many-to-many: all stations' flows over a window, and the same window shifted by
    ``horizon`` slots (1, the course's data set, by default).

    ``data (D, T, S, C)``; every window of ``length`` slots of every day is a sample, so
    there are ``D · (T - length + 1)`` of them. Item ``i`` is
    ``(x[d, t:t+length-horizon], x[d, t+horizon:t+length])``, both
    ``(length - horizon, S, C)``: the target of input step ``j`` is the flow ``horizon``
    slots later. Flows are normalised like ``SampleMetroDataset``. Items are copies."""

    @checked(_check_data, data=_DATA, stations_max=_MAXIMA, horizon=Int())
    def __init__(
        self,
        data: torch.Tensor,
        length: int = 20,
        stations_max: torch.Tensor | None = None,
        horizon: int = 1,
    ):
        self.data, self.stations_max = _normalise(data, stations_max)
        self.days, self.slots = self.data.shape[:2]
        self.horizon, self.length = horizon, length
        self.windows = self.slots - length + 1

    def __len__(self) -> int:
        return self.days * self.windows

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        slot, day = divmod(_check_index(i, len(self)), self.days)
        window = self.data[day, slot : slot + self.length]
        return window[: -self.horizon].clone(), window[self.horizon :].clone()

    def as_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All items at once, in index order and in the course's layout, stations and
        directions flattened: ``(inputs, targets)``, both
        ``(length - horizon, N, S · C)`` with ``N = len(self)``."""
        windows = self.data.unfold(1, self.length, 1)  # (D, windows, S, C, length)
        flows = windows.permute(4, 1, 0, 2, 3).flatten(3).flatten(1, 2)  # slot, day
        return (
            flows[: -self.horizon].contiguous(),
            flows[self.horizon :].contiguous(),
        )
