import { printable } from '../reporters/printable.js';
import { relayed } from '../launch/app-output.js';

const TICK_MS = 250;
const CLEAR = '\r\x1b[2K';

/**
 * One live line on a terminal while checks run: what they wait for and for
 * how long, redrawn in place. It gives way to the app's own output (cleared
 * before each chunk, not drawn while the app is mid-line) and is cleared at
 * the end. Nothing at all when `stream` is not a terminal. Returns the stop.
 */
export function showStatus(stream: NodeJS.WriteStream, text: (seconds: number) => string): () => void {
  if (!stream.isTTY) return () => undefined;
  const started = Date.now();
  let shown = false;
  const clear = () => {
    if (shown) stream.write(CLEAR);
    shown = false;
  };
  relayed.beforeRelay = clear;
  const timer = setInterval(() => {
    if (relayed.lineOpen.size > 0) return;
    const line = text(Math.floor((Date.now() - started) / 1000));
    stream.write(CLEAR + printable(line).slice(0, (stream.columns || 80) - 1));
    shown = true;
  }, TICK_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    clear();
    relayed.beforeRelay = undefined;
  };
}
