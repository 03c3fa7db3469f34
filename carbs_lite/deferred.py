"""numpy imported at its first use, for the modules the light commands load.

``carbs-lite status`` and ``observe`` read and write a study without any array arithmetic, and
importing numpy would be most of their start-up. The modules they load (the spaces, the arch
and categorical spaces, the curves, the front, early stopping, the tuner, ``StudyData`` and the
space file) therefore name numpy through ``numpy`` below, which imports it when one of its
attributes is first read. Unlike ``importlib.util.LazyLoader``, it puts nothing in
``sys.modules``: any other module's ``import numpy`` (torch's, say) loads the real one as usual.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any


class DeferredModule:
    """The module ``name``, imported when an attribute is first read. Each attribute read is
    then kept on this object, so that later reads cost what a module attribute's do."""

    def __init__(self, name: str) -> None:
        self.module_name = name

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") or attribute == "module_name":
            # copy and pickle probe dunders on an object made without __init__
            raise AttributeError(attribute)
        value = getattr(importlib.import_module(self.module_name), attribute)
        setattr(self, attribute, value)
        return value


def numpy_types(*names: str) -> tuple[type, ...]:
    """numpy's types ``names`` (e.g. "integer", "bool_") if numpy is loaded, else (): before
    it is imported no value can be one, so ``isinstance`` checks need not import it. Once
    another thread has begun importing numpy, this waits for that import to finish."""
    if "numpy" not in sys.modules:
        return ()
    module = importlib.import_module("numpy")
    return tuple(getattr(module, name) for name in names)


numpy = DeferredModule("numpy")
