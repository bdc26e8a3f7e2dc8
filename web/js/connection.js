// One WebSocket to the worker's /ws (papertrader-protocol(7) section 12):
// each binary message is one frame; replies come in request order, so a
// FIFO of pending requests pairs each reply (or data transfer) with its
// request. At most MAX_IN_FLIGHT requests are on the wire at once (the
// worker's max_in_flight is 64 by default); the rest wait here. A
// `prices` push (protocol 1.2, unasked) is no reply: it goes to
// `onprices` and takes no place in that order.
import * as codec from './codec.js';

const PRICES = codec.code('prices');

const MAX_IN_FLIGHT = 32;
// An open that takes longer (packets dropped on the way) counts as failed.
const OPEN_TIMEOUT_MS = 10000;

/** A reply: {name, args} for a return, {name: 'data', text} for a transfer. */
export class Conn {
  constructor(url) {
    this.url = url;
    this.ws = null;
    this.waiting = [];   // not sent yet
    this.inFlight = [];  // sent, reply owed, in order
    this.closed = false;
    this.onclose = null;
    this.onprices = null;  // (text) => void, for each whole push
    this.pushed = [];      // packets of the push under way
    this.sent = 0;         // requests sent, for the keepalive
  }

  /** Opens the socket; rejects if it cannot. */
  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, 'papertrader.v1');
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      const late = setTimeout(() => ws.close(), OPEN_TIMEOUT_MS);
      ws.onopen = () => {
        clearTimeout(late);
        resolve(this);
        this.pump();
      };
      ws.onmessage = (ev) => this.receive(ev.data);
      ws.onerror = () => {};
      ws.onclose = () => {
        clearTimeout(late);
        const wasOpen = !this.closed;
        this.closed = true;
        this.fail();
        reject(new Error('the connection to the server closed'));
        if (wasOpen && this.onclose) this.onclose();
      };
    });
  }

  /** Sends a request; resolves with its reply. */
  request(name, args = []) {
    if (this.closed) return Promise.reject(new Error('the connection to the server closed'));
    const frame = codec.makeFrame(name, args);
    return new Promise((resolve, reject) => {
      this.waiting.push({ name, bytes: codec.encode(frame), resolve, reject, packets: [] });
      this.pump();
    });
  }

  /** Sends what waits, once the socket is open: a request counts as in
   *  flight only once it was handed to the socket. */
  pump() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    while (this.waiting.length && this.inFlight.length < MAX_IN_FLIGHT) {
      const r = this.waiting[0];
      this.ws.send(r.bytes);
      this.waiting.shift();
      this.inFlight.push(r);
      this.sent += 1;
    }
  }

  receive(data) {
    let frame;
    try {
      frame = codec.decode(new Uint8Array(data));
    } catch (err) {
      // The worker breaks section 12: nothing more can be trusted.
      this.ws.close(1002, 'one binary message, one frame');
      return;
    }
    if (frame.instr === PRICES) {
      this.pushed.push(frame.data);
      if (frame.number < frame.max) return;
      const text = codec.payloadText(this.pushed);
      this.pushed = [];
      if (this.onprices) this.onprices(text);
      return;
    }
    const head = this.inFlight[0];
    if (!head) return;
    if (frame.instr === codec.code('data')) {
      head.packets.push(frame.data);
      if (frame.number < frame.max) return;
      this.inFlight.shift();
      head.resolve({ name: 'data', text: codec.payloadText(head.packets) });
    } else {
      this.inFlight.shift();
      head.resolve({ name: codec.nameOf(frame.instr), args: codec.args(frame) });
    }
    this.pump();
  }

  /** Every request not answered fails at once (a dead socket's close
   *  event may come only after the browser's own timeout). */
  fail() {
    const err = new Error('the connection to the server closed');
    for (const r of [...this.inFlight, ...this.waiting]) r.reject(err);
    this.inFlight = [];
    this.waiting = [];
  }

  close() {
    this.closed = true;
    this.fail();
    if (this.ws) this.ws.close(1000);
  }
}
