"The library imports none of the notebook tooling at run time (nbdev, fastcore, Jupyter, papermill)"
import subprocess, sys

CODE = """
import importlib, pkgutil, sys, nasloss_nb, nasloss_nb.spaces
for pkg in (nasloss_nb, nasloss_nb.spaces):
    for m in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(pkg.__name__ + "." + m.name)
tools = ("nbdev", "fastcore", "execnb", "IPython", "ipywidgets", "ipykernel", "jupyter_client", "papermill")
print(sorted({k.split(".")[0] for k in sys.modules} & set(tools)))
"""


def test_no_notebook_tooling_at_run_time():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
