"""alpaca-py 0.44.0, unmodified, against a PaperTrader worker's HTTP API.

Run by tests/sdk.rs with PT_URL (the web port, http://127.0.0.1:PORT),
PT_KEY and PT_SECRET (an API key of a fresh account), on a market where
AAPL (whole shares) and BTC (a crypto-currency) have a fixed price and a
price set comes every second. Prints each step; exits 1 at the first
check that fails.
"""

import os
import time
import uuid
from datetime import date

from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import (
    AccountStatus, AssetClass, OrderClass, OrderSide, OrderStatus, OrderType,
    PositionSide, QueryOrderStatus, TimeInForce,
)
from alpaca.trading.requests import (
    ClosePositionRequest, GetAssetsRequest, GetCalendarRequest, GetOrderByIdRequest,
    GetOrdersRequest, LimitOrderRequest, MarketOrderRequest, ReplaceOrderRequest,
    StopLimitOrderRequest, StopLossRequest, StopOrderRequest, TakeProfitRequest,
    TrailingStopOrderRequest,
)

from checks import check, step

URL, KEY, SECRET = os.environ["PT_URL"], os.environ["PT_KEY"], os.environ["PT_SECRET"]
client = TradingClient(KEY, SECRET, paper=True, url_override=URL)


def refused(status, call):
    try:
        call()
    except APIError as e:
        check(e.status_code == status, f"status {e.status_code} != {status}: {e}")
        check(isinstance(e.code, int) and isinstance(e.message, str), f"error body {e}")
        return e
    check(False, f"no APIError {status}")


def filled(order_id, limit=15):
    deadline = time.time() + limit
    while time.time() < deadline:
        o = client.get_order_by_id(order_id)
        if o.status == OrderStatus.FILLED:
            return o
        time.sleep(0.2)
    check(False, f"order {order_id} did not fill")


step("account")
acct = client.get_account()
check(acct.status == AccountStatus.ACTIVE, acct.status)
check(acct.cash == "2000.0000" and acct.buying_power == "2000.0000", acct)
check(acct.currency == "USD", acct.currency)

step("clock and calendar")
clock = client.get_clock()
check(isinstance(clock.is_open, bool) and clock.next_open > clock.timestamp.replace(year=2000), clock)
days = client.get_calendar(GetCalendarRequest(start=date(2026, 12, 21), end=date(2026, 12, 28)))
check([d.date.isoformat() for d in days] == ["2026-12-21", "2026-12-22", "2026-12-23", "2026-12-24", "2026-12-28"], days)
check(days[3].close.hour == 13, "an early close on Christmas Eve")

step("assets")
crypto = client.get_all_assets(GetAssetsRequest(asset_class=AssetClass.CRYPTO))
check([a.symbol for a in crypto] == ["BTC/USD"], crypto)
aapl = client.get_asset("AAPL")
check(aapl.fractionable is False and aapl.asset_class == AssetClass.US_EQUITY, aapl)
check(client.get_asset("BTC/USD").fractionable, "BTC trades in fractions")

step("limit order: placed, read, replaced, cancelled")
limit = client.submit_order(LimitOrderRequest(
    symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
    limit_price=100, client_order_id="py-limit-1"))
check(limit.client_order_id == "py-limit-1" and limit.type == OrderType.LIMIT, limit)
got = client.get_order_by_id(limit.id)
check(got.status == OrderStatus.NEW and float(got.limit_price) == 100, got)
replaced = client.replace_order_by_id(limit.id, ReplaceOrderRequest(limit_price=101))
check(replaced.id != limit.id and float(replaced.limit_price) == 101, replaced)
check(client.get_order_by_id(limit.id).status == OrderStatus.REPLACED, "the old one is replaced")
client.cancel_order_by_id(replaced.id)
check(client.get_order_by_id(replaced.id).status == OrderStatus.CANCELED, "cancelled")

step("stop, stop-limit, trailing stop")
stop = client.submit_order(StopOrderRequest(
    symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, stop_price=1000))
stop_limit = client.submit_order(StopLimitOrderRequest(
    symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
    stop_price=1000, limit_price=1001))
trail = client.submit_order(TrailingStopOrderRequest(
    symbol="AAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, trail_percent=5))
check(trail.trail_percent == "5.00", trail)
open_orders = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))
check({o.id for o in open_orders} == {stop.id, stop_limit.id, trail.id}, open_orders)
cancelled = client.cancel_orders()
check(len(cancelled) == 3 and all(c.status == 200 for c in cancelled), cancelled)

step("bracket: the entry fills, its exits wait")
bracket = client.submit_order(MarketOrderRequest(
    symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
    order_class=OrderClass.BRACKET,
    take_profit=TakeProfitRequest(limit_price=300), stop_loss=StopLossRequest(stop_price=100)))
check(bracket.order_class == OrderClass.BRACKET, bracket)
filled(bracket.id)
nested = client.get_order_by_id(bracket.id, GetOrderByIdRequest(nested=True))
check(len(nested.legs or []) == 2, nested)
check({leg.type for leg in nested.legs} == {OrderType.LIMIT, OrderType.STOP}, nested.legs)

step("oto")
oto = client.submit_order(LimitOrderRequest(
    symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=100,
    order_class=OrderClass.OTO, stop_loss=StopLossRequest(stop_price=90)))
check(oto.order_class == OrderClass.OTO, oto)

step("crypto: by quantity and by notional, then an oco on it")
btc = client.submit_order(MarketOrderRequest(
    symbol="BTC/USD", qty=0.01, side=OrderSide.BUY, time_in_force=TimeInForce.GTC))
filled(btc.id)
by_cash = client.submit_order(MarketOrderRequest(
    symbol="BTC/USD", notional=40, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
check(by_cash.status == OrderStatus.FILLED and float(by_cash.filled_qty) == 0.001, by_cash)
oco = client.submit_order(LimitOrderRequest(
    symbol="BTC/USD", qty=0.005, side=OrderSide.SELL, time_in_force=TimeInForce.GTC,
    order_class=OrderClass.OCO,
    take_profit=TakeProfitRequest(limit_price=50000), stop_loss=StopLossRequest(stop_price=30000)))
check(oco.order_class == OrderClass.OCO, oco)

step("positions")
positions = {p.symbol: p for p in client.get_all_positions()}
check(set(positions) == {"AAPL", "BTC/USD"}, positions)
check(positions["AAPL"].qty == "1" and positions["AAPL"].side == PositionSide.LONG, positions["AAPL"])
btc_pos = client.get_open_position("BTC/USD")
check(btc_pos.qty == "0.011" and btc_pos.asset_class == AssetClass.CRYPTO, btc_pos)

step("the errors a bot meets")
refused(422, lambda: client.submit_order(LimitOrderRequest(
    symbol="AAPL", qty=0.5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=1)))
e = refused(403, lambda: client.submit_order(LimitOrderRequest(
    symbol="AAPL", qty=1000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=100)))
check(e.code == 40310000 and "buying power" in e.message, e)
refused(404, lambda: client.get_order_by_id(uuid.uuid4()))
refused(404, lambda: client.cancel_order_by_id("6f726472-0000-4000-8000-0000000fffff"))
refused(404, lambda: client.get_open_position("MSFT"))
refused(422, lambda: client.submit_order(LimitOrderRequest(
    symbol="NOPE", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=1)))
stranger = TradingClient(KEY, "0" * 64, paper=True, url_override=URL)
e = refused(401, stranger.get_account)
check(e.code == 40110000, e)

step("closing positions")
part = client.close_position("BTC/USD", ClosePositionRequest(qty="0.001"))
check(part.side == OrderSide.SELL and float(part.qty) == 0.001, part)
deadline = time.time() + 15
while client.get_open_position("BTC/USD").qty != "0.01" and time.time() < deadline:
    time.sleep(0.2)
check(client.get_open_position("BTC/USD").qty == "0.01", "the part sold")
closed = client.close_all_positions(cancel_orders=True)
check({c.symbol for c in closed} == {"AAPL", "BTC/USD"} and all(c.status == 200 for c in closed), closed)
deadline = time.time() + 15
while client.get_all_positions() and time.time() < deadline:
    time.sleep(0.2)
check(client.get_all_positions() == [], "every position closed")
check(client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN)) == [], "no open order left")
step("portfolio history")
from alpaca.trading.requests import GetPortfolioHistoryRequest
history = client.get_portfolio_history(GetPortfolioHistoryRequest(period="1M", timeframe="1D"))
check(len(history.equity) >= 1 and len(history.timestamp) == len(history.equity), history)
check(history.timeframe == "1D", history.timeframe)

step("stock data: bars, latest quote and trade, snapshot")
from datetime import datetime, timedelta, timezone
from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient
from alpaca.data.requests import (
    CryptoBarsRequest, CryptoLatestQuoteRequest, CryptoLatestTradeRequest, StockBarsRequest,
    StockLatestQuoteRequest, StockLatestTradeRequest, StockSnapshotRequest,
)
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
stocks = StockHistoricalDataClient(KEY, SECRET, url_override=URL)
since = datetime.now(timezone.utc) - timedelta(days=40)
daily = stocks.get_stock_bars(StockBarsRequest(symbol_or_symbols=["AAPL"], timeframe=TimeFrame.Day, start=since))
check(len(daily["AAPL"]) >= 1 and daily["AAPL"][-1].close == 189.5, daily)
minutes = stocks.get_stock_bars(StockBarsRequest(
    symbol_or_symbols="AAPL", timeframe=TimeFrame(5, TimeFrameUnit.Minute),
    start=datetime.now(timezone.utc) - timedelta(hours=1)))
check(all(b.close == 189.5 for b in minutes["AAPL"]), minutes)
quote = stocks.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols="AAPL"))
check(quote["AAPL"].ask_price == 189.5 and quote["AAPL"].bid_price == 189.5, quote)
trade = stocks.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols=["AAPL"]))
check(trade["AAPL"].price == 189.5, trade)
snap = stocks.get_stock_snapshot(StockSnapshotRequest(symbol_or_symbols=["AAPL"]))
check(snap["AAPL"].latest_trade.price == 189.5 and snap["AAPL"].daily_bar.close == 189.5, snap)

step("crypto data, without a key")
crypto_data = CryptoHistoricalDataClient(url_override=URL)
cbars = crypto_data.get_crypto_bars(CryptoBarsRequest(
    symbol_or_symbols=["BTC/USD"], timeframe=TimeFrame.Hour, start=datetime.now(timezone.utc) - timedelta(hours=3)))
check(len(cbars["BTC/USD"]) >= 1 and cbars["BTC/USD"][-1].close == 40000, cbars)
cquote = crypto_data.get_crypto_latest_quote(CryptoLatestQuoteRequest(symbol_or_symbols="BTC/USD"))
check(cquote["BTC/USD"].ask_price == 40000, cquote)
ctrade = crypto_data.get_crypto_latest_trade(CryptoLatestTradeRequest(symbol_or_symbols=["BTC/USD"]))
check(ctrade["BTC/USD"].price == 40000, ctrade)

step("trading stream: events in order")
import threading
from alpaca.trading.stream import TradingStream
events = []
stream = TradingStream(KEY, SECRET, paper=True, url_override=URL.replace("http://", "ws://") + "/stream")


async def on_update(data):
    events.append((getattr(data.event, "value", data.event), str(data.order.id)))


stream.subscribe_trade_updates(on_update)
runner = threading.Thread(target=stream.run, daemon=True)
runner.start()
time.sleep(2)
resting = client.submit_order(LimitOrderRequest(
    symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=100))
client.cancel_order_by_id(resting.id)
market = client.submit_order(MarketOrderRequest(
    symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
filled(market.id)
expected = [("new", str(resting.id)), ("canceled", str(resting.id)), ("new", str(market.id)),
            ("fill", str(market.id))]
deadline = time.time() + 10
mine = lambda: [e for e in events if e[1] in (str(resting.id), str(market.id))]
while mine() != expected and time.time() < deadline:
    time.sleep(0.2)
check(mine() == expected, events)
stream.stop()
runner.join(10)
print("OK", flush=True)
