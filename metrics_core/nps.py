"""The public path of NPS the design names: `metrics_core.nps.nps`.

The implementation lives with the other survey scores in `metrics_core.surveys.nps`.
"""

from metrics_core.surveys.nps import *  # noqa: F403
from metrics_core.surveys.nps import __all__ as __all__
