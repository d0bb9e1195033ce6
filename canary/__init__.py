"""canary-trace: plant unique synthetic people into copies of a table and trace leaks.

The library under the `canary` command. Everything the CLI does is a call here::

    import canary

    store = canary.open_store("sqlite:///canary.db")
    canary.add_domain(store, "avisos.example.mx")
    config = canary.Config()
    request = canary.IssueRequest("registro.csv", ["Proveedor SA"])
    [copy] = canary.issue_copies(store, config, request)
    print(canary.identify(store, "found_dump.csv")["copies"])
    canary.record(store, [canary.Observation("sms", "+528441234567", text="Hola Ana")])
    canary.search(store, "ana").results
    canary.update_incident(store, 1, canary.IncidentChange(note="called the vendor"), by="ana")

Names load on first use, so `import canary` stays cheap for the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canary.lazy import lazy_attributes

__version__ = "0.1.0"

#: The public names and the module that holds each.
_PUBLIC = {
    "CanaryError": "canary.errors",
    "ConfigError": "canary.errors",
    "InputError": "canary.errors",
    "NotFound": "canary.errors",
    "StoreError": "canary.errors",
    "Config": "canary.config",
    "load_config": "canary.config",
    "Store": "canary.store.engine",
    "open_store": "canary.store.engine",
    "IssueRequest": "canary.issue.plant",
    "IssuedCopy": "canary.issue.plant",
    "issue_copies": "canary.issue.plant",
    "Observation": "canary.hits.record",
    "Recorded": "canary.hits.record",
    "record": "canary.hits.record",
    "identify": "canary.investigate.identify",
    "trace": "canary.investigate.trace",
    "verify_chain": "canary.store.chain",
    "add_domain": "canary.store.register",
    "add_phone": "canary.store.register",
    "IncidentChange": "canary.hits.workflow",
    "update_incident": "canary.hits.workflow",
    "mark_noise": "canary.hits.workflow",
    "restore_hit": "canary.hits.workflow",
    "SearchFilter": "canary.investigate.search",
    "search": "canary.investigate.search",
}

__all__ = [
    "CanaryError",
    "Config",
    "ConfigError",
    "IncidentChange",
    "InputError",
    "IssueRequest",
    "IssuedCopy",
    "NotFound",
    "Observation",
    "Recorded",
    "SearchFilter",
    "Store",
    "StoreError",
    "__version__",
    "add_domain",
    "add_phone",
    "identify",
    "issue_copies",
    "load_config",
    "mark_noise",
    "open_store",
    "record",
    "restore_hit",
    "search",
    "trace",
    "update_incident",
    "verify_chain",
]


__getattr__ = lazy_attributes(__name__, _PUBLIC)

if TYPE_CHECKING:
    from canary.config import Config, load_config
    from canary.errors import CanaryError, ConfigError, InputError, NotFound, StoreError
    from canary.hits.record import Observation, Recorded, record
    from canary.hits.workflow import IncidentChange, mark_noise, restore_hit, update_incident
    from canary.investigate.identify import identify
    from canary.investigate.search import SearchFilter, search
    from canary.investigate.trace import trace
    from canary.issue.plant import IssuedCopy, IssueRequest, issue_copies
    from canary.store.chain import verify_chain
    from canary.store.engine import Store, open_store
    from canary.store.register import add_domain, add_phone
