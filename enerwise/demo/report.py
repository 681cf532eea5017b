"""``report.json`` and the PNG plots of a demo run (matplotlib, Agg backend: no display).

- ``prices.png``: clearing price per slot against the retail and feed-in tariffs;
- ``volumes.png``: traded Wh per slot against metered import and export;
- ``self_sufficiency.png``: per household, the share of its consumption not bought from
  the grid (PV self-consumption and P2P purchases).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from enerwise.demo.config import DemoError


def write_report(report: dict[str, Any], directory: Path) -> list[Path]:
    """Write ``report.json`` and the plots into ``directory``; returns the files written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoError(f"cannot create the report folder {directory}: {exc.strerror}") from None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = [directory / "report.json"]
    files[0].write_text(json.dumps(report, indent=2, default=str) + "\n")
    slots = report["per_slot"]
    hours = [k * 0.25 for k in range(len(slots))]

    def euro(value: int | None) -> float:
        return float("nan") if value is None else value / 1e6

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.step(hours, [euro(s["retail"]) for s in slots], where="post", label="retail tariff")
    ax.step(hours, [euro(s["feed_in"]) for s in slots], where="post", label="feed-in tariff")
    ax.plot(hours, [euro(s["clearing_price"]) for s in slots], "o", ms=3, label="clearing price")
    ax.set(xlabel="hour of the day", ylabel="EUR/kWh", title="Community market prices")
    ax.legend()
    files.append(_save(fig, directory / "prices.png", plt))

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.bar(hours, [s["volume_wh"] / 1000 for s in slots], width=0.22, label="traded P2P")
    ax.plot(hours, [s["metered_import_wh"] / 1000 for s in slots], label="metered import")
    ax.plot(hours, [s["metered_export_wh"] / 1000 for s in slots], label="metered export")
    ax.set(xlabel="hour of the day", ylabel="kWh per slot", title="Energy per 15-minute slot")
    ax.legend()
    files.append(_save(fig, directory / "volumes.png", plt))

    rows = report["per_household"]
    fig, ax = plt.subplots(figsize=(9, 4))
    colors = ["tab:orange" if r["role"] == "agent" else "tab:blue" for r in rows]
    ax.bar([r["name"] for r in rows], [100 * r["self_sufficiency"] for r in rows], color=colors)
    ax.set(ylabel="% of consumption", title="Self-sufficiency (orange: agent households)")
    ax.tick_params(axis="x", rotation=90)
    files.append(_save(fig, directory / "self_sufficiency.png", plt))
    return files


def _save(fig: Any, path: Path, plt: Any) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
