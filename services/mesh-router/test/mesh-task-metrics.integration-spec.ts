import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { Task, TaskState } from '@orgmesh/contracts';
import type { TestContext } from '@orgmesh/testing';
import type { MeshRouterApp } from '../src/mesh-router.app.js';
import { taskCreate, taskWrite } from '../src/task/task.changes.js';
import type { TaskCreate, TaskWrite } from '../src/task/task.repository.js';
import { LocalIssuer, createTestContext, startTestMeshRouter } from './mesh-harness.js';

/** The value of a sample in Prometheus text, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const line = text
    .split('\n')
    .find(
      (l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    );
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/**
 * The tasks-by-state series is a counter kept as changes commit: a scrape never reads the tasks
 * table (it used to count it, GROUP BY kind, state, on every scrape of every replica).
 */
describe('mesh task metrics', () => {
  let ctx: TestContext;
  let mesh: MeshRouterApp;
  const scrape = async () => (await fetch(`http://127.0.0.1:${mesh.health.port}/metrics`)).text();

  beforeAll(async () => {
    ctx = await createTestContext();
    mesh = await startTestMeshRouter(ctx, await LocalIssuer.create(), { startJobs: false });
  });

  afterAll(async () => {
    await mesh?.close();
    await ctx?.dispose();
  });

  const newTask = (kind: 'task' | 'approval'): TaskCreate => {
    const now = new Date();
    return taskCreate(
      {
        id: randomUUID(),
        kind,
        from: { agentId: 'finance-agent', role: 'finance' },
        to: { role: 'worker', agentId: null },
        type: null,
        subject: 'metrics',
        input: null,
        details: null,
        message: null,
        priority: 'normal',
        contextId: `metrics-${randomUUID()}`,
        deadline: new Date(now.getTime() + 3_600_000),
        escalateAt: null,
        now,
      },
      'mesh.inbox.role.worker',
    );
  };

  const move =
    (to: TaskState, actor = 'worker-agent') =>
    (current: Task): TaskWrite =>
      taskWrite(current, actor, {
        kind: 'change',
        event: to === 'working' ? 'start' : to === 'completed' ? 'complete' : 'escalate',
        to,
        reason: null,
        patch: {},
        now: new Date(),
      });

  it('counts each committed transition once by kind and state entered, and a scrape reads no task row', async () => {
    const before = await scrape();
    const at = (text: string, kind: string, state: string) =>
      sample(text, 'orgmesh_mesh_task_transitions_total', { kind, state }) -
      sample(before, 'orgmesh_mesh_task_transitions_total', { kind, state });

    const { task } = await mesh.repository.create(newTask('task'));
    await mesh.repository.create(newTask('approval'));
    await mesh.repository.apply(task.id, { actor: 'worker-agent' }, move('working'));
    // A change that keeps the state (an escalation) is no transition.
    await mesh.repository.apply(task.id, { actor: 'system' }, move('working', 'system'));
    await mesh.repository.apply(task.id, { actor: 'worker-agent' }, move('completed'));
    // A no-op commits nothing and counts nothing.
    await mesh.repository.apply(task.id, { actor: 'worker-agent' }, () => ({ kind: 'noop' }));

    const spy = jest.spyOn(mesh.db, 'query');
    try {
      const after = await scrape();
      expect(at(after, 'task', 'submitted')).toBe(1);
      expect(at(after, 'approval', 'submitted')).toBe(1);
      expect(at(after, 'task', 'working')).toBe(1);
      expect(at(after, 'task', 'completed')).toBe(1);
      expect(after).toContain('# TYPE orgmesh_mesh_task_transitions_total counter');
      expect(after).not.toMatch(/^orgmesh_mesh_tasks\{/m);
      expect(spy.mock.calls.filter(([text]) => String(text).includes('mesh.tasks'))).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });
});
