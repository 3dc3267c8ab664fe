"""The package's shape, as a new maintainer reads it (issue 20): module docstrings whole, `nasloss_nb.__doc__` set, no
import cycle at import time, no module importing another's private names, no module over the size limit"""
import ast, configparser, json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "nasloss_nb"
MAX_LINES = 450


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(LIB.rglob("*.py")):
        if p.name == "_modidx.py": continue
        parts = p.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def _imports(name: str, p: Path, top_only: bool):
    "(module imported, names) of every `from nasloss_nb... import` in `p` (module level only with `top_only`)"
    tree = ast.parse(p.read_text())
    pkg = name if p.name == "__init__.py" else name.rsplit(".", 1)[0]
    for n in (tree.body if top_only else ast.walk(tree)):
        if isinstance(n, ast.ImportFrom):
            base = pkg.rsplit(".", n.level - 1)[0] if n.level else ""
            mod = (base + "." + n.module if n.level and n.module else base if n.level else n.module) or ""
            if mod.startswith("nasloss_nb"): yield mod, [a.name for a in n.names]


def test_the_package_has_a_docstring_and_version():
    import nasloss_nb
    cfg = configparser.ConfigParser(); cfg.read(ROOT / "settings.ini")
    assert nasloss_nb.__doc__ and "from nasloss_nb import" in nasloss_nb.__doc__
    assert nasloss_nb.__version__ == cfg["DEFAULT"]["version"]


def test_every_module_docstring_is_whole():
    "nbdev takes only the first `>` line of a notebook's title cell as its module's docstring: a summary must be one line"
    bad = []
    for nb in sorted((ROOT / "nbs").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        exp = next((m[1] for c in cells if (m := re.match(r"#\|\s*default_exp\s+(\S+)", "".join(c["source"])))), None)
        if not exp: continue
        title = next(("".join(c["source"]) for c in cells if c["cell_type"] == "markdown" and "".join(c["source"]).startswith("# ")), "")
        quote = [l for l in title.splitlines() if l.startswith(">")]
        path = LIB / (exp.replace(".", "/") + ".py") if exp != "__init__" else LIB / "__init__.py"
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if len(quote) > 1 or not doc.rstrip().endswith((".", ")", "`")): bad.append((nb.name, quote, doc[-40:]))
    assert not bad, bad


def _cycles(top_only: bool) -> list[list[str]]:
    "Import cycles among the package's modules: module-level imports only, or also those inside functions"
    mods = _modules()
    graph = {m: {d for d, _ in _imports(m, p, top_only) if d in mods and d != m} for m, p in mods.items()}
    state, cycles = {}, []
    def visit(m, path):
        state[m] = 1
        for d in graph[m]:
            if state.get(d) == 1: cycles.append(path[path.index(d):] + [d])
            elif d not in state: visit(d, path + [d])
        state[m] = 2
    for m in graph:
        if m not in state: visit(m, [m])
    return [c for c in cycles if c != ["nasloss_nb.spaces", "nasloss_nb.spaces.base", "nasloss_nb.spaces"]]


def test_no_import_cycle_at_import_time():
    assert not _cycles(top_only=True)


def test_no_import_cycle_inside_functions_either():
    "Imports inside functions count too: a lower module never calls up into one that imports it (`core.lazy_names`"
    "re-exports for old import paths are not imports and are not counted)"
    assert not _cycles(top_only=False)


def test_no_module_imports_another_modules_private_names():
    bad = [(m, d, n) for m, p in _modules().items() for d, names in _imports(m, p, False)
           for n in names if n.startswith("_") and not n.startswith("__") and d != m]
    assert not bad, bad


def test_no_module_over_the_size_limit():
    big = {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not big, big
