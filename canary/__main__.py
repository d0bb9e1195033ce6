from __future__ import annotations

from canary.cli import main

main()
