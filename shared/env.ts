// An environment variable where there is an environment: a Node process's process.env, nothing
// in a browser (the page's worker runs the same kernels code, which reads GRADWIRE_KERNELS and
// GRADWIRE_KERNEL_MEMORY_MB this way instead of touching `process`, which a browser lacks).
export function envVar(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}
