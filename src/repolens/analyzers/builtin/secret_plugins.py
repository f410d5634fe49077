"""repolens's own detect-secrets plugins, which detect-secrets loads by file path
(its way of taking plugins of its own users)."""

from __future__ import annotations

import re

from detect_secrets.plugins.base import RegexBasedDetector


class RepolensTokenDetector(RegexBasedDetector):
    """An API token of repolens itself: `rlpat_` and 40 letters and digits
    (as `repolens.security.tokens` mints them)."""

    secret_type = "repolens API Token"
    denylist = (re.compile(r"\brlpat_[A-Za-z0-9]{40}\b"),)
