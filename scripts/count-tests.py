#!/usr/bin/env python3
"""Count the tests in a `make test` log and check that every suite that ran executed some.

The Makefile prints `==> suite NAME` before a suite's commands and
`==> suite NAME skipped: REASON` for a suite whose test files do not exist. Every
closing line of a test run is added to the suite started last: `test result:` from
libtest and wasm-bindgen-test-runner, the `# pass N` and `# fail N` summary of node's test
runner (`ℹ pass N` with its spec reporter), and `ok | N passed | M failed` from
`deno test`. Any other `==> ` line ends the current suite.

A suite that ran fails the check when its passed count is 0: it executed no test, for
example because a wasm-bindgen-test binary was configured for another environment and
the runner skipped it with exit status 0.

The last line printed is the summary `N passed, M failed, K skipped`, where K counts
ignored tests. The exit status is 1 if any test failed or any suite failed the check.
"""

import argparse
import re
import sys
from dataclasses import dataclass, field

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SUITE_SKIPPED = re.compile(r"^==> suite (\S+) skipped: (.*)$")
SUITE_START = re.compile(r"^==> suite (\S+)$")
OTHER_MARKER = re.compile(r"^==> ")
# libtest: `test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; ...`
# wasm-bindgen-test: `test result: ok. 3 passed; 0 failed; 1 ignored; 0 filtered out; ...`
TEST_RESULT = re.compile(
    r"test result: (?P<status>\w+)\. (?P<passed>\d+) passed; (?P<failed>\d+) failed"
    r"(?:; (?P<ignored>\d+) ignored)?"
)
# node --test, TAP reporter: `# pass 3`, `# fail 0`, `# skipped 1`, `# cancelled 0` at the
# start of the line (subtests are indented); the spec reporter prints `ℹ pass 3`.
NODE_SUMMARY = re.compile(r"^(?:# |\u2139 )(?P<key>tests|pass|fail|cancelled|skipped|todo) (?P<count>\d+)$")
# deno test: `ok | 5 passed | 0 failed (1s)` or `FAILED | 4 passed (2 steps) | 1 failed (3s)`.
DENO_RESULT = re.compile(
    r"^(?:ok|FAILED) \| (?P<passed>\d+) passed(?: \([^)]*\))? \| (?P<failed>\d+) failed"
    r"(?: \([^)]*\))?(?: \| (?P<ignored>\d+) ignored)?"
)
# Printed by wasm-bindgen-test-runner when WASM_BINDGEN_TEST_ONLY_NODE or
# WASM_BINDGEN_TEST_ONLY_WEB excludes the environment that a test binary was built for.
RUNNER_SKIPPED = re.compile(r"^\s*[Tt]his test suite is only configured to run in")

OUTSIDE_SUITES = "(outside any suite)"


@dataclass
class Suite:
    name: str
    passed: int = 0
    failed: int = 0
    ignored: int = 0
    result_lines: int = 0
    runner_skips: list[str] = field(default_factory=list)


@dataclass
class Report:
    suites: dict[str, Suite] = field(default_factory=dict)
    skipped_suites: dict[str, str] = field(default_factory=dict)

    def total(self, attribute: str) -> int:
        return sum(getattr(suite, attribute) for suite in self.suites.values())


def parse_log(lines) -> Report:
    report = Report()
    current: Suite | None = None
    for raw_line in lines:
        line = ANSI_ESCAPE.sub("", raw_line).rstrip("\r\n")
        if match := SUITE_SKIPPED.match(line):
            report.skipped_suites[match[1]] = match[2]
            current = None
            continue
        if match := SUITE_START.match(line):
            current = report.suites.setdefault(match[1], Suite(match[1]))
            continue
        if OTHER_MARKER.match(line):
            current = None
            continue
        if RUNNER_SKIPPED.match(line) and current is not None:
            current.runner_skips.append(line.strip())
            continue
        if match := NODE_SUMMARY.match(line):
            target = current or report.suites.setdefault(OUTSIDE_SUITES, Suite(OUTSIDE_SUITES))
            count = int(match["count"])
            key = match["key"]
            if key == "pass":
                target.passed += count
            elif key in ("fail", "cancelled"):
                target.failed += count
            elif key == "skipped":
                target.ignored += count
            elif key == "tests":
                target.result_lines += 1
            continue
        match = TEST_RESULT.search(line) or DENO_RESULT.match(line)
        if match:
            target = current
            if target is None:
                target = report.suites.setdefault(OUTSIDE_SUITES, Suite(OUTSIDE_SUITES))
            target.passed += int(match["passed"])
            target.failed += int(match["failed"])
            target.ignored += int(match["ignored"] or 0)
            target.result_lines += 1
    return report


def check(report: Report) -> list[str]:
    """Return one message for each suite that ran but executed no passing test."""
    problems = []
    if not any(name != OUTSIDE_SUITES for name in report.suites):
        problems.append("no suite ran: the log contains no `==> suite NAME` line")
    for suite in report.suites.values():
        if suite.name == OUTSIDE_SUITES:
            continue
        if suite.passed > 0:
            continue
        if suite.runner_skips:
            reason = f"wasm-bindgen-test-runner skipped it: {suite.runner_skips[0]}"
        elif suite.result_lines == 0:
            reason = "it printed no test summary line (`test result:`, `# pass N` or `ok | N passed`)"
        else:
            reason = f"its {suite.result_lines} `test result:` line(s) add up to 0 passed"
        problems.append(f"suite {suite.name} ran no passing test, because {reason}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", help="log of `make test`; - reads standard input")
    args = parser.parse_args()

    if args.log == "-":
        report = parse_log(sys.stdin)
    else:
        with open(args.log, encoding="utf-8", errors="replace") as log:
            report = parse_log(log)

    for suite in report.suites.values():
        print(
            f"suite {suite.name}: {suite.passed} passed, {suite.failed} failed, "
            f"{suite.ignored} ignored, in {suite.result_lines} test run(s)"
        )
    for name, reason in report.skipped_suites.items():
        print(f"suite {name}: skipped, {reason}")

    problems = check(report)
    for problem in problems:
        print(f"error: {problem}")

    passed = report.total("passed")
    failed = report.total("failed")
    ignored = report.total("ignored")
    print(f"{passed} passed, {failed} failed, {ignored} skipped")
    return 1 if failed > 0 or problems else 0


if __name__ == "__main__":
    sys.exit(main())
