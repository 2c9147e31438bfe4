import { checkNumber, checkObject, checkString, describeValue, type Problems } from '../json/shape.js';
import { FD_KINDS } from '../model/open-file.js';
import { RULE_FIELDS, SOCKET_FIELDS, isFdKind } from './allow-rule.js';

const PAIRS: Record<string, string> = { '[': ']', '{': '}', '(': ')' };

/** What is wrong with a glob that would match nothing it seems to say (`[` unclosed), or undefined. */
function globProblem(glob: string): string | undefined {
  const open: string[] = [];
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '\\') i++;
    else if (PAIRS[char] !== undefined) open.push(PAIRS[char]);
    else if (Object.values(PAIRS).includes(char) && open.pop() !== char) return `a "${char}" that closes nothing`;
  }
  return open.length > 0
    ? `a "${Object.keys(PAIRS).find((key) => PAIRS[key] === open.at(-1))}" never closed`
    : undefined;
}

function checkGlob(glob: unknown, path: string, problems: Problems): void {
  if (!checkString(glob, path, problems)) return;
  const problem = globProblem(glob);
  if (problem !== undefined)
    problems.push(`${path}: the glob ${JSON.stringify(glob)} has ${problem} (escape it with \\)`);
}

/** Checks one allow rule; problems name `path`. */
export function validateRule(rule: unknown, path: string, problems: Problems): void {
  if (typeof rule === 'string') {
    checkGlob(rule, path, problems);
    return;
  }
  if (!checkObject(rule, path, RULE_FIELDS, problems)) return;
  const matching = RULE_FIELDS.filter((field) => field !== 'reason' && rule[field] !== undefined);
  if (matching.length === 0)
    problems.push(
      `${path}: a rule needs at least one of ${RULE_FIELDS.filter((field) => field !== 'reason').join(', ')}`,
    );
  for (const field of ['path', 'under', 'createdIn', 'reason'] as const) {
    if (rule[field] !== undefined) checkString(rule[field], `${path}.${field}`, problems);
  }
  if (rule.glob !== undefined) checkGlob(rule.glob, `${path}.glob`, problems);
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
