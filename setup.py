"""Packaging for nasloss-nb: metadata comes from settings.ini (nbdev 2 layout)."""
import shutil
from configparser import ConfigParser
from pathlib import Path

import setuptools
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
cfg = ConfigParser(delimiters=["="])
cfg.read(HERE / "settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]


def reqs(key):
    "Split a space-separated requirement list from settings.ini"
    return cfg.get(key, "").split()


class BuildWithRegistry(build_py):
    "Copy the benchmark registry `data/registry.json` into the built package"

    def run(self):
        super().run()
        dest = Path(self.build_lib) / cfg["lib_path"] / "registry.json"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(HERE / "data" / "registry.json", dest)


setuptools.setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    author=cfg["author"],
    author_email=cfg["author_email"],
    keywords=cfg["keywords"].split(),
    url=cfg["git_url"],
    project_urls={"Source": cfg["git_url"]},
    classifiers=["Programming Language :: Python :: 3", "Topic :: Scientific/Engineering :: Artificial Intelligence",
                 "Intended Audience :: Science/Research"],
    license="Apache-2.0",
    python_requires=">=" + cfg["min_python"],
    packages=setuptools.find_packages(include=[cfg["lib_path"], cfg["lib_path"] + ".*"]),
    include_package_data=True,
    package_data={cfg["lib_path"]: ["py.typed"]},  # PEP 561: type checkers use the package's annotations
    install_requires=reqs("requirements"),
    extras_require={
        "notebooks": reqs("notebooks_requirements"),
        "dask": reqs("dask_requirements"),
        "dev": reqs("dev_requirements") + reqs("notebooks_requirements"),
    },
    entry_points={"console_scripts": cfg["console_scripts"].split(),
                  # nbdev's doc links (`name` -> its docs page) read the symbol index through this entry point
                  "nbdev": [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    cmdclass={"build_py": BuildWithRegistry},
    zip_safe=False,
)
