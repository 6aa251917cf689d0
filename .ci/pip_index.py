"""The package index pip is configured to use, and its JSON API, from pip's own settings.

    python .ci/pip_index.py            # prints the JSON API base (".../pypi"), or nothing
    python .ci/pip_index.py --index    # prints the index (simple API) URL pip uses

No address is written here: the index is, in order, ``$PIP_INDEX_URL``, then
``pip config`` (``install.index-url``, then ``global.index-url``: the user's, site's and
environment's configuration files), then pip's own default index. The JSON API of a
PEP 503 index ``<base>/simple`` is ``<base>/pypi`` (``/pypi/NAME/json``,
``/pypi/NAME/VERSION/json``), as PyPI and its mirrors (devpi, bandersnatch with JSON,
Artifactory's PyPI remotes) serve it. An index whose URL does not end in ``/simple``
(a ``file://`` directory, a flat wheel host) has no known JSON API: nothing is printed
and CI skips the online audit with a message.
Standard library and pip only.
"""

from __future__ import annotations

import os
import subprocess
import sys


def configured_index() -> str:
    """The index URL pip installs from."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"].split()[0]
    for key in ("install.index-url", "global.index-url"):
        answer = subprocess.run([sys.executable, "-m", "pip", "config", "get", key],
                                capture_output=True, text=True)
        if answer.returncode == 0 and answer.stdout.strip():
            return answer.stdout.strip().split()[0]
    from pip._internal.models.index import PyPI  # pip's default index

    return PyPI.simple_url


def json_api(index: str) -> str | None:
    """``<base>/pypi`` for a ``<base>/simple`` index over HTTP(S); None otherwise."""
    url = index.rstrip("/")
    if not url.startswith(("http://", "https://")) or not url.endswith("/simple"):
        return None
    return url[: -len("/simple")] + "/pypi"


def default_json_api() -> str | None:
    """The JSON API of pip's built-in default index (the one pip-audit's "pypi" service
    queries)."""
    from pip._internal.models.index import PyPI

    return json_api(PyPI.simple_url)


if __name__ == "__main__":
    index = configured_index()
    if "--index" in sys.argv[1:]:
        print(index)
    elif "--default" in sys.argv[1:]:
        print(default_json_api() or "")
    else:
        print(json_api(index) or "")
