"""Build the documentation site from the notebooks, offline, into `_docs/` (or --out): one HTML page per notebook.

    .venv/bin/python tools/build_docs.py                  # the whole site -> _docs/index.html
    .venv/bin/python tools/build_docs.py --out /tmp/site nbs/index.ipynb nbs/04_losses.ipynb   # some pages

Why not `nbdev_docs`: it needs Quarto, and PyPI's `quarto-cli` is a source package whose build downloads
Quarto from GitHub (fails offline); `nbdev_docs` would also render `readme_nb` (nbs/index.ipynb) over the
hand-written README.md. This script uses nbdev's own notebook processors (front matter; hidden and exported
cells removed; a `show_doc` entry after every exported definition; backticked names linked to their entries,
through the `nbdev` entry point in setup.py) and renders the result with nbconvert (a dev extra). It executes
no notebook cell: notebooks keep their stored outputs, and each `show_doc` entry is made by importing the
exported module. It writes nothing outside the output folder (README.md is never touched). Pages link to
each other and to the files they show with relative links, and load nothing from the network.
"""
import argparse
import html
import inspect
import os
import re
import shutil
import sys
import textwrap
import time
from importlib import import_module
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MARKER = ".nasloss-docs"            # marks a folder this script made, so a rebuild may empty it
SITE_ROOT = "@site-root@"           # stands for the site's root in links until each page's depth is known

CSS = """body{margin:0;font:15px/1.5 system-ui,sans-serif;color:#222;display:flex}
nav{width:240px;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f6f7f9;
 border-right:1px solid #ddd;padding:12px;box-sizing:border-box;font-size:14px}
nav a{display:block;color:#2a5db0;text-decoration:none;padding:2px 0}nav a.here{font-weight:bold;color:#000}
nav h2{font-size:15px;margin:0 0 8px}nav h3{font-size:13px;margin:12px 0 4px;color:#666}
main{flex:1;min-width:0;max-width:1000px;padding:12px 32px}
pre{background:#f6f8fa;padding:8px;overflow:auto;border-radius:4px}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px}
img{max-width:100%}.jp-InputPrompt,.jp-OutputPrompt,.prompt{display:none}
.description{color:#555;font-size:17px;margin-top:-8px}
"""


def notebooks(nbs: Path) -> list[Path]:
    "The notebooks nbdev documents (its glob and skips, from settings.ini): index first"
    from nbdev.doclinks import nbglob
    return _in_order(nbglob(nbs, func=Path), nbs)


def _in_order(paths, nbs: Path) -> list[Path]:
    "index first, then the notebooks of nbs/ by name, then those of its sub-folders (exp/)"
    return sorted(paths, key=lambda p: (p.parent != nbs, p.name != "index.ipynb", str(p)))


def processed(path: Path):
    "The notebook after nbdev's docs processors (no cell executed), its front matter and its module"
    from execnb.nbio import read_nb
    from nbdev.config import get_config
    from nbdev.processors import FilterDefaults, _default_exp, exec_show_docs

    class NoExec(FilterDefaults):
        def base_procs(self):
            return [p for p in super().base_procs() if p is not exec_show_docs]

    nb = read_nb(path)
    mod = _default_exp(nb)
    NoExec()(nb)
    return nb, getattr(nb, "frontmatter_", {}), mod and f"{get_config().lib_name}.{mod}"


def _show_doc_md(code: str, mod: str | None, where: str) -> str:
    "The markdown of a `show_doc(...)` cell, evaluated in the exported module's namespace"
    from nbdev.showdoc import show_doc
    if mod is None:
        raise SystemExit(f"{where}: a show_doc cell in a notebook without `#| default_exp`")
    ns = vars(import_module(mod))
    try:
        doc = eval(code, {**ns, "show_doc": show_doc})
        md, docs = doc._repr_markdown_(), doc.docs or ""
    except NameError as e:      # an annotation names what the module does not import: show it as written
        print(f"warning: {where}: {code}: {e}; its annotations are shown as written", file=sys.stderr)
        md, docs = _plain_md(eval(code, {**ns, "show_doc": lambda sym, **kw: sym}))
    except Exception as e:  # noqa: BLE001 - named and re-raised
        raise SystemExit(f"{where}: `{code}` failed in {mod}: {type(e).__name__}: {e}") from e
    rest = docs.partition("\n")[2]                # a docstring's lines after the first, laid out as written
    if rest.strip() and md.endswith(rest):
        md = md[:-len(rest)] + "\n\n```text\n" + textwrap.dedent(rest).strip("\n") + "\n```\n"
    md = re.sub(r"\[source\]\([^)]*\)\{[^}]*\}\s*", "", md)           # a link to the (unreachable) git host
    return re.sub(r"^(#+) (\S+)[ \t]*$", lambda m: f'<h{len(m[1])} id="{m[2].lower()}">{html.escape(m[2])}</h{len(m[1])}>',
                  md, count=1, flags=re.M)          # the anchor nbdev's links (_modidx) point to: the name, lower case


class _Raw(str):
    "An annotation's text, shown without quotes"
    __repr__ = str.__str__


def _plain_md(obj) -> tuple[str, str]:
    "show_doc's layout without evaluating annotations: heading, signature, docstring (first line in italics)"
    nm, docs = obj.__qualname__, inspect.getdoc(obj) or ""
    kind = "class" if inspect.isclass(obj) else "def"
    sig = inspect.signature(obj)
    raw = lambda a: _Raw(a) if isinstance(a, str) else a       # noqa: E731 - 'pd.DataFrame' shown as pd.DataFrame
    sig = sig.replace(parameters=[p.replace(annotation=raw(p.annotation)) for p in sig.parameters.values()],
                      return_annotation=raw(sig.return_annotation))
    md = f"---\n\n### {nm}\n\n```python\n{kind} {nm}{sig}\n```\n\n"
    return md + re.sub(r"^(\s*)(.+)", r"\1*\2*", docs, count=1), docs


def to_notebooknode(nb, mod, where: str):
    "nbformat notebook of the cells left, Quarto cell options applied (echo/output/include: false)"
    import nbformat
    from execnb.nbio import nb2dict
    cells = []
    for c in nb.cells:
        if c.get("source") is None or c.cell_type == "raw":
            continue
        opt = {k.rstrip(":"): (v[0] if v else "") for k, v in c.get("directives_", {}).items()}
        if opt.get("include") == "false":
            continue
        d = {**nb2dict(c), "source": c.source}
        if c.cell_type == "code":
            d["source"] = "\n".join(l for l in c.source.splitlines() if not l.lstrip().startswith("#|")).strip()
            if d["source"].startswith("show_doc("):          # nbdev's own test for a show_doc cell
                cells.append(nbformat.v4.new_markdown_cell(_show_doc_md(d["source"], mod, where)))
                continue
            d.setdefault("outputs", []), d.setdefault("execution_count", None)
            if opt.get("output") == "false":
                d["outputs"] = []
            if not d["source"] and not d["outputs"]:
                continue
            if opt.get("echo") == "false" or not d["source"]:
                d["metadata"] = {**d.get("metadata", {}), "tags": ["remove_input"]}
        cells.append(d)
    return nbformat.from_dict({**nb2dict(nb), "cells": cells})


def _local_links(body: str, src: Path, out: Path, pages: dict, base: str) -> str:
    "Links to notebooks become site links (`base` + page); local files they show are copied under files/"
    def fix(m):
        attr, url = m[1], html.unescape(m[2])
        if not url or re.match(r"^[a-z]+:|^#|^//", url):
            return m[0]
        path, _, frag = url.partition("#")
        target = (src.parent / path).resolve()
        if target in pages:
            new = base + pages[target] + (f"#{frag}" if frag else "")
        elif target.is_file() and REPO in target.parents:
            dest = out / "files" / target.relative_to(REPO)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(target, dest)
            new = f"{SITE_ROOT}/files/{target.relative_to(REPO).as_posix()}"
        else:
            return m[0]                     # left as written: the test reports it if it is broken
        return f'{attr}="{html.escape(new)}"'
    return re.sub(r'\b(href|src)="([^"]*)"', fix, body)


def _site_links(body: str, page: str, ids: dict, base: str) -> str:
    """Site links made relative to `page`. A link to a page not built, or to an anchor the page lacks (nbdev
    links every backticked name in the symbol index, private helpers too, which get no entry), becomes its text"""
    up = "../" * page.count("/")

    def fix(m):
        target, _, frag = html.unescape(m[1]).partition("#")
        if target not in ids or (frag and frag not in ids[target]):
            return m[3]
        return f'<a href="{html.escape(up + target + (f"#{frag}" if frag else ""))}"{m[2]}>{m[3]}</a>'
    body = re.sub(rf'<a href="{re.escape(base)}([^"]*)"([^>]*)>(.*?)</a>', fix, body, flags=re.S)
    return body.replace(f"{SITE_ROOT}/", up)


def page_html(title: str, desc: str, body: str, nav: str, css: str) -> str:
    "One page: the sidebar, the title and description from the notebook's front matter, the body"
    d = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(desc))
    d = f'<p class="description">{d}</p>' if desc else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}{css}</style></head>'
            f'<body><nav>{nav}</nav><main><h1>{html.escape(title)}</h1>{d}{body}</main></body></html>\n')


def _nav(built: dict, base: str) -> str:
    "The sidebar: every page built, in notebook order, sub-folders (exp/) under their own heading"
    items, folder = ["<h2>nasloss-nb</h2>"], ""
    for name, (title, *_) in built.items():
        sub = name.rpartition("/")[0]
        if sub != folder:
            items.append(f"<h3>{html.escape(sub)}</h3>")
            folder = sub
        items.append(f'<a href="{html.escape(base + name)}">{html.escape(title)}</a>')
    return "\n".join(items)


def build(out: Path, nbs_list: list[Path] | None = None, log=print) -> list[str]:
    "Build the site into `out` (emptied first when this script made it); returns the pages written"
    from nbconvert import HTMLExporter
    from nbdev.config import get_config
    from nbdev.doclinks import _nbpath2html       # nbdev's page names: 04_losses.ipynb -> losses.html
    from pygments.formatters import HtmlFormatter
    from traitlets.config import Config
    cfg = get_config()
    nbs = cfg.config_path / cfg.nbs_path
    base = cfg.doc_host.rstrip("/") + "/" + cfg.doc_baseurl.strip("/") + "/"   # nbdev's links point there
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise SystemExit(f"{out} is not empty and was not made by this script: choose another --out")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / MARKER).write_text("built by tools/build_docs.py\n")
    srcs = _in_order(dict.fromkeys(p.resolve() for p in (nbs_list or notebooks(nbs))), nbs)
    pages = {p.resolve(): _nbpath2html(p.resolve().relative_to(nbs)).as_posix() for p in notebooks(nbs) + srcs}
    c = Config()
    c.TagRemovePreprocessor.update(enabled=True, remove_input_tags={"remove_input"})
    exporter = HTMLExporter(config=c, template_name="basic", exclude_input_prompt=True, exclude_output_prompt=True)
    built = {}                                    # page -> (title, description, body)
    for p in srcs:
        nb, fm, mod = processed(p)
        where = str(p.relative_to(cfg.config_path))
        body, _ = exporter.from_notebook_node(to_notebooknode(nb, mod, where))
        built[pages[p]] = (fm.get("title", p.stem), fm.get("description", ""), _local_links(body, p, out, pages, base))
        log(f"{where} -> {pages[p]}")
    ids = {name: {html.unescape(i) for i in re.findall(r'\sid="([^"]*)"', b)} for name, (_, _, b) in built.items()}
    nav, css = _nav(built, base), HtmlFormatter(style="default").get_style_defs(".highlight")
    for name, (title, desc, body) in built.items():
        page = out / name
        page.parent.mkdir(parents=True, exist_ok=True)
        here = nav.replace(f'<a href="{html.escape(base + name)}">', f'<a href="{html.escape(base + name)}" class="here">')
        page.write_text(_site_links(page_html(title, desc, body, here, css), name, ids, base), encoding="utf-8")
    return list(built)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="output folder (default: doc_path of settings.ini, _docs/)")
    ap.add_argument("notebooks", nargs="*", type=Path, help="only these notebooks (default: all of nbs/)")
    a = ap.parse_args(argv)
    nbs = [p.resolve() for p in a.notebooks]
    out = Path(a.out).resolve() if a.out else None
    os.chdir(REPO)                          # nbdev reads settings.ini from the working folder
    from nbdev.config import get_config
    out = out or get_config().config_path / get_config().doc_path
    t0 = time.monotonic()
    built = build(out, nbs or None)
    print(f"built {len(built)} pages into {out} in {time.monotonic() - t0:.1f} s: open {out / 'index.html'}")


if __name__ == "__main__":
    sys.exit(main())
