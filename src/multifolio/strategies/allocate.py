"""``allocate``: select a universe, weigh it with an allocation model under constraints, rebalance by rules.

Each decision: the universe is every tradable asset, or the ``top_n`` by a score (a MarketData field, or
``lookback``-bar momentum); the model (:mod:`multifolio.strategies.allocation`) weighs it on the trailing
``lookback`` returns of the closes (causal: rows up to the decision bar); ``max_positions`` /
``max_correlation`` narrow the universe and the model is refitted on the survivors; the weight
constraints and the cash buffer shape the result; dust trades below ``min_trade`` are skipped.

The strategy is asked every bar and decides itself: on its calendar / every-N ``schedule``, on a drift
beyond ``drift``, and at the first bar with ``min_history`` returns (it invests then, not at the first
schedule boundary).

What the analytics need is recorded through the context, never read from the strategy: each rebalance
logs a ``rebalance`` event whose details hold ``model``, ``symbols`` (the universe the model saw),
``weights`` (the target on those symbols, after constraints), ``cov`` (per-bar covariance the model
used, or the chosen estimator's for models without one) and ``mean`` (per-bar mean returns); the
snapshots get ``n_allocated`` (assets with a target weight) and ``ex_ante_vol`` (per-bar volatility of
the target).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from multifolio.engine.strategy import Strategy, decision_mask
from multifolio.strategies._params import positive_int
from multifolio.strategies._params import schedule as check_schedule
from multifolio.strategies.allocation import Constraints, RebalanceRule, make_covariance, make_model
from multifolio.strategies.top_n import momentum, top_k_weights


class Allocate(Strategy):
    """Weigh a universe with an allocation model (risk parity, min variance, HRP...) under constraints,
    rebalanced on a schedule and/or a drift trigger.

    >>> s = Allocate(model="risk_parity", lookback=60, schedule="weekly", max_weight=0.3)
    >>> s.model.name, s.constraints.max_weight, s.rule.schedule
    ('risk_parity', 0.3, 'weekly')
    """

    name: ClassVar[str] = "allocate"
    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = {
        "model": (str, "risk_parity", "allocation model (multifolio models), or skfolio:<Estimator>"),
        "model_params": (dict, None, "the model's own parameters (e.g. budgets)"),
        "lookback": (int, 252, "returns window of the model, in bars"),
        "min_history": (int, None, "returns needed before investing (default: lookback)"),
        "schedule": (str, "monthly", "rebalancing: every_bar | daily | weekly | monthly | N | none"),
        "drift": (float, None, "also rebalance when a weight drifts more than this from target"),
        "min_trade": (float, 0.0, "skip weight changes smaller than this"),
        "covariance": (str, "sample", "sample | ledoit_wolf | ewma"),
        "half_life": (float, 63.0, "EWMA half-life in bars"),
        "top_n": (int, None, "universe: the top N by score (default: all tradable)"),
        "score": (str, None, "field ranking the universe (default: lookback momentum)"),
        "max_weight": (float, None, "cap per asset (excess redistributed)"),
        "min_weight": (float, None, "drop assets below this weight"),
        "max_positions": (int, None, "at most this many assets"),
        "max_correlation": (float, None, "leave out an asset this correlated with a higher-ranked one"),
        "cash_buffer": (float, 0.0, "fraction kept in cash"),
        "long_only": (bool, True, "long-only, or long/short within gross/net"),
        "gross": (float, None, "long/short: limit on sum |w|"),
        "net": (float, None, "long/short: limit on |sum w|"),
    }

    def __init__(self, model: str | dict[str, Any] = "risk_parity",
                 model_params: dict[str, Any] | None = None, lookback: int = 252,
                 min_history: int | None = None, schedule: str | int | None = "monthly",
                 drift: float | None = None, min_trade: float = 0.0, covariance: str = "sample",
                 half_life: float = 63.0, top_n: int | None = None, score: str | None = None,
                 max_weight: float | None = None, min_weight: float | None = None,
                 max_positions: int | None = None, max_correlation: float | None = None,
                 cash_buffer: float = 0.0, long_only: bool = True, gross: float | None = None,
                 net: float | None = None) -> None:
        self.lookback = positive_int("lookback", lookback)
        self.min_history = self.lookback if min_history is None else positive_int("min_history", min_history)
        if self.min_history > self.lookback:
            raise ValueError(f"min_history ({self.min_history}) cannot exceed lookback ({self.lookback})")
        if model_params is not None and not isinstance(model_params, dict):
            raise ValueError(f"model_params must be a mapping, got {model_params!r}")
        self.model_params = dict(model_params or {})
        mp = dict(self.model_params)
        self.covariance = covariance
        self.half_life = half_life
        self._cov = make_covariance(covariance, half_life)
        if isinstance(model, str) and not model.startswith("skfolio:"):
            from multifolio.strategies.allocation import MODELS
            cls = MODELS.get(model)
            if cls is not None and "covariance" in cls.PARAMS:
                mp.setdefault("covariance", covariance)
                mp.setdefault("half_life", half_life)
        self.model = make_model(model, **mp)
        # the simulator asks every bar (``self.schedule``); the rebalancing schedule is the rule's
        self.rebalance = None if schedule in (None, "none") else check_schedule(schedule)
        self.drift = drift
        self.min_trade = min_trade
        self.rule = RebalanceRule(schedule=self.rebalance, drift=drift, min_trade=min_trade)
        self.top_n = None if top_n is None else positive_int("top_n", top_n)
        self.score = score
        self.max_weight, self.min_weight = max_weight, min_weight
        self.max_positions, self.max_correlation = max_positions, max_correlation
        self.cash_buffer, self.long_only, self.gross, self.net = cash_buffer, long_only, gross, net
        self.constraints = Constraints(max_weight=max_weight, min_weight=min_weight,
                                       max_positions=max_positions, max_correlation=max_correlation,
                                       cash_buffer=cash_buffer,
                                       long_only=bool(long_only), gross=gross, net=net)
        self.schedule = "every_bar"
        self._due: np.ndarray | None = None
        self._target: np.ndarray | None = None
        self._scores: np.ndarray | None = None

    def describe(self) -> Any:
        info = super().describe()
        params = dict(info.params)
        params["model"] = self.model.describe()
        params["schedule"] = self.rebalance if self.rebalance is not None else "none"
        params.pop("model_params", None)
        return type(info)(info.name, params)

    def init(self, ctx: Any) -> None:
        self._due = None
        self._target = None
        if self.top_n is not None:
            if self.score is not None:
                self._scores = ctx.data.field(self.score)
            else:
                self._scores = momentum(ctx.data.close, self.lookback)   # row t: closes up to t

    def _universe(self, ctx: Any) -> np.ndarray:
        mask = np.asarray(ctx.tradable, dtype=bool).copy()
        if self.top_n is not None and self._scores is not None:
            mask = top_k_weights(np.where(mask, self._scores[ctx.bar], np.nan), self.top_n) > 0
        return mask

    def current_weights(self, ctx: Any) -> np.ndarray:
        """Held value per asset as a fraction of equity (0 where flat)."""
        eq = ctx.equity
        if not eq > 0:
            return np.zeros(ctx.n_assets)
        return np.nan_to_num(ctx.positions * ctx.price) / eq

    def on_bar(self, ctx: Any) -> None:
        t = ctx.bar
        if self._due is None:      # the run's first decision bar is its start bar
            self._due = (decision_mask(ctx.data.index, self.rebalance, t) if self.rebalance is not None
                         else np.zeros(ctx.data.n_bars, dtype=bool))
        if t < self.min_history:   # t returns exist up to bar t
            return
        first = self._target is None
        current = None
        if not first and not self._due[t]:
            if self.drift is None:
                return
            current = self.current_weights(ctx)
        if not first and not self.rule.due(bool(self._due[t]), current, self._target):
            return
        self._rebalance(ctx, current)

    def _rebalance(self, ctx: Any, current: np.ndarray | None) -> None:
        closes = ctx.history("close", self.lookback + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            rets = closes[1:] / closes[:-1] - 1.0
        mask = self._universe(ctx)
        fit = self.model.fit(rets, mask)
        ok = fit.eligible
        if not ok.any():
            return
        w = fit.weights
        x = rets[:, ok]
        cov = fit.cov if fit.cov is not None else self._cov(x)
        if self.constraints.selects:
            sd = np.sqrt(np.diag(cov))
            with np.errstate(divide="ignore", invalid="ignore"):
                corr_k = cov / np.outer(sd, sd)
            corr = np.full((len(w), len(w)), np.nan)
            corr[np.ix_(ok, ok)] = corr_k
            keep = self.constraints.select(w, corr)
            w = self.model.fit(rets, mask & keep).weights
        target = self.constraints.apply(w)
        if current is None:
            current = self.current_weights(ctx)
        self._target = target
        orders = self.rule.trades(target, current)
        ctx.target_weights(orders)
        wk = target[ok]
        var = float(wk @ cov @ wk)
        ctx.record(n_allocated=float(np.count_nonzero(target)), ex_ante_vol=float(np.sqrt(max(var, 0.0))))
        syms = ctx.symbols
        ctx.log_event("rebalance", model=self.model.name, symbols=[syms[i] for i in np.flatnonzero(ok)],
                      weights=wk.copy(), cov=np.array(cov, copy=True), mean=x.mean(axis=0))
