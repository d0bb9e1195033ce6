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


#: Faker's locales with names of their own for countries a table's phones may place it
#: in (`infer.PHONE_REGIONS`) that no profile is of.
REGION_NAME_LOCALES = {
    "AR": "es_AR", "CL": "es_CL", "CO": "es_CO", "BR": "pt_BR", "PT": "pt_PT",
    "FR": "fr_FR", "DE": "de_DE", "IT": "it_IT", "GB": "en_GB",
}  # fmt: skip


def names_profile(profile: dict[str, Any], region: str) -> dict[str, Any]:
    """The profile names outside a table's own are drawn by: `profile` itself when it
    is the table's country's or no other fits, else one whose Faker locale is the
    country's (`REGION_NAME_LOCALES`) and without the profile's lists of frequent names.
    An Argentine or Brazilian roll read with the Costa Rican profile got "Yorleny" and
    "Randall" among its new names."""
    locale = REGION_NAME_LOCALES.get(region)
    if region == profile.get("region") or locale is None:
        return profile
    return {**profile, "faker_locale": locale, "given_share": 0, "surname_share": 0}


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
