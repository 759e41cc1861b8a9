import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from companion import backprop as bp  # noqa: E402
from companion.plotting import plot_xor_decision  # noqa: E402


def test_decision_plot_draws_regions_lines_and_points():
    params = bp.init_params(np.random.default_rng(0))
    fig, ax = plt.subplots()
    plot_xor_decision(params, bp.XOR_INPUTS, bp.XOR_TARGETS, ax=ax, title="t")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["hidden unit 1", "hidden unit 2"]
    assert len(ax.collections) >= 3  # filled regions, boundary, two scatters
    assert ax.get_title() == "t"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"output > 0.5", "output < 0.5", "target 1", "target 0"} <= set(legend)
    plt.close(fig)
