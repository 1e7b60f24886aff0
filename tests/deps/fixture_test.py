#!/usr/bin/env python3
"""Runs check_deps.py on a fixture tree and compares its report with the expected one.

Usage: fixture_test.py clean | <violation>
  clean:       tests/deps/clean/, a tiny tree that follows its own table;
  <violation>: clean/ with the files of violations/<violation>/tree/ laid over it.
The fixture's expected.txt holds `exit N` (the status check_deps.py must end
with) and then every line it must print, in order, leaving out its closing
summary. Any other status, a missing line or an extra one fails the test.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUMMARY = re.compile(r"check_deps: (ok: |\d+ violations? of )")


def main() -> int:
    name = sys.argv[1]
    fixture = HERE / "clean" if name == "clean" else HERE / "violations" / name
    expected = (fixture / "expected.txt").read_text(encoding="utf-8").splitlines()
    expected_status = int(expected[0].removeprefix("exit "))
    expected_lines = expected[1:]

    with tempfile.TemporaryDirectory(prefix="deps-fixture-") as work:
        root = Path(work) / "tree"
        shutil.copytree(HERE / "clean", root, ignore=shutil.ignore_patterns("expected.txt"))
        if name != "clean":
            shutil.copytree(fixture / "tree", root, dirs_exist_ok=True)
        result = subprocess.run([sys.executable, str(HERE / "check_deps.py"), str(root)],
                                capture_output=True, text=True, check=False)

    printed = result.stdout.splitlines()
    report = [line for line in printed if not SUMMARY.match(line)]
    print(result.stdout, end="")
    print(result.stderr, end="", file=sys.stderr)
    failures = []
    if result.returncode != expected_status:
        failures.append(f"check_deps.py ended with {result.returncode}, expected {expected_status}")
    for line in expected_lines:
        if line not in report:
            failures.append(f"missing: {line}")
    for line in report:
        if line not in expected_lines:
            failures.append(f"unexpected: {line}")
    if not failures and report != expected_lines:
        failures.append("the lines are all there but in another order")
    if expected_status == 0 and not any(line.startswith("check_deps: ok: ") for line in printed):
        failures.append("no 'check_deps: ok:' summary")
    for failure in failures:
        print(f"FIXTURE {name}: {failure}")
    if not failures:
        print(f"FIXTURE {name}: check_deps.py reported exactly what {fixture.relative_to(HERE)}/expected.txt lists")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
