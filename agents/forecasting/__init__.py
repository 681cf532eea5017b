"""Forecasters of load, PV and price: seasonal naive (:mod:`~agents.forecasting.naive`),
LightGBM (:mod:`~agents.forecasting.gbm`), a small LSTM (:mod:`~agents.forecasting.lstm`),
XGBoost and PatchTST; their evaluation (:mod:`~agents.forecasting.evaluation`).

Nothing is imported here: the live agent's forecasts must not load torch (the LSTM's and the
evaluation's) on a gateway.
"""
