"""Known vulnerabilities in the installed distributions, from PyPI's per-project JSON.

    python .ci/audit_latest.py [--index INDEX_JSON_API]

``--index`` defaults to the JSON API of the index pip is configured with
(``.ci/pip_index.py``: ``$PIP_INDEX_URL``, ``pip config``, pip's default).

CI's fallback when pip-audit cannot run (a PyPI mirror without the per-version JSON API,
no route to OSV). ``/pypi/NAME/json`` lists the vulnerabilities of the project's latest
release (PyPI's own data, the same pip-audit's "pypi" service reads). So a distribution
installed at its latest release is audited exactly; one that is not (pinned by a
constraints file, say) cannot be audited this way and is listed as such.

Exit 1 if an audited distribution has a known vulnerability or nothing could be audited;
0 otherwise. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

SKIP = {"newswatch"}  # the project itself (editable)


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def installed() -> dict[str, str]:
    """{normalised name: version} of the environment's distributions."""
    return {_normalise(d.metadata["Name"]): d.version for d in distributions()
            if d.metadata["Name"] and _normalise(d.metadata["Name"]) not in SKIP}


def project(index: str, name: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{index}/{name}/json", timeout=30) as answer:
            return json.load(answer)
    except (urllib.error.URLError, TimeoutError, ValueError):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=None,
                        help="JSON API base (<index>/pypi); default: from pip's config")
    args = parser.parse_args()
    if args.index is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from pip_index import configured_index, json_api

        args.index = json_api(configured_index())
        if args.index is None:
            print(f"audit: the configured index {configured_index()} has no JSON API")
            return 1
    dists = installed()
    with ThreadPoolExecutor(8) as pool:
        data = dict(zip(dists, pool.map(lambda n: project(args.index, n), dists), strict=True))
    audited, behind, unknown, found = [], [], [], []
    for name, version in sorted(dists.items()):
        info = data[name]
        if info is None:
            unknown.append(name)
        elif info["info"]["version"] != version:
            behind.append(f"{name} {version} (latest {info['info']['version']})")
        else:
            audited.append(name)
            for vuln in info.get("vulnerabilities") or []:
                if not vuln.get("withdrawn"):
                    found.append(f"{name} {version}: {vuln.get('id')} "
                                 f"(fixed in {', '.join(vuln.get('fixed_in') or []) or '-'})")
    print(f"audit: {len(audited)} of {len(dists)} distributions audited (at their latest "
          f"release), {len(found)} known vulnerabilities")
    if behind:
        print(f"not audited, not at the latest release ({len(behind)}): {'; '.join(behind)}")
    if unknown:
        print(f"not audited, not found on the index ({len(unknown)}): {', '.join(unknown)}")
    for line in found:
        print("VULNERABLE:", line)
    return 1 if found or not audited else 0


if __name__ == "__main__":
    sys.exit(main())
