"""The installed package must hold every subpackage: a folder without __init__.py is left out of
a wheel by setuptools' find_packages, and then `import searchlib` fails after `pip install .`.
And the package has one version, which the installed metadata and setup.cfg take from it."""
import pytest

from conftest import REPO


def test_every_source_folder_is_a_package():
    folders = {p.parent for p in (REPO / "searchlib").rglob("*.py")}
    missing = sorted(str(f.relative_to(REPO)) for f in folders if not (f / "__init__.py").exists())
    assert not missing, f"folders without __init__.py (left out of the installed package): {missing}"


def test_find_packages_includes_every_subpackage():
    from setuptools import find_packages

    found = set(find_packages(str(REPO), include=["searchlib", "searchlib.*"]))
    assert {"searchlib", "searchlib.analysis", "searchlib.query", "searchlib.storage", "searchlib.compat"} <= found


# -- one version ---------------------------------------------------------------------------------

def test_installed_metadata_version_is_the_package_version():
    import importlib.metadata

    import searchlib

    try:
        installed = importlib.metadata.version("searchlib")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("searchlib is not installed (tests run from the source tree): no metadata to compare")
    assert installed == searchlib.__version__


def test_setup_cfg_reads_the_version_from_the_package():
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg", encoding="utf-8")
    assert cfg["metadata"]["version"] == "attr: searchlib.__version__"
