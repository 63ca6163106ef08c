"""The rest of the standard library, importable at run time.

The runner's snapshot holds only the modules imported while it was built;
the library's files are not there when a request runs. So, while the runner
is built (the library is readable then, at `/python`), every module's source
is read and kept compressed in the snapshot, and a finder at the end of
`sys.meta_path` imports from it: a handler may import any pure-Python
standard module, paying for it (decompressing and compiling it) only when it
does."""

import importlib.abc
import importlib.util
import os
import sys
import zlib

# Where the library is while the runner is built, and where its modules say
# they are at run time.
_BUILT_FROM = "/python"
_SHOWN_AT = os.path.dirname(os.__file__)
# Not for a server's handlers: the test suite, GUIs, installers.
_SKIP = {"test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "__pycache__",
         "lib2to3", "pydoc_data", "venv", "site-packages"}


def _collect():
    sources = {}
    for dirpath, dirnames, filenames in os.walk(_BUILT_FROM):
        dirnames[:] = [d for d in dirnames if d not in _SKIP]
        for name in filenames:
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    sources[os.path.relpath(path, _BUILT_FROM)] = zlib.compress(f.read(), 9)
    return sources


SOURCES = _collect()


class _Loader(importlib.abc.Loader):
    def __init__(self, rel):
        self.rel = rel

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        source = zlib.decompress(SOURCES[self.rel])
        exec(compile(source, module.__file__, "exec"), module.__dict__)

    def get_source(self, fullname):
        return zlib.decompress(SOURCES[self.rel]).decode("utf-8")


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        base = fullname.replace(".", "/")
        for rel, package in ((base + "/__init__.py", True), (base + ".py", False)):
            if rel in SOURCES:
                return importlib.util.spec_from_file_location(
                    fullname, os.path.join(_SHOWN_AT, rel), loader=_Loader(rel),
                    submodule_search_locations=[os.path.join(_SHOWN_AT, base)] if package else None)
        return None


sys.meta_path.append(_Finder())
