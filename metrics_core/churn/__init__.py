"""Churn risk: the model, its training and calibration on the history, and its backtest.

`ChurnModel` is the public model the design names (`metrics_core.churn.ChurnModel`).
"""

from metrics_core.churn.model import ChurnModel

__all__ = ["ChurnModel"]
