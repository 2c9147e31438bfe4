import { PreforkCheckError } from '../errors.js';

export interface Shard {
  index: number;
  count: number;
}

/** `2/4` → { index: 2, count: 4 }, 1-based as in Vitest's --shard. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count) {
    throw new PreforkCheckError(
      'INVALID_OPTION',
      `Expected \`--shard\` as <index>/<count> with 1 <= index <= count (e.g. 2/4), got \`${text}\`.`,
    );
  }
  return { index, count };
}

/**
 * This shard's share of `items`: sorted by name, then cut in `count` runs of
 * near-equal size, so every machine in a CI matrix picks the same split.
 */
export function selectShard<T>(items: T[], nameOf: (item: T) => string, shard: Shard): T[] {
  const sorted = [...items].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0));
  const size = Math.ceil(sorted.length / shard.count);
  return sorted.slice(size * (shard.index - 1), size * shard.index);
}
