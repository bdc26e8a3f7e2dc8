"""alpaca-trade-api 3.2.0, unmodified, against a PaperTrader worker's HTTP
API, configured as its users configure it: APCA_API_BASE_URL,
APCA_API_KEY_ID and APCA_API_SECRET_KEY in the environment (tests/sdk.rs
sets them). The same market as alpaca_py_check.py. With PT_RATE_LIMITED
set, only checks that a key over its rate gets Alpaca's 429.
"""

import os
import sys
import time

import alpaca_trade_api as tradeapi
from alpaca_trade_api.rest import APIError

from checks import check, step


api = tradeapi.REST()

if os.environ.get("PT_RATE_LIMITED"):
    step("rate limit")
    seen = None
    for _ in range(50):
        try:
            api.get_clock()
        except APIError as e:
            seen = e
            break
    check(seen is not None and seen.status_code == 429 and seen.code == 42910000, seen)
    check("rate limit exceeded" in str(seen), str(seen))
    print("OK", flush=True)
    sys.exit(0)

step("account, clock, calendar, assets")
account = api.get_account()
check(account.status == "ACTIVE" and account.cash == "2000.0000", account)
clock = api.get_clock()
check(clock.is_open in (True, False), clock)
days = api.get_calendar("2026-12-21", "2026-12-28")
check(len(days) == 5 and days[0].open.hour == 9 and days[0].open.minute == 30, days)
assets = api.list_assets(status="active")
check({a.symbol for a in assets} == {"AAPL", "BTC/USD"}, assets)
check(api.get_asset("AAPL").tradable, "AAPL tradable")

step("orders")
order = api.submit_order("AAPL", qty=1, side="buy", type="limit", limit_price=100,
                         time_in_force="gtc", client_order_id="tapi-1")
check(order.client_order_id == "tapi-1" and order.status == "accepted", order)
check(api.get_order(order.id).status == "new", "listed as new")
listed = api.list_orders(status="open")
check([o.id for o in listed] == [order.id], listed)
new = api.replace_order(order.id, qty="2", limit_price=99)
check(new.qty == "2" and new.limit_price == "99.0000", new)
api.cancel_order(new.id)
check(api.get_order(new.id).status == "canceled", "cancelled")
api.submit_order("AAPL", qty=1, side="buy", type="stop", stop_price=1000, time_in_force="day")
api.cancel_all_orders()
check(api.list_orders(status="open") == [], "none open")

step("a market buy fills; positions; closing")
market = api.submit_order("AAPL", qty=2, side="buy", type="market", time_in_force="day")
deadline = time.time() + 15
while api.get_order(market.id).status != "filled":
    check(time.time() < deadline, "the market order filled")
    time.sleep(0.2)
filled = api.get_order(market.id)
check(filled.filled_qty == "2" and filled.filled_avg_price == "189.5000", filled)
positions = api.list_positions()
check(len(positions) == 1 and positions[0].qty == "2", positions)
check(api.get_position("AAPL").avg_entry_price == "189.5000", "avg entry")
closing = api.close_position("AAPL", qty=1)
check(closing.side == "sell" and closing.qty == "1", closing)
while api.get_position("AAPL").qty != "1":
    check(time.time() < deadline + 15, "the part sold")
    time.sleep(0.2)
api.close_all_positions()

step("portfolio history and activities")
history = api.get_portfolio_history(period="1M", timeframe="1D")
check(len(history.equity) >= 1, history)
fills = api.get_activities(activity_types="FILL")
check(len(fills) >= 2 and all(a.activity_type == "FILL" for a in fills), fills)
check({a.side for a in fills} == {"buy", "sell"}, fills)
every = api.get_activities()
check(len(every) >= len(fills), every)

step("market data")
os.environ.setdefault("APCA_API_DATA_URL", os.environ["APCA_API_BASE_URL"])
from alpaca_trade_api.rest import TimeFrame
bars = api.get_bars("AAPL", TimeFrame.Day, "2026-01-01", limit=10)
check(len(bars) >= 1 and bars[-1].c == 189.5, bars)
multi = api.get_bars(["AAPL", "BTC"], TimeFrame.Minute, limit=5)
check(len(multi) >= 1, multi)
check(api.get_latest_trade("AAPL").p == 189.5, "latest trade")
check(api.get_latest_quote("AAPL").ap == 189.5, "latest quote")
check(api.get_snapshot("AAPL").latest_trade.p == 189.5, "snapshot")

step("errors")
for call, status in [
    (lambda: api.submit_order("AAPL", qty=100000, side="buy", type="limit", limit_price=100,
                              time_in_force="day"), 403),
    (lambda: api.get_order("6f726472-0000-4000-8000-0000000fffff"), 404),
    (lambda: api.submit_order("AAPL", qty=-1, side="buy", type="market", time_in_force="day"), 422),
    (lambda: api.get_position("NOPE"), 404),
]:
    try:
        call()
        check(False, f"no error {status}")
    except APIError as e:
        check(e.status_code == status, f"{e.status_code} != {status}: {e}")
bad = tradeapi.REST(secret_key="0" * 64)
try:
    bad.get_account()
    check(False, "a wrong secret is refused")
except APIError as e:
    check(e.status_code == 401 and e.code == 40110000, e)
print("OK", flush=True)
