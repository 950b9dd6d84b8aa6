"""The public path of the cohort model the design names: `metrics_core.retention.fit_sbg`.

The implementation lives with the other revenue metrics in `metrics_core.revenue.cohorts`.
"""

from metrics_core.revenue.cohorts import *  # noqa: F403
from metrics_core.revenue.cohorts import __all__ as __all__
