"""The CI budget file and the lane split `make test` uses (scripts/test_suite.py)."""
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import bench  # noqa: E402
import test_suite  # noqa: E402


def test_budget_names_every_notebook_and_the_limits():
    budget = test_suite.load_budget()
    stems = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert set(budget["notebook_seconds"]) == stems
    assert budget["limits"]["notebook_seconds"] == 180
    assert budget["limits"]["suite_seconds"] == 45 * 60


def test_lanes_balance_expected_time_and_keep_lesson_order():
    nbs = [Path(f"notebooks/{n}.ipynb") for n in ("00_a", "01_b", "02_c", "03_d", "04_e")]
    secs = {"00_a": 10, "01_b": 100, "02_c": 100, "03_d": 200, "04_e": 10}
    two = test_suite.lanes(nbs, secs, 2)
    assert sorted(p for lane in two for p in lane) == sorted(nbs)  # each notebook exactly once
    loads = [sum(secs[p.stem] for p in lane) for lane in two]
    assert max(loads) - min(loads) <= 20  # 210 / 210 here
    assert all(lane == sorted(lane) for lane in two)
    assert test_suite.lanes(nbs, secs, 1) == [sorted(nbs)]
    assert len(test_suite.lanes(nbs[:1], secs, 4)) == 1  # no empty lanes


def test_a_lesson_that_reads_another_ones_cache_shares_its_lane():
    nbs = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    budget = test_suite.load_budget()["notebook_seconds"]
    two = test_suite.lanes(nbs, budget, 2)
    lane_of = {p.stem[:2]: i for i, lane in enumerate(two) for p in lane}
    for group in test_suite.TOGETHER:
        assert len({lane_of[k] for k in group}) == 1, f"lessons {group} split across lanes: {two}"
    loads = [sum(budget[p.stem] for p in lane) for lane in two]
    # the groups cannot be split, so perfect balance may be impossible: the longer lane must be
    # as short as the best of all assignments of groups to the two lanes
    c = [sum(budget[nb.stem] for nb in group) for group in test_suite.lane_groups(nbs).values()]
    best = min(max(sum(x for i, x in enumerate(c) if m >> i & 1), sum(x for i, x in enumerate(c) if not m >> i & 1))
               for m in range(2 ** len(c)))
    assert max(loads) == best, f"lanes {loads}, the best split has a longest lane of {best}"


def test_bench_reads_where_a_notebook_spends_its_time(tmp_path):
    def cell(src, start, end):
        c = nbformat.v4.new_code_cell(src)
        c.metadata["execution"] = {"iopub.execute_input": f"2026-12-07T10:00:{start:06.3f}Z",
                                   "shell.execute_reply": f"2026-12-07T10:00:{end:06.3f}Z"}
        return c

    nb = nbformat.v4.new_notebook(cells=[cell("# a comment\nfast()", 0, 1.5), nbformat.v4.new_markdown_cell("text"),
                                         cell("slow()", 2, 12.25), nbformat.v4.new_code_cell("never_run()")])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    assert bench.cell_seconds(path) == [(10.25, 2, "slow()"), (1.5, 0, "fast()")]
