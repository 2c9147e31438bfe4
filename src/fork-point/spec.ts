/** How the fork point is declared. */
export type ForkPointSpec =
  | { mode: 'marker'; marker: string }
  /** `spawns`: a child that goes on to exec counts too (supervisord's programs). */
  | { mode: 'first-fork'; spawns?: boolean }
  | { mode: 'exit' };
