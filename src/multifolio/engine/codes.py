"""Integer codes shared by the numba kernels and the pandas-facing wrappers.

Kernels cannot carry strings, so order kinds, statuses, reasons and event kinds travel as small
integers and are turned back into names when the Result is assembled. The layouts of the state the
kernels update are named record dtypes in ``records``.
"""

from __future__ import annotations

# Order kinds
MARKET = 0          # value = signed quantity
NOTIONAL = 1        # value = signed notional (quantity = value / execution price)
TARGET_WEIGHT = 2   # value = weight of portfolio value
TARGET_QTY = 3      # value = target quantity
LIMIT = 4           # resting, value = signed quantity, price = limit
STOP = 5            # resting, value = signed quantity, price = stop trigger

KIND_NAMES = {MARKET: "market", NOTIONAL: "notional", TARGET_WEIGHT: "target_weight",
              TARGET_QTY: "target_qty", LIMIT: "limit", STOP: "stop"}

# Order statuses
OPEN = 0
FILLED = 1
SCALED = 2
REJECTED = 3
CANCELLED = 4

STATUS_NAMES = {OPEN: "open", FILLED: "filled", SCALED: "scaled", REJECTED: "rejected",
                CANCELLED: "cancelled"}

# Reasons (why an order was placed, filled, scaled, rejected or cancelled). Codes >= USER_TAG_BASE
# are strategy tags, mapped to names by the simulator.
NONE = 0
SIGNAL = 1
REBALANCE = 2
MIN_NOTIONAL = 3
NO_PRICE = 4
INSUFFICIENT_CASH = 5
INSUFFICIENT_MARGIN = 6
SCALED_CASH = 7
SCALED_MARGIN = 8
STOP_LOSS = 9
TAKE_PROFIT = 10
LIQUIDATION = 11
END_OF_DATA = 12
DELISTED = 13
KILL_SWITCH = 14
CLOSE_ALL = 15
ZERO_QTY = 16
SHORT_NOT_ALLOWED = 17
NO_POSITION = 18
USER_CANCEL = 19

REASON_NAMES = {
    NONE: "", SIGNAL: "signal", REBALANCE: "rebalance", MIN_NOTIONAL: "min_notional",
    NO_PRICE: "no_price", INSUFFICIENT_CASH: "insufficient_cash",
    INSUFFICIENT_MARGIN: "insufficient_margin", SCALED_CASH: "scaled_cash",
    SCALED_MARGIN: "scaled_margin", STOP_LOSS: "stop_loss", TAKE_PROFIT: "take_profit",
    LIQUIDATION: "liquidation", END_OF_DATA: "end_of_data", DELISTED: "delisted",
    KILL_SWITCH: "kill_switch", CLOSE_ALL: "close_all", ZERO_QTY: "zero_qty",
    SHORT_NOT_ALLOWED: "short_not_allowed", NO_POSITION: "no_position", USER_CANCEL: "cancelled",
}
USER_TAG_BASE = 1000
#: A reason's code by its name (the inverse of ``REASON_NAMES``).
REASON_CODES = {name: code for code, name in REASON_NAMES.items() if name}

# Engine events (the records' layouts are in ``records``)
EV_SCALED, EV_LIQUIDATION, EV_DELISTED = 1, 2, 3
EVENT_NAMES = {EV_SCALED: "scaled", EV_LIQUIDATION: "liquidation", EV_DELISTED: "delisted"}

PENDING = 5          # a bracket child waiting for its entry to fill
NEVER = 2**62        # active_from of a pending child

STATUS_NAMES[PENDING] = "pending"

# Financing charges (``records.FINANCING_DTYPE``)
FIN_SWAP, FIN_FUNDING, FIN_BORROW = 1, 2, 3
FINANCING_NAMES = {FIN_SWAP: "swap", FIN_FUNDING: "funding", FIN_BORROW: "borrow"}
