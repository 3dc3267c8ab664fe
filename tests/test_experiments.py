"Every experiment config validates and its first setting runs; every experiment notebook is papermill-ready and runs"
import os
from pathlib import Path
import pytest
from nasloss_nb.sweep import load_config, run_setting, settings

ROOT = Path(__file__).parent.parent
CONFIGS = sorted((ROOT / "experiments" / "configs").glob("*.yaml"))
NOTEBOOKS = sorted((ROOT / "nbs" / "exp").glob("*.ipynb"))


def _have_data():
    from nasloss_nb.core import NasLossError
    from nasloss_nb.data import locate
    try: locate("nb201-test-200ep"); return True
    except NasLossError: return False


def test_there_are_experiments():
    assert CONFIGS and NOTEBOOKS


def _is_search(path) -> bool:
    import yaml
    return "budget" in (yaml.safe_load(path.read_text()) or {})


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_runs_one_short_trial(path, monkeypatch, tmp_path):
    if not _have_data(): pytest.skip("benchmark data not found (set NASLOSS_DATA)")
    if _is_search(path):                    # a search config: its first setting runs one short search
        from nasloss_nb.search import load_search_config, run_setting_block, search_settings, trains
        cfg = load_search_config(path)
        first = search_settings(cfg)[0]
        first = dict(first, budget=first["n_init"] + 2, **({"epochs": 1} if "epochs" in first else {}))
        if trains(first) and first["space"] == "trained":   # a training function: a few evaluations, in an empty cache
            monkeypatch.setenv("NASLOSS_CACHE", str(tmp_path / "cache"))
            first = dict(first, options={**first["options"], "pool": 20}, n_init=2, budget=4, **({"k": 2} if "k" in first else {}))
        elif trains(first):                 # the DARTS trained space: its fidelity shrunk to seconds, in an empty cache
            from nasloss_nb.core import DataMissingError
            from nasloss_nb.darts_train import check_images
            try: check_images(first["task"])
            except DataMissingError: pytest.skip(f"{first['task']} images not found")
            monkeypatch.setenv("NASLOSS_CACHE", str(tmp_path / "cache"))
            tiny = {"name": "ci-tiny", "base": first["options"].get("fidelity") or "smoke", "epochs": 1, "c": 4,
                    "layers": 3, "train_subset": 128, "val_subset": 64, "test_subset": 64}
            first = dict(first, options={**first["options"], "fidelity": tiny, "pool": 50}, n_init=2, budget=4,
                         **({"k": 2} if "k" in first else {}))
        h = run_setting_block(first, [cfg["seeds"][0]])
        assert len(h) == first["n_init"] + 2 and h["row"].is_unique
        return
    cfg = load_config(path)
    first = dict(settings(cfg)[0], epochs=1, seed_block=1)
    rows = run_setting(first, [cfg["seeds"][0]])
    assert len(rows) == 1 and -1 <= rows[0]["kendall_tau"] <= 1 and rows[0]["n@1"] >= 1


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_parameters_and_one_injected_run(nb, tmp_path):
    import papermill as pm
    params = pm.inspect_notebook(str(nb))
    assert params, f"{nb.name} has no parameters cell"
    assert all(p["inferred_type_name"] != "None" for p in params.values()), params
    inject = {k: v for k, v in {"results": "", "run_smoke": True, "smoke_epochs": 2}.items() if k in params}
    assert all(p["help"] for p in params.values()), f"{nb.name}: a parameter without a comment: {params}"
    out = tmp_path / nb.name
    pm.execute_notebook(str(nb), str(out), parameters=inject, kernel_name="python3", cwd=str(nb.parent), progress_bar=False)
    import json
    outs = [o for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", [])]
    text = "".join("".join(o.get("data", {}).get("text/plain", "")) + "".join(o.get("text", "")) for o in outs)
    assert "Figure({" not in text and "[Figure" not in text, f"{nb.name}: a cell printed a figure's repr instead of drawing it"
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outs), f"{nb.name}: no figure drawn"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_rejects_a_bad_parameter_value(nb, tmp_path):
    "A wrong value stops the notebook in its check cell with the library's own message, before any work"
    import papermill as pm
    with pytest.raises(pm.PapermillExecutionError) as e:
        pm.execute_notebook(str(nb), str(tmp_path / nb.name), parameters={"run_smoke": "no"}, kernel_name="python3",
                            cwd=str(nb.parent), progress_bar=False)
    assert e.value.ename == "InvalidParameterError" and "run_smoke='no': need true or false" in e.value.evalue, e.value.evalue


def test_results_tables_are_the_committed_results():
    "Every table of docs/RESULTS.md is what its `nasloss report` command prints on data/results/ now"
    from nasloss_nb.cli import refresh_report_blocks
    n, stale = refresh_report_blocks(ROOT / "docs" / "RESULTS.md", check=True)
    assert n >= 20, f"docs/RESULTS.md lost report blocks: {n}"
    assert not stale, "docs/RESULTS.md tables differ from data/results/ (run `nasloss readme docs/RESULTS.md`):\n" + "\n".join(stale)


def test_readme_is_short_and_its_links_resolve():
    "The README stays a front door (under 15 KB) and every relative link in it and in docs/ points at a file that exists"
    import re
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) < 15_000, f"README.md is {len(readme.encode()):,} bytes: move detail to docs/GUIDE.md"
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\((?!https?:|#)([^)#\s]+)", doc.read_text()):
            assert (doc.parent / target).exists(), f"{doc.name}: link to {target} does not resolve"
