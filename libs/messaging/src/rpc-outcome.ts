/** The metric label of a failed call: the error's stable code (an AppError's), or `internal`. */
export function resultLabel(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'internal';
}

/**
 * Runs an RPC handler's work and counts its outcome once: `labelOf(result)` when it succeeds, the
 * error's code (`resultLabel`) when it throws, and the error is thrown on.
 */
export async function countOutcome<T>(
  count: (result: string) => void,
  work: () => Promise<T>,
  labelOf: (result: T) => string,
): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (error) {
    count(resultLabel(error));
    throw error;
  }
  count(labelOf(result));
  return result;
}
