# Loaded by the Python that runs schemathesis (scripts/schemathesis.sh puts this folder on
# PYTHONPATH); nothing of Nurture runs here.
#
# CPython 3.11 can raise SystemError("AST constructor recursion depth mismatch") from ast.parse
# (python/cpython gh-106905). Hypothesis parses source files only to describe lambdas in its
# reports and expects a SyntaxError at worst, so the bug aborted a whole operation's check with
# a "Runtime Error" that says nothing about the API. Turned into a SyntaxError, Hypothesis falls
# back to "lambda: <unknown>" and the check runs on.
import ast
import sys

if sys.version_info[:2] == (3, 11):
    _parse = ast.parse

    def _parse_without_the_3_11_depth_bug(*args, **kwargs):
        try:
            return _parse(*args, **kwargs)
        except SystemError as error:
            if "recursion depth mismatch" not in str(error):
                raise
            raise SyntaxError(str(error)) from error

    ast.parse = _parse_without_the_3_11_depth_bug
