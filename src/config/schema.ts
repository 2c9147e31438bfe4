import { FD_KINDS } from '../model/open-file.js';
import { PRESET_NAMES } from '../presets/presets.js';
import { RULE_FIELDS, SOCKET_FIELDS } from '../rules/allow-rule.js';
import { CHECK_FIELDS, TOP_FIELDS } from './load-config.js';

type Schema = Record<string, unknown>;

const text = (description: string): Schema => ({ type: 'string', minLength: 1, description });
const flag = (description: string): Schema => ({ type: 'boolean', description });

const rule: Schema = {
  description: 'An fd this rule matches is listed as allowed, with the rule, and not counted.',
  oneOf: [
    { type: 'string', minLength: 1, description: 'A glob on the target, e.g. "**/*.log".' },
    {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      anyOf: RULE_FIELDS.filter((field) => field !== 'reason').map((field) => ({ required: [field] })),
      properties: {
        path: text('The exact path of a file.'),
        glob: text('A glob on the target.'),
        under: text('A directory: any file below it.'),
        kind: {
          description: 'An fd kind, or several.',
          oneOf: [{ enum: [...FD_KINDS] }, { type: 'array', items: { enum: [...FD_KINDS] } }],
        },
        socket: {
          type: 'object',
          additionalProperties: false,
          properties: {
            family: text('tcp, udp, unix, ...'),
            address: text('The local address, e.g. 127.0.0.1.'),
            port: { type: 'integer', minimum: 0 },
          } satisfies Record<(typeof SOCKET_FIELDS)[number], Schema>,
        },
        createdIn: text('A function on the stack that made the fd (file:function or function).'),
        reason: text('Why it is allowed: shown in the report.'),
      } satisfies Record<(typeof RULE_FIELDS)[number], Schema>,
    },
  ],
};

const check: Record<(typeof CHECK_FIELDS)[number], Schema> = {
  name: text("The check's name in reports; keys its baseline entries."),
  entry: text('A Python file to run (a .rb file runs with ruby).'),
  command: {
    type: 'array',
    items: { type: 'string' },
    minItems: 1,
    description: 'A command and its arguments, e.g. ["gunicorn", "--preload", "app:app"].',
  },
  python: text('The interpreter for entry (default python3).'),
  forkMarker: text('Fork point: the app writes this text to stdout or stderr.'),
  forkAtFirstFork: flag('Fork point: the first fork() that makes a worker.'),
  timeout: { type: 'number', exclusiveMinimum: 0, description: 'Seconds to reach the fork point (default 30).' },
  cwd: text('Working directory of the app, relative to the config.'),
  env: { type: 'object', additionalProperties: { type: 'string' }, description: 'Extra environment for the app.' },
  allow: { type: 'array', items: rule, description: 'Allow rules; defaults and checks add up.' },
  inheritFds: flag('Pass on fds prefork-check itself inherited.'),
  attribution: flag('Name the Python or Ruby line that made each fd (default true).'),
  nativeStacks: flag("Record each fd's native (C) stack with strace -k (default false)."),
  preset: {
    enum: [...PRESET_NAMES, 'none'],
    description: "A server's fork point and own fds (default: detected from the command).",
  },
};

const top: Record<Exclude<(typeof TOP_FIELDS)[number], (typeof CHECK_FIELDS)[number]>, Schema> = {
  $schema: { type: 'string' },
  checks: {
    type: 'array',
    minItems: 1,
    items: { type: 'object', additionalProperties: false, properties: check },
    description: 'Checks; the top-level check keys are their defaults.',
  },
  baseline: text('The baseline file of known leaks.'),
  strict: flag('Stale baseline entries fail the run.'),
  concurrency: { type: 'integer', minimum: 1, description: 'Checks run at once (default: the number of cores).' },
  reporters: {
    type: 'object',
    additionalProperties: false,
    properties: { json: text('JSON report file.'), junit: text('JUnit XML file.') },
  },
};

/** The JSON Schema of prefork-check.config.json, from the same field lists the config is validated with. */
export const CONFIG_SCHEMA: Schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'prefork-check config',
  type: 'object',
  additionalProperties: false,
  properties: { ...top, ...check },
};
