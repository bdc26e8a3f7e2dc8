"""ccxt 4.5.90's alpaca class, unmodified, against a PaperTrader worker:
its URLs pointed at the worker (PT_URL), the key of PT_KEY and PT_SECRET.
Crypto only, as ccxt trades it: markets, ticker, OHLCV, orders, balance,
trades. The same market as alpaca_py_check.py.
"""

import os
import time

import ccxt

from checks import check, step

URL, KEY, SECRET = os.environ["PT_URL"], os.environ["PT_KEY"], os.environ["PT_SECRET"]


urls = {"trader": URL, "market": URL}
exchange = ccxt.alpaca({"apiKey": KEY, "secret": SECRET, "urls": {"api": urls, "test": urls}})
exchange.set_sandbox_mode(True)

step("markets")
markets = exchange.load_markets()
check("BTC/USD" in markets and markets["BTC/USD"]["active"], list(markets))
check("AAPL/USD" not in markets, "only crypto")

step("ticker and OHLCV")
ticker = exchange.fetch_ticker("BTC/USD")
check(ticker["last"] == 40000 and ticker["bid"] == 40000, ticker)
since = exchange.milliseconds() - 3 * 3600 * 1000
candles = exchange.fetch_ohlcv("BTC/USD", "1h", since=since)
check(len(candles) >= 1 and candles[-1][4] == 40000, candles)

step("a market buy, a limit sell that rests, its cancel")
buy = exchange.create_order("BTC/USD", "market", "buy", 0.01)
check(buy["id"] and buy["symbol"] == "BTC/USD", buy)
deadline = time.time() + 15
while exchange.fetch_order(buy["id"])["status"] != "closed":
    check(time.time() < deadline, "the buy filled")
    time.sleep(0.5)
sell = exchange.create_order("BTC/USD", "limit", "sell", 0.005, 45000)
open_orders = exchange.fetch_open_orders("BTC/USD")
check([o["id"] for o in open_orders] == [sell["id"]], open_orders)
exchange.cancel_order(sell["id"])
check(exchange.fetch_order(sell["id"])["status"] == "canceled", "cancelled")

step("balance and trades")
balance = exchange.fetch_balance()
check(abs(balance["BTC"]["total"] - 0.01) < 1e-12, balance["BTC"])
check(abs(balance["USD"]["free"] - 1600) < 1e-6, balance["USD"])
trades = exchange.fetch_my_trades()
check(len(trades) == 1 and trades[0]["side"] == "buy" and trades[0]["price"] == 40000, trades)

step("errors")
try:
    exchange.create_order("BTC/USD", "limit", "buy", 1, 40000)
    check(False, "beyond buying power")
except ccxt.InsufficientFunds:
    pass
stranger = ccxt.alpaca({"apiKey": KEY, "secret": "0" * 64, "urls": {"api": urls, "test": urls}})
try:
    stranger.fetch_balance()
    check(False, "a wrong secret")
except ccxt.AuthenticationError:
    pass
print("OK", flush=True)
