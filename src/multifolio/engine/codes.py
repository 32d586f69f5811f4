"""Integer codes shared by the numba kernels and the pandas-facing wrappers.

Kernels cannot carry strings, so order kinds, statuses and reasons travel as small integers and are
turned back into names when the Result is assembled.
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

# Columns of the fill ledger (float part / int part)
F_QTY, F_PRICE, F_BASE_PRICE, F_FEE, F_REALIZED, F_ORDER_PRICE = range(6)
N_FILL_F = 6
I_BAR, I_ASSET, I_ORDER, I_REASON, I_KIND, I_STATUS, I_PLACED = range(7)
N_FILL_I = 7

# Columns of the rejection ledger (float part / int part): same int layout as fills
R_QTY, R_PRICE = range(2)
N_REJ_F = 2

# Columns of the kernel event ledger
EV_SCALED, EV_LIQUIDATION, EV_DELISTED = 1, 2, 3
EVENT_NAMES = {EV_SCALED: "scaled", EV_LIQUIDATION: "liquidation", EV_DELISTED: "delisted"}
E_BAR, E_KIND, E_ASSET = range(3)
N_EV_I = 3
N_EV_F = 3

# Columns of the resting order book (int part / float part)
B_ID, B_ASSET, B_KIND, B_ACTIVE_FROM, B_STATUS, B_OCO, B_CHILD_SL, B_CHILD_TP, B_REASON, B_PLACED, \
    B_REDUCE_ONLY = range(11)
N_BOOK_I = 11
BF_QTY, BF_PRICE, BF_SL, BF_TP = range(4)
N_BOOK_F = 4
PENDING = 5          # a bracket child waiting for its entry to fill
NEVER = 2**62        # active_from of a pending child

# Columns of the per-bar snapshot array
SNAPSHOT_COLUMNS = ("total_equity", "cash", "realized_pnl", "unrealized_pnl", "fees_paid",
                    "margin_used", "margin_ratio", "gross_exposure", "n_open_positions",
                    "n_assets_with_positions", "n_open_orders")
(S_EQUITY, S_CASH, S_REALIZED, S_UNREALIZED, S_FEES, S_MARGIN, S_MARGIN_RATIO, S_GROSS,
 S_NPOS, S_NASSETS, S_NORDERS) = range(len(SNAPSHOT_COLUMNS))

STATUS_NAMES[PENDING] = "pending"

# Account state vector (one float64 array so kernels can update scalars in place)
A_CASH, A_REALIZED, A_FEES, A_INITIAL, A_MMR, A_MARGIN, A_SHORT = range(7)
N_ACCOUNT = 7

# Per-asset position state rows and per-asset settings rows
P_QTY, P_AVG, P_LAST = range(3)
C_FEE, C_FIXED, C_SLIP, C_LEV, C_MIN, C_STEP = range(6)
