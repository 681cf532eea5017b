"""Forecasters of load, PV and price: seasonal naive, LightGBM, a small LSTM; their evaluation."""

from agents.forecasting.base import HORIZON, Forecaster, HourlySeries, Scores, mae, rmse, skill
from agents.forecasting.evaluation import EvalConfig, evaluate
from agents.forecasting.gbm import GBMForecaster
from agents.forecasting.lstm import LSTMForecaster
from agents.forecasting.naive import SeasonalNaive

__all__ = [
    "HORIZON",
    "EvalConfig",
    "Forecaster",
    "GBMForecaster",
    "HourlySeries",
    "LSTMForecaster",
    "Scores",
    "SeasonalNaive",
    "evaluate",
    "mae",
    "rmse",
    "skill",
]
