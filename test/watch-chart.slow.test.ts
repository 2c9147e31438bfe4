import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { freePort } from './helpers/ports.js';
import { fixture, runCli, scratch } from './helpers/run-cli.js';

// Reads the screenshot with Pillow (Debian's python3-pil): where the socket series' colour is drawn.
const INSPECT = `
import sys
from PIL import Image
image = Image.open(sys.argv[1]).convert("RGB")
width, height = image.size
target = (0x24, 0x71, 0xa3)
near = lambda p: all(abs(a - b) <= 40 for a, b in zip(p, target))
points = [(x, y) for x in range(width) for y in range(height) if near(image.getpixel((x, y)))]
xs = sorted({x for x, _ in points})
left = min(y for x, y in points if x < xs[0] + 40)
right = min(y for x, y in points if x > xs[-1] - 40)
# The warm-up's shading (#eee): solid columns (not the anti-aliasing of text), left of the middle.
solid = [x for x in range(width) if sum(image.getpixel((x, y)) == (0xEE, 0xEE, 0xEE) for y in range(height)) > 100]
print(len(points), left, right, len(solid), bool(solid) and max(solid) < (xs[0] + xs[-1]) // 2)
`;

describe('the watch chart, rendered by headless Chromium', () => {
  test('the socket line is drawn and climbs from left to right; the warm-up is shaded at the start', async () => {
    const port = await freePort();
    const dir = scratch();
    const html = join(dir, 'watch.html');
    const run = await runCli([
      'watch',
      '--request',
      `http://127.0.0.1:${port}/metrics`,
      '--requests',
      '40',
      '--html',
      html,
      '--',
      'python3',
      fixture('exporter'),
      String(port),
    ]);
    expect(run.exitCode).toBe(1);
    const png = join(dir, 'watch.png');
    await execa(
      'chromium',
      ['--headless', '--no-sandbox', '--disable-gpu', `--screenshot=${png}`, '--window-size=800,700', `file://${html}`],
      { reject: false },
    );
    const [counts, shadedLeft] = (await execa('/usr/bin/python3', ['-c', INSPECT, png])).stdout.split(
      / (?=True|False)/,
    );
    const [pixels, left, right, shade] = counts!.split(' ').map(Number);
    expect(pixels).toBeGreaterThan(200);
    // The warm-up is shaded, at the start of the steps.
    expect(shade).toBeGreaterThan(10);
    expect(shadedLeft).toBe('True');
    // Screen y grows downwards: the line ends far above where it starts.
    expect(left! - right!).toBeGreaterThan(100);
  }, 120_000);
});
