import { FD_KINDS } from '../model/open-file.js';
import { PRESET_NAMES } from '../presets/presets.js';
import { RULE_FIELDS, SOCKET_FIELDS } from '../rules/allow-rule.js';
import { CHECK_FIELDS, CHECK_KEYS, fieldDescription, type CheckConfig } from '../options/check-fields.js';
import { SECONDS_RANGE, TRACER_CHOICES } from '../options/options.js';
import { TOP_FIELDS } from './load-config.js';

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

/** A check field's schema, from its type in the fields table. */
function fieldSchema(key: (typeof CHECK_KEYS)[number]): Schema {
  const { type } = CHECK_FIELDS[key];
  const description = fieldDescription(key);
  switch (type) {
    case 'text':
      return { type: 'string', minLength: 1, description };
    case 'texts':
      return { type: 'array', items: { type: 'string' }, minItems: 1, description };
    case 'on':
    case 'off':
      return { type: 'boolean', description };
    case 'seconds':
      return { type: 'number', minimum: SECONDS_RANGE.min, maximum: SECONDS_RANGE.max, description };
    case 'env':
      return { type: 'object', additionalProperties: { type: 'string' }, description };
    case 'rules':
      return { type: 'array', items: rule, description };
    case 'preset':
      return { enum: [...PRESET_NAMES, 'none'], description };
    case 'tracer':
      return { enum: [...TRACER_CHOICES], description };
    case 'value':
      throw new Error('an API-only option has no place in the config schema');
  }
}

const check = Object.fromEntries(CHECK_KEYS.map((key) => [key, fieldSchema(key)]));

const top: Record<Exclude<(typeof TOP_FIELDS)[number], keyof CheckConfig>, Schema> = {
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
