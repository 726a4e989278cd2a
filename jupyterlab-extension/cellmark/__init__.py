"""Cellmark for JupyterLab: entry points only.

The extension itself is the prebuilt bundle (`_jupyter_labextension_paths`). Notebook code
uses `cellmark.config`, `cellmark.run`, `cellmark.log()`, `cellmark.summary`,
`cellmark.status()`, `cellmark.flush()` and `cellmark.system`; they
live in `cellmark.kernel` and are imported on first use, so `import cellmark` stays cheap.
"""

try:
    from ._version import __version__
except ImportError:  # running from a checkout that was never built
    __version__ = "dev"

_KERNEL_API = ("config", "run", "log", "summary", "status", "flush", "system")


def __getattr__(name):
    if name in _KERNEL_API:
        from .kernel import api

        value = globals()[name] = getattr(api, name)  # later lookups skip this function
        return value
    raise AttributeError(f"module 'cellmark' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_KERNEL_API))


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "@cellmark/jupyterlab"}]
