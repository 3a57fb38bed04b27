"""claimaudit: audit health claims on clinic web pages against cited consensus findings.

The package is a library: one module per stage (crawl, archive, extract, claims, classify,
check, score, store, report), typed records between them (``records``) and one settings object
(``settings``). Prefect orchestration lives in the top-level ``flows`` module, not here.
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
