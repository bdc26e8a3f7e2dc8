// Price and equity charts, drawn by the vendored Lightweight Charts (see
// vendor/README.md). Amounts arrive as BigInt units and become floats
// only here, for drawing.
import { createChart, CandlestickSeries, LineSeries } from '../vendor/lightweight-charts-5.2.1.mjs';
import { toFloat } from './codec.js';

const dollars = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });

const STYLE = {
  autoSize: true,
  layout: { background: { color: '#ffffff' }, textColor: '#1f2328' },
  grid: { vertLines: { color: '#eef1f4' }, horzLines: { color: '#eef1f4' } },
  rightPriceScale: { borderColor: '#d0d7de' },
  timeScale: { borderColor: '#d0d7de', timeVisible: true, secondsVisible: false },
  // The axis reads as the page does: $1,234.56, thousands grouped.
  localization: { priceFormatter: (v) => dollars.format(v) },
};

/** Points with strictly increasing times, as the library requires. */
function increasing(points) {
  const out = [];
  for (const p of points) {
    if (!out.length || p.time > out[out.length - 1].time) out.push(p);
  }
  return out;
}

/** Candles of `bars` in `el`: {remove(), tick(quote)}, where `tick`
 *  moves the chart with a price set (a day's bars are one update
 *  interval long, so each set forms the next bar). */
export function candles(el, bars) {
  el.replaceChildren();
  const chart = createChart(el, STYLE);
  const series = chart.addSeries(CandlestickSeries, {
    upColor: '#1a7f37', downColor: '#cf222e', borderVisible: false,
    wickUpColor: '#1a7f37', wickDownColor: '#cf222e',
  });
  const data = increasing(bars.map((b) => ({
    time: b.time, open: toFloat(b.open), high: toFloat(b.high),
    low: toFloat(b.low), close: toFloat(b.close),
  })));
  series.setData(data);
  chart.timeScale().fitContent();
  const n = data.length;
  const step = n >= 2 ? data[n - 1].time - data[n - 2].time : 60;
  return {
    remove: () => chart.remove(),
    tick(quote) {
      const last = data[data.length - 1];
      const price = toFloat(quote.close);
      if (!last || quote.time < last.time) return;
      if (quote.time < last.time + step) {
        last.high = Math.max(last.high, price);
        last.low = Math.min(last.low, price);
        last.close = price;
        series.update({ ...last });
      } else {
        const time = last.time + Math.floor((quote.time - last.time) / step) * step;
        const bar = { time, open: last.close, high: Math.max(last.close, price), low: Math.min(last.close, price), close: price };
        data.push(bar);
        series.update({ ...bar });
      }
    },
  };
}

/** A line of equity per day in `el` (at least two days). */
export function equity(el, points) {
  el.replaceChildren();
  const chart = createChart(el, { ...STYLE, timeScale: { ...STYLE.timeScale, timeVisible: false } });
  const series = chart.addSeries(LineSeries, { color: '#0969da', lineWidth: 2 });
  series.setData(increasing(points.map((p) => ({
    time: Date.parse(`${p.date}T00:00:00Z`) / 1000, value: toFloat(p.equity),
  }))));
  chart.timeScale().fitContent();
  return chart;
}
