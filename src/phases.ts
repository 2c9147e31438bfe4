/**
 * Where a check's time goes, for the benchmark: each phase's end in ms since
 * Node started. Printed to stderr at exit when PREFORK_CHECK_PHASES=1.
 */
const marks: Array<[string, number]> = [];

export function phase(name: string): void {
  // The global `performance` loads perf_hooks (~3 ms of a CLI's start) on first use: only when asked.
  if (process.env.PREFORK_CHECK_PHASES === '1') marks.push([name, performance.now()]);
}

/** `name=ms name=ms ...`, or nothing when not asked for. */
export function phaseLine(): string {
  return marks.length === 0
    ? ''
    : `prefork-check phases: ${marks.map(([name, at]) => `${name}=${at.toFixed(1)}`).join(' ')}\n`;
}
