import type { StreamResponse } from '@a2a-js/sdk';
import type { A2ARequestHandler } from '@a2a-js/sdk/server';
import { A2AError } from '@a2a-js/sdk/errors';
import type { Logger } from '@orgmesh/telemetry';
import { internalError } from './a2a-errors.js';

type Stream = AsyncGenerator<StreamResponse, void, undefined>;

/**
 * The handler as the transports see it: whatever it throws is an A2A error. An error it did not
 * expect (a bug) is logged once (its type, not its message, which may quote input) and leaves as
 * -32603 without a message, as the REST edge's last-resort boundary does.
 *
 * Every method of A2ARequestHandler is the inner handler's, wrapped: a promise by `call`, a stream
 * (whose errors surface while it is read) by `stream`. The object literal is typed as the
 * interface, so a method the SDK adds fails the typecheck here until it is wrapped.
 */
export function guardedHandler(inner: A2ARequestHandler, logger: Logger): A2ARequestHandler {
  const guard = (error: unknown): Error => {
    if (error instanceof A2AError) return error;
    logger.error(
      { errorType: error instanceof Error ? error.name : typeof error },
      'a2a handler failed unexpectedly',
    );
    return internalError();
  };
  const call =
    <A extends unknown[], T>(method: (...args: A) => Promise<T>) =>
    async (...args: A): Promise<T> => {
      try {
        return await method.apply(inner, args);
      } catch (error) {
        throw guard(error);
      }
    };
  const stream = <A extends unknown[]>(method: (...args: A) => Stream) =>
    async function* (...args: A): Stream {
      try {
        yield* method.apply(inner, args);
      } catch (error) {
        throw guard(error);
      }
    };
  return {
    getAgentCard: call(inner.getAgentCard),
    getAuthenticatedExtendedAgentCard: call(inner.getAuthenticatedExtendedAgentCard),
    sendMessage: call(inner.sendMessage),
    sendMessageStream: stream(inner.sendMessageStream),
    resubscribe: stream(inner.resubscribe),
    getTask: call(inner.getTask),
    cancelTask: call(inner.cancelTask),
    listTasks: call(inner.listTasks),
    createTaskPushNotificationConfig: call(inner.createTaskPushNotificationConfig),
    getTaskPushNotificationConfig: call(inner.getTaskPushNotificationConfig),
    listTaskPushNotificationConfigs: call(inner.listTaskPushNotificationConfigs),
    deleteTaskPushNotificationConfig: call(inner.deleteTaskPushNotificationConfig),
  };
}
