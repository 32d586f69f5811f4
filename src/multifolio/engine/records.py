"""The named state the kernels work on: record dtypes and named tuples of arrays.

Like vectorbt's records, every ledger row and every resting order is a structured-array record whose
fields say what they hold (``fills[k].fee``, ``book[r].active_from``); per-asset state and settings are
records per asset (``positions[j].avg_price``, ``costs[j].slippage``); the account's scalars are one
record (``account[0].cash``); what travels together is a named tuple (``Bars``, ``Ledgers``). numba
compiles field access to plain loads and stores, so naming costs nothing inside the kernels. (Per-asset
state is records rather than named tuples of vectors because a named tuple costs ~0.25 us per item to
type at every kernel call, and the Strategy path calls kernels on every decision bar.)

>>> fills = np.zeros(2, FILL_DTYPE)
>>> fills[0]["qty"], fills.dtype.names[:4]
(np.float64(0.0), ('qty', 'price', 'base_price', 'fee'))
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["ACCOUNT_DTYPE", "Bars", "COST_DTYPE", "EVENT_DTYPE", "FILL_DTYPE", "FINANCING_DTYPE",
           "FINANCING_SCHEDULE_DTYPE", "LEDGER_COUNT_DTYPE",
           "Ledgers", "MarketOrders", "ORDER_DTYPE", "POSITION_DTYPE", "REJECTION_DTYPE", "SNAPSHOT_COLUMNS",
           "SNAPSHOT_DTYPE"]

#: One account's scalars (a one-element array, so that kernels update them in place). ``realized_pnl``
#: is gross of fees; ``is_margin`` and ``allow_short`` are the account kind and the shorting rule.
#: ``financing_paid``: swaps, funding and borrow paid so far (negative when received);
#: ``financed_to``: the last bar charged (-1: none); ``has_financing`` / ``has_funding``: is there
#: anything to charge (a rate that is not zero / a ``funding_rate`` field); ``has_conversion``: an
#: instrument is quoted in another currency than the account's, ``converted_to`` the last bar whose
#: conversion rates are applied (``kernels.convert``).
ACCOUNT_DTYPE = np.dtype([
    ("cash", np.float64), ("realized_pnl", np.float64), ("fees_paid", np.float64),
    ("initial_cash", np.float64), ("maintenance_margin", np.float64), ("financing_paid", np.float64),
    ("financed_to", np.int64),
    ("is_margin", np.bool_), ("allow_short", np.bool_), ("has_financing", np.bool_),
    ("has_funding", np.bool_), ("has_moving_stops", np.bool_),
    ("converted_to", np.int64), ("has_conversion", np.bool_),
], align=True)


#: One record per asset: signed quantity held, average entry price (0 when flat), last known close.
POSITION_DTYPE = np.dtype([("qty", np.float64), ("avg_price", np.float64), ("last_price", np.float64)],
                          align=True)

#: One record per asset: proportional fee rate, fixed fee per fill, slippage fraction, leverage, exchange
#: minimum notional and quantity step; annual financing rates (fractions of the notional, paid when > 0):
#: overnight swap of a long and of a short, borrow cost of a short. Instrument specs: ``contract_size``
#: (units of the underlying per unit of quantity), price ``tick`` (0 = none), ``fx_col`` (the column of
#: the run's conversion rates that turns the instrument's quote currency into the account's, -1 = same
#: currency) and ``mult``, the account-currency value of one unit of quantity per unit of price now:
#: contract size x the bar's conversion rate (1 by default, so every value ``q x p x mult`` is exactly
#: today's ``q x p``).
COST_DTYPE = np.dtype([("fee_rate", np.float64), ("fixed_fee", np.float64), ("slippage", np.float64),
                       ("leverage", np.float64), ("min_notional", np.float64), ("qty_step", np.float64),
                       ("swap_long", np.float64), ("swap_short", np.float64), ("borrow_rate", np.float64),
                       ("contract_size", np.float64), ("tick", np.float64), ("mult", np.float64),
                       ("fx_col", np.int64)],
                      align=True)

#: Per bar of the run: ``swap_days`` (swap days charged at the start of the bar on the positions held
#: into it: 1 per daily rollover crossed since the previous bar, 3 on the triple day, 0 at weekends) and
#: ``year_frac`` (time since the previous bar in years of 365 days: borrow accrues on it).
FINANCING_SCHEDULE_DTYPE = np.dtype([("swap_days", np.float64), ("year_frac", np.float64)], align=True)

#: A financing charge (``codes.FINANCING_NAMES``): the position it was charged on (``qty``, marked at
#: ``price``), the ``rate`` applied (annual for swap and borrow, per period for funding), ``days`` (swap
#: days, or the borrow's days), and ``amount``, the cash it moved (negative = paid).
FINANCING_DTYPE = np.dtype([
    ("qty", np.float64), ("price", np.float64), ("rate", np.float64), ("days", np.float64),
    ("amount", np.float64), ("bar", np.int64), ("asset", np.int64), ("kind", np.int64),
], align=True)


class Bars(NamedTuple):
    """The market's T x N open/high/low/close (NaN where an asset has no bar)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray


class MarketOrders(NamedTuple):
    """A batch of market-type orders (K each): asset index, kind (``codes``), value (a quantity, a
    notional, a target weight or a target quantity, by kind), order id and reason code."""

    asset: np.ndarray
    kind: np.ndarray
    value: np.ndarray
    order_id: np.ndarray
    reason: np.ndarray


#: A fill: signed quantity at the slipped ``price`` (``base_price`` before slippage), its fee and the PnL
#: it realized (gross of fees, in the account's currency); ``order_price`` is a resting order's level
#: (NaN for market orders); ``mult`` the instrument's value multiplier at the fill (contract size x
#: conversion rate: the account-currency value of the fill is qty x price x mult); ``bar`` of the fill,
#: ``placed`` of the decision.
FILL_DTYPE = np.dtype([
    ("qty", np.float64), ("price", np.float64), ("base_price", np.float64), ("fee", np.float64),
    ("realized_pnl", np.float64), ("order_price", np.float64), ("mult", np.float64),
    ("bar", np.int64), ("asset", np.int64), ("order_id", np.int64), ("reason", np.int64),
    ("kind", np.int64), ("status", np.int64), ("placed", np.int64),
], align=True)

#: A rejected order (or fill): the quantity asked and the price it met (NaN without a price).
REJECTION_DTYPE = np.dtype([
    ("qty", np.float64), ("price", np.float64),
    ("bar", np.int64), ("asset", np.int64), ("order_id", np.int64), ("reason", np.int64),
    ("kind", np.int64), ("placed", np.int64),
], align=True)

#: An engine event (``codes.EVENT_NAMES``); ``asset`` is -1 for account-wide events. The three figures by
#: kind: scaled batch — factor, free cash/margin, needed; liquidation — equity, margin used, their
#: ratio; delisting — quantity closed, price.
EVENT_DTYPE = np.dtype([
    ("bar", np.int64), ("kind", np.int64), ("asset", np.int64),
    ("figure1", np.float64), ("figure2", np.float64), ("figure3", np.float64),
], align=True)

#: How many rows of each ledger are used.
LEDGER_COUNT_DTYPE = np.dtype([("fills", np.int64), ("rejections", np.int64), ("events", np.int64),
                               ("financing", np.int64)], align=True)


class Ledgers(NamedTuple):
    """The growable ledgers of one account and their used row counts (``n[0].fills`` ...)."""

    fills: np.ndarray
    rejections: np.ndarray
    events: np.ndarray
    financing: np.ndarray
    n: np.ndarray


#: A resting order of the book: ``active_from`` (first bar it may fill), ``status`` and ``kind``
#: (``codes``), ``oco`` (the row of its one-cancels-other sibling, -1 if none), ``child_sl`` /
#: ``child_tp`` (rows of the bracket it carries), ``reduce_only`` (1 for bracket children), signed
#: ``qty`` and ``price`` (the limit or stop level). A stop-loss child may move: ``trail`` (a distance in
#: price) or ``trail_pct`` (a fraction) keep it that far behind ``best``, the most favourable price
#: since its entry (``entry_price``, the entry's fill price); ``be_trigger`` moves it to the entry price
#: plus ``be_offset`` once ``best`` is that far in profit (0 = off). Stops only ever tighten.
ORDER_DTYPE = np.dtype([
    ("id", np.int64), ("asset", np.int64), ("kind", np.int64), ("active_from", np.int64),
    ("status", np.int64), ("oco", np.int64), ("child_sl", np.int64), ("child_tp", np.int64),
    ("reason", np.int64), ("placed", np.int64), ("reduce_only", np.int64),
    ("qty", np.float64), ("price", np.float64),
    ("trail", np.float64), ("trail_pct", np.float64), ("be_trigger", np.float64),
    ("be_offset", np.float64), ("best", np.float64), ("entry_price", np.float64),
], align=True)

#: One row per bar of the run, marked at the close.
SNAPSHOT_COLUMNS = ("total_equity", "cash", "realized_pnl", "unrealized_pnl", "fees_paid",
                    "margin_used", "margin_ratio", "gross_exposure", "n_open_positions",
                    "n_assets_with_positions", "n_open_orders", "financing_paid")
SNAPSHOT_DTYPE = np.dtype([(name, np.float64) for name in SNAPSHOT_COLUMNS])
