import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';

/**
 * Hands every error from a Nest NATS handler to the transport untouched. Nest's default RPC
 * filter would turn an AppError into `{status:'error', message:'Internal server error'}`; the
 * transport instead replies an AppError with its code and status, and anything else as
 * `internal`. RpcHandler/EventHandler apply it; register it globally when using
 * @MessagePattern/@EventPattern directly.
 */
@Catch()
export class AppErrorFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
