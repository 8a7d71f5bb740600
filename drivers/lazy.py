"""A package that imports the module behind a public name only when the name is first used.

Why (issue 10, cold start): the window reached SQLAlchemy, reportlab and the export formats
through eager package ``__init__`` files (``bedside.workflow``, ``storage``) and took seconds to
start. Such a package lists its names with their modules and takes its module ``__getattr__`` and
``__dir__`` from ``lazy_package``; ``from package import Name`` works as before (PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence


def lazy_package(
    package: str,
    source_module: Mapping[str, str],
    namespace: MutableMapping[str, object],
    public: Sequence[str],
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: a name in ``source_module`` is imported
    from ``package.<its module>`` on first use and then kept in ``namespace`` (the package's
    globals); ``public`` is its ``__all__``."""

    def getattr_(name: str) -> object:
        module = source_module.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(public))

    return getattr_, dir_
