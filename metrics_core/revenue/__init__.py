"""Revenue: ARR from contracts, retention rates, renewal cohorts, renewals ahead, CS cost.

The retention rates the design names as `metrics_core.revenue` (NRR, GRR, logo
retention, revenue churn, expansion and contraction) are this package's public names.
"""

from metrics_core.revenue.rates import *  # noqa: F403
from metrics_core.revenue.rates import __all__ as __all__
