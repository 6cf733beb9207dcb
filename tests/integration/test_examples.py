"""The manifests in examples/: each template example has the content that
`karapace new --template <name>` writes."""
import tomllib
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TEMPLATES = ["minimal", "dev", "gui-dev", "rust-dev", "ubuntu-dev"]


def without_empty_tables(value):
    if isinstance(value, dict):
        return {k: without_empty_tables(v) for k, v in value.items() if v != {}}
    return value


DEFAULTS = {"system": {"packages": []}, "gui": {"apps": []},
            "hardware": {"gpu": False, "audio": False},
            "runtime": {"network_isolation": False}}


def with_defaults(manifest):
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in manifest.items()}
    for table, keys in DEFAULTS.items():
        merged.setdefault(table, {})
        for key, default in keys.items():
            merged[table].setdefault(key, default)
    return without_empty_tables(merged)


@pytest.mark.parametrize("name", TEMPLATES)
def test_example_matches_template(kp, name):
    kp.ok("new", "demo", "--template", name)
    written = tomllib.loads((kp.project / "karapace.toml").read_text())
    example = tomllib.loads((EXAMPLES / f"{name}.toml").read_text())
    assert with_defaults(written) == with_defaults(example)


def test_every_example_parses(kp):
    for path in sorted(EXAMPLES.glob("*.toml")):
        data = tomllib.loads(path.read_text())
        assert data["manifest_version"] == 1, path
        assert data["base"]["image"], path
