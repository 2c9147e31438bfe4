import { checkNumber, checkObject, checkString, describeValue, type Problems } from '../json/shape.js';
import { FD_KINDS } from '../model/open-file.js';
import { RULE_FIELDS, SOCKET_FIELDS, isFdKind } from './allow-rule.js';

/** Checks one allow rule; problems name `path`. */
export function validateRule(rule: unknown, path: string, problems: Problems): void {
  if (typeof rule === 'string') {
    checkString(rule, path, problems);
    return;
  }
  if (!checkObject(rule, path, RULE_FIELDS, problems)) return;
  const matching = RULE_FIELDS.filter((field) => field !== 'reason' && rule[field] !== undefined);
  if (matching.length === 0)
    problems.push(
      `${path}: a rule needs at least one of ${RULE_FIELDS.filter((field) => field !== 'reason').join(', ')}`,
    );
  for (const field of ['path', 'glob', 'under', 'createdIn', 'reason'] as const) {
    if (rule[field] !== undefined) checkString(rule[field], `${path}.${field}`, problems);
  }
  if (rule.kind !== undefined) {
    const kinds = Array.isArray(rule.kind) ? rule.kind : [rule.kind];
    kinds.forEach((kind, i) => {
      if (!isFdKind(kind))
        problems.push(
          `${path}.kind${Array.isArray(rule.kind) ? `[${i}]` : ''}: expected one of ${FD_KINDS.join(', ')}, got ${describeValue(kind)}`,
        );
    });
  }
  if (rule.socket !== undefined && checkObject(rule.socket, `${path}.socket`, SOCKET_FIELDS, problems)) {
    const socket = rule.socket;
    if (socket.family !== undefined) checkString(socket.family, `${path}.socket.family`, problems);
    if (socket.address !== undefined) checkString(socket.address, `${path}.socket.address`, problems);
    if (socket.port !== undefined) checkNumber(socket.port, `${path}.socket.port`, problems, { integer: true, min: 0 });
  }
}
