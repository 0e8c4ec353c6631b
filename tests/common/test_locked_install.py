"""The install path took its versions from the lock: every pin in constraints.txt (exported from
uv.lock) that applies to this interpreter is the version installed in the environment."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _pins() -> list[Requirement]:
    pins = []
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            pins.append(Requirement(text))
    return pins


def test_constraints_pin_every_locked_package() -> None:
    pins = _pins()
    assert len(pins) > 50, "constraints.txt looks truncated"
    for pin in pins:
        (spec,) = pin.specifier
        assert spec.operator == "==", f"{pin} is not an exact pin"


def test_installed_versions_are_the_locked_ones() -> None:
    wrong = []
    for pin in _pins():
        if pin.marker is not None and not pin.marker.evaluate():
            continue
        try:
            installed = metadata.version(pin.name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{pin.name}: locked but not installed")
            continue
        if installed not in pin.specifier:
            wrong.append(f"{pin.name}: installed {installed}, locked {pin}")
    hint = "the environment differs from the lock (run `make lock`, then `make install`):\n"
    assert not wrong, hint + "\n".join(wrong)
