"""The widget's byte budgets (bench/widget_size.py): sizes are deterministic, so they are a test."""

from __future__ import annotations

import pytest

from bench import widget_size


@pytest.mark.parametrize("bundle", list(widget_size.BUNDLES))
def test_bundle_is_within_its_gzipped_budget(bundle):
    names, budget = widget_size.BUNDLES[bundle]
    raw, zipped = widget_size.measure_files(names)
    assert zipped <= budget, f"{bundle}: {zipped} B gzipped, budget {budget} B"


def test_budgets_are_the_documented_ones():
    assert widget_size.BUNDLES["loader (every page)"] == (("loader.js", "loader.css"), 6 * 1024)
    assert widget_size.BUNDLES["chat UI (on demand)"] == (("chat.js", "chat.css"), 30 * 1024)


def test_the_tag_markup_stays_small():
    size = widget_size.markup_size()
    assert size is not None
    assert size.gzip <= 2 * 1024, size


def test_the_report_passes(capsys):
    assert widget_size.main(["--no-markup"]) == 0
    assert "chat UI (on demand)" in capsys.readouterr().out
