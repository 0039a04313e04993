"""Sphinx configuration of the rnn_numba documentation (``make docs``)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rnn_numba  # noqa: E402

project = "rnn_numba"
author = "The rnn_numba developers"
copyright = "2026, The rnn_numba developers"
release = version = rnn_numba.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
exclude_patterns = ["_build"]

autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc sections say the types, with shapes
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

html_theme = "pydata_sphinx_theme"
html_title = "rnn_numba"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
nitpicky = False
