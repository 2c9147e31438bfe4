import type { WatchData, WatchReport } from './watch.js';
import { writeFileAtomic } from '../files/write-atomic.js';
import { groupBySite } from '../reporters/group-leaks.js';

const BARS = '▁▂▃▄▅▆▇█';

/** A terminal sparkline of a series, scaled to its own range. */
function sparkline(values: number[], width = 40): string {
  if (values.length === 0) return '';
  const step = Math.max(1, Math.ceil(values.length / width));
  const points = values.filter((_, i) => i % step === 0 || i === values.length - 1);
  const low = Math.min(...points);
  const high = Math.max(...points);
  return points
    .map((value) => BARS[high === low ? 0 : Math.round(((value - low) / (high - low)) * (BARS.length - 1))])
    .join('');
}

/** The console's lines for a watch: per process, its fd count over the steps and its growth. */
export function formatWatch(data: WatchData): string {
  const lines = [`fds per process over ${data.steps} steps of ${data.driver} (warm-up ${data.warmup}):`];
  const counted = (values: number[]) => values.length - Math.max(data.warmup, 1);
  const growth = (values: number[]) =>
    counted(values) > 0 ? ((values.at(-1) ?? 0) - (values[Math.max(0, data.warmup - 1)] ?? 0)) / counted(values) : 0;
  for (const process of data.processes) {
    const first = process.totals[0] ?? 0;
    const last = process.totals.at(-1) ?? 0;
    // Which kinds grow: the chart in words.
    const kinds = Object.entries(process.byKind)
      .map(([kind, values]) => [kind, growth(values ?? [])] as const)
      .filter(([, rate]) => rate !== 0)
      .map(([kind, rate]) => `${kind} ${rate > 0 ? '+' : ''}${rate.toFixed(2)}`);
    lines.push(
      `  pid ${process.pid} ${process.program}  ${sparkline(process.totals)}  ${first} → ${last}  ${process.growthPerStep.toFixed(2)} fds/step${kinds.length ? ` (${kinds.join(', ')})` : ''}`,
    );
  }
  return lines.join('\n') + '\n';
}

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const COLORS = ['#c0392b', '#2471a3', '#1e8449', '#b9770e', '#7d3c98', '#117864', '#566573'];

/** Round tick values from 0 to at least `max`: 0, a step of 1, 2 or 5 times a power of ten, ... */
function ticks(max: number): number[] {
  const raw = Math.max(1, max) / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= raw)!;
  const top = Math.ceil(Math.max(1, max) / step) * step;
  return Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);
}

/**
 * A self-contained HTML page a person can act on without the console: the
 * verdict, the lines that made the fds still open at the end, and one SVG
 * chart per process, fd count per kind over the steps, with the warm-up
 * shaded and both axes labelled. No script: it reads the same anywhere.
 */
function formatWatchHtml(report: WatchReport): string {
  const data = report.watch;
  const width = 680;
  const height = 260;
  const [left, right, top, bottom] = [48, 16, 16, 40];
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const charts = data.processes.map((process) => {
    const kinds = Object.entries(process.byKind) as Array<[string, number[]]>;
    const heading = `<h2>pid ${process.pid} ${escape(process.program)}: ${process.growthPerStep.toFixed(2)} fds per step</h2>`;
    if (kinds.length === 0 || data.steps === 0) return `<section>${heading}<p>No fds sampled.</p></section>`;
    const yTicks = ticks(Math.max(...kinds.flatMap(([, values]) => values)));
    const yMax = yTicks.at(-1)!;
    const x = (i: number) => left + (i * plotWidth) / Math.max(1, data.steps - 1);
    const y = (value: number) => top + plotHeight - (value * plotHeight) / yMax;
    const xTicks = [...new Set([1, Math.max(1, data.warmup), Math.ceil(data.steps / 2), data.steps])];
    const warmup =
      data.warmup > 1
        ? `<rect class="warmup" x="${left}" y="${top}" width="${(x(data.warmup - 1) - left).toFixed(1)}" height="${plotHeight}" fill="#eee"/>
<text x="${left + 4}" y="${top + 12}" fill="#777">warm-up</text>`
        : '';
    const grid = yTicks.map(
      (value) =>
        `<line x1="${left}" y1="${y(value).toFixed(1)}" x2="${width - right}" y2="${y(value).toFixed(1)}" stroke="${value === 0 ? '#333' : '#ddd'}"/><text x="${left - 6}" y="${(y(value) + 4).toFixed(1)}" text-anchor="end">${value}</text>`,
    );
    const steps = xTicks.map(
      (step) => `<text x="${x(step - 1).toFixed(1)}" y="${top + plotHeight + 16}" text-anchor="middle">${step}</text>`,
    );
    const lines = kinds.map(([kind, values], k) => {
      const points = values.map((value, i) => `${x(i).toFixed(1)},${y(value).toFixed(1)}`).join(' ');
      return `<polyline class="series" data-kind="${escape(kind)}" data-values="${values.join(',')}" fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="2" points="${points}"/>`;
    });
    // Below the chart, not over its lines.
    const legend = kinds
      .map(
        ([kind, values], k) =>
          `<span style="color:${COLORS[k % COLORS.length]}">■ ${escape(kind)} (${values.at(-1)})</span>`,
      )
      .join(' ');
    return `<section>
${heading}
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" data-pid="${process.pid}" role="img" aria-label="fds of pid ${process.pid} over ${data.steps} steps">
${warmup}
${grid.join('\n')}
<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}" stroke="#333"/>
${steps.join('\n')}
<text x="${left + plotWidth / 2}" y="${height - 6}" text-anchor="middle">step (${escape(data.driver)})</text>
${lines.join('\n')}
</svg>
<p class="legend">${legend}</p>
</section>`;
  });
  const counted = report.leaks.filter((leak) => !leak.allowed);
  const verdict = report.error
    ? `ERROR: ${escape(report.error.message)}`
    : counted.length > 0
      ? `FAIL: fds grow by more than ${data.maxGrowth} per step`
      : `PASS: no process gained more than ${data.maxGrowth} fds per step`;
  // One line per creating site, with its count: the same line leaking 200 sockets is one line.
  const made = groupBySite(counted).map((group) => {
    const leak = group[0]!;
    const where = leak.origin
      ? `<code>${escape(leak.origin.file)}:${leak.origin.line}</code> in <code>${escape(leak.origin.function)}</code>`
      : escape(leak.originNote ?? 'an unknown place');
    return `<li>${group.length} × <code>${escape(leak.kind)}</code>, e.g. <code>${escape(leak.target)}</code>, made at ${where}</li>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(report.name)}</title>
<style>body{font-family:sans-serif;margin:2em}svg{background:#fff;border:1px solid #ccc}text{font-size:12px}.verdict{font-weight:bold}</style></head>
<body><h1>prefork-check watch: ${escape(report.name)}</h1>
<p class="verdict">${verdict}</p>
<p>${data.steps} steps of ${escape(data.driver)}, the first ${data.warmup} warm-up; allowed growth ${data.maxGrowth} fds per step.</p>
${charts.join('\n')}
${made.length > 0 ? `<h2>Open at the end, by the line that made them</h2>\n<ul class="made">\n${made.join('\n')}\n</ul>` : ''}
</body></html>
`;
}

export async function writeWatchHtml(report: WatchReport, file: string): Promise<void> {
  await writeFileAtomic(file, formatWatchHtml(report));
}
