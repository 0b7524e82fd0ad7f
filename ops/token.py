"""Print an access token for a demo staff member from the local identity provider.

    .venv/bin/python -m ops.token gateshead-sgcp-tm
    curl -H "Authorization: Bearer $(.venv/bin/python -m ops.token gateshead-sgcp-tm)" \\
         localhost:8000/transfers

Needs `make dev` running (its `oidc` process). The token is good for an hour.
"""

from __future__ import annotations

import json
import sys
import urllib.error

from ops.local_idp import DEV_CONFIG, fetch_token


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m ops.token <demo staff id, e.g. gateshead-sgcp-tm>",
              file=sys.stderr)
        return 2
    if not DEV_CONFIG.exists():
        print(f"{DEV_CONFIG} does not exist: start the system with `make dev` first",
              file=sys.stderr)
        return 1
    config = json.loads(DEV_CONFIG.read_text())
    secret = {c["client_id"]: c["client_secret"] for c in config["clients"]}.get(argv[0])
    if secret is None:
        print(f"{argv[0]} is not a demo staff member (see the list `make dev` prints)",
              file=sys.stderr)
        return 1
    try:
        print(fetch_token(config["issuer"], argv[0], secret, config["resources"][0]["audience"]))
    except (urllib.error.URLError, OSError) as exc:
        print(f"the local identity provider at {config['issuer']} did not answer ({exc}): "
              "is `make dev` running?", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
