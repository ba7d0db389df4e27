"""What an error message says about Python 2 code or a numpy API that was removed.

Course code from 2016 runs on today's Python and numpy: a print statement, ``xrange``,
``np.asscalar`` or ``int()`` of a one-element array fails with a bare SyntaxError, NameError,
AttributeError or TypeError; :func:`legacy_hint` turns such a message into the fix.  Pure
string matching on Python's and numpy's own wording, so the grader can use it on messages that
came back from an isolated worker.
"""

from __future__ import annotations

import re

__all__ = ["legacy_hint"]

_PY3 = "bpverify runs Python 3"
_PY2_NAMES = {
    "xrange": "use range", "unicode": "use str", "basestring": "use str", "long": "use int",
    "raw_input": "use input", "unichr": "use chr", "reduce": "use functools.reduce",
    "cmp": "compare with < and >", "execfile": "use exec(open(f).read())",
}
_PY2_DICT = {"iteritems": "items", "itervalues": "values", "iterkeys": "keys",
             "has_key": "the in operator"}
_NP_ALIASES = {"float": "float or np.float64", "int": "int or np.int64", "bool": "bool",
               "object": "object", "complex": "complex", "str": "str", "long": "int",
               "unicode": "str"}
_NP_REMOVED = {
    "asscalar": ("numpy 1.23", "use `a.item()`"),
    "product": ("numpy 2.0", "use `np.prod`"), "cumproduct": ("numpy 2.0", "use `np.cumprod`"),
    "alltrue": ("numpy 2.0", "use `np.all`"), "sometrue": ("numpy 2.0", "use `np.any`"),
    "NaN": ("numpy 2.0", "use `np.nan`"), "Inf": ("numpy 2.0", "use `np.inf`"),
    "Infinity": ("numpy 2.0", "use `np.inf`"), "float_": ("numpy 2.0", "use `np.float64`"),
    "rank": ("numpy 1.18", "use `np.ndim`"), "msort": ("numpy 2.0", "use `np.sort(a, axis=0)`"),
}


def legacy_hint(text: str, file: str = "the code") -> str | None:
    """What an error message says about Python 2 code or a removed numpy API, or None.

    ``text`` is an exception's "Type: message" (a SyntaxError's also "line N"); ``file`` names
    where it happened.  Pure string matching, so the grader can use it on messages that came
    back from an isolated worker.
    """
    line = re.search(r"line (\d+)", text)
    at = f" on line {line.group(1)}" if line else ""
    if "Missing parentheses in call to 'print'" in text or re.search(
            r"SyntaxError.*invalid syntax.*\bprint\b", text):
        return f"{file} is Python 2 (a print statement{at}); {_PY3}"
    if "multiple exception types must be parenthesized" in text:
        return f"{file} is Python 2 (an `except X, e:` clause{at}); {_PY3}: write `except X as e:`"
    if "Missing parentheses in call to 'exec'" in text:
        return f"{file} is Python 2 (an exec statement{at}); {_PY3}"
    if "inconsistent use of tabs and spaces" in text:
        return (f"{file} mixes tabs and spaces in its indentation{at}, which Python 2 "
                f"allowed; {_PY3}")
    m = re.search(r"name '(\w+)' is not defined", text)
    if m and m.group(1) in _PY2_NAMES:
        return (f"`{m.group(1)}` is Python 2 ({file}); {_PY3}: {_PY2_NAMES[m.group(1)]}")
    m = re.search(r"'dict' object has no attribute '(\w+)'", text)
    if m and m.group(1) in _PY2_DICT:
        return (f"`dict.{m.group(1)}` is Python 2 ({file}); {_PY3}: use "
                f"{_PY2_DICT[m.group(1)]}")
    m = re.search(r"module 'numpy' has no attribute '(\w+)'", text)
    if m and m.group(1) in _NP_ALIASES:
        return (f"`np.{m.group(1)}` was removed in numpy 1.24 ({file}): use "
                f"{_NP_ALIASES[m.group(1)]}")
    if m and m.group(1) in _NP_REMOVED:
        version, fix = _NP_REMOVED[m.group(1)]
        return f"`np.{m.group(1)}` was removed in {version} ({file}): {fix}"
    if "'float' object cannot be interpreted as an integer" in text:
        return (f"a float where Python wants an int ({file}), often a size computed with / : "
                "Python 2 divided integers to an integer, Python 3's / gives a float; use //")
    if "module 'numpy.lib' has no attribute 'pad'" in text:
        return f"`np.lib.pad` was removed in numpy 2.0 ({file}): use `np.pad`"
    if "only 0-dimensional arrays can be converted to Python scalars" in text:
        return (f"int() or float() of a one-element array ({file}) was deprecated in numpy 1.25 "
                "and is an error in numpy 2.x: take the element first, `a.item()` or `a[0]`")
    if re.search(r"unexpected keyword argument 'newshape'", text):
        return (f"`np.reshape(..., newshape=...)` was removed in numpy 2.x ({file}): use "
                "`x.reshape(shape)`")
    return None
