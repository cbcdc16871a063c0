"""redslot.operator: the control plane, in layers that import only downwards (pyproject's
import contracts): the front ends ``k8s`` (kopf) and ``local`` (``redslot up``), which never
import each other; ``control``, the loop; ``model``, its data; ``actions``, RESP commands to
nodes; ``planner``, pure decisions.

This folder is the package ``redslot.operator`` (pyproject's package-dir maps it). Run from
the repository's root, Python puts the current directory first on ``sys.path``, and where
nothing imported the standard library's ``operator`` before (a virtualenv's interpreter
does not), ``import operator`` would find this folder instead, and ``python -m pip`` or
``python -m pytest`` would die at start-up. Imported under that name, this module loads the
standard library's ``operator`` and puts it in its place.
"""

if __name__ == "operator":
    # Only what the interpreter has loaded before any import: importlib.util would import
    # collections, which is what is importing us.
    import _frozen_importlib as _bootstrap
    import _frozen_importlib_external as _external
    import os as _os
    import sys as _sys

    _loader = _external.SourceFileLoader(
        "operator", _os.path.join(_os.path.dirname(_os.__file__), "operator.py"))
    _spec = _bootstrap.spec_from_loader("operator", _loader)
    assert _spec is not None
    _stdlib = _bootstrap.module_from_spec(_spec)
    _loader.exec_module(_stdlib)
    _sys.modules["operator"] = _stdlib
    globals().update({k: v for k, v in vars(_stdlib).items() if not k.startswith("__")})
