// A test hook, not for users: GRADWIRE_TEST_THREAD_FAULT makes one compute thread fail once,
// so tests can check that a lost thread's microbatches are computed again and the weights do
// not change. Read by the Node worker (worker/main.ts) and by `gradwire train` (threads).
/** GRADWIRE_TEST_THREAD_FAULT (a test hook, not for users): "KIND:THREAD:STEP", KIND throw or
 *  exit (that thread throws in, or exits from, its pass of STEP, once: the team's fault option)
 *  or late (the team's pass of STEP is reported lost after its first BatchNorm round was sent,
 *  as a thread lost then would be: the worker drops its connection). null when unset. */
export function parseThreadFault(
  raw: string | undefined,
): { kind: 'throw' | 'exit' | 'late'; thread: number; step: number } | null {
  if (!raw) return null;
  const m = /^(throw|exit|late):(\d+):(\d+)$/.exec(raw.trim());
  if (!m) throw new Error(`GRADWIRE_TEST_THREAD_FAULT: "${raw}" is not KIND:THREAD:STEP (KIND throw, exit or late)`);
  return { kind: m[1] as 'throw' | 'exit' | 'late', thread: Number(m[2]), step: Number(m[3]) };
}
