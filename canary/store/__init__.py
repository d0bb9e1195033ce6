"""The store: the engine and its migrations, the models, the register of canary domains and
numbers, the hash chain, dashboard users and the admin token.

Everything below the store is configuration and text; everything above writes through it.
"""

from __future__ import annotations

from canary.store.engine import Store, new_id, open_store, safe_url

__all__ = ["Store", "new_id", "open_store", "safe_url"]
