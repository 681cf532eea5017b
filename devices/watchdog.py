"""The watchdog: a separate process that returns every device to its safe default when the
controlling process dies or stops cycling.

The controller starts it with a pipe on its standard input (:func:`spawn_watchdog`) and keeps
the only write end. It writes ``beat`` after every cycle and ``stop`` when it shuts down after
releasing the devices itself. The watchdog acts when

- the pipe reaches end-of-file without ``stop``: the controller died, however it died (SIGKILL
  included: the kernel closes its descriptors);
- no ``beat`` comes for ``--timeout`` seconds: the controller hangs (it acts once, then waits
  for the next beat).

Acting means: build the household's devices from the same ``household.yaml`` and call each
one's ``safe_default`` it can reach from here: the battery (self-consumption, no revert timer)
and the heat pump (SG-Ready 2). The charger's central system died with the controller; the
charger returns to its own default when the last profile's ``validTo`` passes. The battery
does the same on its side when its revert timeout runs out, so a battery whose watchdog died
too still leaves forced operation.

Run by hand: ``python -m devices.watchdog household.yaml --timeout 30``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

from devices.errors import DeviceError
from devices.factory import build_devices
from devices.household import load_household

logger = logging.getLogger("devices.watchdog")


def spawn_watchdog(config: Path, *, timeout: float) -> subprocess.Popen[bytes]:
    """Start the watchdog for ``config``; the caller writes ``beat``/``stop`` lines to stdin."""
    return subprocess.Popen(
        [sys.executable, "-m", "devices.watchdog", str(config), "--timeout", str(timeout)],
        stdin=subprocess.PIPE,
        close_fds=True,
        start_new_session=True,  # a Ctrl-C or a kill of the controller's group spares it
    )


async def release_devices(config: Path) -> int:
    """Safe defaults on every device the watchdog can reach; returns how many failed."""
    household = load_household(config)
    devices = build_devices(household)
    failed = 0
    for device in devices.devices:
        if device.kind == "charger":
            logger.info("%s: left to its profile's expiry (validTo)", device.name)
            continue
        try:
            await device.safe_default()
            logger.warning("%s: returned to its safe default", device.name)
        except DeviceError as exc:
            failed += 1
            logger.error("%s: could not return to its safe default: %s", device.name, exc)
    await devices.close()
    return failed


def watch(config: Path, timeout: float) -> int:
    """Wait on stdin (see the module docstring); the exit code is the number of failures."""
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin.buffer, selectors.EVENT_READ)
    last_beat = time.monotonic()
    released = False
    pending = b""
    while True:
        ready = selector.select(timeout=max(0.1, last_beat + timeout - time.monotonic()))
        if not ready:
            if not released:
                logger.error("no beat from the controller for %.0f s: releasing devices", timeout)
                asyncio.run(release_devices(config))
                released = True
            last_beat = time.monotonic()
            continue
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:
            logger.error("the controller is gone: releasing devices")
            return asyncio.run(release_devices(config))
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip() == b"stop":
                return 0
            if line.strip() == b"beat":
                last_beat = time.monotonic()
                released = False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devices.watchdog")
    parser.add_argument("config", type=Path)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="watchdog: %(message)s", stream=sys.stderr)
    try:
        load_household(args.config)  # refuse a broken file now, not when it matters
    except DeviceError as exc:
        logger.error("%s", exc)
        return 2
    return watch(args.config, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
