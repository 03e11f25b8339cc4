"""Entry point of the service image (the repository's one ``Dockerfile``).

``CRM_SERVICE`` (the build argument SERVICE) names the service; ``CRM_SERVICE_PORT`` (the
build argument PORT) its HTTP port. Inside a container the server must listen on every
interface, so ``CRM_<SERVICE>_HTTP_HOST`` defaults to ``0.0.0.0`` here (the settings'
own default, ``127.0.0.1``, is right for a developer's machine); an explicit setting wins.

    python -m crm_runtime.container run     # the image's CMD: python -m crm_<service>
    python -m crm_runtime.container probe   # the image's HEALTHCHECK: GET /healthz
"""

from __future__ import annotations

import os
import re
import runpy
import sys
import urllib.request
from collections.abc import Mapping, MutableMapping


def service_name(env: Mapping[str, str]) -> str:
    name = env.get("CRM_SERVICE", "")
    if not re.fullmatch(r"[a-z]+", name):
        raise SystemExit(f"CRM_SERVICE must name a service (lower-case letters), not {name!r}")
    return name


def container_defaults(env: MutableMapping[str, str]) -> tuple[str, int]:
    """Fill the container's defaults in ``env``; return (service, HTTP port)."""
    name = service_name(env)
    prefix = f"CRM_{name.upper()}_"
    env.setdefault(prefix + "HTTP_HOST", "0.0.0.0")  # noqa: S104 - a container's interface
    if "CRM_SERVICE_PORT" in env:
        env.setdefault(prefix + "HTTP_PORT", env["CRM_SERVICE_PORT"])
    port = env.get(prefix + "HTTP_PORT", "")
    if not port.isdigit():
        raise SystemExit(f"{prefix}HTTP_PORT (or CRM_SERVICE_PORT) must be a port, not {port!r}")
    return name, int(port)


def main(argv: list[str]) -> int:
    if argv not in (["run"], ["probe"]):
        print("usage: python -m crm_runtime.container run|probe", file=sys.stderr)
        return 2
    name, port = container_defaults(os.environ)
    if argv == ["probe"]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as answer:
            return 0 if answer.status == 200 else 1
    runpy.run_module(f"crm_{name}", run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
