"""A gateway installs no training stack: the agent's run path imports no torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

RUN_PATH = """
import sys
import numpy as np
import enerwise.cli.agent
import gateway.service
from agents.community import BatterySpec
from agents.forecasting.base import HORIZON
from agents.live.forecasts import SlotForecast
from agents.live.policies import MarketSnapshot, SlotContext, load_policy
from market.clearing import MarketParams

forecast = SlotForecast(
    load_kw=np.full(HORIZON, 1.0), pv_kw=np.full(HORIZON, 2.0),
    retail=np.full(HORIZON, 0.3), feed_in=np.full(HORIZON, 0.08),
)
context = SlotContext(
    slot=10, slot_start=1_800_000_000, soc_kwh=3.0, battery=BatterySpec(6.0, 3.0),
    forecast=forecast, market=MarketSnapshot(),
    params_micro=MarketParams(price_floor=0, tick_size=100, max_tick=4000, fee_bps=0),
)
for spec in (
    "agents/pretrained/ppo.onnx",
    "agents/pretrained/imitation.onnx",
    "agents/pretrained/book-model-seed0.onnx",
    "agents/pretrained/book-model-sealed-seed0.onnx",
    "mpc_book",
):
    load_policy(spec).decide(context)
training = ("torch", "stable_baselines3", "lightgbm", "sklearn", "xgboost", "pvlib", "onnxmltools")
heavy = sorted(m for m in training if m in sys.modules)
print(",".join(heavy) or "none")
"""


def test_the_agents_run_path_imports_no_torch() -> None:
    out = subprocess.run(
        [sys.executable, "-c", RUN_PATH],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "none"
