"""Test helper: edit an export's saved_model.json and keep its checksum valid, so a test
reaches the loader's checks behind the checksum."""

from __future__ import annotations

import json
import os

from estcore.export import format as fmt
from estcore.export.format import json_checksum


def edit_json(path: str, fn) -> None:
    """Apply ``fn(data)`` to the export's saved_model.json, re-checksummed."""
    f = os.path.join(path, fmt.GRAPH_FILE)
    with open(f) as fh:
        data = json.load(fh)
    fn(data)
    data["checksum"] = json_checksum(data)
    with open(f, "w") as fh:
        json.dump(data, fh)
