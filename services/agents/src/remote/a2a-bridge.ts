import type { Task as A2ATask } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import { isTerminal, type MeshAgent, type TaskContext } from '@orgmesh/agent-sdk';
import { AppError, type Task as MeshTask } from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';
import {
  continuationInput,
  messageResult,
  outcomeOf,
  requestFor,
  type RemoteOutcome,
  type RemoteTaskRef,
} from './a2a-mapping.js';
import type { RemotePrivacy } from './remote-privacy.js';

export interface A2ABridgeOptions {
  agent: MeshAgent;
  /** The official A2A client, built from the remote agent's verified card. */
  client: Client;
  /** The remote agent's name (its card's), for reasons and results. */
  agentName: string;
  logger: Logger;
  /** Longest a remote task may run when the mesh task's deadline is later (or the poll fallback). */
  maxCallMs: number;
  /** Poll interval when the remote agent does not stream; default 500 ms. */
  pollMs?: number;
  /** Masks the task input before it leaves and restores the answer (the privacy proxy). */
  privacy: RemotePrivacy;
}

/**
 * What the remote call came to: the remote outcome, the mesh task ended meanwhile (canceled, its
 * deadline job), or the sender added input while the remote agent asked for it (the next turn).
 */
type CallOutcome =
  | RemoteOutcome
  | { kind: 'ended-in-mesh'; state: MeshTask['state'] }
  | { kind: 'continued'; remote: RemoteTaskRef };

/** Restores placeholders in what the remote agent said (the identity when nothing was masked). */
type Restore = (outcome: RemoteOutcome) => Promise<RemoteOutcome>;

/** A turn of a mesh task: how to restore the answer, and the remote task it continues (a later turn). */
interface Turn {
  restore: Restore;
  continuing?: RemoteTaskRef | undefined;
}

/** A remote task that asked for input, and the sender gave it: what the mesh task's next turn continues. */
interface Waiting {
  remote: RemoteTaskRef;
  /** The earlier turns' restore: a later answer may quote their placeholders. */
  restore: Restore;
}

/** Continuations remembered at most (a next turn the SDK dropped leaves its entry). */
const MAX_WAITING = 10_000;

/**
 * The bridge: a MeshAgent whose handler is the remote agent. Each task delivered to the remote
 * agent (its role's inbox or its own) is masked by the privacy proxy and sent as an A2A message
 * through the official client; the remote task is followed (its stream, or polled when the agent
 * does not stream) until it ends or waits for input, and its outcome — restored — becomes the mesh
 * task's update: completed with the answer as result, failed, rejected, or input-required with the
 * agent's question. Policy was applied by the mesh when the task was sent; the mesh task's deadline
 * bounds the remote call (the remote task is canceled when it passes), and a cancel of the mesh task
 * (or its end by the mesh's deadline job) cancels the remote task as soon as the mesh says so.
 *
 * Approvals are not sent out: an A2A agent has no notion of deciding one. They are marked
 * input-required, as the reference agents mark an approval they leave undecided, so a person or the
 * approval's escalation decides.
 *
 * Turns: when the remote agent asks for input and the sender adds it to the mesh task (an A2A
 * message with `taskId`, AddTaskInput), the turn following the remote task returns (the task stays
 * the sender's to answer) and the mesh delivers the next turn: its added input, masked like the
 * first, goes to the same remote task (`taskId`, `contextId`), and its answer is mapped as the first.
 */
export function attachA2ABridge(options: A2ABridgeOptions): void {
  const { agent, logger } = options;
  // Mesh task id → the remote task its next turn continues. In this process only (ADR 0021, limits).
  const waiting = new Map<string, Waiting>();
  agent.onTask(async (task, ctx) => {
    const previous = task.version > 1 ? waiting.get(task.id) : undefined;
    waiting.delete(task.id);
    // Fail closed: a proxy that does not answer throws here (retried), before anything is sent.
    const masked = await options.privacy.mask(task, previous ? continuationInput(task.input) : task.input);
    if (masked.kind === 'refused') {
      await ctx.fail(masked.reason);
      // The remote task that asked for this input will not get it: ended rather than left waiting.
      if (previous) await cancelQuietly(options.client, previous.remote.taskId, logger);
      return;
    }
    const restore: Restore = previous
      ? async (outcome) => previous.restore(await masked.restore(outcome))
      : masked.restore;
    const turn: Turn = { restore, continuing: previous?.remote };
    const outcome = await callRemote({ ...task, input: masked.input as never }, ctx, options, turn);
    switch (outcome.kind) {
      case 'ended-in-mesh':
        // ctx.observe marked it ended: nothing to report.
        return;
      case 'continued':
        // The task asked (input-required) in this turn: returning completes nothing; the next turn continues.
        if (waiting.size >= MAX_WAITING) waiting.delete(waiting.keys().next().value!);
        waiting.set(task.id, { remote: outcome.remote, restore });
        logger.info(
          { taskId: task.id, agent: options.agentName },
          'input added; the next turn continues the remote task',
        );
        return;
      case 'completed':
        await ctx.complete(outcome.result);
        return;
      case 'failed':
        await ctx.fail(outcome.reason);
        return;
      case 'rejected':
        await ctx.reject(outcome.reason);
        return;
      case 'running':
      case 'input-required':
        // Only when the deadline passed: the mesh's deadline job may have ended the task already.
        await ctx.fail(`${options.agentName} did not answer before the task's deadline`);
        return;
    }
  });
  agent.onApproval(async (_task, ctx) => {
    await ctx.progress(
      'input-required',
      `${options.agentName} is a remote A2A agent and does not decide approvals: a person or the escalation decides`,
    );
    logger.info({ taskId: ctx.task.id }, 'approval left to a person: remote A2A agents do not decide');
  });
}

/**
 * Sends the task and follows the remote task to its end (followRemote), while the mesh task is
 * watched: its end in the mesh (a cancel, the deadline job) aborts the call and cancels the remote
 * task. The mesh repeats each change of a task to its assignee (`mesh.v1.updates.<agentId>`), so a
 * cancel reaches the remote agent within a round trip or two, not at the bridge's next report.
 * Resolves to the end, or to the state it was in when the deadline passed (the remote task is then
 * canceled).
 */
async function callRemote(
  task: MeshTask,
  ctx: TaskContext,
  options: A2ABridgeOptions,
  turn: Turn,
): Promise<CallOutcome> {
  const { client, agentName, logger } = options;
  const untilDeadline = Date.parse(task.deadline) - Date.now();
  const budget = Math.max(0, Math.min(untilDeadline, options.maxCallMs));
  const deadline = AbortSignal.timeout(budget);
  const meshEnded = new AbortController();
  const watching = new AbortController();
  const mesh: { ended?: MeshTask } = {};
  void watchMeshTask(ctx, budget, AbortSignal.any([ctx.signal, deadline, watching.signal]), (current) => {
    mesh.ended = current;
    meshEnded.abort(new Error('the mesh task ended'));
  });
  const signal = AbortSignal.any([ctx.signal, deadline, meshEnded.signal]);
  const followed: { remote?: A2ATask } = {};
  const log = { taskId: task.id, agent: agentName };
  try {
    return await followRemote(task, ctx, options, turn, signal, followed);
  } catch (error) {
    const remoteId = followed.remote?.id;
    const ended = mesh.ended;
    if (ended) {
      ctx.observe(ended);
      logger.info(
        { ...log, remoteTaskId: remoteId, state: ended.state },
        'mesh task ended; canceling the remote A2A task',
      );
      if (remoteId) await cancelQuietly(client, remoteId, logger);
      return { kind: 'ended-in-mesh', state: ended.state };
    }
    if (deadline.aborted && !ctx.signal.aborted) {
      logger.warn({ ...log, remoteTaskId: remoteId }, 'remote A2A task passed the deadline; canceling it');
      if (remoteId) await cancelQuietly(client, remoteId, logger);
      return { kind: 'running' };
    }
    if (ctx.signal.aborted) {
      // The agent is stopping: the delivery goes back to the inbox; the remote task is left to finish.
      throw new AppError('unavailable', 'the bridge is stopping', { cause: error });
    }
    if (error instanceof AppError) throw error;
    // A network failure or a 5xx of the remote agent passes: the delivery is retried (then fails the task).
    logger.warn({ ...log, err: describe(error) }, 'remote A2A call failed');
    throw new AppError('unavailable', `${agentName} could not be reached: ${describe(error)}`, {
      cause: error,
    });
  } finally {
    watching.abort();
  }
}

/**
 * Waits (woken by the mesh's copies of the task's changes, GetTask as a slow safety net) until the
 * mesh task ends, and says so. Aborted when the call is over; a mesh that cannot be asked leaves the
 * call bounded by its deadline.
 */
async function watchMeshTask(
  ctx: TaskContext,
  budgetMs: number,
  signal: AbortSignal,
  onEnded: (task: MeshTask) => void,
): Promise<void> {
  try {
    const current = await ctx.agent.waitForTask(ctx.task.id, {
      timeoutMs: budgetMs + 1_000,
      signal,
      headers: ctx.headers(),
    });
    if (!signal.aborted && isTerminal(current.state)) onEnded(current);
  } catch {
    // Aborted (the call is over) or the mesh did not answer: nothing to cancel from here.
  }
}

/**
 * The stream first, then (a stream that ended early, an agent that does not stream, or a task
 * waiting for input) polling. While the remote agent waits for input the mesh task is input-required
 * with its (restored) question; when the remote task moves on (someone answered it on the agent's
 * side) the mesh task is working again, and when the sender adds input to the mesh task the turn
 * is over (`continued`). `followed.remote` is the remote task as last seen.
 */
async function followRemote(
  task: MeshTask,
  ctx: TaskContext,
  options: A2ABridgeOptions,
  turn: Turn,
  signal: AbortSignal,
  followed: { remote?: A2ATask },
): Promise<RemoteOutcome | { kind: 'continued'; remote: RemoteTaskRef }> {
  const { client, agentName, logger } = options;
  const restore = turn.restore;
  let reported: RemoteOutcome = { kind: 'running' };
  /** Mirrors an interruption (or the resumption after it) on the mesh task; true when the remote task ended. */
  const settle = async (): Promise<boolean> => {
    if (!followed.remote) return false;
    const outcome = outcomeOf(followed.remote, agentName);
    if (outcome.kind === 'input-required') {
      if (reported.kind !== 'input-required' || reported.reason !== outcome.reason) {
        const said = await restore(outcome);
        await ctx.progress('input-required', said.kind === 'input-required' ? said.reason : outcome.reason);
      }
    } else if (outcome.kind === 'running') {
      if (reported.kind === 'input-required') await ctx.progress('working');
    } else return true;
    reported = outcome;
    return false;
  };
  // Streamed when the card says the agent streams; the SDK falls back to one blocking send otherwise.
  for await (const event of client.sendMessageStream(requestFor(task, turn.continuing), { signal })) {
    const payload = event.payload;
    if (!payload) continue;
    if (payload.$case === 'message')
      return restore({ kind: 'completed', result: messageResult(payload.value, agentName) });
    const remote = followed.remote;
    if (payload.$case === 'task') followed.remote = payload.value;
    else if (payload.$case === 'statusUpdate')
      // A continued task's stream may start with its status (the agent knows the task already).
      followed.remote = {
        ...(remote ?? bareTask(payload.value.taskId, payload.value.contextId)),
        status: payload.value.status,
      };
    else if (payload.$case === 'artifactUpdate' && remote && payload.value.artifact) {
      const artifact = payload.value.artifact;
      const others = remote.artifacts.filter((a) => a.artifactId !== artifact.artifactId);
      const previous = remote.artifacts.find((a) => a.artifactId === artifact.artifactId);
      const merged =
        payload.value.append && previous
          ? { ...previous, parts: [...previous.parts, ...artifact.parts] }
          : artifact;
      followed.remote = { ...remote, artifacts: [...others, merged] };
    }
    if (await settle()) break;
  }
  if (!followed.remote)
    throw new AppError('unavailable', `${agentName} answered with neither a task nor a message`);
  const pollMs = options.pollMs ?? 500;
  while (!(await settle())) {
    await sleep(pollMs, signal);
    // `reported` is set by settle (a closure): TypeScript's narrowing does not see that.
    if ((reported as RemoteOutcome).kind === 'input-required' && (await inputAdded(ctx)))
      return {
        kind: 'continued',
        remote: { taskId: followed.remote.id, contextId: followed.remote.contextId },
      };
    followed.remote = await client.getTask({ tenant: '', id: followed.remote.id }, { signal });
  }
  const remote = followed.remote;
  let outcome = outcomeOf(remote, agentName);
  // The complete task: a streamed one may lack the artifacts sent before the client attached.
  if (outcome.kind === 'completed' && outcome.result.text === '' && !outcome.result.data)
    outcome = outcomeOf(await client.getTask({ tenant: '', id: remote.id }, { signal }), agentName);
  logger.info(
    { taskId: task.id, agent: agentName, remoteTaskId: remote.id, outcome: outcome.kind },
    'remote A2A task ended',
  );
  return restore(outcome);
}

/**
 * Whether the sender added input to the mesh task since this turn asked for it: only its
 * AddTaskInput moves an input-required task back to working (with a later version). A mesh that
 * does not answer says no: the remote task is followed as before.
 */
async function inputAdded(ctx: TaskContext): Promise<boolean> {
  try {
    const current = await ctx.fetchStatus(ctx.task.id, { includeHistory: false });
    return current.state === 'working' && current.version > ctx.task.version;
  } catch {
    return false;
  }
}

/** A remote task known only by its ids (its status comes with the event that named it). */
function bareTask(id: string, contextId: string): A2ATask {
  return { id, contextId, status: undefined, artifacts: [], history: [], metadata: undefined };
}

async function cancelQuietly(client: Client, id: string, logger: Logger): Promise<void> {
  try {
    await client.cancelTask({ tenant: '', id, metadata: undefined }, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    logger.warn({ remoteTaskId: id, err: describe(error) }, 'could not cancel the remote A2A task');
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function describe(error: unknown): string {
  // fetch's own message is "fetch failed"; the cause says what failed (ECONNREFUSED, a timeout…).
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const detail =
    typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : '';
  // By shape, not instanceof: fetch's errors may come from another realm (test VMs).
  const own = (error as { message?: unknown } | null)?.message;
  const message = typeof own === 'string' ? own : String(error);
  return (detail ? `${message} (${detail})` : message).slice(0, 300);
}
