import { errors as natsErrors, type PermissionViolationError } from '@nats-io/nats-core';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { AppError } from '@orgmesh/contracts';

/**
 * The server refused this connection a publish or a subscription (NATS permissions, issue 18): a
 * `forbidden` AppError naming the subject, so a missing permission reads as what it is, never as
 * a timeout. Not retryable: the same credential is refused again.
 */
export class BusPermissionError extends AppError {
  override readonly name = 'BusPermissionError';

  constructor(
    /** The wire subject the server refused. */
    readonly subject: string,
    readonly operation: 'publish' | 'subscription',
    options: { cause?: unknown } = {},
  ) {
    super('forbidden', `this bus identity may not ${operation === 'publish' ? 'publish to' : 'subscribe to'} ${subject}`, {
      ...options,
      details: { subject, operation },
    });
  }
}

/** The server's permission violation in an error or its causes, if there is one. */
export function permissionViolationOf(error: unknown): PermissionViolationError | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof natsErrors.PermissionViolationError) return e;
  }
  return undefined;
}

function permissionError(error: unknown): BusPermissionError | undefined {
  if (error instanceof BusPermissionError) return error;
  const violation = permissionViolationOf(error);
  return violation ? new BusPermissionError(violation.subject, violation.operation, { cause: error }) : undefined;
}

/**
 * Maps a failed core request to the error a caller can act on: `unavailable` or `timeout` (both
 * retryable), or BusPermissionError when the server refused the request's subject.
 */
export function mapRequestError(error: unknown, subject: string): AppError {
  if (error instanceof AppError) return error;
  const denied = permissionError(error);
  if (denied) return denied;
  if (error instanceof natsErrors.RequestError && error.isNoResponders()) {
    return new AppError('unavailable', `no responders for ${subject}`, { cause: error });
  }
  if (isTimeout(error)) return new AppError('timeout', `no reply from ${subject} in time`, { cause: error });
  return new AppError('unavailable', `request to ${subject} failed`, { cause: error });
}

/** Maps a failed JetStream publish: no stream capturing the subject, no ack in time, or the connection gone. */
export function mapPublishError(error: unknown, subject: string): AppError {
  if (error instanceof AppError) return error;
  const denied = permissionError(error);
  if (denied) return denied;
  if (isTimeout(error))
    return new AppError('timeout', `no JetStream ack for ${subject} in time`, { cause: error });
  const name = error instanceof Error ? error.name : '';
  if (
    name === 'JetStreamNotEnabled' ||
    (error instanceof natsErrors.RequestError && error.isNoResponders())
  ) {
    return new AppError('unavailable', `no JetStream stream captures ${subject}`, { cause: error });
  }
  return new AppError('unavailable', `publish to ${subject} failed`, { cause: error });
}

export function isTimeout(error: unknown): boolean {
  if (error instanceof natsErrors.TimeoutError) return true;
  return error instanceof Error && error.cause instanceof natsErrors.TimeoutError;
}

export function isStreamNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
}

export function isConsumerNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound;
}

/** Name collisions when two replicas provision the same stream or durable at once. */
export function isAlreadyInUse(error: unknown): boolean {
  return error instanceof JetStreamApiError && /already in use|already exists/i.test(error.message);
}
