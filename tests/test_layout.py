"""The package list in pyproject.toml is explicit (the recipes ship from a folder outside the package):
every package folder must be listed, or an installed wheel silently lacks it."""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "adapterstilts").rglob("__init__.py")}
    assert folders - listed == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"
    assert listed - folders == {"adapterstilts.recipes_data"}


def test_recipe_package_data_covers_every_recipe():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = data["adapterstilts.recipes_data"]
    recipes = {p.relative_to(ROOT / "recipes") for p in (ROOT / "recipes").rglob("*.yaml")}
    assert recipes and all(any(r.match(pat) and len(r.parts) == len(Path(pat).parts) for pat in patterns) for r in recipes)
