import type { WatchData } from './watch.js';
import { writeFileAtomic } from '../files/write-atomic.js';

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

/**
 * A self-contained HTML page with one SVG chart per process: fd count per
 * kind over the steps. No script: it reads the same in any browser or viewer.
 */
function formatWatchHtml(data: WatchData, title: string): string {
  const width = 640;
  const height = 240;
  const pad = 40;
  const charts = data.processes.map((process) => {
    const kinds = Object.entries(process.byKind) as Array<[string, number[]]>;
    const max = Math.max(1, ...kinds.flatMap(([, values]) => values));
    const x = (i: number) => pad + (i * (width - 2 * pad)) / Math.max(1, data.steps - 1);
    const y = (value: number) => height - pad - (value * (height - 2 * pad)) / max;
    const lines = kinds.map(([kind, values], k) => {
      const points = values.map((value, i) => `${x(i).toFixed(1)},${y(value).toFixed(1)}`).join(' ');
      return `<polyline class="series" data-kind="${escape(kind)}" data-values="${values.join(',')}" fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="2" points="${points}"/>`;
    });
    const legend = kinds.map(
      ([kind], k) =>
        `<text x="${width - pad}" y="${pad + 14 * k}" text-anchor="end" fill="${COLORS[k % COLORS.length]}">${escape(kind)}</text>`,
    );
    return `<section>
<h2>pid ${process.pid} ${escape(process.program)}: ${process.growthPerStep.toFixed(2)} fds per step</h2>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" data-pid="${process.pid}" role="img" aria-label="fds of pid ${process.pid} over ${data.steps} steps">
<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#333"/>
<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="#333"/>
<text x="${pad - 6}" y="${pad + 4}" text-anchor="end">${max}</text>
<text x="${pad - 6}" y="${height - pad}" text-anchor="end">0</text>
<text x="${width / 2}" y="${height - 10}" text-anchor="middle">step (${escape(data.driver)})</text>
${lines.join('\n')}
${legend.join('\n')}
</svg>
</section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font-family:sans-serif;margin:2em}svg{background:#fff;border:1px solid #ccc}text{font-size:12px}</style></head>
<body><h1>prefork-check watch: ${escape(title)}</h1>
<p>${data.steps} steps, the first ${data.warmup} warm-up; allowed growth ${data.maxGrowth} fds per step.</p>
${charts.join('\n')}
</body></html>
`;
}

export async function writeWatchHtml(data: WatchData, title: string, file: string): Promise<void> {
  await writeFileAtomic(file, formatWatchHtml(data, title));
}
