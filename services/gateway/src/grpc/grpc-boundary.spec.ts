import { EventEmitter } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { AppError } from '@orgmesh/contracts';
import { createLogger } from '@orgmesh/telemetry';
import { GatewayMetrics } from '../gateway.metrics.js';
import { guardServerStream, guardUnary, type GuardedMethod } from './grpc-boundary.js';
import { PreSerialized } from './grpc-codec.js';

interface LogLine {
  level: string;
  msg: string;
  method?: string;
  traceId?: string;
  errorType?: string;
}

/** The boundary's dependencies with a log that can be read back and the real metrics. */
function newTestBoundary() {
  const lines: LogLine[] = [];
  const logger = createLogger({
    service: 'grpc-boundary-spec',
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
  const registry = new Registry();
  const metrics = new GatewayMetrics(registry);
  const unexpected = async () =>
    (await registry.getSingleMetric('orgmesh_unexpected_errors_total')?.get())?.values
      .filter((v) => v.labels['edge'] === 'grpc')
      .reduce((sum, v) => sum + v.value, 0) ?? 0;
  return { deps: { logger, metrics }, lines, unexpected };
}

const METHOD: GuardedMethod = {
  method: 'orgmesh.v1.Sessions/GetSession',
  serialize: (message) => Buffer.from(JSON.stringify(message)),
};

function unaryCall(): grpc.ServerUnaryCall<unknown, unknown> {
  return { metadata: new grpc.Metadata(), request: {} } as unknown as grpc.ServerUnaryCall<unknown, unknown>;
}

/** Calls a guarded unary handler; resolves with every callback invocation once one has come. */
function invoke(
  handler: grpc.handleUnaryCall<unknown, unknown>,
  callback: (...args: unknown[]) => void = () => undefined,
): Promise<unknown[][]> {
  const calls: unknown[][] = [];
  return new Promise((resolve) => {
    handler(unaryCall(), (...args: unknown[]) => {
      calls.push(args);
      try {
        callback(...args);
      } finally {
        setImmediate(() => resolve(calls));
      }
    });
  });
}

describe('guardUnary', () => {
  it('answers a handler result as pre-serialised bytes', async () => {
    const { deps } = newTestBoundary();
    const [[error, value]] = (await invoke(guardUnary(deps, METHOD, async () => ({ id: 's1' })))) as [
      [null, PreSerialized],
    ];
    expect(error).toBeNull();
    expect(value.bytes.toString()).toBe('{"id":"s1"}');
  });

  it('answers an AppError with its status, uncounted', async () => {
    const { deps, unexpected, lines } = newTestBoundary();
    const [[status]] = (await invoke(
      guardUnary(deps, METHOD, async () => {
        throw new AppError('session_not_found', 'no such session');
      }),
    )) as [[grpc.StatusObject]];
    expect(status.code).toBe(grpc.status.NOT_FOUND);
    expect(await unexpected()).toBe(0);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('answers an unexpected throw as the typed internal error, logged once with the trace id and counted', async () => {
    const { deps, unexpected, lines } = newTestBoundary();
    const [[status]] = (await invoke(
      guardUnary(deps, METHOD, async () => {
        throw new TypeError('boom: the input was "hunter2"');
      }),
    )) as [[grpc.StatusObject]];
    expect(status).toMatchObject({ code: grpc.status.INTERNAL, details: 'internal error' });
    expect(status.metadata.get('orgmesh-error-code')).toEqual(['internal']);
    expect(await unexpected()).toBe(1);
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      msg: 'grpc call failed unexpectedly',
      method: METHOD.method,
      errorType: 'TypeError',
    });
    expect(errors[0]?.traceId).toEqual(expect.any(String));
    // Not the message: it may quote the input.
    expect(JSON.stringify(errors[0])).not.toContain('hunter2');
  });

  it('answers a response that cannot be serialised as internal', async () => {
    const { deps, unexpected } = newTestBoundary();
    const method = { ...METHOD, serialize: () => JSON.parse('{') as Buffer };
    const [[status]] = (await invoke(guardUnary(deps, method, async () => ({})))) as [[grpc.StatusObject]];
    expect(status.code).toBe(grpc.status.INTERNAL);
    expect(await unexpected()).toBe(1);
  });

  it('falls back to typed internal, then to a bare status, when sending throws', async () => {
    const { deps, unexpected, lines } = newTestBoundary();
    let attempts = 0;
    const calls = await invoke(
      guardUnary(deps, METHOD, async () => ({ id: 's1' })),
      () => {
        attempts += 1;
        if (attempts < 3) throw new TypeError('Metadata string value contains illegal characters');
      },
    );
    // success → typed internal (throws too) → bare INTERNAL without metadata.
    expect(calls).toHaveLength(3);
    expect((calls[1]?.[0] as grpc.StatusObject).metadata.get('orgmesh-error-code')).toEqual(['internal']);
    expect(calls[2]?.[0]).toEqual({ code: grpc.status.INTERNAL, details: 'internal error' });
    expect(await unexpected()).toBe(1);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
  });

  it('lets nothing escape even when every send throws', async () => {
    const { deps, unexpected } = newTestBoundary();
    let sends = 0;
    const handler = guardUnary(deps, METHOD, async () => ({}));
    handler(unaryCall(), () => {
      sends += 1;
      throw new Error('stream gone');
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sends).toBe(3);
    expect(await unexpected()).toBe(1);
  });
});

class FakeStream extends EventEmitter {
  cancelled = false;
  writableEnded = false;
  destroyed = false;
  readonly metadata = new grpc.Metadata();
  readonly request = {};
  readonly written: unknown[] = [];
  write(message: unknown): boolean {
    this.written.push(message);
    return true;
  }
  end(): void {
    this.writableEnded = true;
  }
}

describe('guardServerStream', () => {
  const run = async (handle: Parameters<typeof guardServerStream>[2], stream = new FakeStream()) => {
    const boundary = newTestBoundary();
    const errors: unknown[] = [];
    stream.on('error', (status) => errors.push(status));
    guardServerStream(
      boundary.deps,
      METHOD,
      handle,
    )(stream as unknown as grpc.ServerWritableStream<unknown, unknown>);
    await new Promise((resolve) => setTimeout(resolve, 10));
    return { stream, errors, ...boundary };
  };

  it('writes serialised messages and ends the stream', async () => {
    const { stream, errors } = await run(async (_call, write) => {
      write({ n: 1 });
    });
    expect((stream.written[0] as PreSerialized).bytes.toString()).toBe('{"n":1}');
    expect(stream.writableEnded).toBe(true);
    expect(errors).toEqual([]);
  });

  it('ends with the typed status of an AppError, and internal (counted) for anything else', async () => {
    const refused = await run(async () => {
      throw new AppError('invalid_cursor', 'invalid cursor');
    });
    expect((refused.errors[0] as grpc.StatusObject).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await refused.unexpected()).toBe(0);
    const broken = await run(async (_call, write) => {
      write({ n: 1n });
    });
    expect((broken.errors[0] as grpc.StatusObject).code).toBe(grpc.status.INTERNAL);
    expect(await broken.unexpected()).toBe(1);
  });

  it('sends nothing to a client that has gone', async () => {
    const stream = new FakeStream();
    stream.cancelled = true;
    const { errors, unexpected } = await run(async () => {
      throw new AppError('unavailable', 'x');
    }, stream);
    expect(errors).toEqual([]);
    expect(await unexpected()).toBe(0);
  });
});
