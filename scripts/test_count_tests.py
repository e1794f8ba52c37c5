#!/usr/bin/env python3
"""Checks scripts/count-tests.py against sample logs of each test runner it reads.

Run with `python3 scripts/test_count_tests.py`; `make test-js` runs it first.
"""

import importlib.util
import pathlib
import unittest

SCRIPT = pathlib.Path(__file__).with_name("count-tests.py")
spec = importlib.util.spec_from_file_location("count_tests", SCRIPT)
count_tests = importlib.util.module_from_spec(spec)
spec.loader.exec_module(count_tests)

NODE_TAP_LOG = """\
==> suite js
TAP version 13
# Subtest: retry
    # Subtest: inner
    ok 1 - inner
    # pass 1
ok 1 - retry
not ok 2 - abort
1..2
# tests 3
# suites 0
# pass 2
# fail 1
# cancelled 0
# skipped 1
# todo 0
# duration_ms 12.5
"""

NODE_SPEC_LOG = """\
==> suite www
\u2714 page shows timeline (812ms)
\u2139 tests 1
\u2139 pass 1
\u2139 fail 0
"""

DENO_LOG = """\
==> suite deno
running 4 tests from ./tests/deno/client.test.js
ok | 4 passed | 0 failed (1s)
==> suite deno-steps
FAILED | 2 passed (3 steps) | 1 failed (120ms)
"""

EMPTY_NODE_LOG = """\
==> suite workers
# tests 0
# pass 0
# fail 0
"""


class CountTests(unittest.TestCase):
    def parse(self, text):
        return count_tests.parse_log(text.splitlines(keepends=True))

    def test_node_tap_summary(self):
        suite = self.parse(NODE_TAP_LOG).suites["js"]
        # The indented `# pass 1` of the subtest is not counted twice.
        self.assertEqual(suite.passed, 2)
        self.assertEqual(suite.failed, 1)
        self.assertEqual(suite.ignored, 1)

    def test_node_spec_summary(self):
        suite = self.parse(NODE_SPEC_LOG).suites["www"]
        self.assertEqual((suite.passed, suite.failed), (1, 0))

    def test_deno_summary(self):
        report = self.parse(DENO_LOG)
        self.assertEqual(report.suites["deno"].passed, 4)
        self.assertEqual(report.suites["deno-steps"].passed, 2)
        self.assertEqual(report.suites["deno-steps"].failed, 1)

    def test_node_suite_with_no_test_fails_check(self):
        problems = count_tests.check(self.parse(EMPTY_NODE_LOG))
        self.assertEqual(len(problems), 1)
        self.assertIn("suite workers ran no passing test", problems[0])


if __name__ == "__main__":
    unittest.main()
