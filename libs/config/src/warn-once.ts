/**
 * Prints a warning once per process tree: the key is remembered in this process and in
 * ORGMESH_WARNED (comma-separated keys), which the agent runner hands down to the commands it
 * starts, so an `orgmesh` started from an agent (a hook, a sub-agent) does not repeat it.
 */
const warned = new Set<string>();

export function warnOnce(
  io: { readonly err: (line: string) => void; readonly env: Readonly<Record<string, string | undefined>> },
  key: string,
  message: string,
): void {
  const inherited = (io.env['ORGMESH_WARNED'] ?? '').split(',');
  if (warned.has(key) || inherited.includes(key)) return;
  warned.add(key);
  io.err(`[orgmesh] warning: ${message}`);
}

/** The keys warned about so far, for ORGMESH_WARNED in the environment of a child process. */
export function warnedKeys(env: Readonly<Record<string, string | undefined>>): string {
  const inherited = (env['ORGMESH_WARNED'] ?? '').split(',').filter(Boolean);
  return [...new Set([...inherited, ...warned])].join(',');
}
