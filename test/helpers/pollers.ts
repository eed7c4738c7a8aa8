// Every loop test runs once per poller mode: select-style and poll-style passes.
export interface PollerMode { name: string; usePoll: boolean }
export const POLLERS: readonly PollerMode[] = [
  { name: "select-style (usePoll: false)", usePoll: false },
  { name: "poll-style (usePoll: true)", usePoll: true },
];
