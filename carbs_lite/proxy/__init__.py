"""Proxy-task check: does a cheap run (fewer days or steps, less data) rank configs the way
the full run does?

Following the proxy-task design of Vertex AI NAS: on 10-20 candidate configs spread over the
range of scores, compare each proxy fidelity's ranking with the full fidelity's (Kendall's tau
and Spearman's rho with bootstrap CIs, and the same for costs when there is a cost cap),
measure run-to-run noise against the spread between configs, and recommend the cheapest proxy
whose tau reaches a threshold (0.65 by default). Generic: the problem is any function with a
fidelity knob (``FidelityProblem``); task presets bring their own (``carbs-lite proxy``).
"""

from carbs_lite.proxy.check import FidelityCheck, ProxyCheck, Selection, check_proxy
from carbs_lite.proxy.problem import FidelityProblem, ProxyRun, ProxySettings
from carbs_lite.proxy.stats import RankCorrelation

__all__ = [
    "FidelityCheck",
    "FidelityProblem",
    "ProxyCheck",
    "ProxyRun",
    "ProxySettings",
    "RankCorrelation",
    "Selection",
    "check_proxy",
]
