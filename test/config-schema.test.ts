import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, test } from 'vitest';
import { CONFIG_SCHEMA } from '../src/config/schema.js';
import { loadConfig } from '../src/config/load-config.js';
import { project } from './helpers/project.js';
import { ROOT } from './helpers/run-cli.js';

const validate = new Ajv({ allErrors: true }).compile(
  JSON.parse(readFileSync(join(ROOT, 'prefork-check.schema.json'), 'utf8')),
);

/** The README's config examples: every ```json block that has a check key. */
function readmeConfigs(): unknown[] {
  const blocks = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```json\n([^]*?)```/g)].map(
    (match) => JSON.parse(match[1]!) as Record<string, unknown>,
  );
  return blocks.filter((block) => 'forkMarker' in block || 'checks' in block || 'entry' in block);
}

/** What prefork-check's own validation says of a config: null when valid, else its message. */
function ourVerdict(config: unknown): string | null {
  const dir = project({ 'prefork-check.config.json': config as object });
  try {
    loadConfig(dir);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('prefork-check.schema.json', () => {
  test('is the one the code generates (npm run schema)', () => {
    expect(JSON.parse(readFileSync(join(ROOT, 'prefork-check.schema.json'), 'utf8'))).toEqual(CONFIG_SCHEMA);
  });

  test("accepts the README's configs, as prefork-check does", () => {
    const configs = readmeConfigs();
    expect(configs.length).toBeGreaterThan(0);
    for (const config of configs) {
      expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
      expect(ourVerdict(config)).toBeNull();
    }
  });

  test('rejects what prefork-check rejects: a typo, a wrong type, a bad rule, an unknown preset', () => {
    const bad = [
      { entry: 'app.py', timout: 30 },
      { entry: 'app.py', timeout: '30' },
      { entry: 'app.py', allow: [{ kind: 'eventfd2' }] },
      { entry: 'app.py', allow: [{ reason: 'no match given' }] },
      { entry: 'app.py', preset: 'passenger' },
      { checks: [{ entry: 'app.py', forkMarkr: 'READY' }] },
      { checks: [] },
      { entry: 'app.py', reporters: { html: 'x.html' } },
    ];
    for (const config of bad) {
      expect(validate(config), JSON.stringify(config)).toBe(false);
      expect(ourVerdict(config), JSON.stringify(config)).not.toBeNull();
    }
  });
});
