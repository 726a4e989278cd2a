"""Cellmark for JupyterLab: entry points only (the extension is the prebuilt bundle)."""

try:
    from ._version import __version__
except ImportError:  # running from a checkout that was never built
    __version__ = "dev"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "@cellmark/jupyterlab"}]
