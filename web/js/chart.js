// Price and equity charts, drawn by the vendored Lightweight Charts (see
// vendor/README.md). Amounts arrive as BigInt units and become floats
// only here, for drawing.
import { createChart, CandlestickSeries, LineSeries } from '../vendor/lightweight-charts-5.2.1.mjs';
import { toFloat } from './codec.js';

const STYLE = {
  autoSize: true,
  layout: { background: { color: '#ffffff' }, textColor: '#1f2328' },
  grid: { vertLines: { color: '#eef1f4' }, horzLines: { color: '#eef1f4' } },
  rightPriceScale: { borderColor: '#d0d7de' },
  timeScale: { borderColor: '#d0d7de', timeVisible: true, secondsVisible: false },
};

/** Points with strictly increasing times, as the library requires. */
function increasing(points) {
  const out = [];
  for (const p of points) {
    if (!out.length || p.time > out[out.length - 1].time) out.push(p);
  }
  return out;
}

/** Candles of `bars` in `el`; returns the chart (call .remove()). */
export function candles(el, bars) {
  el.replaceChildren();
  const chart = createChart(el, STYLE);
  const series = chart.addSeries(CandlestickSeries, {
    upColor: '#1a7f37', downColor: '#cf222e', borderVisible: false,
    wickUpColor: '#1a7f37', wickDownColor: '#cf222e',
  });
  series.setData(increasing(bars.map((b) => ({
    time: b.time, open: toFloat(b.open), high: toFloat(b.high),
    low: toFloat(b.low), close: toFloat(b.close),
  }))));
  chart.timeScale().fitContent();
  return chart;
}

/** A line of equity per day in `el`. */
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
