/**
 * What every last-resort boundary logs about an unexpected error: its type, a driver's code (e.g. a
 * Postgres SQLSTATE) and its stack frames, never its message — a message can quote the input it
 * choked on (JSON.parse, grpc-js metadata, a validation issue), and input may hold personal data.
 */
export function unexpectedErrorFields(error: unknown): {
  errorType: string;
  errorCode?: string;
  stack?: string;
} {
  if (!(error instanceof Error)) return { errorType: typeof error };
  const code = (error as { code?: unknown }).code;
  const frames = (error.stack ?? '')
    .split('\n')
    .filter((line) => line.startsWith('    at '))
    .map((line) => line.trim());
  return {
    errorType: error.name || error.constructor.name,
    ...(typeof code === 'string' ? { errorCode: code } : {}),
    ...(frames.length > 0 ? { stack: frames.join('\n') } : {}),
  };
}
