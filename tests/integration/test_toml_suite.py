# SPDX-License-Identifier: MIT
"""Run the toml-test conformance suite (TOML 1.0.0 file list) against toml-decode.

Each valid/*.toml must decode to tagged JSON equal to its .json twin. The
comparison follows the toml-test harness: same structure and types, strings
and booleans equal, integers and floats equal as numbers (NaN equals NaN).
Date-times are compared after normalization, offset date-times as instants.
Each invalid/*.toml must be rejected with exit status 1 and a located message.

The decoder is looked up in $KARAPACE_BUILD_DIR/tools (default: <repo>/build),
the suite in <repo>/../shared/toml-test.
"""
import json
import math
import os
import re
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SUITE_DIR = REPO_ROOT.parent / "shared" / "toml-test" / "tests"
FILE_LIST = SUITE_DIR / "files-toml-1.0.0"
BUILD_DIR = Path(os.environ.get("KARAPACE_BUILD_DIR", REPO_ROOT / "build"))
DECODER = BUILD_DIR / "tools" / "toml-decode"

RESULTS = {"valid": [0, 0], "invalid": [0, 0]}  # [passed, run] for each kind of case


def list_cases(kind):
    if not FILE_LIST.exists():
        return []
    names = FILE_LIST.read_text(encoding="utf-8").split()
    return sorted(n for n in names if n.startswith(kind + "/") and n.endswith(".toml"))


VALID_CASES = list_cases("valid")
INVALID_CASES = list_cases("invalid")


@pytest.fixture(scope="module", autouse=True)
def suite_summary(request):
    if not FILE_LIST.exists():
        pytest.skip(f"toml-test suite not found at {SUITE_DIR}")
    if not DECODER.exists():
        pytest.fail(f"{DECODER} not found: build the project or set KARAPACE_BUILD_DIR")
    yield
    line = (f"toml-test 1.0.0: valid {RESULTS['valid'][0]}/{RESULTS['valid'][1]} decoded correctly, "
            f"invalid {RESULTS['invalid'][0]}/{RESULTS['invalid'][1]} rejected")
    # Output of fixtures is captured; write the summary past the capture.
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture and reporter:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            reporter.write_line(line)
    else:
        print(line)


def decode(path):
    with open(path, "rb") as f:
        return subprocess.run([str(DECODER)], stdin=f, capture_output=True, timeout=30)


DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
TIME_RE = re.compile(r"^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$")
DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})?$")


def fraction_key(digits):
    """Fractional seconds as a comparable string: trailing zeros do not count."""
    return (digits or "").rstrip("0")


def normalize_datetime(kind, text):
    """Map a date-time text to a value that is equal for equal date-times."""
    if kind == "date-local":
        m = DATE_RE.match(text)
        return ("date", tuple(int(g) for g in m.groups())) if m else ("bad", text)
    if kind == "time-local":
        m = TIME_RE.match(text)
        if not m:
            return ("bad", text)
        return ("time", tuple(int(g) for g in m.groups()[:3]), fraction_key(m.group(4)))

    m = DATETIME_RE.match(text)
    if not m:
        return ("bad", text)
    fields = tuple(int(g) for g in m.groups()[:6])
    frac = fraction_key(m.group(7))
    offset = m.group(8)
    if kind == "datetime-local" or offset is None:
        return ("local", fields, frac, offset is None)

    minutes = 0
    if offset.upper() != "Z":
        sign = -1 if offset[0] == "-" else 1
        minutes = sign * (int(offset[1:3]) * 60 + int(offset[4:6]))
    # Leap second 60 does not fit datetime; compare such values field by field.
    try:
        moment = datetime(*fields, tzinfo=timezone(timedelta(minutes=minutes)))
        return ("instant", moment.astimezone(timezone.utc).replace(tzinfo=None), frac)
    except (ValueError, OverflowError):
        return ("fields", fields, frac, minutes)


def float_value(text):
    lowered = text.lower()
    if lowered in ("nan", "+nan", "-nan"):
        return math.nan
    if lowered in ("inf", "+inf"):
        return math.inf
    if lowered == "-inf":
        return -math.inf
    return float(text.replace("_", ""))


def scalar_equal(expected, actual):
    kind = expected["type"]
    want, got = expected["value"], actual["value"]
    if kind == "float":
        a, b = float_value(want), float_value(got)
        return (math.isnan(a) and math.isnan(b)) or a == b
    if kind == "integer":
        return int(want) == int(got)
    if kind in ("datetime", "datetime-local", "date-local", "time-local"):
        return normalize_datetime(kind, want) == normalize_datetime(kind, got)
    return want == got


def is_tagged(value):
    return isinstance(value, dict) and set(value) == {"type", "value"} and isinstance(value["type"], str)


def compare(expected, actual, where="$"):
    """Return None when equal, else a description of the first difference."""
    if is_tagged(expected):
        if not is_tagged(actual):
            return f"{where}: expected a {expected['type']} value, got {json.dumps(actual)[:80]}"
        if expected["type"] != actual["type"]:
            return f"{where}: expected type {expected['type']}, got {actual['type']}"
        if not scalar_equal(expected, actual):
            return f"{where}: expected {expected['value']!r}, got {actual['value']!r}"
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or is_tagged(actual):
            return f"{where}: expected a table, got {json.dumps(actual)[:80]}"
        if set(expected) != set(actual):
            return f"{where}: keys differ: expected {sorted(expected)}, got {sorted(actual)}"
        for key in expected:
            diff = compare(expected[key], actual[key], f"{where}.{key}")
            if diff:
                return diff
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{where}: expected an array, got {json.dumps(actual)[:80]}"
        if len(expected) != len(actual):
            return f"{where}: expected {len(expected)} elements, got {len(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            diff = compare(e, a, f"{where}[{i}]")
            if diff:
                return diff
        return None
    return f"{where}: unexpected JSON in the suite: {expected!r}"


def test_compare_detects_differences():
    """The comparison itself must tell values apart, or every case would pass."""
    assert compare({"a": {"type": "integer", "value": "1"}}, {"a": {"type": "integer", "value": "2"}})
    assert compare({"a": {"type": "integer", "value": "1"}}, {"a": {"type": "float", "value": "1"}})
    assert compare({"a": {"type": "float", "value": "nan"}}, {"a": {"type": "float", "value": "inf"}})
    assert compare({"a": {"type": "float", "value": "inf"}}, {"a": {"type": "float", "value": "-inf"}})
    assert compare({"a": []}, {"a": [{"type": "bool", "value": "true"}]})
    assert compare({"a": {}}, {"b": {}})
    assert compare({"d": {"type": "datetime", "value": "1987-07-05T17:45:56Z"}},
                   {"d": {"type": "datetime", "value": "1987-07-05T17:45:57Z"}})
    assert compare({"d": {"type": "datetime", "value": "1987-07-05T17:45:56.6Z"}},
                   {"d": {"type": "datetime", "value": "1987-07-05T17:45:56.600Z"}}) is None
    assert compare({"d": {"type": "datetime", "value": "1987-07-05T17:45:56+08:00"}},
                   {"d": {"type": "datetime", "value": "1987-07-05T09:45:56Z"}}) is None
    assert compare({"f": {"type": "float", "value": "nan"}}, {"f": {"type": "float", "value": "-nan"}}) is None


@pytest.mark.parametrize("name", VALID_CASES)
def test_valid(name):
    RESULTS["valid"][1] += 1
    toml_path = SUITE_DIR / name
    expected = json.loads((SUITE_DIR / (name[:-len(".toml")] + ".json")).read_text(encoding="utf-8"))

    result = decode(toml_path)
    assert result.returncode == 0, f"{name} rejected: {result.stderr.decode(errors='replace')}"
    actual = json.loads(result.stdout)

    diff = compare(expected, actual)
    assert diff is None, f"{name}: {diff}"
    RESULTS["valid"][0] += 1


@pytest.mark.parametrize("name", INVALID_CASES)
def test_invalid(name):
    RESULTS["invalid"][1] += 1

    result = decode(SUITE_DIR / name)
    assert result.returncode != 0, f"{name} accepted: {result.stdout.decode(errors='replace')[:300]}"
    assert result.returncode == 1, f"{name}: exit status {result.returncode}, expected 1"
    assert re.search(rb"line \d+, column \d+: ", result.stderr), result.stderr
    RESULTS["invalid"][0] += 1
