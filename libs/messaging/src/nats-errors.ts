import { errors as natsErrors } from '@nats-io/nats-core';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { AppError } from '@orgmesh/contracts';

/** Maps a failed core request to the error a caller can act on: `unavailable` or `timeout` (both retryable). */
export function mapRequestError(error: unknown, subject: string): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof natsErrors.RequestError && error.isNoResponders()) {
    return new AppError('unavailable', `no responders for ${subject}`, { cause: error });
  }
  if (isTimeout(error)) return new AppError('timeout', `no reply from ${subject} in time`, { cause: error });
  return new AppError('unavailable', `request to ${subject} failed`, { cause: error });
}

/** Maps a failed JetStream publish: no stream capturing the subject, no ack in time, or the connection gone. */
export function mapPublishError(error: unknown, subject: string): AppError {
  if (error instanceof AppError) return error;
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
