"""Synthesis: read a table's columns (schema inference) and make canary rows that fit them.

`infer_schema` reads a sample into a `Schema`; `CanaryFactory` makes rows for it: names,
addresses on the canary domains, pool numbers in the column's mask, ids that continue the
column's series, national ids with valid check characters. Entered only from planting
(canary.issue) and the demo.
"""

from __future__ import annotations

from canary.synth.canaries import CanaryFactory
from canary.synth.infer import Schema, infer_schema
from canary.synth.profiles import demo_dataset, locale_profile

__all__ = ["CanaryFactory", "Schema", "demo_dataset", "infer_schema", "locale_profile"]
