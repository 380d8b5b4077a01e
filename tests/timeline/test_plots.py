"""The figures: drawn without a display, into a given ax or a new figure, PNG in Jupyter."""

from __future__ import annotations

from matplotlib.figure import Figure

from analyzer.analysis import Analysis
from analyzer.schema import empty_frame
from analyzer.timeline import methods, onset
from analyzer.timeline.plots import LineidFigure, plot_heatmap, plot_timeline

from .helpers import TRUSTED

PNG = b"\x89PNG\r\n\x1a\n"


def test_timeline_with_the_window_shaded(incident: Analysis) -> None:
    figure = plot_timeline(incident.findings, incident.messages, trusted_hosts=TRUSTED)
    assert isinstance(figure, LineidFigure)
    ax = figure.axes[0]
    assert ax.get_title() == "Exposure: 10 Jan 2012 07:00 UTC to 25 Jan 2012 13:15 UTC"
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["exposure window", "all HTTP requests", "requests carrying identifiers"]
    assert len(ax.patches) == 31 * 2 + 1  # two bars a day, one shaded window
    assert figure._repr_png_().startswith(PNG)


def test_timeline_into_a_given_ax_and_windows(incident: Analysis) -> None:
    figure = Figure(figsize=(6, 6))
    top, bottom = figure.subplots(2)
    windows = onset(incident.findings, incident.messages, trusted_hosts=TRUSTED)
    assert plot_timeline(incident.findings, windows=windows, ax=bottom, freq="W") is figure
    assert bottom.get_legend_handles_labels()[1] == ["exposure window", "requests carrying identifiers"]
    assert not top.patches


def test_heatmap_rows_are_hosts(incident: Analysis) -> None:
    figure = plot_heatmap(incident.findings, trusted_hosts=TRUSTED, figsize=(8, 5))
    ax = figure.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 19
    assert sum(label.endswith("(trusted)") for label in labels) == 3
    assert tuple(figure.get_size_inches()) == (8, 5)
    few = plot_heatmap(incident.findings, top=5)
    assert [t.get_text() for t in few.axes[0].get_yticklabels()][-1] == "14 other hosts"


def test_empty_findings_still_draw(incident: Analysis) -> None:
    assert plot_heatmap(empty_frame("findings"))._repr_png_().startswith(PNG)
    assert isinstance(plot_timeline(empty_frame("findings")), Figure)


def test_analysis_functions(incident: Analysis) -> None:
    assert isinstance(methods.plot_timeline(incident, trusted_hosts=TRUSTED), Figure)
    assert isinstance(methods.plot_heatmap(incident), Figure)
