import { AppError } from '@orgmesh/contracts';

/** The AppError a call is expected to fail with (an RPC over the bus, a service method); anything else is rethrown. */
export async function rpcError(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}
