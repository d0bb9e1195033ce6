"""Where the seed data lives, and loading it.

Seeds are data no library ships (per-locale email provider mixes, phone masks, common
name frequencies, area codes) and the synthetic demo datasets. In a source checkout
they are the repo-root ``seeds/`` folder; in a wheel they are packaged as
``canary/_seeds`` (pyproject force-includes them), so both places are looked at.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from canary.errors import ConfigError

log = logging.getLogger(__name__)

#: Locales with a profile in seeds/locales; the first is the fallback.
LOCALES = ("es_MX", "es_CR", "es_ES", "en_US")


def seeds_dir() -> Path:
    """The seeds folder: the packaged copy first, then the source checkout's."""
    pkg = Path(__file__).resolve().parents[1]  # the canary package
    for candidate in (pkg / "_seeds", pkg.parent / "seeds"):
        if (candidate / "locales").is_dir():
            return candidate
    raise ConfigError(
        "the seeds folder is missing (looked in canary/_seeds and the repository's seeds/); "
        "reinstall canary-trace"
    )


@lru_cache(maxsize=16)
def _load(locale: str) -> dict[str, Any]:
    path = seeds_dir() / "locales" / f"{locale}.json"
    with path.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def locale_profile(locale: str) -> dict[str, Any]:
    """The profile of a locale (es_MX, es_CR, es_ES, en_US); unknown ones get es_MX's."""
    if locale not in LOCALES:
        log.info("no seed profile for %s; using %s", locale, LOCALES[0])
        locale = LOCALES[0]
    return _load(locale)


def all_profiles() -> dict[str, dict[str, Any]]:
    """Every locale profile, by locale (for locale detection)."""
    return {loc: _load(loc) for loc in LOCALES}


def demo_dataset(name: str) -> Path:
    """Path of a demo dataset in seeds/demo (e.g. "candidatas.csv", "clientes.csv")."""
    path = seeds_dir() / "demo" / name
    if not path.is_file():
        raise ConfigError(f"demo dataset {name} is missing from {path.parent}; reinstall")
    return path


def demo_datasets() -> list[Path]:
    """Every demo dataset shipped in seeds/demo."""
    folder = seeds_dir() / "demo"
    return sorted(p for p in folder.iterdir() if p.suffix in {".csv", ".json", ".xlsx"})
