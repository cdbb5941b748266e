"""DNS shim for azdeck's simulated Azure (loaded by Python at start-up via PYTHONPATH).

The simulator serves host names under its own domain (``login.azdeck.localhost``,
``management.azdeck.localhost``, ``*.vault.azdeck.localhost``...) which no resolver on
the machine knows. Instead of editing /etc/hosts, this module patches
``socket.getaddrinfo`` so that any host under the simulator's domain resolves to the
simulator's listen address. Everything else resolves as usual.

Configuration (environment):
  AZDECK_ENV_FILE  the simulator's env file (JSON): ``listen`` gives the IP, ``hosts[0]``
                   the domain. Without it this module does nothing.
"""
import json
import os
import socket


def _install():
    env_file = os.environ.get("AZDECK_ENV_FILE")
    if not env_file:
        return
    try:
        with open(env_file, encoding="utf-8") as f:
            env = json.load(f)
    except (OSError, ValueError):
        return
    ip = env["listen"].rsplit(":", 1)[0].strip("[]")
    hosts = env.get("hosts") or []
    domain = (hosts[0] if hosts else "azdeck.localhost").lstrip("*.").lower().rstrip(".")
    suffix = "." + domain

    original = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode("ascii", "replace") if isinstance(host, (bytes, bytearray)) else host
        if isinstance(name, str):
            n = name.lower().rstrip(".")
            if n == domain or n.endswith(suffix):
                return original(ip, *args, **kwargs)
        return original(host, *args, **kwargs)

    getaddrinfo.__wrapped__ = original
    socket.getaddrinfo = getaddrinfo


_install()
